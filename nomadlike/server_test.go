package nomadlike

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

func testCluster(t *testing.T, n int, cb func(*Config)) []*Server {
	t.Helper()
	var servers []*Server
	for i := 0; i < n; i++ {
		s, _ := TestServer(t, func(c *Config) {
			c.BootstrapExpect = n
			if cb != nil {
				cb(c)
			}
		})
		servers = append(servers, s)
	}
	TestJoin(t, servers...)
	leader := WaitForLeader(t, servers...)
	WaitForVoters(t, leader, n)
	return servers
}

func testNode() *structs.Node {
	return &structs.Node{
		ID: uuid.NewString(), SecretID: uuid.NewString(), Name: "client-1", Datacenter: "dc1",
		Attributes: map[string]string{"collector.os": "linux"},
	}
}

func register(t *testing.T, s *Server, node *structs.Node) *structs.NodeUpdateResponse {
	t.Helper()
	var resp structs.NodeUpdateResponse
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: node}, &resp); err != nil {
		t.Fatalf("register: %v", err)
	}
	return &resp
}

// waitBlocking waits until s runs n blocking queries: a test that starts
// one and then makes the change it waits for knows that it blocked first.
func waitBlocking(t *testing.T, s *Server, n int64) {
	t.Helper()
	testutil.WaitForResult(t, 5*time.Second, func() error {
		if got := s.BlockingQueries(); got != n {
			return fmt.Errorf("%d blocking queries, want %d", got, n)
		}
		return nil
	})
}

func TestServer_BootstrapExpect_ThreeServers(t *testing.T) {
	servers := testCluster(t, 3, nil)
	for _, s := range servers {
		// A follower learns the configuration from the leader's next
		// AppendEntries: wait for it rather than racing it.
		testutil.WaitForResult(t, 5*time.Second, func() error {
			var peers []string
			if err := s.RPC("Status.Peers", &structs.GenericRequest{}, &peers); err != nil {
				return err
			}
			if len(peers) != 3 {
				return fmt.Errorf("%s: peers %v", s.config.NodeName, peers)
			}
			return nil
		})
		testutil.WaitForResult(t, 5*time.Second, func() error {
			alive := 0
			for _, m := range s.Members().Members {
				if m.Status == statusAlive {
					alive++
				}
			}
			if alive != 3 {
				return fmt.Errorf("%d alive members", alive)
			}
			return nil
		})
	}
}

func TestServer_ForwardWritesAndReads(t *testing.T) {
	servers := testCluster(t, 3, nil)
	leader := WaitForLeader(t, servers...)
	var follower *Server
	for _, s := range servers {
		if s != leader {
			follower = s
		}
	}
	node := testNode()
	resp := register(t, follower, node)
	if resp.HeartbeatTTL <= 0 || resp.Index == 0 || len(resp.Servers) != 3 {
		t.Fatalf("register response %+v", resp)
	}
	if resp.LeaderRPCAddr != leader.RPCAddr() {
		t.Fatalf("answered by %s, want leader %s", resp.LeaderRPCAddr, leader.RPCAddr())
	}

	// A consistent read through a follower sees the write at once.
	var single structs.SingleNodeResponse
	if err := follower.RPC("Node.GetNode", &structs.NodeSpecificRequest{NodeID: node.ID}, &single); err != nil {
		t.Fatal(err)
	}
	if single.Node == nil || single.Node.Status != structs.NodeStatusReady || single.Node.SecretID != "" {
		t.Fatalf("node %+v", single.Node)
	}
	if !single.KnownLeader {
		t.Fatal("KnownLeader false")
	}

	// Heartbeats with the wrong secret are refused; right secret works.
	var hb structs.NodeUpdateResponse
	err := follower.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: "wrong", Status: structs.NodeStatusReady}, &hb)
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("wrong secret: %v", err)
	}
	err = follower.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}, &hb)
	if err != nil || hb.HeartbeatTTL <= 0 {
		t.Fatalf("heartbeat: %v %+v", err, hb)
	}
	err = follower.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: "nope", Status: structs.NodeStatusReady}, &hb)
	if !errors.Is(err, structs.ErrUnknownNode) {
		t.Fatalf("unknown node: %v", err)
	}

	// A blocking list on a follower wakes on a write through another.
	var list structs.NodeListResponse
	if err := follower.RPC("Node.List", &structs.NodeListRequest{}, &list); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		var out structs.NodeListResponse
		err := follower.RPC("Node.List", &structs.NodeListRequest{QueryOptions: structs.QueryOptions{
			MinQueryIndex: list.Index, MaxQueryTime: 10 * time.Second, AllowStale: true}}, &out)
		if err == nil && len(out.Nodes) != 2 {
			err = fmt.Errorf("blocking list returned %d nodes at index %d", len(out.Nodes), out.Index)
		}
		done <- err
	}()
	waitBlocking(t, follower, 1)
	register(t, leader, testNode())
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking query did not wake")
	}
}

func TestServer_HeartbeatExpiryMarksDown(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) {
		c.MinHeartbeatTTL = 100 * time.Millisecond
		c.HeartbeatGrace = 100 * time.Millisecond
	})
	WaitForLeader(t, s)
	node := testNode()
	register(t, s, node)
	testutil.WaitForResult(t, 5*time.Second, func() error {
		n, _ := s.State().NodeByID(nil, node.ID)
		if n.Status != structs.NodeStatusDown {
			return fmt.Errorf("status %s", n.Status)
		}
		return nil
	})
	// Coming back: a heartbeat marks it ready again.
	var hb structs.NodeUpdateResponse
	if err := s.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}, &hb); err != nil {
		t.Fatal(err)
	}
	n, _ := s.State().NodeByID(nil, node.ID)
	if n.Status != structs.NodeStatusReady {
		t.Fatalf("status after heartbeat %s", n.Status)
	}
}

func TestServer_LeaderFailoverAndForceLeave(t *testing.T) {
	servers := testCluster(t, 3, func(c *Config) { c.DeadServerCleanupThreshold = 0 })
	leader := WaitForLeader(t, servers...)
	node := testNode()
	register(t, leader, node)

	var rest []*Server
	for _, s := range servers {
		if s != leader {
			rest = append(rest, s)
		}
	}
	leader.Shutdown()
	newLeader := WaitForLeader(t, rest...)
	// Writes keep succeeding through either survivor.
	for _, s := range rest {
		var hb structs.NodeUpdateResponse
		if err := s.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID, Status: structs.NodeStatusReady}, &hb); err != nil {
			t.Fatalf("heartbeat via %s: %v", s.config.NodeName, err)
		}
	}
	// The dead server is failed in gossip (in both survivors' views: the
	// force-leave below runs on the one that is not leader, and is a no-op
	// there while it still sees the member alive), still a raft voter.
	testutil.WaitForResult(t, 5*time.Second, func() error {
		for _, s := range rest {
			m, ok := s.members.get(leader.config.memberName())
			if !ok || m.Status != statusFailed {
				return fmt.Errorf("old leader member in %s's view: %+v", s.config.NodeName, m)
			}
		}
		return nil
	})
	WaitForVoters(t, newLeader, 3)

	// force-leave on the follower that is not leader removes it.
	var other *Server
	for _, s := range rest {
		if s != newLeader {
			other = s
		}
	}
	if err := other.ForceLeave(leader.config.NodeName, false, ""); err != nil {
		t.Fatal(err)
	}
	WaitForVoters(t, newLeader, 2)
	var cfg structs.RaftConfigurationResponse
	if err := other.RPC("Operator.RaftGetConfiguration", &structs.GenericRequest{}, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, srv := range cfg.Servers {
		if srv.ID == leader.config.NodeID {
			t.Fatalf("force-left server still in raft configuration: %+v", cfg.Servers)
		}
	}
}

func TestServer_DeadServerCleanup(t *testing.T) {
	servers := testCluster(t, 3, func(c *Config) { c.DeadServerCleanupThreshold = 300 * time.Millisecond })
	leader := WaitForLeader(t, servers...)
	var victim *Server
	for _, s := range servers {
		if s != leader {
			victim = s
		}
	}
	victim.Shutdown()
	WaitForVoters(t, leader, 2)
}

func TestServer_RestartKeepsStateAndNeverRebootstraps(t *testing.T) {
	for _, backend := range []string{LogStoreBoltDB, LogStoreWAL} {
		t.Run(backend, func(t *testing.T) { testRestartKeepsState(t, backend) })
	}
}

// testRestartKeepsState restarts a server on its data dir after enough
// writes for a snapshot and a truncated log, on one raft log backend.
func testRestartKeepsState(t *testing.T, backend string) {
	dir := t.TempDir()
	cfg := func(c *Config) {
		c.DataDir = dir
		c.RaftLogStore = backend
		c.RaftConfig.SnapshotThreshold = 5
		c.RaftConfig.SnapshotInterval = 50 * time.Millisecond
		c.RaftConfig.TrailingLogs = 2
	}
	s1, stop := TestServer(t, cfg)
	WaitForLeader(t, s1)
	// Pipelines with their history go through the raft snapshot too. They
	// are written first: the node registrations after them are more than
	// a snapshot threshold's worth of entries, so some snapshot covers
	// them whatever the timing.
	if _, err := applyPipelines(s1, createOp("a"), createOp("b")); err != nil {
		t.Fatal(err)
	}
	changed := createOp("b", `env="prod"`)
	changed.Op, changed.Pipeline.ID = structs.PipelineOpUpdate, "2"
	upd, err := applyPipelines(s1, changed)
	if err != nil {
		t.Fatal(err)
	}
	revsBefore, err := s1.State().PipelineRevisions(nil, "")
	if err != nil || len(revsBefore) != 3 {
		t.Fatalf("revisions before restart: %d, %v", len(revsBefore), err)
	}
	var ids []string
	for i := 0; i < 20; i++ {
		n := testNode()
		register(t, s1, n)
		ids = append(ids, n.ID)
	}
	testutil.WaitForResult(t, 10*time.Second, func() error {
		if idx, _ := strconv.ParseUint(s1.raft.Stats()["last_snapshot_index"], 10, 64); idx < upd.Index {
			return fmt.Errorf("no snapshot of index %d yet (last %d)", upd.Index, idx)
		}
		return nil
	})
	nodeID := s1.config.NodeID
	stop()
	onDisk := map[string]string{LogStoreBoltDB: "raft.db", LogStoreWAL: "wal"}[backend]
	if _, err := os.Stat(filepath.Join(dir, "raft", onDisk)); err != nil {
		t.Fatalf("backend %s: %v", backend, err)
	}

	s2, _ := TestServer(t, cfg)
	if !s2.bootstrapped {
		t.Fatal("restarted server does not know it was bootstrapped")
	}
	if s2.config.NodeID != nodeID {
		t.Fatalf("node ID changed across restart: %s != %s", s2.config.NodeID, nodeID)
	}
	WaitForLeader(t, s2)
	for _, id := range ids {
		n, err := s2.State().NodeByID(nil, id)
		if err != nil || n == nil {
			t.Fatalf("node %s lost across restart: %v", id, err)
		}
	}
	revsAfter, err := s2.State().PipelineRevisions(nil, "")
	if err != nil || !reflect.DeepEqual(revsAfter, revsBefore) {
		t.Fatalf("pipeline revisions across restart:\n%+v\n%+v (%v)", revsBefore, revsAfter, err)
	}
	b, _ := s2.State().PipelineByID(nil, "2")
	if revsAfter[2].Snapshot != b {
		t.Fatal("the current revision of pipeline 2 does not share the stored pipeline after restart")
	}
}

func TestServer_NewServerJoinsAsVoter(t *testing.T) {
	servers := testCluster(t, 3, nil)
	leader := WaitForLeader(t, servers...)
	// A fourth server, not bootstrapping, is added by the leader once it
	// joins the gossip pool, and receives the existing state.
	node := testNode()
	register(t, leader, node)
	s4, _ := TestServer(t, func(c *Config) { c.BootstrapExpect = 0 })
	TestJoin(t, servers[0], s4)
	WaitForVoters(t, leader, 4)
	testutil.WaitForResult(t, 10*time.Second, func() error {
		var out structs.SingleNodeResponse
		err := s4.RPC("Node.GetNode", &structs.NodeSpecificRequest{NodeID: node.ID, QueryOptions: structs.QueryOptions{AllowStale: true}}, &out)
		if err != nil || out.Node == nil {
			return fmt.Errorf("new server has no node yet: %v", err)
		}
		return nil
	})
	// A server that refuses to bootstrap with a mismatched expect never
	// forms a second cluster.
	if s4.IsLeader() && leader.IsLeader() {
		t.Fatal("two leaders")
	}
}

// TestServer_ShutdownHandsOffLeadership: a stopping leader of three hands
// its leadership to a follower first; a lone server has nobody to hand it
// to.
func TestServer_ShutdownHandsOffLeadership(t *testing.T) {
	servers := testCluster(t, 3, nil)
	leader := WaitForLeader(t, servers...)
	var rest []*Server
	for _, s := range servers {
		if s != leader {
			rest = append(rest, s)
		}
	}
	node := testNode()
	register(t, leader, node)
	done, err := leader.handOffLeadership()
	if err != nil || !done {
		t.Fatalf("hand-off: %v %v", done, err)
	}
	if leader.raft.State() == raft.Leader {
		t.Fatal("still leader after the hand-off")
	}
	next := WaitForLeader(t, rest...)
	var hb structs.NodeUpdateResponse
	if err := leader.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID,
		Status: structs.NodeStatusReady}, &hb); err != nil {
		t.Fatalf("write through the old leader, forwarded to %s: %v", next.config.NodeName, err)
	}
	follower := rest[0]
	if follower == next {
		follower = rest[1]
	}
	if done, err := follower.handOffLeadership(); done || err != nil {
		t.Fatalf("a follower handed off: %v %v", done, err)
	}
	leader.Shutdown()

	lone, _ := TestServer(t, nil)
	WaitForLeader(t, lone)
	if done, err := lone.handOffLeadership(); done || err != nil {
		t.Fatalf("a lone leader handed off: %v %v", done, err)
	}
}
