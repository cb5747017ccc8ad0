package fsm

import (
	"errors"
	"fmt"
	"time"

	memdb "github.com/hashicorp/go-memdb"
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

const tableRequests = "requests"

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

func requestTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableRequests,
		Indexes: map[string]*memdb.IndexSchema{
			"id":    {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"index": {Name: "index", Unique: true, Indexer: &memdb.UintFieldIndex{Field: "Index"}},
		},
	}
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

// RequestByID returns the record of an applied request, nil if none is
// remembered.
func (s *StateStore) RequestByID(id string) (*RequestRecord, error) {
	raw, err := s.db.Txn(false).First(tableRequests, "id", id)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*RequestRecord), nil
}

// RecordRequests remembers recs, applied up to the entry at index written
// at now, and forgets what fell out of the window.
func (s *StateStore) RecordRequests(recs []*RequestRecord, index uint64, now time.Time) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	for _, r := range recs {
		if err := txn.Insert(tableRequests, r); err != nil {
			return fmt.Errorf("request record: %w", err)
		}
	}
	if err := pruneRequests(txn, index, now); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// pruneRequests deletes, oldest first, the records that are more than
// MaxRequests entries or RequestWindow older than the entry at index.
func pruneRequests(txn *memdb.Txn, index uint64, now time.Time) error {
	cutoff := now.Add(-RequestWindow)
	var old []any
	it, err := txn.Get(tableRequests, "index")
	if err != nil {
		return err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := raw.(*RequestRecord)
		if r.Index+MaxRequests > index && !r.Time.Before(cutoff) {
			break
		}
		old = append(old, raw)
	}
	for _, raw := range old {
		if err := txn.Delete(tableRequests, raw); err != nil {
			return err
		}
	}
	return nil
}

// persistRequests writes the remembered requests with their results
// encoded.
func persistRequests(s *StateStore, enc *codec.Encoder) error {
	it, err := s.db.Txn(false).Get(tableRequests, "index")
	if err != nil {
		return err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		r := *raw.(*RequestRecord)
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
	return rs.txn.Insert(tableRequests, r)
}
