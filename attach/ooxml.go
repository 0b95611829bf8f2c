package attach

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Word and Excel documents are zip archives. Before one is accepted its
// expansion is measured by really decompressing every part (the sizes in
// the zip headers are the sender's word), and it is refused past
// MaxExpanded bytes or MaxRatio times its own size: a 1 MB "document"
// that unpacks to 1 GiB would otherwise be opened by the staff member who
// downloads it. Then the document properties that name people are emptied:
// docProps/core.xml (creator, lastModifiedBy, dates, title, keywords...),
// docProps/app.xml (company, manager, template, application) and
// docProps/custom.xml. The parts stay (they are referenced from the
// package's relationships), with no content.

// Expansion limits of an archive (DESIGN §10.1).
const (
	MaxExpanded = 100 << 20
	MaxRatio    = 100
	maxEntries  = 10000
)

// zipEpoch is the modification time every cleaned part gets.
var zipEpoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// errExpands refuses an archive that unpacks too far.
var errExpands = errors.New("archive expands too far")

// Empty document properties, valid against their schemas.
const (
	emptyCore = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ` +
		`xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ` +
		`xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>`
	emptyApp = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" ` +
		`xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>`
	emptyCustom = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" ` +
		`xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>`
)

// propertyParts maps the property parts to what replaces them.
var propertyParts = map[string]string{"docprops/core.xml": emptyCore, "docprops/app.xml": emptyApp,
	"docprops/custom.xml": emptyCustom}

// CleanOOXML checks a docx or xlsx archive's expansion and returns it with
// its document properties emptied. Other parts are copied compressed as
// they came, after being decompressed once to count and check them.
func CleanOOXML(data []byte) ([]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	if len(zr.File) > maxEntries {
		return nil, errExpands
	}
	limit := min(int64(MaxExpanded), int64(len(data))*MaxRatio)
	var declared uint64
	for _, f := range zr.File {
		declared += f.UncompressedSize64
		if declared > uint64(limit) {
			return nil, errExpands
		}
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	var total int64
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		// Reading past the declared size or a wrong CRC is an error of
		// archive/zip, so the count below is the real expansion.
		n, err := io.Copy(io.Discard, io.LimitReader(rc, limit-total+1))
		rc.Close()
		if total += n; total > limit {
			return nil, errExpands
		}
		if err != nil {
			return nil, fmt.Errorf("part %s: %w", f.Name, err)
		}
		if empty, ok := propertyParts[strings.ToLower(f.Name)]; ok {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
			if err != nil {
				return nil, err
			}
			if _, err := io.WriteString(w, empty); err != nil {
				return nil, err
			}
			continue
		}
		// Copy keeps the compressed bytes; the header's times and comment
		// are reset so they say nothing of the sender's machine.
		fh := f.FileHeader
		fh.Modified, fh.ModifiedTime, fh.ModifiedDate, fh.Comment, fh.Extra = zipEpoch, 0, 0, "", nil
		w, err := zw.CreateRaw(&fh)
		if err != nil {
			return nil, err
		}
		raw, err := f.OpenRaw()
		if err != nil {
			return nil, err
		}
		if _, err := io.Copy(w, raw); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
