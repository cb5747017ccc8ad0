package testcluster

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Cleanup()
	os.Exit(code)
}

// testTimings makes TTLs short enough to observe in a test.
const testTimings = `
server {
  min_heartbeat_ttl      = "1s"
  heartbeat_grace        = "1s"
  failover_heartbeat_ttl = "10s"
}
`

// serverArgs loads the test timings, then extra (a second file, merged
// over the first as operators' config directories are).
func serverArgs(t *testing.T, extra string) []string {
	dir := t.TempDir()
	args := []string{"-config", WriteConfig(t, dir, "1-timings.hcl", testTimings)}
	if extra != "" {
		args = append(args, "-config", WriteConfig(t, dir, "2-extra.hcl", extra))
	}
	return args
}

// rpcWrite registers (or re-registers) a node through the given server
// over real RPC, as a client agent does; the write goes through raft.
func rpcWrite(pool *nomadlike.ConnPool, server string, node *structs.Node) error {
	var resp structs.NodeUpdateResponse
	return pool.RPC(server, "Node.Register", &structs.NodeRegisterRequest{Node: node}, &resp)
}

func fakeNode(name string) *structs.Node {
	return &structs.Node{ID: uuid.NewString(), SecretID: uuid.NewString(), Name: name, Datacenter: "dc1"}
}

func alive(t *testing.T, a *Agent) int {
	m, err := a.API().Agent().Members()
	if err != nil {
		t.Logf("members on %s: %v", a.Name, err)
		return -1
	}
	n := 0
	for _, mem := range m.Members {
		if mem.Status == "alive" {
			n++
		}
	}
	return n
}

func TestCluster_BootstrapExpectWithRetryJoinOnly(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, "")})
	leader := c.WaitForLeader()

	leaders := 0
	for _, s := range c.Servers {
		self, err := s.API().Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		if self.Stats["raft"]["state"] == "Leader" {
			leaders++
		}
		testutil.WaitForResult(t, 30*time.Second, func() error {
			if n := alive(t, s); n != 3 {
				return fmt.Errorf("%s sees %d alive members", s.Name, n)
			}
			peers, err := s.API().Status().Peers()
			if err != nil || len(peers) != 3 {
				return fmt.Errorf("%s peers %v %v", s.Name, peers, err)
			}
			return nil
		})
	}
	if leaders != 1 {
		t.Fatalf("%d servers report raft state Leader", leaders)
	}
	for _, s := range c.Servers {
		if got := s.Grep("bootstrapping raft"); got > 1 {
			t.Fatalf("%s bootstrapped %d times", s.Name, got)
		}
	}
	// The CLI, run as a separate process, agrees.
	out, err := exec.Command(Binary(t), "server", "members", "-address", leader.URL()).CombinedOutput()
	if err != nil || strings.Count(string(out), "alive") != 3 || !strings.Contains(string(out), "true") {
		t.Fatalf("server members: %v\n%s", err, out)
	}
	out, err = exec.Command(Binary(t), "operator", "raft", "list-peers", "-address", c.Servers[1].URL()).CombinedOutput()
	if err != nil || strings.Count(string(out), "leader") != 1 || strings.Count(string(out), "follower") != 2 {
		t.Fatalf("list-peers: %v\n%s", err, out)
	}
}

func TestCluster_KillLeaderThenRestartIt(t *testing.T) {
	c := New(t, Options{Servers: 3, Clients: 1, ServerArgs: serverArgs(t, "")})
	nodeID := c.Clients[0].NodeID()
	leader := c.WaitForLeader()

	leader.Kill()
	newLeader := c.WaitForLeader()
	if newLeader == leader {
		t.Fatal("killed server still leads")
	}
	// The client's node stays registered and ready.
	c.WaitForNodeStatus(nodeID, "ready")
	// Writes succeed through every surviving server.
	pool := nomadlike.NewConnPool()
	defer pool.Shutdown()
	var written []*structs.Node
	for _, s := range c.Running() {
		n := fakeNode("via-" + s.Name)
		if err := rpcWrite(pool, s.RPCAddr(), n); err != nil {
			t.Fatalf("write via %s: %v", s.Name, err)
		}
		written = append(written, n)
	}

	// The old leader comes back on its data dir as a follower, with the
	// writes made while it was gone, without bootstrapping again.
	leader.Start()
	testutil.WaitForResult(t, 30*time.Second, func() error {
		self, err := leader.API().Agent().Self()
		if err != nil {
			return err
		}
		if self.Stats["raft"]["state"] != "Follower" {
			return fmt.Errorf("restarted server is %s", self.Stats["raft"]["state"])
		}
		nodes, _, err := leader.API().Nodes().List(&api.QueryOptions{AllowStale: true})
		if err != nil {
			return err
		}
		if len(nodes) != 1+len(written) {
			return fmt.Errorf("restarted server has %d nodes, want %d", len(nodes), 1+len(written))
		}
		return nil
	})
	if n := leader.Grep("bootstrapping raft"); n != 1 {
		t.Fatalf("server bootstrapped %d times across restart", n)
	}
	// Gossip takes it back too, even when it was started without join
	// addresses: the others reconnect to failed members.
	testutil.WaitForResult(t, 30*time.Second, func() error {
		for _, s := range c.Servers {
			if n := alive(t, s); n != 3 {
				return fmt.Errorf("%s sees %d alive members", s.Name, n)
			}
		}
		return nil
	})
	peers, err := newLeader.API().Status().Peers()
	if err != nil || len(peers) != 3 {
		t.Fatalf("peers after restart: %v %v", peers, err)
	}
}

func TestCluster_FullRestartKeepsState(t *testing.T) {
	// A low snapshot threshold makes the restart go through snapshots
	// as well as the log.
	c := New(t, Options{Servers: 3, Clients: 1, ServerArgs: serverArgs(t, `
server {
  raft_snapshot_threshold = 8
  raft_snapshot_interval  = "200ms"
  raft_trailing_logs      = 4
}`)})
	pool := nomadlike.NewConnPool()
	defer pool.Shutdown()
	leader := c.WaitForLeader()
	var ids []string
	for i := 0; i < 30; i++ {
		n := fakeNode(fmt.Sprintf("n%d", i))
		if err := rpcWrite(pool, leader.RPCAddr(), n); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	ids = append(ids, c.Clients[0].NodeID())
	testutil.WaitForResult(t, 30*time.Second, func() error {
		for _, s := range c.Servers {
			self, err := s.API().Agent().Self()
			if err != nil {
				return err
			}
			if self.Stats["raft"]["last_snapshot_index"] == "0" {
				return fmt.Errorf("%s has not snapshotted", s.Name)
			}
		}
		return nil
	})

	c.Clients[0].Stop()
	for _, s := range c.Servers {
		s.Stop()
	}
	for _, s := range c.Servers {
		if !strings.Contains(s.Log(), "Caught signal: terminated") {
			t.Fatalf("%s did not shut down on SIGTERM", s.Name)
		}
		s.Start()
	}
	c.WaitForLeader()
	for _, s := range c.Servers {
		testutil.WaitForResult(t, 30*time.Second, func() error {
			nodes, _, err := s.API().Nodes().List(&api.QueryOptions{AllowStale: true})
			if err != nil {
				return err
			}
			have := map[string]bool{}
			for _, n := range nodes {
				have[n.ID] = true
			}
			for _, id := range ids {
				if !have[id] {
					return fmt.Errorf("%s lost node %s (%d nodes)", s.Name, id, len(nodes))
				}
			}
			return nil
		})
		if n := s.Grep("bootstrapping raft"); n > 1 {
			t.Fatalf("%s bootstrapped %d times", s.Name, n)
		}
	}
}

func TestCluster_ClientSurvivesItsServerDying(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, "")})
	// The client is told about the leader only; it learns the others
	// from heartbeats and must fail over to one of them.
	leader := c.WaitForLeader()
	cl := c.AddClient("client-1", func([]*Agent) []*Agent { return []*Agent{leader} })
	nodeID := cl.NodeID()
	c.WaitForNodeStatus(nodeID, "ready")
	testutil.WaitForResult(t, 10*time.Second, func() error {
		servers, err := cl.API().Agent().Servers()
		if err != nil || len(servers) != 3 {
			return fmt.Errorf("client knows %v (%v)", servers, err)
		}
		return nil
	})

	leader.Kill()
	c.WaitForLeader()
	// Until three heartbeats have gone through another server, the node
	// is never marked down.
	seen := map[string]bool{}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		n, _, err := c.Running()[0].API().Nodes().Info(nodeID, nil)
		if err == nil && n.Status == "down" {
			t.Fatalf("node marked down after its server died")
		}
		self, err := cl.API().Agent().Self()
		if err != nil {
			return err
		}
		seen[self.Stats["client"]["last_heartbeat"]] = true
		if len(seen) < 4 { // the one before the kill, then three
			return fmt.Errorf("%d heartbeats since the kill", len(seen)-1)
		}
		return nil
	})
	if cl.Grep("heartbeat failed") > 2 {
		t.Fatalf("client failed over slowly:\n%s", cl.Log())
	}
}

func TestCluster_KilledClientGoesDownThenReady(t *testing.T) {
	c := New(t, Options{Servers: 1, Clients: 1, ServerArgs: serverArgs(t, "")})
	cl := c.Clients[0]
	nodeID := cl.NodeID()
	cl.Kill()
	start := time.Now()
	down := c.WaitForNodeStatus(nodeID, "down")
	t.Logf("node marked down %s after kill -9", time.Since(start))
	if down.StatusDescription == "" {
		t.Fatal("down node has no status description")
	}
	cl.Start()
	if cl.NodeID() != nodeID {
		t.Fatal("client came back with a new node ID")
	}
	c.WaitForNodeStatus(nodeID, "ready")
	nodes, _, err := c.Servers[0].API().Nodes().List(nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("restart registered a second node: %v %v", nodes, err)
	}
}

func TestCluster_ForceLeaveFailedServer(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, `server { dead_server_cleanup_threshold = "0s" }`)})
	leader := c.WaitForLeader()
	var victim, other *Agent
	for _, s := range c.Servers {
		if s != leader {
			if victim == nil {
				victim = s
			} else {
				other = s
			}
		}
	}
	victim.Kill()
	memberName := victim.Name + ".global"
	testutil.WaitForResult(t, 60*time.Second, func() error {
		m, err := other.API().Agent().Members()
		if err != nil {
			return err
		}
		for _, mem := range m.Members {
			if mem.Name == memberName && mem.Status == "failed" {
				return nil
			}
		}
		return fmt.Errorf("%s not failed yet", memberName)
	})
	// Still a voter until someone force-leaves it.
	if cfg, err := other.API().Operator().RaftGetConfiguration(nil); err != nil || len(cfg.Servers) != 3 {
		t.Fatalf("raft configuration before force-leave: %v %v", cfg, err)
	}
	out, err := exec.Command(Binary(t), "server", "force-leave", "-address", other.URL(), victim.Name).CombinedOutput()
	if err != nil {
		t.Fatalf("force-leave: %v\n%s", err, out)
	}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		cfg, err := other.API().Operator().RaftGetConfiguration(nil)
		if err != nil {
			return err
		}
		for _, s := range cfg.Servers {
			if s.Node == memberName || s.Address == victim.RPCAddr() {
				return fmt.Errorf("%s still in raft configuration", memberName)
			}
		}
		if len(cfg.Servers) != 2 {
			return fmt.Errorf("%d servers in raft configuration", len(cfg.Servers))
		}
		return nil
	})
	// Every server ends up listing it as left (a server that had not yet
	// seen it fail lists it as leaving until its own detector agrees).
	for _, s := range []*Agent{leader, other} {
		testutil.WaitForResult(t, 30*time.Second, func() error {
			m, err := s.API().Agent().Members()
			if err != nil {
				return err
			}
			for _, mem := range m.Members {
				if mem.Name == memberName && mem.Status != "left" {
					return fmt.Errorf("%s lists the force-left member as %s", s.Name, mem.Status)
				}
			}
			return nil
		})
	}
}

func TestCluster_GracefulLeaveRemovesServer(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: append(serverArgs(t, ""), "-leave-on-terminate")})
	leader := c.WaitForLeader()
	var leaving *Agent
	for _, s := range c.Servers {
		if s != leader {
			leaving = s
		}
	}
	leaving.Stop()
	testutil.WaitForResult(t, 30*time.Second, func() error {
		peers, err := leader.API().Status().Peers()
		if err != nil {
			return err
		}
		if len(peers) != 2 {
			return fmt.Errorf("peers %v", peers)
		}
		return nil
	})
	if !strings.Contains(leaving.Log(), "Gracefully leaving") {
		t.Fatal("server did not leave gracefully")
	}
}

// TestCluster_LeaderLeaves: a leader that leaves hands its leadership off
// first and is removed by the next leader, as a follower is.
func TestCluster_LeaderLeaves(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: append(serverArgs(t, ""), "-leave-on-terminate")})
	leader := c.WaitForLeader()
	leader.Stop()
	if leader.Grep("handed leadership off before leaving") != 1 {
		t.Fatalf("the leaving leader did not hand off:\n%s", leader.LogTail(30))
	}
	testutil.WaitForResult(t, 30*time.Second, func() error {
		for _, s := range c.Servers {
			if s == leader {
				continue
			}
			peers, err := s.API().Status().Peers()
			if err != nil {
				return err
			}
			if len(peers) != 2 {
				return fmt.Errorf("%s peers %v", s.Name, peers)
			}
		}
		return nil
	})
	c.WaitForLeader()
}

// The seed server has no join addresses: restarted at once (before the
// others notice it died) it must still find them, from its data dir.
func TestCluster_SeedRestartsAndRejoins(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, "")})
	seed := c.Servers[0]
	testutil.WaitForResult(t, 30*time.Second, func() error {
		if n := alive(t, seed); n != 3 {
			return fmt.Errorf("seed sees %d alive", n)
		}
		return nil
	})
	seed.Kill()
	seed.Start()
	// The members may show alive (from the snapshot's join) a moment
	// before the rejoin is logged: wait for both.
	testutil.WaitForResult(t, 15*time.Second, func() error {
		if n := alive(t, seed); n != 3 {
			return fmt.Errorf("restarted seed sees %d alive members", n)
		}
		if n := seed.Grep("rejoined gossip pool from snapshot"); n != 1 {
			return fmt.Errorf("seed logged %d rejoins from its gossip snapshot, want 1", n)
		}
		return nil
	})
	c.WaitForLeader()
}
