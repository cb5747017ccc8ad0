package nomadlike

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

func envNode(name, env string) *structs.Node {
	n := testNode()
	n.Name = name
	n.Meta = map[string]string{"env": env}
	return n
}

// assignedTo returns, per node name, the pipeline IDs assigned to it.
func assignedTo(t *testing.T, s *Server, nodes ...*structs.Node) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, n := range nodes {
		var resp structs.NodeAssignmentResponse
		if err := s.RPC("Node.GetAssignment", &structs.NodeAssignmentRequest{NodeID: n.ID, SecretID: n.SecretID}, &resp); err != nil {
			t.Fatalf("assignment of %s: %v", n.Name, err)
		}
		out[n.Name] = resp.Assignment.PipelineIDs
	}
	return out
}

func waitAssigned(t *testing.T, s *Server, want map[string][]string, nodes ...*structs.Node) {
	t.Helper()
	testutil.WaitForResult(t, 5*time.Second, func() error {
		got := assignedTo(t, s, nodes...)
		for name, ids := range want {
			if !slices.Equal(got[name], ids) {
				return fmt.Errorf("%s has %v, want %v (all: %v)", name, got[name], ids, got)
			}
		}
		return nil
	})
}

// The pipeline scheduler follows creates, updates, disables and deletes,
// and new nodes get what matches them.
func TestScheduler_PipelineAssignments(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) { c.NumSchedulers = 2 })
	WaitForLeader(t, s)
	prod1, dev := envNode("prod1", "prod"), envNode("dev", "dev")
	register(t, s, prod1)
	register(t, s, dev)

	resp, err := applyPipelines(s, createOp("a", `env="prod"`), createOp("b"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := resp.Pipelines[0].ID, resp.Pipelines[1].ID
	waitAssigned(t, s, map[string][]string{"prod1": {a, b}, "dev": {b}}, prod1, dev)

	var before structs.NodeAssignmentResponse
	s.RPC("Node.GetAssignment", &structs.NodeAssignmentRequest{NodeID: prod1.ID, SecretID: prod1.SecretID}, &before)
	if len(before.Pipelines) != 2 || before.Pipelines[0].Name != "a" || before.Assignment.Hash == "" {
		t.Fatalf("assignment %+v", before)
	}

	// A node that registers later gets its share.
	prod2 := envNode("prod2", "prod")
	register(t, s, prod2)
	waitAssigned(t, s, map[string][]string{"prod2": {a, b}}, prod2)

	// Changing contents changes the hash, not the IDs.
	upd := createOp("a", `env="prod"`)
	upd.Op, upd.Pipeline.ID, upd.Pipeline.Contents = structs.PipelineOpUpdate, a, "changed"
	if _, err := applyPipelines(s, upd); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		var now structs.NodeAssignmentResponse
		s.RPC("Node.GetAssignment", &structs.NodeAssignmentRequest{NodeID: prod1.ID, SecretID: prod1.SecretID}, &now)
		if now.Assignment.Hash == before.Assignment.Hash || now.Pipelines[0].Contents != "changed" {
			return fmt.Errorf("hash unchanged after a contents update: %+v", now.Assignment)
		}
		return nil
	})

	// Disabling removes it; so does deleting.
	upd.Pipeline.Enabled = false
	if _, err := applyPipelines(s, upd); err != nil {
		t.Fatal(err)
	}
	waitAssigned(t, s, map[string][]string{"prod1": {b}, "prod2": {b}, "dev": {b}}, prod1, prod2, dev)
	del := &structs.PipelineOperation{Op: structs.PipelineOpDelete, ID: b}
	if _, err := applyPipelines(s, del); err != nil {
		t.Fatal(err)
	}
	waitAssigned(t, s, map[string][]string{"prod1": nil, "prod2": nil, "dev": nil}, prod1, prod2, dev)

	// A node's changed meta moves it.
	dev.Meta["env"] = "prod"
	upd.Pipeline.Enabled = true
	if _, err := applyPipelines(s, upd); err != nil {
		t.Fatal(err)
	}
	register(t, s, dev)
	waitAssigned(t, s, map[string][]string{"prod1": {a}, "dev": {a}}, prod1, dev)
}

// A node reads its own assignment with its secret; a wrong secret is
// refused; applied reports write only when they change.
func TestScheduler_AssignmentAppliedReport(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	n := envNode("n", "prod")
	register(t, s, n)
	var resp structs.NodeAssignmentResponse
	if err := s.RPC("Node.GetAssignment", &structs.NodeAssignmentRequest{NodeID: n.ID, SecretID: "wrong"}, &resp); err == nil {
		t.Fatal("a wrong secret read the assignment")
	}
	report := func(hash string) uint64 {
		var out structs.GenericResponse
		if err := s.RPC("Node.UpdateAssignmentApplied", &structs.NodeAssignmentAppliedRequest{NodeID: n.ID, SecretID: n.SecretID, Hash: hash}, &out); err != nil {
			t.Fatal(err)
		}
		return out.Index
	}
	appliedAt := func() time.Time {
		a, _ := s.State().AssignmentByNode(nil, n.ID)
		return a.AppliedAt
	}
	report("h1")
	first := appliedAt()
	report("h1")
	if again := appliedAt(); !again.Equal(first) || first.IsZero() {
		t.Fatalf("an unchanged report wrote again: applied at %v then %v", first, again)
	}
	report("h2")
	a, _ := s.State().AssignmentByNode(nil, n.ID)
	if a.AppliedHash != "h2" || !a.AppliedAt.After(first) {
		t.Fatalf("a changed report was not written: %+v", a)
	}
}

// A node's own applied report does not answer its assignment watch: the
// watch answers at the next change of what the node runs, with that
// change's index (answering the report would send every node of a change
// its assignment twice).
func TestScheduler_AppliedReportDoesNotWakeWatch(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	n := envNode("n", "prod")
	register(t, s, n)
	resp, err := applyPipelines(s, createOp("a", `env="prod"`))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Pipelines[0].ID
	waitAssigned(t, s, map[string][]string{"n": {id}}, n)
	var cur structs.NodeAssignmentResponse
	if err := s.RPC("Node.GetAssignment", &structs.NodeAssignmentRequest{NodeID: n.ID, SecretID: n.SecretID}, &cur); err != nil {
		t.Fatal(err)
	}

	done := make(chan *structs.NodeAssignmentResponse, 1)
	go func() {
		req := &structs.NodeAssignmentRequest{NodeID: n.ID, SecretID: n.SecretID}
		req.MinQueryIndex, req.MaxQueryTime, req.AllowStale = cur.Index, time.Minute, true
		var out structs.NodeAssignmentResponse
		if err := s.RPC("Node.GetAssignment", req, &out); err != nil {
			out.Assignment = nil
		}
		done <- &out
	}()
	waitBlocking(t, s, 1)
	var out structs.GenericResponse
	if err := s.RPC("Node.UpdateAssignmentApplied", &structs.NodeAssignmentAppliedRequest{NodeID: n.ID, SecretID: n.SecretID,
		Hash: cur.Assignment.Hash}, &out); err != nil {
		t.Fatal(err)
	}
	upd := createOp("a", `env="prod"`)
	upd.Op, upd.Pipeline.ID, upd.Pipeline.Contents = structs.PipelineOpUpdate, id, "changed"
	if _, err := applyPipelines(s, upd); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-done:
		if got.Assignment == nil || got.Pipelines[0].Contents != "changed" {
			t.Fatalf("the watch answered %+v, want the change after the report", got)
		}
		if got.Index <= out.Index {
			t.Fatalf("the watch answered at index %d, not after the report's %d", got.Index, out.Index)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watch did not answer the change")
	}
}

// Configs are sharded over ready nodes; a node going down moves only its
// own configs.
func TestScheduler_ConfigSharding(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	var ns []*structs.Node
	for i := range 4 {
		n := envNode(fmt.Sprintf("n%d", i), "prod")
		register(t, s, n)
		ns = append(ns, n)
	}
	for i := range 40 {
		var out structs.ConfigApplyResponse
		name := fmt.Sprintf("c%02d", i)
		if err := s.RPC("Config.Put", &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: name,
			Contents: fmt.Sprintf("scrape_configs:\n- job_name: j%d\n  static_configs:\n  - targets: ['127.0.0.1:1']\n", i)}}, &out); err != nil {
			t.Fatal(err)
		}
	}
	owners := func() map[string]string {
		out := map[string]string{}
		for _, n := range ns {
			a, _ := s.State().AssignmentByNode(nil, n.ID)
			if a != nil {
				for _, c := range a.Configs {
					out[c] = n.Name
				}
			}
		}
		return out
	}
	var before map[string]string
	testutil.WaitForResult(t, 5*time.Second, func() error {
		before = owners()
		if len(before) != 40 {
			return fmt.Errorf("%d of 40 configs assigned", len(before))
		}
		return nil
	})
	counts := map[string]int{}
	for _, o := range before {
		counts[o]++
	}
	if len(counts) != 4 {
		t.Fatalf("40 configs over 4 nodes used only %v", counts)
	}
	var out structs.NodeUpdateResponse
	if err := s.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: ns[0].ID, SecretID: ns[0].SecretID, Status: structs.NodeStatusDown}, &out); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		after := owners()
		if len(after) != 40 {
			return fmt.Errorf("%d of 40 configs assigned", len(after))
		}
		for c, o := range before {
			if o != "n0" && after[c] != o {
				return fmt.Errorf("config %s moved from %s to %s though %s stayed up", c, o, after[c], o)
			}
			if after[c] == "n0" {
				return fmt.Errorf("config %s still on the down node", c)
			}
		}
		return nil
	})
}

// _core deletes nodes down past the threshold, with their assignments,
// and revisions beyond retention.
func TestScheduler_Core(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) {
		c.CoreInterval = 100 * time.Millisecond
		c.NodeGCThreshold = time.Nanosecond
		c.RevisionRetention = 2
	})
	WaitForLeader(t, s)
	up, down := envNode("up", "prod"), envNode("down", "prod")
	register(t, s, up)
	register(t, s, down)
	var out structs.NodeUpdateResponse
	if err := s.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: down.ID, SecretID: down.SecretID, Status: structs.NodeStatusDown}, &out); err != nil {
		t.Fatal(err)
	}
	resp, err := applyPipelines(s, createOp("p"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Pipelines[0].ID
	for i := range 5 {
		upd := createOp("p")
		upd.Op, upd.Pipeline.ID, upd.Pipeline.Contents = structs.PipelineOpUpdate, id, fmt.Sprint(i)
		if _, err := applyPipelines(s, upd); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		state := s.State()
		if n, _ := state.NodeByID(nil, down.ID); n != nil {
			return fmt.Errorf("down node not collected")
		}
		if a, _ := state.AssignmentByNode(nil, down.ID); a != nil {
			return fmt.Errorf("collected node's assignment kept")
		}
		if n, _ := state.NodeByID(nil, up.ID); n == nil {
			return fmt.Errorf("live node collected")
		}
		revs, _ := state.PipelineRevisions(nil, id)
		if len(revs) != 2 || revs[1].Snapshot.Contents != "4" {
			return fmt.Errorf("%d revisions kept, want the last 2", len(revs))
		}
		return nil
	})
}

// /v1/agent/schedulers' view: the leader's workers run, a follower's are
// paused; resizing and re-typing take effect at once.
func TestScheduler_WorkerPool(t *testing.T) {
	servers := testCluster(t, 3, func(c *Config) { c.NumSchedulers = 2 })
	leader := WaitForLeader(t, servers...)
	testutil.WaitForResult(t, 5*time.Second, func() error {
		for _, s := range servers {
			for _, w := range s.SchedulerWorkersInfo() {
				want := "Paused"
				if s == leader {
					want = "Started"
				}
				if w.Status != want {
					return fmt.Errorf("%s worker %s is %s, want %s", s.config.NodeName, w.ID, w.Status, want)
				}
			}
		}
		return nil
	})
	for _, n := range []int{1, 4, 0} {
		got, err := leader.SetSchedulerWorkerConfig(structs.SchedulerWorkerPoolArgs{NumSchedulers: n, EnabledSchedulers: []string{"_core", "pipeline"}})
		if err != nil || got.NumSchedulers != n || len(leader.SchedulerWorkersInfo()) != n {
			t.Fatalf("resize to %d: %+v %v (%d workers)", n, got, err, len(leader.SchedulerWorkersInfo()))
		}
	}
	for _, bad := range []structs.SchedulerWorkerPoolArgs{
		{NumSchedulers: -1, EnabledSchedulers: []string{"_core"}},
		{NumSchedulers: 1, EnabledSchedulers: []string{"pipeline"}},
		{NumSchedulers: 1, EnabledSchedulers: []string{"_core", "service"}},
	} {
		if _, err := leader.SetSchedulerWorkerConfig(bad); err == nil {
			t.Fatalf("%+v accepted", bad)
		}
	}
}

// With only _core enabled nothing is assigned; enabling pipeline again
// assigns what changed meanwhile.
func TestScheduler_DisabledPipelineScheduler(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) { c.NumSchedulers = 2 })
	WaitForLeader(t, s)
	n := envNode("n", "prod")
	register(t, s, n)
	waitAssigned(t, s, map[string][]string{"n": nil}, n)
	if _, err := s.SetSchedulerWorkerConfig(structs.SchedulerWorkerPoolArgs{NumSchedulers: 2, EnabledSchedulers: []string{"_core"}}); err != nil {
		t.Fatal(err)
	}
	resp, err := applyPipelines(s, createOp("p", `env="prod"`))
	if err != nil {
		t.Fatal(err)
	}
	// The change's evaluation waits in the broker, taken by no worker.
	testutil.WaitForResult(t, 5*time.Second, func() error {
		if st := s.evalBroker.Stats(); st.Ready == 0 || st.Unacked != 0 {
			return fmt.Errorf("broker %+v, want the pipeline evaluation ready and none taken", st)
		}
		return nil
	})
	if got := assignedTo(t, s, n)["n"]; len(got) != 0 {
		t.Fatalf("assigned %v with the pipeline scheduler disabled", got)
	}
	if _, err := s.SetSchedulerWorkerConfig(structs.SchedulerWorkerPoolArgs{NumSchedulers: 1, EnabledSchedulers: []string{"pipeline", "_core"}}); err != nil {
		t.Fatal(err)
	}
	waitAssigned(t, s, map[string][]string{"n": {resp.Pipelines[0].ID}}, n)
}

// With ACLs on, a node reads its assignment and reports with its secret
// alone; anyone else needs node:read (node:write to report).
func TestScheduler_AssignmentACL(t *testing.T) {
	s, mgmt := aclTestServer(t)
	n := envNode("n", "prod")
	var out structs.NodeUpdateResponse
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: n, WriteRequest: structs.WriteRequest{AuthToken: mgmt}}, &out); err != nil {
		t.Fatal(err)
	}
	get := func(secret, token string) error {
		var resp structs.NodeAssignmentResponse
		return s.RPC("Node.GetAssignment", &structs.NodeAssignmentRequest{NodeID: n.ID, SecretID: secret,
			QueryOptions: structs.QueryOptions{AuthToken: token}}, &resp)
	}
	if err := get("", ""); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("anonymous read: %v", err)
	}
	if err := get(n.SecretID, ""); err != nil {
		t.Fatalf("the node's own read: %v", err)
	}
	if err := get("", mgmt); err != nil {
		t.Fatalf("management read: %v", err)
	}
	var g structs.GenericResponse
	if err := s.RPC("Node.UpdateAssignmentApplied", &structs.NodeAssignmentAppliedRequest{NodeID: n.ID, Hash: "h"}, &g); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("anonymous report: %v", err)
	}
	if err := s.RPC("Node.UpdateAssignmentApplied", &structs.NodeAssignmentAppliedRequest{NodeID: n.ID, SecretID: n.SecretID, Hash: "h"}, &g); err != nil {
		t.Fatalf("the node's own report: %v", err)
	}
}

// Reports that arrive while a batch is in raft share the next entry, and
// each caller is answered for its own report.
func TestScheduler_AppliedReportsBatch(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	nodes := make([]*structs.Node, 40)
	for i := range nodes {
		nodes[i] = envNode(fmt.Sprintf("n%d", i), "prod")
		register(t, s, nodes[i])
	}
	// As if a batch were in raft: the reports queue behind it.
	b := &s.appliedReports
	b.mu.Lock()
	b.running = true
	b.mu.Unlock()
	before := s.raft.LastIndex()
	errs, indexes := make([]error, len(nodes)), make([]uint64, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			var out structs.GenericResponse
			errs[i] = s.RPC("Node.UpdateAssignmentApplied", &structs.NodeAssignmentAppliedRequest{
				NodeID: n.ID, SecretID: n.SecretID, Hash: fmt.Sprint("h", i)}, &out)
			indexes[i] = out.Index
		})
	}
	testutil.WaitForResult(t, 10*time.Second, func() error {
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.queue) < len(nodes) {
			return fmt.Errorf("%d of %d reports queued", len(b.queue), len(nodes))
		}
		return nil
	})
	go s.runReportBatches()
	wg.Wait()
	for i, n := range nodes {
		if errs[i] != nil {
			t.Fatalf("report %d: %v", i, errs[i])
		}
		if indexes[i] != indexes[0] || indexes[i] <= before {
			t.Fatalf("reports answered with indexes %v (before: %d): not one entry", indexes, before)
		}
		if a, _ := s.State().AssignmentByNode(nil, n.ID); a == nil || a.AppliedHash != fmt.Sprint("h", i) || a.ModifyIndex < indexes[0] {
			t.Fatalf("node %d: %+v", i, a)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running || len(b.queue) != 0 {
		t.Fatalf("batches still running (%v) or queued (%d)", b.running, len(b.queue))
	}
}
