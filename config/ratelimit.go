package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultRateLimits lets a township office of a few dozen cadres behind one
// IP submit and look up freely, while a script hammering the endpoints is
// stopped. Per-client limits key on the client address (hashed, never
// stored); global limits protect the county's server as a whole.
const DefaultRateLimits = "submit=30/10m,lookup=60/10m,global_submit=600/1m,global_lookup=1200/1m"

// RateLimits is JIANFU_RATE_LIMITS: comma-separated NAME=COUNT/PERIOD, NAME
// one of submit, lookup (per client), global_submit, global_lookup; PERIOD a
// Go duration or "1m"-style. "off" disables all limits.
type RateLimits struct {
	Off                        bool
	Submit, Lookup             Rate
	GlobalSubmit, GlobalLookup Rate
}

// Rate is COUNT events per Period.
type Rate struct {
	Count  int
	Period time.Duration
}

// ParseRateLimits reads the JIANFU_RATE_LIMITS format; names left out keep
// their defaults.
func ParseRateLimits(s string) (RateLimits, error) {
	if strings.TrimSpace(s) == "off" {
		return RateLimits{Off: true}, nil
	}
	var rl RateLimits
	if s != DefaultRateLimits {
		var err error
		if rl, err = ParseRateLimits(DefaultRateLimits); err != nil {
			return rl, err
		}
	}
	for _, part := range strings.Split(s, ",") {
		name, spec, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return rl, fmt.Errorf("%q: want NAME=COUNT/PERIOD or off", part)
		}
		count, period, ok := strings.Cut(spec, "/")
		n, err := strconv.Atoi(count)
		if !ok || err != nil || n <= 0 {
			return rl, fmt.Errorf("%q: want a positive COUNT/PERIOD such as 30/10m", part)
		}
		d, err := time.ParseDuration(period)
		if err != nil || d <= 0 {
			return rl, fmt.Errorf("%q: period %q is not a duration such as 10m", part, period)
		}
		r := Rate{Count: n, Period: d}
		switch name {
		case "submit":
			rl.Submit = r
		case "lookup":
			rl.Lookup = r
		case "global_submit":
			rl.GlobalSubmit = r
		case "global_lookup":
			rl.GlobalLookup = r
		default:
			return rl, errors.New("unknown limit " + strconv.Quote(name) + " (submit, lookup, global_submit, global_lookup)")
		}
	}
	return rl, nil
}
