package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestSurveySharesAgree: an administrator prints 10 one-time codes, 7
// cadres answer (one code tried twice is refused), and the shares are the
// same in the results API, GET /api/v1/stats, the xlsx and `jianfu
// report`; the answer rows carry nothing that leads back to a code.
func TestSurveySharesAgree(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
			app.CreateUser(t, models.UserParams{Username: "admin1", Password: "password-123", Role: models.RoleAdmin})
			admin := app.Login(t, "admin1", "password-123")
			res := admin.JSON(t, "POST", "/api/v1/admin/surveys", map[string]any{"title": "年度基层减负成效问卷", "questions": []map[string]any{
				{"text": "您认为本年度减负工作成效如何？", "options": []string{"显著", "较好", "一般", "不明显"}, "effect": true},
				{"text": "您所在乡镇是否面临专业能力和人手不足？", "options": []string{"是", "否"}},
			}})
			if res.Status != http.StatusCreated {
				t.Fatalf("create survey: %d %s", res.Status, res.Raw)
			}
			id := uint64(res.Body["id"].(float64))
			qs := res.Body["questions"].([]any)
			q1 := strconv.Itoa(int(qs[0].(map[string]any)["id"].(float64)))
			q2 := strconv.Itoa(int(qs[1].(map[string]any)["id"].(float64)))
			res = admin.JSON(t, "POST", fmt.Sprintf("/api/v1/admin/surveys/%d/codes", id), map[string]int{"count": 10})
			items, _ := res.Body["codes"].([]any)
			if res.Status != http.StatusCreated || len(items) != 10 {
				t.Fatalf("codes: %d %s", res.Status, res.Raw)
			}
			codes := make([]string, len(items))
			for i, it := range items {
				codes[i] = it.(map[string]any)["code"].(string)
			}

			cadre := app.Client()
			answer := func(code string, a map[string]int) apptest.Response {
				return cadre.JSON(t, "POST", "/api/v1/surveys/answers", map[string]any{"code": code, "answers": a})
			}
			// 显著 2, 较好 2, 一般 2, 不明显 1 → 显著或较好 4/7; 是 4/7.
			picks := [][2]int{{0, 0}, {0, 0}, {1, 1}, {1, 0}, {2, 1}, {2, 0}, {3, 1}}
			for i, p := range picks {
				if res := answer(codes[i], map[string]int{q1: p[0], q2: p[1]}); res.Status != http.StatusCreated {
					t.Fatalf("answer %d: %d %s", i, res.Status, res.Raw)
				}
			}
			res = answer(codes[3], map[string]int{q1: 0, q2: 0})
			if res.Status != http.StatusConflict || !strings.Contains(string(res.Raw), "已经使用过") {
				t.Errorf("a used code: %d %s, want 409 saying it was used", res.Status, res.Raw)
			}
			if res := answer("ZZZZ-ZZZZ-ZZZZ", map[string]int{q1: 0, q2: 0}); res.Status != http.StatusNotFound || !strings.Contains(string(res.Raw), "答卷码不存在") {
				t.Errorf("an unknown code: %d %s", res.Status, res.Raw)
			}
			res = answer(codes[7], map[string]int{q1: 9})
			fields, _ := res.Body["error"].(map[string]any)["fields"].(map[string]any)
			if res.Status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(fields["answers."+q1]), "第1题") ||
				!strings.Contains(fmt.Sprint(fields["answers."+q2]), "第2题") {
				t.Errorf("out of range and missing: %d %s, want 400 naming both questions", res.Status, res.Raw)
			}

			many := map[string]int{}
			for i := range 31 {
				many[strconv.Itoa(1000+i)] = 0
			}
			if res := answer(codes[7], many); res.Status != http.StatusBadRequest {
				t.Errorf("31 answers: %d %s, want 400", res.Status, res.Raw)
			}

			// The results API.
			res = admin.JSON(t, "GET", fmt.Sprintf("/api/v1/surveys/%d/results", id), nil)
			if res.Status != http.StatusOK || res.Body["respondents"] != 7.0 {
				t.Fatalf("results: %d %s", res.Status, res.Raw)
			}
			share := func(q any, opt int) string {
				o := q.(map[string]any)["options"].([]any)[opt].(map[string]any)
				return fmt.Sprintf("%.1f", o["share"].(map[string]any)["percent"].(float64))
			}
			rq := res.Body["questions"].([]any)
			effect := rq[0].(map[string]any)["positive_share"].(map[string]any)["percent"].(float64)
			if effect != 57.1 || share(rq[0], 0) != "28.6" || share(rq[1], 0) != "57.1" {
				t.Errorf("results: effect %.1f, 显著 %s, 是 %s; want 57.1, 28.6, 57.1", effect, share(rq[0], 0), share(rq[1], 0))
			}

			// GET /api/v1/stats for the year.
			year := app.Store.Now().In(models.Shanghai()).Year()
			res = admin.JSON(t, "GET", "/api/v1/stats?year="+strconv.Itoa(year), nil)
			sv, _ := res.Body["survey"].(map[string]any)
			if res.Status != http.StatusOK || sv == nil || sv["respondents"] != 7.0 {
				t.Fatalf("stats survey: %d %v", res.Status, res.Body["survey"])
			}
			sq := sv["questions"].([]any)
			for q := range 2 {
				for o := range len(sq[q].(map[string]any)["options"].([]any)) {
					if share(sq[q], o) != share(rq[q], o) {
						t.Errorf("stats q%d o%d share %s, results %s", q+1, o+1, share(sq[q], o), share(rq[q], o))
					}
				}
			}

			// The xlsx: one row per option, the same shares and respondents.
			x := admin.JSON(t, "GET", "/api/v1/stats/export.xlsx?year="+strconv.Itoa(year), nil)
			f, err := excelize.OpenReader(bytes.NewReader(x.Raw))
			if err != nil {
				t.Fatalf("xlsx: %d %v", x.Status, err)
			}
			defer f.Close()
			rows, err := f.GetRows("干部问卷")
			if err != nil || len(rows) != 1+4+2 {
				t.Fatalf("survey sheet: %v, %v", rows, err)
			}
			for i, r := range rows[1:] {
				q, o := 0, i
				if i >= 4 {
					q, o = 1, i-4
				}
				if r[4] != share(rq[q], o) || r[5] != "7" {
					t.Errorf("xlsx row %v: share %s, want %s of 7", r, r[4], share(rq[q], o))
				}
			}

			// jianfu report --year.
			var out bytes.Buffer
			if err := reportCommand(context.Background(), app.Config, slog.New(slog.NewTextHandler(io.Discard, nil)),
				[]string{"--year", strconv.Itoa(year)}, &out); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"共7名干部作答", "57.1%的受访干部对本年度减负工作成效给予了“显著”或“较好”的积极评价",
				"“是”57.1%、“否”42.9%", "#### 干部问卷"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("report lacks %q:\n%s", want, out.String())
				}
			}

			// Nothing in the database ties a code to the answers.
			db := app.Store.DB(context.Background())
			for table, want := range map[string][]string{
				"survey_codes":     {"code_hash", "id", "survey_id", "used"},
				"survey_responses": {"answered_on", "id", "survey_id"},
				"survey_answers":   {"choice", "id", "question_id", "response_id"},
			} {
				cols, err := db.Migrator().ColumnTypes(table)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, c := range cols {
					names = append(names, c.Name())
				}
				slices.Sort(names)
				if !slices.Equal(names, want) {
					t.Errorf("%s has columns %v, want only %v", table, names, want)
				}
			}
		})
	}
}
