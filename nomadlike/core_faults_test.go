package nomadlike

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// Regression tests for the trustworthy-core issue: each failed on the
// code before it.

func leaderAndFollower(t *testing.T, servers []*Server) (*Server, *Server) {
	t.Helper()
	leader := WaitForLeader(t, servers...)
	for _, s := range servers {
		if s != leader {
			return leader, s
		}
	}
	t.Fatal("no follower")
	return nil, nil
}

// aclTestServer is a single server with ACLs on, bootstrapped; it
// returns the management secret.
func aclTestServer(t *testing.T) (*Server, string) {
	t.Helper()
	s, _ := TestServer(t, func(c *Config) { c.ACLEnabled = true })
	WaitForLeader(t, s)
	var boot structs.ACLTokenUpsertResponse
	if err := s.RPC("ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot); err != nil {
		t.Fatal(err)
	}
	return s, boot.Tokens[0].SecretID
}

func upsertOp(name, contents string) *structs.PipelineOperation {
	return &structs.PipelineOperation{Op: structs.PipelineOpUpsert, Pipeline: &structs.Pipeline{
		Name: name, Contents: contents, Enabled: true,
	}}
}

func revisionsOf(t *testing.T, s *Server, id string) []*structs.PipelineRevision {
	t.Helper()
	var out structs.PipelineRevisionsResponse
	if err := s.RPC("Pipeline.Revisions", &structs.PipelineRevisionsRequest{PipelineID: id}, &out); err != nil {
		t.Fatal(err)
	}
	return out.Revisions
}

// Defect 1: a write sent twice with one request ID (a retry after an
// unknown outcome) is applied once, even when another acknowledged write
// came in between: the repeat answers with the first result and does not
// overwrite the later write.
func TestCore_WriteWithSameRequestIDAppliesOnce(t *testing.T) {
	servers := testCluster(t, 3, nil)
	leader, follower := leaderAndFollower(t, servers)

	first := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{upsertOp("reg", "// c5-311")}}
	first.RequestID = "req-c5-311"
	var r1 structs.PipelineApplyResponse
	if err := follower.RPC("Pipeline.Apply", first, &r1); err != nil {
		t.Fatal(err)
	}
	id := r1.Pipelines[0].ID

	later := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{upsertOp("reg", "// c0-329")}}
	if _, err := applyPipelinesReq(leader, later); err != nil {
		t.Fatal(err)
	}

	// The same write again, as a forward retry would send it: through
	// the network to the leader, and through another server.
	for _, s := range []*Server{leader, follower} {
		again := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{upsertOp("reg", "// c5-311")}}
		again.RequestID = "req-c5-311"
		var r2 structs.PipelineApplyResponse
		if err := s.connPool.RPC(leader.config.RPCAddr.String(), "Pipeline.Apply", again, &r2); err != nil {
			t.Fatal(err)
		}
		if len(r2.Pipelines) != 1 || r2.Pipelines[0].ID != id || r2.Pipelines[0].Contents != "// c5-311" {
			t.Fatalf("repeat answered %+v, want the first apply's answer", r2.Pipelines)
		}
	}

	var got structs.SinglePipelineResponse
	if err := follower.RPC("Pipeline.Get", &structs.PipelineSpecificRequest{ID: id}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Pipeline.Contents != "// c0-329" {
		t.Fatalf("contents %q: the repeated write overwrote the later one", got.Pipeline.Contents)
	}
	var history []string
	for _, r := range revisionsOf(t, leader, id) {
		history = append(history, r.Snapshot.Contents)
	}
	if got := strings.Join(history, ","); got != "// c5-311,// c0-329" {
		t.Fatalf("revision history %q, want the two writes once each, in order", got)
	}
}

func applyPipelinesReq(s *Server, req *structs.PipelineApplyRequest) (*structs.PipelineApplyResponse, error) {
	var resp structs.PipelineApplyResponse
	err := s.RPC("Pipeline.Apply", req, &resp)
	return &resp, err
}

// Defect 1, the error mapping: a leader that loses its leadership while
// it writes says the outcome is unknown instead of "no leader" (which
// forward took for "never sent" and resent without a request ID).
func TestCore_LostLeadershipIsUnknownOutcome(t *testing.T) {
	// A lease long enough that the leader still leads when the write
	// arrives, after its followers are gone.
	servers := testCluster(t, 3, func(c *Config) {
		c.RaftConfig.HeartbeatTimeout = 2 * time.Second
		c.RaftConfig.ElectionTimeout = 2 * time.Second
		c.RaftConfig.LeaderLeaseTimeout = 2 * time.Second
	})
	leader, _ := leaderAndFollower(t, servers)

	// Take the followers away so that the leader's entries cannot
	// commit, then let it notice it lost the quorum.
	for _, s := range servers {
		if s != leader {
			s.Shutdown()
		}
	}
	req := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{upsertOp("lost", "// lost")}}
	req.RequestID = "req-lost"
	_, _, err := leader.raftApply(structs.PipelineApplyRequestType, req)
	if !errors.Is(err, structs.ErrWriteOutcomeUnknown) {
		t.Fatalf("write on a leader losing its quorum: %v, want ErrWriteOutcomeUnknown", err)
	}
	if code, _ := structs.ErrorStatus(err); code != 503 {
		t.Fatalf("status %d, want 503", code)
	}
}

// Defect 13: a write the leader can refuse from its state costs no log
// entry (it was committed and replayed with an error on every restart).
func TestCore_RefusedWritesAreNotLogged(t *testing.T) {
	s, mgmt := aclTestServer(t)
	before := s.raft.LastIndex()

	del := &structs.ACLTokenDeleteRequest{AccessorIDs: []string{"8f1a1f5e-0000-4000-8000-000000000000"}}
	del.AuthToken = mgmt
	if err := s.RPC("ACL.DeleteTokens", del, &structs.GenericResponse{}); codeOf(err) != 404 {
		t.Fatalf("deleting an unknown token: %v, want 404", err)
	}
	pdel := &structs.ACLPolicyDeleteRequest{Names: []string{"nope"}}
	pdel.AuthToken = mgmt
	if err := s.RPC("ACL.DeletePolicies", pdel, &structs.GenericResponse{}); codeOf(err) != 404 {
		t.Fatalf("deleting an unknown policy: %v, want 404", err)
	}
	upd := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{{Op: structs.PipelineOpDelete, ID: "4242"}}}
	upd.AuthToken = mgmt
	if err := s.RPC("Pipeline.Apply", upd, &structs.PipelineApplyResponse{}); codeOf(err) != 404 {
		t.Fatalf("deleting an unknown pipeline: %v, want 404", err)
	}
	cdel := &structs.ConfigApplyRequest{Name: "nope"}
	cdel.AuthToken = mgmt
	if err := s.RPC("Config.Delete", cdel, &structs.ConfigApplyResponse{}); codeOf(err) != 404 {
		t.Fatalf("deleting an unknown config: %v, want 404", err)
	}
	if after := s.raft.LastIndex(); after != before {
		t.Fatalf("refused writes moved the raft log from %d to %d", before, after)
	}
}

// Defect 4: a blocking query with a wait shorter than its jitter
// fraction panicked inside net/rpc's goroutine and killed the server.
func TestCore_TinyBlockingWaitDoesNotPanic(t *testing.T) {
	servers := testCluster(t, 2, nil)
	leader, follower := leaderAndFollower(t, servers)
	for _, s := range []*Server{leader, follower} {
		req := &structs.NodeListRequest{}
		req.MinQueryIndex, req.MaxQueryTime = 999999999, time.Nanosecond
		var out structs.NodeListResponse
		if err := s.RPC("Node.List", req, &out); err != nil {
			t.Fatal(err)
		}
	}
	var leaderAddr string
	if err := follower.RPC("Status.Leader", &structs.GenericRequest{}, &leaderAddr); err != nil || leaderAddr == "" {
		t.Fatalf("leader after the query: %q %v", leaderAddr, err)
	}
}

// Defect 4: a panic in any RPC handler answers an internal error and the
// server goes on.
type panicky struct{}

func (panicky) Boom(args *structs.GenericRequest, reply *struct{}) error { panic("boom") }

func TestRPCServer_PanicIsAnError(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	if err := s.rpcServer.RegisterName("Panicky", panicky{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		err := s.connPool.RPC(s.config.RPCAddr.String(), "Panicky.Boom", &structs.GenericRequest{}, &struct{}{})
		if !errors.Is(err, ErrRPCPanic) {
			t.Fatalf("network call: %v, want ErrRPCPanic", err)
		}
		if err := s.RPC("Panicky.Boom", &structs.GenericRequest{}, &struct{}{}); !errors.Is(err, ErrRPCPanic) {
			t.Fatalf("in-memory call: %v, want ErrRPCPanic", err)
		}
	}
	if err := s.RPC("Status.Ping", &structs.GenericRequest{}, &struct{}{}); err != nil {
		t.Fatal(err)
	}
}

// Defect 10: a blocking query whose caller hangs up stops, on the server
// it reached and, when it was sent on over the network (a forward to the
// leader), on the server that ran it.
func TestCore_BlockingQueryEndsWhenCallerLeaves(t *testing.T) {
	servers := testCluster(t, 2, nil)
	leader, follower := leaderAndFollower(t, servers)
	pool := NewConnPool()
	defer pool.Shutdown()

	for _, tc := range []struct {
		name string
		runs *Server
		call func(req *structs.NodeListRequest) error
	}{
		// A follower answers default reads itself, after a read index.
		{"at the follower", follower, func(req *structs.NodeListRequest) error {
			return follower.RPC("Node.List", req, &structs.NodeListResponse{})
		}},
		// The hop a forward takes.
		{"over the network", leader, func(req *structs.NodeListRequest) error {
			return pool.RPC(leader.config.RPCAddr.String(), "Node.List", req, &structs.NodeListResponse{})
		}},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			req := &structs.NodeListRequest{}
			req.MinQueryIndex, req.MaxQueryTime = 1<<40, 5*time.Minute
			req.SetContext(ctx)
			done <- tc.call(req)
		}()
		testutil.WaitForResult(t, 5*time.Second, func() error {
			if n := tc.runs.blockingQueries.Load(); n != 1 {
				return fmt.Errorf("%s: query not blocking yet", tc.name)
			}
			return nil
		})
		cancel()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
				t.Fatalf("%s: cancelled query: %v", tc.name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the query went on after its caller left", tc.name)
		}
		testutil.WaitForResult(t, 5*time.Second, func() error {
			if n := tc.runs.blockingQueries.Load(); n != 0 {
				return fmt.Errorf("%s: the server still runs the query", tc.name)
			}
			return nil
		})
	}
}

// Defect 6: Status.Leave from anything that reaches the RPC port (a
// client host) without a token neither marks a live server leaving nor
// removes it from raft; Status.Members needs node:read.
func TestCore_LeaveRPCNeedsAuthority(t *testing.T) {
	servers := testCluster(t, 3, func(c *Config) { c.ACLEnabled = true })
	leader, victim := leaderAndFollower(t, servers)
	addr := leader.config.RPCAddr.String()
	pool := NewConnPool()
	defer pool.Shutdown()

	err := pool.RPC(addr, "Status.Leave", &structs.ServerLeaveRequest{Member: victim.config.memberName(), Prune: true}, &struct{}{})
	if !errors.Is(err, structs.ErrPermissionDenied) && !errors.Is(err, structs.ErrTokenNotFound) {
		t.Fatalf("anonymous force-leave: %v", err)
	}
	err = pool.RPC(addr, "Status.Leave", &structs.ServerLeaveRequest{Member: victim.config.memberName()}, &struct{}{})
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("leave in a live member's name: %v", err)
	}
	err = pool.RPC(addr, "Status.Members", &structs.GenericRequest{}, &structs.ServerMembersResponse{})
	if !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("anonymous members: %v", err)
	}
	// Nothing changed: still three voters, the victim alive.
	WaitForVoters(t, leader, 3)
	if m, ok := leader.members.get(victim.config.memberName()); !ok || m.Status != statusAlive {
		t.Fatalf("victim after the refused leaves: %+v", m)
	}

	// The member's own graceful leave still works: the leader asks it.
	if err := victim.Leave(); err != nil {
		t.Fatal(err)
	}
	WaitForVoters(t, leader, 2)
}

// A write whose first attempt met a leader losing its leadership is
// retried with the same request ID through the new leader: the caller
// gets its answer and the write is applied exactly once.
func TestCore_WriteRetriedAcrossLeaderChange(t *testing.T) {
	servers := testCluster(t, 3, func(c *Config) {
		c.Logger = hclog.NewInterceptLogger(&hclog.LoggerOptions{Level: hclog.Error, Output: testWriter{t}})
	})
	leader, _ := leaderAndFollower(t, servers)
	var created structs.PipelineApplyResponse
	if err := leader.RPC("Pipeline.Apply", &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{upsertOp("moving", "// 0")}}, &created); err != nil {
		t.Fatal(err)
	}
	id := created.Pipelines[0].ID

	// Writers on every server while the leadership moves twice.
	var acked atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, 64)
	for i, s := range servers {
		go func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				req := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{upsertOp("moving", fmt.Sprintf("// w%d-%d", i, n))}}
				err := s.RPC("Pipeline.Apply", req, &structs.PipelineApplyResponse{})
				switch {
				case err == nil:
					acked.Add(1)
				case errors.Is(err, structs.ErrWriteOutcomeUnknown), errors.Is(err, structs.ErrNoLeader):
				default:
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 2; i++ {
		l := WaitForLeader(t, servers...)
		if err := l.raft.LeadershipTransfer().Error(); err != nil {
			t.Logf("leadership transfer: %v", err)
		}
		// Let writes run under the new leader before the next move.
		want := acked.Load() + 20
		testutil.WaitForResult(t, 10*time.Second, func() error {
			if acked.Load() < want {
				return errors.New("writes not acknowledged yet")
			}
			return nil
		})
	}
	close(stop)
	for range servers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	revs := revisionsOf(t, WaitForLeader(t, servers...), id)
	seen := map[string]bool{}
	for _, r := range revs {
		if seen[r.Snapshot.Contents] {
			t.Fatalf("write %q applied twice", r.Snapshot.Contents)
		}
		seen[r.Snapshot.Contents] = true
	}
	if int64(len(revs)-1) < acked.Load() {
		t.Fatalf("%d revisions after the first for %d acknowledged writes", len(revs)-1, acked.Load())
	}
}

// A follower answers a default (linearizable) read itself once it has
// applied the leader's read index: every write the leader acknowledged
// before the read is in the answer, although the follower applies the
// log after the leader does, and the answer comes from the follower (its
// QueryMeta has a last contact; the leader's says 0).
func TestCore_FollowerReadIndex(t *testing.T) {
	servers := testCluster(t, 3, nil)
	leader, follower := leaderAndFollower(t, servers)
	for i := range 50 {
		contents := fmt.Sprintf("// write %d", i)
		resp, err := applyPipelinesReq(leader, &structs.PipelineApplyRequest{
			Operations: []*structs.PipelineOperation{upsertOp("ri", contents)}})
		if err != nil {
			t.Fatal(err)
		}
		var got structs.SinglePipelineResponse
		if err := follower.RPC("Pipeline.Get", &structs.PipelineSpecificRequest{ID: resp.Pipelines[0].ID}, &got); err != nil {
			t.Fatal(err)
		}
		if got.Pipeline == nil || got.Pipeline.Contents != contents {
			t.Fatalf("read %d at the follower: %+v, want %q acknowledged before it", i, got.Pipeline, contents)
		}
		if got.LastContact == 0 {
			t.Fatalf("read %d was answered by the leader, not by the follower", i)
		}
	}
	// The leader answers its own reads.
	var list structs.PipelineListResponse
	if err := leader.RPC("Pipeline.List", &structs.PipelineListRequest{}, &list); err != nil || len(list.Pipelines) != 1 {
		t.Fatalf("list at the leader: %v %d", err, len(list.Pipelines))
	}
	if list.LastContact != 0 {
		t.Fatalf("the leader's answer has last contact %v", list.LastContact)
	}
}
