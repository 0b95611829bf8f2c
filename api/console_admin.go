package api

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"jianfu/attach"
	"jianfu/models"
	"jianfu/models/audit"
)

// The administration pages (admin role): users, units, categories, routing
// rules, the holiday calendar and the deadlines in force. Each form calls
// the store method of its /api/v1/admin endpoint (api/admin.go).

type adminPageData struct {
	consolePage
	Section    string
	Form       formState
	Users      []models.UserRow
	Units      []models.Unit
	Categories []models.Category
	Rules      []models.RoutingRuleView
	Year       int
	Years      []int
	Holidays   []models.Holiday
	DaysText   string
	Deadlines  []deadlineRow
	Setting    string
	CalYears   []int
	// Names of category and unit codes, for the routing rules.
	CategoryNames, UnitNames map[string]string
}

type deadlineRow struct{ Name, Clock string }

var adminTitles = map[string]string{
	"users": "用户管理", "units": "单位管理", "categories": "问题类别", "rules": "智能分办规则",
	"holidays": "节假日安排", "deadlines": "办理时限",
}

// adminPage renders section with what it lists, and a refused form again.
func (con *console) adminPage(c *gin.Context, status int, section string, form formState) {
	ctx := c.Request.Context()
	d := adminPageData{consolePage: con.page(c, adminTitles[section], "admin"), Section: section, Form: form}
	if form.Error != "" {
		d.Error = form.Error
	}
	var err error
	switch section {
	case "users":
		if d.Users, err = con.Store.Users(ctx); err == nil {
			d.Units, err = con.Store.AllUnits(ctx)
		}
	case "units":
		d.Units, err = con.Store.AllUnits(ctx)
	case "categories":
		d.Categories, err = con.Store.AllCategories(ctx)
	case "rules":
		if d.Rules, err = con.Store.RoutingRules(ctx); err == nil {
			if d.Units, err = con.Store.AllUnits(ctx); err == nil {
				d.Categories, err = con.Store.AllCategories(ctx)
			}
			d.UnitNames, d.CategoryNames = unitNames(d.Units), map[string]string{}
			for _, k := range d.Categories {
				d.CategoryNames[k.Code] = k.Name
			}
		}
	case "holidays":
		d.Year = con.Store.Now().In(models.Shanghai()).Year()
		if y, perr := strconv.Atoi(c.Param("year")); perr == nil {
			d.Year = y
		} else if y, perr := strconv.Atoi(c.Query("year")); perr == nil && y >= 2000 && y <= 2100 {
			d.Year = y
		}
		d.CalYears = con.Store.Calendar().Years()
		d.Years = slices.Clone(d.CalYears)
		for _, y := range []int{d.Year - 1, d.Year, d.Year + 1} {
			if !slices.Contains(d.Years, y) {
				d.Years = append(d.Years, y)
			}
		}
		slices.Sort(d.Years)
		if d.Holidays, err = con.Store.Holidays(ctx, d.Year); err == nil {
			d.DaysText = holidaysText(d.Holidays)
		}
		if form.Is("holidays", 0) {
			d.DaysText = form.Values.Get("days")
		}
	case "deadlines":
		dl := con.Store.Deadlines()
		d.Setting = dl.String()
		d.CalYears = con.Store.Calendar().Years()
		for _, r := range []struct {
			name string
			c    models.Clock
		}{{"线索收集（受理）", dl.Collect}, {"快速分办", dl.Assign}, {"联合核查", dl.Verify},
			{"督促整改（每个承办单位）", dl.Rectify}, {"反馈评估（答复举报人）", dl.Feedback},
			{"举报人评价期限", dl.Evaluation}, {"逾期后提请督办", dl.Escalation}} {
			d.Deadlines = append(d.Deadlines, deadlineRow{r.name, r.c.String()})
		}
	}
	if err != nil {
		fail(c, err)
		return
	}
	con.render(c, status, "admin_"+section, d)
}

func (con *console) adminSection(section string) gin.HandlerFunc {
	return func(c *gin.Context) { con.adminPage(c, http.StatusOK, section, formState{}) }
}

// adminForm runs one administration form: 303 back to the section on
// success, the section again with the form as typed on an input error.
func (con *console) adminForm(section, action string, run func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := run(c)
		if err == nil {
			con.audit(c, adminFormEntry(c, section, action))
			target := "/console/admin/" + section
			if section == "holidays" {
				target += "?year=" + c.Param("year")
				c.Redirect(http.StatusSeeOther, target+"&done="+action)
				return
			}
			c.Redirect(http.StatusSeeOther, target+"?done="+action)
			return
		}
		form := formState{Action: action, Values: c.Request.PostForm}
		var ve *models.ValidationError
		switch {
		case errors.As(err, &ve):
			form.Fields, form.Error = ve.Fields, "未能保存："+firstMessage(ve.Fields)
			con.adminPage(c, http.StatusBadRequest, section, form)
		case errors.Is(err, models.ErrNotFound) && action == "reset":
			form.Fields = map[string]string{"username": "没有这个用户"}
			form.Error = "未能重置：没有这个用户"
			con.adminPage(c, http.StatusBadRequest, section, form)
		default:
			fail(c, err)
		}
	}
}

// adminFormEntry is the audit row of a saved administration form.
func adminFormEntry(c *gin.Context, section, action string) audit.Entry {
	first := func(vs ...string) string {
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
		return "new"
	}
	switch section {
	case "users":
		if action == "reset" {
			return audit.Entry{Action: audit.ActionPasswordReset, Target: "user:" + c.PostForm("username")}
		}
		return audit.Entry{Action: audit.ActionUserCreate, Target: "user:" + strings.TrimSpace(c.PostForm("username")),
			Detail: "role=" + c.PostForm("role")}
	case "units":
		return audit.Entry{Action: audit.ActionUnitChange, Target: "unit:" + first(c.Param("code"), c.PostForm("code"))}
	case "categories":
		return audit.Entry{Action: audit.ActionCategoryChange, Target: "category:" + c.PostForm("code")}
	case "rules":
		return audit.Entry{Action: audit.ActionRuleChange, Target: "rule:" + first(c.Param("id")), Detail: action}
	case "holidays":
		return audit.Entry{Action: audit.ActionHolidayChange, Target: "holidays:" + c.Param("year")}
	}
	return audit.Entry{Action: section + "_change", Target: action}
}

func (con *console) adminCreateUser() gin.HandlerFunc {
	return con.adminForm("users", "user", func(c *gin.Context) error {
		if err := con.touchesAuditor(c, "", c.PostForm("role")); err != nil {
			return err
		}
		_, err := con.Store.CreateUser(c.Request.Context(), models.UserParams{Username: strings.TrimSpace(c.PostForm("username")),
			Password: c.PostForm("password"), Role: c.PostForm("role"), UnitCode: c.PostForm("unit"),
			Email: strings.TrimSpace(c.PostForm("email")), MustChangePassword: true})
		return err
	})
}

func (con *console) adminResetPassword() gin.HandlerFunc {
	return con.adminForm("users", "reset", func(c *gin.Context) error {
		if err := con.touchesAuditor(c, c.PostForm("username"), ""); err != nil {
			return err
		}
		return con.Store.ResetPassword(c.Request.Context(), c.PostForm("username"), c.PostForm("password"))
	})
}

func (con *console) adminCreateUnit() gin.HandlerFunc {
	return con.adminForm("units", "unit", func(c *gin.Context) error {
		_, err := con.Store.AddUnit(c.Request.Context(), models.UnitParams{Code: c.PostForm("code"),
			Name: c.PostForm("name"), Kind: c.PostForm("kind")})
		return err
	})
}

// adminUpdateUnit renames a unit or switches it on or off.
func (con *console) adminUpdateUnit() gin.HandlerFunc {
	return con.adminForm("units", "unit", func(c *gin.Context) error {
		var upd models.UnitUpdate
		if name, ok := c.GetPostForm("name"); ok {
			upd.Name = &name
		}
		if v, ok := c.GetPostForm("active"); ok {
			active := v == "1"
			upd.Active = &active
		}
		_, err := con.Store.UpdateUnit(c.Request.Context(), c.Param("code"), upd)
		return err
	})
}

func (con *console) adminCreateCategory() gin.HandlerFunc {
	return con.adminForm("categories", "category", func(c *gin.Context) error {
		sort := 0
		if v := strings.TrimSpace(c.PostForm("sort")); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return &models.ValidationError{Fields: map[string]string{"sort": "排序应为整数"}}
			}
			sort = n
		}
		_, err := con.Store.AddCategory(c.Request.Context(), models.CategoryParams{Code: c.PostForm("code"),
			Name: c.PostForm("name"), Description: c.PostForm("description"), Example: c.PostForm("example"), Sort: sort})
		return err
	})
}

// ruleParams reads a routing rule form.
func ruleParams(c *gin.Context) (models.RoutingRuleParams, error) {
	p := models.RoutingRuleParams{Category: c.PostForm("category"), Township: c.PostForm("township"),
		Keyword: c.PostForm("keyword"), Unit: c.PostForm("unit"), Role: c.PostForm("role")}
	if v := strings.TrimSpace(c.PostForm("priority")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, &models.ValidationError{Fields: map[string]string{"priority": "优先级应为整数"}}
		}
		p.Priority = n
	}
	active := c.PostForm("active") != "0"
	p.Active = &active
	p.Auto = c.PostForm("auto") == "1"
	return p, nil
}

func (con *console) adminCreateRule() gin.HandlerFunc {
	return con.adminForm("rules", "rule", func(c *gin.Context) error {
		p, err := ruleParams(c)
		if err != nil {
			return err
		}
		_, err = con.Store.CreateRoutingRule(c.Request.Context(), p)
		return err
	})
}

func (con *console) adminUpdateRule() gin.HandlerFunc {
	return con.adminForm("rules", "rule", func(c *gin.Context) error {
		id, err := strconv.ParseUint(c.Param("id"), 10, 64)
		if err != nil {
			return fmt.Errorf("rule %q: %w", c.Param("id"), models.ErrNotFound)
		}
		p, err := ruleParams(c)
		if err != nil {
			return err
		}
		_, err = con.Store.UpdateRoutingRule(c.Request.Context(), id, p)
		return err
	})
}

func (con *console) adminDeleteRule() gin.HandlerFunc {
	return con.adminForm("rules", "rule_deleted", func(c *gin.Context) error {
		id, err := strconv.ParseUint(c.Param("id"), 10, 64)
		if err != nil {
			return fmt.Errorf("rule %q: %w", c.Param("id"), models.ErrNotFound)
		}
		return con.Store.DeleteRoutingRule(c.Request.Context(), id)
	})
}

// holidayKinds are the words the calendar form accepts for a day's kind.
var holidayKinds = map[string]string{
	"off": models.HolidayOff, "休": models.HolidayOff, "休息": models.HolidayOff, "放假": models.HolidayOff,
	"workday": models.HolidayWorkday, "班": models.HolidayWorkday, "上班": models.HolidayWorkday,
}

// holidaysText writes a year's calendar one day a line, as the form edits it.
func holidaysText(days []models.Holiday) string {
	var b strings.Builder
	for _, d := range days {
		kind := "休息"
		if d.Kind == models.HolidayWorkday {
			kind = "上班"
		}
		fmt.Fprintf(&b, "%s %s %s\n", d.Day, kind, d.Name)
	}
	return b.String()
}

// adminReplaceHolidays replaces a year's calendar from the text form: one
// day a line, "2026-10-01 休息 国庆节" or "2026-10-10 上班 国庆节调休上班".
func (con *console) adminReplaceHolidays() gin.HandlerFunc {
	return con.adminForm("holidays", "holidays", func(c *gin.Context) error {
		year, err := strconv.Atoi(c.Param("year"))
		if err != nil || year < 2000 || year > 2100 {
			return &models.ValidationError{Fields: map[string]string{"year": "年份应在2000至2100之间"}}
		}
		var days []models.Holiday
		for i, line := range strings.Split(strings.ReplaceAll(c.PostForm("days"), "\r\n", "\n"), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			kind := ""
			if len(f) >= 2 {
				kind = holidayKinds[strings.ToLower(f[1])]
			}
			if len(f) < 3 || kind == "" {
				return &models.ValidationError{Fields: map[string]string{"days": fmt.Sprintf(
					"第%d行应为“日期 休息|上班 名称”，如“%d-10-01 休息 国庆节”", i+1, year)}}
			}
			days = append(days, models.Holiday{Day: f[0], Kind: kind, Name: strings.Join(f[2:], " ")})
		}
		_, err = con.Store.ReplaceHolidays(c.Request.Context(), year, days)
		return err
	})
}

// funcs are the console's template helpers, added to the shared ones.
func (con *console) funcs() template.FuncMap {
	return template.FuncMap{
		"due":  con.due,
		"size": sizeText,
		// statusName names an assignment's status; before 督促整改 a
		// pending assignment is waiting for the joint verification.
		"statusName": func(status, stage string) string {
			if status == models.AssignmentPending && (stage == models.StageAssign || stage == models.StageVerify) {
				return "待核查"
			}
			return map[string]string{models.AssignmentPending: "整改中", models.AssignmentSubmitted: "待审核",
				models.AssignmentReturned: "已退回", models.AssignmentAccepted: "已通过", models.AssignmentNotRequired: "无需整改"}[status]
		},
		"assignRole": func(s string) string {
			return map[string]string{models.AssignGrassroots: "乡镇（街道）· 治表", models.AssignCounty: "县直部门 · 治本"}[s]
		},
		"findingName": func(s string) string {
			return map[string]string{models.FindingSubstantiated: "属实", models.FindingPartly: "部分属实",
				models.FindingUnsubstantiated: "不属实"}[s]
		},
		"channelName": func(s string) string { return models.ChannelNames[s] },
		"kindName": func(s string) string {
			return map[string]string{models.UnitTownship: "乡镇（街道）", models.UnitCounty: "县直部门"}[s]
		},
		"roleName": func(s string) string { return roleNames[s] },
		"extensionName": func(s string) string {
			return map[string]string{models.ExtensionRequested: "待审批", models.ExtensionApproved: "已同意",
				models.ExtensionRejected: "未同意"}[s]
		},
		"isImage":   func(ct string) bool { return ct == attach.JPEG || ct == attach.PNG },
		"fileRules": func() string { return con.fileRules().describe() },
		"accept":    func() string { return attach.Accept },
		"has":       slices.Contains[[]string],
		"add":       func(a, b int) int { return a + b },
		"sub":       func(a, b int) int { return a - b },
		"half":      func(a int) int { return a / 2 },
		// dict passes several values to a shared template.
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				k, _ := kv[i].(string)
				m[k] = kv[i+1]
			}
			return m
		},
	}
}
