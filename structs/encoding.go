package structs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// MessageType is the first byte of every Raft log entry and names the
// request that follows it.
//
// New raft message types must be added to the end: a value, once used, is
// part of the on-disk log format forever. Types stay below 64: the two high
// bits are flags (RequestHeaderFlag, IgnoreUnknownTypeFlag).
type MessageType uint8

const (
	// NodeRegisterRequestType upserts a client node (NodeRegisterRequest).
	NodeRegisterRequestType MessageType = 0
	// NodeUpdateStatusRequestType changes a node's status (NodeUpdateStatusRequest).
	NodeUpdateStatusRequestType MessageType = 1
	// NodeDeregisterRequestType deletes nodes (NodeDeregisterRequest).
	NodeDeregisterRequestType MessageType = 2
	// ACLPolicyUpsertRequestType upserts ACL policies.
	ACLPolicyUpsertRequestType MessageType = 3
	// ACLPolicyDeleteRequestType deletes ACL policies.
	ACLPolicyDeleteRequestType MessageType = 4
	// ACLTokenUpsertRequestType upserts ACL tokens.
	ACLTokenUpsertRequestType MessageType = 5
	// ACLTokenDeleteRequestType deletes ACL tokens.
	ACLTokenDeleteRequestType MessageType = 6
	// ACLTokenBootstrapRequestType mints the first management token.
	ACLTokenBootstrapRequestType MessageType = 7
	// PipelineApplyRequestType applies a batch of pipeline operations
	// atomically, with their revisions (PipelineApplyRequest).
	PipelineApplyRequestType MessageType = 8
	// ConfigApplyRequestType puts or deletes an agent instance config,
	// with its revision (ConfigApplyRequest).
	ConfigApplyRequestType MessageType = 9
	// NodeAssignmentUpsertRequestType writes scheduler decisions for
	// nodes (NodeAssignmentUpsertRequest).
	NodeAssignmentUpsertRequestType MessageType = 10
	// NodeAssignmentAppliedRequestType records what a node applied
	// (NodeAssignmentAppliedRequest).
	NodeAssignmentAppliedRequestType MessageType = 11
	// RevisionPruneRequestType deletes revisions beyond retention
	// (RevisionPruneRequest).
	RevisionPruneRequestType MessageType = 12
	// CollectorRegisterRequestType registers a collector or replaces its
	// name and attributes (CollectorRegisterRequest).
	CollectorRegisterRequestType MessageType = 13
	// CollectorUnregisterRequestType removes a collector
	// (CollectorUnregisterRequest).
	CollectorUnregisterRequestType MessageType = 14
	// NodeTokenCreateRequestType creates an external node with its agent
	// token, or gives an existing external node a new secret
	// (NodeTokenCreateRequest).
	NodeTokenCreateRequestType MessageType = 15
	// NodeAssignmentAppliedBatchRequestType records what many nodes
	// applied, in one entry (NodeAssignmentAppliedBatchRequest).
	NodeAssignmentAppliedBatchRequestType MessageType = 16
	// ChatApplyRequestType applies a batch of assistant chat operations
	// (ChatApplyRequest).
	ChatApplyRequestType MessageType = 17
)

// IgnoreUnknownTypeFlag may be OR-ed into a MessageType. A server that does
// not know the type skips such an entry instead of panicking, which lets a
// newer leader write optional entries that older followers can ignore.
const IgnoreUnknownTypeFlag MessageType = 128

// RequestHeaderFlag may be OR-ed into a MessageType: a request header
// (EncodeRequest) then follows the type byte, before the msgpack body. The
// FSM uses it to apply a write once however often it reaches the log.
const RequestHeaderFlag MessageType = 64

// RequestHeader is what a log entry says of the request it carries.
type RequestHeader struct {
	// ID is the write's request ID (WriteRequest.RequestID).
	ID string
	// Time is the leader's clock when it wrote the entry; the FSM measures
	// how long it remembers request IDs in this time, so that every
	// replica forgets the same IDs at the same entry.
	Time time.Time
}

// MsgpackHandle is the one msgpack configuration used for Raft entries,
// snapshots and RPC, so that all three agree on the encoding.
var MsgpackHandle = func() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{}
	h.RawToString = true
	h.WriteExt = true
	h.MapType = nil
	h.TimeNotBuiltin = true
	return h
}()

// encoders are reusable scratch buffers and their encoders for Encode:
// growing a fresh buffer by doubling allocated about three times an
// entry's size per write, and a new encoder its own state.
var encoders = sync.Pool{New: func() any {
	e := &pooledEncoder{}
	e.enc = codec.NewEncoder(&e.buf, MsgpackHandle)
	return e
}}

type pooledEncoder struct {
	buf bytes.Buffer
	enc *codec.Encoder
}

// decoders are reusable decoders for Decode.
var decoders = sync.Pool{New: func() any { return codec.NewDecoderBytes(nil, MsgpackHandle) }}

// Encode writes the type byte followed by msg encoded as msgpack, into a
// slice of exactly that length that the caller owns.
func Encode(t MessageType, msg any) ([]byte, error) {
	return encode(t, nil, msg)
}

// EncodeRequest is Encode with a request header between the type byte
// (which gets RequestHeaderFlag) and the body: a one-byte ID length, the
// ID, and the time as big-endian Unix nanoseconds.
func EncodeRequest(t MessageType, h RequestHeader, msg any) ([]byte, error) {
	if len(h.ID) == 0 || len(h.ID) > MaxRequestIDLen {
		return nil, fmt.Errorf("encoding %d: request ID of %d bytes", t, len(h.ID))
	}
	hdr := make([]byte, 0, 1+len(h.ID)+8)
	hdr = append(hdr, byte(len(h.ID)))
	hdr = append(hdr, h.ID...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(h.Time.UnixNano()))
	return encode(t|RequestHeaderFlag, hdr, msg)
}

// SplitEntry reads a log entry's type byte and request header: it
// returns the type without RequestHeaderFlag (IgnoreUnknownTypeFlag kept),
// the header (zero when the entry has none) and the msgpack body.
func SplitEntry(buf []byte) (MessageType, RequestHeader, []byte, error) {
	if len(buf) == 0 {
		return 0, RequestHeader{}, nil, fmt.Errorf("empty entry")
	}
	t := MessageType(buf[0])
	if t&RequestHeaderFlag == 0 {
		return t, RequestHeader{}, buf[1:], nil
	}
	t &^= RequestHeaderFlag
	rest := buf[1:]
	if len(rest) < 1 || len(rest) < 1+int(rest[0])+8 {
		return t, RequestHeader{}, nil, fmt.Errorf("truncated request header")
	}
	n := int(rest[0])
	h := RequestHeader{
		ID:   string(rest[1 : 1+n]),
		Time: time.Unix(0, int64(binary.BigEndian.Uint64(rest[1+n:9+n]))).UTC(),
	}
	return t, h, rest[9+n:], nil
}

func encode(t MessageType, hdr []byte, msg any) ([]byte, error) {
	e := encoders.Get().(*pooledEncoder)
	e.buf.WriteByte(uint8(t))
	e.buf.Write(hdr)
	e.enc.Reset(&e.buf)
	if err := e.enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("encoding %d: %w", t, err) // e is dropped, not reused
	}
	out := bytes.Clone(e.buf.Bytes())
	if e.buf.Cap() <= 1<<20 { // do not keep the odd huge buffer alive
		e.buf.Reset()
		encoders.Put(e)
	}
	return out, nil
}

// Decode reads a msgpack payload (without its type byte) into out.
func Decode(buf []byte, out any) error {
	dec := decoders.Get().(*codec.Decoder)
	dec.ResetBytes(buf)
	if err := dec.Decode(out); err != nil {
		return err // dec is dropped, not reused
	}
	dec.ResetBytes(nil) // keep no reference to buf
	decoders.Put(dec)
	return nil
}
