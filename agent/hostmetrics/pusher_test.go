package hostmetrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// seqCollect returns payloads numbered 1, 2, ... (in agentVersion), up
// to limit (0: no limit); after that it returns nil (nothing to send).
func seqCollect(limit int) (func(context.Context) *structs.HostMetrics, *atomic.Int64) {
	var n atomic.Int64
	return func(context.Context) *structs.HostMetrics {
		i := n.Add(1)
		if limit > 0 && i > int64(limit) {
			return nil
		}
		return &structs.HostMetrics{AgentVersion: ptr(strconv.FormatInt(i, 10))}
	}, &n
}

// receiver records the sequence numbers of delivered payloads.
type receiver struct {
	mu   sync.Mutex
	seqs []int
}

func (r *receiver) record(t *testing.T, payload []byte) {
	var m structs.HostMetrics
	if err := json.Unmarshal(payload, &m); err != nil || m.AgentVersion == nil {
		t.Errorf("payload %s: %v", payload, err)
		return
	}
	n, _ := strconv.Atoi(*m.AgentVersion)
	r.mu.Lock()
	r.seqs = append(r.seqs, n)
	r.mu.Unlock()
}

func (r *receiver) got() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seqs)
}

// runPusher runs p until the test ends, and checks Run returns promptly
// on cancel.
func runPusher(t *testing.T, p *Pusher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// waitFor polls cond until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func TestHostMetrics_PusherRetriesInOrder(t *testing.T) {
	collect, _ := seqCollect(6)
	var rcv receiver
	var attempts atomic.Int32
	p := NewPusher(PusherConfig{Interval: 10 * time.Millisecond, RetryMin: time.Millisecond, Collect: collect,
		Send: func(ctx context.Context, b []byte) error {
			if attempts.Add(1) <= 4 {
				return errors.New("connection refused")
			}
			rcv.record(t, b)
			return nil
		}})
	runPusher(t, p)
	waitFor(t, "6 payloads sent", func() bool { return p.Stats().Sent == 6 })
	if got := rcv.got(); !slices.Equal(got, []int{1, 2, 3, 4, 5, 6}) {
		t.Errorf("delivered %v, want 1..6 in order", got)
	}
	st := p.Stats()
	if st.Dropped != 0 || st.Rejected != 0 || st.Pending != 0 || st.LastError != "" || st.LastSent.IsZero() {
		t.Errorf("stats %+v", st)
	}
}

func TestHostMetrics_PusherDropsOldestWhenFull(t *testing.T) {
	collect, collected := seqCollect(10)
	var rcv receiver
	var up atomic.Bool
	p := NewPusher(PusherConfig{Interval: 2 * time.Millisecond, BufferSize: 3, RetryMin: time.Millisecond,
		Collect: collect, Send: func(ctx context.Context, b []byte) error {
			if !up.Load() {
				return &structs.IngestError{Status: http.StatusServiceUnavailable, Code: structs.IngestServiceUnavailable}
			}
			rcv.record(t, b)
			return nil
		}})
	runPusher(t, p)
	waitFor(t, "10 payloads collected", func() bool { return collected.Load() > 10 })
	st := p.Stats()
	if st.Dropped != 7 || st.Pending != 3 || st.Sent != 0 || st.LastError == "" {
		t.Fatalf("after 10 payloads into a buffer of 3 while down: %+v", st)
	}
	up.Store(true)
	waitFor(t, "the buffer sent", func() bool { return p.Stats().Sent == 3 })
	if got := rcv.got(); !slices.Equal(got, []int{8, 9, 10}) {
		t.Errorf("delivered %v, want the newest 8, 9, 10", got)
	}
	if st := p.Stats(); st.Dropped != 7 || st.Pending != 0 || st.LastError != "" {
		t.Errorf("stats %+v", st)
	}
}

func TestHostMetrics_PusherDropsRejected(t *testing.T) {
	collect, _ := seqCollect(4)
	var rcv receiver
	p := NewPusher(PusherConfig{Interval: 5 * time.Millisecond, RetryMin: time.Millisecond, Collect: collect,
		Send: func(ctx context.Context, b []byte) error {
			var m structs.HostMetrics
			_ = json.Unmarshal(b, &m)
			if *m.AgentVersion == "2" {
				return fmt.Errorf("push: %w", &structs.IngestError{Status: http.StatusBadRequest,
					Code: structs.IngestValidationError, Field: "cpuPercent", Message: "must not be negative"})
			}
			rcv.record(t, b)
			return nil
		}})
	runPusher(t, p)
	waitFor(t, "4 payloads handled", func() bool { st := p.Stats(); return st.Sent+st.Rejected == 4 })
	st := p.Stats()
	if st.Sent != 3 || st.Rejected != 1 || st.Dropped != 0 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
	if got := rcv.got(); !slices.Equal(got, []int{1, 3, 4}) {
		t.Errorf("delivered %v, want 1, 3, 4", got)
	}
}

func TestHostMetrics_PusherStopsOnCancel(t *testing.T) {
	collect, _ := seqCollect(0)
	sending := make(chan struct{}, 1)
	// A send that hangs until its context ends (a dead server).
	p := NewPusher(PusherConfig{Interval: time.Millisecond, Collect: collect,
		Send: func(ctx context.Context, b []byte) error {
			select {
			case sending <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return ctx.Err()
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	<-sending
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel during a send")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	if st := p.Stats(); st.Sent != 0 || st.Pending < 1 {
		t.Errorf("stats %+v", st)
	}

	// And while idle between ticks of a long interval.
	p = NewPusher(PusherConfig{Interval: time.Hour, Collect: collect, Send: func(context.Context, []byte) error { return nil }})
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel while idle")
	}
}

func TestHostMetrics_Permanent(t *testing.T) {
	ie := func(status int) error { return &structs.IngestError{Status: status, Code: "X"} }
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{ie(400), true}, {ie(401), true}, {ie(403), true}, {ie(404), true}, {ie(413), true},
		{fmt.Errorf("server a: %w", ie(422)), true},
		{ie(408), false}, {ie(429), false}, {ie(500), false}, {ie(503), false}, {ie(0), false},
		{errors.New("400 bad request"), false}, {context.DeadlineExceeded, false}, {nil, false},
	} {
		if got := Permanent(tc.err); got != tc.want {
			t.Errorf("Permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestHostMetrics_Backoff(t *testing.T) {
	p := NewPusher(PusherConfig{Interval: 10 * time.Second, Collect: func(context.Context) *structs.HostMetrics { return nil },
		Send: func(context.Context, []byte) error { return nil }})
	var step, wait time.Duration
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		step, wait = p.nextBackoff(step)
		if step != want || wait < want/2 || wait > want {
			t.Errorf("attempt %d: step %v wait %v, want step %v and a wait within [%v, %v]", i, step, wait, want, want/2, want)
		}
	}
}
