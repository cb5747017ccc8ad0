package agent

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/agent/metrics"
)

// Grafana Agent's metrics instance endpoints (static/metrics/http.go),
// answered by every agent from its own metrics runtime: a server-only
// agent runs no instance and lists none.

// maxRemoteWriteBytes bounds one remote_write body (snappy-compressed);
// Prometheus sends at most max_samples_per_send samples per request,
// a few hundred KiB.
const maxRemoteWriteBytes = 32 << 20

func (s *HTTPServer) registerInstanceRoutes() {
	for _, p := range []string{"/agent/api/v1/metrics/instances", "/agent/api/v1/instances"} {
		s.handle(p, familyConfig, s.InstancesRequest, get(capability(acl.AgentRead)))
	}
	for _, p := range []string{"/agent/api/v1/metrics/targets", "/agent/api/v1/targets"} {
		s.handle(p, familyConfig, s.TargetsRequest, get(capability(acl.AgentRead)))
	}
	s.handle("/agent/api/v1/logs/instances", familyConfig, s.LogsInstancesRequest, get(capability(acl.AgentRead)))
	s.handle("/agent/api/v1/logs/targets", familyConfig, s.LogsTargetsRequest, get(capability(acl.AgentRead)))
	// A Prometheus forwarding with remote_write sends its token as
	// authorization.credentials: it acts as an agent pushing data, so it
	// needs what a client agent needs.
	s.handleRoute(route{pattern: "/agent/api/v1/metrics/instance/{instance}/write", family: familyConfig,
		handler: s.InstanceWriteRequest, needs: needs{"POST": capability(acl.NodeWrite)}, raw: true})
	s.handleRoute(route{pattern: "/-/ready", family: familyNomad, handler: s.ReadyRequest, needs: get(none), raw: true})
	s.handleRoute(route{pattern: "/-/healthy", family: familyNomad, handler: s.HealthyRequest, needs: get(none), raw: true})
}

// InstancesRequest lists the running instances, sorted.
func (s *HTTPServer) InstancesRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	return s.agent.metricsInstances(), nil
}

// metricsInstances are the running instances' names, sorted.
func (a *Agent) metricsInstances() []string {
	if m := a.metrics; m != nil {
		return m.Instances()
	}
	return []string{}
}

// TargetsRequest lists every running instance's active targets.
func (s *HTTPServer) TargetsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	return s.agent.metricsTargets(), nil
}

// metricsTargets are every running instance's active targets.
func (a *Agent) metricsTargets() []metrics.Target {
	if m := a.metrics; m != nil {
		return m.Targets()
	}
	return []metrics.Target{}
}

// InstanceWriteRequest is a Prometheus remote_write receiver that appends
// into the named instance's WAL, from where its own remote_write sends
// the samples on. Answers are the agent's: plain text, 204 on success.
func (s *HTTPServer) InstanceWriteRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPost {
		return nil, errMethodNotAllowed
	}
	raw := strings.TrimPrefix(req.URL.EscapedPath(), "/agent/api/v1/metrics/instance/")
	raw = strings.TrimSuffix(raw, "/write")
	name, err := url.PathUnescape(raw)
	if err != nil {
		http.Error(resp, "could not decode instance name: "+err.Error(), http.StatusBadRequest)
		return nil, nil
	}
	var h http.Handler
	if m := s.agent.metrics; m != nil {
		h, _ = m.WriteHandler(name)
	}
	if h == nil {
		http.Error(resp, "instance "+name+" does not exist", http.StatusBadRequest)
		return nil, nil
	}
	req.Body = http.MaxBytesReader(resp, req.Body, maxRemoteWriteBytes)
	h.ServeHTTP(resp, req)
	return nil, nil
}

// ReadyRequest is Grafana Agent's readiness check: ready once the metrics
// runtime has applied its first set of instances.
func (s *HTTPServer) ReadyRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if m := s.agent.metrics; m != nil && !m.Ready() {
		resp.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(resp, "Metrics are not ready yet.\n")
		return nil, nil
	}
	io.WriteString(resp, "Agent is Ready.\n")
	return nil, nil
}

// HealthyRequest is Grafana Agent's liveness check.
func (s *HTTPServer) HealthyRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	io.WriteString(resp, "Agent is Healthy.\n")
	return nil, nil
}

// LogsInstancesRequest lists the running logs instances, sorted.
func (s *HTTPServer) LogsInstancesRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	return s.agent.logsInstances(), nil
}

// LogsTargetsRequest lists every running logs instance's targets: their
// files and the offset up to which each was pushed.
func (s *HTTPServer) LogsTargetsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	return s.agent.logsTargets(), nil
}
