package agent

import (
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"

	"github.com/nomadlike/nomadlike/structs"
)

// AgentMembersRequest lists the servers' gossip pool. A client-only agent
// asks a server.
func (s *HTTPServer) AgentMembersRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	var q structs.GenericRequest
	if err := s.parseQueryOptions(req, &q.QueryOptions); err != nil {
		return nil, err
	}
	if srv := s.agent.server; srv != nil {
		return srv.Members(), nil
	}
	var out structs.ServerMembersResponse
	if err := s.agent.RPC("Status.Members", &q, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// agentSelf is /v1/agent/self, with Nomad's lowercase keys.
type agentSelf struct {
	Config map[string]any               `json:"config"`
	Member *structs.ServerMember        `json:"member"`
	Stats  map[string]map[string]string `json:"stats"`
}

// AgentSelfRequest describes this agent: its config, its gossip member
// and the stats of each part.
func (s *HTTPServer) AgentSelfRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	a := s.agent
	out := &agentSelf{
		Config: a.selfConfig(),
		Member: &structs.ServerMember{Tags: map[string]string{}},
		Stats: map[string]map[string]string{
			"runtime": {
				"cpu_count":   strconv.Itoa(runtime.NumCPU()),
				"goroutines":  strconv.Itoa(runtime.NumGoroutine()),
				"max_procs":   strconv.Itoa(runtime.GOMAXPROCS(0)),
				"version":     runtime.Version(),
				"arch":        runtime.GOARCH,
				"kernel.name": runtime.GOOS,
			},
		},
	}
	if srv := a.server; srv != nil {
		out.Member = srv.LocalMember()
		leader := srv.Leader()
		out.Stats["nomad"] = map[string]string{
			"server":        "true",
			"leader":        strconv.FormatBool(srv.IsLeader()),
			"leader_addr":   leader,
			"bootstrap":     strconv.FormatBool(*a.config.Server.BootstrapExpect == 1),
			"known_regions": "1",
			// Blocking queries running on this server: a number that
			// only grows means callers that left are not being let go.
			"blocking_queries": strconv.FormatInt(srv.BlockingQueries(), 10),
		}
		out.Stats["raft"] = srv.Raft().Stats()
		out.Stats["serf"] = srv.GossipStats()
		out.Stats["broker"] = srv.EvalBrokerStats()
	}
	if cl := a.client; cl != nil {
		out.Stats["client"] = cl.Stats()
	}
	return out, nil
}

// raftLogStoreSelf is the raft_logstore block as configured ("" is
// automatic) and, on a running server, the backend in use.
func (a *Agent) raftLogStoreSelf() map[string]any {
	out := map[string]any{"Backend": *a.config.Server.RaftLogStore.Backend}
	if a.server != nil {
		out["InUse"] = a.server.RaftLogStore()
	}
	return out
}

// selfConfig is the agent config in Nomad's /v1/agent/self shape.
func (a *Agent) selfConfig() map[string]any {
	c := a.runningConfig()
	return map[string]any{
		"Region":      *c.Region,
		"Datacenter":  *c.Datacenter,
		"NodeName":    *c.NodeName,
		"DataDir":     *c.DataDir,
		"LogLevel":    *c.LogLevel,
		"LogJson":     *c.LogJSON,
		"BindAddr":    *c.BindAddr,
		"EnableDebug": *c.EnableDebug,
		"DevMode":     c.DevMode,
		"LeaveOnInt":  *c.LeaveOnInt,
		"LeaveOnTerm": *c.LeaveOnTerm,
		"Files":       c.Files,
		"Ports":       map[string]int{"HTTP": *c.Ports.HTTP, "RPC": *c.Ports.RPC, "Serf": *c.Ports.Serf},
		"Addresses": map[string]string{
			"HTTP": a.bindAddr(c.Addresses.HTTP), "RPC": a.bindAddr(c.Addresses.RPC), "Serf": a.bindAddr(c.Addresses.Serf),
		},
		"AdvertiseAddrs": map[string]string{"HTTP": a.advertise.http, "RPC": a.advertise.rpc, "Serf": a.advertise.serf},
		"Telemetry":      a.telemetrySelf(),
		"Server": map[string]any{
			"Enabled":                    *c.Server.Enabled,
			"BootstrapExpect":            *c.Server.BootstrapExpect,
			"StartJoin":                  nonNil(c.Server.StartJoin),
			"RetryJoin":                  nonNil(c.Server.RetryJoin),
			"RetryInterval":              *c.Server.RetryInterval,
			"RetryMaxAttempts":           *c.Server.RetryMaxAttempts,
			"HeartbeatGrace":             *c.Server.HeartbeatGrace,
			"MinHeartbeatTTL":            *c.Server.MinHeartbeatTTL,
			"MaxHeartbeatsPerSecond":     *c.Server.MaxHeartbeatsPerSecond,
			"FailoverHeartbeatTTL":       *c.Server.FailoverHeartbeatTTL,
			"DeadServerCleanupThreshold": *c.Server.DeadServerCleanupThreshold,
			"RaftMultiplier":             *c.Server.RaftMultiplier,
			"RaftSnapshotThreshold":      *c.Server.RaftSnapshotThreshold,
			"RaftSnapshotInterval":       *c.Server.RaftSnapshotInterval,
			"RaftTrailingLogs":           *c.Server.RaftTrailingLogs,
			"EncryptKey":                 redact(*c.Server.Encrypt),
			"DangerousAllowReadingFiles": *c.Server.DangerousAllowReadingFiles,
			"MaxContentsBytes":           *c.Server.MaxContentsBytes,
			"RevisionRetention":          *c.Server.RevisionRetention,
			"RaftLogStore":               a.raftLogStoreSelf(),
			"NumSchedulers":              *c.Server.NumSchedulers,
			"EnabledSchedulers":          c.Server.EnabledSchedulers,
			"NodeGCThreshold":            *c.Server.NodeGCThreshold,
			"HostMetrics":                c.Server.HostMetrics.self(),
		},
		"Client": map[string]any{
			"Enabled":      *c.Client.Enabled,
			"Servers":      nonNil(c.Client.Servers),
			"Meta":         c.Client.Meta,
			"Token":        redact(*c.Client.Token),
			"PipelineFile": *c.Client.PipelineFile,
			"ReloadURL":    *c.Client.ReloadURL,
			"HostMetrics": map[string]any{"Enabled": *c.Client.HostMetrics.Enabled,
				"Interval": *c.Client.HostMetrics.Interval, "Checks": len(c.Client.HostMetrics.Checks)},
		},
		"ACL":       map[string]any{"Enabled": *c.ACL.Enabled},
		"TLSConfig": c.tlsSelf(),
		"Version": map[string]string{
			"Version":           structs.Version,
			"VersionPrerelease": structs.VersionPrerelease,
			"Revision":          structs.GitCommit,
		},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AgentServersRequest lists (GET) or replaces (PUT/POST) the servers a
// client uses. On a server-only agent GET lists the raft voters.
func (s *HTTPServer) AgentServersRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	switch req.Method {
	case http.MethodGet:
		if cl := s.agent.client; cl != nil {
			out := cl.Servers()
			slices.Sort(out)
			return out, nil
		}
		var peers []string
		if err := s.agent.server.RPC("Status.Peers", &structs.GenericRequest{}, &peers); err != nil {
			return nil, err
		}
		slices.Sort(peers)
		return peers, nil
	case http.MethodPut, http.MethodPost:
		addrs := req.URL.Query()["address"]
		if len(addrs) == 0 {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "missing server address")
		}
		if s.agent.client == nil {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "this agent has no client: its servers are its gossip pool")
		}
		for _, a := range addrs {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, structs.NewErrCoded(http.StatusBadRequest, "invalid server address %q: must be host:port", a)
			}
		}
		if err := s.agent.client.SetServers(addrs); err != nil {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "%s", err.Error())
		}
		return nil, nil
	}
	return nil, errMethodNotAllowed
}

// joinResult is /v1/agent/join's answer; join failures go in the body.
type joinResult struct {
	NumJoined int    `json:"num_joined"`
	Error     string `json:"error"`
}

// AgentJoinRequest joins this server to others' gossip pool.
func (s *HTTPServer) AgentJoinRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		return nil, errMethodNotAllowed
	}
	if s.agent.server == nil {
		return nil, errNotImplemented
	}
	addrs := req.URL.Query()["address"]
	if len(addrs) == 0 {
		return nil, structs.NewErrCoded(http.StatusBadRequest, "missing address to join")
	}
	n, err := s.agent.server.Join(s.agent.serfAddrs(addrs))
	out := &joinResult{NumJoined: n}
	if err != nil {
		out.Error = err.Error()
	}
	return out, nil
}

// AgentForceLeaveRequest moves a failed server to left so it is removed
// from raft.
func (s *HTTPServer) AgentForceLeaveRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPut && req.Method != http.MethodPost {
		return nil, errMethodNotAllowed
	}
	if s.agent.server == nil {
		return nil, errNotImplemented
	}
	node := req.URL.Query().Get("node")
	if node == "" {
		return nil, structs.NewErrCoded(http.StatusBadRequest, "missing node to force leave")
	}
	prune := false
	if v := req.URL.Query().Get("prune"); v != "" {
		var err error
		if prune, err = strconv.ParseBool(v); err != nil {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "invalid prune value")
		}
	}
	return nil, s.agent.server.ForceLeave(node, prune, tokenFromRequest(req))
}

// healthPart is one part of /v1/agent/health.
type healthPart struct {
	Ok      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
}

type healthResponse struct {
	Client *healthPart `json:"client,omitempty"`
	Server *healthPart `json:"server,omitempty"`
}

// AgentHealthRequest reports whether the server knows a leader and the
// client is registered; 500 (with the same body) when not.
func (s *HTTPServer) AgentHealthRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	types := req.URL.Query()["type"]
	want := func(t string, enabled bool) bool {
		if len(types) == 0 {
			return enabled
		}
		return slices.Contains(types, t)
	}
	out := &healthResponse{}
	ok := true
	if want("server", s.agent.server != nil) {
		out.Server = &healthPart{Ok: true, Message: "ok"}
		switch {
		case s.agent.server == nil:
			out.Server = &healthPart{Message: "server not enabled"}
		case s.agent.server.Leader() == "":
			out.Server = &healthPart{Message: "No cluster leader"}
		}
		ok = ok && out.Server.Ok
	}
	if want("client", s.agent.client != nil) {
		out.Client = &healthPart{Ok: true, Message: "ok"}
		switch cl := s.agent.client; {
		case cl == nil:
			out.Client = &healthPart{Message: "client not enabled"}
		case len(cl.Servers()) == 0:
			out.Client = &healthPart{Message: "no known servers"}
		case !cl.Registered():
			out.Client = &healthPart{Message: "node not registered with the servers yet"}
		}
		ok = ok && out.Client.Ok
	}
	if !ok {
		return nil, &bodyError{code: http.StatusInternalServerError, body: out}
	}
	return out, nil
}

// redact hides a secret in /v1/agent/self, as Nomad shows "<redacted>".
func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return "<redacted>"
}
