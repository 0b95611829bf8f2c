package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// apiError is the JSON error body of DESIGN §4.
type apiError struct {
	Status  int               `json:"-"`
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, msg string) *apiError {
	return &apiError{Status: status, Code: code, Message: msg}
}

func fieldError(field, msg string) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: msg, Fields: map[string]string{field: msg}}
}

// queryInt reads the integer query parameter name: def when it is absent,
// and a 400 naming it (msg) when it is not a whole number from lo to hi.
func queryInt(c *gin.Context, name string, def, lo, hi int, msg string) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fieldError(name, msg)
	}
	return n, nil
}

var (
	errNotFound     = newError(http.StatusNotFound, "not_found", "未找到该记录，或您无权查看")
	errUnauthorized = newError(http.StatusUnauthorized, "unauthorized", "请先登录")
	errForbidden    = newError(http.StatusForbidden, "forbidden", "您没有执行此操作的权限")
	errBadJSON      = newError(http.StatusBadRequest, "invalid_json", "请求内容不是有效的 JSON")
	errMediaType    = newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "请以 application/json 或 multipart/form-data 提交")
	errTooLarge     = &apiError{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: "提交的内容过大",
		Fields: map[string]string{"body": "提交的内容过大"}} // tooLarge names the limit when it is known
	errUnavailable = newError(http.StatusServiceUnavailable, "unavailable", "系统繁忙或正在恢复，请稍后重试")
)

// retryAfter is the Retry-After of a 503: about the time a database node
// restart, a Galera eviction or a Redis failover takes (docs/reliability.md).
const retryAfter = "5"

// unavailable answers errUnavailable (with Retry-After) when err says the
// database or Redis is down or failing over, logging it once; nil otherwise.
func unavailable(c *gin.Context, err error) *apiError {
	if !models.Unavailable(err) {
		return nil
	}
	slog.WarnContext(c.Request.Context(), "service unavailable", "method", c.Request.Method, "route", c.FullPath(), "err", err)
	c.Header("Retry-After", retryAfter)
	return errUnavailable
}

// fail answers with err as JSON and stops the chain. Store sentinels map to
// their statuses; anything else is a 500, logged once here.
func fail(c *gin.Context, err error) {
	var ae *apiError
	var ve *models.ValidationError
	var wp *models.WeakPasswordError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &wp):
		ae = &apiError{Status: http.StatusBadRequest, Code: "weak_password", Message: wp.Message, Fields: map[string]string{wp.Field: wp.Message}}
	case errors.As(err, &ve):
		ae = &apiError{Status: http.StatusBadRequest, Code: "validation_failed", Message: firstMessage(ve.Fields), Fields: ve.Fields}
	case errors.Is(err, models.ErrForbidden):
		ae = errForbidden
	case errors.Is(err, models.ErrNotFound):
		ae = errNotFound
	case errors.Is(err, models.ErrWrongStage):
		ae = newError(http.StatusConflict, "wrong_stage", "案件当前所处阶段不允许此操作")
	case errors.Is(err, models.ErrIdempotencyKeyReused):
		ae = errKeyReused
	case errors.Is(err, http.ErrHandlerTimeout):
		ae = newError(http.StatusServiceUnavailable, "timeout", "服务繁忙，请稍后重试")
	case unavailable(c, err) != nil:
		ae = errUnavailable
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			ae = tooLarge(mbe.Limit)
			break
		}
		slog.ErrorContext(c.Request.Context(), "request failed", "method", c.Request.Method, "route", c.FullPath(), "err", err)
		ae = newError(http.StatusInternalServerError, "internal", "服务器内部错误，请稍后重试")
	}
	if page, ok := c.Get(errorPageKey); ok { // a console page (api/console.go)
		page.(func(*gin.Context, *apiError))(c, ae)
		return
	}
	c.AbortWithStatusJSON(ae.Status, gin.H{"error": ae})
}

// firstMessage picks a stable summary message from field errors.
func firstMessage(fields map[string]string) string {
	for _, k := range []string{"category", "title", "content", "township", "implicated_unit", "occurred_on", "contact.name", "contact.phone", "contact.email"} {
		if m, ok := fields[k]; ok {
			return m
		}
	}
	for _, m := range fields {
		return m
	}
	return "提交的内容有误"
}
