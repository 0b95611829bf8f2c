package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// wfCounty is a running Jianfu with a small county: the township T1, the
// county departments D1 and D2, and a logged-in client per kind of user.
type wfCounty struct {
	t      *testing.T
	ctx    context.Context
	a      *apptest.App
	office models.Principal // for fixtures made through the store
	// clients by who: admin, office, leader, liaison-t1, liaison-d1,
	// liaison-d2, anonymous (no login), public (the tipster).
	c map[string]*apptest.Client
}

const wfPassword = "password-123456"

// cheapHash is wfPassword hashed at bcrypt's lowest cost.
var cheapHash = sync.OnceValue(func() string {
	h, err := bcrypt.GenerateFromPassword([]byte(wfPassword), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
})

func newCounty(t *testing.T, b testenv.Backend, deadlines string) *wfCounty {
	t.Helper()
	a := apptest.Start(t, apptest.Options{Backend: b, Env: map[string]string{"JIANFU_DEADLINES": deadlines,
		"JIANFU_NOTICE_BATCH_DELAY": "100ms"}})
	w := &wfCounty{t: t, ctx: context.Background(), a: a, c: map[string]*apptest.Client{}}
	units := map[string]uint64{}
	for _, u := range []struct{ code, name, kind string }{
		{"T1", "城关镇", models.UnitTownship}, {"D1", "县数据资源管理局", models.UnitCounty}, {"D2", "县教育局", models.UnitCounty},
	} {
		units[u.code] = a.CreateUnit(t, u.code, u.name, u.kind).ID
	}
	// The accounts are written straight into the database with a cheap
	// password hash: bcrypt at its real cost takes seconds per account
	// under the race detector, and logging in is not what is tested here.
	db := a.DB(t)
	for _, u := range []struct{ who, name, role, unit string }{
		{"admin", "admin1", models.RoleAdmin, ""}, {"office", "office1", models.RoleOffice, ""},
		{"leader", "leader1", models.RoleLeader, ""}, {"liaison-t1", "liaison_t1", models.RoleLiaison, "T1"},
		{"liaison-d1", "liaison_d1", models.RoleLiaison, "D1"}, {"liaison-d2", "liaison_d2", models.RoleLiaison, "D2"},
		{"auditor", "auditor1", models.RoleAuditor, ""},
	} {
		now := time.Now().UTC()
		user := models.User{Username: u.name, PasswordHash: cheapHash(), Role: u.role, Email: u.name + "@example.gov.cn",
			CreatedAt: now, UpdatedAt: now}
		if u.unit != "" {
			id := units[u.unit]
			user.UnitID = &id
		}
		if err := db.Create(&user).Error; err != nil {
			t.Fatalf("create user %s: %v", u.name, err)
		}
		if u.who == "office" {
			w.office = models.Principal{UserID: user.ID, Username: u.name, Role: u.role}
		}
		w.c[u.who] = a.Login(t, u.name, wfPassword)
	}
	w.c["anonymous"] = a.Client()
	w.c["public"] = a.Client()
	return w
}

// submit sends a real-name tip through the public API and returns the
// case id (as the office's list shows it) and the receipt.
func (w *wfCounty) submit(title string) (uint64, string) {
	w.t.Helper()
	res := w.c["public"].JSON(w.t, http.MethodPost, "/api/v1/tips", map[string]any{
		"category": "digital", "title": title, "township": "T1", "anonymous": false,
		"content": "镇里要求每天在5个政务App上打卡签到，同一组数据还要在3个系统重复录入。",
		"contact": map[string]string{"name": "张三", "phone": "13800000000"},
	})
	if res.Status != http.StatusCreated {
		w.t.Fatalf("submit tip: %d %s", res.Status, res.Raw)
	}
	receipt := res.Body["receipt"].(string)
	id, err := w.a.Store.CaseIDByReceipt(w.ctx, receipt)
	if err != nil {
		w.t.Fatal(err)
	}
	// Routing runs in the worker; waiting for it keeps timelines in a
	// known order.
	apptest.Eventually(w.t, 10*time.Second, "routing", func() bool {
		return slices.Contains(staffKinds(w.detail("office", id)), models.EventRouted)
	})
	return id, receipt
}

// do sends a staff request as who and checks the status.
func (w *wfCounty) do(who, method, path string, body any, want int) apptest.Response {
	w.t.Helper()
	res := w.c[who].JSON(w.t, method, path, body)
	if res.Status != want {
		w.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, who, res.Status, res.Raw, want)
	}
	return res
}

// detail is the case page as who sees it.
func (w *wfCounty) detail(who string, id uint64) models.CaseDetail {
	w.t.Helper()
	res := w.do(who, http.MethodGet, fmt.Sprintf("/api/v1/cases/%d", id), nil, http.StatusOK)
	var d models.CaseDetail
	if err := json.Unmarshal(res.Raw, &d); err != nil {
		w.t.Fatal(err)
	}
	return d
}

// staffKinds lists a case's timeline kinds, without the timer events, which
// depend on the clock rather than on the workflow.
func staffKinds(d models.CaseDetail) []string {
	var out []string
	for _, e := range d.Timeline {
		switch e.Kind {
		case models.EventReminder, models.EventOverdue, models.EventEscalated:
			continue
		}
		out = append(out, e.Kind)
	}
	return out
}

// lookup is the tipster's view.
func (w *wfCounty) lookup(receipt string) apptest.Response {
	w.t.Helper()
	res := w.c["public"].JSON(w.t, http.MethodPost, "/api/v1/tips/lookup", map[string]string{"receipt": receipt})
	if res.Status != http.StatusOK {
		w.t.Fatalf("lookup: %d %s", res.Status, res.Raw)
	}
	return res
}

func publicKinds(res apptest.Response) []string {
	var out []string
	for _, e := range res.Body["timeline"].([]any) {
		out = append(out, e.(map[string]any)["kind"].(string))
	}
	return out
}

func wantSeq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// pngEvidence is a small real PNG (a photo of the rectified notice board).
func pngEvidence(t *testing.T) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// report submits a rectification report as who, as multipart with one
// evidence file.
func (w *wfCounty) report(who string, assignment uint64, text string) {
	w.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("report", text)
	fw, _ := mw.CreateFormFile("files", "整改后.png")
	fw.Write(pngEvidence(w.t))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/assignments/%d/rectification", w.a.URL, assignment), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if res := w.c[who].Do(w.t, req); res.Status != http.StatusOK {
		w.t.Fatalf("rectification as %s: %d %s", who, res.Status, res.Raw)
	}
}

// mailTo counts the mails in the outbox directory addressed to addr whose
// text contains words.
func (w *wfCounty) mailTo(addr, words string) int {
	files, _ := filepath.Glob(filepath.Join(w.a.Config.DataDir, "outbox", "*.eml"))
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(addr)) && (words == "" || bytes.Contains(b, []byte(words))) {
			n++
		}
	}
	return n
}

const wfDeadlines = "collect=1h,assign=1h,verify=1h,rectify=1h,feedback=1h,evaluation=4s,escalation=1h"

func TestCaseWorkflow(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			// The administrator's routing rule suggests D1 for digital
			// burdens; the tip's township is suggested as the grassroots side.
			w.do("admin", http.MethodPost, "/api/v1/admin/routing-rules",
				map[string]any{"category": "digital", "unit": "D1", "role": "county"}, http.StatusCreated)

			t.Run("dual assignment, returned once, reopened, closed", func(t *testing.T) {
				w.t = t
				id, receipt := w.submit("每天5个App打卡")
				path := fmt.Sprintf("/api/v1/cases/%d", id)
				d := w.detail("office", id)
				if d.Suggestions[0].Unit != "T1" || d.Suggestions[1].Unit != "D1" {
					t.Fatalf("suggestions: %+v", d.Suggestions)
				}
				w.do("office", http.MethodPost, path+"/accept", nil, http.StatusOK)
				// A wrong-stage action answers 409 and changes nothing.
				before := w.detail("office", id)
				w.do("office", http.MethodPost, path+"/accept", nil, http.StatusConflict)
				w.do("office", http.MethodPost, path+"/verification", map[string]any{"finding": "partly", "report": "部分属实"}, http.StatusConflict)
				if after := w.detail("office", id); len(after.Timeline) != len(before.Timeline) || after.Stage != before.Stage {
					t.Fatalf("a refused action changed the case: %v → %v", staffKinds(before), staffKinds(after))
				}
				w.do("office", http.MethodPost, path+"/assign", map[string]any{
					"assignments": []map[string]string{{"unit": "T1", "role": "grassroots"}, {"unit": "D1", "role": "county"}},
					"verify_team": []string{"T1", "D1"}, "note": "请两单位联合核查",
				}, http.StatusOK)
				as := w.detail("office", id).Assignments
				if len(as) != 2 || as[0].Unit != "T1" || as[1].Unit != "D1" || as[0].Role != "grassroots" || as[1].Role != "county" {
					t.Fatalf("assignments: %+v", as)
				}
				t1, d1 := as[0].ID, as[1].ID
				apptest.Eventually(t, 10*time.Second, "dispatch notices to both units", func() bool {
					return w.mailTo("liaison_t1@example.gov.cn", "") >= 1 && w.mailTo("liaison_d1@example.gov.cn", "") >= 1
				})
				if n := w.mailTo("liaison_d2@example.gov.cn", ""); n != 0 {
					t.Fatalf("the unassigned unit got %d mails", n)
				}
				// Each liaison sees the case and only their own assignment.
				if mine := w.detail("liaison-d1", id); len(mine.Assignments) != 1 || mine.Assignments[0].ID != d1 || mine.Anonymous != nil {
					t.Fatalf("liaison D1's page: %+v", mine)
				}
				w.do("liaison-d2", http.MethodGet, path, nil, http.StatusNotFound)
				w.do("office", http.MethodPost, path+"/verification",
					map[string]any{"finding": "substantiated", "report": "联合核查：问题属实，涉及县数据资源管理局统一部署的打卡App。"}, http.StatusOK)

				// The township's liaison cannot touch the department's share.
				w.do("liaison-t1", http.MethodPost, fmt.Sprintf("/api/v1/assignments/%d/rectification", d1),
					map[string]string{"report": "代为提交"}, http.StatusNotFound)
				w.report("liaison-t1", t1, "镇里已取消镇级打卡要求。")
				w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/assignments/%d/review", t1), map[string]string{"decision": "accept"}, http.StatusOK)
				w.report("liaison-d1", d1, "正在整合App。")
				w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/assignments/%d/review", d1),
					map[string]string{"decision": "return", "comment": "请附整合后的系统截图"}, http.StatusOK)
				if a := w.detail("liaison-d1", id).Assignments[0]; a.Status != models.AssignmentReturned || a.ReviewComment != "请附整合后的系统截图" {
					t.Fatalf("returned assignment: %+v", a)
				}
				w.report("liaison-d1", d1, "已整合为一个App，附截图。")
				res := w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/assignments/%d/review", d1), map[string]string{"decision": "accept"}, http.StatusOK)
				if res.Body["stage"] != models.StageFeedback {
					t.Fatalf("all accepted: stage %v", res.Body["stage"])
				}
				w.do("office", http.MethodPost, path+"/reply", map[string]string{"text": "经核查属实，已取消镇级打卡并整合App。"}, http.StatusOK)
				w.do("public", http.MethodPost, "/api/v1/tips/evaluation",
					map[string]string{"receipt": receipt, "rating": "unsatisfied", "comment": "还要在一个App上打卡"}, http.StatusOK)
				w.do("office", http.MethodPost, path+"/reopen", map[string]string{"reason": "核实剩余App"}, http.StatusOK)
				for _, a := range []struct {
					who string
					id  uint64
				}{{"liaison-t1", t1}, {"liaison-d1", d1}} {
					w.report(a.who, a.id, "剩余App已停用。")
					w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/assignments/%d/review", a.id), map[string]string{"decision": "accept"}, http.StatusOK)
				}
				w.do("office", http.MethodPost, path+"/reply", map[string]string{"text": "剩余App已停用。"}, http.StatusOK)
				w.do("office", http.MethodPost, path+"/close", map[string]string{"note": "整改到位，予以办结。"}, http.StatusOK)

				d2 := w.detail("office", id)
				wantSeq(t, "staff timeline", staffKinds(d2), []string{"submitted", "routed", "accepted", "dispatched", "verified",
					"rectification_submitted", "rectification_accepted", "rectification_submitted", "rectification_returned",
					"rectification_submitted", "rectification_accepted", "rectified", "replied", "rated", "reopened",
					"rectification_submitted", "rectification_accepted", "rectification_submitted", "rectification_accepted",
					"rectified", "replied", "closed"})
				if d2.Stage != models.StageClosed || d2.DueAt != nil || d2.Overdue || d2.ReopenCount != 1 {
					t.Fatalf("closed case: stage %s due %v reopened %d", d2.Stage, d2.DueAt, d2.ReopenCount)
				}
				if ev := d2.Assignments[1].Evidence; len(ev) != 3 || ev[0].ContentType != "image/png" {
					t.Fatalf("D1's evidence: %+v", ev)
				}
				pub := w.lookup(receipt)
				wantSeq(t, "tipster's timeline", publicKinds(pub), []string{"submitted", "accepted", "dispatched", "verified",
					"rectified", "replied", "rated", "reopened", "rectified", "replied", "closed"})
				for _, secret := range []string{"城关镇", "县数据资源管理局", "office1", "liaison", "联合核查：", "正在整合App", "请附整合后"} {
					if strings.Contains(string(pub.Raw), secret) {
						t.Errorf("the tipster's view shows %q: %s", secret, pub.Raw)
					}
				}
			})

			t.Run("unsubstantiated, closed unrated when the window ends", func(t *testing.T) {
				w.t = t
				id, receipt := w.submit("要求拍照留痕")
				path := fmt.Sprintf("/api/v1/cases/%d", id)
				w.do("office", http.MethodPost, path+"/accept", nil, http.StatusOK)
				w.do("office", http.MethodPost, path+"/assign", map[string]any{
					"assignments": []map[string]string{{"unit": "D2", "role": "county"}}}, http.StatusOK)
				d := w.do("office", http.MethodPost, path+"/verification",
					map[string]any{"finding": "unsubstantiated", "report": "经核查，未发现要求拍照留痕的情况。"}, http.StatusOK).Body
				if d["stage"] != models.StageFeedback {
					t.Fatalf("unsubstantiated: stage %v", d["stage"])
				}
				if a := w.detail("office", id).Assignments[0]; a.Status != models.AssignmentNotRequired || a.DueAt != nil {
					t.Fatalf("assignment of an unsubstantiated case: %+v", a)
				}
				w.do("office", http.MethodPost, path+"/reply", map[string]string{"text": "经核查，反映的情况不属实。"}, http.StatusOK)
				if pub := w.lookup(receipt); pub.Body["can_rate"] != true {
					t.Fatalf("the tipster cannot rate: %s", pub.Raw)
				}
				apptest.Eventually(t, 20*time.Second, "the unrated case to close", func() bool {
					return w.detail("office", id).Stage == models.StageClosed
				})
				d2 := w.detail("office", id)
				wantSeq(t, "staff timeline", staffKinds(d2), []string{"submitted", "routed", "accepted", "dispatched", "verified", "replied", "closed"})
				if d2.Rating != models.RatingNotRated {
					t.Fatalf("rating %q", d2.Rating)
				}
				w.do("public", http.MethodPost, "/api/v1/tips/evaluation", map[string]string{"receipt": receipt, "rating": "satisfied"}, http.StatusConflict)
				pub := w.lookup(receipt)
				wantSeq(t, "tipster's timeline", publicKinds(pub), []string{"submitted", "accepted", "dispatched", "verified", "replied", "closed"})
				if pub.Body["stage"] != models.StageClosed {
					t.Fatalf("tipster sees stage %v", pub.Body["stage"])
				}
			})

			t.Run("rejected", func(t *testing.T) {
				w.t = t
				id, receipt := w.submit("不属于减负的问题")
				path := fmt.Sprintf("/api/v1/cases/%d", id)
				res := w.do("office", http.MethodPost, path+"/reject", map[string]string{}, http.StatusBadRequest)
				if res.Body["error"].(map[string]any)["fields"].(map[string]any)["reason"] == nil {
					t.Fatalf("reject without reason: %s", res.Raw)
				}
				w.do("office", http.MethodPost, path+"/reject", map[string]string{"reason": "反映的是个人劳动争议，请向劳动仲裁部门反映"}, http.StatusOK)
				wantSeq(t, "staff timeline", staffKinds(w.detail("office", id)), []string{"submitted", "routed", "rejected"})
				pub := w.lookup(receipt)
				wantSeq(t, "tipster's timeline", publicKinds(pub), []string{"submitted", "rejected"})
				if pub.Body["stage"] != models.StageClosed || !strings.Contains(string(pub.Raw), "劳动仲裁") {
					t.Fatalf("the tipster does not see the reason: %s", pub.Raw)
				}
			})

			t.Run("merged", func(t *testing.T) {
				w.t = t
				into, intoReceipt := w.submit("打卡App太多")
				id, receipt := w.submit("打卡App太多（重复反映）")
				path := fmt.Sprintf("/api/v1/cases/%d", id)
				w.do("office", http.MethodPost, path+"/merge", map[string]any{"into": id}, http.StatusBadRequest)
				w.do("office", http.MethodPost, path+"/merge", map[string]any{"into": into}, http.StatusOK)
				d := w.detail("office", id)
				if d.Stage != models.StageClosed || d.MergedInto == nil || *d.MergedInto != into {
					t.Fatalf("merged case: %+v", d)
				}
				wantSeq(t, "staff timeline", staffKinds(d), []string{"submitted", "routed", "merged"})
				wantSeq(t, "the other case's timeline", staffKinds(w.detail("office", into)), []string{"submitted", "routed", "merge_received"})
				wantSeq(t, "tipster's timeline", publicKinds(w.lookup(receipt)), []string{"submitted", "merged"})
				wantSeq(t, "the other tipster's timeline", publicKinds(w.lookup(intoReceipt)), []string{"submitted"})
				w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/merge", into), map[string]any{"into": id}, http.StatusBadRequest)
			})

			t.Run("extension", func(t *testing.T) {
				w.t = t
				id, _ := w.submit("层层加码")
				path := fmt.Sprintf("/api/v1/cases/%d", id)
				w.do("office", http.MethodPost, path+"/accept", nil, http.StatusOK)
				w.do("office", http.MethodPost, path+"/assign", map[string]any{
					"assignments": []map[string]string{{"unit": "D1", "role": "county"}}}, http.StatusOK)
				w.do("office", http.MethodPost, path+"/verification", map[string]any{"finding": "partly", "report": "部分属实。"}, http.StatusOK)
				a := w.detail("liaison-d1", id).Assignments[0]
				ext := fmt.Sprintf("/api/v1/assignments/%d/extension", a.ID)
				w.do("liaison-d1", http.MethodPost, ext, map[string]any{"working_days": 31, "reason": "系统改造"}, http.StatusBadRequest)
				w.do("liaison-d1", http.MethodPost, ext, map[string]any{"working_days": 10, "reason": "系统改造需要招标"}, http.StatusOK)
				w.do("liaison-d1", http.MethodPost, ext, map[string]any{"working_days": 5, "reason": "再申请"}, http.StatusConflict)
				w.do("liaison-d1", http.MethodPost, ext+"/decision", map[string]string{"decision": "approve"}, http.StatusForbidden)
				w.do("office", http.MethodPost, ext+"/decision", map[string]string{"decision": "approve"}, http.StatusOK)
				got := w.detail("liaison-d1", id).Assignments[0]
				if got.Extension == nil || got.Extension.GrantedDays != 10 || got.DueAt == nil ||
					!got.DueAt.Equal(w.a.Store.Calendar().AddWorkdays(*a.DueAt, 10)) {
					t.Fatalf("after the extension: %+v (due before %v)", got, a.DueAt)
				}
				w.do("liaison-d1", http.MethodPost, ext, map[string]any{"working_days": 21, "reason": "还需要时间"}, http.StatusBadRequest)
				w.do("liaison-d1", http.MethodPost, ext, map[string]any{"working_days": 20, "reason": "还需要时间"}, http.StatusOK)
				w.do("office", http.MethodPost, ext+"/decision", map[string]string{"decision": "reject"}, http.StatusBadRequest)
				w.do("office", http.MethodPost, ext+"/decision", map[string]string{"decision": "reject", "comment": "时限已足够"}, http.StatusOK)
				wantSeq(t, "timeline", staffKinds(w.detail("office", id))[5:], []string{"extension_requested", "extension_approved",
					"extension_requested", "extension_rejected"})
			})
		})
	}
}
