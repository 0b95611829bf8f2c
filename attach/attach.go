// Package attach decides what an uploaded file may be and what of it is
// kept: the kind by content, never by name or claimed type, and the
// content without the metadata that could identify the person who sent it.
// The public form, staff uploads and any other intake channel use it.
package attach

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"jianfu/models"
)

// TypeError refuses a file that is not one of the allowed kinds (or is a
// malformed one); Name is the cleaned file name to show the sender, Reason
// a zh-CN explanation when there is a more precise one than the kind.
type TypeError struct{ Name, Reason string }

func (e *TypeError) Error() string { return "file " + e.Name + ": not an allowed kind" }

// Uploads are checked by what they contain, never by their name or the
// Content-Type the browser claims (DESIGN §5). Only the five kinds a
// tipster or a unit really needs are accepted, and each loses what could
// name or place its sender before anything is stored: images keep only an
// allowlist of segments (image.go), Word and Excel documents lose their
// document properties after their expansion is checked (ooxml.go), PDFs
// lose their Info dictionary and XMP metadata (pdf.go). The workflow's
// rectification evidence uses the same functions.

// File kinds an upload may be, as the stored content type.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	PDF  = "application/pdf"
	DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// fileExt is the extension a stored file gets for its detected kind.
var fileExt = map[string]string{JPEG: ".jpg", PNG: ".png", PDF: ".pdf", DOCX: ".docx", XLSX: ".xlsx"}

// Accept is the file input's accept attribute (a hint for the picker;
// the server decides by content).
const Accept = ".jpg,.jpeg,.png,.pdf,.docx,.xlsx,image/jpeg,image/png,application/pdf," + DOCX + "," + XLSX

// Check identifies an upload by content, strips image metadata and
// hashes what will be stored. name is only used for the stored file name,
// whose extension is set to match the content.
func Check(name string, data []byte) (models.FileInput, error) {
	name = CleanFilename(name)
	kind := sniffFile(data)
	if kind == "" {
		return models.FileInput{}, &TypeError{Name: name}
	}
	var err error
	switch kind {
	case JPEG:
		data, err = CleanJPEG(data)
	case PNG:
		data, err = CleanPNG(data)
	case PDF:
		data, err = CleanPDF(data)
	case DOCX, XLSX:
		data, err = CleanOOXML(data)
	}
	if errors.Is(err, errExpands) {
		return models.FileInput{}, &TypeError{Name: name, Reason: fmt.Sprintf(
			"文件“%s”解压后过大（不能超过%dMB，也不能超过文件本身的%d倍），不能接收", name, MaxExpanded>>20, MaxRatio)}
	}
	if err != nil {
		return models.FileInput{}, &TypeError{Name: name}
	}
	if kind == PNG {
		// A real image decodes its header after cleaning; a polyglot that
		// merely starts with image magic does not. (CleanJPEG checks a
		// JPEG's frame header itself.)
		if _, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
			return models.FileInput{}, &TypeError{Name: name}
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
		return JPEG
	case ct == "image/png" && bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case ct == "application/pdf" && bytes.HasPrefix(data, []byte("%PDF-")):
		return PDF
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
		return DOCX
	case has["xl/workbook.xml"] && strings.Contains(decl, "spreadsheetml.sheet.main+xml"):
		return XLSX
	}
	return ""
}

// CleanFilename keeps the base name of what the browser sent, valid
// UTF-8, without control or text-direction characters (a right-to-left
// override makes "gpj.exe" read as "exe.jpg") or path parts, at most 100
// runes.
func CleanFilename(name string) string {
	name = strings.ToValidUTF8(name, "")
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	name = strings.Map(func(r rune) rune {
		if models.IsControlRune(r) || models.IsBidiControl(r) || r == '"' {
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
