package agent

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/agent/promapi"
	"github.com/nomadlike/nomadlike/nomadlike/hostmetrics"
	"github.com/nomadlike/nomadlike/structs"
)

func (s *HTTPServer) registerHostMetricsRoutes() {
	// The agent token in the request is checked by the server that
	// stores the payload, not by the ACL layer: it is a node's secret.
	s.handle("/api/metrics/ingest", familyIngest, s.HostMetricsIngestRequest, needs{"POST": none})
	s.handle("/v1/node/{id}/metrics", familyNomad, s.NodeMetricsRequest, get(capability(acl.NodeRead)))

	// Prometheus' query API over the fleet's host metrics: reads, POST
	// included (Grafana POSTs long queries as forms).
	api := &promapi.API{Logger: s.logger.Named("promql"), Queryable: s.hostMetricsQueryable}
	if s.agent.server != nil {
		api.Engine = s.agent.promqlEngine()
	}
	read := needs{"GET": capability(acl.NodeRead), "POST": capability(acl.NodeRead)}
	for pattern, h := range api.Routes() {
		method, path, _ := strings.Cut(pattern, " ")
		if method != http.MethodGet {
			continue // one route per path; the handler takes both
		}
		s.handleRoute(route{pattern: path, family: familyPrometheus, needs: read, raw: true,
			handler: func(resp http.ResponseWriter, req *http.Request) (any, error) {
				if req.Method != http.MethodGet && req.Method != http.MethodPost {
					resp.Header().Set("Allow", "GET, POST")
					return nil, errMethodNotAllowed
				}
				if s.agent.server == nil {
					return nil, structs.NewErrCoded(http.StatusServiceUnavailable,
						"this agent is a client: the Prometheus query API is served by the servers")
				}
				h(resp, req)
				return nil, nil
			}})
	}
}

func (s *HTTPServer) hostMetricsQueryable(req *http.Request) (storage.Queryable, error) {
	return s.agent.server.HostMetricsQueryable(tokenFromRequest(req)), nil
}

// ingestAccepted is the answer to an accepted push.
type ingestAccepted struct {
	Status    string `json:"status"`
	NodeID    string `json:"nodeId"`
	Node      string `json:"node"`
	Samples   int    `json:"samples"`
	Server    string `json:"server"`
	RequestID string `json:"requestId"`
	// IgnoredFields are the payload's fields the schema does not know:
	// accepted, not stored, named so a sender sees its typo.
	IgnoredFields []string `json:"ignoredFields,omitempty"`
}

// HostMetricsIngestRequest is POST /api/metrics/ingest (spec 004). A
// client agent validates the payload itself (a bad one never travels) and
// forwards it to a server; a server stores it.
func (s *HTTPServer) HostMetricsIngestRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPost {
		resp.Header().Set("Allow", http.MethodPost)
		return nil, &structs.IngestError{Status: http.StatusMethodNotAllowed, Code: structs.IngestValidationError,
			Message: "method " + req.Method + " is not allowed", Hint: "POST the payload as JSON"}
	}
	body, err := readBody(req, hostmetrics.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	args := &structs.HostMetricsIngestRequest{
		NodeID:     req.URL.Query().Get("node_id"),
		SecretID:   tokenFromRequest(req),
		Payload:    body,
		ReceivedAt: time.Now(),
		RequestID:  resp.Header().Get("X-Request-Id"),
	}
	if s.agent.server == nil {
		_, _, release, ierr := hostmetrics.DecodePooled(body)
		if ierr != nil {
			return nil, ierr
		}
		release()
	}
	var reply structs.HostMetricsIngestResponse
	if err := s.agent.RPC("HostMetrics.Ingest", args, &reply); err != nil {
		s.logger.Warn("host metrics push not delivered", "error", err, "request_id", args.RequestID)
		return nil, &structs.IngestError{Status: http.StatusServiceUnavailable, Code: structs.IngestServiceUnavailable,
			Message: "no server took the payload: " + err.Error(), Hint: "retry shortly; the payload was not stored"}
	}
	if reply.Rejected != nil {
		return nil, reply.Rejected
	}
	return &ingestAccepted{Status: "ok", NodeID: reply.NodeID, Node: reply.NodeName, Samples: reply.Samples,
		Server: reply.Server, RequestID: args.RequestID, IgnoredFields: reply.Ignored}, nil
}

// toIngestError is err in spec 004's model; anonymous turns a 403 into
// the 401 of a request without a token.
func toIngestError(err error, anonymous bool) *structs.IngestError {
	var ie *structs.IngestError
	if errors.As(err, &ie) {
		c := *ie
		if c.Status < 400 || c.Status > 599 {
			c.Status = http.StatusInternalServerError
		}
		return &c
	}
	code, msg := structs.ErrorStatus(err)
	out := &structs.IngestError{Status: code, Message: msg}
	switch code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusMethodNotAllowed:
		out.Code = structs.IngestValidationError
		if code == http.StatusRequestEntityTooLarge {
			out.Hint = "send one host's payload per request; its lists are far below this size"
		}
	case http.StatusUnauthorized:
		out.Code = structs.IngestUnauthorized
	case http.StatusForbidden:
		out.Code = structs.IngestForbiddenScope
		if anonymous {
			out.Status, out.Code = http.StatusUnauthorized, structs.IngestUnauthorized
		}
	case http.StatusNotFound:
		out.Code = structs.IngestNotFound
	case http.StatusTooManyRequests:
		out.Code = structs.IngestRateLimited
		out.Hint = "wait for X-RateLimit-Reset before pushing again"
	case http.StatusServiceUnavailable:
		out.Code = structs.IngestServiceUnavailable
	default:
		out.Code = structs.IngestInternal
	}
	return out
}

// prometheusErrorType is Prometheus' errorType for an HTTP status.
func prometheusErrorType(code int) string {
	switch code {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge:
		return "bad_data"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		return "unavailable"
	case http.StatusUnauthorized, http.StatusForbidden:
		return "forbidden"
	default:
		return "internal"
	}
}

// nodeMetrics is GET /v1/node/{id}/metrics.
type nodeMetrics struct {
	NodeID   string
	NodeName string
	// CollectedAt is the payload's time (its collectedAt, or when it was
	// received); ReceivedAt when the first nomadlike agent got it.
	CollectedAt time.Time
	ReceivedAt  time.Time
	Server      string
	// Payload is the body exactly as the node sent it.
	Payload  json.RawMessage
	Warnings []string `json:",omitempty"`
}

// NodeMetricsRequest is the latest host metrics payload of a node, from
// whichever server holds the newest.
func (s *HTTPServer) NodeMetricsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	nargs := structs.NodeSpecificRequest{NodeID: req.PathValue("id")}
	if err := s.parseQueryOptions(req, &nargs.QueryOptions); err != nil {
		return nil, err
	}
	var nout structs.SingleNodeResponse
	if err := s.agent.RPC("Node.GetNode", &nargs, &nout); err != nil {
		return nil, err
	}
	if nout.Node == nil {
		return nil, structs.NewErrCoded(http.StatusNotFound, "node not found")
	}
	args := structs.HostMetricsLatestRequest{NodeID: nout.Node.ID}
	args.AuthToken = nargs.AuthToken
	args.SetContext(req.Context())
	var out structs.HostMetricsLatestResponse
	if err := s.agent.RPC("HostMetrics.Latest", &args, &out); err != nil {
		return nil, err
	}
	if out.Latest == nil {
		msg := "no host metrics for node " + nout.Node.ID
		if len(out.Warnings) > 0 {
			msg += " (" + strings.Join(out.Warnings, "; ") + ")"
		}
		return nil, structs.NewErrCoded(http.StatusNotFound, "%s", msg)
	}
	l := out.Latest
	return &nodeMetrics{NodeID: l.NodeID, NodeName: nout.Node.Name, CollectedAt: l.CollectedAt, ReceivedAt: l.ReceivedAt, Server: l.Server,
		Payload: json.RawMessage(l.Payload), Warnings: out.Warnings}, nil
}
