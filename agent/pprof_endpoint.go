package agent

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/profile"
	"github.com/nomadlike/nomadlike/structs"
)

// pprofPrefix is the route of every profile.
const pprofPrefix = "/v1/agent/pprof/"

// AgentPprofRequest is GET /v1/agent/pprof/{cmdline,profile,trace,<name>}:
// a runtime profile of this agent, of the server named by server_id or of
// the client node node_id. With ACLs on the route requires agent:write
// (checked by wrap, before any forwarding); the agent that answers applies
// its own enable_debug when ACLs are off (acl.AllowPprof).
func (s *HTTPServer) AgentPprofRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	name := strings.TrimPrefix(req.URL.Path, pprofPrefix)
	if name == "" {
		return nil, structs.NewErrCoded(http.StatusNotFound, "Invalid method")
	}
	var args structs.AgentPprofRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	q := req.URL.Query()
	args.ServerID, args.NodeID = q.Get("server_id"), q.Get("node_id")
	if args.ServerID != "" && args.NodeID != "" {
		return nil, structs.ErrDebugTwoTargets
	}
	// As Nomad: integers that do not parse are 0, and a profile of 0
	// seconds is one of 1.
	args.Seconds = max(atoiOrZero(q.Get("seconds")), 1)
	if args.Seconds > profile.MaxSeconds {
		// Refused before any forwarding; the answering agent checks too.
		return nil, structs.NewErrCoded(http.StatusBadRequest, "seconds %d is more than the limit of %d", args.Seconds, profile.MaxSeconds)
	}
	args.Debug = atoiOrZero(q.Get("debug"))
	args.GC = atoiOrZero(q.Get("gc"))
	switch name {
	case "cmdline":
		args.ReqType = structs.PprofCmdline
	case "profile":
		args.ReqType = structs.PprofCPU
	case "trace":
		args.ReqType = structs.PprofTrace
	default:
		args.ReqType, args.Profile = structs.PprofLookup, name
	}

	a := s.agent
	var out structs.AgentPprofResponse
	if a.answersItself(args.ServerID, args.NodeID) {
		if err := a.allowDebug(args.AuthToken, acl.AllowPprof); err != nil {
			return nil, err
		}
		payload, headers, err := profile.Take(req.Context(), &args)
		if err != nil {
			return nil, err
		}
		out.Payload, out.HTTPHeaders = payload, headers
	} else if err := a.RPC("Agent.Profile", &args, &out); err != nil {
		return nil, err
	}
	for k, v := range out.HTTPHeaders {
		resp.Header().Set(k, v)
	}
	resp.WriteHeader(http.StatusOK)
	resp.Write(out.Payload)
	return nil, nil
}

func atoiOrZero(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
