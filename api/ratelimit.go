package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"jianfu/config"
)

// Abuse limits on the public endpoints (JIANFU_RATE_LIMITS). Each client
// (its address, hashed with the server secret and never stored) has a token
// bucket per action, and the whole process has one more per action, so a
// script is stopped while a township office of many cadres behind one
// address is not: a bucket holds COUNT requests at once and refills evenly
// over PERIOD. The buckets live in the API process's memory; with several
// API replicas behind a balancer each replica enforces the limits on its
// own share. "off" disables all of it, including the slowdown after wrong
// receipts.

// Public actions that are limited.
const (
	actionSubmit = "submit" // a new tip
	actionLookup = "lookup" // anything that presents a receipt
)

// Wrong receipts slow the client down: after missFree misses, each further
// receipt request from that client waits missBase, doubled per miss, at
// most missMax. Misses are forgotten at missFree per missWindow, so a
// cadre who mistyped a receipt is back to normal within minutes.
const (
	missFree   = 3
	missWindow = 10 * time.Minute
	missBase   = 500 * time.Millisecond
	missMax    = 8 * time.Second
)

// guard holds the limiters of one API process.
type guard struct {
	off            bool
	client, global map[string]*limiter
	misses         *limiter // counts wrong receipts, as a draining bucket
	trusted        []netip.Prefix
	hash           func(addr string) string
	now            func() time.Time
}

// newGuard builds the limiters; bad are the JIANFU_TRUSTED_PROXIES entries
// that are neither an address nor a CIDR (they are ignored).
func newGuard(rl config.RateLimits, trustedProxies []string, hash func(string) string) (g *guard, bad []string) {
	g = &guard{off: rl.Off, hash: hash, now: time.Now,
		client: map[string]*limiter{actionSubmit: newLimiter(rl.Submit), actionLookup: newLimiter(rl.Lookup)},
		global: map[string]*limiter{actionSubmit: newLimiter(rl.GlobalSubmit), actionLookup: newLimiter(rl.GlobalLookup)},
		misses: newLimiter(config.Rate{Count: missFree, Period: missWindow}),
	}
	for _, s := range trustedProxies {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			g.trusted = append(g.trusted, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			g.trusted = append(g.trusted, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		} else if s != "" {
			bad = append(bad, s)
		}
	}
	return g, bad
}

// clientKey is the opaque rate-limit key of the request's client.
func (g *guard) clientKey(c *gin.Context) string { return g.hash(g.clientAddr(c.Request)) }

// clientAddr is the client's address: the connection's peer, or, when the
// peer is a trusted proxy, the last address in X-Forwarded-For that is not
// a trusted proxy. IPv6 clients are grouped by their /64, which one
// household or office usually gets whole.
func (g *guard) clientAddr(r *http.Request) string {
	peer := parseAddr(r.RemoteAddr)
	if peer.IsValid() && g.isTrusted(peer) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a := parseAddr(strings.TrimSpace(hops[i]))
			if !a.IsValid() {
				break
			}
			peer = a
			if !g.isTrusted(a) {
				break
			}
		}
	}
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if peer.Is6() {
		return netip.PrefixFrom(peer, 64).Masked().String()
	}
	return peer.String()
}

func (g *guard) isTrusted(a netip.Addr) bool {
	for _, p := range g.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func parseAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(s)
	return a.Unmap()
}

// allow takes one token for action from the client's bucket and the
// global one; retry says when to come back if either is empty.
func (g *guard) allow(action, key string) (ok bool, retry time.Duration) {
	if g.off {
		return true, 0
	}
	now := g.now()
	cl, gl := g.client[action], g.global[action]
	if ok, retry := cl.take(key, now); !ok {
		return false, retry
	}
	if ok, retry := gl.take("", now); !ok {
		cl.refund(key, now) // the client did nothing wrong
		return false, retry
	}
	return true, 0
}

// missed records a wrong receipt from the client.
func (g *guard) missed(key string) {
	if !g.off {
		g.misses.add(key, g.now())
	}
}

// missDelay is how long the client's next receipt request waits.
func (g *guard) missDelay(key string) time.Duration {
	if g.off {
		return 0
	}
	n := g.misses.level(key, g.now()) - missFree
	if n <= 0 {
		return 0
	}
	d := time.Duration(float64(missBase) * math.Pow(2, math.Ceil(n)-1))
	return min(d, missMax)
}

// limit is the middleware of one action: 429 with Retry-After when the
// client or the server is over its limit; receipt requests also sit out
// the client's slowdown for earlier wrong receipts.
func (p *publicSite) limit(action string) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := p.guard.clientKey(c)
		if ok, retry := p.guard.allow(action, key); !ok {
			secs := max(1, int(math.Ceil(retry.Seconds())))
			c.Header("Retry-After", strconv.Itoa(secs))
			p.refuse(c, &apiError{Status: http.StatusTooManyRequests, Code: "rate_limited",
				Message: fmt.Sprintf("操作过于频繁，请%s后再试", waitText(secs))})
			return
		}
		if action == actionLookup {
			if d := p.guard.missDelay(key); d > 0 {
				sleep(c.Request.Context(), d)
			}
		}
		c.Set(ctxClientKey, key)
		c.Next()
	}
}

const ctxClientKey = "jianfu.client"

func waitText(secs int) string {
	if secs < 60 {
		return fmt.Sprintf("%d秒", secs)
	}
	return fmt.Sprintf("%d分钟", (secs+59)/60)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// limiter is a set of token buckets, one per key.
type limiter struct {
	mu        sync.Mutex
	capacity  float64
	perSecond float64
	period    time.Duration
	buckets   map[string]*bucket
	swept     time.Time
}

// bucket is a key's fill level at a moment: for a rate limiter the tokens
// left, for the miss counter the misses not yet forgotten.
type bucket struct {
	level float64
	at    time.Time
}

func newLimiter(r config.Rate) *limiter {
	if r.Count <= 0 || r.Period <= 0 {
		r = config.Rate{Count: math.MaxInt32, Period: time.Second}
	}
	return &limiter{capacity: float64(r.Count), perSecond: float64(r.Count) / r.Period.Seconds(),
		period: r.Period, buckets: map[string]*bucket{}}
}

// take removes a token from key's bucket, which starts full.
func (l *limiter) take(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{level: l.capacity, at: now}
		l.buckets[key] = b
	}
	b.level = min(l.capacity, b.level+now.Sub(b.at).Seconds()*l.perSecond)
	b.at = now
	if b.level < 1 {
		return false, time.Duration((1 - b.level) / l.perSecond * float64(time.Second))
	}
	b.level--
	return true, 0
}

func (l *limiter) refund(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[key]; b != nil {
		b.level = min(l.capacity, b.level+1)
	}
}

// add raises key's level by one; it drains at the limiter's rate (the
// miss counter uses the bucket the other way round).
func (l *limiter) add(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{at: now}
		l.buckets[key] = b
	}
	b.level = max(0, b.level-now.Sub(b.at).Seconds()*l.perSecond) + 1
	b.at = now
}

// level is key's drained level now.
func (l *limiter) level(key string, now time.Time) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return 0
	}
	return max(0, b.level-now.Sub(b.at).Seconds()*l.perSecond)
}

// sweep forgets buckets untouched for a whole period, which bounds memory
// to the clients of the last period: a rate bucket is full again by then,
// so forgetting it changes nothing, and a client that stopped guessing
// receipts for that long is forgiven.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, b := range l.buckets {
		if now.Sub(b.at) >= l.period {
			delete(l.buckets, k)
		}
	}
}
