package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeReceipt: whatever is typed, the parser never panics and
// either refuses it or returns exactly 16 ASCII digits.
func FuzzNormalizeReceipt(f *testing.F) {
	for _, s := range []string{"1234 5678 9012 3456", "１２３４５６７８９０１２３４５６", "1234-5678-9012-345", "\x00", "12345678901234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := NormalizeReceipt(s)
		if err != nil {
			return
		}
		if len(r) != 16 || strings.Trim(r, "0123456789") != "" {
			t.Fatalf("NormalizeReceipt(%q) = %q", s, r)
		}
	})
}

// FuzzTextProblem: text that passes holds valid UTF-8 and no control or
// direction character (but tab, CR and LF in long text).
func FuzzTextProblem(f *testing.F) {
	for _, s := range []string{"正常文字", "a\x00b", "\u202Eabc", "line\nbreak", "\xff"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, multiline bool) {
		if TextProblem("x", s, multiline) != "" {
			return
		}
		if !utf8.ValidString(s) {
			t.Fatalf("%q passed with invalid UTF-8", s)
		}
		for _, r := range s {
			if IsBidiControl(r) || (IsControlRune(r) && !(multiline && (r == '\t' || r == '\n' || r == '\r'))) {
				t.Fatalf("%q passed with %U", s, r)
			}
		}
	})
}
