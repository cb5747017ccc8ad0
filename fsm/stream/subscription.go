package stream

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
)

// Subscription is one reader's cursor into the broker's buffer. Next must be
// called from one goroutine at a time; Unsubscribe and Dropped may be called
// from any goroutine.
type Subscription struct {
	broker    *EventBroker
	topics    map[string][]string
	namespace string
	after     uint64 // skip batches with Index <= after (resume point)

	// cur is the item last stepped onto (delivered or skipped), or a start
	// marker. Only Next touches it.
	cur *bufferItem

	closeOnce sync.Once
	closeCh   chan struct{}

	dropped atomic.Uint64
}

// Next blocks until a batch with at least one matching event is available
// and returns only the matching events of it. It returns ctx.Err() when ctx
// ends and ErrSubscriptionClosed once the subscription is closed (closure
// wins over pending data).
//
// A subscriber that reads slower than the FSM publishes can fall behind the
// head of the bounded buffer. It then jumps forward: the next batch it gets
// is the oldest one still buffered, so Events.Index skips ahead, and
// Dropped grows by the number of batches it missed.
func (s *Subscription) Next(ctx context.Context) (Events, error) {
	for {
		select {
		case <-s.closeCh:
			return Events{}, ErrSubscriptionClosed
		default:
		}
		select {
		case <-s.closeCh:
			return Events{}, ErrSubscriptionClosed
		case <-ctx.Done():
			return Events{}, ctx.Err()
		case <-s.cur.ready:
		}

		next := s.cur.next.Load()
		if next == nil {
			// ready is closed but next was cleared: cur fell off the
			// head of the buffer. Resume at the oldest buffered batch.
			head := s.broker.oldest()
			if head == nil || head.seq <= s.cur.seq {
				// Not reachable while the buffer only grows forward;
				// be defensive rather than spin.
				s.close()
				return Events{}, ErrSubscriptionClosed
			}
			lost := head.seq - s.cur.seq - 1
			s.dropped.Add(lost)
			s.broker.logger.Debug("subscriber fell behind event buffer, skipping ahead",
				"missed_batches", lost, "resume_index", head.events.Index)
			next = head
		}
		s.cur = next

		if next.events.Index <= s.after {
			continue
		}
		if evs := s.filter(next.events.Events); len(evs) > 0 {
			return Events{Index: next.events.Index, Events: evs}, nil
		}
	}
}

// Dropped returns how many published batches this subscription skipped
// because they left the buffer before it read them.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Unsubscribe closes the subscription and removes it from the broker so it
// can be garbage collected. It is idempotent and safe after CloseAll.
func (s *Subscription) Unsubscribe() {
	s.broker.unsubscribe(s)
}

func (s *Subscription) close() {
	s.closeOnce.Do(func() { close(s.closeCh) })
}

// filter returns a fresh slice with the events that match the request.
func (s *Subscription) filter(events []Event) []Event {
	var out []Event
	for i := range events {
		if s.matches(&events[i]) {
			out = append(out, events[i])
		}
	}
	return out
}

func (s *Subscription) matches(e *Event) bool {
	if s.namespace != "" && s.namespace != AllKeys && e.Namespace != "" && e.Namespace != s.namespace {
		return false
	}
	if keyMatch(s.topics[AllTopics], e) {
		return true
	}
	return e.Topic != AllTopics && keyMatch(s.topics[e.Topic], e)
}

func keyMatch(keys []string, e *Event) bool {
	for _, k := range keys {
		if k == AllKeys || k == e.Key || slices.Contains(e.FilterKeys, k) {
			return true
		}
	}
	return false
}
