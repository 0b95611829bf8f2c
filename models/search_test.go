package models

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"jianfu/testenv"
)

// TestSearchWords: the keyword search finds Chinese words of two, three
// and four characters, Latin letters and digits, in the title, the content
// or the implicated unit; never a word put together across two fields or
// from pairs found apart; takes LIKE wildcards literally; finds a case by
// the words of a tip merged into it and by words its text gained later;
// and combines with the other filters, newest first.
func TestSearchWords(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		for _, window := range []uint64{recentWindow, 2} {
			t.Run(fmt.Sprintf("%s/window %d", b.Name, window), func(t *testing.T) {
				testSearchWords(t, b, window)
			})
		}
	}
}

// testSearchWords runs the search cases with the given recent window: the
// default reads these few cases without the index, 2 makes every search
// ask the full-text index for all but the newest two cases.
func testSearchWords(t *testing.T, b testenv.Backend, window uint64) {
	f := newFlow(t, b)
	f.s.searchWindow = window
	submit := func(title, content, unit string) uint64 {
		t.Helper()
		r, err := f.s.CreateTip(f.ctx, TipInput{Category: "digital", Title: title, Content: content,
			ImplicatedUnit: unit, Township: "T1", Anonymous: true})
		f.must("create tip", err)
		f.advance(1)
		return r.CaseID
	}
	app := submit("每天5个App打卡", "镇里要求干部在政务App上打卡签到，编号12345的通知还要求每天截图。", "")
	quota := submit("材料报送", "县里要求每周报送材料，表格层层加码，要求100%完成。", "县统计局")
	// "打" ends the title and "卡" starts the content: no 打卡 here.
	split := submit("周末开会要求打", "卡点等候的通知没人解释，只能一直等待下去。", "")
	// 留痕 in the title and 痕迹 in the content: every pair of 留痕迹
	// is in the case, the word is not.
	apart := submit("要求打卡留痕", "痕迹材料每个村每月统计一次。", "")
	merged := submit("重复填报", "同一组数据甲乙丙丁要录入三次，每次格式都不一样。", "")
	f.route() // which indexes the new cases

	search := func(filter CaseFilter) []uint64 {
		t.Helper()
		page, err := f.s.ListCases(f.ctx, f.office, filter)
		f.must("search "+filter.Q, err)
		var ids []uint64
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		q    string
		want []uint64
	}{
		{"打卡", []uint64{apart, app}}, // two characters, newest first
		{"统计局", []uint64{quota}},     // three, in the implicated unit
		{"层层加码", []uint64{quota}},    // four
		{"App", []uint64{app}},       // Latin
		{"app", []uint64{app}},       // any case
		{"12345", []uint64{app}},     // digits
		{"1234", []uint64{app}},      // part of a number
		{"123456", nil},              // more than the text has
		{"App上打卡", []uint64{app}},    // mixed
		{"留痕迹", nil},                 // pairs found apart
		{"打卡签", []uint64{app}},
		{"要求打卡点", nil},                     // across title and content
		{"100%", []uint64{quota}},          // % is a character
		{"100%完成", []uint64{quota}},        // and stays one
		{"10_%", nil},                      // _ is a character too
		{"加码%", nil},                       // not "加码 followed by anything"
		{"打", []uint64{apart, split, app}}, // one character
		{"  打卡  ", []uint64{apart, app}},   // spaces around
		// A number is a case id and also words: case 2, and 2 in 12345.
		{strconv.FormatUint(quota, 10), []uint64{quota, app}},
	} {
		if got := search(CaseFilter{Q: tc.q}); !slices.Equal(got, tc.want) {
			t.Errorf("q=%q: got %v, want %v", tc.q, got, tc.want)
		}
	}

	// With the other filters.
	f.must("accept", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: app}))
	if got := search(CaseFilter{Q: "打卡", Stage: StageAssign}); !slices.Equal(got, []uint64{app}) {
		t.Errorf("打卡 in assign: %v, want %v", got, []uint64{app})
	}
	if got := search(CaseFilter{Q: "打卡", From: "2026-03-02", To: "2026-03-02"}); !slices.Equal(got, []uint64{apart, app}) {
		t.Errorf("打卡 on 2026-03-02: %v", got)
	}
	if got := search(CaseFilter{Q: "打卡", To: "2026-03-01"}); len(got) != 0 {
		t.Errorf("打卡 before March: %v", got)
	}
	if got := search(CaseFilter{Q: "打卡", Limit: 1}); !slices.Equal(got, []uint64{apart}) {
		t.Errorf("打卡, first page of one: %v", got)
	}

	// A merged tip's words find the case it was merged into.
	if got := search(CaseFilter{Q: "甲乙丙"}); !slices.Equal(got, []uint64{merged}) {
		t.Fatalf("甲乙丙 before the merge: %v", got)
	}
	f.must("merge", f.s.MergeCase(f.ctx, f.office, MergeParams{CaseID: merged, Into: quota}))
	if got := search(CaseFilter{Q: "甲乙丙"}); !slices.Equal(got, []uint64{merged, quota}) {
		t.Errorf("甲乙丙 after the merge: %v, want %v", got, []uint64{merged, quota})
	}
	// A liaison of the unit handling the surviving case never reads
	// the merged tip, and cannot probe it by searching.
	f.must("accept", f.s.AcceptCase(f.ctx, f.office, AcceptParams{CaseID: quota}))
	f.dual(quota)
	for _, q := range []string{"甲乙丙", "层层加码"} {
		page, err := f.s.ListCases(f.ctx, f.liaisonT, CaseFilter{Q: q})
		f.must("liaison search", err)
		want := map[string]int{"甲乙丙": 0, "层层加码": 1}[q]
		if len(page.Items) != want {
			t.Errorf("liaison searching %s: %d cases, want %d", q, len(page.Items), want)
		}
	}

	// Text that changes with an event (as an edit or a redaction
	// would) is found by its new words and no longer by its old.
	c := f.caseRow(split)
	f.must("edit", f.s.write(f.ctx, func(w *txWork) error {
		if err := w.tx.Model(&Tip{}).Where("id = (SELECT tip_id FROM cases WHERE id = ?)", split).
			Update("content", "改为每周在小程序里上报一次，不再每天等待。").Error; err != nil {
			return err
		}
		_, err := w.stageEvent(f.office, &c, c.Stage, "note", "更正线索内容", nil)
		return err
	}))
	if got := search(CaseFilter{Q: "小程序"}); !slices.Equal(got, []uint64{split}) {
		t.Errorf("小程序 after the edit: %v", got)
	}
	if got := search(CaseFilter{Q: "卡点"}); len(got) != 0 {
		t.Errorf("卡点 after the edit: %v", got)
	}

	// Words that cannot be searched are a 400 naming q.
	for _, q := range []string{"%", "__", "！？"} {
		_, err := f.s.ListCases(f.ctx, f.office, CaseFilter{Q: q})
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Fields["q"] == "" {
			t.Errorf("q=%q: %v, want a validation error on q", q, err)
		}
	}
	long := ""
	for range 51 {
		long += "字"
	}
	if _, err := f.s.ListCases(f.ctx, f.office, CaseFilter{Q: long}); err == nil {
		t.Error("a 51-character query was accepted")
	}
}

// TestSearchTerms pins the index format: pairs and the last character of
// every run, lower-cased, hex-encoded with a prefix so that no term is
// shorter than InnoDB's minimum token size of three.
func TestSearchTerms(t *testing.T) {
	if got, want := searchTerms("打卡A"), "x61 xe58da161 xe68993e58da1"; got != want {
		t.Errorf("terms = %q, want %q", got, want)
	}
	if q, ok := searchQuery("mysql", "打卡 a"); !ok || q != "+xe68993e58da1" {
		t.Errorf("mysql query = %q (one-character words left to the text check)", q)
	}
	if q, ok := searchQuery("mysql", "打 a"); !ok || q != "+xe68993* +x61*" {
		t.Errorf("mysql query = %q", q)
	}
	if q, _ := searchQuery("sqlite", "一二三四五六七八九十百千万亿"); strings.Count(q, " AND ") != maxQueryTerms-1 {
		t.Errorf("a long query has %d terms, want %d: %q", strings.Count(q, " AND ")+1, maxQueryTerms, q)
	}
	if q, ok := searchQuery("sqlite", "打卡签"); !ok || q != "xe68993e58da1 AND xe58da1e7adbe" {
		t.Errorf("sqlite query = %q", q)
	}
	if _, ok := searchQuery("mysql", "%_"); ok {
		t.Error("a query without letters or digits gave terms")
	}
}

// referenceTerms is searchTerms spelled out: the runs of searchRuns, each
// pair and last character spelled and collected as it comes.
func referenceTerms(texts ...string) string {
	set := map[string]bool{}
	for _, t := range texts {
		for _, run := range searchRuns(t) {
			for i := 0; i+1 < len(run); i++ {
				set[searchTerm(run[i], run[i+1])] = true
			}
			set[searchTerm(run[len(run)-1])] = true
		}
	}
	return strings.Join(slices.Sorted(maps.Keys(set)), " ")
}

// TestSearchTermsEqualReference: the one-pass searchTerms writes the same
// documents as the plain reference, on random texts of letters, digits,
// case, punctuation, whitespace, astral characters and invalid UTF-8.
func TestSearchTermsEqualReference(t *testing.T) {
	alphabet := []rune("打卡签到县直部门AbcZ12 ，。ÄÖǅ😀\t\n-_\uFFFD")
	rng := rand.New(rand.NewPCG(13, 5))
	for range 5000 {
		texts := make([]string, 3)
		for j := range texts {
			rs := make([]rune, rng.IntN(40))
			for k := range rs {
				rs[k] = alphabet[rng.IntN(len(alphabet))]
			}
			texts[j] = string(rs)
			if rng.IntN(10) == 0 {
				texts[j] += "\xff" + texts[j] // invalid UTF-8 reads as U+FFFD
			}
		}
		if got, want := searchTerms(texts...), referenceTerms(texts...); got != want {
			t.Fatalf("terms of %q:\n got  %q\n want %q", texts, got, want)
		}
	}
}
