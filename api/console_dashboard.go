package api

import (
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/models"
	"jianfu/models/registry"
)

// The leaders' dashboard: cases per stage now, the year's rates (from
// models.Stats, the same figures as the export and the annual report),
// overdue work per unit (from the weekly summary, models.SummaryDigest)
// and the monthly trend. The charts are SVG drawn here, server-side: no
// script, nothing to load, and they print.

type dashboardData struct {
	consolePage
	Year    int
	Years   []int
	Counts  models.StageCounts
	Stats   *models.Stats
	Summary models.SummaryDigest
	Trend   trendChart
	Units   unitChart
	// Satisfied counts 满意 and 基本满意 (the satisfaction rate's numerator).
	Satisfied int64
	// Warnings are the first dashboardWarnings of the early warnings
	// (智能预警) as of now, alerts first (models/registry); WarningCount
	// counts them all (the warnings page lists them).
	Warnings     []registry.Warning
	WarningCount int
}

// dashboardWarnings is how many warnings the dashboard lists: a county of
// a million cases has tens of thousands, which belong on their own page.
const dashboardWarnings = 10

func (con *console) dashboard(c *gin.Context) {
	ctx := c.Request.Context()
	d := dashboardData{consolePage: con.page(c, "统计看板", "dashboard")}
	now := con.Store.Now().In(models.Shanghai())
	d.Year = now.Year()
	for y := d.Year; y > d.Year-5; y-- {
		d.Years = append(d.Years, y)
	}
	var err error
	if d.Year, err = queryInt(c, "year", d.Year, 2000, d.Year, "年份不正确"); err != nil {
		fail(c, err)
		return
	}
	from, to := models.YearPeriod(d.Year)
	if d.Year == now.Year() {
		to = time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, models.Shanghai()).AddDate(0, 0, 1).UTC()
	}
	p := principal(c)
	var months []models.MonthCount
	if err := together(
		func() (err error) { d.Counts, err = con.Store.StageCounts(ctx, p); return err },
		func() (err error) {
			d.Stats, err = con.Store.Stats(ctx, models.StatsParams{From: from, To: to, NoOverdue: true})
			return err
		},
		func() (err error) { d.Summary, err = con.Store.SummaryDigest(ctx); return err },
		func() (err error) { months, err = con.Store.MonthlyTrend(ctx, 12); return err },
		func() (err error) {
			d.Warnings, err = registry.New(con.Store).Warnings(ctx, p, registry.WarningParams{})
			return err
		},
	); err != nil {
		fail(c, err)
		return
	}
	d.WarningCount = len(d.Warnings)
	d.Warnings = d.Warnings[:min(len(d.Warnings), dashboardWarnings)]
	d.Satisfied = d.Stats.Totals.Satisfied + d.Stats.Totals.BasicallySatisfied
	d.Trend = newTrendChart(months)
	d.Units = newUnitChart(d.Summary.Units, 12)
	con.render(c, http.StatusOK, "dashboard", d)
}

// together runs independent reads at once, each on its own connection, so
// a page waits for the slowest rather than for their sum (the dashboard's
// five take a few hundred milliseconds each at a million cases). It
// returns the first error in argument order; a panic in one becomes its
// error, as gin's recovery would make it on the request's goroutine.
func together(parts ...func() error) error {
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					errs[i] = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
				}
			}()
			errs[i] = part()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ------------------------------------------------------------------ charts

// trendChart is the monthly bar chart: tips received and cases closed.
type trendChart struct {
	W, H         int
	PlotX, PlotY int // top left of the plot area
	PlotW, PlotH int
	Base         int // y of the zero line
	Grid         []gridLine
	Months       []monthBars
	Empty        bool
}

type gridLine struct {
	Y     int
	Label string
}

type monthBars struct {
	LabelX             int
	Label              string
	Received, Closed   bar
	ReceivedN, ClosedN int64
}

type bar struct{ X, Y, W, H int }

// niceMax is the top of a chart's scale for a largest value v: four grid
// steps of 1, 2 or 5 times a power of ten.
func niceMax(v int64) int64 {
	need := (v + 3) / 4
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= need {
				return m * p * 4
			}
		}
	}
}

func newTrendChart(months []models.MonthCount) trendChart {
	ch := trendChart{W: 720, H: 250, PlotX: 44, PlotY: 14}
	ch.PlotW, ch.PlotH = ch.W-ch.PlotX-8, ch.H-ch.PlotY-34
	ch.Base = ch.PlotY + ch.PlotH
	var most int64
	for _, m := range months {
		most = max(most, m.Received, m.Closed)
	}
	ch.Empty = most == 0
	top := niceMax(most)
	for i := 0; i <= 4; i++ {
		ch.Grid = append(ch.Grid, gridLine{Y: ch.Base - ch.PlotH*i/4, Label: strconv.FormatInt(top*int64(i)/4, 10)})
	}
	slot := ch.PlotW / max(len(months), 1)
	bw := slot * 32 / 100
	height := func(n int64) int { return int(int64(ch.PlotH) * n / top) }
	for i, m := range months {
		x := ch.PlotX + i*slot + (slot-2*bw-2)/2
		label := fmt.Sprintf("%d月", int(m.Month.Month()))
		if i == 0 || m.Month.Month() == time.January {
			label = fmt.Sprintf("%d年%d月", m.Month.Year()%100, int(m.Month.Month()))
		}
		hr, hc := height(m.Received), height(m.Closed)
		ch.Months = append(ch.Months, monthBars{LabelX: ch.PlotX + i*slot + slot/2, Label: label,
			Received: bar{X: x, Y: ch.Base - hr, W: bw, H: hr}, Closed: bar{X: x + bw + 2, Y: ch.Base - hc, W: bw, H: hc},
			ReceivedN: m.Received, ClosedN: m.Closed})
	}
	return ch
}

// unitChart is the stacked bar chart of units' waiting assignments.
type unitChart struct {
	W, H   int
	LabelW int
	Rows   []unitRow
	Scale  int64
}

type unitRow struct {
	Y                       int
	TextY                   int
	Name, Code              string
	Overdue, DueSoon, Other bar
	OverdueN, WaitingN      int
	ValueX                  int
}

func newUnitChart(units []models.UnitCount, limit int) unitChart {
	ch := unitChart{W: 560, LabelW: 150}
	plotW := ch.W - ch.LabelW - 110
	var rows []models.UnitCount
	for _, u := range units {
		if u.Waiting > 0 && len(rows) < limit {
			rows = append(rows, u)
		}
	}
	most := 1
	for _, u := range rows {
		most = max(most, u.Waiting)
	}
	const rowH = 26
	ch.H = len(rows)*rowH + 6
	for i, u := range rows {
		y := 4 + i*rowH
		w := func(n int) int { return plotW * n / most }
		x := ch.LabelW + 8
		od, ds := w(u.Overdue), w(u.DueSoon)
		other := w(u.Waiting) - od - ds
		r := unitRow{Y: y + 3, TextY: y + 17, Name: u.Name, Code: u.Code, OverdueN: u.Overdue, WaitingN: u.Waiting,
			Overdue: bar{X: x, W: od, H: 16}, DueSoon: bar{X: x + od, W: ds, H: 16},
			Other: bar{X: x + od + ds, W: max(other, 0), H: 16}}
		r.ValueX = x + w(u.Waiting) + 8
		ch.Rows = append(ch.Rows, r)
	}
	return ch
}
