package api

import (
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Every request body is bounded here, before any handler, authentication
// or CSRF check reads it (DESIGN §10.2 "body limits apply before any
// parsing on every route"). A route that takes files (uploadRoutes) may
// carry its files' worth (fileRules.maxBody); every other body is at most
// maxRequestBody, small enough that Go's form parser never spools it to a
// temporary file (it keeps up to 32 MB in memory). An upload route's
// multipart body is never parsed whole: its handler streams it part by
// part (readMultipart), and nothing else may call ParseMultipartForm on it.

// maxRequestBody bounds the body of a route that takes no files.
const maxRequestBody = 1 << 20

// uploadRoutes are the routes (gin patterns) that take files. A new route
// with files is added here, or its body is cut at maxRequestBody.
var uploadRoutes = map[string]bool{
	"/tip":                                   true,
	"/track/message":                         true,
	"/api/v1/tips":                           true,
	"/api/v1/tips/messages":                  true,
	"/api/v1/assignments/:id/rectification":  true,
	"/console/assignments/:id/rectification": true,
	"/api/v1/cases":                          true, // staff entry (GET has no body)
	"/console/entry":                         true,
	"/api/v1/registry/:kind/import":          true, // bounded again to the import's own limit
	"/console/registry/:kind/import":         true,
}

// streamedForm stands in for a parsed multipart form on upload routes, so
// a stray c.PostForm (gin parses the whole body, spooling files past 32 MB
// to disk) finds an empty form instead of reading the body.
func streamedForm() *multipart.Form {
	return &multipart.Form{Value: map[string][]string{}, File: map[string][]*multipart.FileHeader{}}
}

// limitBody caps the request body for its route class.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.Body == nil || c.Request.Body == http.NoBody {
		c.Next()
		return
	}
	limit := int64(maxRequestBody)
	upload := uploadRoutes[c.FullPath()]
	if upload {
		limit = s.fileRules().maxBody()
	}
	// A declared length over the limit is refused before a byte is read
	// (console pages answer their own way once the handler reads).
	if c.Request.ContentLength > limit && !strings.HasPrefix(c.Request.URL.Path, "/console/") {
		c.Header("Connection", "close")
		fail(c, tooLarge(limit))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if upload && mt == "multipart/form-data" {
		// A staff form sends its CSRF token as the first field: read it
		// ahead (the body is left as it was) so the CSRF check needs no
		// parse of the files.
		if c.GetHeader("X-CSRF-Token") == "" {
			if tok := peekMultipartField(c.Request, "csrf_token"); tok != "" {
				c.Request.Header.Set("X-CSRF-Token", tok)
			}
		}
		c.Request.MultipartForm = streamedForm()
	}
	c.Next()
}

// tooLarge answers 413 naming the body and its limit.
func tooLarge(limit int64) *apiError {
	msg := fmt.Sprintf("提交的内容过大：每次提交（含附件）不能超过%s", sizeText(limit))
	return &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: msg,
		Fields: map[string]string{"body": msg}}
}

// noStoreTips keeps every answer of the tipster's API out of caches: it
// may carry a receipt or a case's progress.
func noStoreTips(c *gin.Context) {
	if strings.HasPrefix(c.Request.URL.Path, "/api/v1/tips") {
		c.Header("Cache-Control", "no-store")
	}
	c.Next()
}
