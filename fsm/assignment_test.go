package fsm

import (
	"errors"
	"slices"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

// Each writer updates its own part; a no-op writes nothing; an unknown
// node is skipped; deleting the node deletes its assignment; assignments
// survive a snapshot.
func TestFSM_Assignments(t *testing.T) {
	f := testFSM(t)
	apply := func(index uint64, mt structs.MessageType, req any) {
		t.Helper()
		if resp := f.Apply(makeLog(t, index, mt, req)); resp != nil {
			t.Fatalf("apply %d: %v", index, resp)
		}
	}
	apply(1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("a")})
	apply(2, structs.NodeAssignmentUpsertRequestType, &structs.NodeAssignmentUpsertRequest{Kind: structs.AssignPipelines,
		Updates: []structs.AssignmentUpdate{{NodeID: "a", PipelineIDs: []string{"1", "2"}, Hash: "h"}, {NodeID: "ghost", Hash: "x"}}})
	apply(3, structs.NodeAssignmentUpsertRequestType, &structs.NodeAssignmentUpsertRequest{Kind: structs.AssignConfigs,
		Updates: []structs.AssignmentUpdate{{NodeID: "a", Configs: []string{"c"}}}})
	apply(4, structs.NodeAssignmentAppliedRequestType, &structs.NodeAssignmentAppliedRequest{NodeID: "a", Hash: "h"})
	// The same pipelines again: nothing to write.
	apply(5, structs.NodeAssignmentUpsertRequestType, &structs.NodeAssignmentUpsertRequest{Kind: structs.AssignPipelines,
		Updates: []structs.AssignmentUpdate{{NodeID: "a", PipelineIDs: []string{"1", "2"}, Hash: "h"}}})

	state := f.State()
	a, _ := state.AssignmentByNode(nil, "a")
	if a == nil || !slices.Equal(a.PipelineIDs, []string{"1", "2"}) || a.Hash != "h" || !slices.Equal(a.Configs, []string{"c"}) ||
		!a.Applied() || a.CreateIndex != 2 || a.ModifyIndex != 4 {
		t.Fatalf("assignment %+v", a)
	}
	if g, _ := state.AssignmentByNode(nil, "ghost"); g != nil {
		t.Fatal("an assignment for an unknown node was written")
	}
	if idx, _ := state.Index(tableAssignments); idx != 4 {
		t.Fatalf("assignments index %d after a no-op write, want 4", idx)
	}
	if resp := f.Apply(makeLog(t, 6, structs.NodeAssignmentAppliedRequestType, &structs.NodeAssignmentAppliedRequest{NodeID: "ghost"})); resp == nil {
		t.Fatal("an applied report for an unknown node was taken")
	}

	f2 := testSnapshotRestore(t, f)
	if b, _ := f2.State().AssignmentByNode(nil, "a"); b == nil || b.Hash != "h" || b.ModifyIndex != 4 {
		t.Fatalf("restored assignment %+v", b)
	}
	apply(7, structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"a"}})
	if a, _ := f.State().AssignmentByNode(nil, "a"); a != nil {
		t.Fatal("a deleted node kept its assignment")
	}
}

// The leader lists what retention drops; the FSM deletes exactly that.
func TestFSM_RevisionPrune(t *testing.T) {
	f := testFSM(t)
	index := uint64(0)
	upsert := func(name, contents string) {
		index++
		req := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{{Op: structs.PipelineOpUpsert,
			Pipeline: &structs.Pipeline{Name: name, Contents: contents, Enabled: true}}}}
		if resp := f.Apply(makeLog(t, index, structs.PipelineApplyRequestType, req)); resp != nil {
			if err, ok := resp.(error); ok {
				t.Fatal(err)
			}
		}
	}
	for i := range 4 {
		upsert("a", string(rune('0'+i)))
	}
	upsert("b", "x")
	p, c, err := f.State().RevisionsBeyond(2)
	if err != nil || len(p) != 2 || len(c) != 0 {
		t.Fatalf("beyond: %v %v %v", p, c, err)
	}
	index++
	if resp := f.Apply(makeLog(t, index, structs.RevisionPruneRequestType, &structs.RevisionPruneRequest{PipelineSeqs: p})); resp != nil {
		t.Fatal(resp)
	}
	a, _ := f.State().PipelineByName(nil, "a")
	revs, _ := f.State().PipelineRevisions(nil, a.ID)
	if len(revs) != 2 || revs[1].Snapshot.Contents != "3" || revs[0].Snapshot.Contents != "2" {
		t.Fatalf("kept %d revisions", len(revs))
	}
	if p, _, _ := f.State().RevisionsBeyond(2); len(p) != 0 {
		t.Fatalf("still beyond retention: %v", p)
	}
	// The pruned state still snapshots and restores (the current
	// revision is still shared with its pipeline).
	f2 := testSnapshotRestore(t, f)
	revs2, _ := f2.State().PipelineRevisions(nil, a.ID)
	if len(revs2) != 2 {
		t.Fatalf("restored %d revisions", len(revs2))
	}
}

// Garbage collection deletes only nodes still down and skips unknown ones.
func TestFSM_DeleteDownNodes(t *testing.T) {
	f := testFSM(t)
	down, back := mockNode("down"), mockNode("back")
	down.Status = structs.NodeStatusDown
	for i, n := range []*structs.Node{down, back} {
		if resp := f.Apply(makeLog(t, uint64(i+1), structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n})); resp != nil {
			t.Fatal(resp)
		}
	}
	req := &structs.NodeDeregisterRequest{NodeIDs: []string{"down", "back", "ghost"}, OnlyDown: true}
	if resp := f.Apply(makeLog(t, 3, structs.NodeDeregisterRequestType, req)); resp != nil {
		t.Fatal(resp)
	}
	if n, _ := f.State().NodeByID(nil, "down"); n != nil {
		t.Fatal("down node kept")
	}
	if n, _ := f.State().NodeByID(nil, "back"); n == nil {
		t.Fatal("a node that is ready again was collected")
	}
}

// A batch of applied reports applies in order in one entry: each report
// as it would alone, a report of an unknown node refused on its own.
func TestFSM_AssignmentAppliedBatch(t *testing.T) {
	f := testFSM(t)
	f.Apply(makeLog(t, 1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("a")}))
	f.Apply(makeLog(t, 2, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("b")}))
	resp := f.Apply(makeLog(t, 3, structs.NodeAssignmentAppliedBatchRequestType, &structs.NodeAssignmentAppliedBatchRequest{
		Reports: []*structs.NodeAssignmentAppliedRequest{
			{NodeID: "a", Hash: "h1"}, {NodeID: "ghost", Hash: "x"}, {NodeID: "b", Hash: "h2", Error: "reload failed"}, {NodeID: "a", Hash: "h3"},
		}}))
	errs, ok := resp.([]error)
	if !ok || len(errs) != 4 || errs[0] != nil || !errors.Is(errs[1], structs.ErrUnknownNode) || errs[2] != nil || errs[3] != nil {
		t.Fatalf("answer %#v", resp)
	}
	state := f.State()
	if a, _ := state.AssignmentByNode(nil, "a"); a == nil || a.AppliedHash != "h3" || a.CreateIndex != 3 || a.ModifyIndex != 3 {
		t.Fatalf("a: %+v", a)
	}
	if b, _ := state.AssignmentByNode(nil, "b"); b == nil || b.AppliedHash != "h2" || b.AppliedError != "reload failed" {
		t.Fatalf("b: %+v", b)
	}
	if g, _ := state.AssignmentByNode(nil, "ghost"); g != nil {
		t.Fatal("an assignment for an unknown node was written")
	}
	if idx, _ := state.Index(tableAssignments); idx != 3 {
		t.Fatalf("assignments index %d", idx)
	}
}
