package fsm

import (
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
	res, err := f.State().ApplyPipelines(index, &req, false)
	if err != nil {
		f.logger.Debug("pipeline apply refused", "index", index, "error", err)
		return err
	}
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
	f.publish(index, events)
	return res
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
