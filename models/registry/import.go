package registry

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"jianfu/models"
)

// Import limits, checked while reading so that a hostile file costs little:
// the API bounds the upload (MaxImportBytes) before parsing, the reader
// stops after MaxImportRows rows, and excelize unzips at most
// maxImportUnzip bytes.
const (
	MaxImportBytes = 5 << 20
	MaxImportRows  = 2000
	maxImportUnzip = 50 << 20
	maxImportCols  = 30
)

// ErrImportFormat: the file is neither a readable CSV nor xlsx.
var ErrImportFormat = errors.New("import: not a CSV or xlsx file")

// ErrTooManyRows: the file has more rows than MaxImportRows.
var ErrTooManyRows = fmt.Errorf("import: more than %d rows", MaxImportRows)

// RowError is one refused row of an import: its line in the file (the
// header is line 1) and why, per column.
type RowError struct {
	Line   int               `json:"line"`
	Fields map[string]string `json:"fields"`
}

// ImportReport says what an import did or, with DryRun or any refused row,
// would do: every row is checked, and a file with one bad row stores none.
type ImportReport struct {
	Kind     string     `json:"kind"`
	Rows     int        `json:"rows"`     // data rows read
	Accepted int        `json:"accepted"` // rows that passed the checks
	Refused  []RowError `json:"refused"`
	Stored   int        `json:"stored"` // rows written (0 unless every row passed and it was not a dry run)
	Preview  []Entry    `json:"-"`      // the checked rows, for the console's preview
}

// ImportParams is one import.
type ImportParams struct {
	Kind string
	// Data is the whole file, already bounded by the caller.
	Data   []byte
	DryRun bool
}

// columns maps the headers an import accepts, the API's field names and
// the county office systems' zh-CN headers, to EntryInput fields.
var columns = map[string]string{
	"unit": "unit", "单位": "unit", "单位代码": "unit", "备案单位": "unit",
	"number": "number", "文号": "number",
	"title": "title", "标题": "title", "名称": "name", "会议名称": "title", "事项名称": "title", "文件标题": "title",
	"level": "level", "级别": "level", "层级": "level",
	"issued_on": "issued_on", "发文日期": "issued_on", "印发日期": "issued_on",
	"held_on": "held_on", "会议日期": "held_on", "召开日期": "held_on",
	"minutes": "minutes", "时长": "minutes", "时长（分钟）": "minutes", "时长(分钟)": "minutes",
	"video": "video", "视频会议": "video", "是否视频": "video",
	"start_on": "start_on", "开始日期": "start_on",
	"end_on": "end_on", "结束日期": "end_on",
	"targets": "targets", "对象": "targets", "检查对象": "targets",
	"planned": "planned", "计划内": "planned", "是否计划内": "planned",
	"merged": "merged", "合并": "merged", "多合一": "merged", "是否合并": "merged",
	"name":  "name",
	"owner": "owner", "主管单位": "owner", "管理单位": "owner",
	"status": "status", "状态": "status",
	"demands": "demands", "要求": "demands",
	"registered_on": "registered_on", "备案日期": "registered_on",
	"closed_on": "closed_on", "关停日期": "closed_on", "撤销日期": "closed_on",
}

// zh-CN spellings of enumerated values in office exports.
var valueAliases = map[string]string{
	"县级": LevelCounty, "全县性": LevelCounty, "县委县政府": LevelCounty, "县直部门": LevelDepartment, "部门": LevelDepartment,
	"乡镇": LevelTownship, "乡镇（街道）": LevelTownship, "街道": LevelTownship,
	"在用": StatusActive, "关停": StatusClosed, "解散": StatusClosed, "已关停": StatusClosed, "已解散": StatusClosed,
	"整合": StatusMerged, "已整合": StatusMerged,
	"打卡": DemandCheckin, "打卡签到": DemandCheckin, "排名": DemandRanking, "积分排名": DemandRanking,
	"截图": DemandScreenshot, "截图留痕": DemandScreenshot,
}

// Import checks every row of a CSV or xlsx file and, when all pass and it
// is not a dry run, stores them in one transaction: nothing is ever half
// imported. A liaison's rows all belong to their own unit.
func (s *Store) Import(ctx context.Context, p models.Principal, ip ImportParams) (ImportReport, error) {
	rep := ImportReport{Kind: ip.Kind, Refused: []RowError{}}
	if !ValidKind(ip.Kind) {
		return rep, fmt.Errorf("registry kind %q: %w", ip.Kind, models.ErrNotFound)
	}
	if p.Role != models.RoleLiaison && !p.IsOffice() {
		return rep, models.ErrForbidden
	}
	if len(ip.Data) > MaxImportBytes {
		return rep, &models.ValidationError{Fields: map[string]string{"file": fmt.Sprintf("文件不能超过%d MB", MaxImportBytes>>20)}}
	}
	rows, err := readRows(ip.Data)
	if err != nil {
		return rep, err
	}
	if len(rows) < 2 {
		return rep, &models.ValidationError{Fields: map[string]string{"file": "文件没有数据行：第1行应为表头，第2行起为数据"}}
	}
	head := make([]string, len(rows[0]))
	var unknown []string
	for i, h := range rows[0] {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if f, ok := columns[h]; ok {
			head[i] = f
		} else if h != "" {
			unknown = append(unknown, h)
		}
	}
	if len(unknown) > 0 {
		return rep, &models.ValidationError{Fields: map[string]string{"file": "无法识别的表头：" + strings.Join(unknown, "、")}}
	}
	today := s.today()
	units := map[string]models.Unit{}
	var entries []Entry
	for n, row := range rows[1:] {
		line := n + 2
		if blank(row) {
			continue
		}
		rep.Rows++
		in, f := inputOf(head, row)
		u, ok := units[in.Unit]
		if !ok {
			u, err = s.unitFor(ctx, p, in.Unit)
			var ve *models.ValidationError
			switch {
			case errors.As(err, &ve):
				merge(f, ve.Fields)
			case errors.Is(err, models.ErrForbidden):
				merge(f, map[string]string{"unit": "只能为本单位备案：" + in.Unit})
			case err != nil:
				return rep, err
			default:
				units[in.Unit] = u
			}
		}
		e, ef := entryOf(ip.Kind, in, today)
		merge(f, ef)
		if len(f) == 0 {
			e.UnitID, e.CreatedBy = u.ID, p.UserID
			entries = append(entries, e)
		}
		if len(f) > 0 {
			rep.Refused = append(rep.Refused, RowError{Line: line, Fields: f})
		}
	}
	rep.Accepted, rep.Preview = len(entries), entries
	if rep.Rows == 0 {
		return rep, &models.ValidationError{Fields: map[string]string{"file": "文件没有数据行：第1行应为表头，第2行起为数据"}}
	}
	if ip.DryRun || len(rep.Refused) > 0 {
		return rep, nil
	}
	now := s.core.Now()
	for i := range entries {
		entries[i].CreatedAt = now
	}
	err = s.db(ctx).Transaction(func(tx *gorm.DB) error {
		return tx.CreateInBatches(entries, 200).Error
	})
	if err != nil {
		return rep, fmt.Errorf("import %d %s: %w", len(entries), ip.Kind, err)
	}
	rep.Stored = len(entries)
	return rep, nil
}

// merge adds the field errors of from that to does not have yet.
func merge(to, from map[string]string) {
	for k, v := range from {
		if _, ok := to[k]; !ok {
			to[k] = v
		}
	}
}

func blank(row []string) bool {
	for _, c := range row {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// readRows reads an xlsx (by its zip signature) or a UTF-8 CSV, at most
// MaxImportRows data rows and maxImportCols columns.
func readRows(data []byte) ([][]string, error) {
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		return readXLSX(data)
	}
	if !isText(data) {
		return nil, ErrImportFormat
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, &models.ValidationError{Fields: map[string]string{"file": "CSV 格式有误：" + err.Error()}}
		}
		if len(rows) > MaxImportRows {
			return nil, ErrTooManyRows
		}
		if len(rec) > maxImportCols {
			return nil, &models.ValidationError{Fields: map[string]string{"file": fmt.Sprintf("列数不能超过%d", maxImportCols)}}
		}
		rows = append(rows, rec)
	}
}

func isText(data []byte) bool {
	return !bytes.ContainsRune(data, 0) && (len(data) == 0 || strings.ToValidUTF8(string(data), "\ufffd") == string(data))
}

func readXLSX(data []byte) ([][]string, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxImportUnzip, UnzipXMLSizeLimit: maxImportUnzip})
	if err != nil {
		return nil, ErrImportFormat
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, ErrImportFormat
	}
	it, err := f.Rows(sheets[0])
	if err != nil {
		return nil, ErrImportFormat
	}
	defer it.Close()
	var rows [][]string
	for it.Next() {
		if len(rows) > MaxImportRows {
			return nil, ErrTooManyRows
		}
		cols, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, ErrImportFormat
		}
		if len(cols) > maxImportCols {
			return nil, &models.ValidationError{Fields: map[string]string{"file": fmt.Sprintf("列数不能超过%d", maxImportCols)}}
		}
		rows = append(rows, cols)
	}
	return rows, it.Error()
}

// inputOf turns one row into an EntryInput; cells that cannot be read
// (a number, a yes/no) are field errors named by their column.
func inputOf(head, row []string) (EntryInput, map[string]string) {
	var in EntryInput
	f := map[string]string{}
	for i, raw := range row {
		if i >= len(head) || head[i] == "" {
			continue
		}
		v := strings.TrimSpace(raw)
		if a, ok := valueAliases[v]; ok {
			v = a
		}
		col := head[i]
		switch col {
		case "unit":
			in.Unit = v
		case "number":
			in.Number = v
		case "title":
			in.Title = v
		case "name":
			in.Name = v
		case "level":
			in.Level = v
		case "owner":
			in.Owner = v
		case "status":
			in.Status = v
		case "targets":
			in.Targets = v
		case "issued_on", "held_on", "start_on", "end_on", "registered_on", "closed_on":
			d, ok := cellDate(v)
			if !ok {
				f[col] = col + " 应为日期，如 2026-03-01"
			}
			switch col {
			case "issued_on":
				in.IssuedOn = d
			case "held_on":
				in.HeldOn = d
			case "start_on":
				in.StartOn = d
			case "end_on":
				in.EndOn = d
			case "registered_on":
				in.RegisteredOn = d
			case "closed_on":
				in.ClosedOn = d
			}
		case "minutes":
			n, err := strconv.Atoi(v)
			if err != nil {
				f[col] = "minutes 应为整数（分钟）"
			}
			in.Minutes = n
		case "video", "planned", "merged":
			b, ok := cellBool(v)
			if !ok {
				f[col] = col + " 应为 是/否"
			}
			switch col {
			case "video":
				in.Video = b
			case "planned":
				in.Planned = b
			case "merged":
				in.Merged = b
			}
		case "demands":
			for _, d := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == ' ' }) {
				if a, ok := valueAliases[d]; ok {
					d = a
				}
				in.Demands = append(in.Demands, d)
			}
		}
	}
	return in, f
}

// cellDate reads 2026-03-01, 2026/3/1, 2026年3月1日 or an Excel serial day.
func cellDate(v string) (string, bool) {
	if v == "" {
		return "", true
	}
	for _, layout := range []string{"2006-01-02", "2006/1/2", "2006-1-2", "2006年1月2日", "2006.1.2"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n > 36526 && n < 73051 { // 2000-01-01 .. 2100-01-01
		t, err := excelize.ExcelDateToTime(n, false)
		if err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

func cellBool(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "", "否", "0", "false", "no", "n":
		return false, true
	case "是", "1", "true", "yes", "y":
		return true, true
	}
	return false, false
}
