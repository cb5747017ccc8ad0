package agent

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/connlimit"
)

// Limits is the limits {} block: Nomad's four settings with Nomad's
// defaults and meaning (per client IP; 0 disables), plus two of
// nomadlike's own for the HTTP server's idle and body timeouts.
type Limits struct {
	// HTTPSHandshakeTimeout bounds a new HTTP connection's TLS handshake
	// (and, without TLS, the wait before its first request starts).
	HTTPSHandshakeTimeout *string `hcl:"https_handshake_timeout,optional"`
	// HTTPMaxConnsPerClient caps one IP's open HTTP connections; the
	// next one is answered 429 and closed, as Nomad does.
	HTTPMaxConnsPerClient *int `hcl:"http_max_conns_per_client,optional"`
	// RPCHandshakeTimeout bounds the wait for an RPC connection's first
	// byte.
	RPCHandshakeTimeout *string `hcl:"rpc_handshake_timeout,optional"`
	// RPCMaxConnsPerClient caps one IP's open RPC connections (raft
	// included); the next one is closed. 0, or more than 25 (Nomad's
	// floor: a client needs room for its streaming RPCs).
	RPCMaxConnsPerClient *int `hcl:"rpc_max_conns_per_client,optional"`
	// HTTPIdleTimeout closes a keep-alive HTTP connection idle this long.
	HTTPIdleTimeout *string `hcl:"http_idle_timeout,optional"`
	// HTTPBodyReadTimeout bounds reading one request body; responses,
	// blocking queries and streams are not bounded by it.
	HTTPBodyReadTimeout *string `hcl:"http_body_read_timeout,optional"`
}

// minRPCMaxConns is Nomad's floor for rpc_max_conns_per_client: a client
// holds up to 20 non-streaming connections, plus room for streams.
const minRPCMaxConns = 25

func defaultLimits() *Limits {
	return &Limits{
		HTTPSHandshakeTimeout: ptr("5s"),
		HTTPMaxConnsPerClient: ptr(100),
		RPCHandshakeTimeout:   ptr("5s"),
		RPCMaxConnsPerClient:  ptr(100),
		// Longer than Go's and Nomad's clients keep idle connections
		// (90 s), so that a client drops its end first and never
		// reuses a connection the server has just closed.
		HTTPIdleTimeout: ptr("120s"),
		// 16 MiB (the largest body) at 280 KB/s.
		HTTPBodyReadTimeout: ptr("60s"),
	}
}

// validate adds an error for every bad limit.
func (l *Limits) validate(add func(string, ...any)) {
	for _, d := range []struct {
		name string
		v    *string
	}{
		{"https_handshake_timeout", l.HTTPSHandshakeTimeout},
		{"rpc_handshake_timeout", l.RPCHandshakeTimeout},
		{"http_idle_timeout", l.HTTPIdleTimeout},
		{"http_body_read_timeout", l.HTTPBodyReadTimeout},
	} {
		if v, err := time.ParseDuration(*d.v); err != nil {
			add("limits.%s: %q is not a duration such as \"5s\"", d.name, *d.v)
		} else if v < 0 {
			add("limits.%s: %q must not be negative (0 disables it)", d.name, *d.v)
		}
	}
	if n := *l.HTTPMaxConnsPerClient; n < 0 {
		add("limits.http_max_conns_per_client: %d must be 0 (no limit) or more", n)
	}
	if n := *l.RPCMaxConnsPerClient; n != 0 && n <= minRPCMaxConns {
		add("limits.rpc_max_conns_per_client: %d must be 0 (no limit) or more than %d", n, minRPCMaxConns)
	}
}

// applyToServer carries the RPC limits into the server's runtime config.
func (l *Limits) applyToServer(sc *nomadlike.Config) {
	sc.RPCMaxConnsPerClient = *l.RPCMaxConnsPerClient
	sc.RPCHandshakeTimeout = mustDuration(l.RPCHandshakeTimeout)
}

// tooManyConns is what an HTTP connection over its address's cap gets
// before it is closed: Nomad's answer, word for word.
var tooManyConns = func() []byte {
	msg := "Your IP is issuing too many concurrent connections, please rate limit your calls\n"
	return fmt.Appendf(nil, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\n"+
		"Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(msg), msg)
}()

// limitHTTPListener applies http_max_conns_per_client to ln. Writing the
// 429 costs a write per rejected connection, so like Nomad it is written
// at most 10 times a second (bursts of 100) and with a 10 ms deadline;
// past that a rejected connection is only closed.
func (s *HTTPServer) limitHTTPListener(ln net.Listener) net.Listener {
	s.connLimit = connlimit.New(*s.agent.config.Limits.HTTPMaxConnsPerClient)
	answers := rate.NewLimiter(10, 100)
	warn := rate.Sometimes{Interval: time.Second}
	return connlimit.Listener(ln, s.connLimit, func(conn net.Conn) {
		warn.Do(func() {
			s.logger.Warn("too many concurrent connections", "address", conn.RemoteAddr().String(), "limit", s.connLimit.Max())
		})
		if answers.Allow() {
			conn.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
			conn.Write(tooManyConns)
		}
		conn.Close()
	})
}

// configureHTTPServer sets the HTTP server's timeouts. There is no
// WriteTimeout (nor a ReadTimeout, which in net/http also ends the request's
// context once it fires): either would cut blocking queries, monitors and
// event streams. Bodies are bounded by bodyReadTimeout instead.
func (s *HTTPServer) configureHTTPServer(srv *http.Server) {
	l := s.agent.config.Limits
	srv.ReadHeaderTimeout = 10 * time.Second
	srv.IdleTimeout = mustDuration(l.HTTPIdleTimeout)
	if srv.IdleTimeout == 0 {
		srv.IdleTimeout = -1 // 0 disables; net/http would fall back to ReadTimeout
	}
	s.setTimeouts(l)
	// As Nomad: a deadline from accept until the first request, which
	// bounds a TLS handshake. net/http replaces the read deadline with its
	// own when it reads a request; the write deadline is cleared here,
	// since no WriteTimeout is set to replace it.
	srv.ConnState = func(conn net.Conn, state http.ConnState) {
		d := time.Duration(s.handshakeTimeout.Load())
		if d <= 0 {
			return
		}
		switch state {
		case http.StateNew:
			conn.SetDeadline(time.Now().Add(d))
		case http.StateActive:
			conn.SetWriteDeadline(time.Time{})
		}
	}
	srv.Handler = bodyReadTimeout(srv.Handler, func() time.Duration { return time.Duration(s.bodyTimeout.Load()) })
}

// setTimeouts takes the handshake and body timeouts of l, for the
// connections and requests that start from now on.
func (s *HTTPServer) setTimeouts(l *Limits) {
	s.handshakeTimeout.Store(int64(mustDuration(l.HTTPSHandshakeTimeout)))
	s.bodyTimeout.Store(int64(mustDuration(l.HTTPBodyReadTimeout)))
}

// setLimits applies a reload's limits {} to the running HTTP server:
// http_max_conns_per_client (connections already open stay), the
// handshake and body timeouts. http_idle_timeout is read by net/http
// unsynchronized, so it waits for a restart.
func (s *HTTPServer) setLimits(l *Limits) {
	if s.connLimit != nil {
		s.connLimit.SetMax(*l.HTTPMaxConnsPerClient)
	}
	s.setTimeouts(l)
}

// bodyReadTimeout bounds how long a request's body may stall: a read
// deadline set at the start of the request and moved on whenever a read
// makes progress (a large snapshot upload may take longer than d, a body
// that stops arriving may not), lifted as soon as the body has been read to
// its end, so that it never touches the answer (a blocking query or a
// stream that reads no more).
func bodyReadTimeout(h http.Handler, timeout func() time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d := timeout()
		if d <= 0 || req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
			h.ServeHTTP(w, req)
			return
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(d)) != nil {
			h.ServeHTTP(w, req)
			return
		}
		// A shallow copy: net/http inspects the original request's body
		// after the handler to decide how much of an unread body it
		// discards, and a body it does not know it would read to its end
		// (an 8 GiB upload answered 413 at once hung there).
		inner := req.WithContext(req.Context())
		inner.Body = &deadlineBody{ReadCloser: req.Body,
			extend: func() { rc.SetReadDeadline(time.Now().Add(d)) },
			lift:   func() { rc.SetReadDeadline(time.Time{}) }}
		h.ServeHTTP(w, inner)
	})
}

// deadlineBody lifts the body's read deadline once the body is read to its
// end (or closed).
type deadlineBody struct {
	io.ReadCloser
	extend, lift func()
	lifted       bool
	lastExtend   time.Time
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF && !b.lifted:
		b.lifted = true
		b.lift()
	case n > 0 && !b.lifted && time.Since(b.lastExtend) > time.Second:
		// At most once a second: a deadline costs a timer reset.
		b.lastExtend = time.Now()
		b.extend()
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	if !b.lifted {
		b.lifted = true
		b.lift()
	}
	return b.ReadCloser.Close()
}
