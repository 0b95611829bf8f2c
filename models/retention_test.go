package models

import (
	"testing"
	"time"

	"jianfu/testenv"
)

// TestContactRetention: a real-name tipster's contact is erased once its
// case has been closed for the retention time, on the store's clock, with
// an event on the timeline; open cases, anonymous tips and cases closed
// more recently keep theirs, and a second sweep changes nothing.
func TestContactRetention(t *testing.T) {
	const keep = 365 * 24 * time.Hour
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			contact := Contact{Name: "李四", Phone: "13912345678"}
			tip := func(anonymous bool) uint64 {
				t.Helper()
				in := TipInput{Category: "digital", Content: "每天要在5个政务App上分别打卡签到，重复录入。", Anonymous: anonymous, Contact: contact}
				r, err := f.s.CreateTip(f.ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				return r.CaseID
			}
			closeCase := func(id uint64) {
				t.Helper()
				if err := f.s.RejectCase(f.ctx, f.office, RejectParams{CaseID: id, Reason: "不属于受理范围"}); err != nil {
					t.Fatal(err)
				}
			}
			reveal := func(id uint64) Contact {
				t.Helper()
				out, err := f.s.RevealContact(f.ctx, f.office, RevealParams{CaseID: id, Reason: "核实情况"})
				if err != nil || out.Contact == nil {
					t.Fatalf("reveal case %d: %v %v", id, out, err)
				}
				return *out.Contact
			}
			closedEarly, anonymous, open := tip(false), tip(true), tip(false)
			closeCase(closedEarly)
			closeCase(anonymous)
			f.now = f.now.Add(30 * 24 * time.Hour)
			closedLater := tip(false)
			closeCase(closedLater)

			f.now = f.now.Add(keep - 30*24*time.Hour - time.Second)
			if n, err := f.s.EraseExpiredContacts(f.ctx, keep); err != nil || n != 0 {
				t.Fatalf("a second before a year: erased %d, %v", n, err)
			}
			f.now = f.now.Add(time.Second)
			if n, err := f.s.EraseExpiredContacts(f.ctx, keep); err != nil || n != 1 {
				t.Fatalf("a year after closing: erased %d, %v; want 1", n, err)
			}
			if n, err := f.s.EraseExpiredContacts(f.ctx, keep); err != nil || n != 0 {
				t.Fatalf("second sweep erased %d, %v", n, err)
			}
			if got := reveal(closedEarly); got != (Contact{}) {
				t.Errorf("erased contact still reveals %+v", got)
			}
			for _, id := range []uint64{closedLater, open} {
				if got := reveal(id); got != contact {
					t.Errorf("case %d lost its contact: %+v", id, got)
				}
			}
			d, err := f.s.CaseDetail(f.ctx, f.office, closedEarly)
			if err != nil {
				t.Fatal(err)
			}
			erased := false
			for _, e := range d.Timeline {
				erased = erased || e.Kind == EventContactErased
			}
			if !erased {
				t.Error("no contact_erased event on the timeline")
			}
			if _, err := f.s.EraseExpiredContacts(f.ctx, 0); err != nil {
				t.Fatal(err)
			}
			if out, err := f.s.RevealContact(f.ctx, f.office, RevealParams{CaseID: anonymous, Reason: "核实情况"}); err != nil || !out.Anonymous || out.Contact != nil {
				t.Errorf("anonymous tip after the sweep: %+v, %v", out, err)
			}
		})
	}
}
