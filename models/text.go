package models

import (
	"fmt"
	"unicode/utf8"
)

// Text that people type is refused, never silently changed, when it holds
// characters nobody types on purpose: NUL and the other control characters
// (they truncate strings in C-based tools, SQLite's length() among them, and
// hide text in logs and exports) and the bidirectional overrides and
// isolates (U+202A–U+202E, U+2066–U+2069, and the invisible direction marks
// U+200E, U+200F, U+061C), which make a title read differently on screen
// from what is stored ("Trojan Source"). Tab, CR and LF are fine in long
// text. File names are cleaned instead (attach.CleanFilename), since a
// tipster cannot easily rename a file on a phone.

// TextProblem returns a zh-CN reason why s may not be stored as a text
// field called label, or "" when it may. multiline allows tab, CR and LF.
func TextProblem(label, s string, multiline bool) string {
	if !utf8.ValidString(s) {
		return fmt.Sprintf("“%s”含有无效的字符编码，请重新输入", label)
	}
	pos := 0
	for _, r := range s {
		pos++
		if r == '\t' || r == '\n' || r == '\r' {
			if multiline {
				continue
			}
			return fmt.Sprintf("“%s”不能包含换行或制表符（第%d个字符）", label, pos)
		}
		if IsControlRune(r) {
			return fmt.Sprintf("“%s”含有不允许的控制字符（第%d个字符），请删除后重新提交", label, pos)
		}
		if IsBidiControl(r) {
			return fmt.Sprintf("“%s”含有不允许的文字方向控制字符（第%d个字符），请删除后重新提交", label, pos)
		}
	}
	return ""
}

// CheckText is TextProblem as a ValidationError naming field.
func CheckText(field, label, s string, multiline bool) error {
	if m := TextProblem(label, s, multiline); m != "" {
		return invalid(field, m)
	}
	return nil
}

// IsControlRune reports C0 and C1 control characters and DEL (tab, CR and
// LF included: callers allow them where they fit).
func IsControlRune(r rune) bool {
	return r < 0x20 || (r >= 0x7F && r <= 0x9F)
}

// IsBidiControl reports the characters that change the direction text is
// shown in.
func IsBidiControl(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return false
}
