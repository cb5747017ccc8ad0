// Package fsm is nomadlike's replicated state machine: Raft hands it every
// committed log entry, it dispatches the entry by its MessageType to one
// apply function, and that function makes one state store call. It also
// writes and reads snapshots. The FSM decides nothing: IDs, times and
// anything random travel inside the log entry, so every replica computes the
// same state.
package fsm

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

// applyFn applies one decoded-by-type log entry. It returns nil, an error,
// or a result value; raft hands the return to the writer as the future's
// Response.
type applyFn func(f *FSM, buf []byte, index uint64) any

// appliers is the dispatch table; each resource file registers its types
// from init.
var appliers = map[structs.MessageType]applyFn{}

// register adds fn for t. Registering a type twice is a programming error.
func register(t structs.MessageType, fn applyFn) {
	if _, ok := appliers[t]; ok {
		panic(fmt.Sprintf("fsm: message type %d registered twice", t))
	}
	appliers[t] = fn
	typeNames[t] = applierName(fn)
}

// FSM implements raft.FSM over a StateStore.
type FSM struct {
	logger hclog.Logger

	// stateLock guards the state pointer, which Restore swaps.
	stateLock sync.RWMutex
	state     *StateStore

	// broker receives the events of every apply (nil: none published).
	broker *stream.EventBroker

	// requests remembers applied request IDs (requests.go). Only the FSM
	// goroutine uses it: raft runs Apply, Snapshot and Restore in turn.
	requests *requestLog
}

// SetEventBroker makes every later apply publish its events to b. Call it
// before raft starts applying.
func (f *FSM) SetEventBroker(b *stream.EventBroker) { f.broker = b }

// publish hands an apply's events to the broker.
func (f *FSM) publish(index uint64, events []stream.Event) {
	if f.broker == nil || len(events) == 0 {
		return
	}
	f.broker.Publish(&stream.Events{Index: index, Events: events})
}

// New returns an FSM with an empty state store.
func New(logger hclog.Logger) (*FSM, error) {
	state, err := NewStateStore()
	if err != nil {
		return nil, err
	}
	return &FSM{logger: logger.Named("fsm"), state: state, requests: newRequestLog(nil)}, nil
}

// State returns the current state store. Callers must not hold on to it
// across a restore: use it, then ask again.
func (f *FSM) State() *StateStore {
	f.stateLock.RLock()
	defer f.stateLock.RUnlock()
	return f.state
}

// Apply is called by raft for every committed command entry.
func (f *FSM) Apply(log *raft.Log) any {
	t, h, body := splitEntry(log)
	return f.applyEntry(t, h, body, log.Index)
}

// splitEntry reads an entry's type and request header, or panics: an
// entry this replica cannot read means it can no longer follow the log.
func splitEntry(log *raft.Log) (structs.MessageType, structs.RequestHeader, []byte) {
	t, h, body, err := structs.SplitEntry(log.Data)
	if err != nil {
		panic(fmt.Sprintf("fsm: entry at index %d: %v", log.Index, err))
	}
	return t, h, body
}

// applyEntry applies one entry once: an entry whose request ID was
// applied before gets the first apply's answer and changes nothing.
func (f *FSM) applyEntry(t structs.MessageType, h structs.RequestHeader, body []byte, index uint64) any {
	if h.ID != "" {
		if rec := f.appliedRequest(h.ID, index); rec != nil {
			return rec.answer()
		}
	}
	res := f.dispatch(t, body, index)
	if h.ID != "" {
		f.rememberRequests([]*RequestRecord{newRequestRecord(h, t&^structs.IgnoreUnknownTypeFlag, index, res)}, index, h.Time)
	}
	return res
}

// appliedRequest returns the record of request id if it was applied.
func (f *FSM) appliedRequest(id string, index uint64) *RequestRecord {
	rec := f.requests.get(id)
	if rec != nil {
		f.logger.Debug("repeated request answered from its first apply", "request_id", id, "index", index, "first_index", rec.Index)
	}
	return rec
}

// rememberRequests records applied requests.
func (f *FSM) rememberRequests(recs []*RequestRecord, index uint64, now time.Time) {
	f.requests.add(recs, index, now)
}

// dispatch hands the body of an entry of type t to its apply function.
func (f *FSM) dispatch(msgType structs.MessageType, body []byte, index uint64) any {
	ignoreUnknown := msgType&structs.IgnoreUnknownTypeFlag != 0
	msgType &^= structs.IgnoreUnknownTypeFlag

	fn, ok := appliers[msgType]
	if !ok {
		if ignoreUnknown {
			f.logger.Warn("ignoring unknown message type", "type", msgType, "index", index)
			return nil
		}
		// A replica that skipped an entry would drift from the others.
		panic(fmt.Sprintf("fsm: unknown message type %d at index %d", msgType, index))
	}
	defer measureApply(msgType, time.Now())
	return fn(f, body, index)
}

// decode decodes an entry or panics: an entry this replica cannot read
// means it can no longer follow the log.
func decode(buf []byte, out any, index uint64) {
	if err := structs.Decode(buf, out); err != nil {
		panic(fmt.Sprintf("fsm: failed to decode %T at index %d: %v", out, index, err))
	}
}

// Snapshot captures the state for raft; Persist runs later, concurrently
// with further applies, on the captured memdb snapshot.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{state: f.State().Snapshot(), requests: f.requests.list()}, nil
}

// Restore replaces the state with a snapshot's. It fills a fresh store and
// swaps it in, so a failed restore leaves the old state untouched.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	newState, err := NewStateStore()
	if err != nil {
		return err
	}
	requests, err := restoreSnapshot(rc, newState)
	if err != nil {
		return err
	}
	f.stateLock.Lock()
	old := f.state
	f.state = newState
	f.requests = newRequestLog(requests)
	f.stateLock.Unlock()
	old.Abandon()
	// Subscribers cannot tell what the snapshot replaced: make them
	// reconnect and re-read.
	if f.broker != nil {
		f.broker.CloseAll()
	}
	return nil
}
