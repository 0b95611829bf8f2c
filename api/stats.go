package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/xuri/excelize/v2"

	"jianfu/models"
	"jianfu/models/audit"
)

// Statistics for the dashboard, the export and the annual report. Every
// output is built from one models.Stats value, so the JSON, the xlsx, the
// CSV files and the report always carry the same numbers.

// statsRoles may read statistics; a unit liaison may not (the figures
// cover every unit).
var statsRoles = []string{models.RoleOffice, models.RoleAdmin, models.RoleLeader}

// statsParams reads ?from=&to= (Asia/Shanghai dates, both included) or
// ?year=, and ?unit=. Without a period it is this year up to today.
func statsParams(c *gin.Context) (models.StatsParams, error) {
	var p models.StatsParams
	p.UnitCode = strings.TrimSpace(c.Query("unit"))
	from, to, year := c.Query("from"), c.Query("to"), c.Query("year")
	if year != "" {
		y, err := queryInt(c, "year", 0, 2000, 2100, "年份应为四位数字，如 2025")
		if err != nil {
			return p, err
		}
		if from != "" || to != "" {
			return p, fieldError("year", "year 不能与 from、to 同时使用")
		}
		p.From, p.To = models.YearPeriod(y)
		return p, nil
	}
	today := time.Now().In(models.Shanghai())
	if from == "" {
		from = fmt.Sprintf("%d-01-01", today.Year())
	}
	if to == "" {
		to = today.Format("2006-01-02")
	}
	var err error
	p.From, p.To, err = models.PeriodOfDates(from, to)
	return p, err
}

func (s *Server) loadStats(c *gin.Context) (*models.Stats, bool) {
	p, err := statsParams(c)
	if err != nil {
		fail(c, err)
		return nil, false
	}
	st, err := s.Store.Stats(c.Request.Context(), p)
	if err != nil {
		fail(c, err)
		return nil, false
	}
	return st, true
}

// getStats answers GET /api/v1/stats: every figure of the period, with the
// definitions. Rates carry numerator and denominator; a rate whose
// denominator is 0 has "percent": null.
func (s *Server) getStats(c *gin.Context) {
	st, ok := s.loadStats(c)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, statsJSON(st))
}

func statsJSON(st *models.Stats) gin.H {
	var unit any
	if st.Unit != nil {
		unit = gin.H{"code": st.Unit.Code, "name": st.Unit.Name, "kind": st.Unit.Kind}
	}
	stages := make([]gin.H, 0, len(models.DurationStages))
	for _, stage := range models.DurationStages {
		name := models.StageNames[stage]
		if stage == models.StageTotal {
			name = "收到至办结"
		}
		stages = append(stages, gin.H{"stage": stage, "name": name, "days": st.Totals.StageDays[stage]})
	}
	out := gin.H{
		"period": gin.H{"from": st.FromDate(), "to": st.ToDate(), "start": st.From, "end": st.To,
			"as_of": st.AsOf, "unit": unit},
		"totals":      st.Totals,
		"by_channel":  st.ByChannel,
		"by_unit":     st.ByUnit,
		"by_category": st.ByCategory,
		"by_township": st.ByTownship,
		"stages":      stages,
		"typical":     gin.H{"published": len(st.Typical), "batches": st.TypicalBatches, "items": st.Typical},
		"disposals":   st.Disposals,
		"definitions": gin.H{"scope": models.StatsScope, "breakdown": models.GroupNote, "figures": models.Figures},
	}
	figures := models.Figures
	for _, sec := range st.Sections { // domain packages' figures (models.AddStatsSection)
		for k, v := range sec.JSON {
			out[k] = v
		}
		figures = append(figures[:len(figures):len(figures)], sec.Definitions...)
	}
	out["definitions"].(gin.H)["figures"] = figures
	return out
}

// exportName is the download's file name without extension.
func exportName(st *models.Stats) string {
	name := "jianfu-stats-" + st.FromDate() + "_" + st.ToDate()
	if st.Unit != nil {
		name += "-" + st.Unit.Code
	}
	return name
}

func attachment(c *gin.Context, filename string) {
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`,
		filename, url.PathEscape(filename)))
	c.Header("Cache-Control", "no-store")
}

// exportXLSX answers GET /api/v1/stats/export.xlsx: one sheet per table,
// Chinese headers, the period and the moment of the figures under the
// summary table, and the definitions on the last sheet.
func (s *Server) exportXLSX(c *gin.Context) {
	st, ok := s.loadReport(c)
	if !ok {
		return
	}
	b, err := statsWorkbook(st)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionExport, Target: "stats.xlsx", Detail: c.Request.URL.RawQuery})
	attachment(c, exportName(st)+".xlsx")
	c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b)
}

// statsWorkbook renders the tables of st as an xlsx file. Each sheet has
// the header row first and then the data; counts are numbers, rates and
// averages are numbers with one decimal, and a rate without denominator
// is the text "—". The sheets are streamed (a year's warnings can be tens
// of thousands of rows, which excelize's cell-by-cell API builds slowly).
func statsWorkbook(st *models.Stats) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	oneDecimal := "0.0"
	dec, err := f.NewStyle(&excelize.Style{CustomNumFmt: &oneDecimal})
	if err != nil {
		return nil, err
	}
	tables := st.Tables()
	for i, t := range tables {
		if i == 0 {
			err = f.SetSheetName("Sheet1", t.Title)
		} else {
			_, err = f.NewSheet(t.Title)
		}
		if err != nil {
			return nil, err
		}
		var lines []string
		if i == 0 { // the period and the moment of the figures, after the summary table
			lines = []string{
				"统计期间：" + st.FromDate() + " 至 " + st.ToDate() + "（按线索收到时间，北京时间）",
				"统计时点：" + st.AsOf.In(models.Shanghai()).Format("2006-01-02 15:04"),
				"口径见“指标说明”工作表。",
			}
		}
		if err := writeSheet(f, t, lines, bold, dec); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, fmt.Errorf("write xlsx: %w", err)
	}
	return buf.Bytes(), nil
}

// writeSheet streams table t into its sheet: the bold header row, frozen,
// the rows, then after a blank row each of notes in column A.
func writeSheet(f *excelize.File, t models.Table, notes []string, bold, dec int) error {
	sw, err := f.NewStreamWriter(t.Title)
	if err != nil {
		return err
	}
	// Widths and panes come before the first row in a stream; the
	// definitions' text column is wide.
	for col := 1; col <= len(t.Headers); col++ {
		width := 14.0
		if t.ID == "definitions" && col == 3 {
			width = 100
		}
		if err := sw.SetColWidth(col, col, width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	header := make([]any, len(t.Headers))
	for col, h := range t.Headers {
		header[col] = h
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{StyleID: bold}); err != nil {
		return err
	}
	for r, row := range t.Rows {
		values := make([]any, len(row))
		for col, v := range row {
			switch {
			case v.Int != nil:
				values[col] = *v.Int
			case v.Dec != nil:
				// Stored as shown: one decimal, as the JSON rounds it.
				rounded, _ := strconv.ParseFloat(strconv.FormatFloat(*v.Dec, 'f', 1, 64), 64)
				values[col] = excelize.Cell{StyleID: dec, Value: rounded}
			default:
				values[col] = v.Text
			}
		}
		if err := sw.SetRow("A"+strconv.Itoa(r+2), values); err != nil {
			return err
		}
	}
	for i, line := range notes {
		if err := sw.SetRow("A"+strconv.Itoa(len(t.Rows)+3+i), []any{line}); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// exportCSV answers GET /api/v1/stats/export.csv?table=ID with one table
// (summary, channels, units, categories, townships, stages, typical,
// definitions) as UTF-8 CSV with a byte-order mark, so Excel reads the
// Chinese headers right.
func (s *Server) exportCSV(c *gin.Context) {
	id := c.DefaultQuery("table", "summary")
	st, ok := s.loadReport(c)
	if !ok {
		return
	}
	t, found := st.Table(id)
	if !found {
		fail(c, fieldError("table", "table 应为 "+strings.Join(models.TableIDs, "、")+" 之一"))
		return
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	_ = w.Write(t.Headers)
	for _, row := range t.Rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = v.String()
		}
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionExport, Target: "stats.csv:" + t.ID, Detail: c.Request.URL.RawQuery})
	attachment(c, exportName(st)+"-"+t.ID+".csv")
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// getReport answers GET /api/v1/stats/report: the report section on tip
// handling as Markdown (the same text as `jianfu report`), with ?year=
// or ?from=&to=.
func (s *Server) getReport(c *gin.Context) {
	st, ok := s.loadReport(c)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := models.WriteReportMarkdown(&buf, st); err != nil {
		fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "text/markdown; charset=utf-8", buf.Bytes())
}

// reportPage is the console page of the report: the same paragraphs and
// tables as HTML.
type reportPage struct {
	pageBase
	Stats      *models.Stats
	Paragraphs []string
	Tables     []models.Table
	Year       int
	Query      template.URL // the period and unit of the page, for the download links
}

func (p *publicSite) reportPage(c *gin.Context) {
	st, ok := p.loadReport(c)
	if !ok {
		return
	}
	q := url.Values{}
	q.Set("from", st.FromDate())
	q.Set("to", st.ToDate())
	if st.Unit != nil {
		q.Set("unit", st.Unit.Code)
	}
	p.pages.Render(c, http.StatusOK, "report", reportPage{pageBase: pageBase{Title: st.ReportTitle()},
		Stats: st, Paragraphs: st.ReportParagraphs(), Tables: st.Tables(), Query: template.URL(q.Encode())})
}
