package api

import (
	_ "embed"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"
)

// openAPIYAML is the API's contract (OpenAPI 3.1): every /api/v1 route,
// its bodies, statuses and roles. The API tests validate every request
// and response they make against it (apptest), and docs/api.md is
// rendered from it (TestAPIReference).
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIDocument returns the embedded OpenAPI document as YAML.
func OpenAPIDocument() []byte { return openAPIYAML }

// openAPIJSON converts the embedded document once at start; it is embedded,
// so a failure is a build defect and stops the start.
func openAPIJSON() []byte {
	j, err := yaml.YAMLToJSON(openAPIYAML)
	if err != nil {
		panic(fmt.Sprintf("api/openapi.yaml: %v", err))
	}
	return j
}

// serveOpenAPI answers GET /api/v1/openapi.json with doc.
func serveOpenAPI(doc []byte) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Cache-Control", "public, max-age=300")
		c.Data(http.StatusOK, "application/json; charset=utf-8", doc)
	}
}
