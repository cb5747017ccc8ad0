package nomadlike

import (
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/acl"

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
// agents ask it for /v1/agent/members, which needs node:read.
func (s *Status) Members(args *structs.GenericRequest, reply *structs.ServerMembersResponse) error {
	if err := s.srv.authorize(args.AuthToken, acl.NodeRead); err != nil {
		return err
	}
	*reply = *s.srv.Members()
	return nil
}

// Leave tells this server (the leader) that a member is leaving: either a
// server leaving gracefully, which is still alive, or a failed one being
// force-left. The leader marks it and removes it from raft at once.
//
// Anything that reaches the RPC port may call it (every client host
// must reach it), so it needs what the HTTP API would: agent:write for a
// force-leave, which a server relays with the operator's token. A server's
// own leave carries no token: the leader asks that member whether it is
// leaving, so nobody can make a live server leave in its name.
func (s *Status) Leave(args *structs.ServerLeaveRequest, reply *struct{}) error {
	if err := s.srv.authorizeLeave(args); err != nil {
		return err
	}
	s.srv.members.leaveIntent(args.Member)
	if args.Prune {
		s.srv.members.remove(args.Member)
	}
	s.srv.triggerReconcile()
	return nil
}

// Leaving tells whether this server is leaving the cluster; the leader
// asks it to confirm a leave made in its name.
func (s *Status) Leaving(args *structs.GenericRequest, reply *structs.ServerLeavingResponse) error {
	reply.Name = s.srv.config.memberName()
	if m, ok := s.srv.members.get(reply.Name); ok {
		reply.Leaving = m.Status == statusLeaving || m.Status == statusLeft
	}
	return nil
}

// authorizeLeave lets a leave through when its token allows agent:write
// (all tokens do with ACLs off), or when it is a member's own leave that
// the member confirms.
func (s *Server) authorizeLeave(args *structs.ServerLeaveRequest) error {
	if args.AuthToken != "" || !s.config.ACLEnabled || args.Prune {
		return s.authorize(args.AuthToken, acl.AgentWrite)
	}
	m, ok := s.members.get(args.Member)
	if !ok || m.rpcAddr() == "" {
		return structs.ErrPermissionDenied
	}
	var out structs.ServerLeavingResponse
	if err := s.connPool.RPC(m.rpcAddr(), "Status.Leaving", &structs.GenericRequest{}, &out); err != nil {
		s.logger.Warn("could not confirm a leave with the member", "member", args.Member, "error", err)
		return structs.ErrPermissionDenied
	}
	if out.Name != args.Member || !out.Leaving {
		s.logger.Warn("refused a leave the member did not confirm", "member", args.Member)
		return structs.ErrPermissionDenied
	}
	return nil
}
