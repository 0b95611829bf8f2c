package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
)

// The console's staff entry form (登记来件): the office types in a tip
// received by phone, letter, visit or the paper mailbox. It calls the
// store as POST /api/v1/cases does; the receipt, when asked for, is shown
// once on the answer page, to be read to the caller.

type entryPageData struct {
	consolePage
	Categories []models.Category
	Townships  []models.Unit
	Channels   []channelOption
	Values     map[string]string
	// Set once the tip is stored.
	CaseID  uint64
	Receipt string
}

type channelOption struct{ Code, Name string }

func (con *console) entryPage(c *gin.Context, values map[string]string) (entryPageData, error) {
	d := entryPageData{consolePage: con.page(c, "登记来件", "entry"), Values: values}
	ctx := c.Request.Context()
	var err error
	if d.Categories, err = con.Store.Categories(ctx); err != nil {
		return d, err
	}
	if d.Townships, err = con.Store.Units(ctx, models.UnitTownship); err != nil {
		return d, err
	}
	for _, ch := range models.StaffChannels {
		d.Channels = append(d.Channels, channelOption{Code: ch, Name: models.ChannelNames[ch]})
	}
	return d, nil
}

// newEntryValues fills an empty form: received now, a receipt wanted.
func newEntryValues(channel string) map[string]string {
	return map[string]string{"channel": channel, "want_receipt": "true",
		"received_at": time.Now().In(models.Shanghai()).Format("2006-01-02T15:04")}
}

// entryForm shows an empty form, received now.
func (con *console) entryForm(c *gin.Context) {
	if !principal(c).IsOffice() {
		fail(c, models.ErrForbidden)
		return
	}
	d, err := con.entryPage(c, newEntryValues(models.ChannelPhone))
	if err != nil {
		fail(c, err)
		return
	}
	con.render(c, http.StatusOK, "entry", d)
}

// enterTip stores the form's tip and shows its receipt, or the form again
// with the typed values and the fields at fault.
func (con *console) enterTip(c *gin.Context) {
	p := principal(c)
	if !p.IsOffice() {
		fail(c, models.ErrForbidden)
		return
	}
	form, err := readMultipart(c, con.fileRules())
	values := form.Values
	delete(values, "csrf_token")
	var r models.TipReceipt
	var wantReceipt bool
	if err == nil {
		var in models.TipInput
		if in, wantReceipt, err = entryFromValues(models.TipInput{}, values, form.Files); err == nil {
			r, err = con.Store.EnterTip(c.Request.Context(), p, in)
		}
	}
	d, perr := con.entryPage(c, values)
	if perr != nil {
		fail(c, perr)
		return
	}
	var ve *models.ValidationError
	var ae *apiError
	switch {
	case err == nil:
		d.CaseID = r.CaseID
		if wantReceipt {
			d.Receipt = r.Receipt
		}
		d.Values = newEntryValues(values["channel"]) // the next one is likely by the same channel
		d.Notice = "已登记为" + strconv.FormatUint(r.CaseID, 10) + "号案件，进入线索收集阶段。"
		con.render(c, http.StatusCreated, "entry", d)
	case errors.As(err, &ve):
		d.Fields, d.Error = ve.Fields, "未能登记："+firstMessage(ve.Fields)
		con.render(c, http.StatusBadRequest, "entry", d)
	case errors.As(err, &ae) && ae.Status != http.StatusForbidden:
		d.Fields, d.Error = ae.Fields, "未能登记："+ae.Message
		con.render(c, ae.Status, "entry", d)
	default:
		fail(c, err)
	}
}
