package config

import (
	"strings"
	"testing"
	"time"
)

// TestProtectSettings: JIANFU_FILE_KEYS and JIANFU_RETENTION are read,
// and a bad value stops the start naming the variable without echoing a
// key.
func TestProtectSettings(t *testing.T) {
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	load := func(env map[string]string) (*Config, error) {
		return Load(func(k string) string { return env[k] })
	}
	c, err := load(map[string]string{"JIANFU_FILE_KEYS": "2:" + key + ", 3:" + key, "JIANFU_RETENTION": "contact=30d"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.FileKeys) != 2 || len(c.FileKeys[3]) != 32 || c.Retention.Contact != 30*24*time.Hour {
		t.Errorf("file keys %d, retention %v", len(c.FileKeys), c.Retention)
	}
	if c, _ := load(map[string]string{}); c.Retention.Contact != 365*24*time.Hour || len(c.FileKeys) != 0 {
		t.Errorf("defaults: %v %d", c.Retention, len(c.FileKeys))
	}
	if c, _ := load(map[string]string{"JIANFU_RETENTION": "contact=off"}); c.Retention.Contact != 0 {
		t.Errorf("off: %v", c.Retention)
	}
	for env, name := range map[string]string{"1:" + key: "JIANFU_FILE_KEYS", "2:c2hvcnQ=": "JIANFU_FILE_KEYS",
		"2:" + key + ",2:" + key: "JIANFU_FILE_KEYS", "contact=soon": "JIANFU_RETENTION", "photos=30d": "JIANFU_RETENTION"} {
		vars := map[string]string{name: env}
		_, err := load(vars)
		if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: %v", name, env, err)
		}
	}
}
