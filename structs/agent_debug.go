package structs

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// The debug endpoints of the agent API (host, monitor, pprof) can target
// another agent: a server by ServerID ("leader", a gossip name or a server
// ID) or a client by NodeID. These types travel the servers' RPC port.

// ErrNoNodeConn is the answer for a node no server holds a connection to.
var ErrNoNodeConn = &CodedError{http.StatusNotFound, "No path to node"}

// NewErrUnknownNode is the answer for a node ID the state does not know.
func NewErrUnknownNode(id string) error {
	return NewErrCoded(http.StatusNotFound, "Unknown node %q", id)
}

// HostDataRequest asks an agent for its host data (Agent.Host,
// ClientAgent.Host).
type HostDataRequest struct {
	ServerID string
	NodeID   string
	QueryOptions
}

// HostDataResponse is GET /v1/agent/host: the answering agent's ID (its
// gossip name when a server answers, its node ID when a client does) and
// its host.
type HostDataResponse struct {
	AgentID  string
	HostData *HostData `json:",omitempty"`
}

// Pprof request types (AgentPprofRequest.ReqType), Nomad's.
const (
	PprofCmdline = "cmdline"
	PprofCPU     = "cpu"
	PprofTrace   = "trace"
	PprofLookup  = "lookup"
)

// AgentPprofRequest asks an agent for a runtime profile (Agent.Profile,
// ClientAgent.Profile), in Nomad's fields.
type AgentPprofRequest struct {
	// ReqType is PprofCmdline, PprofCPU, PprofTrace or PprofLookup.
	ReqType string
	// Profile names the profile of a lookup (goroutine, heap, ...).
	Profile string
	// Seconds is the duration of a CPU profile or a trace.
	Seconds int
	// Debug asks a lookup for text (>0) instead of the binary format.
	Debug int
	// GC runs a garbage collection before a heap profile when > 0.
	GC       int
	NodeID   string
	ServerID string
	QueryOptions
}

// TimeToBlock lets RPC transports wait for a profile that takes Seconds.
func (r *AgentPprofRequest) TimeToBlock() time.Duration {
	if r.ReqType == PprofCPU || r.ReqType == PprofTrace {
		return time.Duration(max(r.Seconds, 1)) * time.Second
	}
	return 0
}

// AgentPprofResponse is a profile and the HTTP headers to answer it with.
type AgentPprofResponse struct {
	// AgentID names the agent that took the profile.
	AgentID     string
	Payload     []byte
	HTTPHeaders map[string]string
}

// MonitorRequest asks an agent to stream its logs (the streaming RPCs
// Agent.Monitor and ClientAgent.Monitor).
type MonitorRequest struct {
	// LogLevel is trace, debug, info, warn or error.
	LogLevel string
	LogJSON  bool
	NodeID   string
	ServerID string
	QueryOptions
}

// NodeConnQueryResponse answers Status.HasNodeConn: whether this server
// holds a connection to the node, and since when.
type NodeConnQueryResponse struct {
	Connected   bool
	Established time.Time
}

// StreamingRpcHeader is the first message of a streaming RPC connection
// (after its 0x05 byte): the handler it wants.
type StreamingRpcHeader struct {
	Method string
}

// StreamingRpcAck answers the header: Error is empty when the handler
// exists and the caller may send its request.
type StreamingRpcAck struct {
	Error string
}

// StreamErrWrapper is every message of a streaming RPC's answer: a payload
// or, as the last message, an error.
type StreamErrWrapper struct {
	Error   *RpcError
	Payload []byte
}

// RpcError is an error that crossed a streaming RPC, with its HTTP status
// when it had one.
type RpcError struct {
	Message string
	Code    *int64
}

// NewRpcError keeps err's message and, for a CodedError, its status.
func NewRpcError(err error) *RpcError {
	var coded *CodedError
	if errors.As(err, &coded) {
		code := int64(coded.Code)
		return &RpcError{Message: coded.Message, Code: &code}
	}
	return &RpcError{Message: err.Error()}
}

// Err turns the wire form back into an error (a CodedError when it has a
// code, so errors.Is matches sentinels again).
func (e *RpcError) Err() error {
	if e.Code != nil {
		return &CodedError{Code: int(*e.Code), Message: e.Message}
	}
	return errors.New(e.Message)
}

// StreamFrame is one JSON frame of a log stream, as Nomad's api package
// decodes it. An empty frame ({}) is a heartbeat.
type StreamFrame struct {
	Offset    int64  `json:",omitempty"`
	Data      []byte `json:",omitempty"`
	File      string `json:",omitempty"`
	FileEvent string `json:",omitempty"`
}

// The answers to a debug request that names both a server and a node,
// Nomad's words (host data has its own).
var (
	ErrHostTwoTargets  = NewErrCoded(http.StatusBadRequest, "Can only forward to either client node or server")
	ErrDebugTwoTargets = NewErrCoded(http.StatusBadRequest, "Cannot target node and server simultaneously")
)

// SupportBundleRequest asks an agent for its support bundle (Grafana
// Agent's /-/support zip), taken over Seconds (Agent.Support,
// ClientAgent.Support).
type SupportBundleRequest struct {
	Seconds  int
	NodeID   string
	ServerID string
	QueryOptions
}

// TimeToBlock lets RPC transports wait for the bundle's CPU profile and
// log capture.
func (r *SupportBundleRequest) TimeToBlock() time.Duration {
	return time.Duration(max(r.Seconds, 1)) * time.Second
}

// SupportBundleResponse is the answering agent's ID and its bundle.
type SupportBundleResponse struct {
	AgentID string
	Payload []byte
}

// ErrSupportDisabled is the answer of an agent whose support bundle is
// turned off (disable_support_bundle).
var ErrSupportDisabled = &CodedError{http.StatusForbidden, "support bundle generation is disabled"}

// SupportBundler builds an agent's support bundle over d; the agent
// hands one to its server and client parts, which answer the routed
// requests.
type SupportBundler func(ctx context.Context, d time.Duration) ([]byte, error)
