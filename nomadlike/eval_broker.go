package nomadlike

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/structs"
)

var (
	// errBrokerDisabled is returned to workers of a server that is not
	// (or no longer) the leader.
	errBrokerDisabled = errors.New("eval broker disabled")
	// errUnknownDelivery is an ack or nack for an evaluation that is not
	// outstanding under that token (it timed out and was redelivered).
	errUnknownDelivery = errors.New("evaluation not outstanding under this token")
)

// evalBroker is the leader's queue of evaluations. Delivery is at least
// once: a dequeued evaluation is outstanding until its worker acks it; a
// nack, or no ack within nackTimeout, delivers it again after a delay,
// up to deliveryLimit times. There is at most one evaluation per (type,
// key) waiting and one outstanding: a new one for a key that is waiting
// is merged into it, and one for a key that is outstanding waits, merged,
// until the outstanding one is acked or nacked. So two workers never
// schedule the same object at once, and a burst of changes costs one
// evaluation, not one each.
type evalBroker struct {
	nackTimeout   time.Duration
	deliveryLimit int
	// nackDelay is the wait before redelivery after the n-th nack.
	nackDelay func(n int) time.Duration

	mu      sync.Mutex
	enabled bool
	// ready holds waiting evaluations per scheduler type, oldest first.
	ready map[string][]*brokerEval
	// byKey indexes waiting evaluations (ready or delayed) by type/key.
	byKey map[string]*brokerEval
	// unack holds outstanding evaluations by ID.
	unack map[string]*brokerEval
	// blocked holds, per type/key, an evaluation that arrived while one
	// for the same key was outstanding.
	blocked map[string]*brokerEval
	// readyCh is closed and replaced whenever something becomes ready,
	// waking every waiting dequeue.
	readyCh chan struct{}
	stats   brokerStats
}

// brokerEval is an evaluation with its delivery state.
type brokerEval struct {
	eval       *structs.Evaluation
	token      string
	deliveries int
	// timer is the nack timeout while outstanding, the redelivery delay
	// while delayed.
	timer *time.Timer
	// lost is closed when the outstanding delivery ends, whoever ends it:
	// its worker, the nack timeout or the broker being disabled.
	lost chan struct{}
}

// delivery is one dequeued evaluation: a copy the worker owns, the token
// its ack or nack must carry, and Lost, closed once the delivery is no
// longer the worker's (it timed out, or leadership was lost), after
// which the worker must write nothing more for it.
type delivery struct {
	Eval  *structs.Evaluation
	Token string
	Lost  <-chan struct{}
}

// brokerStats are the broker's counters, shown in /v1/agent/self.
type brokerStats struct {
	Ready, Unacked, Blocked, Delayed int
	// Failed counts evaluations dropped after deliveryLimit deliveries.
	Failed uint64
}

func newEvalBroker(nackTimeout time.Duration, deliveryLimit int) *evalBroker {
	return &evalBroker{
		nackTimeout:   nackTimeout,
		deliveryLimit: deliveryLimit,
		nackDelay:     func(n int) time.Duration { return time.Duration(n) * time.Second },
		readyCh:       make(chan struct{}),
	}
}

func evalKey(e *structs.Evaluation) string { return e.Type + "/" + e.Key }

// SetEnabled turns the broker on (a new leader) or off (leadership lost):
// turning it off drops everything, since a new leader re-creates its
// evaluations from the state.
func (b *evalBroker) SetEnabled(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.enabled == on {
		return
	}
	b.enabled = on
	for _, be := range b.unack {
		be.timer.Stop()
		close(be.lost)
	}
	for _, be := range b.byKey {
		if be.timer != nil {
			be.timer.Stop()
		}
	}
	b.ready = map[string][]*brokerEval{}
	b.byKey = map[string]*brokerEval{}
	b.unack = map[string]*brokerEval{}
	b.blocked = map[string]*brokerEval{}
	b.stats = brokerStats{Failed: b.stats.Failed}
	b.wakeLocked()
}

// Enabled tells whether this broker takes evaluations.
func (b *evalBroker) Enabled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.enabled
}

// Enqueue adds an evaluation, merging it as the type comment says.
func (b *evalBroker) Enqueue(e *structs.Evaluation) {
	if e.ID == "" {
		e.ID = uuid.NewString()
	}
	if e.CreateTime.IsZero() {
		e.CreateTime = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.enabled {
		return
	}
	metrics.IncrCounterWithLabels(keyBrokerEnqueued, 1, schedulerLabel(e.Type))
	key := evalKey(e)
	if w, ok := b.byKey[key]; ok {
		w.eval.Merge(e)
		return
	}
	if b.outstandingLocked(key) {
		if bl, ok := b.blocked[key]; ok {
			bl.eval.Merge(e)
		} else {
			b.blocked[key] = &brokerEval{eval: e}
			b.stats.Blocked++
		}
		return
	}
	b.readyLocked(&brokerEval{eval: e})
}

func (b *evalBroker) outstandingLocked(key string) bool {
	for _, be := range b.unack {
		if evalKey(be.eval) == key {
			return true
		}
	}
	return false
}

func (b *evalBroker) readyLocked(be *brokerEval) {
	t := be.eval.Type
	b.ready[t] = append(b.ready[t], be)
	b.byKey[evalKey(be.eval)] = be
	b.stats.Ready++
	b.wakeLocked()
}

func (b *evalBroker) wakeLocked() {
	close(b.readyCh)
	b.readyCh = make(chan struct{})
}

// Dequeue waits until an evaluation of one of types is ready, ctx ends,
// or the broker is disabled. Among the types the oldest evaluation goes
// first. The worker must Touch the delivery more often than the nack
// timeout while it works, and watch its Lost channel.
func (b *evalBroker) Dequeue(ctx context.Context, types []string) (*delivery, error) {
	for {
		b.mu.Lock()
		if !b.enabled {
			b.mu.Unlock()
			return nil, errBrokerDisabled
		}
		if be := b.popLocked(types); be != nil {
			be.token = uuid.NewString()
			be.deliveries++
			be.lost = make(chan struct{})
			id, token := be.eval.ID, be.token
			be.timer = time.AfterFunc(b.nackTimeout, func() { b.Nack(id, token) })
			b.unack[id] = be
			b.stats.Unacked++
			// A copy: what merges into the evaluation later (a
			// redelivery after a nack) must not change it under the
			// worker's feet.
			d := &delivery{Eval: be.eval.Copy(), Token: token, Lost: be.lost}
			b.mu.Unlock()
			return d, nil
		}
		wake := b.readyCh
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

// Touch tells the broker the worker is still on the delivery: its nack
// timeout starts over. It fails once the delivery is no longer the
// worker's.
func (b *evalBroker) Touch(id, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	be, ok := b.unack[id]
	if !ok || be.token != token {
		return errUnknownDelivery
	}
	be.timer.Reset(b.nackTimeout)
	return nil
}

func (b *evalBroker) popLocked(types []string) *brokerEval {
	var pick string
	var oldest time.Time
	for _, t := range types {
		if q := b.ready[t]; len(q) > 0 && (pick == "" || q[0].eval.CreateTime.Before(oldest)) {
			pick, oldest = t, q[0].eval.CreateTime
		}
	}
	if pick == "" {
		return nil
	}
	be := b.ready[pick][0]
	b.ready[pick] = b.ready[pick][1:]
	delete(b.byKey, evalKey(be.eval))
	b.stats.Ready--
	return be
}

// takeLocked removes an outstanding evaluation after checking its token.
func (b *evalBroker) takeLocked(id, token string) (*brokerEval, error) {
	be, ok := b.unack[id]
	if !ok || be.token != token {
		return nil, errUnknownDelivery
	}
	be.timer.Stop()
	close(be.lost)
	delete(b.unack, id)
	b.stats.Unacked--
	return be, nil
}

// releaseBlockedLocked makes the evaluation that waited for key ready.
func (b *evalBroker) releaseBlockedLocked(key string) {
	bl, ok := b.blocked[key]
	if !ok {
		return
	}
	delete(b.blocked, key)
	b.stats.Blocked--
	if w, ok := b.byKey[key]; ok {
		w.eval.Merge(bl.eval)
		return
	}
	b.readyLocked(bl)
}

// Ack completes an outstanding evaluation.
func (b *evalBroker) Ack(id, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	be, err := b.takeLocked(id, token)
	if err != nil {
		return err
	}
	b.releaseBlockedLocked(evalKey(be.eval))
	return nil
}

// Nack gives an outstanding evaluation back: it is delivered again after
// nackDelay, or dropped (and counted as failed) once it has been
// delivered deliveryLimit times. Whatever waited for its key is merged
// into the redelivery.
func (b *evalBroker) Nack(id, token string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	be, err := b.takeLocked(id, token)
	if err != nil {
		return err
	}
	key := evalKey(be.eval)
	metrics.IncrCounterWithLabels(keyBrokerNack, 1, schedulerLabel(be.eval.Type))
	if be.deliveries >= b.deliveryLimit {
		b.stats.Failed++
		metrics.IncrCounterWithLabels(keyBrokerFailed, 1, schedulerLabel(be.eval.Type))
		// A newer evaluation for the key still deserves its chance.
		b.releaseBlockedLocked(key)
		return fmt.Errorf("evaluation %s failed after %d deliveries", id, be.deliveries)
	}
	if bl, ok := b.blocked[key]; ok {
		delete(b.blocked, key)
		b.stats.Blocked--
		be.eval.Merge(bl.eval)
	}
	if w, ok := b.byKey[key]; ok {
		w.eval.Merge(be.eval)
		return nil
	}
	// Delayed: waiting under its key (so new evaluations merge into it)
	// but not yet ready.
	b.byKey[key] = be
	b.stats.Delayed++
	be.timer = time.AfterFunc(b.nackDelay(be.deliveries), func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.byKey[key] != be {
			return
		}
		b.stats.Delayed--
		delete(b.byKey, key)
		b.readyLocked(be)
	})
	return nil
}

// Stats returns the broker's counters.
func (b *evalBroker) Stats() brokerStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// EvalBrokerStats is the "broker" section of /v1/agent/self: the leader's
// evaluations by state (all zero on a follower).
func (s *Server) EvalBrokerStats() map[string]string {
	st := s.evalBroker.Stats()
	return map[string]string{
		"enabled": strconv.FormatBool(s.evalBroker.Enabled()),
		"ready":   strconv.Itoa(st.Ready), "unacked": strconv.Itoa(st.Unacked),
		"blocked": strconv.Itoa(st.Blocked), "delayed": strconv.Itoa(st.Delayed),
		"failed": strconv.FormatUint(st.Failed, 10),
	}
}
