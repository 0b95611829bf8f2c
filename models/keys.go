package models

import "strings"

// Unit codes, category codes and usernames are names people type. MariaDB
// compares them case-insensitively and ignores trailing spaces
// (utf8mb4_unicode_ci, PAD SPACE); SQLite compares bytes. So that `t01`
// after `T01` is refused, and `OFFICE1` is office1, on every backend, the
// store keeps one canonical form and brings every input to it before it
// writes or looks one up: unit codes in upper case, category codes and
// usernames in lower case, without surrounding spaces (docs/reliability.md).

// UnitCodeKey is the canonical form of a unit code.
func UnitCodeKey(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// CategoryCodeKey is the canonical form of a category code.
func CategoryCodeKey(code string) string { return strings.ToLower(strings.TrimSpace(code)) }

// UsernameKey is the canonical form of a username.
func UsernameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }
