package fsm

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/structs"
)

var reqT0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// requestLog is an entry carrying a request header.
func reqLog(t testing.TB, index uint64, id string, at time.Time, mt structs.MessageType, req any) *raft.Log {
	t.Helper()
	buf, err := structs.EncodeRequest(mt, structs.RequestHeader{ID: id, Time: at}, req)
	if err != nil {
		t.Fatal(err)
	}
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: buf}
}

func upsertReq(name, contents string) *structs.PipelineApplyRequest {
	return &structs.PipelineApplyRequest{Now: reqT0, Operations: []*structs.PipelineOperation{{
		Op: structs.PipelineOpUpsert, Pipeline: &structs.Pipeline{Name: name, Contents: contents, Enabled: true},
	}}}
}

func contentsOf(t *testing.T, f *FSM, name string) string {
	t.Helper()
	p, err := f.State().PipelineByName(nil, name)
	if err != nil || p == nil {
		t.Fatalf("pipeline %s: %v %v", name, p, err)
	}
	return p.Contents
}

// The sequence the issue saw in a revision history (c5-311, c0-329,
// c5-311): a write, a later acknowledged write, then the first write's
// retry. The retry changes nothing and answers with the first result, on
// the entry-by-entry path, the batched path, and after a restore.
func TestFSM_RepeatedRequestAppliedOnce(t *testing.T) {
	for _, batched := range []bool{false, true} {
		f := testFSM(t)
		logs := []*raft.Log{
			reqLog(t, 1, "c5-311", reqT0, structs.PipelineApplyRequestType, upsertReq("reg", "// c5-311")),
			reqLog(t, 2, "c0-329", reqT0, structs.PipelineApplyRequestType, upsertReq("reg", "// c0-329")),
			reqLog(t, 3, "c5-311", reqT0, structs.PipelineApplyRequestType, upsertReq("reg", "// c5-311")),
		}
		var out []any
		if batched {
			out = f.ApplyBatch(logs)
		} else {
			for _, l := range logs {
				out = append(out, f.Apply(l))
			}
		}
		if got := contentsOf(t, f, "reg"); got != "// c0-329" {
			t.Fatalf("batched=%v: contents %q, the retry overwrote the later write", batched, got)
		}
		first, ok1 := out[0].(*PipelineApplyResult)
		repeat, ok3 := out[2].(*PipelineApplyResult)
		if !ok1 || !ok3 || repeat.Pipelines[0].Contents != "// c5-311" || repeat.Pipelines[0].ID != first.Pipelines[0].ID {
			t.Fatalf("batched=%v: repeat answered %#v, want the first answer %#v", batched, out[2], out[0])
		}
		revs, err := f.State().PipelineRevisions(nil, first.Pipelines[0].ID)
		if err != nil || len(revs) != 2 {
			t.Fatalf("batched=%v: %d revisions, want 2 (%v)", batched, len(revs), err)
		}

		// The records survive a snapshot: a retry after a restore is
		// still answered, not applied.
		f2 := testFSM(t)
		if err := f2.Restore(io.NopCloser(bytes.NewReader(persistBytes(t, f)))); err != nil {
			t.Fatal(err)
		}
		res := f2.Apply(reqLog(t, 4, "c5-311", reqT0, structs.PipelineApplyRequestType, upsertReq("reg", "// c5-311")))
		if r, ok := res.(*PipelineApplyResult); !ok || r.Pipelines[0].Contents != "// c5-311" {
			t.Fatalf("after restore: %#v", res)
		}
		if got := contentsOf(t, f2, "reg"); got != "// c0-329" {
			t.Fatalf("after restore: contents %q", got)
		}
	}
}

// A refusal is an answer too: the repeat gets the same error, even when
// the state would now accept the request.
func TestFSM_RepeatedRequestGetsFirstError(t *testing.T) {
	f := testFSM(t)
	del := &structs.PipelineApplyRequest{Now: reqT0, Operations: []*structs.PipelineOperation{{Op: structs.PipelineOpDelete, ID: "1"}}}
	first := f.Apply(reqLog(t, 1, "del-1", reqT0, structs.PipelineApplyRequestType, del))
	firstErr, ok := first.(error)
	if !ok {
		t.Fatalf("delete of a missing pipeline: %#v", first)
	}
	f.Apply(makeLog(t, 2, structs.PipelineApplyRequestType, upsertReq("p", "// x")))
	again := f.Apply(reqLog(t, 3, "del-1", reqT0, structs.PipelineApplyRequestType, del))
	err, ok := again.(error)
	if !ok || err.Error() != firstErr.Error() {
		t.Fatalf("repeat answered %#v, want %v", again, firstErr)
	}
	var coded *structs.CodedError
	if !errors.As(err, &coded) || coded.Code != 404 {
		t.Fatalf("repeat error lost its code: %v", err)
	}
	if contentsOf(t, f, "p") != "// x" {
		t.Fatal("the repeated delete applied")
	}
}

// Records are forgotten after RequestWindow of the entries' time and
// after MaxRequests entries of log distance, the same way on every
// replica; a request older than that applies again.
func TestFSM_RequestRecordsArePruned(t *testing.T) {
	f := testFSM(t)
	f.Apply(reqLog(t, 1, "old", reqT0, structs.PipelineApplyRequestType, upsertReq("a", "// 1")))
	f.Apply(reqLog(t, 2, "recent", reqT0.Add(RequestWindow/2), structs.PipelineApplyRequestType, upsertReq("b", "// 1")))
	f.Apply(reqLog(t, 3, "now", reqT0.Add(RequestWindow+time.Second), structs.PipelineApplyRequestType, upsertReq("c", "// 1")))
	for id, want := range map[string]bool{"old": false, "recent": true, "now": true} {
		if rec := f.requests.get(id); (rec != nil) != want {
			t.Fatalf("request %s remembered=%v, want %v", id, rec != nil, want)
		}
	}
	far := uint64(3 + MaxRequests)
	f.Apply(reqLog(t, far, "far", reqT0.Add(RequestWindow+2*time.Second), structs.PipelineApplyRequestType, upsertReq("d", "// 1")))
	if rec := f.requests.get("recent"); rec != nil {
		t.Fatal("a request MaxRequests entries back is still remembered")
	}
	if rec := f.requests.get("now"); rec != nil {
		t.Fatal("a request MaxRequests entries back is still remembered")
	}
	if rec := f.requests.get("far"); rec == nil {
		t.Fatal("the newest request is not remembered")
	}
}

// Token writes answer with the stored accessor IDs, so a repeat (whose
// endpoint picked other IDs) reads back the token that was stored.
func TestFSM_RepeatedTokenUpsertNamesStoredToken(t *testing.T) {
	f := testFSM(t)
	tok := func(acc string) *structs.ACLTokenUpsertRequest {
		return &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{{
			AccessorID: acc, SecretID: "s-" + acc, Type: structs.ACLManagementToken, CreateTime: reqT0,
		}}}
	}
	f.Apply(reqLog(t, 1, "mint", reqT0, structs.ACLTokenUpsertRequestType, tok("acc-first")))
	res := f.Apply(reqLog(t, 2, "mint", reqT0, structs.ACLTokenUpsertRequestType, tok("acc-retry")))
	r, ok := res.(*ACLTokenApplyResult)
	if !ok || len(r.AccessorIDs) != 1 || r.AccessorIDs[0] != "acc-first" {
		t.Fatalf("repeat answered %#v", res)
	}
	if t2, _ := f.State().ACLTokenByAccessorID(nil, "acc-retry"); t2 != nil {
		t.Fatal("the repeat stored a second token")
	}
}
