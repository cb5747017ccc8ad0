package nomadlike

import (
	"net/http"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/structs"
)

// Operator exposes raft administration.
type Operator struct {
	srv *Server
}

// RaftGetConfiguration returns the raft configuration with each server's
// gossip name and which one leads.
func (op *Operator) RaftGetConfiguration(args *structs.GenericRequest, reply *structs.RaftConfigurationResponse) error {
	if done, err := op.srv.forward("Operator.RaftGetConfiguration", args, args, reply); done {
		return err
	}
	if err := op.srv.authorize(args.AuthToken, acl.OperatorRead); err != nil {
		return err
	}
	f := op.srv.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	names := map[string]string{}
	for _, m := range op.srv.members.list() {
		if m.isServer {
			names[m.id()] = m.Name
		}
	}
	_, leaderID := op.srv.raft.LeaderWithID()
	// raft (v1.7) does not report the configuration's own index; the
	// applied index says as of when the configuration was read.
	reply.Index = op.srv.raft.AppliedIndex()
	reply.Servers = []*structs.RaftServer{}
	for _, srv := range f.Configuration().Servers {
		name := names[string(srv.ID)]
		if name == "" {
			name = "(unknown)"
		}
		reply.Servers = append(reply.Servers, &structs.RaftServer{
			ID:           string(srv.ID),
			Node:         name,
			Address:      string(srv.Address),
			Leader:       srv.ID == leaderID,
			Voter:        srv.Suffrage == raft.Voter,
			RaftProtocol: "3",
		})
	}
	return nil
}

// RaftRemovePeerByID removes a server from the raft configuration.
func (op *Operator) RaftRemovePeerByID(args *structs.RaftPeerByIDRequest, reply *struct{}) error {
	if done, err := op.srv.forward("Operator.RaftRemovePeerByID", args, args, reply); done {
		return err
	}
	if err := op.srv.authorize(args.AuthToken, acl.OperatorWrite); err != nil {
		return err
	}
	if args.ID == "" {
		return structs.NewErrCoded(http.StatusBadRequest, "missing peer id")
	}
	f := op.srv.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	found := false
	for _, srv := range f.Configuration().Servers {
		if srv.ID == raft.ServerID(args.ID) {
			found = true
		}
	}
	if !found {
		return structs.NewErrCoded(http.StatusBadRequest, "id %q was not found in the Raft configuration", args.ID)
	}
	op.srv.logger.Warn("removing raft peer by operator request", "id", args.ID)
	return op.srv.raft.RemoveServer(raft.ServerID(args.ID), 0, 0).Error()
}
