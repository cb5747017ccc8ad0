package nomadlike

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"
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
	var de *DialError
	var ne net.Error
	return errors.As(err, &de) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, rpc.ErrShutdown) ||
		errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, yamux.ErrStreamClosed) || errors.Is(err, yamux.ErrConnectionReset)
}

// blocker is implemented by requests that may block on the server.
type blocker interface{ TimeToBlock() time.Duration }

// ConnPool keeps one multiplexed (yamux) session per server and runs each
// RPC on its own stream. Servers use it to forward to the leader; clients
// use it to talk to servers.
type ConnPool struct {
	mu       sync.Mutex
	sessions map[string]*yamux.Session
	shutdown bool
}

// NewConnPool returns an empty pool.
func NewConnPool() *ConnPool {
	return &ConnPool{sessions: map[string]*yamux.Session{}}
}

// session returns the pooled session to addr, dialling one if needed. The
// dial happens outside the lock so a slow server does not hold up calls to
// the others.
func (p *ConnPool) session(addr string) (*yamux.Session, error) {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return nil, &DialError{Err: net.ErrClosed}
	}
	if s, ok := p.sessions[addr]; ok && !s.IsClosed() {
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()

	s, err := dialSession(addr)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shutdown {
		s.Close()
		return nil, &DialError{Err: net.ErrClosed}
	}
	if existing, ok := p.sessions[addr]; ok && !existing.IsClosed() {
		// Another caller dialled first: use theirs.
		s.Close()
		return existing, nil
	}
	p.sessions[addr] = s
	return s, nil
}

func dialSession(addr string) (*yamux.Session, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, &DialError{Err: err}
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetKeepAlive(true)
		tc.SetNoDelay(true)
	}
	if _, err := conn.Write([]byte{rpcMultiplex}); err != nil {
		conn.Close()
		return nil, &DialError{Err: err}
	}
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	cfg.KeepAliveInterval = 5 * time.Second
	cfg.ConnectionWriteTimeout = 5 * time.Second
	s, err := yamux.Client(conn, cfg)
	if err != nil {
		conn.Close()
		return nil, &DialError{Err: err}
	}
	return s, nil
}

// drop closes the session to addr after a transport failure, so the next
// call dials again.
func (p *ConnPool) drop(addr string, s *yamux.Session) {
	p.mu.Lock()
	if p.sessions[addr] == s {
		delete(p.sessions, addr)
	}
	p.mu.Unlock()
	s.Close()
}

// RPC calls method on the server at addr. A server's error comes back
// decoded (structs.DecodeRPCError); a transport failure satisfies
// IsNetworkError.
func (p *ConnPool) RPC(addr, method string, args, reply any) error {
	s, err := p.session(addr)
	if err != nil {
		return err
	}
	stream, err := s.Open()
	if err != nil {
		p.drop(addr, s)
		// The stream never opened: nothing was sent.
		return &DialError{Err: err}
	}
	defer stream.Close()

	timeout := defaultRPCTimeout
	if b, ok := args.(blocker); ok {
		timeout += b.TimeToBlock()
	}
	stream.SetDeadline(time.Now().Add(timeout))
	if _, err := stream.Write([]byte{rpcNomad}); err != nil {
		p.drop(addr, s)
		return &DialError{Err: err}
	}
	codec := msgpackrpc.NewCodecFromHandle(true, true, stream, structs.MsgpackHandle)
	err = msgpackrpc.CallWithCodec(codec, method, args, reply)
	if err == nil {
		return nil
	}
	if IsNetworkError(err) {
		p.drop(addr, s)
		return fmt.Errorf("rpc to %s: %w", addr, err)
	}
	return structs.DecodeRPCError(err)
}

// Shutdown closes every session.
func (p *ConnPool) Shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shutdown = true
	for addr, s := range p.sessions {
		s.Close()
		delete(p.sessions, addr)
	}
}
