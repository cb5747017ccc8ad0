package nomadlike

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/monitor"
	"github.com/nomadlike/nomadlike/structs"
)

// rpcStreaming starts a streaming RPC connection (or yamux stream): the
// caller sends a StreamingRpcHeader, the server answers a StreamingRpcAck,
// and from then on the handler owns the connection (Nomad's design).
const rpcStreaming byte = 0x05

// streamingHandshakeTimeout bounds the header and the ack.
const streamingHandshakeTimeout = 10 * time.Second

// monitorBatchBytes bounds one message of a log stream.
const monitorBatchBytes = 64 << 10

// StreamingHandler serves one streaming RPC: it reads the request from
// conn and answers with StreamErrWrapper messages. The connection is
// closed when it returns.
type StreamingHandler func(conn *StreamConn)

// StreamConn is a streaming RPC connection with its msgpack codec. Decode
// and Encode may be used from different goroutines; Encode is serialised.
type StreamConn struct {
	io.ReadWriteCloser
	dec *codec.Decoder
	wmu sync.Mutex
	enc *codec.Encoder
}

// NewStreamConn wraps conn. The decoder reads no further than each message
// it decodes, so the connection can be handed on between messages.
func NewStreamConn(conn io.ReadWriteCloser) *StreamConn {
	return &StreamConn{
		ReadWriteCloser: conn,
		dec:             codec.NewDecoder(conn, structs.MsgpackHandle),
		enc:             codec.NewEncoder(conn, structs.MsgpackHandle),
	}
}

// Decode reads the next message into v.
func (c *StreamConn) Decode(v any) error { return c.dec.Decode(v) }

// Encode writes v as one message.
func (c *StreamConn) Encode(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.enc.Encode(v)
}

// Send writes a payload message.
func (c *StreamConn) Send(payload []byte) error {
	return c.Encode(&structs.StreamErrWrapper{Payload: payload})
}

// SendError writes err as the stream's last message.
func (c *StreamConn) SendError(err error) error {
	return c.Encode(&structs.StreamErrWrapper{Error: structs.NewRpcError(err)})
}

// Recv reads the next message: its payload, or the error it carries.
func (c *StreamConn) Recv() ([]byte, error) {
	var msg structs.StreamErrWrapper
	if err := c.Decode(&msg); err != nil {
		return nil, err
	}
	if msg.Error != nil {
		return nil, msg.Error.Err()
	}
	return msg.Payload, nil
}

// setDeadline sets conn's deadline when it has one (TCP, yamux, pipes).
func setDeadline(conn any, t time.Time) {
	if d, ok := conn.(interface{ SetDeadline(time.Time) error }); ok {
		d.SetDeadline(t)
	}
}

// ServeStreamingConn runs the handshake on conn, whose 0x05 byte was
// already read, and hands it to the handler lookup finds for the method.
// Clients use it too, for the streams servers open to them.
func ServeStreamingConn(conn io.ReadWriteCloser, lookup func(method string) StreamingHandler) {
	defer conn.Close()
	sc := NewStreamConn(conn)
	setDeadline(conn, time.Now().Add(streamingHandshakeTimeout))
	var header structs.StreamingRpcHeader
	if err := sc.Decode(&header); err != nil {
		return
	}
	handler := lookup(header.Method)
	var ack structs.StreamingRpcAck
	if handler == nil {
		ack.Error = structs.NewErrCoded(http.StatusNotFound, "unknown streaming rpc method %q", header.Method).Error()
	}
	if err := sc.Encode(&ack); err != nil || handler == nil {
		return
	}
	setDeadline(conn, time.Time{})
	handler(sc)
}

// startStreaming runs the caller's side of the handshake on conn (sending
// the 0x05 byte first when sendByte is set).
func startStreaming(conn io.ReadWriteCloser, method string, sendByte bool) (*StreamConn, error) {
	setDeadline(conn, time.Now().Add(streamingHandshakeTimeout))
	if sendByte {
		if _, err := conn.Write([]byte{rpcStreaming}); err != nil {
			conn.Close()
			return nil, err
		}
	}
	sc := NewStreamConn(conn)
	if err := sc.Encode(&structs.StreamingRpcHeader{Method: method}); err != nil {
		conn.Close()
		return nil, err
	}
	var ack structs.StreamingRpcAck
	if err := sc.Decode(&ack); err != nil {
		conn.Close()
		return nil, err
	}
	if ack.Error != "" {
		conn.Close()
		return nil, structs.DecodeRPCError(errors.New(ack.Error))
	}
	setDeadline(conn, time.Time{})
	return sc, nil
}

// StreamingRPC opens a streaming RPC to the server at addr on a new stream
// of the pooled session. The stream is the caller's: close it when done.
func (p *ConnPool) StreamingRPC(addr, method string) (*StreamConn, error) {
	ps, err := p.session(addr)
	if err != nil {
		return nil, err
	}
	stream, err := ps.session.OpenStream()
	if err != nil {
		p.drop(addr, ps)
		return nil, &DialError{Err: err}
	}
	sc, err := startStreaming(stream, method, true)
	if err != nil {
		return nil, fmt.Errorf("streaming rpc to %s: %w", addr, err)
	}
	return sc, nil
}

// registerStreamingHandlers fills the server's table of streaming RPCs.
func (s *Server) registerStreamingHandlers() {
	s.streamingHandlers = map[string]StreamingHandler{
		"Agent.Monitor":            (&AgentEndpoint{srv: s}).monitor,
		"Operator.SnapshotSave":    (&Operator{srv: s}).snapshotSave,
		"Operator.SnapshotRestore": (&Operator{srv: s}).snapshotRestore,
	}
}

func (s *Server) streamingHandler(method string) StreamingHandler {
	return s.streamingHandlers[method]
}

// StreamingRPC opens a streaming RPC to this server in memory (the agent's
// HTTP handlers use it), through the same handshake as the network path.
func (s *Server) StreamingRPC(method string) (*StreamConn, error) {
	caller, served := net.Pipe()
	go ServeStreamingConn(served, s.streamingHandler)
	return startStreaming(caller, method, false)
}

// ServeMonitor streams logger's lines at level to conn until the caller
// closes its side or the write fails. The first message is empty: it tells
// the caller that the stream started (an error would have come instead).
func ServeMonitor(conn *StreamConn, logger hclog.Logger, level hclog.Level, json bool) {
	il, ok := logger.(hclog.InterceptLogger)
	if !ok {
		conn.SendError(structs.NewErrCoded(http.StatusNotImplemented, "this agent's logs cannot be monitored"))
		return
	}
	m := monitor.New(il, level, json)
	defer m.Stop()
	if err := conn.Send(nil); err != nil {
		return
	}
	// The caller sends nothing after its request; its side closing is
	// how it says it is gone.
	gone := make(chan struct{})
	go func() { io.Copy(io.Discard, conn); close(gone) }()
	for {
		select {
		case <-gone:
			return
		case line := <-m.Logs():
			if err := conn.Send(monitor.Batch(line, m.Logs(), monitorBatchBytes)); err != nil {
				return
			}
		}
	}
}

// relayStream sends req on out and copies out's messages to in until
// either side ends: a server forwarding a streaming RPC to the agent that
// answers it.
func relayStream(in, out *StreamConn, req any) {
	defer out.Close()
	if err := out.Encode(req); err != nil {
		in.SendError(err)
		return
	}
	go func() { io.Copy(io.Discard, in); out.Close() }()
	for {
		var msg structs.StreamErrWrapper
		if err := out.Decode(&msg); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, net.ErrClosed) {
				in.SendError(fmt.Errorf("stream from target ended: %w", err))
			}
			return
		}
		if err := in.Encode(&msg); err != nil || msg.Error != nil {
			return
		}
	}
}

// SetDeadline sets the connection's deadline when it has one.
func (c *StreamConn) SetDeadline(t time.Time) { setDeadline(c.ReadWriteCloser, t) }
