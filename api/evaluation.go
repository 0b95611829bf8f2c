package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// evaluationRequest is the JSON body of POST /api/v1/tips/evaluation.
type evaluationRequest struct {
	Receipt string `json:"receipt"`
	Rating  string `json:"rating"`
	Comment string `json:"comment"`
}

// evaluateTip takes the tipster's rating of the office's reply. Like a
// lookup, it is rate-limited and a wrong receipt slows the client down.
func (p *publicSite) evaluateTip(c *gin.Context) {
	defer p.floor(time.Now())
	if !isJSON(c) {
		fail(c, errMediaType)
		return
	}
	var req evaluationRequest
	if err := decodeJSON(c, &req, maxFormBody); err != nil {
		fail(c, err)
		return
	}
	err := p.Store.EvaluateTip(c.Request.Context(), req.Receipt, req.Rating, req.Comment)
	if errors.Is(err, models.ErrWrongStage) {
		fail(c, newError(http.StatusConflict, "wrong_stage", "当前不能评价：办理答复尚未作出，或已经评价过、评价期已过"))
		return
	}
	if err != nil {
		fail(c, p.receiptError(c, err))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"rating": req.Rating, "message": "感谢您的评价，评价结果已记录。"})
}
