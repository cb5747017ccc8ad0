package nomadlike

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
	"github.com/nomadlike/nomadlike/structs"
)

// rpcTLS is Nomad's first byte for TLS: a TLS handshake follows, and the
// inner connection starts with its own first byte, routed as usual.
const rpcTLS byte = 0x04

// tlsHandshakeTimeout bounds a handshake, so a silent caller cannot hold a
// goroutine and a socket.
const tlsHandshakeTimeout = 10 * time.Second

// connPeer is what a connection proved about its caller.
type connPeer int

const (
	peerPlain     connPeer = iota // no TLS (RPC TLS off)
	peerTLS                       // a certificate of the CA, not a server's
	peerTLSServer                 // a server certificate of this region
)

// serverOnly tells whether the caller must not reach raft or server-only
// RPCs: with verify_server_hostname, only server.<region>.nomadlike may.
func (s *Server) serverOnly(p connPeer) bool {
	return p == peerTLS && s.config.TLS.Config().VerifyServerHostname
}

// handleTLSConn completes the handshake of a connection that sent rpcTLS
// and routes the inner connection by its own first byte.
func (s *Server) handleTLSConn(conn net.Conn) {
	if s.config.TLS == nil {
		s.logger.Warn("tls rpc connection refused: rpc TLS is not enabled", "from", conn.RemoteAddr())
		conn.Close()
		return
	}
	tc := tls.Server(conn, s.config.TLS.IncomingRPC())
	ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.logger.Warn("tls handshake failed", "from", conn.RemoteAddr(), "error", err)
		tc.Close()
		return
	}
	peer := peerTLS
	if s.config.TLS.IsServerPeer(tc.ConnectionState()) {
		peer = peerTLSServer
	}
	buf := make([]byte, 1)
	tc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(tc, buf); err != nil {
		tc.Close()
		return
	}
	tc.SetReadDeadline(time.Time{})
	if buf[0] == rpcTLS {
		tc.Close() // TLS inside TLS is nobody's protocol
		return
	}
	s.routeConn(tc, buf[0], peer)
}

// refusePlain refuses a connection without TLS when RPC TLS is on.
func (s *Server) refusePlain(conn net.Conn, b byte) bool {
	if s.config.TLS == nil {
		return false
	}
	s.logger.Warn("non-TLS rpc connection refused: rpc TLS is on", "byte", b, "from", conn.RemoteAddr())
	conn.Close()
	return true
}

// refuseRaft refuses a raft connection from a peer that is not a server
// of this region, so a client certificate cannot take part in elections
// or replication.
func (s *Server) refuseRaft(conn net.Conn, p connPeer) bool {
	if !s.serverOnly(p) {
		return false
	}
	var names []string
	if tc, ok := conn.(*tls.Conn); ok {
		names = tlsutil.PeerNames(tc.ConnectionState())
	}
	s.logger.Warn("tls: raft connection refused: peer certificate is not a server certificate",
		"want", s.config.TLS.ServerName(), "names", strings.Join(names, ","), "from", conn.RemoteAddr())
	conn.Close()
	return true
}

// guardCodec refuses, on connections from non-server certificates, the
// RPCs only servers make to each other: anything marked forwarded (it
// skips the forwarding checks) and the membership calls.
func (s *Server) guardCodec(codec rpc.ServerCodec, p connPeer) rpc.ServerCodec {
	if !s.serverOnly(p) {
		return codec
	}
	return &serverOnlyCodec{ServerCodec: codec}
}

// serverOnlyMethods are called only by servers.
var serverOnlyMethods = map[string]bool{
	"Status.Leave":       true,
	"Status.HasNodeConn": true,
}

type serverOnlyCodec struct {
	rpc.ServerCodec
	method string
}

func (c *serverOnlyCodec) ReadRequestHeader(r *rpc.Request) error {
	err := c.ServerCodec.ReadRequestHeader(r)
	c.method = r.ServiceMethod
	return err
}

// ReadRequestBody decodes the whole body first, so the stream stays at a
// message boundary, then refuses; net/rpc answers the error and keeps
// serving the connection.
func (c *serverOnlyCodec) ReadRequestBody(body any) error {
	if err := c.ServerCodec.ReadRequestBody(body); err != nil {
		return err
	}
	info, ok := body.(structs.RPCInfo)
	if serverOnlyMethods[c.method] || (ok && info.IsForwarded()) {
		return structs.NewErrCoded(403, "Permission denied: %s needs a server certificate", c.method)
	}
	return nil
}

// verifyServerPeer checks, before a gossip member becomes a raft voter,
// that its RPC address presents a server certificate of this region: a
// member is only a claim made over gossip, and a voter receives the whole
// log. Without verify_server_hostname there is nothing to check.
func (s *Server) verifyServerPeer(addr string) error {
	if s.config.TLS == nil || !s.config.TLS.Config().VerifyServerHostname {
		return nil
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	// Short: the leader loop waits on this.
	tc, err := dialTLS(conn, s.config.TLS.OutgoingRPC(), 5*time.Second)
	if err != nil {
		return err
	}
	return tc.Close()
}

// dialTLS sends the rpcTLS byte on a fresh conn and completes a client
// handshake with cfg; the inner connection's first byte is the caller's
// to send.
func dialTLS(conn net.Conn, cfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	if _, err := conn.Write([]byte{rpcTLS}); err != nil {
		return nil, err
	}
	tc := tls.Client(conn, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// setupTLS makes every outgoing connection of the server (the pool and
// raft) use TLS when RPC TLS is on.
func (s *Server) setupTLS() {
	if s.config.TLS == nil {
		return
	}
	s.connPool.SetTLSConfig(s.config.TLS.OutgoingRPC())
	s.raftLayer.SetTLSConfig(s.config.TLS.OutgoingRPC())
}
