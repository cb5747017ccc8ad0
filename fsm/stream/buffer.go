package stream

import "sync/atomic"

// bufferItem holds the batch of one Publish call. Items form a singly linked
// list. An item's next pointer is stored exactly once, by the writer, right
// before ready is closed; closing ready is how every waiting reader is woken
// at once. When an item falls off the head of the buffer its next pointer is
// cleared again (see eventBuffer.append), so a reader parked on a dropped
// item pins only that one item, never the chain behind it.
type bufferItem struct {
	events Events // immutable once appended
	seq    uint64 // 1 for the first item ever appended; 0 for the sentinel
	next   atomic.Pointer[bufferItem]
	ready  chan struct{} // closed once next has been stored
}

// closedCh is a pre-closed channel for start markers whose next pointer is
// known at construction time.
var closedCh = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// startBefore returns a marker item from which a reader's first step lands
// on it (so it is delivered).
func startBefore(it *bufferItem) *bufferItem {
	m := &bufferItem{seq: it.seq - 1, ready: closedCh}
	m.next.Store(it)
	return m
}

// eventBuffer is a bounded, single-writer linked list. All fields are
// guarded by the owning EventBroker's mutex; readers only touch items
// through their atomic next pointer and ready channel, except when they jump
// to the head after falling behind, which takes the broker mutex.
type eventBuffer struct {
	max  int
	size int
	seq  uint64

	// head is the oldest buffered item, nil while nothing is buffered.
	head *bufferItem
	// tail is the newest item; before the first append it is an empty
	// sentinel so that live readers have something to wait on.
	tail *bufferItem
}

func newEventBuffer(max int) *eventBuffer {
	return &eventBuffer{max: max, tail: &bufferItem{ready: make(chan struct{})}}
}

// append links a new item at the tail, wakes readers waiting on the old tail
// and drops items from the head until the buffer is within max. It returns
// the newest item it dropped, or nil.
func (b *eventBuffer) append(events Events) (lastDropped *bufferItem) {
	b.seq++
	it := &bufferItem{events: events, seq: b.seq, ready: make(chan struct{})}

	old := b.tail
	old.next.Store(it)
	close(old.ready)
	b.tail = it
	if b.head == nil {
		b.head = it
	}
	b.size++

	for b.size > b.max {
		d := b.head
		b.head = d.next.Load()
		// Unlink: a reader sitting on d now sees ready closed with a nil
		// next and knows it fell behind; the rest of the list is no
		// longer reachable through d.
		d.next.Store(nil)
		b.size--
		lastDropped = d
	}
	return lastDropped
}
