package registry

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"jianfu/models"
)

// NoData is what the report writes where the registry has no figure.
const NoData = "无数据"

// AnnotateReport adds the registry's part to a county-wide yearly report:
// the paragraph that fills the county report's 〔*〕 blanks on documents,
// meetings, inspections, apps and groups (无数据 where there is none),
// and the 在线监管 and 智能预警 tables (sheets of the xlsx). Reports of
// another period or of one unit are left as they are.
func (s *Store) AnnotateReport(ctx context.Context, st *models.Stats) error {
	year := st.From.In(models.Shanghai()).Year()
	from, to := models.YearPeriod(year)
	if st.Unit != nil || !from.Equal(st.From) || !to.Equal(st.To) {
		return nil
	}
	f, err := s.Figures(ctx, year)
	if err != nil {
		return err
	}
	ws, err := s.AllWarnings(ctx)
	if err != nil {
		return err
	}
	st.Sections = append(st.Sections, models.StatsSection{ID: "monitoring",
		Paragraphs: []string{f.Paragraph()}, Tables: []models.Table{f.Table(), WarningsTable(ws)}})
	return nil
}

// reductionText is "下降20.0%", "增加5.0%" or 无数据 (no baseline).
func reductionText(r Reduction, down, up string) string {
	switch {
	case r.Percent == nil:
		return down + NoData
	case *r.Percent < 0:
		return up + strconv.FormatFloat(-*r.Percent, 'f', 1, 64) + "%"
	}
	return down + strconv.FormatFloat(*r.Percent, 'f', 1, 64) + "%"
}

func shareText(p *float64) string {
	if p == nil {
		return NoData
	}
	return strconv.FormatFloat(*p, 'f', 1, 64) + "%"
}

// Paragraph is the report's sentence on the monitoring of burdens, in the
// county report's wording, every blank filled or 无数据.
func (f Figures) Paragraph() string {
	if !f.HasData {
		return "基层减负在线监管（发文、会议、督查检查考核、政务APP和工作群备案）：" + NoData + "。"
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	var b strings.Builder
	fmt.Fprintf(&b, "据基层减负在线监管系统备案，%d年全县发文%s件，同比%s；召开全县性会议%s次，同比%s。",
		f.Year, n(f.Documents.This), reductionText(f.Documents, "下降", "增加"),
		n(f.Meetings.This), reductionText(f.Meetings, "减少", "增加"))
	fmt.Fprintf(&b, "整合清理各类政务APP%s个、网络工作群%s个，清理整合率分别为%s、%s。",
		n(f.Apps.Closed), n(f.Groups.Closed), shareText(f.Apps.Percent), shareText(f.Groups.Percent))
	fmt.Fprintf(&b, "对全县%s项督查检查考核事项进行统筹规范，合并开展%s项，计划外%s项，督查检查考核数量同比%s。",
		n(f.Inspections.This), n(f.InspectionsMerged), n(f.InspectionsUnplanned),
		reductionText(f.Inspections, "压减", "增加"))
	return b.String()
}

func intCell(v int64) models.Cell { return models.Cell{Int: &v} }

func pctCell(p *float64) models.Cell {
	if p == nil {
		return models.Cell{Text: "—"}
	}
	v := *p
	return models.Cell{Dec: &v}
}

func textCell(s string) models.Cell { return models.Cell{Text: s} }

// Table is the 在线监管 sheet: this year, last year and the rate per figure.
func (f Figures) Table() models.Table {
	t := models.Table{ID: "monitoring", Title: "在线监管", Headers: []string{"指标", "标识", "本年", "上年", "压减率或比例（%）"}}
	red := func(name, id string, r Reduction) []models.Cell {
		return []models.Cell{textCell(name), textCell(id), intCell(r.This), intCell(r.Prev), pctCell(r.Percent)}
	}
	t.Rows = [][]models.Cell{
		red("发文数量", "documents", f.Documents),
		red("全县性会议", "meetings", f.Meetings),
		red("督查检查考核事项", "inspections", f.Inspections),
		{textCell("合并开展的督查检查（多合一）"), textCell("inspections_merged"), intCell(f.InspectionsMerged), textCell(""), textCell("")},
		{textCell("计划外督查检查"), textCell("inspections_unplanned"), intCell(f.InspectionsUnplanned), textCell(""), textCell("")},
		{textCell("关停整合政务APP（本年在用）"), textCell("apps"), intCell(f.Apps.Closed), intCell(f.Apps.Existing), pctCell(f.Apps.Percent)},
		{textCell("解散整合工作群（本年在用）"), textCell("groups"), intCell(f.Groups.Closed), intCell(f.Groups.Existing), pctCell(f.Groups.Percent)},
	}
	return t
}

// WarningsTable is the 智能预警 sheet: the warnings as of now.
func WarningsTable(ws []Warning) models.Table {
	t := models.Table{ID: "warnings", Title: "智能预警", Headers: []string{"预警", "级别", "单位", "原因", "依据"}}
	for _, w := range ws {
		level := "提示"
		if w.Level == LevelAlert {
			level = "警示"
		}
		t.Rows = append(t.Rows, []models.Cell{textCell(RuleNames[w.Rule]), textCell(level), textCell(w.UnitName),
			textCell(w.Reason), textCell(w.Evidence.Text())})
	}
	return t
}

// Text is the evidence in one line: entries, cases, counts.
func (e Evidence) Text() string {
	var parts []string
	join := func(ids []uint64) string {
		s := make([]string, len(ids))
		for i, id := range ids {
			s[i] = strconv.FormatUint(id, 10)
		}
		return strings.Join(s, "、")
	}
	if len(e.Entries) > 0 {
		parts = append(parts, "备案"+join(e.Entries))
	}
	if len(e.Cases) > 0 {
		parts = append(parts, "线索"+join(e.Cases))
	}
	if e.Limit > 0 {
		parts = append(parts, fmt.Sprintf("已备案%d项/指标%d项", e.Count, e.Limit))
	}
	if e.Since != "" {
		parts = append(parts, "自"+e.Since+"起")
	}
	return strings.Join(parts, "；")
}
