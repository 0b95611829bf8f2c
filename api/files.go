package api

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig checks that a JPEG really is one
	_ "image/png"  // and a PNG
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// Uploads are checked by what they contain, never by their name or the
// Content-Type the browser claims (DESIGN §5). Only the five kinds a
// tipster or a unit really needs are accepted; images lose their metadata
// (EXIF with GPS position, camera serial, editing software, comments)
// before anything is stored. The workflow's rectification evidence uses
// the same functions.

// File kinds an upload may be, as the stored content type.
const (
	typeJPEG = "image/jpeg"
	typePNG  = "image/png"
	typePDF  = "application/pdf"
	typeDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	typeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// fileExt is the extension a stored file gets for its detected kind.
var fileExt = map[string]string{typeJPEG: ".jpg", typePNG: ".png", typePDF: ".pdf", typeDOCX: ".docx", typeXLSX: ".xlsx"}

// acceptAttr is the file input's accept attribute (a hint for the picker;
// the server decides by content).
const acceptAttr = ".jpg,.jpeg,.png,.pdf,.docx,.xlsx,image/jpeg,image/png,application/pdf," + typeDOCX + "," + typeXLSX

// fileRules bounds one request's uploads (JIANFU_MAX_FILES, JIANFU_MAX_FILE_MB).
type fileRules struct {
	MaxFiles int
	MaxBytes int64
}

func (s *Server) fileRules() fileRules {
	r := fileRules{MaxFiles: s.Config.MaxFiles, MaxBytes: s.Config.MaxFileBytes}
	if r.MaxFiles <= 0 {
		r.MaxFiles = 5
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = 10 << 20
	}
	return r
}

// maxBody is the largest multipart body these rules allow: every file at
// its limit plus room for the text fields and the multipart framing.
func (r fileRules) maxBody() int64 { return int64(r.MaxFiles)*(r.MaxBytes+4<<10) + 256<<10 }

// describe is the zh-CN summary shown next to a file picker.
func (r fileRules) describe() string {
	return fmt.Sprintf("可上传照片、截图或文件（jpg、png、pdf、docx、xlsx），最多%d个，每个不超过%s", r.MaxFiles, sizeText(r.MaxBytes))
}

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%dMB", n>>20)
	}
	if n >= 1<<20 {
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%dKB", (n+1023)>>10)
}

// errFileType answers 415 and names the file.
func errFileType(name string) *apiError {
	msg := fmt.Sprintf("文件“%s”不是允许的类型：只能上传 jpg、png 图片或 pdf、docx、xlsx 文件", name)
	return &apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_file_type", Message: msg,
		Fields: map[string]string{"files": msg}}
}

func errFileTooLarge(name string, limit int64) *apiError {
	msg := fmt.Sprintf("文件“%s”超过%s，请压缩后再上传", name, sizeText(limit))
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "file_too_large", Message: msg,
		Fields: map[string]string{"files": msg}}
}

func errTooManyFiles(limit int) *apiError {
	return fieldError("files", fmt.Sprintf("附件最多%d个，请删减后再提交", limit))
}

// checkFile identifies an upload by content, strips image metadata and
// hashes what will be stored. name is only used for the stored file name,
// whose extension is set to match the content.
func checkFile(name string, data []byte) (models.FileInput, error) {
	name = cleanFilename(name)
	kind := sniffFile(data)
	if kind == "" {
		return models.FileInput{}, errFileType(name)
	}
	var err error
	switch kind {
	case typeJPEG:
		data, err = stripJPEG(data)
	case typePNG:
		data, err = stripPNG(data)
	}
	if err != nil {
		return models.FileInput{}, errFileType(name)
	}
	if kind == typeJPEG || kind == typePNG {
		// A real image decodes its header after cleaning; a polyglot that
		// merely starts with image magic does not.
		if _, format, err := image.DecodeConfig(bytes.NewReader(data)); err != nil || "image/"+format != kind {
			return models.FileInput{}, errFileType(name)
		}
	}
	sum := sha256.Sum256(data)
	return models.FileInput{Name: withExt(name, fileExt[kind]), ContentType: kind, Data: data,
		SHA256: hex.EncodeToString(sum[:])}, nil
}

// sniffFile returns the content type of an allowed kind, or "".
func sniffFile(data []byte) string {
	switch ct := http.DetectContentType(data); {
	case ct == "image/jpeg" && bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return typeJPEG
	case ct == "image/png" && bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return typePNG
	case ct == "application/pdf" && bytes.HasPrefix(data, []byte("%PDF-")):
		return typePDF
	case ct == "application/zip" && bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return sniffOOXML(data)
	}
	return ""
}

// sniffOOXML tells a Word or Excel document from any other zip by its
// parts: [Content_Types].xml declaring the main part, and word/ or xl/.
// Macro-enabled documents (docm, xlsm) are refused. Only the small
// [Content_Types].xml is decompressed, with a cap, so a zip bomb costs
// nothing.
func sniffOOXML(data []byte) string {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return ""
	}
	var types *zip.File
	has := map[string]bool{}
	for _, f := range zr.File {
		has[f.Name] = true
		if f.Name == "[Content_Types].xml" {
			types = f
		}
		if strings.HasSuffix(strings.ToLower(f.Name), "vbaproject.bin") {
			return ""
		}
	}
	if types == nil {
		return ""
	}
	rc, err := types.Open()
	if err != nil {
		return ""
	}
	ct, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	rc.Close()
	if err != nil {
		return ""
	}
	decl := string(ct)
	if strings.Contains(strings.ToLower(decl), "macroenabled") {
		return ""
	}
	switch {
	case has["word/document.xml"] && strings.Contains(decl, "wordprocessingml.document.main+xml"):
		return typeDOCX
	case has["xl/workbook.xml"] && strings.Contains(decl, "spreadsheetml.sheet.main+xml"):
		return typeXLSX
	}
	return ""
}

var errMalformed = errors.New("malformed image")

// stripJPEG drops every APP1..APP15 segment (EXIF and its GPS block, XMP,
// ICC profiles, Photoshop IRB, maker notes) and every COM segment, and
// keeps the image data byte for byte. It walks the marker structure also
// through the entropy-coded data, so progressive JPEGs with markers between
// scans are cleaned too.
func stripJPEG(data []byte) ([]byte, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, errMalformed
	}
	out := make([]byte, 0, len(data))
	out = append(out, 0xFF, 0xD8)
	i := 2
	for i < len(data) {
		if data[i] != 0xFF {
			return nil, errMalformed
		}
		// Fill bytes: any number of 0xFF before a marker.
		for i < len(data) && data[i] == 0xFF {
			i++
		}
		if i >= len(data) {
			return nil, errMalformed
		}
		marker := data[i]
		i++
		switch {
		case marker == 0xD9: // EOI: anything after it is not image data
			return append(out, 0xFF, 0xD9), nil
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7): // no length
			out = append(out, 0xFF, marker)
			continue
		}
		if i+2 > len(data) {
			return nil, errMalformed
		}
		n := int(binary.BigEndian.Uint16(data[i:]))
		if n < 2 || i+n > len(data) {
			return nil, errMalformed
		}
		seg := data[i : i+n]
		i += n
		drop := (marker >= 0xE1 && marker <= 0xEF) || marker == 0xFE
		if !drop {
			out = append(out, 0xFF, marker)
			out = append(out, seg...)
		}
		if marker != 0xDA { // not SOS: the next marker follows directly
			continue
		}
		// Entropy-coded data runs until a marker other than a stuffed
		// 0xFF00 or a restart marker.
		start := i
		for i < len(data) {
			if data[i] == 0xFF && i+1 < len(data) {
				next := data[i+1]
				if next == 0x00 || (next >= 0xD0 && next <= 0xD7) {
					i += 2
					continue
				}
				break // a marker (possibly after fill bytes)
			}
			i++
		}
		out = append(out, data[start:i]...)
	}
	return nil, errMalformed // no EOI
}

// pngDrop lists the PNG chunks that carry text, EXIF or timestamps.
var pngDrop = map[string]bool{"tEXt": true, "zTXt": true, "iTXt": true, "eXIf": true, "tIME": true}

// stripPNG copies a PNG chunk by chunk without its text, EXIF and time
// chunks; anything after IEND is dropped.
func stripPNG(data []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if !bytes.HasPrefix(data, []byte(sig)) {
		return nil, errMalformed
	}
	out := make([]byte, 0, len(data))
	out = append(out, sig...)
	i := len(sig)
	for i+12 <= len(data) {
		n := binary.BigEndian.Uint32(data[i:])
		if n > 1<<31-1 || uint64(i)+12+uint64(n) > uint64(len(data)) {
			return nil, errMalformed
		}
		typ := string(data[i+4 : i+8])
		end := i + 12 + int(n)
		if !pngDrop[typ] {
			out = append(out, data[i:end]...)
		}
		i = end
		if typ == "IEND" {
			return out, nil
		}
	}
	return nil, errMalformed
}

// cleanFilename keeps the base name of what the browser sent, valid
// UTF-8, without control characters or path parts, at most 100 runes.
func cleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		name = "附件"
	}
	if utf8.RuneCountInString(name) > 100 {
		ext := path.Ext(name)
		if utf8.RuneCountInString(ext) > 10 {
			ext = ""
		}
		name = string([]rune(strings.TrimSuffix(name, ext))[:100-utf8.RuneCountInString(ext)]) + ext
	}
	return name
}

// withExt gives name the extension of its real kind (photo.jpg holding
// a PNG becomes photo.png; .jpeg stays).
func withExt(name, ext string) string {
	cur := strings.ToLower(path.Ext(name))
	if cur == ext || (ext == ".jpg" && cur == ".jpeg") {
		return name
	}
	return strings.TrimSuffix(name, path.Ext(name)) + ext
}

// multipartForm is a multipart body read into memory: text fields and
// checked files. Nothing is spooled to disk, so a photo's GPS position is
// never written anywhere before it is stripped.
type multipartForm struct {
	Values map[string]string
	Files  []models.FileInput
}

// maxTextField bounds one text field of a multipart body (5000 characters
// of content are at most 20 KB of UTF-8).
const maxTextField = 64 << 10

// readMultipart streams a multipart/form-data body. Every part with a
// file name is an upload (empty file inputs are skipped); the total body
// is capped by rules.maxBody(). Errors are *apiError: 413 for the body or a
// file over its limit, 400 for too many files, 415 for a kind not allowed.
func readMultipart(c *gin.Context, rules fileRules) (multipartForm, error) {
	form := multipartForm{Values: map[string]string{}}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, rules.maxBody())
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return form, errBadMultipart
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil
		}
		if err != nil {
			return form, bodyError(err)
		}
		name := part.FormName()
		if part.FileName() == "" && !isFileField(part) {
			b, err := io.ReadAll(io.LimitReader(part, maxTextField+1))
			part.Close()
			if err != nil {
				return form, bodyError(err)
			}
			if len(b) > maxTextField {
				return form, fieldError(name, "字段“"+name+"”内容过长")
			}
			if _, dup := form.Values[name]; !dup { // the first value wins
				form.Values[name] = string(b)
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(part, rules.MaxBytes+1))
		part.Close()
		if err != nil {
			return form, bodyError(err)
		}
		if len(data) == 0 {
			continue // a browser sends an empty part for "no file chosen"
		}
		fname := cleanFilename(part.FileName())
		if int64(len(data)) > rules.MaxBytes {
			return form, errFileTooLarge(fname, rules.MaxBytes)
		}
		if len(form.Files) >= rules.MaxFiles {
			return form, errTooManyFiles(rules.MaxFiles)
		}
		f, err := checkFile(fname, data)
		if err != nil {
			return form, err
		}
		form.Files = append(form.Files, f)
	}
}

// isFileField reports a part that a browser sends for a file input (it has
// a filename parameter, possibly empty).
func isFileField(p *multipart.Part) bool {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return false
	}
	_, ok := params["filename"]
	return ok
}

var errBadMultipart = newError(http.StatusBadRequest, "invalid_multipart", "提交的表单格式不正确，请刷新页面后重试")

// bodyError maps a failed body read to 413 or 400.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errTooLarge
	}
	return errBadMultipart
}
