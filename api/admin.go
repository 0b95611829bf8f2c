package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/audit"
)

// Administration endpoints (admin role only; the route group checks it):
// units, users, categories, routing rules, the holiday calendar and the
// configured deadlines.

// adminRoles may use the administration endpoints.
var adminRoles = []string{models.RoleAdmin}

func unitJSON(u models.Unit) gin.H {
	return gin.H{"code": u.Code, "name": u.Name, "kind": u.Kind, "active": u.Active, "created_at": u.CreatedAt}
}

func (s *Server) adminUnits(c *gin.Context) {
	us, err := s.Store.AllUnits(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(us))
	for i, u := range us {
		items[i] = unitJSON(u)
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *Server) adminCreateUnit(c *gin.Context) {
	var req struct {
		Code string `json:"code"`
		Name string `json:"name"`
		Kind string `json:"kind"`
	}
	if !readJSON(c, &req) {
		return
	}
	u, err := s.Store.AddUnit(c.Request.Context(), models.UnitParams{Code: req.Code, Name: req.Name, Kind: req.Kind})
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionUnitChange, Target: "unit:" + u.Code, Detail: "created"})
	c.JSON(http.StatusCreated, unitJSON(u))
}

// adminUpdateUnit renames a unit or (de)activates it: {"name", "active"}.
func (s *Server) adminUpdateUnit(c *gin.Context) {
	var req struct {
		Name   *string `json:"name"`
		Active *bool   `json:"active"`
	}
	if !readJSON(c, &req) {
		return
	}
	u, err := s.Store.UpdateUnit(c.Request.Context(), c.Param("code"), models.UnitUpdate{Name: req.Name, Active: req.Active})
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionUnitChange, Target: "unit:" + u.Code, Detail: "updated"})
	c.JSON(http.StatusOK, unitJSON(u))
}

func (s *Server) adminUsers(c *gin.Context) {
	us, err := s.Store.Users(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(us))
	for i, u := range us {
		items[i] = gin.H{"username": u.Username, "role": u.Role, "unit": u.UnitCode, "email": u.Email,
			"disabled": u.Disabled, "created_at": u.CreatedAt}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *Server) adminCreateUser(c *gin.Context) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Role     string `json:"role"`
		Unit     string `json:"unit"`
		Email    string `json:"email"`
	}
	if !readJSON(c, &req) {
		return
	}
	if err := s.touchesAuditor(c, "", req.Role); err != nil {
		fail(c, err)
		return
	}
	u, err := s.Store.CreateUser(c.Request.Context(), models.UserParams{Username: req.Username, Password: req.Password,
		Role: req.Role, UnitCode: req.Unit, Email: req.Email, MustChangePassword: true})
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionUserCreate, Target: "user:" + u.Username, Detail: "role=" + u.Role})
	c.JSON(http.StatusCreated, gin.H{"username": u.Username, "role": u.Role, "unit": req.Unit, "email": u.Email,
		"must_change_password": u.MustChangePassword})
}

func categoryJSON(k models.Category) gin.H {
	return gin.H{"code": k.Code, "name": k.Name, "description": k.Description, "example": k.Example,
		"sort": k.Sort, "active": k.Active}
}

func (s *Server) adminCategories(c *gin.Context) {
	cs, err := s.Store.AllCategories(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(cs))
	for i, k := range cs {
		items[i] = categoryJSON(k)
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *Server) adminCreateCategory(c *gin.Context) {
	var req struct {
		Code        string `json:"code"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Example     string `json:"example"`
		Sort        int    `json:"sort"`
	}
	if !readJSON(c, &req) {
		return
	}
	k, err := s.Store.AddCategory(c.Request.Context(), models.CategoryParams{Code: req.Code, Name: req.Name,
		Description: req.Description, Example: req.Example, Sort: req.Sort})
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionCategoryChange, Target: "category:" + k.Code, Detail: "created"})
	c.JSON(http.StatusCreated, categoryJSON(k))
}

type routingRuleRequest struct {
	Category string `json:"category"`
	Township string `json:"township"`
	Keyword  string `json:"keyword"`
	Unit     string `json:"unit"`
	Role     string `json:"role"`
	Priority int    `json:"priority"`
	Active   *bool  `json:"active"`
	Auto     bool   `json:"auto"`
}

func (r routingRuleRequest) params() models.RoutingRuleParams {
	return models.RoutingRuleParams{Category: r.Category, Township: r.Township, Keyword: r.Keyword, Unit: r.Unit,
		Role: r.Role, Priority: r.Priority, Active: r.Active, Auto: r.Auto}
}

func (s *Server) adminRoutingRules(c *gin.Context) {
	rs, err := s.Store.RoutingRules(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	if rs == nil {
		rs = []models.RoutingRuleView{}
	}
	c.JSON(http.StatusOK, gin.H{"items": rs})
}

func (s *Server) adminCreateRoutingRule(c *gin.Context) {
	var req routingRuleRequest
	if !readJSON(c, &req) {
		return
	}
	r, err := s.Store.CreateRoutingRule(c.Request.Context(), req.params())
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionRuleChange, Target: "rule:" + strconv.FormatUint(r.ID, 10), Detail: "created"})
	c.JSON(http.StatusCreated, r)
}

func (s *Server) adminUpdateRoutingRule(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	var req routingRuleRequest
	if !readJSON(c, &req) {
		return
	}
	r, err := s.Store.UpdateRoutingRule(c.Request.Context(), id, req.params())
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionRuleChange, Target: "rule:" + strconv.FormatUint(id, 10), Detail: "updated"})
	c.JSON(http.StatusOK, r)
}

func (s *Server) adminDeleteRoutingRule(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	if err := s.Store.DeleteRoutingRule(c.Request.Context(), id); err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionRuleChange, Target: "rule:" + strconv.FormatUint(id, 10), Detail: "deleted"})
	c.Status(http.StatusNoContent)
}

// holidayYear reads :year.
func holidayYear(c *gin.Context) (int, bool) {
	y, err := strconv.Atoi(c.Param("year"))
	if err != nil || y < 2000 || y > 2100 {
		fail(c, fieldError("year", "年份应在2000至2100之间"))
		return 0, false
	}
	return y, true
}

func holidaysJSON(year int, days []models.Holiday) gin.H {
	items := make([]gin.H, len(days))
	for i, d := range days {
		items[i] = gin.H{"day": d.Day, "kind": d.Kind, "name": d.Name}
	}
	return gin.H{"year": year, "days": items}
}

func (s *Server) adminHolidays(c *gin.Context) {
	year, ok := holidayYear(c)
	if !ok {
		return
	}
	days, err := s.Store.Holidays(c.Request.Context(), year)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, holidaysJSON(year, days))
}

// adminReplaceHolidays replaces a year's calendar: {"days": [{"day",
// "kind": "off"|"workday", "name"}]}.
func (s *Server) adminReplaceHolidays(c *gin.Context) {
	year, ok := holidayYear(c)
	if !ok {
		return
	}
	var req struct {
		Days []struct {
			Day  string `json:"day"`
			Kind string `json:"kind"`
			Name string `json:"name"`
		} `json:"days"`
	}
	if !readJSON(c, &req) {
		return
	}
	in := make([]models.Holiday, len(req.Days))
	for i, d := range req.Days {
		in[i] = models.Holiday{Day: d.Day, Kind: d.Kind, Name: d.Name}
	}
	days, err := s.Store.ReplaceHolidays(c.Request.Context(), year, in)
	if err != nil {
		fail(c, err)
		return
	}
	s.audit(c, audit.Entry{Action: audit.ActionHolidayChange, Target: "holidays:" + strconv.Itoa(year), Detail: strconv.Itoa(len(days)) + " days"})
	c.JSON(http.StatusOK, holidaysJSON(year, days))
}

// adminDeadlines shows the clocks in force (JIANFU_DEADLINES) and the
// years the holiday calendar covers.
func (s *Server) adminDeadlines(c *gin.Context) {
	d := s.Store.Deadlines()
	c.JSON(http.StatusOK, gin.H{
		"collect": d.Collect.String(), "assign": d.Assign.String(), "verify": d.Verify.String(),
		"rectify": d.Rectify.String(), "feedback": d.Feedback.String(), "evaluation": d.Evaluation.String(),
		"escalation": d.Escalation.String(), "setting": d.String(), "calendar_years": s.Store.Calendar().Years(),
		"max_extension_days": models.MaxExtensionDays,
	})
}
