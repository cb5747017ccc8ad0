package fsm

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

// TestFSM_ApplyBatchMatchesApply applies one log twice: entry by entry
// through Apply, and in one ApplyBatch call (as raft does with a batching
// FSM). Answers, state, table indexes and the event sequence must be the
// same, across refusals inside a shared run, runs cut by other entry
// types, multi-operation requests and configuration entries.
func TestFSM_ApplyBatchMatchesApply(t *testing.T) {
	changed := pipe("b")
	changed.Contents = "changed"
	renamed := pipe("b")
	renamed.ID, renamed.Name = "2", "a" // update onto a taken name
	var logs []*raft.Log
	add := func(mt structs.MessageType, req any) {
		logs = append(logs, makeLog(t, uint64(len(logs)+1), mt, req))
	}
	add(structs.PipelineApplyRequestType, ops(create(pipe("a"))))
	add(structs.PipelineApplyRequestType, ops(create(pipe("b"))))
	add(structs.PipelineApplyRequestType, ops(create(pipe("a")))) // 409 inside the run
	add(structs.PipelineApplyRequestType, ops(upsert(changed)))
	add(structs.PipelineApplyRequestType, ops(update(renamed))) // 409 inside the run
	add(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("n1"), UpdatedAt: 1})
	add(structs.PipelineApplyRequestType, ops(del("99")))                            // 404, a run of one
	add(structs.PipelineApplyRequestType, ops(create(pipe("c")), create(pipe("d")))) // not batchable
	add(structs.PipelineApplyRequestType, ops(del("1")))
	add(structs.PipelineApplyRequestType, ops(upsert(changed))) // identical: no change
	logs = append(logs, &raft.Log{Index: uint64(len(logs) + 1), Term: 1, Type: raft.LogConfiguration})
	add(structs.PipelineApplyRequestType, ops(create(pipe("e"))))
	add(structs.PipelineApplyRequestType, ops(create(pipe("a")))) // the deleted name is free again
	add(structs.PipelineApplyRequestType, ops(create(pipe("e")))) // 409 at the end of a run

	type outcome struct {
		answers []string
		state   string
		events  []string
	}
	run := func(batch bool) outcome {
		f := testFSM(t)
		broker := stream.NewEventBroker(context.Background(), stream.BrokerConfig{Logger: hclog.NewNullLogger()})
		f.SetEventBroker(broker)
		sub, err := broker.Subscribe(&stream.SubscribeRequest{Topics: map[string][]string{"*": {"*"}}})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()

		var resps []any
		if batch {
			resps = f.ApplyBatch(logs)
		} else {
			for _, l := range logs {
				if l.Type != raft.LogCommand {
					resps = append(resps, nil)
					continue
				}
				resps = append(resps, f.Apply(l))
			}
		}
		var o outcome
		for i, r := range resps {
			switch r := r.(type) {
			case nil:
				o.answers = append(o.answers, fmt.Sprintf("%d:nil", i+1))
			case error:
				o.answers = append(o.answers, fmt.Sprintf("%d:%v", i+1, r))
			case *PipelineApplyResult:
				var ids []string
				for _, p := range r.Pipelines {
					ids = append(ids, p.ID+"="+p.Name+"@"+fmt.Sprint(p.ModifyIndex))
				}
				o.answers = append(o.answers, fmt.Sprintf("%d:%v", i+1, ids))
			default:
				o.answers = append(o.answers, fmt.Sprintf("%d:%T", i+1, r))
			}
		}
		st := f.State()
		pipelines, err := st.Pipelines(nil)
		if err != nil {
			t.Fatal(err)
		}
		revs, err := st.PipelineRevisions(nil, "")
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := st.Nodes(nil, "")
		if err != nil {
			t.Fatal(err)
		}
		pi, _ := st.Index(tablePipelines)
		ri, _ := st.Index(tablePipelineRevisions)
		buf, _ := json.Marshal(map[string]any{"pipelines": pipelines, "revisions": revs, "nodes": len(nodes), "index": []uint64{pi, ri}})
		o.state = string(buf)

		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		for {
			evs, err := sub.Next(ctx)
			if err != nil {
				break
			}
			for _, e := range evs.Events {
				o.events = append(o.events, fmt.Sprintf("%d:%s:%s:%s", e.Index, e.Topic, e.Type, e.Key))
			}
		}
		return o
	}
	one, all := run(false), run(true)
	if fmt.Sprint(one.answers) != fmt.Sprint(all.answers) {
		t.Fatalf("answers differ\napply: %v\nbatch: %v", one.answers, all.answers)
	}
	if one.state != all.state {
		t.Fatalf("state differs\napply: %s\nbatch: %s", one.state, all.state)
	}
	if fmt.Sprint(one.events) != fmt.Sprint(all.events) {
		t.Fatalf("events differ\napply: %v\nbatch: %v", one.events, all.events)
	}
	// The log exercises what it claims to: refusals, a no-op and events.
	want := "[1:[1=a@1] 2:[2=b@2] 3:RPC Error:: 409,a pipeline named \"a\" already exists 4:[2=b@4] " +
		"5:RPC Error:: 409,a pipeline named \"a\" already exists 6:nil 7:RPC Error:: 404,pipeline with ID \"99\" not found " +
		"8:[3=c@8 4=d@8] 9:[] 10:[2=b@4] 11:nil 12:[5=e@12] 13:[6=a@13] 14:RPC Error:: 409,a pipeline named \"e\" already exists]"
	if fmt.Sprint(all.answers) != want {
		t.Fatalf("answers\n got %v\nwant %s", all.answers, want)
	}
	if len(all.events) != 8 {
		t.Fatalf("events %v", all.events)
	}
}

// TestFSM_ApplyBatchBrokenRunFallsBack: an entry that fails after writing
// part of itself (here a nameless pipeline, which the endpoint would have
// refused, fails memdb's name index after its ID was drawn) must not take
// its run's other entries down or leave its half-write behind: the run is
// applied again entry by entry.
func TestFSM_ApplyBatchBrokenRunFallsBack(t *testing.T) {
	logs := []*raft.Log{
		makeLog(t, 1, structs.PipelineApplyRequestType, ops(create(pipe("a")))),
		makeLog(t, 2, structs.PipelineApplyRequestType, ops(create(pipe("")))),
		makeLog(t, 3, structs.PipelineApplyRequestType, ops(create(pipe("b")))),
	}
	f := testFSM(t)
	resps := f.ApplyBatch(logs)
	if _, ok := resps[0].(*PipelineApplyResult); !ok {
		t.Fatalf("entry 1: %v", resps[0])
	}
	if err, ok := resps[1].(error); !ok || err == nil {
		t.Fatalf("entry 2 should fail: %v", resps[1])
	}
	if res, ok := resps[2].(*PipelineApplyResult); !ok || res.Pipelines[0].ID != "2" {
		t.Fatalf("entry 3: %#v", resps[2])
	}
	ps, _ := f.State().Pipelines(nil)
	revs, _ := f.State().PipelineRevisions(nil, "")
	if len(ps) != 2 || len(revs) != 2 || ps[0].Name != "a" || ps[1].Name != "b" {
		t.Fatalf("pipelines %v, revisions %d", ps, len(revs))
	}
}
