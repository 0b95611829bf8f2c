package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"jianfu/apptest"
	"jianfu/models"
	"jianfu/testenv"
)

// TestQuestionsToTipster: the office asks the tipster a question during
// verification; the tipster reads it on lookup and answers it; the office
// gets a notice of the message, the queue marks the case until the office
// opens it, and a second answer to the same question is refused.
func TestQuestionsToTipster(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			w := newCounty(t, b, wfDeadlines)
			id, receipt := w.submit("检查太多")
			path := fmt.Sprintf("/api/v1/cases/%d", id)
			w.do("office", http.MethodPost, path+"/questions", map[string]string{"text": ""}, http.StatusBadRequest)
			res := w.do("office", http.MethodPost, path+"/questions", map[string]string{"text": "请问检查分别是哪几天？"}, http.StatusCreated)
			qid := uint64(res.Body["id"].(float64))

			l := w.lookup(receipt)
			qs := l.Body["questions"].([]any)
			if len(qs) != 1 {
				t.Fatalf("lookup questions %s", l.Raw)
			}
			q := qs[0].(map[string]any)
			if uint64(q["id"].(float64)) != qid || q["text"] != "请问检查分别是哪几天？" || q["answered"] != false {
				t.Errorf("question %v", q)
			}

			answer := func(question uint64, want int) {
				t.Helper()
				res := w.c["public"].JSON(t, http.MethodPost, "/api/v1/tips/messages",
					map[string]any{"receipt": receipt, "text": "3月3日、3月10日和3月17日。", "question_id": question})
				if res.Status != want {
					t.Fatalf("answer %d: %d %s, want %d", question, res.Status, res.Raw, want)
				}
			}
			answer(qid+1000, http.StatusBadRequest)
			answer(qid, http.StatusCreated)
			answer(qid, http.StatusBadRequest)
			if q := w.lookup(receipt).Body["questions"].([]any)[0].(map[string]any); q["answered"] != true {
				t.Errorf("after the answer: %v", q)
			}

			unread := func(who string) float64 {
				t.Helper()
				res := w.do(who, http.MethodGet, "/api/v1/cases", nil, http.StatusOK)
				for _, it := range res.Body["items"].([]any) {
					m := it.(map[string]any)
					if uint64(m["id"].(float64)) == id {
						return m["unread_messages"].(float64)
					}
				}
				t.Fatalf("case %d not in %s's list", id, who)
				return 0
			}
			if n := unread("leader"); n != 1 {
				t.Errorf("unread %v, want 1", n)
			}
			w.detail("leader", id) // a leader reading does not clear it
			if n := unread("office"); n != 1 {
				t.Errorf("unread after the leader read it: %v, want 1", n)
			}
			w.detail("office", id)
			if n := unread("office"); n != 0 {
				t.Errorf("unread after the office opened the case: %v", n)
			}
			d := w.detail("office", id)
			if countKind(d, models.EventQuestion, 0) != 1 || countKind(d, models.EventTipsterMessage, 0) != 1 {
				t.Errorf("timeline %v", staffKinds(d))
			}
			// The office is told of the message by mail.
			apptest.Eventually(t, 20*time.Second, "the office's notice of the message", func() bool {
				return w.mailTo("office1@example.gov.cn", "") == 1
			})

			// Not in rectify.
			rid, _ := w.bring(pRectify)
			w.do("office", http.MethodPost, fmt.Sprintf("/api/v1/cases/%d/questions", rid),
				map[string]string{"text": "还有别的情况吗？"}, http.StatusConflict)
		})
	}
}
