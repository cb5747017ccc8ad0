package nomadlike

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"
	"sync/atomic"
	"time"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"
	"github.com/hashicorp/yamux"

	"github.com/nomadlike/nomadlike/structs"
)

// First bytes of a connection to the RPC port; they pick the protocol.
const (
	rpcNomad     byte = 0x01 // one net/rpc connection
	rpcRaft      byte = 0x02 // raft transport
	rpcMultiplex byte = 0x03 // yamux session; each stream starts with its own type byte
	// 0x04 is rpcTLS (tls.go), 0x05 rpcStreaming (streaming.go).
)

// defaultRPCTimeout bounds one RPC call; blocking queries add their wait.
const defaultRPCTimeout = 10 * time.Second

// DialError means the request never reached the server, so it is always
// safe to retry it elsewhere.
type DialError struct{ Err error }

func (e *DialError) Error() string { return "rpc dial: " + e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }

// IsNetworkError tells whether err came from the transport rather than from
// the server answering: the caller may try another server.
func IsNetworkError(err error) bool {
	var se rpc.ServerError
	if errors.As(err, &se) {
		return false
	}
	// go-msgpack names the transport error it met while decoding (a
	// deadline, a reset) only through Cause.
	var wrapped interface{ Cause() error }
	if errors.As(err, &wrapped) {
		if cause := wrapped.Cause(); cause != nil && IsNetworkError(cause) {
			return true
		}
	}
	var de *DialError
	var ne net.Error
	return errors.As(err, &de) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, rpc.ErrShutdown) ||
		errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, yamux.ErrStreamClosed) || errors.Is(err, yamux.ErrConnectionReset)
}

// blocker is implemented by requests that may block on the server.
type blocker interface{ TimeToBlock() time.Duration }

// ConnPool keeps one multiplexed (yamux) session per server. An RPC runs
// on a stream of that session, and a stream whose call completed goes back
// to an idle list for the next call: opening and closing a stream per call
// costs four extra frames (each one or two syscalls) on both ends, which
// on a busy server is a large share of the forwarding cost. Servers use
// the pool to forward to the leader; clients use it to talk to servers.
type ConnPool struct {
	mu       sync.Mutex
	sessions map[string]*poolSession
	shutdown bool
	// streamHandler, when set, serves the streams the servers open on the
	// pool's sessions (a client's node connection).
	streamHandler func(io.ReadWriteCloser)
	// tlsConfig, when set, wraps every session in TLS (first byte rpcTLS).
	tlsConfig *tls.Config
	// timeout bounds a call beyond a blocking query's wait (zero:
	// defaultRPCTimeout).
	timeout time.Duration
}

// SetTLSConfig makes the pool dial every server with TLS; set it before
// the first call.
func (p *ConnPool) SetTLSConfig(c *tls.Config) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tlsConfig = c
}

// SetStreamHandler makes the pool accept the streams servers open on its
// sessions and hand each to h, which reads its protocol byte. Clients set
// it so that servers can reach them; set it before the first call.
func (p *ConnPool) SetStreamHandler(h func(io.ReadWriteCloser)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.streamHandler = h
}

// maxIdleStreams bounds the streams kept open per server between calls;
// concurrency above it opens (and afterwards closes) extra streams.
const maxIdleStreams = 64

// poolSession is one server's session and its idle streams.
type poolSession struct {
	session *yamux.Session
	idle    []*streamClient
}

// streamClient is a stream that has sent its protocol byte, with its codec.
type streamClient struct {
	stream *yamux.Stream
	codec  rpc.ClientCodec
}

// NewConnPool returns an empty pool.
func NewConnPool() *ConnPool {
	return &ConnPool{sessions: map[string]*poolSession{}}
}

// session returns the pooled session to addr, dialling one if needed. The
// dial happens outside the lock so a slow server does not hold up calls to
// the others.
func (p *ConnPool) session(addr string) (*poolSession, error) {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return nil, &DialError{Err: net.ErrClosed}
	}
	if ps, ok := p.sessions[addr]; ok && !ps.session.IsClosed() {
		p.mu.Unlock()
		return ps, nil
	}
	tlsConfig := p.tlsConfig
	p.mu.Unlock()

	s, err := dialSession(addr, tlsConfig)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shutdown {
		s.Close()
		return nil, &DialError{Err: net.ErrClosed}
	}
	if existing, ok := p.sessions[addr]; ok && !existing.session.IsClosed() {
		// Another caller dialled first: use theirs.
		s.Close()
		return existing, nil
	}
	ps := &poolSession{session: s}
	p.sessions[addr] = ps
	if h := p.streamHandler; h != nil {
		go acceptStreams(s, h)
	}
	return ps, nil
}

// getStream takes an idle stream of ps or opens one.
func (p *ConnPool) getStream(ps *poolSession) (*streamClient, error) {
	p.mu.Lock()
	if n := len(ps.idle); n > 0 {
		sc := ps.idle[n-1]
		ps.idle = ps.idle[:n-1]
		p.mu.Unlock()
		return sc, nil
	}
	p.mu.Unlock()
	stream, err := ps.session.OpenStream()
	if err != nil {
		return nil, err
	}
	if _, err := stream.Write([]byte{rpcNomad}); err != nil {
		stream.Close()
		return nil, err
	}
	return &streamClient{stream: stream, codec: msgpackrpc.NewCodecFromHandle(true, true, stream, structs.MsgpackHandle)}, nil
}

// putStream returns a stream whose call completed to the idle list.
func (p *ConnPool) putStream(ps *poolSession, sc *streamClient) {
	p.mu.Lock()
	if !p.shutdown && !ps.session.IsClosed() && len(ps.idle) < maxIdleStreams {
		ps.idle = append(ps.idle, sc)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	sc.stream.Close()
}

// dialSession dials addr, with TLS when tlsConfig is set. A failed
// handshake is a DialError too: nothing was sent.
func dialSession(addr string, tlsConfig *tls.Config) (*yamux.Session, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, &DialError{Err: err}
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetKeepAlive(true)
		tc.SetNoDelay(true)
	}
	if tlsConfig != nil {
		tconn, err := dialTLS(conn, tlsConfig, 5*time.Second)
		if err != nil {
			conn.Close()
			return nil, &DialError{Err: err}
		}
		conn = tconn
	}
	if _, err := conn.Write([]byte{rpcMultiplex}); err != nil {
		conn.Close()
		return nil, &DialError{Err: err}
	}
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	cfg.KeepAliveInterval = 5 * time.Second
	cfg.ConnectionWriteTimeout = 5 * time.Second
	s, err := yamux.Client(&coalescingConn{Conn: conn}, cfg)
	if err != nil {
		conn.Close()
		return nil, &DialError{Err: err}
	}
	return s, nil
}

// acceptStreams serves the streams the server opens on session until it
// closes.
func acceptStreams(session *yamux.Session, h func(io.ReadWriteCloser)) {
	for {
		stream, err := session.Accept()
		if err != nil {
			return
		}
		go h(stream)
	}
}

// drop closes the session to addr after a transport failure, so the next
// call dials again.
func (p *ConnPool) drop(addr string, ps *poolSession) {
	p.mu.Lock()
	if p.sessions[addr] == ps {
		delete(p.sessions, addr)
	}
	ps.idle = nil
	p.mu.Unlock()
	ps.session.Close()
}

// RPC calls method on the server at addr. A server's error comes back
// decoded (structs.DecodeRPCError); a transport failure satisfies
// IsNetworkError.
func (p *ConnPool) RPC(addr, method string, args, reply any) error {
	ps, err := p.session(addr)
	if err != nil {
		return err
	}
	sc, err := p.getStream(ps)
	if err != nil {
		p.drop(addr, ps)
		// The stream never opened: nothing was sent.
		return &DialError{Err: err}
	}

	timeout := cmp.Or(p.timeout, defaultRPCTimeout)
	if b, ok := args.(blocker); ok {
		timeout += b.TimeToBlock()
	}
	// A deadline makes yamux arm a timer for every read that waits (15 %
	// of the simulated nodes' CPU in the 10,000-node benchmark), but a
	// timer per call that moves the deadline when it fires cost more
	// (A/B: the nodes' process 14.8/14.7 s against 13.2/12.2 s, the
	// servers 33.0/34.4 s against 30.4/27.4 s).
	sc.stream.SetDeadline(time.Now().Add(timeout))
	// A caller that goes away (an HTTP client that hung up on a blocking
	// query) closes the stream: the server sees it end and cancels the
	// request, instead of holding it for the rest of its wait.
	ctx := requestContext(args)
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { sc.stream.Close() })
	}
	clean, err := callOnStream(sc.codec, method, args, reply)
	if stop != nil && !stop() {
		// The stream was closed under the call, not by the server.
		if err != nil {
			return ctx.Err()
		}
		clean = false
	}
	if clean {
		p.putStream(ps, sc)
	} else {
		sc.stream.Close()
	}
	if err == nil {
		return nil
	}
	if IsNetworkError(err) {
		p.drop(addr, ps)
		return fmt.Errorf("rpc to %s: %w", addr, err)
	}
	return structs.DecodeRPCError(err)
}

// callSeq numbers the calls of every pooled stream.
var callSeq atomic.Uint64

// callOnStream runs one request/response exchange on a pooled stream.
// clean tells whether the stream is left at a message boundary with both
// ends in step, so that it may carry another call: after a success, or an
// error the endpoint returned (a structs.CodedError, whose request the
// server decoded whole). Any other error (the server could not decode the
// request and may have left part of it unread, a reply that did not
// decode, an answer to another call) retires the stream.
func callOnStream(cc rpc.ClientCodec, method string, args, reply any) (clean bool, err error) {
	req := rpc.Request{Seq: callSeq.Add(1), ServiceMethod: method}
	if err := cc.WriteRequest(&req, args); err != nil {
		return false, err
	}
	var resp rpc.Response
	if err := cc.ReadResponseHeader(&resp); err != nil {
		return false, err
	}
	if resp.Seq != req.Seq {
		return false, fmt.Errorf("rpc: answer to call %d on the stream of call %d", resp.Seq, req.Seq)
	}
	if resp.Error != "" {
		if err := cc.ReadResponseBody(nil); err != nil {
			return false, err
		}
		var coded *structs.CodedError
		return errors.As(structs.DecodeRPCError(errors.New(resp.Error)), &coded), rpc.ServerError(resp.Error)
	}
	if err := cc.ReadResponseBody(reply); err != nil {
		return false, err
	}
	return true, nil
}

// Shutdown closes every session.
func (p *ConnPool) Shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shutdown = true
	for addr, ps := range p.sessions {
		ps.session.Close()
		ps.idle = nil
		delete(p.sessions, addr)
	}
}
