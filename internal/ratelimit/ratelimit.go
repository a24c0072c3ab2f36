// Package ratelimit keeps token buckets per key (an account, an IP, a customer, a connection) in memory.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed holds one token bucket per key. Buckets unused for a while are forgotten, so memory stays bounded by
// the number of recently active keys.
type Keyed struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns buckets that refill at r per second up to burst.
func New(r float64, burst int) *Keyed {
	return &Keyed{limit: rate.Limit(r), burst: burst, now: time.Now, buckets: map[string]*bucket{}}
}

// WithClock makes the limiter read time from now (tests).
func (k *Keyed) WithClock(now func() time.Time) *Keyed { k.now = now; return k }

// Allow takes one token for key. When none is left it says how long until one is.
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.swept) > time.Minute && len(k.buckets) > 1000 {
		k.sweep(now)
	}
	b := k.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Duration(math.MaxInt64)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Reset forgets key's bucket (e.g. after a successful login).
func (k *Keyed) Reset(key string) {
	k.mu.Lock()
	delete(k.buckets, key)
	k.mu.Unlock()
}

// sweep drops buckets idle long enough to have refilled completely: forgetting them changes nothing.
func (k *Keyed) sweep(now time.Time) {
	full := time.Duration(float64(k.burst)/float64(k.limit)*float64(time.Second)) + time.Second
	for key, b := range k.buckets {
		if now.Sub(b.seen) > full {
			delete(k.buckets, key)
		}
	}
	k.swept = now
}

// Pace is a token bucket in eight bytes, for a limit held by each of very many objects (a WebSocket
// connection's frames): it keeps only the time at which the bucket would be full again (the generic cell rate
// algorithm), and the rate and burst are given with each call. Its zero value is a full bucket. It is not safe
// for concurrent use: one goroutine at a time takes from it.
type Pace struct {
	full int64 // Unix nanoseconds when the bucket is full again; earlier means full now
}

// Allow takes one token from a bucket that refills at r per second up to burst, at now.
func (p *Pace) Allow(now time.Time, r float64, burst int) bool {
	t := now.UnixNano()
	interval := int64(float64(time.Second) / r)
	full := max(p.full, t)
	// Each token taken pushes "full" one interval later; the bucket is empty once it lies burst intervals ahead.
	if full+interval-t > interval*int64(burst) {
		return false
	}
	p.full = full + interval
	return true
}
