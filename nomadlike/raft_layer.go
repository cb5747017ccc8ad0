package nomadlike

import (
	"crypto/tls"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// RaftLayer is raft's StreamLayer on the shared RPC port: the RPC listener
// hands it every connection whose first byte is rpcRaft, and its Dial
// writes that byte before raft speaks.
type RaftLayer struct {
	addr    net.Addr
	connCh  chan net.Conn
	closeCh chan struct{}
	once    sync.Once
	// tlsConfig, when set, makes Dial speak TLS (first byte rpcTLS).
	tlsConfig *tls.Config
}

// NewRaftLayer returns a layer advertising addr.
func NewRaftLayer(addr net.Addr) *RaftLayer {
	return &RaftLayer{addr: addr, connCh: make(chan net.Conn), closeCh: make(chan struct{})}
}

// Handoff gives an accepted raft connection to raft.
func (l *RaftLayer) Handoff(c net.Conn) {
	select {
	case l.connCh <- c:
	case <-l.closeCh:
		c.Close()
	}
}

// Accept implements net.Listener.
func (l *RaftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.connCh:
		return c, nil
	case <-l.closeCh:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener.
func (l *RaftLayer) Close() error {
	l.once.Do(func() { close(l.closeCh) })
	return nil
}

// Addr implements net.Listener; it is the advertised RPC address.
func (l *RaftLayer) Addr() net.Addr { return l.addr }

// SetTLSConfig makes Dial wrap raft's connections in TLS; set it before
// raft starts.
func (l *RaftLayer) SetTLSConfig(c *tls.Config) { l.tlsConfig = c }

// Dial implements raft.StreamLayer.
func (l *RaftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	conn, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	if l.tlsConfig != nil {
		tconn, err := dialTLS(conn, l.tlsConfig, timeout)
		if err != nil {
			conn.Close()
			return nil, err
		}
		conn = tconn
	}
	if _, err := conn.Write([]byte{rpcRaft}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
