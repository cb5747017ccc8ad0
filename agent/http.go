package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/agent/promapi"
	"github.com/nomadlike/nomadlike/agent/proto/pipeline/v1/pipelinev1connect"
	"github.com/nomadlike/nomadlike/nomadlike/connlimit"
	"github.com/nomadlike/nomadlike/structs"
)

// family is an API family; each keeps the wire format of the product it
// comes from, errors included.
type family int

const (
	// familyNomad is Nomad's agent API: JSON bodies, plain-text errors.
	familyNomad family = iota
	// familyConfig is Grafana Agent's config management API: every
	// answer, errors included, is the {"status":...,"data":...} envelope.
	familyConfig
	// familyPipeline is Fleet Management's Connect API: errors are
	// Connect's {"code":...,"message":...} with its status mapping.
	familyPipeline
	// familyIngest is spec 004's metrics ingest: errors are
	// {"code","message","field","hint","requestId"}.
	familyIngest
	// familyPrometheus is Prometheus' query API: errors are
	// {"status":"error","errorType","error"}.
	familyPrometheus
	// familyAssistant is spec 002's assistant API: errors are
	// {"status":"error","message":...}; every answer is rate-limited.
	familyAssistant
)

// familyNames are the names rate_limit blocks use.
var familyNames = map[string]family{"nomad": familyNomad, "config": familyConfig, "pipeline": familyPipeline,
	"ingest": familyIngest, "prometheus": familyPrometheus, "assistant": familyAssistant}

// maxRequestBytes bounds a request body read by the agent (Connect
// messages, instance configs).
const maxRequestBytes = 16 << 20

// compressMinBytes is the smallest Connect response that is gzipped for a
// client that accepts it. A single pipeline is a KiB or two: compressing
// it costs more CPU than the bytes it saves, and on a busy server that
// CPU is write throughput. Lists of many pipelines are still compressed.
const compressMinBytes = 16 << 10

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
	// streaming routes answer until the client goes away (the event
	// stream); tests that walk the routes bound them with a deadline.
	streaming bool
	// raw routes write their own answers in another format (a
	// remote_write receiver, plain-text health checks): no envelope.
	raw bool
}

// HTTPServer serves the agent's HTTP API.
type HTTPServer struct {
	agent    *Agent
	logger   hclog.Logger
	mux      *http.ServeMux
	routes   []route
	listener net.Listener
	srv      *http.Server
	// limiters rate-limit the families that are configured for it; a
	// reload replaces the map.
	limiters atomic.Pointer[map[family]*rateLimiter]
	// pipelineHandler is connect-go's handler of pipeline.v1.PipelineService;
	// each of its procedures is a route of its own that runs it.
	pipelineHandler http.Handler
	// connLimit, handshakeTimeout and bodyTimeout (ns) are the limits {}
	// in effect; a reload changes them (setLimits).
	connLimit        *connlimit.Limiter
	handshakeTimeout atomic.Int64
	bodyTimeout      atomic.Int64
}

// NewHTTPServer binds the HTTP port and starts serving.
func NewHTTPServer(a *Agent) (*HTTPServer, error) {
	addr := net.JoinHostPort(a.bindAddr(a.config.Addresses.HTTP), strconv.Itoa(*a.config.Ports.HTTP))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listener on %s: %w", addr, err)
	}
	ln = a.tlsListener(ln)
	s := &HTTPServer{
		agent:    a,
		logger:   a.logger.Named("http"),
		mux:      http.NewServeMux(),
		listener: ln,
	}
	s.setRateLimits(a.config.RateLimits)
	s.registerHandlers()
	s.srv = &http.Server{Handler: s.mux}
	s.configureHTTPServer(s.srv)
	go s.srv.Serve(s.limitHTTPListener(ln))
	s.logger.Info("http api listening", "addr", ln.Addr().String())
	return s, nil
}

// setRateLimits makes the limiters of rate_limit blocks rls: buckets
// start full.
func (s *HTTPServer) setRateLimits(rls []*RateLimitConfig) {
	limiters := map[family]*rateLimiter{}
	for _, rl := range rls {
		if f, ok := familyNames[rl.Family]; ok {
			burst := int(*rl.RequestsPerSecond)
			if rl.Burst != nil {
				burst = *rl.Burst
			}
			limiters[f] = newRateLimiter(*rl.RequestsPerSecond, max(burst, 1))
		}
	}
	if limiters[familyAssistant] == nil {
		// Spec 002 promises the headers on every answer.
		limiters[familyAssistant] = newRateLimiter(defaultAssistantRPS, defaultAssistantBurst)
	}
	s.limiters.Store(&limiters)
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
	s.handle("/v1/agent/join", familyNomad, s.AgentJoinRequest, write(capability(acl.AgentWrite)))
	s.handle("/v1/agent/force-leave", familyNomad, s.AgentForceLeaveRequest, write(capability(acl.AgentWrite)))
	s.handle("/v1/agent/health", familyNomad, s.AgentHealthRequest, get(none))
	s.handle("/v1/agent/schedulers", familyNomad, s.AgentSchedulerWorkersInfoRequest, get(capability(acl.AgentRead)))
	s.handle("/v1/agent/schedulers/config", familyNomad, s.AgentSchedulerWorkerConfigRequest,
		needs{"GET": capability(acl.AgentRead), "PUT": capability(acl.AgentWrite), "POST": capability(acl.AgentWrite)})
	// Debug endpoints: with ACLs off, host and pprof also need enable_debug
	// on the agent that answers (host_endpoint.go, pprof_endpoint.go).
	s.handle("/v1/agent/host", familyNomad, s.AgentHostRequest, get(capability(acl.AgentRead)))
	s.handle(pprofPrefix, familyNomad, s.AgentPprofRequest, get(capability(acl.AgentWrite)))
	// Grafana Agent answers /-/config to any method.
	anyMethod := needs{}
	for _, m := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
		anyMethod[m] = capability(acl.AgentRead)
	}
	s.handleRoute(route{pattern: "/-/config", family: familyNomad, handler: s.ConfigReadRequest, needs: anyMethod, raw: true})
	s.handleRoute(route{pattern: "/-/support", family: familyNomad, handler: s.SupportRequest,
		needs: get(capability(acl.AgentWrite)), raw: true})
	s.handleRoute(route{pattern: "/-/reload", family: familyNomad, handler: s.ReloadRequest,
		needs: needs{"GET": capability(acl.AgentWrite), "POST": capability(acl.AgentWrite)}, raw: true})
	s.handleRoute(route{pattern: "/v1/agent/monitor", family: familyNomad, handler: s.AgentMonitorRequest,
		needs: get(capability(acl.AgentRead)), streaming: true})
	// Status.Leader and Status.Peers need no token in Nomad: load
	// balancers, scripts and health checks ask them anonymously.
	s.handle("/v1/status/leader", familyNomad, s.StatusLeaderRequest, get(none))
	s.handle("/v1/status/peers", familyNomad, s.StatusPeersRequest, get(none))
	// The agent's own telemetry needs no token, as in Nomad: an
	// operator's Prometheus scrapes it (agent/DESIGN.md).
	s.handle("/v1/metrics", familyNomad, s.MetricsRequest, get(none))
	s.handle("/v1/operator/raft/configuration", familyNomad, s.OperatorRaftConfiguration, get(capability(acl.OperatorRead)))
	s.handle("/v1/operator/raft/peer", familyNomad, s.OperatorRaftPeer, needs{"DELETE": capability(acl.OperatorWrite)})
	s.handle("/v1/operator/snapshot", familyNomad, s.OperatorSnapshotRequest, needs{"GET": management, "PUT": management, "POST": management})
	s.handle("/v1/nodes", familyNomad, s.NodesRequest, get(capability(acl.NodeRead)))
	s.handle("/v1/node/{id}", familyNomad, s.NodeSpecificRequest, get(capability(acl.NodeRead)))
	s.handle("/v1/node/{id}/assignment", familyNomad, s.NodeAssignmentRequest, get(capability(acl.NodeRead)))
	s.handle("/v1/node/token", familyNomad, s.NodeTokenCreateRequest, write(capability(acl.NodeWrite)))

	s.handle("/v1/acl/bootstrap", familyNomad, s.ACLBootstrapRequest, write(none))
	s.handle("/v1/acl/policies", familyNomad, s.ACLPoliciesRequest, get(management))
	s.handle("/v1/acl/policy/{name}", familyNomad, s.ACLPolicySpecificRequest,
		needs{"GET": management, "PUT": management, "POST": management, "DELETE": management})
	s.handle("/v1/acl/tokens", familyNomad, s.ACLTokensRequest, get(management))
	s.handle("/v1/acl/token", familyNomad, s.ACLTokenCreateRequest, write(management))
	s.handle("/v1/acl/token/self", familyNomad, s.ACLTokenSelfRequest, get(anyToken))
	s.handle("/v1/acl/token/{accessor}", familyNomad, s.ACLTokenSpecificRequest,
		needs{"GET": management, "PUT": management, "POST": management, "DELETE": management})

	// The event stream needs management, or both pipeline:read and
	// config:read; a non-management caller only gets those two topics.
	s.handleRoute(route{pattern: "/v1/event/stream", family: familyNomad, handler: s.EventStreamRequest,
		needs: get(capabilities(acl.PipelineRead, acl.ConfigRead)), streaming: true})

	// Grafana Agent config management, and the same for logs configs.
	s.registerConfigRoutes(metricsConfigAPI)
	s.registerConfigRoutes(logsConfigAPI)
	s.registerInstanceRoutes()
	s.registerIntegrationRoutes()
	s.mux.Handle("/agent/api/v1/", s.wrap(route{pattern: "/agent/api/v1/", family: familyConfig, handler: notFound}))

	// Fleet Management pipelines: one route per Connect procedure, all
	// served by the one connect-go handler.
	_, s.pipelineHandler = pipelinev1connect.NewPipelineServiceHandler(&pipelineService{s: s},
		connect.WithReadMaxBytes(maxRequestBytes), connect.WithRecover(s.recoverConnect),
		connect.WithCompressMinBytes(compressMinBytes))
	for _, p := range pipelineProcedures {
		c := capability(acl.PipelineRead)
		if p.write {
			c = capability(acl.PipelineWrite)
		}
		s.handle(p.path, familyPipeline, s.PipelineServiceRequest, needs{"POST": c})
	}
	s.mux.Handle(pipelineServicePrefix, s.wrap(route{pattern: pipelineServicePrefix, family: familyPipeline, handler: unknownProcedure}))
	s.registerCollectorRoutes()
	s.registerHostMetricsRoutes()
	s.registerAssistantRoutes()

	s.mux.Handle("/", s.wrap(route{pattern: "/", family: familyNomad, handler: notFound}))
}

func (s *HTTPServer) handle(pattern string, f family, h handlerFn, n needs) {
	s.handleRoute(route{pattern: pattern, family: f, handler: h, needs: n})
}

func (s *HTTPServer) handleRoute(r route) {
	s.routes = append(s.routes, r)
	s.mux.Handle(r.pattern, s.wrap(r))
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
		sw := &statusWriter{ResponseWriter: resp}

		var obj any
		err := s.limit(sw, req, r.family)
		if err == nil {
			err = s.authorize(req, r)
		}
		if err == nil {
			obj, err = s.call(r, sw, req)
		}
		code, msg := http.StatusOK, ""
		var be *bodyError
		switch {
		case errors.As(err, &be):
			code = be.code
			writeJSON(sw, req, code, be.body)
		case err != nil:
			code, msg = writeError(sw, req, r.family, err)
		default:
			if st, ok := obj.(*withStatus); ok {
				code, obj = st.code, st.body
			}
			if r.family == familyConfig && !r.raw {
				// Every answer of the family is an envelope; data
				// is left out when there is none.
				obj = &envelope{Status: "success", Data: obj}
			}
			switch {
			case obj != nil:
				if err := writeJSON(sw, req, code, obj); err != nil {
					code = http.StatusInternalServerError
				}
			case sw.code != 0: // the handler wrote its own answer
				code = sw.code
			case code != http.StatusOK:
				sw.WriteHeader(code)
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
		// The route's pattern, not the raw path: one series per route.
		metrics.MeasureSinceWithLabels([]string{"http", "request"}, start, []metrics.Label{
			{Name: "method", Value: httpMethodLabel(req.Method)},
			{Name: "route", Value: r.pattern},
			{Name: "code", Value: strconv.Itoa(code)},
		})
	})
}

// call runs the route's handler. A panic in it is the caller's 500, in
// the family's format, and is logged with its stack: one bad request
// must not cost the others their connection (net/http would drop it).
func (s *HTTPServer) call(r route, resp http.ResponseWriter, req *http.Request) (obj any, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.logger.Error("panic in HTTP handler", "route", r.pattern, "panic", p, "stack", string(debug.Stack()))
			obj, err = nil, structs.NewErrCoded(http.StatusInternalServerError, "internal error: the server logged it")
		}
	}()
	return r.handler(resp, req)
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
		// "Bearer" with nothing (or only spaces) after it is no
		// token: the caller is anonymous.
		if f := strings.Fields(value); len(f) > 0 {
			return f[0]
		}
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

// writeError writes err in the family's format and returns the status and
// message it wrote.
func writeError(resp http.ResponseWriter, req *http.Request, f family, err error) (int, string) {
	switch f {
	case familyConfig:
		code, msg := structs.ErrorStatus(err)
		writeJSON(resp, req, code, &envelope{Status: "error", Data: envelopeError{Error: msg}})
		return code, msg
	case familyPipeline:
		ce := toConnectError(err, tokenFromRequest(req) == "")
		writeConnectError(resp, ce)
		return ce.status, ce.msg
	case familyIngest:
		ie := toIngestError(err, tokenFromRequest(req) == "")
		ie.RequestID = resp.Header().Get("X-Request-Id")
		writeJSON(resp, req, ie.Status, ie)
		return ie.Status, ie.Message
	case familyAssistant:
		code, msg := toAssistantError(err, tokenFromRequest(req) == "")
		writeJSON(resp, req, code, &assistantError{Status: "error", Message: msg})
		return code, msg
	case familyPrometheus:
		code, msg := structs.ErrorStatus(err)
		promapi.WriteError(resp, code, prometheusErrorType(code), msg)
		return code, msg
	default: // familyNomad: status code and the bare message.
		code, msg := structs.ErrorStatus(err)
		resp.Header().Set("Content-Type", "text/plain; charset=utf-8")
		resp.WriteHeader(code)
		resp.Write([]byte(msg))
		return code, msg
	}
}

// envelope is every answer of the Grafana Agent API family.
type envelope struct {
	Status string `json:"status"`
	Data   any    `json:"data,omitempty"`
}

// envelopeError is the data of an error envelope.
type envelopeError struct {
	Error string `json:"error"`
}

// withStatus is a successful answer with a status other than 200, such as
// 201 for a created config.
type withStatus struct {
	code int
	body any
}

// statusWriter remembers the status a handler wrote itself (Connect,
// streams), for the request log. Flush and Unwrap keep streaming and
// http.ResponseController working through it.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// readBody reads a request body of at most limit bytes; a larger one is a
// 413 (invalid_argument in the Connect family).
func readBody(req *http.Request, limit int64) ([]byte, error) {
	tooLarge := structs.NewErrCoded(http.StatusRequestEntityTooLarge, "request body exceeds %d bytes", limit)
	if req.ContentLength > limit {
		return nil, tooLarge
	}
	// Sized from Content-Length (bounded above), a body is read into one
	// buffer instead of one that doubles its way up. ReadFrom wants
	// bytes.MinRead free before each read, the last one (which sees EOF)
	// included: with less it would reallocate at twice the size.
	var buf bytes.Buffer
	if req.ContentLength > 0 {
		buf.Grow(int(req.ContentLength) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(io.LimitReader(req.Body, limit+1))
	b := buf.Bytes()
	if err != nil {
		return nil, structs.NewErrCoded(http.StatusBadRequest, "reading request body: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, tooLarge
	}
	return b, nil
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
	if v, ok := query["consistent"]; ok {
		switch strings.ToLower(v[0]) {
		case "", "true":
			// The default mode, named (Consul's spelling): it only
			// conflicts with ?stale.
			if q.AllowStale {
				return structs.NewErrCoded(http.StatusBadRequest, "Cannot specify ?stale with ?consistent, conflicting semantics.")
			}
		case "false":
		default:
			return structs.NewErrCoded(http.StatusBadRequest, "Expect `true` or `false` for `consistent` query string parameter")
		}
	}
	q.Prefix = query.Get("prefix")
	q.Region = query.Get("region")
	if q.Region == "" {
		q.Region = *s.agent.config.Region
	}
	q.AuthToken = tokenFromRequest(req)
	// A caller that hangs up ends its blocking query, here and on the
	// leader it was forwarded to.
	q.SetContext(req.Context())
	return nil
}

// parseWriteRequest fills the common write fields.
func (s *HTTPServer) parseWriteRequest(req *http.Request, w *structs.WriteRequest) {
	w.Region = req.URL.Query().Get("region")
	if w.Region == "" {
		w.Region = *s.agent.config.Region
	}
	w.AuthToken = tokenFromRequest(req)
	w.RequestID = idempotencyKey(req)
}

// idempotencyKey is the write's request ID: the caller's Idempotency-Key
// (a key longer than a request ID may be is hashed, so any key the caller
// picks names one write), or a fresh one. The same key sent again within
// the servers' window gets the first write's answer instead of a second
// apply, so a caller that got "outcome unknown" (or no answer) can retry.
func idempotencyKey(req *http.Request) string {
	key := strings.TrimSpace(req.Header.Get("Idempotency-Key"))
	switch {
	case key == "":
		return structs.NewRequestID()
	case len(key) > structs.MaxRequestIDLen:
		sum := sha256.Sum256([]byte(key))
		return hex.EncodeToString(sum[:])
	}
	return key
}

// setIndex writes a write's raft index.
func setIndex(resp http.ResponseWriter, index uint64) {
	resp.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
}

// setMeta writes the blocking-query headers.
func setMeta(resp http.ResponseWriter, m *structs.QueryMeta) {
	setMetaHeaders(resp.Header(), m)
}

// setMetaHeaders writes the blocking-query headers into h.
func setMetaHeaders(h http.Header, m *structs.QueryMeta) {
	h.Set("X-Nomad-Index", strconv.FormatUint(m.Index, 10))
	h.Set("X-Nomad-KnownLeader", strconv.FormatBool(m.KnownLeader))
	h.Set("X-Nomad-LastContact", strconv.FormatInt(m.LastContact.Milliseconds(), 10))
}

// methodNotAllowed is what every handler returns for a method it does not
// serve.
var errMethodNotAllowed = structs.NewErrCoded(http.StatusMethodNotAllowed, "Invalid method")

// errServerOnly / errClientOnly answer endpoints that need a role the agent
// lacks, as Nomad does.
var errNotImplemented = structs.NewErrCoded(http.StatusNotImplemented, "Invalid method")
