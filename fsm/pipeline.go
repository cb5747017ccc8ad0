package fsm

import (
	"errors"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"
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
		t, h, body := splitEntry(l)
		if h.ID != "" && run.has(h.ID) {
			// A repeat of a request in the run: the run's records
			// must exist before the repeat is looked up.
			f.flushPipelineRun(&run, out)
		}
		if t == structs.PipelineApplyRequestType {
			if h.ID != "" {
				if rec := f.appliedRequest(h.ID, l.Index); rec != nil {
					out[i] = rec.answer()
					continue
				}
			}
			req := new(structs.PipelineApplyRequest)
			decode(body, req, l.Index)
			if batchable(req) {
				run = append(run, runEntry{slot: i, index: l.Index, req: req, header: h})
				continue
			}
			f.flushPipelineRun(&run, out)
			start := time.Now()
			out[i] = f.applyPipelineRequest(l.Index, req)
			measureApply(t, start)
			if h.ID != "" {
				f.rememberRequests([]*RequestRecord{newRequestRecord(h, t, l.Index, out[i])}, l.Index, h.Time)
			}
			continue
		}
		f.flushPipelineRun(&run, out)
		out[i] = f.applyEntry(t, h, body, l.Index)
	}
	f.flushPipelineRun(&run, out)
	return out
}

// pipelineRun is a run of consecutive batchable pipeline entries.
type pipelineRun []runEntry

type runEntry struct {
	slot   int // the entry's place in ApplyBatch's answers
	index  uint64
	req    *structs.PipelineApplyRequest
	header structs.RequestHeader
}

// has tells whether an entry of the run carries request ID id.
func (r pipelineRun) has(id string) bool {
	for _, e := range r {
		if e.header.ID == id {
			return true
		}
	}
	return false
}

// flushPipelineRun applies the run in one transaction, fills its slots of
// out, publishes its events in index order and empties the run. Should the
// shared transaction break, the run is applied again entry by entry, each
// in its own transaction, exactly as Apply would have.
func (f *FSM) flushPipelineRun(r *pipelineRun, out []any) {
	defer func() { *r = (*r)[:0] }()
	defer f.rememberRun(*r, out)
	if len(*r) == 0 {
		return
	}
	// A run shares one transaction: each entry is charged its share.
	defer func(start time.Time, n int) {
		per := float32(time.Since(start)) / float32(time.Millisecond) / float32(n)
		for range n {
			metrics.AddSampleWithLabels([]string{"nomadlike", "fsm", "apply"}, per,
				[]metrics.Label{{Name: "type", Value: MessageTypeName(structs.PipelineApplyRequestType)}})
		}
	}(time.Now(), len(*r))
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

// rememberRun records the requests of a run that was applied, in one
// transaction.
func (f *FSM) rememberRun(r pipelineRun, out []any) {
	var recs []*RequestRecord
	for _, e := range r {
		if e.header.ID != "" {
			recs = append(recs, newRequestRecord(e.header, structs.PipelineApplyRequestType, e.index, out[e.slot]))
		}
	}
	if n := len(recs); n > 0 {
		f.rememberRequests(recs, recs[n-1].Index, recs[n-1].Time)
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
