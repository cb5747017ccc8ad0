package stream

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// testTimeout bounds every blocking wait so a bug fails instead of hanging.
const testTimeout = 10 * time.Second

func newTestBroker(t *testing.T, size int64) *EventBroker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return NewEventBroker(ctx, BrokerConfig{EventBufferSize: size})
}

func subscribe(t *testing.T, b *EventBroker, req *SubscribeRequest) *Subscription {
	t.Helper()
	sub, err := b.Subscribe(req)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(sub.Unsubscribe)
	return sub
}

func next(t *testing.T, sub *Subscription) Events {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ev, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

// pub publishes one batch at idx with one event per "topic/key" pair.
func pub(b *EventBroker, idx uint64, evs ...Event) {
	b.Publish(&Events{Index: idx, Events: evs})
}

func ev(topic, key string) Event { return Event{Topic: topic, Type: topic + "Updated", Key: key} }

func keysOf(e Events) []string {
	var out []string
	for _, x := range e.Events {
		out = append(out, x.Topic+"/"+x.Key)
	}
	return out
}

func TestMatches(t *testing.T) {
	cases := []struct {
		name   string
		topics map[string][]string
		ns     string
		event  Event
		want   bool
	}{
		{"topic and key", map[string][]string{"Node": {"n1"}}, "", Event{Topic: "Node", Key: "n1"}, true},
		{"other key", map[string][]string{"Node": {"n1"}}, "", Event{Topic: "Node", Key: "n2"}, false},
		{"other topic", map[string][]string{"Node": {"n1"}}, "", Event{Topic: "Job", Key: "n1"}, false},
		{"key wildcard", map[string][]string{"Node": {"*"}}, "", Event{Topic: "Node", Key: "n9"}, true},
		{"empty key list means all", map[string][]string{"Node": nil}, "", Event{Topic: "Node", Key: "n9"}, true},
		{"topic wildcard with key", map[string][]string{"*": {"k"}}, "", Event{Topic: "Job", Key: "k"}, true},
		{"topic wildcard other key", map[string][]string{"*": {"k"}}, "", Event{Topic: "Job", Key: "x"}, false},
		{"both wildcards", map[string][]string{"*": {"*"}}, "", Event{Topic: "Any", Key: "x"}, true},
		{"nil topics means all", nil, "", Event{Topic: "Any", Key: "x"}, true},
		{"wildcard keys union topic keys", map[string][]string{"*": {"a"}, "Job": {"b"}}, "", Event{Topic: "Job", Key: "b"}, true},
		{"filter key", map[string][]string{"Allocation": {"job1"}}, "", Event{Topic: "Allocation", Key: "alloc1", FilterKeys: []string{"job1", "dep1"}}, true},
		{"filter key miss", map[string][]string{"Allocation": {"job2"}}, "", Event{Topic: "Allocation", Key: "alloc1", FilterKeys: []string{"job1"}}, false},
		{"namespace match", map[string][]string{"Job": {"*"}}, "prod", Event{Topic: "Job", Key: "j", Namespace: "prod"}, true},
		{"namespace mismatch", map[string][]string{"Job": {"*"}}, "prod", Event{Topic: "Job", Key: "j", Namespace: "dev"}, false},
		{"event without namespace", map[string][]string{"Node": {"*"}}, "prod", Event{Topic: "Node", Key: "n"}, true},
		{"namespace wildcard", map[string][]string{"Job": {"*"}}, "*", Event{Topic: "Job", Key: "j", Namespace: "dev"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Subscription{topics: copyTopics(tc.topics), namespace: tc.ns}
			if got := s.matches(&tc.event); got != tc.want {
				t.Fatalf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSubscribe_FiltersBatches(t *testing.T) {
	b := newTestBroker(t, 0)
	nodeN1 := subscribe(t, b, &SubscribeRequest{Topics: map[string][]string{"Node": {"n1"}}})
	allJobs := subscribe(t, b, &SubscribeRequest{Topics: map[string][]string{"Job": {"*"}}})
	everything := subscribe(t, b, &SubscribeRequest{Topics: map[string][]string{"*": {"*"}}})

	pub(b, 1, ev("Node", "n2"), ev("Job", "web"))
	pub(b, 2, ev("Node", "n1"), ev("Node", "n2"), ev("Job", "db"))
	pub(b, 3, ev("Eval", "e1"))

	// The batch at 1 has nothing for nodeN1 and is skipped entirely; the
	// batch at 2 is trimmed to the matching event.
	if got := next(t, nodeN1); got.Index != 2 || !slices.Equal(keysOf(got), []string{"Node/n1"}) {
		t.Fatalf("nodeN1 got %d %v", got.Index, keysOf(got))
	}
	if got := next(t, allJobs); got.Index != 1 || !slices.Equal(keysOf(got), []string{"Job/web"}) {
		t.Fatalf("allJobs got %d %v", got.Index, keysOf(got))
	}
	if got := next(t, allJobs); got.Index != 2 || !slices.Equal(keysOf(got), []string{"Job/db"}) {
		t.Fatalf("allJobs got %d %v", got.Index, keysOf(got))
	}
	for _, want := range []uint64{1, 2, 3} {
		if got := next(t, everything); got.Index != want {
			t.Fatalf("everything got index %d, want %d", got.Index, want)
		}
	}

	// Nothing else matches nodeN1 until a marker arrives.
	pub(b, 4, ev("Node", "n1"))
	if got := next(t, nodeN1); got.Index != 4 {
		t.Fatalf("nodeN1 got index %d, want 4", got.Index)
	}
}

func TestPublish_CopiesBatchAndFillsEventIndex(t *testing.T) {
	b := newTestBroker(t, 0)
	sub := subscribe(t, b, &SubscribeRequest{})

	batch := &Events{Index: 7, Events: []Event{ev("Node", "n1"), {Topic: "Node", Key: "n2", Index: 6}}}
	b.Publish(batch)
	batch.Events[0].Key = "mutated"
	b.Publish(&Events{Index: 8}) // empty batches are ignored

	got := next(t, sub)
	if got.Events[0].Key != "n1" || got.Events[0].Index != 7 || got.Events[1].Index != 6 {
		t.Fatalf("got %+v", got.Events)
	}
	if b.Len() != 1 {
		t.Fatalf("Len = %d, want 1", b.Len())
	}
}

func TestSubscribe_IndexResume(t *testing.T) {
	b := newTestBroker(t, 10)
	for _, idx := range []uint64{10, 20, 30} {
		pub(b, idx, ev("Node", "n"))
	}

	cases := []struct {
		name  string
		index uint64
		want  uint64 // first delivered index
	}{
		{"zero replays the buffer", 0, 10},
		{"after a buffered index", 20, 30},
		{"between buffered indexes", 15, 20},
		{"just before the first publish", 9, 10},
		{"newest seen", 30, 40},
		{"future index", 35, 40},
	}
	subs := make([]*Subscription, len(cases))
	for i, tc := range cases {
		subs[i] = subscribe(t, b, &SubscribeRequest{Index: tc.index, StartExactlyAtIndex: true})
	}
	pub(b, 40, ev("Node", "n"))
	for i, tc := range cases {
		if got := next(t, subs[i]); got.Index != tc.want {
			t.Errorf("%s: first index %d, want %d", tc.name, got.Index, tc.want)
		}
	}
}

func TestSubscribe_IndexNotContinuous(t *testing.T) {
	b := newTestBroker(t, 2)

	// Before anything was published no index > 0 can be vouched for.
	if _, err := b.Subscribe(&SubscribeRequest{Index: 5, StartExactlyAtIndex: true}); !errors.Is(err, ErrIndexNotBuffered) {
		t.Fatalf("empty broker: err = %v, want ErrIndexNotBuffered", err)
	}

	for _, idx := range []uint64{100, 110, 120, 130} { // 100 and 110 are dropped
		pub(b, idx, ev("Node", "n"))
	}
	if b.Len() != 2 {
		t.Fatalf("Len = %d, want 2", b.Len())
	}

	// Batches after 50 were never published here; after 105 one was dropped.
	for _, idx := range []uint64{50, 105} {
		if _, err := b.Subscribe(&SubscribeRequest{Index: idx, StartExactlyAtIndex: true}); !errors.Is(err, ErrIndexNotBuffered) {
			t.Fatalf("index %d: err = %v, want ErrIndexNotBuffered", idx, err)
		}
	}
	// 110 was the newest dropped batch, so resuming after it loses nothing.
	exact := subscribe(t, b, &SubscribeRequest{Index: 110, StartExactlyAtIndex: true})
	// Without StartExactlyAtIndex a stale index starts from the newest point.
	stale := subscribe(t, b, &SubscribeRequest{Index: 105})
	// Index 0 replays what is buffered.
	zero := subscribe(t, b, &SubscribeRequest{})

	pub(b, 140, ev("Node", "n"))
	if got := next(t, exact); got.Index != 120 {
		t.Fatalf("exact: first index %d, want 120", got.Index)
	}
	if got := next(t, stale); got.Index != 140 {
		t.Fatalf("stale: first index %d, want 140", got.Index)
	}
	if got := next(t, zero); got.Index != 120 {
		t.Fatalf("zero: first index %d, want 120", got.Index)
	}
}

func TestMultipleSubscribers(t *testing.T) {
	b := newTestBroker(t, 0)
	const nSubs, nBatches = 5, 50
	subs := make([]*Subscription, nSubs)
	for i := range subs {
		subs[i] = subscribe(t, b, &SubscribeRequest{})
	}

	var wg sync.WaitGroup
	got := make([][]uint64, nSubs)
	for i, sub := range subs {
		wg.Go(func() {
			for len(got[i]) < nBatches {
				ev, err := sub.Next(context.Background())
				if err != nil {
					t.Errorf("sub %d: %v", i, err)
					return
				}
				got[i] = append(got[i], ev.Index)
			}
		})
	}
	for idx := uint64(1); idx <= nBatches; idx++ {
		pub(b, idx, ev("Node", "n"))
	}
	wg.Wait()

	for i := range got {
		if len(got[i]) != nBatches || !slices.IsSorted(got[i]) || got[i][0] != 1 {
			t.Fatalf("sub %d got %v", i, got[i])
		}
	}
}

func TestSlowSubscriber_DoesNotBlockPublish(t *testing.T) {
	const size, total = 4, 1000
	b := newTestBroker(t, size)
	slow := subscribe(t, b, &SubscribeRequest{}) // never reads while publishing

	done := make(chan struct{})
	go func() {
		defer close(done)
		for idx := uint64(1); idx <= total; idx++ {
			pub(b, idx, ev("Node", "n"))
		}
	}()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Fatal("Publish blocked behind a slow subscriber")
	}

	// The buffer is bounded and dropped batches are unlinked, so the slow
	// reader pins at most the batch it was about to read.
	if b.Len() != size {
		t.Fatalf("Len = %d, want %d", b.Len(), size)
	}
	n := 0
	for it := b.oldest(); it != nil; it = it.next.Load() {
		n++
	}
	if n != size {
		t.Fatalf("reachable from head: %d, want %d", n, size)
	}
	first := slow.cur.next.Load()
	if first == nil || first.events.Index != 1 || first.next.Load() != nil {
		t.Fatalf("dropped batch 1 still linked to the rest of the list")
	}

	// What the slow reader sees: the batch it was already positioned on,
	// then a jump to the oldest buffered batch, then the rest in order.
	var got []uint64
	for len(got) == 0 || got[len(got)-1] != total {
		got = append(got, next(t, slow).Index)
	}
	if want := []uint64{1, 997, 998, 999, 1000}; !slices.Equal(got, want) {
		t.Fatalf("slow reader got %v, want %v", got, want)
	}
	if d := slow.Dropped(); d != total-uint64(len(got)) {
		t.Fatalf("Dropped = %d, want %d", d, total-len(got))
	}
}

// TestConcurrentPublishAndRead runs readers against a publisher with a tiny
// buffer: every batch is either delivered once, in order, or counted as
// dropped.
func TestConcurrentPublishAndRead(t *testing.T) {
	const total = 5000
	b := newTestBroker(t, 8)
	subs := make([]*Subscription, 4)
	for i := range subs {
		subs[i] = subscribe(t, b, &SubscribeRequest{})
	}

	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var received, last uint64
			for last != total {
				ev, err := sub.Next(ctx)
				if err != nil {
					t.Errorf("sub %d: %v", i, err)
					return
				}
				if ev.Index <= last {
					t.Errorf("sub %d: index %d after %d", i, ev.Index, last)
					return
				}
				last = ev.Index
				received++
			}
			if received+sub.Dropped() != total {
				t.Errorf("sub %d: received %d + dropped %d != %d", i, received, sub.Dropped(), total)
			}
		})
	}
	for idx := uint64(1); idx <= total; idx++ {
		pub(b, idx, ev("Node", "n"))
	}
	wg.Wait()
	if b.Len() != 8 {
		t.Fatalf("Len = %d, want 8", b.Len())
	}
}

func TestCloseAll(t *testing.T) {
	b := newTestBroker(t, 0)
	blocked := subscribe(t, b, &SubscribeRequest{})
	pending := subscribe(t, b, &SubscribeRequest{Index: 1})

	errCh := make(chan error, 1)
	go func() {
		_, err := blocked.Next(context.Background())
		errCh <- err
	}()

	pub(b, 2, ev("Node", "n"))
	b.CloseAll()

	select {
	case err := <-errCh:
		// The goroutine may have read batch 2 before CloseAll; then it
		// must have been blocked again and woken by the close.
		if err != nil && !errors.Is(err, ErrSubscriptionClosed) {
			t.Fatalf("blocked Next: %v", err)
		}
		if err == nil {
			if _, err := blocked.Next(context.Background()); !errors.Is(err, ErrSubscriptionClosed) {
				t.Fatalf("Next after CloseAll: %v", err)
			}
		}
	case <-time.After(testTimeout):
		t.Fatal("CloseAll did not wake a blocked Next")
	}
	// Closure wins over data that is already buffered.
	if _, err := pending.Next(context.Background()); !errors.Is(err, ErrSubscriptionClosed) {
		t.Fatalf("pending Next: %v, want ErrSubscriptionClosed", err)
	}
	if _, err := pending.Next(context.Background()); !errors.Is(err, ErrSubscriptionClosed) {
		t.Fatalf("second Next: %v, want ErrSubscriptionClosed", err)
	}
	if n := b.numSubscribers(); n != 0 {
		t.Fatalf("subscribers after CloseAll: %d", n)
	}

	// The broker keeps working for new subscribers.
	fresh := subscribe(t, b, &SubscribeRequest{Index: 2})
	pub(b, 3, ev("Node", "n"))
	if got := next(t, fresh); got.Index != 3 {
		t.Fatalf("fresh got index %d, want 3", got.Index)
	}
}

func TestCloseAll_StopsVouchingForResume(t *testing.T) {
	b := newTestBroker(t, 0)
	pub(b, 10, ev("Node", "n"))
	pub(b, 20, ev("Node", "n"))

	b.CloseAll() // snapshot installed: state jumped, say to 500

	if _, err := b.Subscribe(&SubscribeRequest{Index: 20, StartExactlyAtIndex: true}); !errors.Is(err, ErrIndexNotBuffered) {
		t.Fatalf("resume across restore: err = %v, want ErrIndexNotBuffered", err)
	}
	live := subscribe(t, b, &SubscribeRequest{Index: 20})
	pub(b, 501, ev("Node", "n"))
	if got := next(t, live); got.Index != 501 {
		t.Fatalf("live got %d, want 501", got.Index)
	}

	if _, err := b.Subscribe(&SubscribeRequest{Index: 20, StartExactlyAtIndex: true}); !errors.Is(err, ErrIndexNotBuffered) {
		t.Fatalf("stale index after restore: err = %v", err)
	}
	exact := subscribe(t, b, &SubscribeRequest{Index: 500, StartExactlyAtIndex: true})
	pub(b, 502, ev("Node", "n"))
	if got := next(t, exact); got.Index != 501 {
		t.Fatalf("exact got %d, want 501", got.Index)
	}
}

func TestUnsubscribe(t *testing.T) {
	b := newTestBroker(t, 0)
	keep := subscribe(t, b, &SubscribeRequest{})
	sub, err := b.Subscribe(&SubscribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n := b.numSubscribers(); n != 2 {
		t.Fatalf("subscribers = %d, want 2", n)
	}

	sub.Unsubscribe()
	sub.Unsubscribe() // idempotent
	if n := b.numSubscribers(); n != 1 {
		t.Fatalf("subscribers after Unsubscribe = %d, want 1", n)
	}
	b.mu.Lock()
	_, still := b.subs[sub]
	b.mu.Unlock()
	if still {
		t.Fatal("broker still references the unsubscribed subscription")
	}
	if _, err := sub.Next(context.Background()); !errors.Is(err, ErrSubscriptionClosed) {
		t.Fatalf("Next after Unsubscribe: %v", err)
	}

	pub(b, 1, ev("Node", "n"))
	if got := next(t, keep); got.Index != 1 {
		t.Fatalf("other subscriber got %d", got.Index)
	}
	b.CloseAll()
	keep.Unsubscribe() // safe after CloseAll
}

func TestNext_ContextCancel(t *testing.T) {
	b := newTestBroker(t, 0)
	sub := subscribe(t, b, &SubscribeRequest{})
	ctx, cancel := context.WithCancel(context.Background())
	errCh := make(chan error, 1)
	go func() {
		_, err := sub.Next(ctx)
		errCh <- err
	}()
	cancel()
	select {
	case err := <-errCh:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Next ignored ctx")
	}
	// The subscription is still usable.
	pub(b, 1, ev("Node", "n"))
	if got := next(t, sub); got.Index != 1 {
		t.Fatalf("got %d", got.Index)
	}
}

func TestBrokerContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := NewEventBroker(ctx, BrokerConfig{})
	sub, err := b.Subscribe(&SubscribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()

	waitCtx, waitCancel := context.WithTimeout(context.Background(), testTimeout)
	defer waitCancel()
	if _, err := sub.Next(waitCtx); !errors.Is(err, ErrSubscriptionClosed) {
		t.Fatalf("Next after broker shutdown: %v", err)
	}
	if _, err := b.Subscribe(&SubscribeRequest{}); !errors.Is(err, ErrBrokerClosed) {
		t.Fatalf("Subscribe after shutdown: %v", err)
	}
	pub(b, 1, ev("Node", "n"))
	if b.Len() != 0 {
		t.Fatalf("Publish after shutdown buffered %d", b.Len())
	}
}
