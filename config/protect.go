package config

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseFileKeys reads JIANFU_FILE_KEYS: comma-separated "ID:base64" pairs,
// each a 32-byte attachment key with an id from 2 up (id 1 is derived from
// JIANFU_SECRET_KEY). The highest id seals new files; every id listed
// still opens its files (docs/privacy.md).
func ParseFileKeys(s string) (map[int][]byte, error) {
	out := map[int][]byte{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, key, ok := strings.Cut(item, ":")
		n, err := strconv.Atoi(id)
		if !ok || err != nil || n < 2 || n > 32767 {
			return nil, fmt.Errorf("want ID:base64 with an id from 2 to 32767, got %q", trimSecret(item))
		}
		k, err := base64.StdEncoding.DecodeString(key)
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("key %d: want base64 of exactly 32 bytes (openssl rand -base64 32)", n)
		}
		if _, dup := out[n]; dup {
			return nil, fmt.Errorf("key id %d is listed twice", n)
		}
		out[n] = k
	}
	return out, nil
}

// trimSecret shows the id part of an entry, never its key.
func trimSecret(item string) string {
	if i := strings.Index(item, ":"); i >= 0 {
		return item[:i] + ":…"
	}
	if len(item) > 8 {
		return item[:8] + "…"
	}
	return item
}

// Retention is JIANFU_RETENTION: how long personal data is kept.
type Retention struct {
	// Contact is how long after closing a case its tipster's contact
	// details are kept; 0 keeps them.
	Contact time.Duration
}

// DefaultRetention is JIANFU_RETENTION's default.
const DefaultRetention = "contact=365d"

// ParseRetention reads "contact=365d": Nd calendar days or a Go duration
// ("90s" for tests); "contact=off" keeps contacts.
func ParseRetention(s string) (Retention, error) {
	var r Retention
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, v, ok := strings.Cut(item, "=")
		if !ok || name != "contact" {
			return r, fmt.Errorf("want contact=<duration>, e.g. contact=365d, got %q", item)
		}
		if v == "off" {
			r.Contact = 0
			continue
		}
		d, err := parseDays(v)
		if err != nil || d <= 0 {
			return r, fmt.Errorf("contact: want Nd (days), a Go duration such as 90s, or off; got %q", v)
		}
		r.Contact = d
	}
	return r, nil
}
