package fsm

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

func registerC(t *testing.T, f *FSM, index uint64, c *structs.Collector, now time.Time) *CollectorApplyResult {
	t.Helper()
	out := f.Apply(makeLog(t, index, structs.CollectorRegisterRequestType, &structs.CollectorRegisterRequest{Collector: c, Now: now}))
	res, ok := out.(*CollectorApplyResult)
	if !ok {
		t.Fatalf("register at %d: %v", index, out)
	}
	return res
}

func unregisterC(t *testing.T, f *FSM, index uint64, id string) *CollectorApplyResult {
	t.Helper()
	out := f.Apply(makeLog(t, index, structs.CollectorUnregisterRequestType, &structs.CollectorUnregisterRequest{ID: id}))
	res, ok := out.(*CollectorApplyResult)
	if !ok {
		t.Fatalf("unregister at %d: %v", index, out)
	}
	return res
}

func TestFSM_CollectorLifecycle(t *testing.T) {
	f := testFSM(t)
	broker := stream.NewEventBroker(context.Background(), stream.BrokerConfig{Logger: hclog.NewNullLogger()})
	f.SetEventBroker(broker)
	sub, err := broker.Subscribe(&stream.SubscribeRequest{Topics: map[string][]string{TopicCollector: {"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := &structs.Collector{ID: "alloy-1", Name: "host-1", Attributes: map[string]string{"env": "prod", "collector.os": "linux"}}
	res := registerC(t, f, 5, c, t0)
	if !res.Changed || res.Collector.CreateIndex != 5 || res.Collector.ModifyIndex != 5 || !res.Collector.CreatedAt.Equal(t0) {
		t.Fatalf("first register: %+v", res.Collector)
	}
	// The same registration again writes nothing: no index move, no event.
	if res := registerC(t, f, 6, c.Copy(), t0.Add(time.Minute)); res.Changed || res.Collector.ModifyIndex != 5 {
		t.Fatalf("identical register wrote: %+v", res)
	}
	if idx, _ := f.State().Index(tableCollectors); idx != 5 {
		t.Fatalf("collectors index %d after a no-op, want 5", idx)
	}
	// New attributes replace the old ones; creation survives.
	c2 := c.Copy()
	c2.Attributes = map[string]string{"env": "dev"}
	res = registerC(t, f, 7, c2, t0.Add(time.Hour))
	if !res.Changed || res.Collector.CreateIndex != 5 || res.Collector.ModifyIndex != 7 || !res.Collector.CreatedAt.Equal(t0) ||
		!res.Collector.UpdatedAt.Equal(t0.Add(time.Hour)) || !reflect.DeepEqual(res.Collector.Attributes, c2.Attributes) {
		t.Fatalf("re-register: %+v", res.Collector)
	}
	registerC(t, f, 8, &structs.Collector{ID: "alloy-0"}, t0)
	all, err := f.State().Collectors(nil, "")
	if err != nil || len(all) != 2 || all[0].ID != "alloy-0" || all[1].ID != "alloy-1" {
		t.Fatalf("list: %v %v", all, err)
	}
	if got, _ := f.State().Collectors(nil, "alloy-1"); len(got) != 1 {
		t.Fatalf("prefix list: %v", got)
	}

	// Unregister removes; unregistering again changes nothing.
	if res := unregisterC(t, f, 9, "alloy-1"); !res.Changed || res.Collector.ID != "alloy-1" {
		t.Fatalf("unregister: %+v", res)
	}
	if got, _ := f.State().CollectorByID(nil, "alloy-1"); got != nil {
		t.Fatalf("still there: %+v", got)
	}
	if res := unregisterC(t, f, 10, "alloy-1"); res.Changed {
		t.Fatalf("second unregister changed something: %+v", res)
	}
	if idx, _ := f.State().Index(tableCollectors); idx != 9 {
		t.Fatalf("collectors index %d, want 9", idx)
	}

	// Events: registered at 5, 7, 8, unregistered at 9; none for the no-ops.
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for len(got) < 4 {
		evs, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("events so far %v: %v", got, err)
		}
		for _, e := range evs.Events {
			got = append(got, e.Type+"/"+e.Key)
		}
	}
	want := []string{"CollectorRegistered/alloy-1", "CollectorRegistered/alloy-1", "CollectorRegistered/alloy-0", "CollectorUnregistered/alloy-1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

func TestFSM_CollectorSnapshotRestore(t *testing.T) {
	f := testFSM(t)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	registerC(t, f, 3, &structs.Collector{ID: "a", Name: "A", Attributes: map[string]string{"env": "prod"}}, t0)
	registerC(t, f, 4, &structs.Collector{ID: "b"}, t0)
	if n := recordTypes(t, persistBytes(t, f))[snapshotCollector]; n != 2 {
		t.Fatalf("%d collector records (type 12), want 2", n)
	}

	f2 := testSnapshotRestore(t, f)
	want, _ := f.State().Collectors(nil, "")
	got, err := f2.State().Collectors(nil, "")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("restored %+v, want %+v (%v)", got, want, err)
	}
	if idx, _ := f2.State().Index(tableCollectors); idx != 4 {
		t.Fatalf("restored collectors index %d, want 4", idx)
	}
	// The restored state keeps applying: identical registration is a no-op.
	if res := registerC(t, f2, 5, &structs.Collector{ID: "a", Name: "A", Attributes: map[string]string{"env": "prod"}}, t0); res.Changed {
		t.Fatal("identical register after restore wrote")
	}
}
