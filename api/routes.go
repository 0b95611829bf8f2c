package api

import "github.com/gin-gonic/gin"

// routes is the whole HTTP surface in one table.
func (s *Server) routes(r *gin.Engine) {
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	r.GET("/metrics", s.metrics())

	v1 := r.Group("/api/v1")
	// Public: no login.
	v1.POST("/tips", s.submitTip)
	v1.GET("/categories", s.listCategories)
	v1.GET("/units", s.listUnits)
	v1.POST("/auth/login", s.login)
	v1.POST("/auth/logout", s.logout)

	// Staff: session cookie + CSRF token, or bearer token.
	staff := v1.Group("", s.authenticate)
	staff.GET("/auth/me", s.me)
	staff.POST("/auth/password", s.changePassword)
}
