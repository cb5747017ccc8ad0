package fsm

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/structs"
)

// Exactly-once writes (Raft thesis §6.3, "client sessions"). A write that
// reached a leader which then lost its leadership may or may not commit;
// the server that sent it retries it with the same request ID, and the
// FSM answers the second copy with the first one's result instead of
// applying it again. The FSM remembers request IDs for RequestWindow of
// the leader's clock (carried in each entry, so every replica forgets the
// same IDs at the same entry) and for at most MaxRequests entries of the
// log, whichever is shorter, and keeps them in snapshots.
const (
	// RequestWindow is how long a request ID is remembered: far longer
	// than a server retries (seconds), long enough for a caller that got
	// "outcome unknown" to retry with its Idempotency-Key.
	RequestWindow = 10 * time.Minute
	// MaxRequests bounds the remembered IDs by log distance: an ID older
	// than this many entries is forgotten. At 5,000 writes/s that is still
	// 10 s, twice what any server retry takes.
	MaxRequests = 50_000
)

// RequestRecord is what the FSM remembers of an applied write.
type RequestRecord struct {
	ID    string
	Index uint64
	// Time is the leader's time in the entry that applied it.
	Time time.Time
	Type structs.MessageType
	// Err is the error the first apply answered, as it crosses RPC.
	Err string
	// Result is the msgpack form of the first apply's result; it is
	// filled only in snapshots (result holds the value in memory).
	Result []byte
	result any
}

// answer is what a repeat of the request gets: the first apply's answer.
func (r *RequestRecord) answer() any {
	if r.Err != "" {
		return structs.DecodeRPCError(errors.New(r.Err))
	}
	return r.result
}

// resultTypes give the value a snapshot's request result decodes into, by
// message type; a type without one answers its repeats with nil, which is
// all its endpoint reads.
var resultTypes = map[structs.MessageType]func() any{
	structs.PipelineApplyRequestType:       func() any { return new(PipelineApplyResult) },
	structs.ConfigApplyRequestType:         func() any { return new(ConfigApplyResult) },
	structs.CollectorRegisterRequestType:   func() any { return new(CollectorApplyResult) },
	structs.CollectorUnregisterRequestType: func() any { return new(CollectorApplyResult) },
	structs.ACLTokenUpsertRequestType:      func() any { return new(ACLTokenApplyResult) },
	structs.ACLTokenBootstrapRequestType:   func() any { return new(ACLTokenApplyResult) },
	structs.NodeTokenCreateRequestType:     func() any { return new(NodeTokenApplyResult) },
	structs.ChatApplyRequestType:           func() any { return new(ChatApplyResult) },
}

// newRequestRecord records the answer res of the entry at index.
func newRequestRecord(h structs.RequestHeader, t structs.MessageType, index uint64, res any) *RequestRecord {
	rec := &RequestRecord{ID: h.ID, Index: index, Time: h.Time, Type: t}
	switch v := res.(type) {
	case error:
		rec.Err = v.Error()
	case *PipelineApplyResult:
		// The events' change list is not part of the answer.
		rec.result = &PipelineApplyResult{Pipelines: v.Pipelines}
	default:
		rec.result = res
	}
	return rec
}

// requestLog is the FSM's memory of applied requests: an index by ID and
// the records in log order, oldest first, for forgetting. It is not in the
// memdb store: only the FSM's own goroutine (Apply, Snapshot, Restore, all
// run by raft one after another) touches it, and a map costs a tenth of a
// memdb transaction per write, which was a sixth of the apply of a 1 KiB
// pipeline.
type requestLog struct {
	byID  map[string]*RequestRecord
	order []*RequestRecord // order[head:] are remembered
	head  int
}

func newRequestLog(recs []*RequestRecord) *requestLog {
	l := &requestLog{byID: make(map[string]*RequestRecord, len(recs))}
	for _, r := range recs {
		l.byID[r.ID] = r
		l.order = append(l.order, r)
	}
	return l
}

// get returns the record of request id, nil if none is remembered.
func (l *requestLog) get(id string) *RequestRecord { return l.byID[id] }

// add remembers recs, applied up to the entry at index written at now,
// and forgets, oldest first, what is more than MaxRequests entries or
// RequestWindow older than that entry.
func (l *requestLog) add(recs []*RequestRecord, index uint64, now time.Time) {
	for _, r := range recs {
		l.byID[r.ID] = r
		l.order = append(l.order, r)
	}
	cutoff := now.Add(-RequestWindow)
	for l.head < len(l.order) {
		r := l.order[l.head]
		if r.Index+MaxRequests > index && !r.Time.Before(cutoff) {
			break
		}
		delete(l.byID, r.ID)
		l.order[l.head] = nil
		l.head++
	}
	if l.head > len(l.order)/2 && l.head > 1024 {
		l.order = append([]*RequestRecord(nil), l.order[l.head:]...)
		l.head = 0
	}
}

// list returns the remembered records, oldest first, in a slice of its
// own: records never change, so a snapshot may keep them while applies go
// on.
func (l *requestLog) list() []*RequestRecord {
	return append([]*RequestRecord(nil), l.order[l.head:]...)
}

// persistRequests writes records with their results encoded.
func persistRequests(recs []*RequestRecord, enc *codec.Encoder) error {
	for _, rec := range recs {
		r := *rec
		if r.result != nil {
			buf, err := structs.Encode(0, r.result)
			if err != nil {
				return err
			}
			r.Result = buf[1:]
		}
		if err := writeRecord(enc, snapshotRequest, &r); err != nil {
			return err
		}
	}
	return nil
}

// RequestRestore restores one request record, its result decoded back
// into its type.
func (rs *StateRestore) RequestRestore(r *RequestRecord) error {
	if len(r.Result) > 0 {
		if newResult, ok := resultTypes[r.Type]; ok {
			v := newResult()
			if err := structs.Decode(r.Result, v); err != nil {
				return fmt.Errorf("request %s result: %w", r.ID, err)
			}
			r.result = v
		}
	}
	r.Result = nil
	rs.requests = append(rs.requests, r)
	return nil
}
