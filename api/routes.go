package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// routes is the whole HTTP surface in one table.
func (s *Server) routes(r *gin.Engine) {
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metrics())

	// Public pages (tipsters, no login); receipts travel only in bodies.
	pub := s.newPublicSite()
	r.GET("/", pub.tipForm)
	r.POST("/tip", pub.limit(actionSubmit), pub.submitTipForm)
	r.GET("/track", pub.trackForm)
	r.POST("/track", pub.limit(actionLookup), pub.trackLookup)
	r.POST("/track/message", pub.limit(actionLookup), pub.trackMessage)
	r.POST("/track/evaluation", pub.limit(actionLookup), pub.trackEvaluation)
	r.GET("/static/*filepath", pub.serveStatic)
	r.GET("/typical", pub.typicalList)

	v1 := r.Group("/api/v1")
	// Public: no login.
	v1.POST("/tips", pub.limit(actionSubmit), s.submitTip)
	v1.POST("/tips/lookup", pub.limit(actionLookup), pub.lookupTip)
	v1.POST("/tips/messages", pub.limit(actionLookup), pub.addTipMessage)
	v1.POST("/tips/evaluation", pub.limit(actionLookup), pub.evaluateTip)
	v1.GET("/categories", s.listCategories)
	v1.GET("/units", s.listUnits)
	v1.GET("/typical-cases", s.listTypical)
	v1.POST("/auth/login", s.login)
	v1.POST("/auth/logout", s.logout)
	v1.GET("/openapi.json", serveOpenAPI(openAPIJSON())) // the contract (api/openapi.yaml, docs/api.md)

	// Staff: session cookie + CSRF token, or bearer token.
	staff := v1.Group("", s.authenticate)
	staff.GET("/auth/me", s.me)
	staff.POST("/auth/password", s.changePassword)
	staff.GET("/digests/preview", requireRole(digestRoles...), s.previewDigest)
	staff.GET("/stats", requireRole(statsRoles...), s.getStats)
	staff.GET("/stats/export.xlsx", requireRole(statsRoles...), s.exportXLSX)
	staff.GET("/stats/export.csv", requireRole(statsRoles...), s.exportCSV)
	staff.GET("/stats/report", requireRole(statsRoles...), s.getReport)
	staff.POST("/cases/:id/typical", requireRole(typicalRoles...), s.publishTypical)
	// The online monitoring of burdens (api/registry.go, api/warnings.go):
	// the store lets a liaison register for their unit, the office for any.
	staff.GET("/registry/:kind", s.listRegistry)
	staff.POST("/registry/:kind", s.createRegistry)
	staff.POST("/registry/:kind/import", s.importRegistry)
	staff.PUT("/registry/:kind/:id", s.setRegistryStatus)
	staff.GET("/warnings", s.listWarnings)
	staff.GET("/stats/monitoring", requireRole(statsRoles...), s.getMonitoring)

	// The case workflow: every role may call these; the store answers 404
	// for a case the user may not see, 403 for an action their role may not
	// take, 409 for the wrong stage.
	staff.GET("/cases", s.listCases)
	staff.POST("/cases", s.enterTip) // phone, letter, visit, mailbox (office)
	staff.GET("/cases/:id", s.caseDetail)
	staff.POST("/cases/:id/accept", s.acceptCase())
	staff.POST("/cases/:id/reject", s.rejectCase())
	staff.POST("/cases/:id/merge", s.mergeCase())
	staff.POST("/cases/:id/assign", s.assignCase())
	staff.POST("/cases/:id/verification", s.recordVerification())
	staff.POST("/cases/:id/reply", s.replyToTipster())
	staff.POST("/cases/:id/reopen", s.reopenCase())
	staff.POST("/cases/:id/close", s.closeCase())
	staff.POST("/cases/:id/contact-reveal", s.revealContact)
	staff.POST("/cases/:id/disposals", s.addDisposal)
	staff.POST("/cases/:id/questions", s.askTipster)
	staff.POST("/cases/:id/verification-parts", s.submitVerificationPart)
	staff.POST("/assignments/:id/rectification", s.submitRectification)
	staff.POST("/assignments/:id/review", s.reviewRectification())
	staff.POST("/assignments/:id/extension", s.requestExtension())
	staff.POST("/assignments/:id/extension/decision", s.decideExtension())

	// Administration.
	admin := staff.Group("/admin", requireRole(adminRoles...))
	admin.GET("/units", s.adminUnits)
	admin.POST("/units", s.adminCreateUnit)
	admin.PUT("/units/:code", s.adminUpdateUnit)
	admin.GET("/users", s.adminUsers)
	admin.POST("/users", s.adminCreateUser)
	admin.GET("/categories", s.adminCategories)
	admin.POST("/categories", s.adminCreateCategory)
	admin.GET("/routing-rules", s.adminRoutingRules)
	admin.POST("/routing-rules", s.adminCreateRoutingRule)
	admin.PUT("/routing-rules/:id", s.adminUpdateRoutingRule)
	admin.DELETE("/routing-rules/:id", s.adminDeleteRoutingRule)
	admin.GET("/holidays/:year", s.adminHolidays)
	admin.PUT("/holidays/:year", s.adminReplaceHolidays)
	admin.GET("/deadlines", s.adminDeadlines)
	admin.GET("/quotas/:year", s.adminQuotas)
	admin.PUT("/quotas/:year", s.adminReplaceQuotas)
	staff.GET("/attachments/:id", s.downloadAttachment)

	// Staff console: server-rendered pages over the same store calls as the
	// API (api/console*.go, docs/console.md). Forms carry the session's
	// CSRF token as csrf_token; errors answer zh-CN pages, and a request
	// without a session goes to the login page.
	con := s.newConsole()
	r.GET("/console/login", con.enter, con.loginForm)
	r.POST("/console/login", con.enter, con.login)
	cons := r.Group("/console", con.enter, s.authenticate, con.ready)
	cons.GET("", con.home)
	cons.POST("/logout", con.logout)
	cons.GET("/password", con.passwordForm)
	cons.POST("/password", con.changePassword)
	cons.GET("/cases", con.queue)
	cons.GET("/cases/:id", con.casePage)
	cons.GET("/entry", con.entryForm)
	cons.POST("/entry", con.enterTip)
	cons.POST("/cases/:id/accept", con.acceptCase())
	cons.POST("/cases/:id/reject", con.rejectCase())
	cons.POST("/cases/:id/merge", con.mergeCase())
	cons.POST("/cases/:id/assign", con.assignCase())
	cons.POST("/cases/:id/verification", con.recordVerification())
	cons.POST("/cases/:id/verification-parts", con.submitVerificationPart())
	cons.POST("/cases/:id/questions", con.askTipster())
	cons.POST("/cases/:id/disposals", con.addDisposal())
	cons.POST("/cases/:id/reply", con.replyToTipster())
	cons.POST("/cases/:id/reopen", con.reopenCase())
	cons.POST("/cases/:id/close", con.closeCase())
	cons.POST("/cases/:id/contact-reveal", con.revealContact)
	cons.POST("/assignments/:id/rectification", con.submitRectification())
	cons.POST("/assignments/:id/review", con.reviewRectification())
	cons.POST("/assignments/:id/extension", con.requestExtension())
	cons.POST("/assignments/:id/extension/decision", con.decideExtension())
	cons.GET("/attachments/:id", s.downloadAttachment)
	cons.GET("/dashboard", requireRole(statsRoles...), con.dashboard)
	cons.GET("/report", requireRole(statsRoles...), pub.reportPage)
	cons.GET("/registry", con.registryList)
	cons.POST("/registry/:kind", con.registryCreate)
	cons.POST("/registry/:kind/import", con.registryImport)
	cons.GET("/warnings", con.warningsPage)
	conAdmin := cons.Group("/admin", requireRole(adminRoles...))
	conAdmin.GET("", con.adminSection("users"))
	conAdmin.GET("/users", con.adminSection("users"))
	conAdmin.POST("/users", con.adminCreateUser())
	conAdmin.POST("/users/reset", con.adminResetPassword())
	conAdmin.GET("/units", con.adminSection("units"))
	conAdmin.POST("/units", con.adminCreateUnit())
	conAdmin.POST("/units/:code", con.adminUpdateUnit())
	conAdmin.GET("/categories", con.adminSection("categories"))
	conAdmin.POST("/categories", con.adminCreateCategory())
	conAdmin.GET("/routing-rules", con.adminSection("rules"))
	conAdmin.POST("/routing-rules", con.adminCreateRule())
	conAdmin.POST("/routing-rules/:id", con.adminUpdateRule())
	conAdmin.POST("/routing-rules/:id/delete", con.adminDeleteRule())
	conAdmin.GET("/holidays", con.adminSection("holidays"))
	conAdmin.POST("/holidays/:year", con.adminReplaceHolidays())
	conAdmin.GET("/deadlines", con.adminSection("deadlines"))

	// 码上评议 (api/qr.go, evaluations.go, survey.go, console_survey.go;
	// docs/evaluation.md): unit posters and QR codes, service ratings by
	// scan, and the cadre survey with one-time codes.
	evs := pub.newEvaluationSite(con)
	r.GET("/qr/:file", evs.unitQR)
	r.GET("/posters/:unit", evs.unitPoster)
	r.GET("/rate/:unit", evs.rateForm)
	r.POST("/rate/:unit", pub.limit(actionSubmit), evs.rateSubmit)
	r.POST("/rate/:unit/tip", evs.rateToTip)
	r.GET("/survey", pub.limit(actionLookup), evs.surveyForm)
	r.POST("/survey", pub.limit(actionLookup), evs.surveySubmit)
	v1.POST("/evaluations", pub.limit(actionSubmit), evs.createEvaluation)
	v1.POST("/surveys/answers", pub.limit(actionLookup), evs.answerSurvey)
	staff.GET("/surveys/:id/results", requireRole(statsRoles...), evs.surveyResults)
	admin.GET("/surveys", evs.adminSurveys)
	admin.POST("/surveys", evs.adminCreateSurvey)
	admin.POST("/surveys/:id/codes", evs.adminIssueCodes)
	conAdmin.GET("/surveys", evs.consoleSurveys)
	conAdmin.POST("/surveys", evs.consoleCreateSurvey)
	conAdmin.POST("/surveys/:id/codes", evs.consoleIssueCodes)
	conAdmin.GET("/posters", evs.allPosters)

	// Addresses no route matches: JSON errors, or console pages under
	// /console/.
	r.NoRoute(con.consoleNoRoute, func(c *gin.Context) { fail(c, errNotFound) })
	r.NoMethod(con.consoleNoRoute, func(c *gin.Context) {
		fail(c, newError(http.StatusMethodNotAllowed, "method_not_allowed", "不支持该请求方法"))
	})
}
