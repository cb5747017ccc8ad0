package nomadlike

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// CollectorIDAttribute is the virtual attribute every collector has: its
// ID. Fleet Management adds it at match time and nobody can set it, so a
// pipeline can target one collector with collector.ID="...".
const CollectorIDAttribute = "collector.ID"

// CollectorEndpoint serves collectors that are not nomadlike agents (Grafana
// Alloy's remotecfg): registration, their assembled configuration, and the
// operators' reads.
type CollectorEndpoint struct {
	srv *Server
}

// Register records a collector or replaces its name and attributes. It
// writes through raft only when something changed: the leader compares
// with its own state first, so a collector that re-registers what it
// registered before costs no log entry.
func (c *CollectorEndpoint) Register(args *structs.CollectorRegisterRequest, reply *structs.CollectorRegisterResponse) error {
	if done, err := c.srv.forward("Collector.Register", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.NodeWrite); err != nil {
		return err
	}
	if err := args.Collector.Validate(); err != nil {
		return err
	}
	if args.Collector.Attributes == nil {
		args.Collector.Attributes = map[string]string{}
	}
	existing, err := c.srv.fsm.State().CollectorByID(nil, args.Collector.ID)
	if err != nil {
		return err
	}
	if existing.SameRegistration(args.Collector) {
		reply.Collector, reply.Index = existing.Copy(), existing.ModifyIndex
		return nil
	}
	args.Now = time.Now().UTC().Truncate(time.Millisecond)
	resp, index, err := c.srv.raftApply(structs.CollectorRegisterRequestType, args)
	if err != nil {
		return err
	}
	reply.Collector, reply.Index = resp.(*fsm.CollectorApplyResult).Collector.Copy(), index
	return nil
}

// Unregister removes a collector. An unknown ID is no error and writes
// nothing: Alloy unregisters at every shutdown, registered or not.
func (c *CollectorEndpoint) Unregister(args *structs.CollectorUnregisterRequest, reply *structs.GenericResponse) error {
	if done, err := c.srv.forward("Collector.Unregister", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.NodeWrite); err != nil {
		return err
	}
	if err := structs.ValidateCollectorID(args.ID); err != nil {
		return err
	}
	existing, err := c.srv.fsm.State().CollectorByID(nil, args.ID)
	if err != nil {
		return err
	}
	if existing == nil {
		reply.Index, err = c.srv.fsm.State().Index("collectors")
		return err
	}
	_, index, err := c.srv.raftApply(structs.CollectorUnregisterRequestType, args)
	if err != nil {
		return err
	}
	reply.Index = index
	return nil
}

// GetConfig assembles the collector's configuration: every enabled Alloy
// pipeline whose matchers all match its attributes, merged by
// structs.MergePipelines. The attributes are the request's, or the
// registered collector's when the request has none. NotModified (and no
// content) when the caller already holds the hash.
func (c *CollectorEndpoint) GetConfig(args *structs.CollectorGetConfigRequest, reply *structs.CollectorGetConfigResponse) error {
	if done, err := c.srv.forward("Collector.GetConfig", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.PipelineRead); err != nil {
		return err
	}
	if err := structs.ValidateCollectorID(args.ID); err != nil {
		return err
	}
	if err := structs.ValidateCollectorAttributes(args.Attributes); err != nil {
		return err
	}
	return c.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		registered, err := state.CollectorByID(ws, args.ID)
		if err != nil {
			return err
		}
		reply.Registered = registered != nil
		attrs := args.Attributes
		if len(attrs) == 0 && registered != nil {
			attrs = registered.Attributes
		}
		attrs = maps.Clone(attrs)
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs[CollectorIDAttribute] = args.ID
		reply.Attributes = attrs

		ps, err := c.srv.assignablePipelines(ws, state)
		if err != nil {
			return err
		}
		selected := matchingPipelines(ps, attrs)
		reply.Pipelines = make([]string, 0, len(selected))
		content, hash := structs.MergePipelines(selected)
		for _, p := range sortedByName(selected) {
			reply.Pipelines = append(reply.Pipelines, p.Name)
		}
		reply.Hash = hash
		reply.NotModified = args.Hash != "" && args.Hash == hash
		reply.Content = ""
		if !reply.NotModified {
			reply.Content = content
		}
		pi, err := state.Index("pipelines")
		if err != nil {
			return err
		}
		ci, err := state.Index("collectors")
		reply.Index = max(pi, ci)
		return err
	})
}

// sortedByName is ps in MergePipelines' order.
func sortedByName(ps []*structs.Pipeline) []*structs.Pipeline {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b *structs.Pipeline) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return out
}

// Get returns one collector (nil when not registered).
func (c *CollectorEndpoint) Get(args *structs.CollectorSpecificRequest, reply *structs.SingleCollectorResponse) error {
	if done, err := c.srv.forward("Collector.Get", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.NodeRead); err != nil {
		return err
	}
	if err := structs.ValidateCollectorID(args.ID); err != nil {
		return err
	}
	return c.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		var err error
		if reply.Collector, err = state.CollectorByID(ws, args.ID); err != nil {
			return err
		}
		reply.Index, err = state.Index("collectors")
		return err
	})
}

// List returns the registered collectors in ID order (Prefix filters).
func (c *CollectorEndpoint) List(args *structs.CollectorListRequest, reply *structs.CollectorListResponse) error {
	if done, err := c.srv.forward("Collector.List", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.NodeRead); err != nil {
		return err
	}
	return c.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		var err error
		if reply.Collectors, err = state.Collectors(ws, args.Prefix); err != nil {
			return err
		}
		reply.Index, err = state.Index("collectors")
		return err
	})
}
