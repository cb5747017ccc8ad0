package agent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/structs"
)

// family is an API family; each keeps the wire format of the product it
// comes from, errors included.
type family int

const (
	// familyNomad is Nomad's agent API: JSON bodies, plain-text errors.
	familyNomad family = iota
)

// familyNames are the names rate_limit blocks use.
var familyNames = map[string]family{"nomad": familyNomad}

// handlerFn is every handler's shape: it returns the object to encode (nil
// for an empty 200) or an error for the family's error encoder.
type handlerFn func(resp http.ResponseWriter, req *http.Request) (any, error)

// route is one registered path. The table of routes is the single place
// that says which family a path belongs to and what each method needs of
// the caller's token.
type route struct {
	pattern string
	family  family
	handler handlerFn
	needs   needs
}

// HTTPServer serves the agent's HTTP API.
type HTTPServer struct {
	agent    *Agent
	logger   hclog.Logger
	mux      *http.ServeMux
	routes   []route
	listener net.Listener
	srv      *http.Server
	// limiters rate-limit the families that are configured for it.
	limiters map[family]*rateLimiter
}

// NewHTTPServer binds the HTTP port and starts serving.
func NewHTTPServer(a *Agent) (*HTTPServer, error) {
	addr := net.JoinHostPort(a.bindAddr(a.config.Addresses.HTTP), strconv.Itoa(*a.config.Ports.HTTP))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listener on %s: %w", addr, err)
	}
	s := &HTTPServer{
		agent:    a,
		logger:   a.logger.Named("http"),
		mux:      http.NewServeMux(),
		listener: ln,
	}
	s.limiters = map[family]*rateLimiter{}
	for _, rl := range a.config.RateLimits {
		if f, ok := familyNames[rl.Family]; ok {
			burst := int(*rl.RequestsPerSecond)
			if rl.Burst != nil {
				burst = *rl.Burst
			}
			s.limiters[f] = newRateLimiter(*rl.RequestsPerSecond, max(burst, 1))
		}
	}
	s.registerHandlers()
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	s.logger.Info("http api listening", "addr", ln.Addr().String())
	return s, nil
}

// Addr is the bound address.
func (s *HTTPServer) Addr() string { return s.listener.Addr().String() }

// Shutdown stops serving.
func (s *HTTPServer) Shutdown() {
	s.srv.Close()
}

// registerHandlers is the route table: path, family, handler, and what
// each method needs (the ACL column of the Nomad agent API docs).
func (s *HTTPServer) registerHandlers() {
	agentServers := needs{"GET": capability(acl.AgentRead), "PUT": capability(acl.AgentWrite), "POST": capability(acl.AgentWrite)}
	write := func(n need) needs { return needs{"PUT": n, "POST": n} }

	s.handle("/v1/agent/members", familyNomad, s.AgentMembersRequest, get(capability(acl.NodeRead)))
	s.handle("/v1/agent/self", familyNomad, s.AgentSelfRequest, get(capability(acl.AgentRead)))
	s.handle("/v1/agent/servers", familyNomad, s.AgentServersRequest, agentServers)
	s.handle("/v1/agent/join", familyNomad, s.AgentJoinRequest, write(none))
	s.handle("/v1/agent/force-leave", familyNomad, s.AgentForceLeaveRequest, write(capability(acl.AgentWrite)))
	s.handle("/v1/agent/health", familyNomad, s.AgentHealthRequest, get(none))
	s.handle("/v1/status/leader", familyNomad, s.StatusLeaderRequest, get(capability(acl.OperatorRead)))
	s.handle("/v1/status/peers", familyNomad, s.StatusPeersRequest, get(capability(acl.OperatorRead)))
	s.handle("/v1/operator/raft/configuration", familyNomad, s.OperatorRaftConfiguration, get(capability(acl.OperatorRead)))
	s.handle("/v1/operator/raft/peer", familyNomad, s.OperatorRaftPeer, needs{"DELETE": capability(acl.OperatorWrite)})
	s.handle("/v1/nodes", familyNomad, s.NodesRequest, get(capability(acl.NodeRead)))
	s.handle("/v1/node/{id}", familyNomad, s.NodeSpecificRequest, get(capability(acl.NodeRead)))

	s.handle("/v1/acl/bootstrap", familyNomad, s.ACLBootstrapRequest, write(none))
	s.handle("/v1/acl/policies", familyNomad, s.ACLPoliciesRequest, get(management))
	s.handle("/v1/acl/policy/{name}", familyNomad, s.ACLPolicySpecificRequest,
		needs{"GET": management, "PUT": management, "POST": management, "DELETE": management})
	s.handle("/v1/acl/tokens", familyNomad, s.ACLTokensRequest, get(management))
	s.handle("/v1/acl/token", familyNomad, s.ACLTokenCreateRequest, write(management))
	s.handle("/v1/acl/token/self", familyNomad, s.ACLTokenSelfRequest, get(anyToken))
	s.handle("/v1/acl/token/{accessor}", familyNomad, s.ACLTokenSpecificRequest,
		needs{"GET": management, "PUT": management, "POST": management, "DELETE": management})

	s.mux.Handle("/", s.wrap(route{pattern: "/", family: familyNomad, handler: notFound}))
}

func (s *HTTPServer) handle(pattern string, f family, h handlerFn, n needs) {
	r := route{pattern: pattern, family: f, handler: h, needs: n}
	s.routes = append(s.routes, r)
	s.mux.Handle(pattern, s.wrap(r))
}

func notFound(resp http.ResponseWriter, req *http.Request) (any, error) {
	return nil, structs.NewErrCoded(http.StatusNotFound, "Invalid URL path: %s", req.URL.Path)
}

// wrap is the one HTTP layer: request ID, authorization hook, the call,
// error mapping to the family's format, JSON encoding and the request log.
func (s *HTTPServer) wrap(r route) http.Handler {
	return http.HandlerFunc(func(resp http.ResponseWriter, req *http.Request) {
		start := time.Now()
		reqID := requestID(req)
		resp.Header().Set("X-Request-Id", reqID)

		var obj any
		err := s.limit(resp, req, r.family)
		if err == nil {
			err = s.authorize(req, r)
		}
		if err == nil {
			obj, err = r.handler(resp, req)
		}
		code, msg := http.StatusOK, ""
		var be *bodyError
		switch {
		case errors.As(err, &be):
			code = be.code
			writeJSON(resp, req, code, be.body)
		case err != nil:
			code, msg = structs.ErrorStatus(err)
			writeError(resp, r.family, code, msg)
		case obj != nil:
			if err := writeJSON(resp, req, code, obj); err != nil {
				code = http.StatusInternalServerError
			}
		}
		// An unhealthy health check answers 500 by design: not an error
		// of the agent's own.
		log := s.logger.Debug
		if code >= 500 && be == nil {
			log = s.logger.Error
		}
		args := []any{"method", req.Method, "path", req.URL.Path, "status", code,
			"duration", time.Since(start), "request_id", reqID}
		if msg != "" {
			args = append(args, "error", msg)
		}
		log("request complete", args...)
	})
}

// requestID keeps a caller's sane X-Request-Id and otherwise makes one.
func requestID(req *http.Request) string {
	if id := req.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 {
		ok := true
		for _, c := range id {
			if c < 0x21 || c > 0x7e {
				ok = false
				break
			}
		}
		if ok {
			return id
		}
	}
	return uuid.NewString()
}

// tokenFromRequest reads the ACL secret: X-Nomad-Token, then
// "Authorization: Bearer", then the password of HTTP basic auth.
func tokenFromRequest(req *http.Request) string {
	if t := strings.TrimSpace(req.Header.Get("X-Nomad-Token")); t != "" {
		return t
	}
	auth := req.Header.Get("Authorization")
	scheme, value, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.Fields(value + " ")[0]
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err == nil {
			if _, pass, ok := strings.Cut(string(raw), ":"); ok {
				return pass
			}
		}
	}
	return ""
}

// writeError writes an error in the family's format.
func writeError(resp http.ResponseWriter, f family, code int, msg string) {
	switch f {
	default: // familyNomad: status code and the bare message.
		resp.Header().Set("Content-Type", "text/plain; charset=utf-8")
		resp.WriteHeader(code)
		resp.Write([]byte(msg))
	}
}

// bodyError is an error answered with a JSON body instead of the family's
// error format, as /v1/agent/health answers 500 with its usual body.
type bodyError struct {
	code int
	body any
}

func (e *bodyError) Error() string { return http.StatusText(e.code) }

// writeJSON encodes obj with status code, indented when ?pretty is set
// (and not 0).
func writeJSON(resp http.ResponseWriter, req *http.Request, code int, obj any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if v, ok := req.URL.Query()["pretty"]; ok && (len(v) == 0 || v[0] != "0") {
		enc.SetIndent("", "    ")
	}
	if err := enc.Encode(obj); err != nil {
		resp.Header().Set("Content-Type", "text/plain; charset=utf-8")
		resp.WriteHeader(http.StatusInternalServerError)
		resp.Write([]byte("failed to encode response: " + err.Error()))
		return err
	}
	resp.Header().Set("Content-Type", "application/json")
	resp.WriteHeader(code)
	_, err := resp.Write(buf.Bytes())
	return err
}

// parseQueryOptions reads the common read parameters (stale, index, wait,
// prefix, region) and the token into q.
func (s *HTTPServer) parseQueryOptions(req *http.Request, q *structs.QueryOptions) error {
	query := req.URL.Query()
	if v, ok := query["stale"]; ok {
		switch strings.ToLower(v[0]) {
		case "", "true":
			q.AllowStale = true
		case "false":
		default:
			return structs.NewErrCoded(http.StatusBadRequest, "Expect `true` or `false` for `stale` query string parameter")
		}
	}
	if v := query.Get("index"); v != "" {
		idx, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return structs.NewErrCoded(http.StatusBadRequest, "Invalid index")
		}
		q.MinQueryIndex = idx
	}
	if v := query.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return structs.NewErrCoded(http.StatusBadRequest, "Invalid wait time")
		}
		q.MaxQueryTime = d
	}
	q.Prefix = query.Get("prefix")
	q.Region = query.Get("region")
	if q.Region == "" {
		q.Region = *s.agent.config.Region
	}
	q.AuthToken = tokenFromRequest(req)
	return nil
}

// parseWriteRequest fills the common write fields.
func (s *HTTPServer) parseWriteRequest(req *http.Request, w *structs.WriteRequest) {
	w.Region = req.URL.Query().Get("region")
	if w.Region == "" {
		w.Region = *s.agent.config.Region
	}
	w.AuthToken = tokenFromRequest(req)
}

// setIndex writes a write's raft index.
func setIndex(resp http.ResponseWriter, index uint64) {
	resp.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
}

// setMeta writes the blocking-query headers.
func setMeta(resp http.ResponseWriter, m *structs.QueryMeta) {
	resp.Header().Set("X-Nomad-Index", strconv.FormatUint(m.Index, 10))
	resp.Header().Set("X-Nomad-KnownLeader", strconv.FormatBool(m.KnownLeader))
	resp.Header().Set("X-Nomad-LastContact", strconv.FormatInt(m.LastContact.Milliseconds(), 10))
}

// methodNotAllowed is what every handler returns for a method it does not
// serve.
var errMethodNotAllowed = structs.NewErrCoded(http.StatusMethodNotAllowed, "Invalid method")

// errServerOnly / errClientOnly answer endpoints that need a role the agent
// lacks, as Nomad does.
var errNotImplemented = structs.NewErrCoded(http.StatusNotImplemented, "Invalid method")
