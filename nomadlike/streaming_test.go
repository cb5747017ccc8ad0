package nomadlike

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/monitor"
	"github.com/nomadlike/nomadlike/structs"
)

// DialStreamingRPC opens a streaming RPC on a connection of its own (the
// 0x05 first byte), the transport the pooled stream is the alternative to.
func DialStreamingRPC(addr, method string) (*StreamConn, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, &DialError{Err: err}
	}
	return startStreaming(conn, method, true)
}

// recvUntil reads a log stream until its data contains want.
func recvUntil(t *testing.T, sc *StreamConn, want string) {
	t.Helper()
	sc.SetDeadline(time.Now().Add(5 * time.Second))
	var got strings.Builder
	for !strings.Contains(got.String(), want) {
		p, err := sc.Recv()
		if err != nil {
			t.Fatalf("recv before %q: %v (got %q)", want, err, got.String())
		}
		got.Write(p)
	}
}

// Every way in to a streaming RPC: a direct 0x05 connection, a stream of
// the pooled session, and the in-memory pipe; an unknown method is refused
// in the ack.
func TestStreamingRPC_Transports(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	pool := NewConnPool()
	defer pool.Shutdown()

	if _, err := DialStreamingRPC(s.RPCAddr(), "Nope.Nope"); codeOf(err) != http.StatusNotFound {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := pool.StreamingRPC(s.RPCAddr(), "Nope.Nope"); codeOf(err) != http.StatusNotFound {
		t.Fatalf("unknown method over the pool: %v", err)
	}
	open := map[string]func() (*StreamConn, error){
		"direct": func() (*StreamConn, error) { return DialStreamingRPC(s.RPCAddr(), "Agent.Monitor") },
		"pool":   func() (*StreamConn, error) { return pool.StreamingRPC(s.RPCAddr(), "Agent.Monitor") },
		"inmem":  func() (*StreamConn, error) { return s.StreamingRPC("Agent.Monitor") },
	}
	for name, fn := range open {
		t.Run(name, func(t *testing.T) {
			sc, err := fn()
			if err != nil {
				t.Fatal(err)
			}
			defer sc.Close()
			if err := sc.Encode(&structs.MonitorRequest{LogLevel: "debug"}); err != nil {
				t.Fatal(err)
			}
			if p, err := sc.Recv(); err != nil || len(p) != 0 {
				t.Fatalf("start: %q %v", p, err)
			}
			s.logger.Debug("streamed over " + name)
			recvUntil(t, sc, "streamed over "+name)
		})
	}
	// The pooled session still serves ordinary calls.
	var leader string
	if err := pool.RPC(s.RPCAddr(), "Status.Leader", &structs.GenericRequest{}, &leader); err != nil || leader == "" {
		t.Fatalf("rpc after streams: %q %v", leader, err)
	}
}

// A monitor whose caller went away detaches its sink.
func TestStreamingRPC_MonitorStopsWhenCallerLeaves(t *testing.T) {
	s, _ := TestServer(t, nil)
	before := monitor.Active()
	sc, err := DialStreamingRPC(s.RPCAddr(), "Agent.Monitor")
	if err != nil {
		t.Fatal(err)
	}
	sc.Encode(&structs.MonitorRequest{})
	if _, err := sc.Recv(); err != nil {
		t.Fatal(err)
	}
	if monitor.Active() != before+1 {
		t.Fatalf("%d monitors, want %d", monitor.Active(), before+1)
	}
	sc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for monitor.Active() != before {
		if time.Now().After(deadline) {
			t.Fatalf("sink still registered after the caller left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With ACLs on, the monitor needs agent:read and pprof agent:write, each
// checked before routing; errors keep their status.
func TestAgentEndpoint_ACLAndErrors(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) { c.ACLEnabled = true })
	WaitForLeader(t, s)
	sc, err := s.StreamingRPC("Agent.Monitor")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.Encode(&structs.MonitorRequest{ServerID: "ghost"})
	if _, err := sc.Recv(); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("monitor without token: %v", err)
	}
	var out structs.AgentPprofResponse
	err = s.RPC("Agent.Profile", &structs.AgentPprofRequest{ReqType: structs.PprofCmdline}, &out)
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("profile without token: %v", err)
	}
	var host structs.HostDataResponse
	err = s.RPC("Agent.Host", &structs.HostDataRequest{QueryOptions: structs.QueryOptions{AuthToken: "8d2c6f3e-0000-4000-8000-00000000dead"}}, &host)
	if !errors.Is(err, structs.ErrTokenNotFound) {
		t.Fatalf("host with unknown token: %v", err)
	}
}

// Agent.Host and Agent.Profile by server ID, gossip name and "leader"
// across three servers; the answer names the server that answered.
func TestAgentEndpoint_ServerRouting(t *testing.T) {
	var servers []*Server
	for i := 0; i < 3; i++ {
		s, _ := TestServer(t, func(c *Config) { c.BootstrapExpect = 3; c.EnableDebug = true })
		servers = append(servers, s)
	}
	TestJoin(t, servers...)
	leader := WaitForLeader(t, servers...)
	var follower *Server
	for _, s := range servers {
		if s != leader {
			follower = s
		}
	}
	for _, id := range []string{"leader", leader.config.memberName(), leader.config.NodeID, leader.config.NodeName} {
		var out structs.HostDataResponse
		if err := follower.RPC("Agent.Host", &structs.HostDataRequest{ServerID: id}, &out); err != nil ||
			out.AgentID != leader.config.memberName() || out.HostData == nil {
			t.Fatalf("host %s: %+v %v", id, out, err)
		}
	}
	var out structs.AgentPprofResponse
	err := follower.RPC("Agent.Profile", &structs.AgentPprofRequest{ReqType: structs.PprofLookup, Profile: "goroutine", Debug: 1, ServerID: "leader"}, &out)
	if err != nil || out.AgentID != leader.config.memberName() || !strings.Contains(string(out.Payload), "goroutine profile:") {
		t.Fatalf("profile: %s %v", out.AgentID, err)
	}
	err = follower.RPC("Agent.Profile", &structs.AgentPprofRequest{ReqType: structs.PprofLookup, Profile: "nope", ServerID: "leader"}, &out)
	if codeOf(err) != http.StatusNotFound || !strings.Contains(err.Error(), "Pprof profile not found profile: nope") {
		t.Fatalf("unknown profile via leader: %v", err)
	}
	err = follower.RPC("Agent.Host", &structs.HostDataRequest{ServerID: "ghost"}, &structs.HostDataResponse{})
	if codeOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "unknown nomadlike server ghost") {
		t.Fatalf("unknown server: %v", err)
	}

	// The leader's logs through a follower.
	sc, err := follower.StreamingRPC("Agent.Monitor")
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sc.Encode(&structs.MonitorRequest{ServerID: "leader", LogLevel: "info"})
	if _, err := sc.Recv(); err != nil {
		t.Fatal(err)
	}
	leader.logger.Info("from the leader itself")
	recvUntil(t, sc, "from the leader itself")
}
