package nomadlike

import (
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/structs"
)

// Status answers questions about the cluster itself.
type Status struct {
	srv *Server
}

// Ping checks that the server answers.
func (s *Status) Ping(args *structs.GenericRequest, reply *struct{}) error {
	return nil
}

// Leader returns the leader's RPC address, "" when there is none. It needs
// no token, as in Nomad: health checks and load balancers ask it.
func (s *Status) Leader(args *structs.GenericRequest, reply *string) error {
	*reply = s.srv.Leader()
	return nil
}

// LatestIndex returns the highest raft index the leader has applied to its
// state store; a follower that waits until it has applied as much has seen
// every write acknowledged before the question.
func (s *Status) LatestIndex(args *structs.GenericRequest, reply *uint64) error {
	if done, err := s.srv.forward("Status.LatestIndex", args, args, reply); done {
		return err
	}
	idx, err := s.srv.fsm.State().LatestIndex()
	*reply = idx
	return err
}

// Peers returns the RPC addresses of the raft voters. It needs no token,
// as in Nomad.
func (s *Status) Peers(args *structs.GenericRequest, reply *[]string) error {
	f := s.srv.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	out := []string{}
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			out = append(out, string(srv.Address))
		}
	}
	*reply = out
	return nil
}

// Members returns the gossip pool as this server sees it; client-only
// agents ask it for /v1/agent/members.
func (s *Status) Members(args *structs.GenericRequest, reply *structs.ServerMembersResponse) error {
	*reply = *s.srv.Members()
	return nil
}

// Leave tells this server (the leader) that a member is leaving: either a
// server leaving gracefully, which is still alive, or a failed one being
// force-left. The leader marks it and removes it from raft at once.
func (s *Status) Leave(args *structs.ServerLeaveRequest, reply *struct{}) error {
	s.srv.members.leaveIntent(args.Member)
	if args.Prune {
		s.srv.members.remove(args.Member)
	}
	s.srv.triggerReconcile()
	return nil
}
