// Package registry is the online monitoring of burdens (基层减负在线监管,
// DESIGN §10.6): the registry (备案) of documents, meetings, inspections,
// apps and work groups, yearly quotas, the warnings (智能预警) computed from
// them and from the tips, and the reduction rates (压减率) of the annual
// report. It keeps its own tables and depends on models, never the other
// way round. See docs/monitoring.md.
package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"jianfu/models"
)

// Kinds of registry entries; the names are the URL segments of DESIGN §10.6.
const (
	KindDocuments   = "documents"
	KindMeetings    = "meetings"
	KindInspections = "inspections"
	KindApps        = "apps"
	KindGroups      = "groups"
)

// Kinds lists every kind in display order.
var Kinds = []string{KindDocuments, KindMeetings, KindInspections, KindApps, KindGroups}

// KindNames are the zh-CN names of the kinds.
var KindNames = map[string]string{
	KindDocuments: "发文", KindMeetings: "会议", KindInspections: "督查检查考核",
	KindApps: "政务APP", KindGroups: "工作群",
}

// Levels of documents and meetings: who issued or convened them.
const (
	LevelCounty     = "county"     // 县委、县政府及“两办”/全县性
	LevelDepartment = "department" // 县直部门
	LevelTownship   = "township"   // 乡镇（街道）
)

// LevelNames are the zh-CN names of the levels.
var LevelNames = map[string]string{LevelCounty: "县级（全县性）", LevelDepartment: "县直部门", LevelTownship: "乡镇（街道）"}

// Statuses of apps and work groups.
const (
	StatusActive = "active"
	StatusClosed = "closed" // 关停 / 解散
	StatusMerged = "merged" // 整合
)

// StatusNames are the zh-CN names of the statuses.
var StatusNames = map[string]string{StatusActive: "在用", StatusClosed: "已关停/解散", StatusMerged: "已整合"}

// Demands an app or a work group may make of grassroots cadres; each is
// forbidden (严禁强制推广、打卡签到、积分排名) and raises a warning.
const (
	DemandCheckin    = "checkin"
	DemandRanking    = "ranking"
	DemandScreenshot = "screenshot"
)

// DemandNames are the zh-CN names of the demands.
var DemandNames = map[string]string{DemandCheckin: "打卡签到", DemandRanking: "积分排名", DemandScreenshot: "截图留痕"}

var demandOrder = []string{DemandCheckin, DemandRanking, DemandScreenshot}

// Entry is one registered document, meeting, inspection, app or group.
// The columns are shared by the kinds; each kind uses its own (see
// EntryInput) and leaves the others empty.
type Entry struct {
	ID     uint64 `gorm:"primaryKey"`
	Kind   string `gorm:"size:16;not null"`
	UnitID uint64 `gorm:"not null"`
	Number string `gorm:"size:64;not null"`  // documents: 文号
	Title  string `gorm:"size:200;not null"` // documents, meetings, inspections: title; apps and groups: name
	Level  string `gorm:"size:16;not null"`  // documents and meetings
	// StartsOn is the day that places the entry in a year: issued_on,
	// held_on, start_on, or the day an app or group was registered.
	StartsOn string `gorm:"size:10;not null"`
	// EndsOn is an inspection's last day, or the day an app or group was
	// closed or merged; "" otherwise.
	EndsOn    string    `gorm:"size:10;not null"`
	Minutes   int       `gorm:"not null"`
	Video     bool      `gorm:"not null"`
	Targets   string    `gorm:"size:500;not null"`
	Planned   bool      `gorm:"not null"`
	Merged    bool      `gorm:"not null"`
	Owner     string    `gorm:"size:100;not null"`
	Status    string    `gorm:"size:16;not null"`
	Demands   string    `gorm:"size:64;not null"` // comma-separated Demand* values
	CreatedBy uint64    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// TableName is "registry_entries".
func (Entry) TableName() string { return "registry_entries" }

// DemandList splits Demands.
func (e Entry) DemandList() []string {
	if e.Demands == "" {
		return nil
	}
	return strings.Split(e.Demands, ",")
}

// Quota is a yearly limit of one kind for one unit (Scope = its code) or
// for the county (Scope = ScopeCounty), either a count (MaxCount) or, for
// the county, a reduction against the previous year (ReductionPct).
type Quota struct {
	ID           uint64 `gorm:"primaryKey"`
	Year         int    `gorm:"not null"`
	Kind         string `gorm:"size:16;not null"`
	Scope        string `gorm:"size:32;not null"`
	UnitID       *uint64
	MaxCount     int       `gorm:"not null"`
	ReductionPct int       `gorm:"not null"`
	CreatedAt    time.Time `gorm:"not null"`
}

// TableName is "registry_quotas".
func (Quota) TableName() string { return "registry_quotas" }

// ScopeCounty is the scope of a county-wide quota.
const ScopeCounty = "county"

// QuotaKinds are the kinds a quota may limit.
var QuotaKinds = []string{KindDocuments, KindMeetings, KindInspections}

// Models lists the package's tables, for schema checks.
func Models() []any { return []any{&Entry{}, &Quota{}} }

// Store is the registry's access to the database, over the core store
// (its connection, clock and calendar).
type Store struct {
	core *models.Store
}

// New wraps the core store.
func New(core *models.Store) *Store { return &Store{core: core} }

func (s *Store) db(ctx context.Context) *gorm.DB { return s.core.DB(ctx) }

// EntryInput is a registration as the API and the import receive it. Each
// kind reads its own fields (DESIGN §10.6).
type EntryInput struct {
	Unit string `json:"unit"` // unit code; the office names it, a liaison's own is used
	// documents
	Number   string `json:"number"`
	Title    string `json:"title"`
	Level    string `json:"level"`
	IssuedOn string `json:"issued_on"`
	// meetings (also Title, Level)
	HeldOn  string `json:"held_on"`
	Minutes int    `json:"minutes"`
	Video   bool   `json:"video"`
	// inspections (also Title)
	StartOn string `json:"start_on"`
	EndOn   string `json:"end_on"`
	Targets string `json:"targets"`
	Planned bool   `json:"planned"`
	Merged  bool   `json:"merged"`
	// apps and groups
	Name         string   `json:"name"`
	Owner        string   `json:"owner"`
	Status       string   `json:"status"`
	Demands      []string `json:"demands"`
	RegisteredOn string   `json:"registered_on"` // default: today
	ClosedOn     string   `json:"closed_on"`     // closed or merged: default today
}

// ValidKind reports whether kind is one of Kinds.
func ValidKind(kind string) bool { return slices.Contains(Kinds, kind) }

// entryOf validates in for kind and builds the row (without unit and
// author); field errors are zh-CN and name the field.
func entryOf(kind string, in EntryInput, today string) (Entry, map[string]string) {
	f := map[string]string{}
	e := Entry{Kind: kind}
	text := func(field, v string, max int, required bool) string {
		v = strings.TrimSpace(v)
		switch {
		case required && v == "":
			f[field] = field + " 不能为空"
		case utf8.RuneCountInString(v) > max:
			f[field] = fmt.Sprintf("%s 不能超过%d个字", field, max)
		default:
			if m := models.TextProblem(field, v, false); m != "" {
				f[field] = m
			}
		}
		return v
	}
	date := func(field, v string, required bool) string {
		v = strings.TrimSpace(v)
		if v == "" {
			if required {
				f[field] = field + " 不能为空，格式为 2026-03-01"
			}
			return ""
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil || t.Year() < 2000 || t.Year() > 2100 {
			f[field] = field + " 应为 2000–2100 年间的日期，格式为 2026-03-01"
			return ""
		}
		return v
	}
	level := func(v string) string {
		if _, ok := LevelNames[v]; !ok {
			f["level"] = "level 应为 county（县级）、department（县直部门）或 township（乡镇）"
		}
		return v
	}
	switch kind {
	case KindDocuments:
		e.Number = text("number", in.Number, 64, true)
		e.Title = text("title", in.Title, 200, true)
		e.Level = level(in.Level)
		e.StartsOn = date("issued_on", in.IssuedOn, true)
	case KindMeetings:
		e.Title = text("title", in.Title, 200, true)
		e.Level = level(in.Level)
		e.StartsOn = date("held_on", in.HeldOn, true)
		if in.Minutes < 1 || in.Minutes > 24*60 {
			f["minutes"] = "minutes 应为会议时长（分钟），1–1440"
		}
		e.Minutes, e.Video = in.Minutes, in.Video
	case KindInspections:
		e.Title = text("title", in.Title, 200, true)
		e.StartsOn = date("start_on", in.StartOn, true)
		e.EndsOn = date("end_on", in.EndOn, true)
		if e.StartsOn != "" && e.EndsOn != "" && e.EndsOn < e.StartsOn {
			f["end_on"] = "end_on 不能早于 start_on"
		}
		e.Targets = text("targets", in.Targets, 500, false)
		e.Planned, e.Merged = in.Planned, in.Merged
	case KindApps, KindGroups:
		e.Title = text("name", in.Name, 200, true)
		e.Owner = text("owner", in.Owner, 100, true)
		e.Status = in.Status
		if e.Status == "" {
			e.Status = StatusActive
		}
		if _, ok := StatusNames[e.Status]; !ok {
			f["status"] = "status 应为 active（在用）、closed（关停/解散）或 merged（整合）"
		}
		seen := map[string]bool{}
		for _, d := range in.Demands {
			if _, ok := DemandNames[d]; !ok {
				f["demands"] = "demands 只能包含 checkin（打卡签到）、ranking（积分排名）、screenshot（截图留痕）"
				break
			}
			seen[d] = true
		}
		var ds []string
		for _, d := range demandOrder {
			if seen[d] {
				ds = append(ds, d)
			}
		}
		e.Demands = strings.Join(ds, ",")
		e.StartsOn = date("registered_on", in.RegisteredOn, false)
		if e.StartsOn == "" {
			e.StartsOn = today
		}
		if e.Status != StatusActive {
			e.EndsOn = date("closed_on", in.ClosedOn, false)
			if e.EndsOn == "" {
				e.EndsOn = today
			}
		} else if strings.TrimSpace(in.ClosedOn) != "" {
			f["closed_on"] = "在用的平台不能填写 closed_on"
		}
	default:
		f["kind"] = "kind 应为 documents、meetings、inspections、apps 或 groups"
	}
	return e, f
}

// unitFor decides the unit of a registration: a liaison registers for
// their own unit (naming another is 403), the office and the admin for the
// unit they name; other roles may not register.
func (s *Store) unitFor(ctx context.Context, p models.Principal, code string) (models.Unit, error) {
	switch {
	case p.Role == models.RoleLiaison:
		if p.UnitID == nil {
			return models.Unit{}, models.ErrForbidden
		}
		if code != "" && code != p.UnitCode {
			return models.Unit{}, fmt.Errorf("register for unit %s: %w", code, models.ErrForbidden)
		}
		code = p.UnitCode
	case p.IsOffice():
		if strings.TrimSpace(code) == "" {
			return models.Unit{}, &models.ValidationError{Fields: map[string]string{"unit": "unit 不能为空：请填写备案单位的代码"}}
		}
	default:
		return models.Unit{}, models.ErrForbidden
	}
	var u models.Unit
	err := s.db(ctx).Where("code = ?", code).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, &models.ValidationError{Fields: map[string]string{"unit": "unit 不是已登记的单位代码：" + code}}
	}
	if err != nil {
		return u, fmt.Errorf("load unit %s: %w", code, err)
	}
	return u, nil
}

// today is the store's current day in Asia/Shanghai.
func (s *Store) today() string { return s.core.Now().In(models.Shanghai()).Format("2006-01-02") }

// Create registers one entry of kind for the caller.
func (s *Store) Create(ctx context.Context, p models.Principal, kind string, in EntryInput) (Entry, error) {
	if !ValidKind(kind) {
		return Entry{}, fmt.Errorf("registry kind %q: %w", kind, models.ErrNotFound)
	}
	u, err := s.unitFor(ctx, p, in.Unit)
	if err != nil {
		return Entry{}, err
	}
	e, f := entryOf(kind, in, s.today())
	if len(f) > 0 {
		return Entry{}, &models.ValidationError{Fields: f}
	}
	e.UnitID, e.CreatedBy, e.CreatedAt = u.ID, p.UserID, s.core.Now()
	if err := s.db(ctx).Create(&e).Error; err != nil {
		return Entry{}, fmt.Errorf("register %s: %w", kind, err)
	}
	return e, nil
}

// EntryView is an entry as the API and the console show it.
type EntryView struct {
	Entry
	UnitCode string
	UnitName string
}

// ListParams filters List.
type ListParams struct {
	Kind   string
	Unit   string // unit code; a liaison always sees only their own
	Year   int    // 0: every year
	Status string // apps and groups
	Demand bool   // only apps and groups that demand something
	Limit  int    // default and maximum 500
}

// List returns the entries of one kind, newest first. A liaison sees their
// own unit's; the office, the admin and leaders see every unit's.
func (s *Store) List(ctx context.Context, p models.Principal, lp ListParams) ([]EntryView, error) {
	if !ValidKind(lp.Kind) {
		return nil, fmt.Errorf("registry kind %q: %w", lp.Kind, models.ErrNotFound)
	}
	q := s.db(ctx).Table("registry_entries AS e").Joins("JOIN units u ON u.id = e.unit_id").
		Select("e.*, u.code AS unit_code, u.name AS unit_name").Where("e.kind = ?", lp.Kind)
	switch {
	case p.Role == models.RoleLiaison:
		if p.UnitID == nil {
			return nil, models.ErrForbidden
		}
		q = q.Where("e.unit_id = ?", *p.UnitID)
	case p.IsOffice() || p.Role == models.RoleLeader:
		if lp.Unit != "" {
			q = q.Where("u.code = ?", lp.Unit)
		}
	default:
		return nil, models.ErrForbidden
	}
	if lp.Year != 0 {
		q = q.Where("e.starts_on BETWEEN ? AND ?", fmt.Sprintf("%04d-01-01", lp.Year), fmt.Sprintf("%04d-12-31", lp.Year))
	}
	if lp.Status != "" {
		q = q.Where("e.status = ?", lp.Status)
	}
	if lp.Demand {
		q = q.Where("e.demands <> ''")
	}
	if lp.Limit <= 0 || lp.Limit > 500 {
		lp.Limit = 500
	}
	var out []EntryView
	if err := q.Order("e.starts_on DESC, e.id DESC").Limit(lp.Limit).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("list %s: %w", lp.Kind, err)
	}
	return out, nil
}

// Get returns one entry as List shows it, to whoever List would show it.
func (s *Store) Get(ctx context.Context, p models.Principal, id uint64) (EntryView, error) {
	var out []EntryView
	q := s.db(ctx).Table("registry_entries AS e").Joins("JOIN units u ON u.id = e.unit_id").
		Select("e.*, u.code AS unit_code, u.name AS unit_name").Where("e.id = ?", id)
	switch {
	case p.Role == models.RoleLiaison && p.UnitID != nil:
		q = q.Where("e.unit_id = ?", *p.UnitID)
	case p.IsOffice() || p.Role == models.RoleLeader:
	default:
		return EntryView{}, models.ErrForbidden
	}
	if err := q.Limit(1).Scan(&out).Error; err != nil {
		return EntryView{}, fmt.Errorf("load registry entry %d: %w", id, err)
	}
	if len(out) == 0 {
		return EntryView{}, fmt.Errorf("registry entry %d: %w", id, models.ErrNotFound)
	}
	return out[0], nil
}

// StatusInput closes, merges or reopens an app or a group.
type StatusInput struct {
	Status   string `json:"status"`
	ClosedOn string `json:"closed_on"` // closed or merged: default today
}

// SetStatus changes an app's or a group's status (关停、整合、解散): a
// liaison for their own unit's entries, the office for any. Other kinds
// keep what was registered.
func (s *Store) SetStatus(ctx context.Context, p models.Principal, kind string, id uint64, in StatusInput) (EntryView, error) {
	if kind != KindApps && kind != KindGroups {
		return EntryView{}, fmt.Errorf("registry kind %q has no status: %w", kind, models.ErrNotFound)
	}
	if p.Role != models.RoleLiaison && !p.IsOffice() {
		return EntryView{}, models.ErrForbidden
	}
	e, err := s.Get(ctx, p, id)
	if err != nil {
		return EntryView{}, err
	}
	if e.Kind != kind {
		return EntryView{}, fmt.Errorf("registry entry %d: %w", id, models.ErrNotFound)
	}
	if _, ok := StatusNames[in.Status]; !ok {
		return EntryView{}, &models.ValidationError{Fields: map[string]string{"status": "status 应为 active（在用）、closed（关停/解散）或 merged（整合）"}}
	}
	endsOn := ""
	if in.Status != StatusActive {
		endsOn = strings.TrimSpace(in.ClosedOn)
		if endsOn == "" {
			endsOn = s.today()
		}
		t, err := time.Parse("2006-01-02", endsOn)
		if err != nil || t.Year() < 2000 || t.Year() > 2100 || endsOn < e.StartsOn {
			return EntryView{}, &models.ValidationError{Fields: map[string]string{"closed_on": "closed_on 应为不早于备案日期的日期，格式为 2026-03-01"}}
		}
	} else if strings.TrimSpace(in.ClosedOn) != "" {
		return EntryView{}, &models.ValidationError{Fields: map[string]string{"closed_on": "在用的平台不能填写 closed_on"}}
	}
	err = s.db(ctx).Model(&Entry{}).Where("id = ?", id).Updates(map[string]any{"status": in.Status, "ends_on": endsOn}).Error
	if err != nil {
		return EntryView{}, fmt.Errorf("set status of registry entry %d: %w", id, err)
	}
	return s.Get(ctx, p, id)
}
