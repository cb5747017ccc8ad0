package nomadlike

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

var testServerCount atomic.Int32

// TestServer starts a server on loopback ports with test timings (fast
// raft and gossip), a t.TempDir data dir and BootstrapExpect 1; cb may
// change the config first. The returned func shuts it down; it is also
// registered with t.Cleanup.
func TestServer(t testutil.TB, cb func(*Config)) (*Server, func()) {
	t.Helper()
	n := testServerCount.Add(1)
	config := DefaultConfig()
	config.NodeName = fmt.Sprintf("nomadlike-%03d", n)
	config.DataDir = t.TempDir()
	config.BootstrapExpect = 1
	config.Build = "test"
	ApplyTestTimings(config)
	// An InterceptLogger, as the agent's, so that logs can be monitored.
	config.Logger = hclog.NewInterceptLogger(&hclog.LoggerOptions{
		Name:   config.NodeName,
		Level:  hclog.Warn,
		Output: testWriter{t},
	})
	if cb != nil {
		cb(config)
	}

	var s *Server
	var err error
	for i := 0; i < 10; i++ {
		ports := testutil.FreePorts(t, 2)
		config.RPCAddr = &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: ports[0]}
		config.RPCAdvertise = nil
		config.MemberlistConfig.BindAddr = "127.0.0.1"
		config.MemberlistConfig.BindPort = ports[1]
		config.MemberlistConfig.AdvertisePort = ports[1]
		if s, err = NewServer(config); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting test server: %v", err)
	}
	stop := func() { s.Shutdown() }
	t.Cleanup(stop)
	return s, stop
}

// ApplyTestTimings sets the fast raft, gossip and RPC timings tests use.
func ApplyTestTimings(c *Config) {
	c.RaftConfig.HeartbeatTimeout = 100 * time.Millisecond
	c.RaftConfig.ElectionTimeout = 100 * time.Millisecond
	c.RaftConfig.LeaderLeaseTimeout = 50 * time.Millisecond
	c.RaftConfig.CommitTimeout = 5 * time.Millisecond
	c.MemberlistConfig.ProbeInterval = 100 * time.Millisecond
	c.MemberlistConfig.ProbeTimeout = 50 * time.Millisecond
	c.MemberlistConfig.GossipInterval = 20 * time.Millisecond
	c.MemberlistConfig.PushPullInterval = time.Second
	c.MemberlistConfig.SuspicionMult = 2
	c.ReconcileInterval = 500 * time.Millisecond
	c.ReconnectInterval = 500 * time.Millisecond
	c.RPCHoldTimeout = 5 * time.Second
}

// testWriter sends log output to t.Log while the test runs.
type testWriter struct{ t testutil.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	defer func() { recover() }() // logging after the test ended
	w.t.Log(string(p))
	return len(p), nil
}

// TestJoin joins every server to the first one's gossip pool.
func TestJoin(t testutil.TB, servers ...*Server) {
	t.Helper()
	addr := servers[0].memberlist.LocalNode().Address()
	for _, s := range servers[1:] {
		if _, err := s.Join([]string{addr}); err != nil {
			t.Fatalf("join: %v", err)
		}
	}
}

// WaitForLeader waits until exactly one of the servers leads and all of
// them agree on it, and returns it.
func WaitForLeader(t testutil.TB, servers ...*Server) *Server {
	t.Helper()
	var leader *Server
	testutil.WaitForResult(t, 15*time.Second, func() error {
		leader = nil
		for _, s := range servers {
			if s.IsLeader() {
				if leader != nil {
					return errors.New("two leaders")
				}
				leader = s
			}
		}
		if leader == nil {
			return errors.New("no leader")
		}
		for _, s := range servers {
			if s.Leader() != leader.RPCAddr() {
				return fmt.Errorf("%s sees leader %q, want %q", s.config.NodeName, s.Leader(), leader.RPCAddr())
			}
		}
		return nil
	})
	return leader
}

// WaitForVoters waits until the leader's raft configuration has n voters.
func WaitForVoters(t testutil.TB, s *Server, n int) {
	t.Helper()
	testutil.WaitForResult(t, 15*time.Second, func() error {
		f := s.raft.GetConfiguration()
		if err := f.Error(); err != nil {
			return err
		}
		voters := 0
		for _, srv := range f.Configuration().Servers {
			if srv.Suffrage == raft.Voter {
				voters++
			}
		}
		if voters != n {
			return fmt.Errorf("%d voters, want %d", voters, n)
		}
		return nil
	})
}
