package models

import (
	"errors"
	"testing"

	"jianfu/testenv"
)

// TestIntakeFollowsUnitAndCategoryChanges: intake remembers categories and
// townships, yet a township switched off is refused on the next tip, one
// switched back on is accepted again, and a category added a moment ago
// is accepted at once.
func TestIntakeFollowsUnitAndCategoryChanges(t *testing.T) {
	for _, b := range testenv.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFlow(t, b)
			tip := func(category, township string) error {
				_, err := f.s.CreateTip(f.ctx, TipInput{Category: category, Township: township, Anonymous: true,
					Content: "乡镇每周要报送三张内容相同的统计表"})
				return err
			}
			fieldOf := func(err error) string {
				var v *ValidationError
				if !errors.As(err, &v) {
					return ""
				}
				for k := range v.Fields {
					return k
				}
				return ""
			}
			if err := tip("digital", "T1"); err != nil {
				t.Fatalf("first tip: %v", err)
			}
			off, on := false, true
			if _, err := f.s.UpdateUnit(f.ctx, "T1", UnitUpdate{Active: &off}); err != nil {
				t.Fatal(err)
			}
			if err := tip("digital", "T1"); fieldOf(err) != "township" {
				t.Fatalf("tip for a township switched off: %v, want a township error", err)
			}
			if _, err := f.s.UpdateUnit(f.ctx, "T1", UnitUpdate{Active: &on}); err != nil {
				t.Fatal(err)
			}
			if err := tip("digital", "T1"); err != nil {
				t.Fatalf("tip for a township switched back on: %v", err)
			}
			if err := tip("late_category", ""); fieldOf(err) != "category" {
				t.Fatalf("tip for an unknown category: %v, want a category error", err)
			}
			if _, err := f.s.AddCategory(f.ctx, CategoryParams{Code: "late_category", Name: "新增类别"}); err != nil {
				t.Fatal(err)
			}
			if err := tip("late_category", ""); err != nil {
				t.Fatalf("tip for a category added a moment ago: %v", err)
			}
		})
	}
}
