package agent

import (
	"crypto/sha256"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/nomadlike/nomadlike/structs"
)

// rateLimiter gives every caller (a known token, or a remote address for
// requests without one) its own token bucket for one API family.
type rateLimiter struct {
	limit rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[[32]byte]*rate.Limiter
	lastSweep time.Time
}

func newRateLimiter(rps float64, burst int) *rateLimiter {
	return &rateLimiter{limit: rate.Limit(rps), burst: burst, buckets: map[[32]byte]*rate.Limiter{}, lastSweep: time.Now()}
}

// take spends one request of the caller's bucket. It returns whether the
// request may go on, how many remain, and when the bucket is full again.
func (l *rateLimiter) take(key [32]byte, now time.Time) (bool, int, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		// Forget callers whose bucket has refilled: they cost nothing
		// to recreate.
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	allowed := b.AllowN(now, 1)
	tokens := b.TokensAt(now)
	missing := float64(l.burst) - tokens
	reset := now.Add(time.Duration(missing / float64(l.limit) * float64(time.Second)))
	return allowed, int(math.Max(0, math.Floor(tokens))), reset
}

// rateLimitKey identifies the caller. Only a token this agent knows gets
// a bucket of its own (keyed by its accessor, so every spelling of the
// header shares it); anonymous callers and unknown secrets share the
// bucket of their address, so guessing secrets does not buy fresh
// buckets. With ACLs off no token is checked and every caller is its
// address.
func (s *HTTPServer) rateLimitKey(req *http.Request) [32]byte {
	if t := s.agent.knownToken(tokenFromRequest(req)); t != nil {
		return sha256.Sum256([]byte("token:" + t.AccessorID))
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	return sha256.Sum256([]byte("addr:" + host))
}

// limit applies the family's limiter, if one is configured, and writes the
// X-RateLimit headers. An empty bucket is a 429 in the family's format.
func (s *HTTPServer) limit(resp http.ResponseWriter, req *http.Request, f family) error {
	l := (*s.limiters.Load())[f]
	if l == nil {
		return nil
	}
	now := time.Now()
	ok, remaining, reset := l.take(s.rateLimitKey(req), now)
	h := resp.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(l.burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	if !ok {
		wait := time.Duration(float64(time.Second) / float64(l.limit))
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return structs.NewErrCoded(http.StatusTooManyRequests, "rate limit exceeded; retry in %s", wait.Round(time.Millisecond))
	}
	return nil
}
