package models

import (
	"errors"
	"sync"
	"testing"

	"jianfu/testenv"
)

// TestTipSourceOnce: tips imported from the same source (a mailbox
// message) are stored once, even when several importers race; the others
// learn it was already stored.
func TestTipSourceOnce(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			in := TipInput{Category: "other", Title: "举报信箱来信", Channel: ChannelMailbox,
				Content: "镇里要求每天在5个政务App上打卡签到，同一组数据还要重复录入三次。",
				Contact: Contact{Name: "李四", Email: "lisi@example.com"}, SourceRef: "mid:<abc@example.com>"}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var stored, dup int
			for range 6 {
				wg.Go(func() {
					_, err := f.s.CreateTip(f.ctx, in)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						stored++
					case errors.Is(err, ErrDuplicateSource):
						dup++
					default:
						t.Errorf("create tip: %v", err)
					}
				})
			}
			wg.Wait()
			if stored != 1 || dup != 5 {
				t.Fatalf("stored %d, duplicates %d; want 1 and 5", stored, dup)
			}
			other := in
			other.SourceRef = "mid:<def@example.com>"
			if _, err := f.s.CreateTip(f.ctx, other); err != nil {
				t.Fatalf("another source: %v", err)
			}
			var n int64
			f.must("count", f.s.db.Model(&Tip{}).Where("channel = ?", ChannelMailbox).Count(&n).Error)
			if n != 2 {
				t.Fatalf("%d mailbox tips, want 2", n)
			}
		})
	}
}
