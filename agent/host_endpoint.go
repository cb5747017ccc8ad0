package agent

import (
	"net/http"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/host"
	"github.com/nomadlike/nomadlike/structs"
)

// AgentHostRequest is GET /v1/agent/host: the host data of this agent, or
// of the server named by server_id, or of the client node node_id. The
// answer is always {"AgentID": ..., "HostData": {...}} (see DESIGN.md).
func (s *HTTPServer) AgentHostRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	var args structs.HostDataRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.ServerID, args.NodeID = req.URL.Query().Get("server_id"), req.URL.Query().Get("node_id")
	if args.ServerID != "" && args.NodeID != "" {
		return nil, structs.ErrHostTwoTargets
	}
	a := s.agent
	if a.answersItself(args.ServerID, args.NodeID) {
		if err := a.allowDebug(args.AuthToken, acl.AllowHost); err != nil {
			return nil, err
		}
		return &structs.HostDataResponse{AgentID: a.agentID(args.NodeID), HostData: host.Data()}, nil
	}
	var out structs.HostDataResponse
	if err := a.RPC("Agent.Host", &args, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// answersItself tells whether a debug request with these targets is this
// agent's own: no target, or its own client's node ID. Everything else
// (server_id included, even this server's own name) goes through the
// server's Agent endpoint, which knows the server's names.
func (a *Agent) answersItself(serverID, nodeID string) bool {
	if serverID != "" {
		return false
	}
	return nodeID == "" || (a.client != nil && nodeID == a.client.NodeID())
}

// agentID names this agent in a debug answer: the node ID when its client
// was targeted or it has no server, else the server's gossip name.
func (a *Agent) agentID(nodeID string) string {
	if a.client != nil && (a.server == nil || nodeID != "") {
		return a.client.NodeID()
	}
	return a.server.LocalMember().Name
}

// allowDebug applies a debug rule (acl.AllowHost, acl.AllowPprof) as the
// agent that answers: with ACLs on the token decides; with ACLs off, this
// agent's own enable_debug does.
func (a *Agent) allowDebug(token string, rule func(*acl.ACL, bool, *bool) bool) error {
	var resolved *acl.ACL
	if a.aclEnabled() {
		var err error
		if resolved, _, err = a.resolveToken(token); err != nil {
			return err
		}
	}
	if !rule(resolved, a.aclEnabled(), a.config.EnableDebug) {
		return structs.ErrPermissionDenied
	}
	return nil
}
