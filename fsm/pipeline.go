package fsm

import (
	"errors"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

// Event topics and types published by the applies in this file.
const (
	TopicPipeline = "Pipeline"
	TopicConfig   = "Config"

	TypePipelineUpserted = "PipelineUpserted"
	TypePipelineDeleted  = "PipelineDeleted"
	TypeConfigUpserted   = "ConfigUpserted"
	TypeConfigDeleted    = "ConfigDeleted"
)

func init() {
	register(structs.PipelineApplyRequestType, (*FSM).applyPipelines)
	register(structs.ConfigApplyRequestType, (*FSM).applyConfig)
}

// applyPipelines returns the *PipelineApplyResult, or the error that
// refused the whole request (a missing ID, a taken name): a refusal is the
// same on every replica, so it is an answer, not a failure.
func (f *FSM) applyPipelines(buf []byte, index uint64) any {
	var req structs.PipelineApplyRequest
	decode(buf, &req, index)
	return f.applyPipelineRequest(index, &req)
}

func (f *FSM) applyPipelineRequest(index uint64, req *structs.PipelineApplyRequest) any {
	res, err := f.State().ApplyPipelines(index, req, false)
	if err != nil {
		f.logger.Debug("pipeline apply refused", "index", index, "error", err)
		return err
	}
	f.publish(index, pipelineEvents(index, res))
	return res
}

func pipelineEvents(index uint64, res *PipelineApplyResult) []stream.Event {
	var events []stream.Event
	for _, c := range res.changes {
		typ := TypePipelineUpserted
		if c.op == structs.RevisionDelete {
			typ = TypePipelineDeleted
		}
		events = append(events, stream.Event{
			Topic: TopicPipeline, Type: typ, Key: c.pipeline.ID, FilterKeys: []string{c.pipeline.Name},
			Index: index, Payload: map[string]any{"Pipeline": c.pipeline, "Operation": c.op},
		})
	}
	return events
}

// ApplyBatch implements raft.BatchingFSM: raft hands over every committed
// entry of one dispatch together. Runs of single-operation pipeline
// requests share one state transaction (see fsm/DESIGN.md); every other
// entry is applied alone, in log order, after the run before it is
// committed, so readers and event subscribers see the same sequence of
// states as entry-by-entry application would give them.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	var run pipelineRun
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			continue // configuration entries: raft acts on them itself
		}
		if len(l.Data) > 0 && structs.MessageType(l.Data[0]) == structs.PipelineApplyRequestType {
			req := new(structs.PipelineApplyRequest)
			decode(l.Data[1:], req, l.Index)
			if batchable(req) {
				run = append(run, runEntry{slot: i, index: l.Index, req: req})
				continue
			}
			f.flushPipelineRun(&run, out)
			out[i] = f.applyPipelineRequest(l.Index, req)
			continue
		}
		f.flushPipelineRun(&run, out)
		out[i] = f.Apply(l)
	}
	f.flushPipelineRun(&run, out)
	return out
}

// pipelineRun is a run of consecutive batchable pipeline entries.
type pipelineRun []runEntry

type runEntry struct {
	slot  int // the entry's place in ApplyBatch's answers
	index uint64
	req   *structs.PipelineApplyRequest
}

// flushPipelineRun applies the run in one transaction, fills its slots of
// out, publishes its events in index order and empties the run. Should the
// shared transaction break, the run is applied again entry by entry, each
// in its own transaction, exactly as Apply would have.
func (f *FSM) flushPipelineRun(r *pipelineRun, out []any) {
	defer func() { *r = (*r)[:0] }()
	results, err := f.applyPipelineRunShared(*r)
	if err != nil {
		f.logger.Warn("pipeline batch broken; applying its entries one by one", "error", err)
	}
	if results == nil {
		for _, e := range *r {
			out[e.slot] = f.applyPipelineRequest(e.index, e.req)
		}
		return
	}
	for i, e := range *r {
		out[e.slot] = results[i]
		if res, ok := results[i].(*PipelineApplyResult); ok {
			f.publish(e.index, pipelineEvents(e.index, res))
		}
	}
}

// applyPipelineRunShared applies and commits a run of two or more entries
// in one transaction and returns each entry's answer; nil (with the error
// when something broke) means nothing was written.
func (f *FSM) applyPipelineRunShared(run pipelineRun) ([]any, error) {
	if len(run) < 2 {
		return nil, nil
	}
	b := f.State().newPipelineBatch()
	results := make([]any, len(run))
	for i, e := range run {
		res, err := b.Apply(e.index, e.req)
		switch {
		case errors.Is(err, errBatchBroken):
			b.Abort()
			return nil, err
		case err != nil:
			f.logger.Debug("pipeline apply refused", "index", e.index, "error", err)
			results[i] = err
		default:
			results[i] = res
		}
	}
	if err := b.Commit(); err != nil {
		return nil, err
	}
	return results, nil
}

// applyConfig returns the *ConfigApplyResult or the refusal.
func (f *FSM) applyConfig(buf []byte, index uint64) any {
	var req structs.ConfigApplyRequest
	decode(buf, &req, index)
	res, err := f.State().ApplyConfig(index, &req)
	if err != nil {
		f.logger.Debug("config apply refused", "index", index, "error", err)
		return err
	}
	if res.Changed {
		typ := TypeConfigUpserted
		if req.Delete {
			typ = TypeConfigDeleted
		}
		// Contents may hold credentials: the event says what changed,
		// a reader with config:read fetches the (scrubbed) contents.
		c := *res.Config
		c.Contents = ""
		f.publish(index, []stream.Event{{
			Topic: TopicConfig, Type: typ, Key: c.Name, Index: index,
			Payload: map[string]any{"Config": &c},
		}})
	}
	return res
}
