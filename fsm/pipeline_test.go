package fsm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

var t0 = time.Date(2025, 2, 14, 9, 35, 54, 0, time.UTC)

func pipe(name string) *structs.Pipeline {
	return &structs.Pipeline{Name: name, Contents: "prometheus.exporter.self \"alloy\" { }", Matchers: []string{"collector.os=linux"}, Enabled: true}
}

func ops(o ...*structs.PipelineOperation) *structs.PipelineApplyRequest {
	return &structs.PipelineApplyRequest{Operations: o, Now: t0}
}

func create(p *structs.Pipeline) *structs.PipelineOperation {
	return &structs.PipelineOperation{Op: structs.PipelineOpCreate, Pipeline: p}
}

func update(p *structs.Pipeline) *structs.PipelineOperation {
	return &structs.PipelineOperation{Op: structs.PipelineOpUpdate, Pipeline: p}
}

func upsert(p *structs.Pipeline) *structs.PipelineOperation {
	return &structs.PipelineOperation{Op: structs.PipelineOpUpsert, Pipeline: p}
}

func del(id string) *structs.PipelineOperation {
	return &structs.PipelineOperation{Op: structs.PipelineOpDelete, ID: id}
}

// applyP applies req at index through Apply, as raft would.
func applyP(t *testing.T, f *FSM, index uint64, req *structs.PipelineApplyRequest) (*PipelineApplyResult, error) {
	t.Helper()
	resp := f.Apply(makeLog(t, index, structs.PipelineApplyRequestType, req))
	if err, ok := resp.(error); ok {
		return nil, err
	}
	return resp.(*PipelineApplyResult), nil
}

func mustApplyP(t *testing.T, f *FSM, index uint64, req *structs.PipelineApplyRequest) *PipelineApplyResult {
	t.Helper()
	res, err := applyP(t, f, index, req)
	if err != nil {
		t.Fatalf("apply at %d: %v", index, err)
	}
	return res
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	var ce *structs.CodedError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("error %v, want code %d", err, code)
	}
}

func TestFSM_PipelineLifecycleWithRevisions(t *testing.T) {
	f := testFSM(t)
	broker := stream.NewEventBroker(context.Background(), stream.BrokerConfig{Logger: hclog.NewNullLogger()})
	f.SetEventBroker(broker)
	sub, err := broker.Subscribe(&stream.SubscribeRequest{Topics: map[string][]string{TopicPipeline: {"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	res := mustApplyP(t, f, 10, ops(create(pipe("myname")), create(pipe("otlp_pipeline"))))
	if len(res.Pipelines) != 2 || res.Pipelines[0].ID != "1" || res.Pipelines[1].ID != "2" {
		t.Fatalf("created %+v", res.Pipelines)
	}
	if p := res.Pipelines[0]; !p.CreatedAt.Equal(t0) || !p.UpdatedAt.Equal(t0) || p.CreateIndex != 10 {
		t.Fatalf("stamps %+v", p)
	}
	// Name taken.
	_, err = applyP(t, f, 11, ops(create(pipe("myname"))))
	wantCode(t, err, http.StatusConflict)

	// Update replaces everything: matchers left out are cleared.
	up := pipe("myname")
	up.ID, up.Matchers, up.Contents = "1", nil, "new contents"
	later := ops(update(up))
	later.Now = t0.Add(time.Minute)
	res = mustApplyP(t, f, 12, later)
	if p := res.Pipelines[0]; p.Contents != "new contents" || len(p.Matchers) != 0 || !p.CreatedAt.Equal(t0) ||
		!p.UpdatedAt.Equal(later.Now) || p.CreateIndex != 10 || p.ModifyIndex != 12 {
		t.Fatalf("updated %+v", p)
	}
	// Update of an unknown ID, rename onto a taken name.
	missing := pipe("x")
	missing.ID = "99"
	_, err = applyP(t, f, 13, ops(update(missing)))
	wantCode(t, err, http.StatusNotFound)
	clash := pipe("otlp_pipeline")
	clash.ID = "1"
	_, err = applyP(t, f, 13, ops(update(clash)))
	wantCode(t, err, http.StatusConflict)

	// Upsert: by name, and identical content is no change.
	res = mustApplyP(t, f, 14, ops(upsert(pipe("otlp_pipeline")), upsert(pipe("third"))))
	if res.Pipelines[0].ID != "2" || res.Pipelines[0].ModifyIndex != 10 || res.Pipelines[1].ID != "3" {
		t.Fatalf("upserted %+v %+v", res.Pipelines[0], res.Pipelines[1])
	}

	mustApplyP(t, f, 15, ops(del("1")))
	_, err = applyP(t, f, 16, ops(del("1")))
	wantCode(t, err, http.StatusNotFound)

	revs, _ := f.State().PipelineRevisions(nil, "")
	var got []string
	for _, r := range revs {
		got = append(got, fmt.Sprintf("%s:%s:%s", r.RevisionID, r.PipelineID, r.Operation))
	}
	want := "[1:1:INSERT 2:2:INSERT 3:1:UPDATE 4:3:INSERT 5:1:DELETE]"
	if fmt.Sprint(got) != want {
		t.Fatalf("revisions %v, want %s", got, want)
	}
	one, _ := f.State().PipelineRevisions(nil, "1")
	if len(one) != 3 || one[2].Snapshot.Contents != "new contents" || one[0].Snapshot.Contents == "" {
		t.Fatalf("pipeline 1 history %+v", one)
	}
	if r, _ := f.State().PipelineRevision(nil, "5"); r == nil || r.Operation != structs.RevisionDelete || r.Snapshot.Name != "myname" {
		t.Fatalf("revision 5 %+v", r)
	}
	if r, _ := f.State().PipelineRevision(nil, "nope"); r != nil {
		t.Fatal("non-numeric revision found")
	}

	// Events: one per change, in order, deletes included.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var types []string
	for len(types) < 5 {
		evs, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("events so far %v: %v", types, err)
		}
		for _, e := range evs.Events {
			types = append(types, e.Key+":"+e.Type)
		}
	}
	if fmt.Sprint(types) != "[1:PipelineUpserted 2:PipelineUpserted 1:PipelineUpserted 3:PipelineUpserted 1:PipelineDeleted]" {
		t.Fatalf("events %v", types)
	}
}

func TestFSM_PipelineBatchIsAtomic(t *testing.T) {
	f := testFSM(t)
	mustApplyP(t, f, 1, ops(create(pipe("a")), create(pipe("b"))))
	// Bulk delete with one missing ID deletes nothing.
	_, err := applyP(t, f, 2, ops(del("1"), del("7")))
	wantCode(t, err, http.StatusNotFound)
	all, _ := f.State().Pipelines(nil)
	if len(all) != 2 {
		t.Fatalf("after a failed bulk delete: %d pipelines", len(all))
	}
	revs, _ := f.State().PipelineRevisions(nil, "")
	if len(revs) != 2 {
		t.Fatalf("a failed batch left %d revisions", len(revs))
	}
	// Counters did not move either: the next ID is 3.
	res := mustApplyP(t, f, 3, ops(create(pipe("c"))))
	if res.Pipelines[0].ID != "3" {
		t.Fatalf("next ID %s", res.Pipelines[0].ID)
	}
}

func TestFSM_PipelineValidateOnlyWritesNothing(t *testing.T) {
	f := testFSM(t)
	mustApplyP(t, f, 1, ops(create(pipe("a"))))
	res, err := f.State().ApplyPipelines(2, ops(create(pipe("b"))), true)
	if err != nil || len(res.Pipelines) != 1 || res.Pipelines[0].ID != "" || res.Pipelines[0].Name != "b" {
		t.Fatalf("preview %+v %v", res, err)
	}
	if _, err := f.State().ApplyPipelines(2, ops(create(pipe("a"))), true); err == nil {
		t.Fatal("preview of a taken name passed")
	}
	all, _ := f.State().Pipelines(nil)
	revs, _ := f.State().PipelineRevisions(nil, "")
	if idx, _ := f.State().Index(tablePipelines); len(all) != 1 || len(revs) != 1 || idx != 1 {
		t.Fatalf("preview wrote: %d pipelines, %d revisions, index %d", len(all), len(revs), idx)
	}
}

func TestFSM_PipelineSync(t *testing.T) {
	f := testFSM(t)
	git := &structs.PipelineSyncSource{Type: "SOURCE_TYPE_GIT", Namespace: "repo"}
	owned := func(name string) *structs.Pipeline {
		p := pipe(name)
		p.SourceType, p.SourceNamespace = git.Type, git.Namespace
		return p
	}
	mustApplyP(t, f, 1, ops(create(pipe("ui-made")), create(owned("old")), create(owned("kept"))))

	sync := ops(upsert(owned("kept")), upsert(owned("new")))
	sync.SyncSource = git
	mustApplyP(t, f, 2, sync)
	all, _ := f.State().Pipelines(nil)
	var names []string
	for _, p := range all {
		names = append(names, p.Name)
	}
	if fmt.Sprint(names) != "[ui-made kept new]" {
		t.Fatalf("after sync: %v", names)
	}
	// A sync may not take over a pipeline another source owns.
	steal := ops(upsert(owned("ui-made")))
	steal.SyncSource = git
	_, err := applyP(t, f, 3, steal)
	wantCode(t, err, http.StatusConflict)
}

// IDs and revision numbers survive a snapshot and never repeat, even for
// the highest ID deleted just before it; the revision order holds across
// all 141 revisions.
func TestFSM_PipelineSnapshotKeepsCountersAndOrder(t *testing.T) {
	f := testFSM(t)
	idx := uint64(1)
	for i := 0; i < 70; i++ {
		p := pipe("p")
		mustApplyP(t, f, idx, ops(create(p)))
		idx++
		mustApplyP(t, f, idx, ops(del(fmt.Sprint(i+1))))
		idx++
	}
	f2 := testSnapshotRestore(t, f)
	res := mustApplyP(t, f2, idx, ops(create(pipe("after"))))
	if res.Pipelines[0].ID != "71" {
		t.Fatalf("ID after restore %s, want 71", res.Pipelines[0].ID)
	}
	revs, _ := f2.State().PipelineRevisions(nil, "")
	if len(revs) != 141 {
		t.Fatalf("%d revisions", len(revs))
	}
	for i, r := range revs {
		if r.Seq != uint64(i+1) || r.RevisionID != fmt.Sprint(i+1) {
			t.Fatalf("revision %d is %s", i+1, r.RevisionID)
		}
	}
	deleted, _ := f2.State().PipelineRevisions(nil, "70")
	if len(deleted) != 2 || deleted[1].Operation != structs.RevisionDelete {
		t.Fatalf("a deleted pipeline's history %+v", deleted)
	}
}

func TestFSM_ConfigLifecycle(t *testing.T) {
	f := testFSM(t)
	apply := func(index uint64, req *structs.ConfigApplyRequest) (*ConfigApplyResult, error) {
		req.Now = t0.Add(time.Duration(index) * time.Second)
		resp := f.Apply(makeLog(t, index, structs.ConfigApplyRequestType, req))
		if err, ok := resp.(error); ok {
			return nil, err
		}
		return resp.(*ConfigApplyResult), nil
	}
	cfg := func(name, contents string, jobs ...string) *structs.ConfigApplyRequest {
		return &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: name, Contents: contents, JobNames: jobs}}
	}
	if res, err := apply(1, cfg("hello/world", "v1", "job-a")); err != nil || !res.Created {
		t.Fatalf("create %+v %v", res, err)
	}
	if res, err := apply(2, cfg("hello/world", "v2", "job-a")); err != nil || res.Created || !res.Changed {
		t.Fatalf("update %+v %v", res, err)
	}
	if res, err := apply(3, cfg("hello/world", "v2", "job-a")); err != nil || res.Changed {
		t.Fatalf("same contents %+v %v", res, err)
	}
	_, err := apply(4, cfg("other", "v1", "job-b", "job-a"))
	wantCode(t, err, http.StatusBadRequest)
	_, err = apply(5, &structs.ConfigApplyRequest{Name: "nope", Delete: true})
	wantCode(t, err, http.StatusNotFound)
	if _, err := apply(6, &structs.ConfigApplyRequest{Name: "hello/world", Delete: true}); err != nil {
		t.Fatal(err)
	}
	// After the delete the job name is free again.
	if _, err := apply(7, cfg("other", "v1", "job-a")); err != nil {
		t.Fatal(err)
	}
	revs, _ := f.State().ConfigRevisions(nil, "hello/world")
	var got []string
	for _, r := range revs {
		got = append(got, r.RevisionID+":"+r.Operation+":"+r.Snapshot.Contents)
	}
	if fmt.Sprint(got) != "[1:INSERT:v1 2:UPDATE:v2 3:DELETE:v2]" {
		t.Fatalf("revisions %v", got)
	}
	f2 := testSnapshotRestore(t, f)
	all, _ := f2.State().Configs(nil)
	if len(all) != 1 || all[0].Name != "other" {
		t.Fatalf("restored configs %+v", all)
	}
	revs, _ = f2.State().ConfigRevisions(nil, "hello/world")
	if len(revs) != 3 {
		t.Fatalf("restored %d revisions", len(revs))
	}
	if res, err := func() (*ConfigApplyResult, error) { f = f2; return apply(8, cfg("third", "x")) }(); err != nil || !res.Created {
		t.Fatal(err)
	}
	revs, _ = f2.State().ConfigRevisions(nil, "third")
	if len(revs) != 1 || revs[0].RevisionID != "5" {
		t.Fatalf("revision after restore %+v", revs)
	}
}

// TestFSM_ConfigKinds: metrics and logs configs share names, so a put of
// one kind under the other's name is a 409 and a delete for the other
// kind a 404; "" is a metrics config, as before kinds existed.
func TestFSM_ConfigKinds(t *testing.T) {
	f := testFSM(t)
	apply := func(index uint64, req *structs.ConfigApplyRequest) error {
		req.Now = t0
		if err, ok := f.Apply(makeLog(t, index, structs.ConfigApplyRequestType, req)).(error); ok {
			return err
		}
		return nil
	}
	logs := &structs.InstanceConfig{Name: "l", Kind: structs.ConfigKindLogs, Contents: "v1"}
	if err := apply(1, &structs.ConfigApplyRequest{Config: logs}); err != nil {
		t.Fatal(err)
	}
	if err := apply(2, &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "m", Contents: "v1"}}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, apply(3, &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "l", Contents: "v2"}}), http.StatusConflict)
	wantCode(t, apply(4, &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "m", Kind: structs.ConfigKindLogs, Contents: "v2"}}), http.StatusConflict)
	wantCode(t, apply(5, &structs.ConfigApplyRequest{Name: "l", Delete: true}), http.StatusNotFound)
	wantCode(t, apply(6, &structs.ConfigApplyRequest{Name: "m", Kind: structs.ConfigKindLogs, Delete: true}), http.StatusNotFound)
	if err := apply(7, &structs.ConfigApplyRequest{Name: "m", Kind: structs.ConfigKindMetrics, Delete: true}); err != nil {
		t.Fatal(err)
	}
	if err := apply(8, &structs.ConfigApplyRequest{Name: "l", Kind: structs.ConfigKindLogs, Delete: true}); err != nil {
		t.Fatal(err)
	}
	// Deleted, the name takes either kind again.
	if err := apply(9, &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "l", Contents: "v3"}}); err != nil {
		t.Fatal(err)
	}
	revs, _ := f.State().ConfigRevisions(nil, "l")
	if len(revs) != 3 || revs[0].Snapshot.Kind != structs.ConfigKindLogs || revs[2].Snapshot.Kind != "" {
		t.Fatalf("revisions %+v", revs)
	}
}

// Revision lists come out in the order the revisions were made, for the
// whole table and per pipeline and config, past every key-width boundary
// (16, 128, 256) of the sequence index, with no sort after the lookup.
func TestFSM_RevisionOrderPastKeyBoundaries(t *testing.T) {
	f := testFSM(t)
	mustApplyP(t, f, 1, ops(create(pipe("a"))))
	for i := 2; i <= 300; i++ {
		p := pipe("a")
		p.ID, p.Contents = "1", fmt.Sprint(i)
		mustApplyP(t, f, uint64(i), ops(update(p)))
		req := &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "x", Contents: fmt.Sprint(i)}, Now: t0}
		if err, ok := f.Apply(makeLog(t, uint64(1000+i), structs.ConfigApplyRequestType, req)).(error); ok {
			t.Fatal(err)
		}
	}
	all, _ := f.State().PipelineRevisions(nil, "")
	mine, _ := f.State().PipelineRevisions(nil, "1")
	cfg, _ := f.State().ConfigRevisions(nil, "x")
	for name, seqs := range map[string][]uint64{"all": revSeqs(all), "pipeline 1": revSeqs(mine), "config x": cfgSeqs(cfg)} {
		if len(seqs) < 299 || !slices.IsSorted(seqs) {
			t.Fatalf("%s: %d revisions, sorted %v", name, len(seqs), slices.IsSorted(seqs))
		}
	}
}

func revSeqs(revs []*structs.PipelineRevision) []uint64 {
	var out []uint64
	for _, r := range revs {
		out = append(out, r.Seq)
	}
	return out
}

func cfgSeqs(revs []*structs.ConfigRevision) []uint64 {
	var out []uint64
	for _, r := range revs {
		out = append(out, r.Seq)
	}
	return out
}
