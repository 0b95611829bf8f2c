package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/gin-gonic/gin"

	"jianfu/attach"
	"jianfu/models"
)

// fileRules bounds one request's uploads (JIANFU_MAX_FILES, JIANFU_MAX_FILE_MB).
type fileRules struct {
	MaxFiles int
	MaxBytes int64
	// Fields, when set, lists the text fields the route takes: any other
	// is refused as soon as its header is read, before its value is.
	Fields map[string]bool
}

// only returns r accepting just the named text fields.
func (r fileRules) only(names ...string) fileRules {
	r.Fields = map[string]bool{}
	for _, n := range names {
		r.Fields[n] = true
	}
	return r
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

// checkFile runs attach.Check and answers a refusal as 415 naming the file.
func checkFile(name string, data []byte) (models.FileInput, error) {
	f, err := attach.Check(name, data)
	var te *attach.TypeError
	if errors.As(err, &te) {
		e := errFileType(te.Name)
		if te.Reason != "" {
			e.Message, e.Fields = te.Reason, map[string]string{"files": te.Reason}
		}
		return f, e
	}
	return f, err
}

func errTooManyFiles(limit int) *apiError {
	return fieldError("files", fmt.Sprintf("附件最多%d个，请删减后再提交", limit))
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

// maxTextTotal bounds all text fields of one multipart body together, and
// maxParts the parts: a body of many small fields is refused while it is
// read, instead of being held in memory until it ends.
const (
	maxTextTotal = 256 << 10
	maxParts     = 100
)

// multipartReader streams the body of an upload route part by part (the
// route is in uploadRoutes, so limitBody left a stand-in form to drop).
func multipartReader(c *gin.Context) (*multipart.Reader, error) {
	if c.Request.MultipartForm != nil && len(c.Request.MultipartForm.Value) == 0 {
		c.Request.MultipartForm = nil // the stand-in of limitBody (api/limits.go)
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, errBadMultipart
	}
	return mr, nil
}

// readMultipart streams a multipart/form-data body. Every part with a
// file name is an upload (empty file inputs are skipped); the total body
// is capped by rules.maxBody(). Errors are *apiError: 413 for the body or a
// file over its limit, 400 for too many files, 415 for a kind not allowed.
func readMultipart(c *gin.Context, rules fileRules) (multipartForm, error) {
	form := multipartForm{Values: map[string]string{}}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, rules.maxBody())
	mr, err := multipartReader(c)
	if err != nil {
		return form, err
	}
	text, parts := 0, 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return form, nil
		}
		if err != nil {
			return form, bodyError(err)
		}
		if parts++; parts > maxParts {
			return form, fieldError("body", fmt.Sprintf("表单字段过多：每次提交最多%d项", maxParts))
		}
		name := part.FormName()
		if part.FileName() == "" && !isFileField(part) {
			if rules.Fields != nil && !rules.Fields[name] {
				part.Close()
				return form, fieldError(name, "未知字段："+name)
			}
			b, err := io.ReadAll(io.LimitReader(part, maxTextField+1))
			part.Close()
			if err != nil {
				return form, bodyError(err)
			}
			if len(b) > maxTextField {
				return form, fieldError(name, fmt.Sprintf("字段“%s”内容过长（不能超过%s）", name, sizeText(maxTextField)))
			}
			if text += len(b); text > maxTextTotal {
				return form, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large",
					Message: fmt.Sprintf("表单文字内容过多：全部文字字段合计不能超过%s", sizeText(maxTextTotal)),
					Fields:  map[string]string{name: fmt.Sprintf("表单文字内容合计不能超过%s", sizeText(maxTextTotal))}}
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
		fname := attach.CleanFilename(part.FileName())
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
		return tooLarge(mbe.Limit)
	}
	return errBadMultipart
}
