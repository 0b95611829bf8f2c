package apptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"jianfu/api"
)

// Contract is the API's OpenAPI document (api/openapi.yaml) loaded and
// validated, with a router over its paths.
type Contract struct {
	Doc    *openapi3.T
	Router routers.Router
}

// LoadContract loads the embedded document once per test binary.
var LoadContract = sync.OnceValues(func() (*Contract, error) {
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(api.OpenAPIDocument())
	if err != nil {
		return nil, fmt.Errorf("load api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(l.Context); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	r, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("api/openapi.yaml router: %w", err)
	}
	return &Contract{Doc: doc, Router: r}, nil
})

// exchange is one request under contract check: begin before it is
// sent, end with its answer.
type exchange struct {
	input  *openapi3filter.RequestValidationInput
	reqErr error // the document refuses the request
	route  string
}

// checkRequest validates an /api/v1 request against the document (nil for
// other paths: pages are not part of the JSON contract). It leaves req's
// body readable.
func checkRequest(t testing.TB, req *http.Request) *exchange {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return nil
	}
	ct, err := LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	if req.Body != nil {
		body, err = io.ReadAll(req.Body)
		if err != nil {
			t.Fatalf("read request body: %v", err)
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(body))
	x := &exchange{route: req.Method + " " + req.URL.Path}
	route, params, err := ct.Router.FindRoute(vreq)
	if err != nil {
		x.reqErr = fmt.Errorf("undocumented route: %w", err)
		return x
	}
	x.input = &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	x.reqErr = openapi3filter.ValidateRequest(context.Background(), x.input)
	return x
}

// checkResponse validates the answer: its status must be documented for
// the operation and its JSON body must match the schema exactly (response
// objects admit no undocumented field). A request the document refuses
// must be refused by the server too (4xx): the document describes bad
// input, the handlers still judge it.
func (x *exchange) checkResponse(t testing.TB, status int, header http.Header, raw []byte) {
	t.Helper()
	if x == nil {
		return
	}
	if x.input == nil { // no such route in the document
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("OpenAPI contract: %s answered %d: %v", x.route, status, x.reqErr)
		}
		return
	}
	if x.reqErr != nil && (status < 400 || status >= 500) {
		t.Errorf("OpenAPI contract: %s: the document refuses the request (%v) but the server answered %d",
			x.route, short(x.reqErr), status)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	if !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		opts.ExcludeResponseBody = true // files, CSV, Markdown: status and media type only
	}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: x.input, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(raw)), Options: opts})
	if err != nil {
		t.Errorf("OpenAPI contract: %s answered %d, which the document does not describe: %v\nbody: %.600s",
			x.route, status, short(err), raw)
	}
}

// short keeps a validation error readable (kin-openapi appends the whole
// schema and value).
func short(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		parts := make([]string, len(me))
		for i, e := range me {
			parts[i] = short(e)
		}
		return strings.Join(parts, "; ")
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s: %s", strings.Join(se.JSONPointer(), "/"), se.Reason)
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Err != nil {
		return re.Reason + ": " + short(re.Err)
	}
	var rqe *openapi3filter.RequestError
	if errors.As(err, &rqe) && rqe.Err != nil {
		return rqe.Error()
	}
	return err.Error()
}
