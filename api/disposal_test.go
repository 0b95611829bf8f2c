package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"jianfu/testenv"
)

// TestDisposals: a disposal is recorded only once a case is found
// substantiated, every bad field is named and stores nothing, and the
// statistics and the report count the cases, persons and units.
func TestDisposals(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			verify, _ := w.bring(pVerify)
			w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/disposals", verify),
				map[string]any{"measure": "criticism", "persons": 1}, http.StatusConflict)

			id, _ := w.bring(pRectify)
			path := fmt.Sprintf("/api/v1/cases/%d/disposals", id)
			for _, c := range []struct {
				field string
				body  map[string]any
			}{
				{"measure", map[string]any{"measure": "fine", "persons": 1}},
				{"persons", map[string]any{"measure": "criticism"}},
				{"persons", map[string]any{"measure": "criticism", "persons": -1}},
				{"units", map[string]any{"measure": "criticism", "units": 100000}},
				{"note", map[string]any{"measure": "criticism", "persons": 1, "note": strings.Repeat("长", 2001)}},
				{"persons", map[string]any{"measure": "criticism", "persons": "两"}},
			} {
				res := w.c["office"].JSON(t, http.MethodPost, path, c.body)
				fields, _ := res.Body["error"].(map[string]any)["fields"].(map[string]any)
				if res.Status != http.StatusBadRequest || fields[c.field] == nil {
					t.Errorf("%v: %d %s, want 400 naming %s", c.body, res.Status, res.Raw, c.field)
				}
			}
			if d := w.detail("office", id); len(d.Disposals) != 0 {
				t.Fatalf("refused disposals stored: %+v", d.Disposals)
			}

			w.do("office", http.MethodPost, path, map[string]any{"measure": "talk_reminder", "persons": 2,
				"note": "约谈镇党委分管负责同志和党政办主任"}, http.StatusCreated)
			w.do("office", http.MethodPost, path, map[string]any{"measure": "circulated_criticism", "persons": 1, "units": 1},
				http.StatusCreated)
			d := w.detail("office", id)
			if len(d.Disposals) != 2 || d.Disposals[0].MeasureName != "约谈提醒" || d.Disposals[1].Units != 1 {
				t.Errorf("case page disposals %+v", d.Disposals)
			}
			if n := countKind(d, "disposed", 0); n != 2 {
				t.Errorf("%d disposed events, want 2", n)
			}
			if l := w.detail("liaison-d1", id); l.Disposals != nil {
				t.Errorf("the unit's liaison sees the disposals: %+v", l.Disposals)
			}

			st := w.do("leader", http.MethodGet, "/api/v1/stats", nil, http.StatusOK)
			ds := st.Body["disposals"].(map[string]any)
			if ds["cases"] != 1.0 || ds["persons"] != 3.0 || ds["units"] != 1.0 || ds["records"] != 2.0 {
				t.Errorf("stats disposals %v, want 1 case, 3 persons, 1 unit, 2 records", ds)
			}
			rep := w.do("leader", http.MethodGet, "/api/v1/stats/report", nil, http.StatusOK)
			if !strings.Contains(string(rep.Raw), "查处形式主义、官僚主义问题1起，问责3人、1个单位") {
				t.Errorf("the report does not count the disposal:\n%s", rep.Raw)
			}
			x := w.do("leader", http.MethodGet, "/api/v1/stats/export.xlsx", nil, http.StatusOK)
			f, err := excelize.OpenReader(bytes.NewReader(x.Raw))
			if err != nil {
				t.Fatal(err)
			}
			rows, err := f.GetRows("问题处置")
			if err != nil || len(rows) < 2 || !slices.Equal(rows[len(rows)-1], []string{"合计", "total", "2", "1", "3", "1"}) {
				t.Errorf("xlsx 问题处置: %v %v", rows, err)
			}
		})
	}
}
