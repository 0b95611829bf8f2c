// Package api is Jianfu's HTTP face: routes, handlers, middleware and
// pages. It talks to the database only through models.Store.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"jianfu/config"
	"jianfu/models"
	"jianfu/models/audit"
)

// Deps is what the HTTP layer needs.
type Deps struct {
	Store  *models.Store
	Config *config.Config
	Logger *slog.Logger
	// Registry receives the HTTP metrics; /metrics serves it.
	Registry *prometheus.Registry
	// RedisReady reports whether the queue's Redis answers (for /readyz).
	RedisReady func(ctx context.Context) error
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// Audit is the security audit log (models/audit).
	Audit *audit.Store
	// cop refuses cross-site requests to the login (net/http).
	cop *http.CrossOriginProtection
	// addrs finds the client address behind trusted proxies.
	addrs *guard
}

// New builds the HTTP handler.
func New(d Deps) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{Deps: d}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "jianfu_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"method", "route", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "jianfu_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route"})
	d.Registry.MustRegister(s.requests, s.latency)
	d.Store.SetAuthPolicy(d.Config.AuthPolicy())
	s.Audit = audit.New(d.Store.DB(context.Background()), d.Store.Now, d.Logger)
	s.cop = http.NewCrossOriginProtection()
	s.addrs, _ = newGuard(config.RateLimits{Off: true}, d.Config.TrustedProxies, d.Store.ClientHash)

	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(s.recoverer, s.observe, securityHeaders)
	r.Use(noStoreTips, s.limitBody) // api/limits.go
	if strings.HasPrefix(d.Config.BaseURL, "https://") {
		r.Use(hsts)
	}
	s.routes(r)
	return r
}

// observe counts and times each request by its route pattern (never by the
// raw path) and logs 5xx answers once.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	status := c.Writer.Status()
	s.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(status)).Inc()
	s.latency.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
}

func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			s.Logger.Error("panic in handler", "route", c.FullPath(), "panic", v)
			c.AbortWithStatusJSON(http.StatusInternalServerError,
				gin.H{"error": newError(http.StatusInternalServerError, "internal", "服务器内部错误，请稍后重试")})
		}
	}()
	c.Next()
}

// hsts tells browsers to use https only, once the site is served over it
// (JIANFU_BASE_URL is https).
func hsts(c *gin.Context) {
	c.Header("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	c.Next()
}

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	c.Next()
}
