package evaluation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"jianfu/models"
)

// Definitions of the figures this package adds (docs/statistics.md).
var Definitions = []models.Figure{
	{ID: "service_rated", Name: "服务评价数", Definition: "统计期间内（按评价日期，北京时间）扫描单位二维码作出的服务评价次数；按被评价单位分列。评价不记录评价人身份，同一人可多次评价。"},
	{ID: "service_satisfaction_rate", Name: "服务满意率", Definition: "（满意 + 基本满意）÷ 服务评价数 × 100%，四舍五入保留一位小数；评价数为 0 时显示“—”。与线索“满意率”（举报人对办理结果的评价）分开统计。"},
	{ID: "survey_respondents", Name: "问卷作答人数", Definition: "统计期间内（按作答日期）回答该问卷的人数，每个一次性答卷码只能作答一次；取期间内最新一份有作答的问卷。"},
	{ID: "survey_share", Name: "选项占比", Definition: "选择该选项的人数 ÷ 作答人数 × 100%，四舍五入保留一位小数；每道题都必答，各选项占比之和约为 100%。"},
	{ID: "survey_effect_positive", Name: "减负成效积极评价占比", Definition: "“减负成效”题中选择前几个积极选项（默认“显著”“较好”）的人数 ÷ 作答人数 × 100%，年度报告“超过 X% 的受访干部…给予了‘显著’或‘较好’的积极评价”引用此数。"},
}

// statsSection adds per-unit service satisfaction and the period's
// survey to core.Stats.
func (s *Store) statsSection(ctx context.Context, st *models.Stats) (models.StatsSection, error) {
	from, to := st.FromDate(), st.ToDate()
	var unitID uint64
	if st.Unit != nil {
		unitID = st.Unit.ID
	}
	service, err := s.ServiceSatisfaction(ctx, from, to, unitID)
	if err != nil {
		return models.StatsSection{}, err
	}
	var survey *Results
	id, err := s.LatestAnswered(ctx, from, to)
	switch {
	case err == nil:
		r, err := s.Results(ctx, id, from, to)
		if err != nil {
			return models.StatsSection{}, err
		}
		survey = &r
	case !errors.Is(err, models.ErrNotFound):
		return models.StatsSection{}, err
	}
	sec := models.StatsSection{ID: "evaluation",
		JSON:        map[string]any{"service_satisfaction": service, "service_total": ServiceTotal(service), "survey": survey},
		Tables:      []models.Table{ServiceTable(service), SurveyTable(survey)},
		Paragraphs:  Paragraphs(service, survey),
		Definitions: Definitions}
	return sec, nil
}

// ServiceTotal sums the units' ratings.
func ServiceTotal(rows []UnitSatisfaction) UnitSatisfaction {
	var t UnitSatisfaction
	for _, r := range rows {
		t.Rated += r.Rated
		t.Satisfied += r.Satisfied
		t.BasicallySatisfied += r.BasicallySatisfied
		t.Unsatisfied += r.Unsatisfied
	}
	t.SatisfactionRate = models.NewRate(t.Satisfied+t.BasicallySatisfied, t.Rated)
	return t
}

// ServiceTable is the xlsx sheet and CSV "service".
func ServiceTable(rows []UnitSatisfaction) models.Table {
	t := models.Table{ID: "service", Title: "扫码服务评价",
		Headers: []string{"单位代码", "单位名称", "评价数", "满意", "基本满意", "不满意", "服务满意率(%)"}}
	for _, r := range rows {
		t.Rows = append(t.Rows, []models.Cell{models.TextCell(r.Code), models.TextCell(r.Name), models.IntCell(r.Rated),
			models.IntCell(r.Satisfied), models.IntCell(r.BasicallySatisfied), models.IntCell(r.Unsatisfied),
			models.DecCell(r.SatisfactionRate.Percent)})
	}
	return t
}

// SurveyTable is the xlsx sheet and CSV "survey": one row per option.
func SurveyTable(r *Results) models.Table {
	t := models.Table{ID: "survey", Title: "干部问卷",
		Headers: []string{"题号", "题目", "选项", "人数", "占比(%)", "作答人数"}}
	if r == nil {
		return t
	}
	for _, q := range r.Questions {
		for _, o := range q.Options {
			t.Rows = append(t.Rows, []models.Cell{models.IntCell(int64(q.Number)), models.TextCell(q.Text),
				models.TextCell(o.Option), models.IntCell(o.Count), models.DecCell(o.Share.Percent),
				models.IntCell(r.Respondents)})
		}
	}
	return t
}

// Paragraphs are the report's sentences on 码上评议 and the survey.
func Paragraphs(service []UnitSatisfaction, survey *Results) []string {
	var p []string
	if t := ServiceTotal(service); t.Rated > 0 {
		p = append(p, fmt.Sprintf("群众和干部通过扫码即可反映问题、评价服务：期间内扫码评价服务%d次，其中满意%d次、基本满意%d次、不满意%d次，服务满意率%s。",
			t.Rated, t.Satisfied, t.BasicallySatisfied, t.Unsatisfied, t.SatisfactionRate.Text()))
	} else {
		p = append(p, "扫码评价服务：无数据。")
	}
	if survey == nil || survey.Respondents == 0 {
		return append(p, "干部问卷：无数据。")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "干部问卷《%s》共%d名干部作答（一次性答卷码，匿名）。", survey.Title, survey.Respondents)
	if e := survey.Effect(); e != nil {
		fmt.Fprintf(&b, "%s的受访干部对本年度减负工作成效给予了“%s”的积极评价。", e.PositiveShare.Text(),
			strings.Join(e.Question.Options[:e.Positive], "”或“"))
	}
	for _, q := range survey.Questions {
		if q.Effect {
			continue
		}
		parts := make([]string, len(q.Options))
		for i, o := range q.Options {
			parts[i] = fmt.Sprintf("“%s”%s", o.Option, o.Share.Text())
		}
		fmt.Fprintf(&b, "第%d题“%s”：%s。", q.Number, q.Text, strings.Join(parts, "、"))
	}
	return append(p, b.String())
}
