package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	memdb "github.com/hashicorp/go-memdb"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/structs"
)

func testFSM(t testing.TB) *FSM {
	t.Helper()
	f, err := New(hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func makeLog(t testing.TB, index uint64, mt structs.MessageType, req any) *raft.Log {
	t.Helper()
	buf, err := structs.Encode(mt, req)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: buf}
}

func mockNode(id string) *structs.Node {
	return &structs.Node{
		ID: id, SecretID: "s-" + id, Name: "node-" + id, Datacenter: "dc1",
		Status:     structs.NodeStatusReady,
		Attributes: map[string]string{"collector.os": "linux"},
		Meta:       map[string]string{"env": "prod"},
	}
}

// mockSink is a raft.SnapshotSink over a buffer.
type mockSink struct {
	bytes.Buffer
	cancelled, closed bool
}

func (m *mockSink) ID() string    { return "mock" }
func (m *mockSink) Cancel() error { m.cancelled = true; return nil }
func (m *mockSink) Close() error  { m.closed = true; return nil }

// testSnapshotRestore persists f's state and restores it into a new FSM.
func testSnapshotRestore(t *testing.T, f *FSM) *FSM {
	t.Helper()
	f2 := testFSM(t)
	if err := f2.Restore(io.NopCloser(bytes.NewReader(persistBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	return f2
}

func TestFSM_NodeLifecycle(t *testing.T) {
	f := testFSM(t)
	if resp := f.Apply(makeLog(t, 10, structs.NodeRegisterRequestType,
		&structs.NodeRegisterRequest{Node: mockNode("a"), UpdatedAt: 100})); resp != nil {
		t.Fatalf("register: %v", resp)
	}
	ws := memdb.NewWatchSet()
	n, err := f.State().NodeByID(ws, "a")
	if err != nil || n == nil {
		t.Fatalf("node a: %v %v", n, err)
	}
	if n.CreateIndex != 10 || n.ModifyIndex != 10 || n.StatusUpdatedAt != 100 {
		t.Fatalf("indexes: %+v", n)
	}

	// A status change fires the watch set and keeps CreateIndex.
	if resp := f.Apply(makeLog(t, 11, structs.NodeUpdateStatusRequestType,
		&structs.NodeUpdateStatusRequest{NodeID: "a", Status: structs.NodeStatusDown, UpdatedAt: 200})); resp != nil {
		t.Fatalf("update: %v", resp)
	}
	if timedOut := ws.Watch(time.After(time.Second)); timedOut {
		t.Fatal("watch set did not fire on status change")
	}
	n, _ = f.State().NodeByID(nil, "a")
	if n.Status != structs.NodeStatusDown || n.CreateIndex != 10 || n.ModifyIndex != 11 || n.StatusUpdatedAt != 200 {
		t.Fatalf("after update: %+v", n)
	}
	if idx, _ := f.State().Index(tableNodes); idx != 11 {
		t.Fatalf("table index %d", idx)
	}

	// Unknown node: the apply returns the error, state is unchanged.
	resp := f.Apply(makeLog(t, 12, structs.NodeUpdateStatusRequestType,
		&structs.NodeUpdateStatusRequest{NodeID: "nope", Status: structs.NodeStatusDown}))
	if err, ok := resp.(error); !ok || !errors.Is(err, structs.ErrUnknownNode) {
		t.Fatalf("unknown node: %v", resp)
	}

	// Deregister is all or nothing.
	f.Apply(makeLog(t, 13, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("b")}))
	resp = f.Apply(makeLog(t, 14, structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"b", "nope"}}))
	if _, ok := resp.(error); !ok {
		t.Fatalf("partial deregister succeeded: %v", resp)
	}
	if nodes, _ := f.State().Nodes(nil, ""); len(nodes) != 2 {
		t.Fatalf("nodes after failed deregister: %d", len(nodes))
	}
	if resp := f.Apply(makeLog(t, 15, structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"b"}})); resp != nil {
		t.Fatalf("deregister: %v", resp)
	}
	if nodes, _ := f.State().Nodes(nil, ""); len(nodes) != 1 || nodes[0].ID != "a" {
		t.Fatalf("nodes after deregister: %v", nodes)
	}
}

func TestFSM_SnapshotRestore(t *testing.T) {
	f := testFSM(t)
	for i, id := range []string{"a", "b", "c"} {
		f.Apply(makeLog(t, uint64(i+1), structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode(id), UpdatedAt: 7}))
	}
	f.Apply(makeLog(t, 4, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "b", Status: structs.NodeStatusDown, UpdatedAt: 8}))

	oldState := f.State()
	f2 := testSnapshotRestore(t, f)
	want, _ := f.State().Nodes(nil, "")
	got, _ := f2.State().Nodes(nil, "")
	if len(got) != len(want) {
		t.Fatalf("restored %d nodes, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.ID != w.ID || g.Status != w.Status || g.SecretID != w.SecretID || g.CreateIndex != w.CreateIndex ||
			g.ModifyIndex != w.ModifyIndex || g.Meta["env"] != "prod" || g.Attributes["collector.os"] != "linux" {
			t.Fatalf("restored node %d = %+v, want %+v", i, g, w)
		}
	}
	if idx, _ := f2.State().Index(tableNodes); idx != 4 {
		t.Fatalf("restored index %d", idx)
	}
	if idx, _ := f2.State().LatestIndex(); idx != 4 {
		t.Fatalf("restored latest index %d", idx)
	}

	// Restoring into a live FSM swaps the store and abandons the old one.
	snap, _ := f2.Snapshot()
	sink := &mockSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if err := f.Restore(io.NopCloser(&sink.Buffer)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-oldState.AbandonCh():
	default:
		t.Fatal("old state store not abandoned after restore")
	}
}

func TestFSM_RestoreRejectsGarbage(t *testing.T) {
	f := testFSM(t)
	f.Apply(makeLog(t, 1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("a")}))
	if err := f.Restore(io.NopCloser(bytes.NewReader([]byte{0xc1, 0x00}))); err == nil {
		t.Fatal("garbage snapshot restored")
	}
	if n, _ := f.State().NodeByID(nil, "a"); n == nil {
		t.Fatal("failed restore lost the existing state")
	}
}

func TestFSM_UnknownType(t *testing.T) {
	f := testFSM(t)
	if resp := f.Apply(&raft.Log{Index: 1, Data: []byte{byte(structs.IgnoreUnknownTypeFlag | 50), 0x80}}); resp != nil {
		t.Fatalf("flagged unknown type: %v", resp)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("unknown type did not panic")
		}
	}()
	f.Apply(&raft.Log{Index: 2, Data: []byte{50, 0x80}})
}
