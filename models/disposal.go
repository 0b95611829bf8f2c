package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Disposal (处置, DESIGN §10.5): what was done to the people and units
// responsible once a tip is found substantiated — a talk, criticism, an
// accountability measure. A case may get several (one per measure or per
// decision); the statistics count the cases and add up the persons and
// units (docs/statistics.md).

// Disposal measures, from the mildest.
const (
	MeasureTalkReminder        = "talk_reminder"        // 约谈提醒
	MeasureCriticism           = "criticism"            // 批评教育
	MeasureWrittenReview       = "written_review"       // 责令检查
	MeasureCirculatedCriticism = "circulated_criticism" // 通报批评
	MeasureAdmonishment        = "admonishment"         // 诫勉
	MeasureDiscipline          = "discipline"           // 党纪政务处分
	MeasureTransfer            = "transfer"             // 移送
)

// Measures are the disposal measures in display order.
var Measures = []string{MeasureTalkReminder, MeasureCriticism, MeasureWrittenReview, MeasureCirculatedCriticism,
	MeasureAdmonishment, MeasureDiscipline, MeasureTransfer}

// MeasureNames are the zh-CN names of the measures.
var MeasureNames = map[string]string{
	MeasureTalkReminder: "约谈提醒", MeasureCriticism: "批评教育", MeasureWrittenReview: "责令检查",
	MeasureCirculatedCriticism: "通报批评", MeasureAdmonishment: "诫勉", MeasureDiscipline: "党纪政务处分",
	MeasureTransfer: "移送",
}

// EventDisposed is a disposal on the case timeline (internal).
const EventDisposed = "disposed"

// maxDisposed bounds persons and units of one disposal record.
const maxDisposed = 1000

// Disposal is one disposal record of a case.
type Disposal struct {
	ID        uint64    `gorm:"primaryKey"`
	CaseID    uint64    `gorm:"not null;index"`
	Measure   string    `gorm:"size:32;not null"`
	Persons   int       `gorm:"not null"`
	Units     int       `gorm:"not null"`
	Note      string    `gorm:"type:text;not null"`
	CreatedBy uint64    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null;index"`
}

// DisposalParams is a disposal to record.
type DisposalParams struct {
	CaseID  uint64
	Measure string
	Persons int
	Units   int
	Note    string
}

// DisposalView is a disposal as the case page shows it.
type DisposalView struct {
	ID          uint64    `json:"id"`
	Measure     string    `json:"measure"`
	MeasureName string    `json:"measure_name"`
	Persons     int       `json:"persons"`
	Units       int       `json:"units"`
	Note        string    `json:"note"`
	At          time.Time `json:"at"`
}

// CanDispose reports whether a case with finding may get disposals: only
// once it is found substantiated, wholly or partly.
func CanDispose(finding string) bool {
	return finding == FindingSubstantiated || finding == FindingPartly
}

// AddDisposal records a disposal on a case found substantiated (in
// rectify, feedback or after closing: discipline decisions often come
// late). Office and admin only; 404 for an unknown case, 403 for other
// roles, 409 before a substantiated finding, 400 for bad input.
func (s *Store) AddDisposal(ctx context.Context, p Principal, in DisposalParams) (uint64, error) {
	var id uint64
	err := s.write(ctx, func(w *txWork) error {
		c, err := lockVisibleCase(w, p, in.CaseID)
		if err != nil {
			return err
		}
		if !p.IsOffice() {
			return fmt.Errorf("dispose case %d as %s: %w", c.ID, p.Role, ErrForbidden)
		}
		if !CanDispose(c.Finding) {
			return fmt.Errorf("dispose case %d with finding %q: %w", c.ID, c.Finding, ErrWrongStage)
		}
		f := map[string]string{}
		if MeasureNames[in.Measure] == "" {
			f["measure"] = "请选择处置方式：约谈提醒、批评教育、责令检查、通报批评、诫勉、党纪政务处分或移送"
		}
		if in.Persons < 0 || in.Persons > maxDisposed {
			f["persons"] = fmt.Sprintf("处置人数应为0至%d", maxDisposed)
		}
		if in.Units < 0 || in.Units > maxDisposed {
			f["units"] = fmt.Sprintf("处置单位数应为0至%d", maxDisposed)
		}
		if in.Persons == 0 && in.Units == 0 && f["persons"] == "" && f["units"] == "" {
			f["persons"] = "请填写处置人数或处置单位数（至少一项大于0）"
		}
		note := text(f, "note", in.Note, 0, 2000, "", "处置说明过长")
		if err := fieldErrors(f); err != nil {
			return err
		}
		d := Disposal{CaseID: c.ID, Measure: in.Measure, Persons: in.Persons, Units: in.Units, Note: note,
			CreatedBy: p.UserID, CreatedAt: w.now}
		if err := w.tx.Create(&d).Error; err != nil {
			return fmt.Errorf("insert disposal of case %d: %w", c.ID, err)
		}
		id = d.ID
		body := fmt.Sprintf("处置：%s，涉及%d人、%d个单位", MeasureNames[in.Measure], in.Persons, in.Units)
		if note != "" {
			body += "。" + note
		}
		_, err = w.stageEvent(p, c, c.Stage, EventDisposed, body,
			map[string]any{"disposal_id": d.ID, "measure": d.Measure, "persons": d.Persons, "units": d.Units})
		return err
	})
	return id, err
}

// caseDisposals lists a case's disposals, oldest first.
func (s *Store) caseDisposals(ctx context.Context, caseID uint64) ([]DisposalView, error) {
	var ds []Disposal
	if err := s.db.WithContext(ctx).Where("case_id = ?", caseID).Order("id").Find(&ds).Error; err != nil {
		return nil, fmt.Errorf("load disposals of case %d: %w", caseID, err)
	}
	out := make([]DisposalView, len(ds))
	for i, d := range ds {
		out[i] = DisposalView{ID: d.ID, Measure: d.Measure, MeasureName: MeasureNames[d.Measure], Persons: d.Persons,
			Units: d.Units, Note: d.Note, At: d.CreatedAt.UTC()}
	}
	return out, nil
}

// DisposalStats are the disposal figures of a period: disposals recorded
// in it (by the time recorded), of the cases in the statistics' scope.
type DisposalStats struct {
	// Cases counts cases with at least one disposal in the period (查处…起).
	Cases int64 `json:"cases"`
	// Persons and Units add up the persons and units of those disposals
	// (问责…人, …个单位).
	Persons   int64          `json:"persons"`
	Units     int64          `json:"units"`
	Records   int64          `json:"records"`
	ByMeasure []MeasureCount `json:"by_measure"`
}

// MeasureCount is one measure's line of the disposal figures.
type MeasureCount struct {
	Measure string `json:"measure"`
	Name    string `json:"name"`
	Records int64  `json:"records"`
	Cases   int64  `json:"cases"`
	Persons int64  `json:"persons"`
	Units   int64  `json:"units"`
}

// disposalsInPeriod fills st.Disposals: disposals recorded in the period;
// with a unit, only those of cases assigned to it.
func (s *Store) disposalsInPeriod(ctx context.Context, st *Stats, args map[string]any) error {
	q := "SELECT d.measure AS measure, COUNT(*) AS records, COUNT(DISTINCT d.case_id) AS cases, " +
		"COALESCE(SUM(d.persons), 0) AS persons, COALESCE(SUM(d.units), 0) AS units " +
		"FROM disposals d JOIN cases c ON c.id = d.case_id WHERE d.created_at >= @from AND d.created_at < @to"
	if st.Unit != nil {
		q += cohortUnit
	}
	var rows []MeasureCount
	if err := s.db.WithContext(ctx).Raw(q+" GROUP BY d.measure", args).Scan(&rows).Error; err != nil {
		return fmt.Errorf("stats: count disposals: %w", err)
	}
	var cases int64
	qc := "SELECT COUNT(DISTINCT d.case_id) FROM disposals d JOIN cases c ON c.id = d.case_id " +
		"WHERE d.created_at >= @from AND d.created_at < @to"
	if st.Unit != nil {
		qc += cohortUnit
	}
	if err := s.db.WithContext(ctx).Raw(qc, args).Scan(&cases).Error; err != nil {
		return fmt.Errorf("stats: count disposed cases: %w", err)
	}
	ds := &DisposalStats{Cases: cases, ByMeasure: []MeasureCount{}}
	by := map[string]MeasureCount{}
	for _, r := range rows {
		by[r.Measure] = r
	}
	for _, m := range Measures {
		r := by[m]
		r.Measure, r.Name = m, MeasureNames[m]
		ds.Records += r.Records
		ds.Persons += r.Persons
		ds.Units += r.Units
		ds.ByMeasure = append(ds.ByMeasure, r)
	}
	st.Disposals = ds
	return nil
}

// disposalTable is the export's table of disposals by measure.
func (st *Stats) disposalTable() Table {
	t := Table{ID: "disposals", Title: "问题处置", Headers: []string{"处置方式", "标识", "记录数", "案件数", "人数", "单位数"}}
	if st.Disposals == nil {
		return t
	}
	for _, m := range st.Disposals.ByMeasure {
		t.Rows = append(t.Rows, []Cell{textCell(m.Name), textCell(m.Measure), intCell(m.Records), intCell(m.Cases),
			intCell(m.Persons), intCell(m.Units)})
	}
	d := st.Disposals
	t.Rows = append(t.Rows, []Cell{textCell("合计"), textCell("total"), intCell(d.Records), intCell(d.Cases),
		intCell(d.Persons), intCell(d.Units)})
	return t
}

// disposalParagraph is the report's sentence on disposals (查处…起、问责…人).
func (st *Stats) disposalParagraph() string {
	d := st.Disposals
	if d == nil || d.Records == 0 {
		return "期间内未记录对相关责任人和单位的处置。"
	}
	var parts []string
	for _, m := range d.ByMeasure {
		if m.Records > 0 {
			parts = append(parts, fmt.Sprintf("%s%d人次", m.Name, m.Persons))
		}
	}
	s := fmt.Sprintf("查处形式主义、官僚主义问题%d起，问责%d人、%d个单位", d.Cases, d.Persons, d.Units)
	if len(parts) > 0 {
		s += "，其中" + strings.Join(parts, "、")
	}
	return s + "。"
}
