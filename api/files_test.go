package api_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jianfu/api"
	"jianfu/apptest"
	"jianfu/attach"
	"jianfu/attach/attachtest"
	"jianfu/models"
	"jianfu/testenv"
)

// secretPlace is written into every metadata fixture; it must never
// survive cleaning.
const secretPlace = "GPS-30.274084N-120.155070E"

// testImage is a small picture with some structure, so its encoding has
// real entropy-coded data.
func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 7), uint8((x + y) * 3), 255})
		}
	}
	return img
}

// iccBody stands in for an ICC colour profile, which cleaning keeps.
const iccBody = "fake-icc-profile-data"

// jpegWithGPS is a real JPEG with EXIF GPS right after SOI, an XMP APP1
// and a comment between the tables, and trailing data after EOI (as some
// phones append).
func jpegWithGPS(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testImage(), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	var out []byte
	out = append(out, plain[:2]...) // SOI
	out = append(out, attachtest.Segment(0xE0, "JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"+secretAuthor)...)
	out = append(out, attachtest.Segment(0xE0, "JFXX\x00\x13"+secretPlace)...)
	out = append(out, attachtest.Segment(0xE2, "ICC_PROFILE\x00\x01\x01"+iccBody)...)
	out = append(out, attachtest.Segment(0xEB, "private vendor block "+secretPlace)...)
	out = append(out, attachtest.ExifGPS(secretPlace)...)
	out = append(out, attachtest.Segment(0xE1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"+secretPlace+"</x:xmpmeta>")...)
	out = append(out, attachtest.Segment(0xFE, "shot at "+secretPlace)...)
	out = append(out, attachtest.Segment(0xED, "Photoshop 3.0\x00"+secretPlace)...)
	out = append(out, plain[2:]...)
	return append(out, "TRAILER "+secretPlace...)
}

func pngChunk(typ string, data []byte) []byte {
	out := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(out, uint32(len(data)))
	copy(out[4:], typ)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngWithText is a real PNG with tEXt, zTXt, iTXt, eXIf and tIME chunks.
func pngWithText(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage()); err != nil {
		t.Fatal(err)
	}
	plain := buf.Bytes()
	ihdrEnd := 8 + 12 + 13
	var out []byte
	out = append(out, plain[:ihdrEnd]...)
	out = append(out, pngChunk("tEXt", []byte("Comment\x00"+secretPlace))...)
	out = append(out, pngChunk("iTXt", []byte("Location\x00\x00\x00\x00\x00"+secretPlace))...)
	out = append(out, pngChunk("eXIf", attachtest.ExifGPS(secretPlace)[4:])...)
	out = append(out, pngChunk("tIME", []byte{0x07, 0xE9, 3, 1, 9, 30, 0})...)
	out = append(out, pngChunk("zTXt", []byte("Raw\x00\x00"+secretPlace))...)
	out = append(out, pngChunk("prVt", []byte(secretPlace))...)
	out = append(out, pngChunk("iCCP", append([]byte(secretAuthor+"\x00\x00"), iccBody...))...)
	return append(out, plain[ihdrEnd:]...)
}

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const ctDOCX = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`

const ctXLSX = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>`

func docx(t testing.TB) []byte {
	return zipOf(t, map[string]string{"[Content_Types].xml": ctDOCX, "_rels/.rels": "<Relationships/>",
		"word/document.xml": `<w:document><w:body><w:p><w:r><w:t>会议通知</w:t></w:r></w:p></w:body></w:document>`})
}

func xlsx(t testing.TB) []byte {
	return zipOf(t, map[string]string{"[Content_Types].xml": ctXLSX, "_rels/.rels": "<Relationships/>",
		"xl/workbook.xml": `<workbook><sheets><sheet name="台账" sheetId="1"/></sheets></workbook>`})
}

// exe is the start of a Windows program (MZ header, PE signature).
func exe() []byte {
	b := make([]byte, 512)
	copy(b, "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff")
	copy(b[0x80:], "PE\x00\x00")
	copy(b[0x100:], "This program cannot be run in DOS mode.")
	return b
}

// pdfWithAuthor is a one-page PDF whose Info dictionary names the author
// and whose catalog carries an XMP packet naming them again, with a
// correct cross-reference table.
func pdfWithAuthor(testing.TB) []byte {
	xmp := `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>` + secretAuthor + ` ` + secretPlace + `</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`
	content := "BT /F1 12 Tf 72 720 Td (Notice) Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		fmt.Sprintf("<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream", len(xmp), xmp),
		"<< /Author (" + secretAuthor + ") /Creator (" + secretPlace + ") /Title (Notice) >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// secretAuthor is the tipster's name planted in document properties.
const secretAuthor = "ZhangSanTipster"

// docxWithAuthor is a Word document whose core, app and custom properties
// name its author, company and place.
func docxWithAuthor(t testing.TB) []byte {
	return zipOf(t, map[string]string{"[Content_Types].xml": ctDOCX, "_rels/.rels": "<Relationships/>",
		"word/document.xml":   `<w:document><w:body><w:p><w:r><w:t>会议通知</w:t></w:r></w:p></w:body></w:document>`,
		"docProps/core.xml":   `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>` + secretAuthor + `</dc:creator><cp:lastModifiedBy>` + secretAuthor + `</cp:lastModifiedBy></cp:coreProperties>`,
		"docProps/app.xml":    `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Company>` + secretPlace + `</Company><Manager>` + secretAuthor + `</Manager></Properties>`,
		"docProps/custom.xml": `<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"><property name="Owner"><vt:lpwstr>` + secretAuthor + `</vt:lpwstr></property></Properties>`,
	})
}

// zipBomb is a docx whose one extra part unpacks to n zero bytes.
func zipBomb(t testing.TB, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{"[Content_Types].xml": ctDOCX, "word/document.xml": "<w:document/>"} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	w, _ := zw.Create("word/media/zeros.bin")
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		w.Write(chunk[:k])
		n -= k
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipLiar is a docx whose extra part says it is 10 bytes and holds 1 MB.
func zipLiar(t testing.TB) []byte {
	t.Helper()
	var body bytes.Buffer
	fw, _ := flate.NewWriter(&body, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, b := range map[string]string{"[Content_Types].xml": ctDOCX, "word/document.xml": "<w:document/>"} {
		w, _ := zw.Create(name)
		w.Write([]byte(b))
	}
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "word/media/small.bin", Method: zip.Deflate,
		CRC32: crc32.ChecksumIEEE(make([]byte, 1<<20)), CompressedSize64: uint64(body.Len()), UncompressedSize64: 10})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body.Bytes())
	zw.Close()
	return buf.Bytes()
}

func TestCheckFileKinds(t *testing.T) {
	cases := []struct {
		name     string
		file     string
		data     func(t testing.TB) []byte
		wantType string // "" means refused with 415
		wantName string
	}{
		{"jpeg", "现场照片.jpg", jpegWithGPS, "image/jpeg", "现场照片.jpg"},
		{"jpeg named .jpeg", "a.JPEG", jpegWithGPS, "image/jpeg", "a.JPEG"},
		{"png", "截图.png", pngWithText, "image/png", "截图.png"},
		{"png named .jpg gets its real extension", "截图.jpg", pngWithText, "image/png", "截图.png"},
		{"pdf", "通知.pdf", pdfWithAuthor, "application/pdf", "通知.pdf"},
		{"docx with properties", "a.docx", docxWithAuthor, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a.docx"},
		{"docx that unpacks 1000 times its size", "bomb.docx", func(t testing.TB) []byte { return zipBomb(t, 4<<20) }, "", ""},
		{"docx that unpacks past 100 MB", "big.docx", func(t testing.TB) []byte { return zipBomb(t, 101<<20) }, "", ""},
		{"docx whose sizes lie", "liar.docx", zipLiar, "", ""},
		{"pdf that is not one", "a.pdf", func(testing.TB) []byte { return []byte("%PDF-1.4\nnot really") }, "", ""},
		{"docx", "台账要求.docx", docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "台账要求.docx"},
		{"xlsx", "报表.xlsx", xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "报表.xlsx"},
		{"path parts are dropped", `C:\Users\me\..\照片.png`, pngWithText, "image/png", "照片.png"},
		{"exe renamed .jpg", "照片.jpg", func(testing.TB) []byte { return exe() }, "", ""},
		{"html renamed .png", "a.png", func(testing.TB) []byte { return []byte("<html><script>alert(1)</script></html>") }, "", ""},
		{"plain zip renamed .docx", "a.docx", func(t testing.TB) []byte { return zipOf(t, map[string]string{"a.txt": "x"}) }, "", ""},
		{"macro-enabled docm renamed .docx", "a.docx", func(t testing.TB) []byte {
			return zipOf(t, map[string]string{"[Content_Types].xml": strings.Replace(ctDOCX, "document.main+xml", "document.macroEnabled.main+xml", 1),
				"word/document.xml": "<w:document/>", "word/vbaProject.bin": "\x00"})
		}, "", ""},
		{"jpeg magic over garbage", "a.jpg", func(testing.TB) []byte {
			return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{7}, 100)...)
		}, "", ""},
		{"jpeg markers around no picture", "a.jpg", func(testing.TB) []byte {
			return []byte("\xFF\xD8\xFF\xFE\x00\x23<html><script>x()</script></html>\xFF\xD9")
		}, "", ""},
		{"jpeg with a lossless frame", "a.jpg", func(t testing.TB) []byte {
			data := jpegWithGPS(t)
			i := bytes.Index(data, []byte{0xFF, 0xC0})
			if i < 0 {
				t.Fatal("no SOF0 in the test JPEG")
			}
			data[i+1] = 0xC3 // SOF3: lossless, which Go's decoder does not read
			return data
		}, "", ""},
		{"truncated png", "a.png", func(t testing.TB) []byte { return pngWithText(t)[:60] }, "", ""},
		{"text", "a.txt", func(testing.TB) []byte { return []byte("只是文字") }, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := api.CheckFile(tc.file, tc.data(t))
			if tc.wantType == "" {
				assertFileRefused(t, err, tc.file)
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if f.ContentType != tc.wantType || f.Name != tc.wantName {
				t.Errorf("got %q %q, want %q %q", f.Name, f.ContentType, tc.wantName, tc.wantType)
			}
			if len(f.SHA256) != 64 || len(f.Data) == 0 {
				t.Errorf("hash %q, %d bytes", f.SHA256, len(f.Data))
			}
		})
	}
}

func assertFileRefused(t *testing.T, err error, name string) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted, want refused")
	}
	var se interface{ HTTPStatus() int }
	if !errors.As(err, &se) || se.HTTPStatus() != http.StatusUnsupportedMediaType {
		t.Fatalf("err %v, want 415", err)
	}
	if base := name[strings.LastIndexAny(name, `/\`)+1:]; !strings.Contains(err.Error(), base) {
		t.Errorf("message %q does not name the file %q", err.Error(), base)
	}
}

func TestJPEGLosesMetadataKeepsPixels(t *testing.T) {
	in := jpegWithGPS(t)
	f, err := api.CheckFile("photo.jpg", in)
	if err != nil {
		t.Fatal(err)
	}
	out := f.Data
	for _, leak := range []string{secretPlace, secretAuthor, "Exif", "xmpmeta", "Photoshop", "TRAILER", "JFXX", "vendor"} {
		if bytes.Contains(out, []byte(leak)) {
			t.Errorf("cleaned JPEG still contains %q", leak)
		}
	}
	icc := false
	for i := 2; i+1 < len(out); {
		// Walk the header segments: only a bare JFIF APP0 and the ICC
		// profile's APP2 may stay.
		m := out[i+1]
		if m == 0xDA {
			break
		}
		n := int(binary.BigEndian.Uint16(out[i+2:]))
		switch seg := out[i+4 : i+2+n]; {
		case m == 0xE0 && n != 16:
			t.Errorf("APP0 of %d bytes kept", n)
		case m == 0xE2:
			icc = bytes.Contains(seg, []byte(iccBody))
		case m >= 0xE1 && m <= 0xEF, m == 0xFE:
			t.Errorf("segment FF%02X kept", m)
		}
		i += 2 + n
	}
	if !icc {
		t.Error("the ICC colour profile was dropped")
	}
	want, err := jpeg.Decode(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("cleaned JPEG does not decode: %v", err)
	}
	if !samePixels(want, got) {
		t.Error("cleaning changed the picture")
	}
	if !bytes.HasSuffix(out, []byte{0xFF, 0xD9}) {
		t.Error("cleaned JPEG does not end with EOI")
	}
}

func TestPNGLosesTextKeepsPixels(t *testing.T) {
	in := pngWithText(t)
	f, err := api.CheckFile("shot.png", in)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{secretPlace, secretAuthor, "tEXt", "zTXt", "iTXt", "eXIf", "tIME", "prVt"} {
		if bytes.Contains(f.Data, []byte(leak)) {
			t.Errorf("cleaned PNG still contains %q", leak)
		}
	}
	if !bytes.Contains(f.Data, []byte("iCCP")) || !bytes.Contains(f.Data, []byte(iccBody)) {
		t.Error("the ICC colour profile was dropped")
	}
	want, _ := png.Decode(bytes.NewReader(in))
	got, err := png.Decode(bytes.NewReader(f.Data))
	if err != nil {
		t.Fatalf("cleaned PNG does not decode: %v", err)
	}
	if !samePixels(want, got) {
		t.Error("cleaning changed the picture")
	}
}

// TestDocumentsLoseAuthor: Word properties and PDF Info/XMP that name the
// tipster are gone after cleaning; the documents still open.
func TestDocumentsLoseAuthor(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{{"a.docx", docxWithAuthor(t)}, {"a.pdf", pdfWithAuthor(t)}} {
		f, err := api.CheckFile(tc.name, tc.data)
		if err != nil {
			t.Fatalf("%s refused: %v", tc.name, err)
		}
		for _, leak := range []string{secretAuthor, secretPlace} {
			if bytes.Contains(f.Data, []byte(leak)) {
				t.Errorf("cleaned %s still contains %q", tc.name, leak)
			}
		}
		if tc.name == "a.docx" {
			zr, err := zip.NewReader(bytes.NewReader(f.Data), int64(len(f.Data)))
			if err != nil {
				t.Fatalf("cleaned docx is no zip: %v", err)
			}
			if len(zr.File) != 6 {
				t.Errorf("cleaned docx has %d parts, want all 6", len(zr.File))
			}
		} else if !bytes.Contains(f.Data, []byte("Notice")) || !bytes.HasPrefix(f.Data, []byte("%PDF-")) {
			t.Errorf("cleaned PDF lost its page: %.200q", f.Data)
		}
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// TestUploadsStoredClean submits every allowed kind, each with planted
// identifying metadata, through the API: the stored bytes are sealed (no
// planted string, no plain content in the database), and once decrypted
// hold none of the planted strings either and match their size and hash.
// In the embedded mode the database files themselves are searched too.
func TestUploadsStoredClean(t *testing.T) {
	planted := []string{secretPlace, secretAuthor}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			files := []upload{
				{"photo.jpg", jpegWithGPS(t)}, {"shot.png", pngWithText(t)}, {"notice.pdf", pdfWithAuthor(t)},
				{"ledger.docx", docxWithAuthor(t)}, {"form.xlsx", xlsx(t)},
			}
			res := postMultipart(t, app, "/api/v1/tips", validFields(), files)
			if res.Status != http.StatusCreated {
				t.Fatalf("status %d: %s", res.Status, res.Raw)
			}
			db := openDB(t, app)
			rows, err := db.Query("SELECT id, filename, size, sha256, key_id, data FROM attachments ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			office := models.Principal{Role: models.RoleOffice, Username: "office"}
			for rows.Next() {
				var id uint64
				var name, sum string
				var size int64
				var keyID int
				var data []byte
				if err := rows.Scan(&id, &name, &size, &sum, &keyID, &data); err != nil {
					t.Fatal(err)
				}
				n++
				if keyID != models.FileKeyDerived {
					t.Errorf("%s: key id %d, want %d", name, keyID, models.FileKeyDerived)
				}
				f, err := app.Store.AttachmentFile(t.Context(), office, id)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if bytes.Equal(data, f.Data) || bytes.Contains(data, f.Data[:min(len(f.Data), 64)]) {
					t.Errorf("%s stored in clear", name)
				}
				for _, leak := range planted {
					if bytes.Contains(data, []byte(leak)) || bytes.Contains(f.Data, []byte(leak)) {
						t.Errorf("%s stored with %q", name, leak)
					}
				}
				if int64(len(f.Data)) != size || sum != sha256Hex(f.Data) {
					t.Errorf("%s: size %d hash %s do not match the %d decrypted bytes", name, size, sum, len(f.Data))
				}
			}
			if n != len(files) {
				t.Errorf("%d attachments stored, want %d", n, len(files))
			}
			if app.Config.DatabaseURL == "" {
				for _, suffix := range []string{"", "-wal"} {
					raw, err := os.ReadFile(filepath.Join(app.Config.DataDir, "jianfu.db"+suffix))
					if err != nil && !errors.Is(err, os.ErrNotExist) {
						t.Fatal(err)
					}
					for _, leak := range planted {
						if bytes.Contains(raw, []byte(leak)) {
							t.Errorf("jianfu.db%s contains %q", suffix, leak)
						}
					}
				}
			}
		})
	}
}

// TestFileKeyRotation: after a new key is added (JIANFU_FILE_KEYS), new
// files are sealed with it and files of the old key still open; a store
// that lacks a file's key refuses to open it instead of serving garbage.
func TestFileKeyRotation(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			office := models.Principal{Role: models.RoleOffice, Username: "office"}
			png1 := pngWithText(t)
			if res := postMultipart(t, app, "/api/v1/tips", validFields(), []upload{{"old.png", png1}}); res.Status != http.StatusCreated {
				t.Fatalf("first tip: %d %s", res.Status, res.Raw)
			}
			key2 := bytes.Repeat([]byte{7}, 32)
			rotated, err := models.Open(t.Context(), models.OpenParams{DatabaseURL: app.Config.DatabaseURL, DataDir: app.Config.DataDir,
				Secret: app.Config.SecretKey, Deadlines: app.Config.Deadlines, FileKeys: map[int][]byte{2: key2}})
			if err != nil {
				t.Fatal(err)
			}
			defer rotated.Close()
			f, err := attach.Check("new.jpg", jpegWithGPS(t))
			if err != nil {
				t.Fatal(err)
			}
			in := models.TipInput{Category: "digital", Content: "轮换密钥之后提交的反映，附一张照片。", Anonymous: true, Files: []models.FileInput{f}}
			if _, err := rotated.CreateTip(t.Context(), in); err != nil {
				t.Fatal(err)
			}
			var ids, keys []int
			rows, err := openDB(t, app).Query("SELECT id, key_id FROM attachments ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id, k int
				rows.Scan(&id, &k)
				ids, keys = append(ids, id), append(keys, k)
			}
			rows.Close()
			if len(keys) != 2 || keys[0] != 1 || keys[1] != 2 {
				t.Fatalf("key ids %v, want [1 2]", keys)
			}
			for i, id := range ids {
				got, err := rotated.AttachmentFile(t.Context(), office, uint64(id))
				if err != nil {
					t.Fatalf("rotated store opens file %d: %v", id, err)
				}
				if i == 1 && !bytes.Equal(got.Data, f.Data) {
					t.Errorf("file of key 2 decrypts to other bytes")
				}
			}
			if _, err := app.Store.AttachmentFile(t.Context(), office, uint64(ids[1])); err == nil || !strings.Contains(err.Error(), "JIANFU_FILE_KEYS") {
				t.Errorf("a store without key 2 opened its file: %v", err)
			}
		})
	}
}
