package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// healthz answers while the process runs.
func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

// readyz answers 200 only when the database and Redis answer and the
// schema is current, so a load balancer sends no traffic before.
func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{"database": "ok", "redis": "ok", "schema": "ok"}
	ok := true
	if err := s.Store.Ping(ctx); err != nil {
		checks["database"], ok = err.Error(), false
	} else if err := s.Store.CheckSchema(ctx); err != nil {
		checks["schema"], ok = err.Error(), false
	}
	if s.RedisReady != nil {
		if err := s.RedisReady(ctx); err != nil {
			checks["redis"], ok = err.Error(), false
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
}

// metrics serves /metrics on the main listener only when no
// JIANFU_METRICS_ADDR is set, and then only to a loopback peer (the
// connection's own address: a forwarded header cannot fake it).
func (s *Server) metrics() gin.HandlerFunc {
	h := promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{})
	return func(c *gin.Context) {
		if s.Config.MetricsAddr != "" || !parseAddr(c.Request.RemoteAddr).IsLoopback() {
			fail(c, errNotFound)
			return
		}
		h.ServeHTTP(c.Writer, c.Request)
	}
}

// MetricsHandler serves the registry on its own listener
// (JIANFU_METRICS_ADDR).
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
