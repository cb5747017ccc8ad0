package nomadlike

import (
	"cmp"
	"slices"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// Status says which nodes run a config and what they last reported of its
// instance: the fleet's view of one config. A blocking query on the
// assignments (which hold the reports) and the config.
func (c *ConfigEndpoint) Status(args *structs.ConfigSpecificRequest, reply *structs.ConfigStatusResponse) error {
	if done, err := c.srv.forward("Config.Status", args, args, reply); done {
		return err
	}
	if err := c.srv.authorize(args.AuthToken, acl.ConfigRead); err != nil {
		return err
	}
	return c.srv.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		cfg, err := state.ConfigByName(ws, args.Name)
		if err != nil {
			return err
		}
		if !ofKind(cfg, args.Kind) {
			return errConfigMissing(args.Name)
		}
		all, err := state.Assignments(ws)
		if err != nil {
			return err
		}
		reply.Name, reply.Nodes = cfg.Name, []*structs.ConfigNodeStatus{}
		for _, a := range all {
			if !slices.Contains(a.Configs, cfg.Name) {
				continue
			}
			st := &structs.ConfigNodeStatus{NodeID: a.NodeID}
			if node, err := state.NodeByID(ws, a.NodeID); err != nil {
				return err
			} else if node != nil {
				st.NodeName, st.NodeStatus = node.Name, node.Status
			}
			for _, in := range a.Instances {
				if in.Name == cfg.Name && in.Source == "assigned" {
					cp := *in
					st.Instance = &cp
				}
			}
			reply.Nodes = append(reply.Nodes, st)
		}
		slices.SortFunc(reply.Nodes, func(x, y *structs.ConfigNodeStatus) int {
			return cmp.Or(cmp.Compare(x.NodeName, y.NodeName), cmp.Compare(x.NodeID, y.NodeID))
		})
		idx, err := state.Index("assignments")
		if err != nil {
			return err
		}
		reply.Index = max(idx, cfg.ModifyIndex)
		return nil
	})
}
