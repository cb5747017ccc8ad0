package fsm

import (
	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

// Event topic and types of registered collectors.
const (
	TopicCollector = "Collector"

	TypeCollectorRegistered   = "CollectorRegistered"
	TypeCollectorUnregistered = "CollectorUnregistered"
)

func init() {
	register(structs.CollectorRegisterRequestType, (*FSM).applyCollectorRegister)
	register(structs.CollectorUnregisterRequestType, (*FSM).applyCollectorUnregister)
}

// applyCollectorRegister returns the *CollectorApplyResult.
func (f *FSM) applyCollectorRegister(buf []byte, index uint64) any {
	var req structs.CollectorRegisterRequest
	decode(buf, &req, index)
	res, err := f.State().UpsertCollector(index, req.Collector, req.Now)
	if err != nil {
		f.logger.Error("collector register failed", "collector_id", req.Collector.ID, "error", err)
		return err
	}
	if res.Changed {
		f.publish(index, []stream.Event{{Topic: TopicCollector, Type: TypeCollectorRegistered, Key: res.Collector.ID,
			Index: index, Payload: map[string]any{"Collector": res.Collector}}})
	}
	return res
}

// applyCollectorUnregister returns the *CollectorApplyResult; removing a
// collector that is not registered changes nothing and is no error.
func (f *FSM) applyCollectorUnregister(buf []byte, index uint64) any {
	var req structs.CollectorUnregisterRequest
	decode(buf, &req, index)
	res, err := f.State().DeleteCollector(index, req.ID)
	if err != nil {
		f.logger.Error("collector unregister failed", "collector_id", req.ID, "error", err)
		return err
	}
	if res.Changed {
		f.publish(index, []stream.Event{{Topic: TopicCollector, Type: TypeCollectorUnregistered, Key: req.ID,
			Index: index, Payload: map[string]any{"Collector": res.Collector}}})
	}
	return res
}
