// Package connlimit caps the connections one client IP address may hold
// open to a listener, as Nomad's limits { http_max_conns_per_client,
// rpc_max_conns_per_client } do. The HTTP server and the RPC listener
// share it.
package connlimit

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// ErrPerClientIPLimitReached is returned by Accept for a connection over
// its address's cap.
var ErrPerClientIPLimitReached = errors.New("too many concurrent connections from this address")

// Limiter counts open connections per remote IP. A nil Limiter allows
// everything.
type Limiter struct {
	max  atomic.Int64
	mu   sync.Mutex
	open map[string]int
}

// New returns a Limiter of max connections per IP; 0 or less disables the
// cap, as in Nomad. Connections are counted even without a cap, so that
// one set later (SetMax, a reload) counts the connections already open.
func New(max int) *Limiter {
	l := &Limiter{open: map[string]int{}}
	l.SetMax(max)
	return l
}

// SetMax changes the cap for the connections accepted from now on; those
// over a lowered cap stay open (as Consul's reload leaves them).
func (l *Limiter) SetMax(max int) { l.max.Store(int64(max)) }

// Max is the cap (0: none).
func (l *Limiter) Max() int {
	if l == nil {
		return 0
	}
	return int(max(l.max.Load(), 0))
}

// Accept counts conn against its address. Under the cap it returns conn
// wrapped so that closing it (once or more) frees the slot; over the cap it
// returns ErrPerClientIPLimitReached and the caller must close conn.
func (l *Limiter) Accept(conn net.Conn) (net.Conn, error) {
	if l == nil {
		return conn, nil
	}
	ip := remoteIP(conn)
	l.mu.Lock()
	defer l.mu.Unlock()
	if m := l.max.Load(); m > 0 && l.open[ip] >= int(m) {
		return nil, ErrPerClientIPLimitReached
	}
	l.open[ip]++
	return &countedConn{Conn: conn, release: func() { l.release(ip) }}, nil
}

// Open is the number of connections ip holds open.
func (l *Limiter) Open(ip string) int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[ip]
}

func (l *Limiter) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// remoteIP is the connection's peer address without its port: the cap is
// per host, whatever port each connection comes from.
func remoteIP(conn net.Conn) string {
	addr := conn.RemoteAddr()
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// countedConn frees its slot on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// NetConn is the connection inside the wrapper, for callers that need the
// concrete type (TCP keep-alive, TLS).
func (c *countedConn) NetConn() net.Conn { return c.Conn }

// Listener wraps ln so that Accept returns only connections under the cap.
// A connection over it is given to reject, which must close it (after
// answering it, if the protocol has a way to say why), and Accept waits
// for the next one. A nil l returns ln itself.
func Listener(ln net.Listener, l *Limiter, reject func(net.Conn)) net.Listener {
	if l == nil {
		return ln
	}
	return &listener{Listener: ln, limiter: l, reject: reject}
}

type listener struct {
	net.Listener
	limiter *Limiter
	reject  func(net.Conn)
}

func (ln *listener) Accept() (net.Conn, error) {
	for {
		conn, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		counted, err := ln.limiter.Accept(conn)
		if err == nil {
			return counted, nil
		}
		ln.reject(conn)
	}
}
