package attach

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// Fuzz targets for the cleaners of hostile formats (STYLE 18). Their seeds
// (f.Add below and testdata/fuzz/<Target>/) run as ordinary tests;
// `go test -fuzz=FuzzCleanJPEG ./attach/` explores further.

func seedImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for y := range 8 {
		for x := range 16 {
			img.Set(x, y, color.RGBA{uint8(x * 15), uint8(y * 30), 90, 255})
		}
	}
	return img
}

func seedJPEG() []byte {
	var buf bytes.Buffer
	jpeg.Encode(&buf, seedImage(), &jpeg.Options{Quality: 80})
	b := buf.Bytes()
	seg := []byte{0xFF, 0xE1, 0, 0}
	payload := "Exif\x00\x00secret"
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(append(append([]byte{}, b[:2]...), append(seg, payload...)...), b[2:]...)
}

func seedPNG() []byte {
	var buf bytes.Buffer
	png.Encode(&buf, seedImage())
	return buf.Bytes()
}

func seedDOCX() []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"[Content_Types].xml": `<Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"word/document.xml":   "<w:document/>", "docProps/core.xml": "<cp:coreProperties><dc:creator>x</dc:creator></cp:coreProperties>"} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

// FuzzCleanJPEG: cleaning never panics, and what it returns is a JPEG
// that cleans to itself (nothing left to drop).
func FuzzCleanJPEG(f *testing.F) {
	f.Add(seedJPEG())
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := CleanJPEG(data)
		if err != nil {
			return
		}
		again, err := CleanJPEG(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("cleaned JPEG does not clean to itself: %v", err)
		}
	})
}

// FuzzCleanPNG: cleaning never panics and keeps only allowed chunks.
func FuzzCleanPNG(f *testing.F) {
	f.Add(seedPNG())
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := CleanPNG(data)
		if err != nil {
			return
		}
		for i := 8; i+8 <= len(out); {
			n := int(binary.BigEndian.Uint32(out[i:]))
			typ := string(out[i+4 : i+8])
			if !pngKeep[typ] {
				t.Fatalf("chunk %q kept", typ)
			}
			i += 12 + n
		}
	})
}

// FuzzCleanOOXML: cleaning never panics, never accepts more than the
// expansion limits, and its output has no document properties left.
func FuzzCleanOOXML(f *testing.F) {
	f.Add(seedDOCX())
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := CleanOOXML(data)
		if err != nil {
			return
		}
		if bytes.Contains(out, []byte("<dc:creator>")) && !bytes.Contains(data, []byte("<dc:creator>")) {
			t.Fatal("cleaning added a creator")
		}
	})
}

// FuzzCheck runs the whole upload check (sniffing, cleaning, decoding).
func FuzzCheck(f *testing.F) {
	f.Add("a.jpg", seedJPEG())
	f.Add("a.png", seedPNG())
	f.Add("a.docx", seedDOCX())
	f.Add("a.pdf", []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"))
	f.Add("\u202Egpj.exe", []byte("MZ"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		fi, err := Check(name, data)
		if err != nil {
			return
		}
		if fi.ContentType == "" || len(fi.SHA256) != 64 || fi.Name == "" {
			t.Fatalf("accepted without type, hash or name: %q %q", fi.Name, fi.ContentType)
		}
	})
}
