package stream

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// DefaultEventBufferSize is the number of published batches kept when
// BrokerConfig.EventBufferSize is not positive.
const DefaultEventBufferSize = 100

// BrokerConfig configures an EventBroker.
type BrokerConfig struct {
	// EventBufferSize is how many Events batches (one per Raft apply) are
	// kept for late or resuming subscribers. Values <= 0 mean
	// DefaultEventBufferSize.
	EventBufferSize int64
	// Logger defaults to a null logger.
	Logger hclog.Logger
}

// EventBroker buffers published batches and hands them to subscriptions.
// All methods are safe for concurrent use.
type EventBroker struct {
	logger hclog.Logger

	mu      sync.Mutex
	buf     *eventBuffer
	subs    map[*Subscription]struct{}
	stopped bool

	// Resume bookkeeping (see resumable). floorKnown is false until the
	// first Publish, and again after CloseAll until the next Publish: in
	// those windows the broker cannot vouch for any index > 0.
	floorKnown bool
	floor      uint64
}

// NewEventBroker returns a running broker. Cancelling ctx closes every
// subscription, makes Subscribe fail with ErrBrokerClosed and turns Publish
// into a no-op.
func NewEventBroker(ctx context.Context, cfg BrokerConfig) *EventBroker {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	size := cfg.EventBufferSize
	if size <= 0 {
		size = DefaultEventBufferSize
	}
	b := &EventBroker{
		logger: cfg.Logger.Named("event_broker"),
		buf:    newEventBuffer(int(size)),
		subs:   make(map[*Subscription]struct{}),
	}
	context.AfterFunc(ctx, b.stop)
	return b
}

func (b *EventBroker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	b.closeAllLocked()
}

// Publish appends one batch to the buffer and wakes subscribers. It never
// waits for subscribers: it takes the broker mutex for an O(1) append (plus
// dropping the oldest batch when full). Empty batches are ignored. An event
// whose Index is 0 gets the batch Index. Publish copies the Events slice but
// not the payloads: callers and subscribers must treat payloads as
// read-only. Index is expected to increase with every call, as Raft indexes
// do.
func (b *EventBroker) Publish(events *Events) {
	if events == nil || len(events.Events) == 0 {
		return
	}
	batch := Events{Index: events.Index, Events: slices.Clone(events.Events)}
	for i := range batch.Events {
		if batch.Events[i].Index == 0 {
			batch.Events[i].Index = batch.Index
		}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	if last := b.buf.tail; last.seq > 0 && batch.Index <= last.events.Index {
		b.logger.Warn("published index does not increase", "index", batch.Index, "previous", last.events.Index)
	}
	if !b.floorKnown {
		// Nothing before this batch was seen by this broker (fresh start,
		// or a snapshot was installed): only a client that has seen
		// exactly up to Index-1 can resume without a hole.
		b.floorKnown = true
		if batch.Index > 0 {
			b.floor = max(b.floor, batch.Index-1)
		}
	}
	if d := b.buf.append(batch); d != nil {
		b.floor = max(b.floor, d.events.Index)
	}
}

// Len returns the number of batches currently buffered.
func (b *EventBroker) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.size
}

// SubscribeRequest selects what a subscription receives and where it starts.
type SubscribeRequest struct {
	// Topics maps a topic to the keys wanted on it. The topic AllTopics
	// ("*") applies its keys to every topic, the key AllKeys ("*") matches
	// every key, and an event matches a key if its Key or one of its
	// FilterKeys equals it. A topic listed with no keys means all keys. A
	// nil or empty map means every topic and key.
	Topics map[string][]string

	// Namespace restricts events that carry a namespace; events with an
	// empty Namespace always pass. "" or "*" means all namespaces.
	Namespace string

	// Index is the last index the client has already seen; delivery starts
	// with the first batch whose Index is greater. 0 replays everything
	// currently buffered. If the broker cannot guarantee that no batch
	// after Index is missing (it was dropped from the buffer, precedes
	// this broker's first publish, or a snapshot was installed since), the
	// subscription starts from the newest point instead: it receives only
	// batches published after Subscribe returns.
	Index uint64

	// StartExactlyAtIndex turns the fallback above into an
	// ErrIndexNotBuffered error. It has no effect when Index is 0.
	StartExactlyAtIndex bool
}

// Subscribe registers a subscription. The caller must call Unsubscribe when
// done with it.
func (b *EventBroker) Subscribe(req *SubscribeRequest) (*Subscription, error) {
	if req == nil {
		req = &SubscribeRequest{}
	}
	sub := &Subscription{
		broker:    b,
		topics:    copyTopics(req.Topics),
		namespace: req.Namespace,
		closeCh:   make(chan struct{}),
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil, ErrBrokerClosed
	}

	switch {
	case req.Index == 0:
		if b.buf.head != nil {
			sub.cur = startBefore(b.buf.head)
		} else {
			sub.cur = b.buf.tail
		}
	case b.resumable(req.Index):
		sub.after = req.Index
		sub.cur = b.buf.tail
		for it := b.buf.head; it != nil; it = it.next.Load() {
			if it.events.Index > req.Index {
				sub.cur = startBefore(it)
				break
			}
		}
	case req.StartExactlyAtIndex:
		return nil, fmt.Errorf("%w: index %d", ErrIndexNotBuffered, req.Index)
	default:
		b.logger.Debug("requested index no longer continuous in buffer, starting from newest",
			"requested", req.Index, "newest", b.buf.tail.events.Index)
		sub.cur = b.buf.tail
	}

	b.subs[sub] = struct{}{}
	return sub, nil
}

// resumable reports whether every batch with an index greater than idx that
// this server published is still reachable from the buffer. Caller holds mu.
func (b *EventBroker) resumable(idx uint64) bool {
	return b.floorKnown && idx >= b.floor
}

// CloseAll closes every current subscription: their Next returns
// ErrSubscriptionClosed (blocked calls wake up). The broker keeps working
// and new subscriptions can be made. Call it when the FSM restores a
// snapshot: state jumped without events, so the broker also stops vouching
// for resume indexes until the next Publish, and reconnecting clients that
// pass their old index start from the newest point (or get
// ErrIndexNotBuffered with StartExactlyAtIndex).
func (b *EventBroker) CloseAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closeAllLocked()
	b.floorKnown = false
}

func (b *EventBroker) closeAllLocked() {
	for sub := range b.subs {
		sub.close()
	}
	clear(b.subs)
}

// unsubscribe removes sub from the registry and closes it.
func (b *EventBroker) unsubscribe(sub *Subscription) {
	b.mu.Lock()
	delete(b.subs, sub)
	b.mu.Unlock()
	sub.close()
}

// oldest returns the current head of the buffer (nil if nothing buffered).
func (b *EventBroker) oldest() *bufferItem {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.head
}

// numSubscribers is for tests.
func (b *EventBroker) numSubscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func copyTopics(in map[string][]string) map[string][]string {
	if len(in) == 0 {
		return map[string][]string{AllTopics: {AllKeys}}
	}
	out := make(map[string][]string, len(in))
	for t, keys := range in {
		if len(keys) == 0 {
			keys = []string{AllKeys}
		}
		out[t] = slices.Clone(keys)
	}
	return out
}
