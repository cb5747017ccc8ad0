package structs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// RPCInfo is implemented by every RPC request through its embedded
// QueryOptions or WriteRequest. It is what lets one generic forward()
// decide where any request runs.
type RPCInfo interface {
	RequestRegion() string
	// IsRead is true for queries; reads may be served by followers when
	// AllowStaleRead is also true.
	IsRead() bool
	AllowStaleRead() bool
	IsForwarded() bool
	// SetForwarded marks the request as sent on to another server (true)
	// or, after an attempt that never reached it, as served here (false).
	SetForwarded(bool)
}

// QueryOptions is embedded in every read request.
type QueryOptions struct {
	// Region is the region the request is for.
	Region string
	// MinQueryIndex makes the query block until the state's index for the
	// queried table passes it (a blocking query).
	MinQueryIndex uint64
	// MaxQueryTime bounds a blocking query.
	MaxQueryTime time.Duration
	// AllowStale lets any server answer from its local state.
	AllowStale bool
	// Prefix filters list results by ID prefix.
	Prefix string
	// AuthToken is the ACL secret of the caller.
	AuthToken string
	// Forwarded is set while the request is sent on to the leader; an
	// in-memory call reads it to know its reply came from the network.
	Forwarded bool

	// ctx ends when the caller no longer wants the answer (an HTTP client
	// that hung up, an RPC stream that closed). It never crosses the wire.
	ctx context.Context
	// readIndexed is set when a follower answers a linearizable read
	// itself, having applied the leader's read index. Never on the wire.
	readIndexed bool
}

// SetReadIndexed marks the query as answered by a follower after a read
// index; ReadIndexed tells whether it was.
func (q *QueryOptions) SetReadIndexed()   { q.readIndexed = true }
func (q *QueryOptions) ReadIndexed() bool { return q.readIndexed }

// ContextSetter is implemented by requests whose caller can go away: the
// RPC server hands them the context of the connection they came on.
type ContextSetter interface {
	SetContext(context.Context)
}

// SetContext ties the query to ctx: a blocking query, and the forward that
// carries it to the leader, end when ctx does.
func (q *QueryOptions) SetContext(ctx context.Context) { q.ctx = ctx }

// Context returns the query's context (never nil).
func (q *QueryOptions) Context() context.Context {
	if q.ctx == nil {
		return context.Background()
	}
	return q.ctx
}

func (q *QueryOptions) RequestRegion() string { return q.Region }
func (q *QueryOptions) IsRead() bool          { return true }
func (q *QueryOptions) AllowStaleRead() bool  { return q.AllowStale }
func (q *QueryOptions) IsForwarded() bool     { return q.Forwarded }
func (q *QueryOptions) SetForwarded(v bool)   { q.Forwarded = v }

// QueryMeta is embedded in every read response.
type QueryMeta struct {
	// Index is the raft index the answer reflects (X-Nomad-Index).
	Index uint64
	// LastContact is the time since this server last heard from the leader
	// (0 on the leader).
	LastContact time.Duration
	// KnownLeader tells whether the answering server knows a leader.
	KnownLeader bool
}

// WriteRequest is embedded in every write request.
type WriteRequest struct {
	Region    string
	AuthToken string
	Forwarded bool
	// RequestID names the write for exactly-once application: decided
	// once (by the HTTP layer, from an Idempotency-Key header or fresh,
	// or by the first server the write reaches) and kept across every
	// retry, so that the FSM can answer a repeat with the first result.
	RequestID string
}

// MaxRequestIDLen bounds a caller-chosen request ID (Idempotency-Key).
const MaxRequestIDLen = 128

// EnsureRequestID gives the write a fresh request ID unless it has one,
// and returns it.
func (w *WriteRequest) EnsureRequestID() string {
	if w.RequestID == "" {
		w.RequestID = NewRequestID()
	}
	return w.RequestID
}

// WriteRequestID returns the write's request ID ("" for none).
func (w *WriteRequest) WriteRequestID() string { return w.RequestID }

// IdempotentWrite is implemented by every write request (through
// WriteRequest).
type IdempotentWrite interface {
	EnsureRequestID() string
	WriteRequestID() string
}

// NewRequestID returns 128 random bits in hex.
func NewRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

func (w *WriteRequest) RequestRegion() string { return w.Region }
func (w *WriteRequest) IsRead() bool          { return false }
func (w *WriteRequest) AllowStaleRead() bool  { return false }
func (w *WriteRequest) IsForwarded() bool     { return w.Forwarded }
func (w *WriteRequest) SetForwarded(v bool)   { w.Forwarded = v }

// WriteMeta is embedded in every write response.
type WriteMeta struct {
	// Index is the raft index at which the write was applied.
	Index uint64
}

// GenericRequest is a request with no arguments of its own.
type GenericRequest struct {
	QueryOptions
}

// GenericResponse is a write response with no data of its own.
type GenericResponse struct {
	WriteMeta
}

// TimeToBlock is how long a blocking query may wait on the server; RPC
// transports add it to their timeout.
func (q *QueryOptions) TimeToBlock() time.Duration {
	if q.MinQueryIndex == 0 {
		return 0
	}
	wait := q.BlockingWait()
	return wait + wait/JitterFraction
}

// Blocking query bounds, as Nomad's: a query without ?wait blocks up to
// DefaultBlockingQueryWait, and no query blocks longer than
// MaxBlockingQueryWait. The server adds up to 1/JitterFraction of random
// jitter so that many watchers do not wake at once.
const (
	DefaultBlockingQueryWait = 5 * time.Minute
	MaxBlockingQueryWait     = 10 * time.Minute
	JitterFraction           = 16
)

// BlockingWait is the wait a blocking query asked for, within bounds.
func (q *QueryOptions) BlockingWait() time.Duration {
	switch {
	case q.MaxQueryTime <= 0:
		return DefaultBlockingQueryWait
	case q.MaxQueryTime > MaxBlockingQueryWait:
		return MaxBlockingQueryWait
	}
	return q.MaxQueryTime
}
