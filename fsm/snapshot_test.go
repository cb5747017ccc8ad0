package fsm

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/structs"
)

// persistBytes writes f's snapshot and returns it.
func persistBytes(t *testing.T, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &mockSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed=%v cancelled=%v", sink.closed, sink.cancelled)
	}
	return sink.Bytes()
}

// recordTypes counts a snapshot's records by type.
func recordTypes(t *testing.T, b []byte) map[SnapshotType]int {
	t.Helper()
	dec := codec.NewDecoder(bytes.NewReader(b), structs.MsgpackHandle)
	var header snapshotHeader
	if err := dec.Decode(&header); err != nil {
		t.Fatal(err)
	}
	counts := map[SnapshotType]int{}
	for {
		var typ uint8
		if err := dec.Decode(&typ); err != nil {
			if errors.Is(err, io.EOF) {
				return counts
			}
			t.Fatal(err)
		}
		var rec any
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		counts[SnapshotType(typ)]++
	}
}

// encodeSnapshot writes a snapshot stream by hand: a header of the given
// version, then (type, record) pairs.
func encodeSnapshot(t *testing.T, version int, recs ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf, structs.MsgpackHandle)
	if err := enc.Encode(&snapshotHeader{Version: version}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(recs); i += 2 {
		if err := writeRecord(enc, recs[i].(SnapshotType), recs[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// A revision that holds the pipeline (config) as stored now goes into the
// snapshot as a reference and comes back sharing the restored object;
// older revisions and those of deleted pipelines keep their own copy.
func TestFSM_SnapshotSharesCurrentRevisions(t *testing.T) {
	f := testFSM(t)
	mustApplyP(t, f, 1, ops(create(pipe("a")), create(pipe("b")), create(pipe("c"))))
	b2 := pipe("b")
	b2.ID, b2.Contents = "2", "changed"
	mustApplyP(t, f, 2, ops(update(b2)))
	mustApplyP(t, f, 3, ops(del("3")))
	putConfig := func(index uint64, req *structs.ConfigApplyRequest) {
		req.Now = t0.Add(time.Duration(index) * time.Second)
		if err, ok := f.Apply(makeLog(t, index, structs.ConfigApplyRequestType, req)).(error); ok {
			t.Fatal(err)
		}
	}
	putConfig(4, &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "x", Contents: "v1"}})
	putConfig(5, &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "x", Contents: "v2"}})
	putConfig(6, &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "y", Contents: "v1"}})
	putConfig(7, &structs.ConfigApplyRequest{Name: "y", Delete: true})

	want := map[SnapshotType]int{
		snapshotPipelineRevisionOfCurrent: 2, // a INSERT, b UPDATE
		snapshotPipelineRevision:          3, // b INSERT, c INSERT, c DELETE
		snapshotConfigRevisionOfCurrent:   1, // x UPDATE
		snapshotConfigRevision:            3, // x INSERT, y INSERT, y DELETE
	}
	snap := persistBytes(t, f)
	got := recordTypes(t, snap)
	for typ, n := range want {
		if got[typ] != n {
			t.Fatalf("record type %d: %d records, want %d (all: %v)", typ, got[typ], n, got)
		}
	}

	f2 := testFSM(t)
	if err := f2.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatal(err)
	}
	// The restored history is the original, value for value.
	for _, id := range []string{"1", "2", "3"} {
		before, _ := f.State().PipelineRevisions(nil, id)
		after, _ := f2.State().PipelineRevisions(nil, id)
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("pipeline %s revisions changed across restore:\n%+v\n%+v", id, before, after)
		}
	}
	for _, name := range []string{"x", "y"} {
		before, _ := f.State().ConfigRevisions(nil, name)
		after, _ := f2.State().ConfigRevisions(nil, name)
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("config %s revisions changed across restore:\n%+v\n%+v", name, before, after)
		}
	}
	// The latest revisions share the restored objects, the older do not.
	for _, id := range []string{"1", "2"} {
		p, _ := f2.State().PipelineByID(nil, id)
		revs, _ := f2.State().PipelineRevisions(nil, id)
		if revs[len(revs)-1].Snapshot != p {
			t.Fatalf("pipeline %s: latest revision does not share the stored pipeline", id)
		}
		if len(revs) > 1 && revs[0].Snapshot == p {
			t.Fatalf("pipeline %s: an older revision shares the stored pipeline", id)
		}
	}
	x, _ := f2.State().ConfigByName(nil, "x")
	xrevs, _ := f2.State().ConfigRevisions(nil, "x")
	if xrevs[1].Snapshot != x || xrevs[0].Snapshot == x {
		t.Fatal("config x: revisions do not share the stored config as before the restore")
	}
	// And a snapshot of the restored state is the same again.
	if again := recordTypes(t, persistBytes(t, f2)); !reflect.DeepEqual(again, got) {
		t.Fatalf("snapshot after restore %v, before %v", again, got)
	}
}

// Version 1 snapshots hold every revision in full. They restore as they
// did, and a revision equal to its pipeline's record shares it, so the
// next snapshot writes it as a reference; a version this build does not
// know is refused by its header.
func TestFSM_RestoreVersion1Snapshot(t *testing.T) {
	p := pipe("a")
	p.ID, p.CreatedAt, p.UpdatedAt, p.CreateIndex, p.ModifyIndex = "1", t0, t0.Add(time.Second), 1, 2
	first := *p
	first.Contents, first.UpdatedAt, first.ModifyIndex = "old", t0, 1
	revs := []*structs.PipelineRevision{
		{Seq: 1, RevisionID: "1", PipelineID: "1", Snapshot: &first, CreatedAt: t0, Operation: structs.RevisionInsert, Index: 1},
		{Seq: 2, RevisionID: "2", PipelineID: "1", Snapshot: p, CreatedAt: t0.Add(time.Second), Operation: structs.RevisionUpdate, Index: 2},
	}
	f := testFSM(t)
	if err := f.Restore(io.NopCloser(bytes.NewReader(encodeSnapshot(t, 1,
		snapshotPipeline, p, snapshotPipelineRevision, revs[0], snapshotPipelineRevision, revs[1])))); err != nil {
		t.Fatal(err)
	}
	got, _ := f.State().PipelineRevisions(nil, "1")
	if !reflect.DeepEqual(got, revs) {
		t.Fatalf("restored %+v, want %+v", got, revs)
	}
	stored, _ := f.State().PipelineByID(nil, "1")
	if got[1].Snapshot != stored || got[0].Snapshot == stored {
		t.Fatal("the current revision does not share the restored pipeline, or an old one does")
	}
	if n := recordTypes(t, persistBytes(t, f)); n[snapshotPipelineRevisionOfCurrent] != 1 || n[snapshotPipelineRevision] != 1 {
		t.Fatalf("snapshot after a version 1 restore: %v", n)
	}

	err := testFSM(t).Restore(io.NopCloser(bytes.NewReader(encodeSnapshot(t, snapshotVersion+1))))
	if err == nil || !strings.Contains(err.Error(), "unsupported snapshot version") {
		t.Fatalf("restore of a newer version: %v", err)
	}
}

// A reference to a pipeline or config the snapshot does not hold is a
// broken snapshot: the restore fails and names it.
func TestFSM_RestoreRejectsDanglingRevisionReference(t *testing.T) {
	for name, recs := range map[string][]any{
		"pipeline": {snapshotPipelineRevisionOfCurrent, &structs.PipelineRevision{Seq: 1, RevisionID: "1", PipelineID: "42"}},
		"config":   {snapshotConfigRevisionOfCurrent, &structs.ConfigRevision{Seq: 1, RevisionID: "1", Name: "gone"}},
	} {
		t.Run(name, func(t *testing.T) {
			err := testFSM(t).Restore(io.NopCloser(bytes.NewReader(encodeSnapshot(t, snapshotVersion, recs...))))
			if err == nil || !strings.Contains(err.Error(), "does not hold") {
				t.Fatalf("restore: %v", err)
			}
		})
	}
}
