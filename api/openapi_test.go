package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestOpenAPIDocument: the served document parses with the validator
// library, is a valid OpenAPI document, and lists exactly the /api/v1
// routes the server registers (api/routes.go), method by method.
func TestOpenAPIDocument(t *testing.T) {
	a := apptest.Start(t, apptest.Options{Backend: testenv.Backends(t)[0], NoWorker: true})
	res := a.Client().JSON(t, http.MethodGet, "/api/v1/openapi.json", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", res.Status, res.Raw)
	}
	l := openapi3.NewLoader()
	doc, err := l.LoadFromData(res.Raw)
	if err != nil {
		t.Fatalf("served document does not parse: %v", err)
	}
	if err := doc.Validate(l.Context); err != nil {
		t.Fatalf("served document is not valid OpenAPI: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi version %q, want 3.1.x", doc.OpenAPI)
	}

	var documented []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented = append(documented, method+" "+path)
			if op.OperationID == "" || op.Summary == "" {
				t.Errorf("%s %s: needs an operationId and a zh-CN summary", method, path)
			}
			if _, ok := op.Extensions["x-roles"]; !ok {
				t.Errorf("%s %s: needs x-roles (who may call it)", method, path)
			}
		}
	}
	var registered []string
	for _, r := range a.Server.Config.Handler.(*gin.Engine).Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") {
			continue
		}
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		registered = append(registered, r.Method+" "+strings.Join(parts, "/"))
	}
	sort.Strings(documented)
	sort.Strings(registered)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is registered but not in api/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("api/openapi.yaml documents %s, which api/routes.go does not register", d)
		}
	}
	if len(registered) < 50 {
		t.Errorf("only %d /api/v1 routes registered; the comparison looks at the wrong engine", len(registered))
	}
}

// docClient drives the API from the document: each call names an
// operationId, and the method, path and (unless given) body come from the
// operation and its example. Every exchange is also validated against the
// document by apptest.
type docClient struct {
	t   *testing.T
	doc *openapi3.T
}

func (d docClient) call(c *apptest.Client, opID string, params map[string]string, body any) apptest.Response {
	d.t.Helper()
	for path, item := range d.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID != opID {
				continue
			}
			for k, v := range params {
				path = strings.ReplaceAll(path, "{"+k+"}", v)
			}
			if body == nil && op.RequestBody != nil {
				mt := op.RequestBody.Value.Content.Get("application/json")
				switch {
				case mt != nil && mt.Example != nil:
					body = mt.Example
				case op.RequestBody.Value.Required:
					d.t.Fatalf("%s: the document gives no JSON example to send", opID)
				}
			}
			return c.JSON(d.t, method, path, body)
		}
	}
	d.t.Fatalf("no operation %s in the document", opID)
	return apptest.Response{}
}

// TestOpenAPIClient: a client that knows only the document (operation ids
// and their Chinese examples) submits a tip, looks it up with the receipt
// and, as the office, accepts and dual-assigns the case, on each backend.
func TestOpenAPIClient(t *testing.T) {
	ct, err := apptest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			a := apptest.Start(t, apptest.Options{Backend: b})
			// The units the document's examples name.
			a.CreateUnit(t, "T01", "城关镇", models.UnitTownship)
			a.CreateUnit(t, "C01", "县数据资源管理局", models.UnitCounty)
			a.CreateUser(t, models.UserParams{Username: "office1", Password: "Office-pass-2026", Role: models.RoleOffice})
			d := docClient{t: t, doc: ct.Doc}
			public, office := a.Client(), a.BearerClient(t, "office1")

			res := d.call(public, "submitTip", nil, nil)
			if res.Status != http.StatusCreated {
				t.Fatalf("submitTip: %d %s", res.Status, res.Raw)
			}
			receipt := res.Body["receipt"].(string)
			res = d.call(public, "lookupTip", nil, map[string]string{"receipt": receipt})
			if res.Status != http.StatusOK || res.Body["stage"] != models.StageCollect {
				t.Fatalf("lookupTip: %d %s", res.Status, res.Raw)
			}

			res = d.call(office, "listCases", nil, nil)
			items, _ := res.Body["items"].([]any)
			if res.Status != http.StatusOK || len(items) != 1 {
				t.Fatalf("listCases: %d %s", res.Status, res.Raw)
			}
			id := fmt.Sprint(items[0].(map[string]any)["id"])
			if res = d.call(office, "acceptCase", map[string]string{"id": id}, nil); res.Status != http.StatusOK {
				t.Fatalf("acceptCase: %d %s", res.Status, res.Raw)
			}
			if res.Body["stage"] != models.StageAssign {
				t.Fatalf("after accept: stage %v", res.Body["stage"])
			}
			if res = d.call(office, "assignCase", map[string]string{"id": id}, nil); res.Status != http.StatusOK {
				t.Fatalf("assignCase: %d %s", res.Status, res.Raw)
			}
			var detail struct {
				Stage       string `json:"stage"`
				Assignments []struct {
					Unit, Role string
				} `json:"assignments"`
			}
			if err := json.Unmarshal(res.Raw, &detail); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, as := range detail.Assignments {
				got = append(got, as.Unit+"/"+as.Role)
			}
			sort.Strings(got)
			if detail.Stage != models.StageVerify || !slices.Equal(got, []string{"C01/county", "T01/grassroots"}) {
				t.Fatalf("after assign: stage %s, assignments %v", detail.Stage, got)
			}
			res = d.call(public, "lookupTip", nil, map[string]string{"receipt": receipt})
			if res.Body["stage"] != models.StageVerify {
				t.Errorf("the tipster sees stage %v after dispatch, want verify", res.Body["stage"])
			}
		})
	}
}

// TestAPIReference: docs/api.md is the document rendered for integrators
// (JIANFU_UPDATE_DOCS=1 rewrites it).
func TestAPIReference(t *testing.T) {
	ct, err := apptest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	got := renderReference(ct.Doc)
	const file = "../docs/api.md"
	if os.Getenv("JIANFU_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run JIANFU_UPDATE_DOCS=1 go test -run TestAPIReference ./api/)", err)
	}
	if string(want) != got {
		t.Errorf("docs/api.md is out of date with api/openapi.yaml: run JIANFU_UPDATE_DOCS=1 go test -run TestAPIReference ./api/")
	}
}
