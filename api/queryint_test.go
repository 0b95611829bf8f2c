package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestQueryInt: an integer query parameter is its default when absent, and
// anything but a whole number within its range is a 400 naming it.
func TestQueryInt(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	for _, tc := range []struct {
		query string
		want  int
		bad   bool
	}{
		{"", 50, false}, {"limit=", 50, false}, {"limit=1", 1, false}, {"limit=100", 100, false},
		{"limit=0", 0, true}, {"limit=101", 0, true}, {"limit=-1", 0, true},
		{"limit=abc", 0, true}, {"limit=1.5", 0, true}, {"limit=99999999999999999999", 0, true},
	} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodGet, "/x?"+tc.query, nil)
		got, err := queryInt(c, "limit", 50, 1, 100, "limit 应为 1 到 100")
		var ae *apiError
		switch {
		case tc.bad && (!errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Fields["limit"] != "limit 应为 1 到 100"):
			t.Errorf("%q: %v, want a 400 naming limit", tc.query, err)
		case !tc.bad && (err != nil || got != tc.want):
			t.Errorf("%q: %d, %v; want %d", tc.query, got, err, tc.want)
		}
	}
}
