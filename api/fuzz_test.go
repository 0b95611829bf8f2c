package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// Fuzz targets for the request decoders (STYLE 18): whatever the body,
// they never panic, and a refusal is a 4xx *apiError (the JSON error of
// DESIGN §4), never a 500.

func fuzzContext(contentType string, body []byte) *gin.Context {
	gin.SetMode(gin.ReleaseMode)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/tips", bytes.NewReader(body))
	c.Request.Header.Set("Content-Type", contentType)
	return c
}

func assertClientError(t *testing.T, err error) {
	t.Helper()
	var ae *apiError
	if err != nil && (!errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500) {
		t.Fatalf("error %v is not a 4xx apiError", err)
	}
}

// FuzzDecodeJSON feeds tip bodies to decodeJSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"category":"digital","content":"内容","anonymous":true}`, `{"anonymous":"yes"}`,
		`{"contnet":1}`, `{} {}`, `{"contact":{"name":"\u0000"}}`, `[`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req tipRequest
		assertClientError(t, decodeJSON(fuzzContext("application/json", body), &req, maxJSONBody))
	})
}

// FuzzReadMultipart feeds multipart bodies (with the boundary "b") to
// readMultipart with the tip form's rules.
func FuzzReadMultipart(f *testing.F) {
	for _, s := range []string{
		"--b\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\n内容\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n\x89PNG\r\n\x1a\n\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"unknown\"\r\n\r\nx\r\n--b--\r\n",
		"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\n\r\n\r\n--b--\r\n",
		"--b\r\n\r\n--b--", "",
	} {
		f.Add([]byte(s))
	}
	rules := fileRules{MaxFiles: 2, MaxBytes: 64 << 10}.only(tipFieldNames...)
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := readMultipart(fuzzContext("multipart/form-data; boundary=b", body), rules)
		assertClientError(t, err)
		if len(form.Files) > rules.MaxFiles {
			t.Fatalf("%d files accepted", len(form.Files))
		}
	})
}
