package worker_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
	"jianfu/worker"
)

// seeder puts units, users and cases in place without the workflow: cases
// overdue since last week would take the workflow weeks to reach.
type seeder struct {
	t        *testing.T
	app      *apptest.App
	db       *gorm.DB
	category uint64
}

func newSeeder(t *testing.T, app *apptest.App) *seeder {
	t.Helper()
	s := &seeder{t: t, app: app, db: app.DB(t)}
	var cat models.Category
	if err := s.db.First(&cat).Error; err != nil {
		t.Fatal(err)
	}
	s.category = cat.ID
	return s
}

func (s *seeder) unit(code, name string) models.Unit {
	return s.app.CreateUnit(s.t, code, name, models.UnitTownship)
}

// digestPasswordHash is the hash of seeded users' password, computed once:
// bcrypt takes seconds under the race detector.
var digestPasswordHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(digestPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

const digestPassword = "digest-password"

// user inserts a staff account that can log in with digestPassword.
func (s *seeder) user(name, role string, unit *models.Unit, email string) {
	s.t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := models.User{Username: name, PasswordHash: digestPasswordHash(), Role: role, Email: email, CreatedAt: now, UpdatedAt: now}
	if unit != nil {
		u.UnitID = &unit.ID
	}
	if err := s.db.Create(&u).Error; err != nil {
		s.t.Fatal(err)
	}
}

// rectifying inserts a case in 督促整改 with one assignment of u due at due.
func (s *seeder) rectifying(u models.Unit, title string, due time.Time, status string) (models.Case, models.Assignment) {
	s.t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	month := now.AddDate(0, -1, 0)
	tip := models.Tip{ReceiptHash: rand.Text(), Channel: models.ChannelWeb, CategoryID: s.category, Title: title,
		Content: "要求每个村每周报送三套内容相同的表格", Anonymous: true, CreatedAt: month}
	if err := s.db.Create(&tip).Error; err != nil {
		s.t.Fatal(err)
	}
	c := models.Case{TipID: tip.ID, CategoryID: s.category, Stage: models.StageRectify, StageEnteredAt: month,
		DueVersion: 1, Suggestions: "[]", VerifyTeam: "[]", CreatedAt: month, UpdatedAt: now}
	if err := s.db.Create(&c).Error; err != nil {
		s.t.Fatal(err)
	}
	due = due.UTC().Truncate(time.Microsecond)
	a := models.Assignment{CaseID: c.ID, UnitID: u.ID, Role: models.AssignGrassroots, Status: status, DueAt: &due,
		DueVersion: 1, CreatedAt: month, UpdatedAt: now}
	if err := s.db.Create(&a).Error; err != nil {
		s.t.Fatal(err)
	}
	return c, a
}

var caseLinkRe = regexp.MustCompile(`/console/cases/(\d+)`)

// linkedCases lists the case ids a mail body links to, sorted, once each.
func linkedCases(body string) []uint64 {
	var ids []uint64
	for _, m := range caseLinkRe.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseUint(m[1], 10, 64)
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func sortedIDs(cs ...models.Case) []uint64 {
	var ids []uint64
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	slices.Sort(ids)
	return ids
}

// inbox groups the received mails by recipient address.
func inbox(t *testing.T, app *apptest.App) map[string][]testenv.MailpitMessage {
	t.Helper()
	by := map[string][]testenv.MailpitMessage{}
	for _, m := range app.Mailpit.Messages(t) {
		for _, to := range m.To {
			by[to] = append(by[to], m)
		}
	}
	return by
}

func mailCount(t *testing.T, app *apptest.App) int { return len(app.Mailpit.Messages(t)) }

// runDigest queues the weekly run as the scheduler does.
func runDigest(t *testing.T, app *apptest.App) {
	t.Helper()
	c := asynq.NewClient(app.Redis)
	defer c.Close()
	if _, err := c.Enqueue(worker.NewDigestTask("")); err != nil {
		t.Fatalf("queue the weekly digest: %v", err)
	}
}

// county seeds three units with liaisons and cases, a quiet fourth unit,
// and the leaders; want maps each liaison to the cases their digest lists.
type county struct {
	want    map[string][]uint64
	subject map[string]string // liaison -> part of the subject
	quiet   string            // a liaison whose unit has nothing to report
	heads   []string          // leader and office addresses
	overdue []uint64          // every overdue case, for the summary
}

func seedCounty(t *testing.T, s *seeder) county {
	t.Helper()
	now := time.Now()
	day := 24 * time.Hour
	t1, t2, c1, t4 := s.unit("T01", "城关镇"), s.unit("T02", "河口乡"), s.unit("C01", "县教育局"), s.unit("T04", "清水镇")
	s.user("t1-a", models.RoleLiaison, &t1, "t1-a@town.example.gov.cn")
	s.user("t1-b", models.RoleLiaison, &t1, "t1-b@town.example.gov.cn")
	s.user("t2", models.RoleLiaison, &t2, "t2@town.example.gov.cn")
	s.user("c1", models.RoleLiaison, &c1, "c1@county.example.gov.cn")
	s.user("t4", models.RoleLiaison, &t4, "t4@town.example.gov.cn")
	s.user("leader", models.RoleLeader, nil, "leader@county.example.gov.cn")
	s.user("office", models.RoleOffice, nil, "office@county.example.gov.cn")

	a1, _ := s.rectifying(t1, "村级台账每周报三遍", now.Add(-9*day), models.AssignmentPending)
	a2, _ := s.rectifying(t1, "工作群每天要求截图打卡", now.Add(-2*day), models.AssignmentReturned)
	a3, _ := s.rectifying(t1, "迎检材料要求彩色打印装订", now.Add(3*day), models.AssignmentPending)
	s.rectifying(t1, "已提交整改报告，等待审核", now.Add(-5*day), models.AssignmentSubmitted)
	s.rectifying(t1, "下个月才到期", now.Add(20*day), models.AssignmentPending)
	b1, _ := s.rectifying(t2, "一票否决责任状层层签", now.Add(-4*day), models.AssignmentPending)
	c1a, _ := s.rectifying(c1, "学校迎检填表过多", now.Add(2*day), models.AssignmentPending)
	c1b, _ := s.rectifying(c1, "教师参加无关会议", now.Add(6*day), models.AssignmentReturned)
	s.rectifying(t4, "清水镇下个月的事", now.Add(25*day), models.AssignmentPending)
	s.rectifying(t4, "清水镇已通过的事", now.Add(-3*day), models.AssignmentAccepted)
	return county{
		want: map[string][]uint64{
			"t1-a@town.example.gov.cn": sortedIDs(a1, a2, a3), "t1-b@town.example.gov.cn": sortedIDs(a1, a2, a3),
			"t2@town.example.gov.cn": sortedIDs(b1), "c1@county.example.gov.cn": sortedIDs(c1a, c1b),
		},
		subject: map[string]string{
			"t1-a@town.example.gov.cn": "城关镇逾期2件、7日内到期1件", "t1-b@town.example.gov.cn": "城关镇逾期2件、7日内到期1件",
			"t2@town.example.gov.cn": "河口乡逾期1件", "c1@county.example.gov.cn": "县教育局7日内到期2件",
		},
		quiet:   "t4@town.example.gov.cn",
		heads:   []string{"leader@county.example.gov.cn", "office@county.example.gov.cn"},
		overdue: sortedIDs(a1, a2, b1),
	}
}

// checkCounty asserts that everyone got exactly the digest meant for them.
func checkCounty(t *testing.T, app *apptest.App, c county) {
	t.Helper()
	got := inbox(t, app)
	for to, want := range c.want {
		ms := got[to]
		if len(ms) != 1 {
			t.Errorf("%s got %d mails, want 1 digest", to, len(ms))
			continue
		}
		m := ms[0]
		if !strings.Contains(m.Subject, "每周待办") || !strings.Contains(m.Subject, c.subject[to]) {
			t.Errorf("%s: subject %q, want it to say %q", to, m.Subject, c.subject[to])
		}
		if ids := linkedCases(m.Text); !slices.Equal(ids, want) {
			t.Errorf("%s: text lists cases %v, want %v\n%s", to, ids, want, m.Text)
		}
		if ids := linkedCases(m.HTML); !slices.Equal(ids, want) {
			t.Errorf("%s: HTML lists cases %v, want %v", to, ids, want)
		}
		if !strings.Contains(m.Text, app.Config.BaseURL+"/console/cases/") {
			t.Errorf("%s: links do not start with JIANFU_BASE_URL %s", to, app.Config.BaseURL)
		}
	}
	if n := len(got[c.quiet]); n != 0 {
		t.Errorf("%s, whose unit has nothing due, got %d mails", c.quiet, n)
	}
	for _, to := range c.heads {
		ms := got[to]
		if len(ms) != 1 {
			t.Errorf("%s got %d mails, want 1 summary", to, len(ms))
			continue
		}
		m := ms[0]
		if !strings.Contains(m.Subject, "每周汇总") || !strings.Contains(m.Subject, "逾期交办事项3件") {
			t.Errorf("%s: summary subject %q", to, m.Subject)
		}
		for _, line := range []string{"城关镇：2 / 1 / 4", "河口乡：1 / 0 / 1", "县教育局：0 / 2 / 2", "办结率"} {
			if !strings.Contains(m.Text, line) {
				t.Errorf("%s: summary lacks %q:\n%s", to, line, m.Text)
			}
		}
		if ids := linkedCases(m.Text); !slices.Equal(ids, c.overdue) {
			t.Errorf("%s: summary lists overdue cases %v, want %v", to, ids, c.overdue)
		}
	}
}

func TestWeeklyDigest(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true, NoWorker: true,
				Env: map[string]string{"JIANFU_BASE_URL": "https://jianfu.example.gov.cn"}})
			s := newSeeder(t, app)
			c := seedCounty(t, s)
			app.StartWorker()
			runDigest(t, app)
			apptest.Eventually(t, 30*time.Second, "four unit digests and the summary", func() bool {
				return mailCount(t, app) >= 4
			})
			app.Drain(t, 30*time.Second) // every mail task has run: a fifth mail would be in
			checkCounty(t, app, c)
			if n := mailCount(t, app); n != 4 {
				t.Errorf("%d mails, want 4 (3 units, 1 summary)", n)
			}

			// Office staff preview a unit's digest; liaisons may not.
			s.user("office2", models.RoleOffice, nil, "")
			office := app.Login(t, "office2", digestPassword)
			res := office.JSON(t, http.MethodGet, "/api/v1/digests/preview?unit=T01", nil)
			if res.Status != http.StatusOK {
				t.Fatalf("preview: %d %s", res.Status, res.Raw)
			}
			if n := len(res.Body["overdue"].([]any)); n != 2 || len(res.Body["due_soon"].([]any)) != 1 {
				t.Errorf("preview of T01: %d overdue, %v due soon", n, res.Body["due_soon"])
			}
			if res := office.JSON(t, http.MethodGet, "/api/v1/digests/preview", nil); res.Status != http.StatusOK ||
				res.Body["overdue_assignments"] != float64(3) {
				t.Errorf("summary preview: %d %s", res.Status, res.Raw)
			}
			if res := office.JSON(t, http.MethodGet, "/api/v1/digests/preview?unit=NOPE", nil); res.Status != http.StatusNotFound {
				t.Errorf("preview of an unknown unit: %d", res.Status)
			}
			liaison := app.Login(t, "t2", digestPassword)
			if res := liaison.JSON(t, http.MethodGet, "/api/v1/digests/preview?unit=T02", nil); res.Status != http.StatusForbidden {
				t.Errorf("liaison preview: %d, want 403", res.Status)
			}
		})
	}
}

func TestDigestOncePerWeek(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true, NoWorker: true})
			c := seedCounty(t, newSeeder(t, app))
			app.StartWorker()

			// Two scheduler processes firing every second, at once.
			var schedulers []*asynq.Scheduler
			for range 2 {
				s, err := worker.NewScheduler(worker.SchedulerParams{Redis: app.Redis, DigestCron: "@every 1s",
					Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Start(); err != nil {
					t.Fatal(err)
				}
				schedulers = append(schedulers, s)
			}
			time.Sleep(3500 * time.Millisecond)
			for _, s := range schedulers {
				s.Shutdown()
			}
			apptest.Eventually(t, 30*time.Second, "the digests", func() bool { return mailCount(t, app) >= 4 })

			// The weekly job again, twice at once, and `jianfu digest send`.
			var wg sync.WaitGroup
			for range 2 {
				wg.Go(func() {
					c := asynq.NewClient(app.Redis)
					defer c.Close()
					if _, err := c.Enqueue(worker.NewDigestTask("")); err != nil {
						t.Errorf("queue the weekly digest: %v", err)
					}
				})
			}
			wg.Wait()
			d := worker.NewDigester(worker.DigesterParams{Store: app.Store, Mailer: app.Mailer, BaseURL: app.Config.BaseURL})
			ds, err := d.SendWeek(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			for _, dl := range ds {
				if dl.Outcome != worker.OutcomeDone {
					t.Errorf("digest send: %s %s, want done", dl.Scope, dl.Outcome)
				}
			}
			time.Sleep(2 * time.Second)
			checkCounty(t, app, c)
			if n := mailCount(t, app); n != 4 {
				t.Errorf("%d mails after several runs, want 4", n)
			}
		})
	}
}

// stallingMailer lets the first pass sends through, then holds every send
// until release is closed: a process that is about to die mid-run.
type stallingMailer struct {
	next    worker.Mailer
	pass    int32
	sends   atomic.Int32
	stalled atomic.Int32
	release chan struct{}
}

func (m *stallingMailer) Send(ctx context.Context, msg worker.Message) error {
	if m.sends.Add(1) > m.pass {
		m.stalled.Add(1)
		select {
		case <-m.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return m.next.Send(ctx, msg)
}

func TestDigestResumesAfterKill(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			app := apptest.Start(t, apptest.Options{Backend: b, Mailpit: true, NoWorker: true})
			s := newSeeder(t, app)
			s.user("leader", models.RoleLeader, nil, "leader@county.example.gov.cn")
			want := map[string][]uint64{}
			for i := range 8 {
				u := s.unit(fmt.Sprintf("T%02d", i), fmt.Sprintf("第%d镇", i+1))
				to := fmt.Sprintf("liaison%d@town.example.gov.cn", i)
				s.user(fmt.Sprintf("liaison%d", i), models.RoleLiaison, &u, to)
				c, _ := s.rectifying(u, "逾期未整改", time.Now().Add(-72*time.Hour), models.AssignmentPending)
				want[to] = []uint64{c.ID}
			}
			const total = 9 // 8 units and the summary

			m := &stallingMailer{next: app.Mailer, pass: 2, release: make(chan struct{})}
			app.StartWorkerWith(apptest.WorkerOptions{Mailer: m})
			runDigest(t, app)
			apptest.Eventually(t, 30*time.Second, "two digests out and the worker busy", func() bool {
				return m.stalled.Load() == 4 && mailCount(t, app) == 2
			})
			stopped := make(chan struct{})
			go func() { app.StopWorker(); close(stopped) }()
			time.Sleep(500 * time.Millisecond) // the worker takes no new task
			close(m.release)                   // the sends in flight finish
			<-stopped
			sent := mailCount(t, app)
			if sent >= total {
				t.Fatalf("all %d digests went out before the worker stopped", sent)
			}
			t.Logf("%d of %d digests out when the worker stopped", sent, total)

			// One unit's sender had claimed its digest and died before
			// mailing: the claim lapses and the resumed run sends it.
			week := app.Store.CurrentWeek()
			rows, err := app.Store.WeekDigests(ctx, week)
			if err != nil {
				t.Fatal(err)
			}
			pending := 0
			for _, r := range rows {
				if r.Status != models.DigestPending {
					continue
				}
				if pending == 0 {
					old := time.Now().Add(-models.DigestLease - time.Minute).UTC()
					if err := s.db.Model(&models.Digest{}).Where("id = ?", r.ID).
						Updates(map[string]any{"status": models.DigestSending, "claimed_at": old}).Error; err != nil {
						t.Fatal(err)
					}
				}
				pending++
			}
			if pending != total-sent {
				t.Errorf("%d digests pending, want %d", pending, total-sent)
			}

			app.StartWorker()
			apptest.Eventually(t, 30*time.Second, "the rest of the digests", func() bool { return mailCount(t, app) >= total })
			time.Sleep(time.Second)
			got := inbox(t, app)
			for to, ids := range want {
				if len(got[to]) != 1 {
					t.Errorf("%s got %d digests, want 1", to, len(got[to]))
				} else if l := linkedCases(got[to][0].Text); !slices.Equal(l, ids) {
					t.Errorf("%s: cases %v, want %v", to, l, ids)
				}
			}
			if n := len(got["leader@county.example.gov.cn"]); n != 1 {
				t.Errorf("leader got %d summaries, want 1", n)
			}
			if n := mailCount(t, app); n != total {
				t.Errorf("%d mails, want %d", n, total)
			}
		})
	}
}

func TestDigestPreview(t *testing.T) {
	for _, b := range testenv.Backends(t)[:1] {
		app := apptest.Start(t, apptest.Options{Backend: b, NoWorker: true})
		s := newSeeder(t, app)
		u := s.unit("T01", "城关镇")
		c, _ := s.rectifying(u, "台账<script>重复</script>填报", time.Now().Add(-48*time.Hour), models.AssignmentPending)
		d := worker.NewDigester(worker.DigesterParams{Store: app.Store, BaseURL: "https://jianfu.example.gov.cn/"})
		m, send, err := d.Preview(context.Background(), "T01")
		if err != nil {
			t.Fatal(err)
		}
		if send {
			t.Error("a unit without a liaison email would be sent a digest")
		}
		link := fmt.Sprintf("https://jianfu.example.gov.cn/console/cases/%d", c.ID)
		if !strings.Contains(m.Text, link) || !strings.Contains(m.HTML, link) {
			t.Errorf("no link %s in the preview:\n%s", link, m.Text)
		}
		if strings.Contains(m.HTML, "<script>") {
			t.Error("the title is not escaped in HTML")
		}
		if _, _, err := d.Preview(context.Background(), "NOPE"); err == nil {
			t.Error("preview of an unknown unit")
		}
	}
}
