package hostmetrics

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/structs"
)

// Pusher defaults.
const (
	DefaultBufferSize  = 360 // one hour at the default 10s interval
	DefaultRetryMin    = time.Second
	DefaultSendTimeout = 30 * time.Second
)

// PusherConfig configures a Pusher.
type PusherConfig struct {
	// Interval is how often a payload is collected (default 10s).
	Interval time.Duration
	// BufferSize bounds the payloads waiting to be sent; when full the
	// oldest is dropped (default 360).
	BufferSize int
	// Collect builds one payload (Collector.Collect).
	Collect func(ctx context.Context) *structs.HostMetrics
	// Send delivers one JSON payload to a server, rotating servers as it
	// sees fit. A *structs.IngestError that is Permanent drops the
	// payload; any other error is retried.
	Send func(ctx context.Context, payload []byte) error
	// RetryMin is the first backoff after a failed send (default 1s); it
	// doubles up to Interval.
	RetryMin time.Duration
	// SendTimeout bounds one Send (default 30s).
	SendTimeout time.Duration
	Logger      hclog.Logger
}

// PusherStats are a Pusher's figures since it was made.
type PusherStats struct {
	// Sent payloads were accepted by a server.
	Sent uint64
	// Dropped payloads were pushed out of a full buffer, unsent.
	Dropped uint64
	// Rejected payloads were refused by a server for good (Permanent).
	Rejected uint64
	// Pending payloads wait in the buffer.
	Pending int
	// LastError is the last failed send's error ("" after a success).
	LastError string
	// LastSent is when a payload was last accepted.
	LastSent time.Time
}

// Pusher collects a payload every interval and sends the buffered ones,
// oldest first, so a server outage delays payloads instead of losing them
// (up to BufferSize).
type Pusher struct {
	cfg    PusherConfig
	logger hclog.Logger

	// mu guards queue and stats for Stats; only Run's goroutine
	// changes them.
	mu    sync.Mutex
	queue [][]byte // oldest first
	stats PusherStats
}

// NewPusher fills cfg's defaults. Collect and Send are required.
func NewPusher(cfg PusherConfig) *Pusher {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.BufferSize <= 0 {
		cfg.BufferSize = DefaultBufferSize
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	return &Pusher{cfg: cfg, logger: cfg.Logger.Named("host_metrics_push")}
}

// Permanent reports an error a retry cannot fix: the server refused the
// payload itself (a 4xx other than 408 Request Timeout and 429 Too Many
// Requests), so it would refuse it forever.
func Permanent(err error) bool {
	var ie *structs.IngestError
	if !errors.As(err, &ie) {
		return false
	}
	return ie.Status >= 400 && ie.Status < 500 &&
		ie.Status != http.StatusRequestTimeout && ie.Status != http.StatusTooManyRequests
}

// Stats returns the current figures.
func (p *Pusher) Stats() PusherStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Pending = len(p.queue)
	return s
}

// Run collects and sends until ctx ends; the first payload is collected
// one interval after the start (the collector's CPU baseline needs one).
// Unsent payloads are lost when it returns.
func (p *Pusher) Run(ctx context.Context) {
	tick := time.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	retry := time.NewTimer(0)
	if !retry.Stop() {
		<-retry.C
	}
	defer retry.Stop()
	waiting := false // retry is armed
	step := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.collect(ctx)
			if waiting {
				continue
			}
		case <-retry.C:
			waiting = false
		}
		if err := p.drain(ctx, tick); err != nil {
			if ctx.Err() != nil {
				return
			}
			var wait time.Duration
			step, wait = p.nextBackoff(step)
			p.logger.Warn("sending host metrics failed; retrying", "error", err, "retry_in", wait,
				"pending", p.Stats().Pending)
			retry.Reset(wait)
			waiting = true
		} else {
			step = 0
		}
	}
}

// nextBackoff doubles the step from RetryMin up to the interval; the wait
// is half to all of the step, so a fleet does not retry in lockstep after
// a server outage.
func (p *Pusher) nextBackoff(step time.Duration) (next, wait time.Duration) {
	limit := max(p.cfg.Interval, p.cfg.RetryMin)
	next = min(max(step*2, p.cfg.RetryMin), limit)
	return next, next/2 + rand.N(next/2+1)
}

// collect builds, encodes and enqueues one payload, dropping the oldest
// when the buffer is full.
func (p *Pusher) collect(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Interval)
	defer cancel()
	m := p.cfg.Collect(ctx)
	if m == nil {
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		p.logger.Error("encoding host metrics", "error", err)
		return
	}
	p.enqueue(b)
}

func (p *Pusher) enqueue(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) >= p.cfg.BufferSize {
		n := len(p.queue) - p.cfg.BufferSize + 1
		clear(p.queue[:n])
		p.queue = p.queue[n:]
		p.stats.Dropped += uint64(n)
	}
	p.queue = append(p.queue, b)
}

// drain sends the queue oldest first until it is empty or a send fails
// with a retryable error. Between sends it still collects when the ticker
// fired, so a long backlog does not stop collection.
func (p *Pusher) drain(ctx context.Context, tick *time.Ticker) error {
	for {
		select {
		case <-tick.C:
			p.collect(ctx)
		default:
		}
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return nil
		}
		head := p.queue[0]
		p.mu.Unlock()
		sctx, cancel := context.WithTimeout(ctx, p.cfg.SendTimeout)
		err := p.cfg.Send(sctx, head)
		cancel()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		permanent := err != nil && Permanent(err)
		if err != nil && !permanent {
			p.mu.Lock()
			p.stats.LastError = err.Error()
			p.mu.Unlock()
			return err
		}
		p.mu.Lock()
		// Only Run's goroutine changes the queue, so head is still first.
		p.queue[0] = nil
		p.queue = p.queue[1:]
		if permanent {
			p.stats.Rejected++
			p.stats.LastError = err.Error()
		} else {
			p.stats.Sent++
			p.stats.LastError = ""
			p.stats.LastSent = time.Now()
		}
		p.mu.Unlock()
		if permanent {
			p.logger.Warn("server refused host metrics; payload dropped", "error", err)
		}
	}
}
