package nomadlike

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
	"github.com/nomadlike/nomadlike/structs"
)

// testCerts writes a CA and a certificate per role into a temp dir and
// returns a configurator per role, all with verify_server_hostname.
func testCerts(t *testing.T) map[string]*tlsutil.Configurator {
	t.Helper()
	dir := t.TempDir()
	caCert, caKey, err := tlsutil.GenerateCA(tlsutil.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, caCert, 0o600); err != nil {
		t.Fatal(err)
	}
	out := map[string]*tlsutil.Configurator{}
	for _, role := range []string{tlsutil.RoleServer, tlsutil.RoleClient} {
		cert, key, err := tlsutil.GenerateCert(tlsutil.CertOptions{Role: role}, caCert, caKey)
		if err != nil {
			t.Fatal(err)
		}
		cf, kf := filepath.Join(dir, role+".pem"), filepath.Join(dir, role+"-key.pem")
		os.WriteFile(cf, cert, 0o600)
		os.WriteFile(kf, key, 0o600)
		c, err := tlsutil.NewConfigurator(tlsutil.Config{EnableRPC: true, CAFile: ca, CertFile: cf, KeyFile: kf,
			VerifyServerHostname: true, Region: "global"})
		if err != nil {
			t.Fatal(err)
		}
		out[role] = c
	}
	return out
}

// TestTLS_Cluster: three servers form a cluster with raft and RPC over
// TLS, and a write forwarded by a follower is applied.
func TestTLS_Cluster(t *testing.T) {
	certs := testCerts(t)
	withTLS := func(c *Config) { c.TLS = certs[tlsutil.RoleServer]; c.BootstrapExpect = 3 }
	s1, _ := TestServer(t, withTLS)
	s2, _ := TestServer(t, withTLS)
	s3, _ := TestServer(t, withTLS)
	TestJoin(t, s1, s2, s3)
	leader := WaitForLeader(t, s1, s2, s3)
	WaitForVoters(t, leader, 3)
	var follower *Server
	for _, s := range []*Server{s1, s2, s3} {
		if s != leader {
			follower = s
		}
	}
	var resp structs.NodeUpdateResponse
	if err := follower.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode()}, &resp); err != nil || resp.Index == 0 {
		t.Fatalf("write forwarded over TLS: %+v %v", resp, err)
	}
}

// TestTLS_Refusals: with rpc TLS and verify_server_hostname, a plain
// connection is refused, a client certificate may call client RPCs but
// neither server-only RPCs nor forwarded requests, and its raft
// connection is closed, while a server certificate's is handed to raft.
func TestTLS_Refusals(t *testing.T) {
	certs := testCerts(t)
	s, _ := TestServer(t, func(c *Config) { c.TLS = certs[tlsutil.RoleServer] })
	WaitForLeader(t, s)
	addr := s.RPCAddr()

	plain := NewConnPool()
	defer plain.Shutdown()
	if err := plain.RPC(addr, "Status.Ping", &structs.GenericRequest{}, &struct{}{}); err == nil || !IsNetworkError(err) {
		t.Fatalf("plain RPC with rpc TLS on: %v", err)
	}

	client := NewConnPool()
	client.SetTLSConfig(certs[tlsutil.RoleClient].OutgoingRPC())
	defer client.Shutdown()
	if err := client.RPC(addr, "Status.Ping", &structs.GenericRequest{}, &struct{}{}); err != nil {
		t.Fatalf("client certificate, Status.Ping: %v", err)
	}
	err := client.RPC(addr, "Status.Leave", &structs.ServerLeaveRequest{Member: s.config.memberName()}, &struct{}{})
	if !errors.Is(err, structs.ErrPermissionDenied) && !strings.Contains(fmtErr(err), "server certificate") {
		t.Fatalf("client certificate, Status.Leave: %v", err)
	}
	fwd := &structs.GenericRequest{QueryOptions: structs.QueryOptions{Forwarded: true}}
	var idx uint64
	if err := client.RPC(addr, "Status.LatestIndex", fwd, &idx); err == nil || !strings.Contains(err.Error(), "server certificate") {
		t.Fatalf("client certificate, forwarded request: %v", err)
	}
	// The stream survived the refusals.
	if err := client.RPC(addr, "Status.Ping", &structs.GenericRequest{}, &struct{}{}); err != nil {
		t.Fatalf("client certificate, Status.Ping after refusals: %v", err)
	}

	server := NewConnPool()
	server.SetTLSConfig(certs[tlsutil.RoleServer].OutgoingRPC())
	defer server.Shutdown()
	if err := server.RPC(addr, "Status.LatestIndex", fwd, &idx); err != nil {
		t.Fatalf("server certificate, forwarded request: %v", err)
	}

	raftDial := func(role string) net.Conn {
		l := NewRaftLayer(nil)
		l.SetTLSConfig(certs[role].OutgoingRPC())
		conn, err := l.Dial(raft.ServerAddress(addr), 5*time.Second)
		if err != nil {
			t.Fatalf("raft dial with %s certificate: %v", role, err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	conn := raftDial(tlsutil.RoleClient)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("raft with a client certificate: want the server to close, got %v", err)
	}
	conn = raftDial(tlsutil.RoleServer)
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var ne net.Error
	if _, err := conn.Read(make([]byte, 1)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("raft with a server certificate: want it kept open (a read timeout), got %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
