package evaluation_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"jianfu/models"
	"jianfu/models/evaluation"
	"jianfu/testenv"
)

// open gives a migrated store with one township on backend b, its clock
// fixed at a known day.
func open(t *testing.T, b testenv.Backend) (*models.Store, *evaluation.Store) {
	t.Helper()
	ctx := context.Background()
	url, dir := b.Database(t)
	d, err := models.ParseDeadlines(models.DefaultDeadlines)
	if err != nil {
		t.Fatal(err)
	}
	core, err := models.Open(ctx, models.OpenParams{DatabaseURL: url, DataDir: dir, Secret: make([]byte, 32), Deadlines: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { core.Close() })
	if _, err := core.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := core.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	core.SetClock(func() time.Time { return time.Date(2025, 6, 10, 2, 0, 0, 0, time.UTC) })
	if _, err := core.CreateUnit(ctx, "T01", "城关镇", models.UnitTownship); err != nil {
		t.Fatal(err)
	}
	return core, evaluation.New(core)
}

func TestServiceEvaluation(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			core, ev := open(t, b)
			for _, in := range []evaluation.EvaluationInput{
				{Unit: "T01", Rating: "satisfied"},
				{Unit: "T01", Rating: "basically_satisfied"},
				{Unit: "T01", Rating: "unsatisfied"},
			} {
				if _, err := ev.AddEvaluation(ctx, in); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ev.AddEvaluation(ctx, evaluation.EvaluationInput{Unit: "T01", Rating: "unsatisfied", Comment: " 报表太多 "})
			if err != nil || !got.OfferTip || got.Comment != "报表太多" {
				t.Fatalf("unsatisfied with comment = %+v, %v; want an offer to file a tip", got, err)
			}
			bad := []struct {
				in    evaluation.EvaluationInput
				field string
			}{
				{evaluation.EvaluationInput{Unit: "NOPE", Rating: "satisfied"}, "unit"},
				{evaluation.EvaluationInput{Unit: "T01", Rating: "great"}, "rating"},
				{evaluation.EvaluationInput{Unit: "T01", Rating: "satisfied", Comment: "a\u202Eb"}, "comment"},
				{evaluation.EvaluationInput{Unit: "T01", Rating: "satisfied", Comment: strings.Repeat("字", 501)}, "comment"},
			}
			for _, c := range bad {
				_, err := ev.AddEvaluation(ctx, c.in)
				var ve *models.ValidationError
				if !errors.As(err, &ve) || ve.Fields[c.field] == "" {
					t.Errorf("%+v: err = %v, want a message on %s", c.in, err, c.field)
				}
			}
			rows, err := ev.ServiceSatisfaction(ctx, "2025-01-01", "2025-12-31", 0)
			if err != nil || len(rows) != 1 {
				t.Fatalf("satisfaction = %+v, %v", rows, err)
			}
			if r := rows[0]; r.Rated != 4 || r.Unsatisfied != 2 || r.SatisfactionRate.Text() != "50.0%" {
				t.Errorf("T01 = %+v, want 4 rated, 2 unsatisfied, 50.0%%", r)
			}
			from, to := models.YearPeriod(2024)
			st, err := core.Stats(ctx, models.StatsParams{From: from, To: to})
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Sections[0].JSON["service_satisfaction"].([]evaluation.UnitSatisfaction); len(got) != 0 {
				t.Errorf("2024 has ratings %+v; all were given in 2025", got)
			}
		})
	}
}

func TestSurveyCodesAreOneTimeAndUnlinkable(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			core, ev := open(t, b)
			sv, err := ev.CreateSurvey(ctx, evaluation.SurveyInput{Title: "2025年度减负成效问卷", Questions: []evaluation.QuestionInput{
				{Text: "本年度减负工作成效如何？", Options: []string{"显著", "较好", "一般", "不明显"}, Effect: true},
				{Text: "是否面临专业能力和人手不足？", Options: []string{"是", "否"}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			codes, err := ev.IssueCodes(ctx, sv.ID, 10)
			if err != nil || len(codes) != 10 {
				t.Fatalf("codes = %v, %v", codes, err)
			}
			q1, q2 := sv.Questions[0].ID, sv.Questions[1].ID
			picks := [][2]int{{0, 0}, {0, 0}, {1, 1}, {1, 0}, {0, 1}, {2, 0}, {3, 1}}
			for i, p := range picks {
				if err := ev.Answer(ctx, strings.ToLower(codes[i]), map[uint64]int{q1: p[0], q2: p[1]}); err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
			}
			if err := ev.Answer(ctx, codes[0], map[uint64]int{q1: 0, q2: 0}); !errors.Is(err, evaluation.ErrCodeUsed) {
				t.Errorf("second answer with one code: %v, want ErrCodeUsed", err)
			}
			if err := ev.Answer(ctx, "ABCD-EFGH-JKMN", map[uint64]int{q1: 0, q2: 0}); !errors.Is(err, evaluation.ErrCodeUnknown) {
				t.Errorf("unknown code: %v, want ErrCodeUnknown", err)
			}
			var ve *models.ValidationError
			err = ev.Answer(ctx, codes[8], map[uint64]int{q1: 4})
			if !errors.As(err, &ve) || !strings.Contains(ve.Fields[fmt.Sprintf("answers.%d", q1)], "第1题") ||
				!strings.Contains(ve.Fields[fmt.Sprintf("answers.%d", q2)], "第2题") {
				t.Errorf("out of range and missing: %v, want both questions named", err)
			}
			if _, err := ev.SurveyForCode(ctx, codes[8]); err != nil {
				t.Errorf("a refused answer used the code up: %v", err)
			}
			r, err := ev.Results(ctx, sv.ID, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Respondents != 7 || r.Effect().PositiveShare.Text() != "71.4%" || r.Questions[1].Options[0].Share.Text() != "57.1%" {
				t.Errorf("results = %d respondents, effect %s, q2 是 %s; want 7, 71.4%%, 57.1%%",
					r.Respondents, r.Effect().PositiveShare.Text(), r.Questions[1].Options[0].Share.Text())
			}
			// Nothing ties a code to a response: the code table has no
			// time and the answer tables no code.
			db := core.DB(context.Background())
			for _, table := range []string{"survey_codes", "survey_responses", "survey_answers"} {
				cols, err := db.Migrator().ColumnTypes(table)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cols {
					n := c.Name()
					if (table == "survey_codes" && (strings.HasSuffix(n, "_at") || strings.Contains(n, "response"))) ||
						(table != "survey_codes" && strings.Contains(n, "code")) {
						t.Errorf("%s.%s could link a code to an answer", table, n)
					}
				}
			}
		})
	}
}

func TestSurveyDefinitionErrors(t *testing.T) {
	ctx := context.Background()
	_, ev := open(t, testenv.Backends(t)[0])
	cases := []struct {
		in    evaluation.SurveyInput
		field string
	}{
		{evaluation.SurveyInput{Questions: []evaluation.QuestionInput{{Text: "成效", Options: []string{"显著", "一般"}, Effect: true}}}, "title"},
		{evaluation.SurveyInput{Title: "问卷"}, "questions"},
		{evaluation.SurveyInput{Title: "问卷", Questions: []evaluation.QuestionInput{{Text: "成效", Options: []string{"显著", "一般"}}}}, "questions"},
		{evaluation.SurveyInput{Title: "问卷", Questions: []evaluation.QuestionInput{{Text: "成效", Options: []string{"显著"}, Effect: true}}}, "questions.1"},
	}
	for _, c := range cases {
		_, err := ev.CreateSurvey(ctx, c.in)
		var ve *models.ValidationError
		if !errors.As(err, &ve) || ve.Fields[c.field] == "" {
			t.Errorf("%+v: %v, want a message on %s", c.in, err, c.field)
		}
	}
	if svs, _ := ev.Surveys(ctx); len(svs) != 0 {
		t.Errorf("refused definitions stored %d surveys", len(svs))
	}
}

// TestDefinitionsDocumented: docs/statistics.md carries the definitions
// of these figures word for word, as the export's 指标说明 sheet does.
func TestDefinitionsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/statistics.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range evaluation.Definitions {
		if line := fmt.Sprintf("| `%s` | %s | %s |", f.ID, f.Name, f.Definition); !strings.Contains(string(b), line) {
			t.Errorf("docs/statistics.md lacks the line\n%s", line)
		}
	}
}
