package nomadlike

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/host"
	"github.com/nomadlike/nomadlike/nomadlike/monitor"
	"github.com/nomadlike/nomadlike/nomadlike/profile"
	"github.com/nomadlike/nomadlike/structs"
)

// AgentEndpoint serves the debug part of the agent API for agents that
// target another agent: host data, profiles and (as a streaming RPC) logs.
// Each request is checked against the token on the server that receives
// it, then routed: to the server named by ServerID, or to the client node
// NodeID through the server holding its connection; the agent that
// answers applies its own enable_debug when ACLs are off.
type AgentEndpoint struct {
	srv *Server
}

// routeDebug checks the capability a debug request needs on this server
// and sends the request on to the agent it targets: a node (through the
// server holding its connection) or another server (serverID rewritten
// to its gossip name, so that it answers itself even if the leader
// changes in between). It returns true when the request was handled
// here, err being its answer; false when this server is the target.
func (s *Server) routeDebug(c acl.Capability, twoTargets error, nodeID string, serverID *string, q *structs.QueryOptions,
	method, clientMethod string, args, reply any) (bool, error) {
	if err := s.authorize(q.AuthToken, c); err != nil {
		return true, err
	}
	if nodeID != "" && *serverID != "" {
		return true, twoTargets
	}
	if nodeID != "" {
		return true, s.forwardToNode(nodeID, q, method, clientMethod, args, reply)
	}
	target, err := s.resolveServer(*serverID, q.Forwarded)
	if err != nil {
		return true, err
	}
	if target == nil {
		return false, nil
	}
	*serverID = target.name
	q.SetForwarded(true)
	return true, s.connPool.RPC(target.addr, method, args, reply)
}

// Host returns the host data of the target agent.
func (a *AgentEndpoint) Host(args *structs.HostDataRequest, reply *structs.HostDataResponse) error {
	s := a.srv
	if routed, err := s.routeDebug(acl.AgentRead, structs.ErrHostTwoTargets, args.NodeID, &args.ServerID, &args.QueryOptions,
		"Agent.Host", "ClientAgent.Host", args, reply); routed {
		return err
	}
	if err := s.allowDebug(args.AuthToken, acl.AllowHost); err != nil {
		return err
	}
	reply.AgentID = s.config.memberName()
	reply.HostData = host.Data()
	return nil
}

// Profile takes a runtime profile of the target agent. It needs
// agent:write, checked before any forwarding.
func (a *AgentEndpoint) Profile(args *structs.AgentPprofRequest, reply *structs.AgentPprofResponse) error {
	s := a.srv
	if routed, err := s.routeDebug(acl.AgentWrite, structs.ErrDebugTwoTargets, args.NodeID, &args.ServerID, &args.QueryOptions,
		"Agent.Profile", "ClientAgent.Profile", args, reply); routed {
		return err
	}
	if err := s.allowDebug(args.AuthToken, acl.AllowPprof); err != nil {
		return err
	}
	payload, headers, err := profile.Take(context.Background(), args)
	if err != nil {
		return err
	}
	reply.AgentID, reply.Payload, reply.HTTPHeaders = s.config.memberName(), payload, headers
	return nil
}

// Support builds the target agent's support bundle. It needs agent:write
// (the bundle holds profiles), checked before any forwarding.
func (a *AgentEndpoint) Support(args *structs.SupportBundleRequest, reply *structs.SupportBundleResponse) error {
	s := a.srv
	if routed, err := s.routeDebug(acl.AgentWrite, structs.ErrDebugTwoTargets, args.NodeID, &args.ServerID, &args.QueryOptions,
		"Agent.Support", "ClientAgent.Support", args, reply); routed {
		return err
	}
	if err := s.allowDebug(args.AuthToken, acl.AllowPprof); err != nil {
		return err
	}
	if s.config.SupportBundle == nil {
		return structs.ErrSupportDisabled
	}
	b, err := s.config.SupportBundle(context.Background(), time.Duration(args.Seconds)*time.Second)
	if err != nil {
		return err
	}
	reply.AgentID, reply.Payload = s.config.memberName(), b
	return nil
}

// monitor is the streaming RPC Agent.Monitor: the target agent's logs.
func (a *AgentEndpoint) monitor(conn *StreamConn) {
	s := a.srv
	var args structs.MonitorRequest
	if err := conn.Decode(&args); err != nil {
		return
	}
	if err := s.authorize(args.AuthToken, acl.AgentRead); err != nil {
		conn.SendError(err)
		return
	}
	level, err := monitor.ParseLevel(args.LogLevel)
	if err != nil {
		conn.SendError(structs.NewErrCoded(http.StatusBadRequest, "%s", err.Error()))
		return
	}
	if args.NodeID != "" && args.ServerID != "" {
		conn.SendError(structs.ErrDebugTwoTargets)
		return
	}
	var out *StreamConn
	switch {
	case args.NodeID != "":
		nc, addr, err := s.nodePath(args.NodeID, args.Forwarded)
		if err != nil {
			conn.SendError(err)
			return
		}
		if addr != "" {
			args.SetForwarded(true)
			out, err = s.connPool.StreamingRPC(addr, "Agent.Monitor")
		} else {
			out, err = nc.streamingRPC("ClientAgent.Monitor")
		}
		if err != nil {
			conn.SendError(err)
			return
		}
	default:
		target, err := s.resolveServer(args.ServerID, args.Forwarded)
		if err != nil {
			conn.SendError(err)
			return
		}
		if target == nil {
			ServeMonitor(conn, s.config.Logger, level, args.LogJSON)
			return
		}
		args.ServerID = target.name
		args.SetForwarded(true)
		if out, err = s.connPool.StreamingRPC(target.addr, "Agent.Monitor"); err != nil {
			conn.SendError(err)
			return
		}
	}
	relayStream(conn, out, &args)
}

// allowDebug applies a debug rule (acl.AllowHost, acl.AllowPprof) as the
// server that answers: with ACLs on the token decides; with ACLs off, this
// server's own enable_debug does.
func (s *Server) allowDebug(token string, rule func(*acl.ACL, bool, *bool) bool) error {
	a, _, err := s.ResolveToken(token)
	if err != nil {
		return err
	}
	if !rule(a, s.config.ACLEnabled, &s.config.EnableDebug) {
		return structs.ErrPermissionDenied
	}
	return nil
}

// forwardToNode runs a request for a client node: on the node, through the
// session this server holds, or on the server that holds one.
func (s *Server) forwardToNode(nodeID string, q *structs.QueryOptions, serverMethod, clientMethod string, args, reply any) error {
	nc, addr, err := s.nodePath(nodeID, q.Forwarded)
	if err != nil {
		return err
	}
	if addr != "" {
		q.SetForwarded(true)
		return s.connPool.RPC(addr, serverMethod, args, reply)
	}
	return nc.rpc(clientMethod, args, reply)
}

// serverTarget is another server a request goes to.
type serverTarget struct {
	name string // gossip name, so the target knows the request is its own
	addr string // RPC address
}

// resolveServer reads a server_id: "" or this server's own name or ID is
// this server (nil); "leader" the raft leader; anything else a server of
// the region by gossip name (with or without ".<region>") or server ID.
func (s *Server) resolveServer(id string, forwarded bool) (*serverTarget, error) {
	if id == "" {
		return nil, nil
	}
	if id == "leader" {
		if s.IsLeader() {
			return nil, nil
		}
		if forwarded {
			// Sent here as the leader by a server whose gossip view
			// did not name it: forwarding again could bounce the
			// request between two servers that disagree.
			return nil, structs.ErrNoLeader
		}
		addr := s.Leader()
		if addr == "" {
			return nil, structs.ErrNoLeader
		}
		if addr == s.RPCAddr() {
			return nil, nil
		}
		for _, m := range s.members.list() {
			if m.isServer && m.rpcAddr() == addr {
				return &serverTarget{name: m.Name, addr: addr}, nil
			}
		}
		// Not in our gossip view (yet): "leader" still names it.
		return &serverTarget{name: "leader", addr: addr}, nil
	}
	region := "." + s.config.Region
	for _, m := range s.members.list() {
		if !m.isServer || m.region() != s.config.Region {
			continue
		}
		if m.Name != id && m.id() != id && m.Name != id+region {
			continue
		}
		if m.Name == s.config.memberName() {
			return nil, nil
		}
		if m.Status != statusAlive {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "nomadlike server %s is %s", m.Name, m.Status)
		}
		return &serverTarget{name: m.Name, addr: m.rpcAddr()}, nil
	}
	if id == s.config.NodeID || id == s.config.NodeName || strings.EqualFold(id, s.config.memberName()) {
		return nil, nil
	}
	return nil, structs.NewErrCoded(http.StatusBadRequest, "unknown nomadlike server %s", id)
}
