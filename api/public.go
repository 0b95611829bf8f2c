package api

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// tipRequest is the JSON body of POST /api/v1/tips.
type tipRequest struct {
	Category       string          `json:"category"`
	Title          string          `json:"title"`
	Content        string          `json:"content"`
	Township       string          `json:"township"`
	ImplicatedUnit string          `json:"implicated_unit"`
	OccurredOn     string          `json:"occurred_on"`
	Anonymous      *bool           `json:"anonymous"`
	Contact        *models.Contact `json:"contact"`
}

// maxJSONBody bounds a JSON tip: 5000 characters of content are at most
// 20 KB of UTF-8; the rest is headroom.
const maxJSONBody = 64 << 10

func (s *Server) submitTip(c *gin.Context) {
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if mt != "application/json" {
		fail(c, errMediaType)
		return
	}
	var req tipRequest
	if err := decodeJSON(c, &req, maxJSONBody); err != nil {
		fail(c, err)
		return
	}
	in := models.TipInput{
		Category: req.Category, Title: req.Title, Content: req.Content, Township: req.Township,
		ImplicatedUnit: req.ImplicatedUnit, OccurredOn: req.OccurredOn, Anonymous: true,
		Channel: models.ChannelWeb, IdempotencyKey: c.GetHeader("Idempotency-Key"),
	}
	if req.Anonymous != nil {
		in.Anonymous = *req.Anonymous
	}
	if req.Contact != nil {
		in.Contact = *req.Contact
	}
	if len(in.IdempotencyKey) > 200 {
		fail(c, fieldError("Idempotency-Key", "Idempotency-Key 不能超过200个字符"))
		return
	}
	r, err := s.Store.CreateTip(c.Request.Context(), in)
	if err != nil {
		fail(c, err)
		return
	}
	status := http.StatusCreated
	if r.Replayed {
		status = http.StatusOK
	}
	c.JSON(status, gin.H{"receipt": r.Receipt, "stage": r.Stage, "due_at": r.DueAt.Format(time.RFC3339),
		"message": "反映已收到。请牢记查询码，它只显示这一次，凭它查询办理进展。"})
}

// decodeJSON reads one JSON object of at most limit bytes; unknown fields
// are errors so a typo in a field name does not pass silently.
func decodeJSON(c *gin.Context, v any, limit int64) error {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return fieldError(ute.Field, "字段类型不正确："+ute.Field)
		}
		return errBadJSON
	}
	if dec.More() {
		return errBadJSON
	}
	return nil
}

func (s *Server) listCategories(c *gin.Context) {
	cats, err := s.Store.Categories(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(cats))
	for i, k := range cats {
		items[i] = gin.H{"code": k.Code, "name": k.Name, "description": k.Description, "example": k.Example}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func (s *Server) listUnits(c *gin.Context) {
	kind := c.Query("kind")
	if kind != "" && kind != models.UnitTownship && kind != models.UnitCounty {
		fail(c, fieldError("kind", "kind 应为 township 或 county"))
		return
	}
	units, err := s.Store.Units(c.Request.Context(), kind)
	if err != nil {
		fail(c, err)
		return
	}
	items := make([]gin.H, len(units))
	for i, u := range units {
		items[i] = gin.H{"code": u.Code, "name": u.Name, "kind": u.Kind}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
}
