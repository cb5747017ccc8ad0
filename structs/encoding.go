package structs

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/go-msgpack/v2/codec"
)

// MessageType is the first byte of every Raft log entry and names the
// request that follows it.
//
// New raft message types must be added to the end: a value, once used, is
// part of the on-disk log format forever.
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
)

// IgnoreUnknownTypeFlag may be OR-ed into a MessageType. A server that does
// not know the type skips such an entry instead of panicking, which lets a
// newer leader write optional entries that older followers can ignore.
const IgnoreUnknownTypeFlag MessageType = 128

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

// Encode writes the type byte followed by msg encoded as msgpack.
func Encode(t MessageType, msg any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(uint8(t))
	if err := codec.NewEncoder(&buf, MsgpackHandle).Encode(msg); err != nil {
		return nil, fmt.Errorf("encoding %d: %w", t, err)
	}
	return buf.Bytes(), nil
}

// Decode reads a msgpack payload (without its type byte) into out.
func Decode(buf []byte, out any) error {
	return codec.NewDecoder(bytes.NewReader(buf), MsgpackHandle).Decode(out)
}
