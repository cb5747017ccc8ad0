package agent

import (
	"net/http"
	"strings"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/agent/integrations"
	"github.com/nomadlike/nomadlike/agent/metrics"
	"github.com/nomadlike/nomadlike/structs"
)

// registerIntegrationRoutes serves each running integration's metrics,
// this agent's integrations SD and autoscrape targets (Grafana Agent's
// integrations API), and the fleet's integrations SD.
func (s *HTTPServer) registerIntegrationRoutes() {
	// As /v1/metrics and node_exporter itself: no token, so that a plain
	// Prometheus job scrapes it (agent/DESIGN.md). One route for all, so
	// that a reload can add and remove integrations.
	s.handleRoute(route{pattern: integrations.MetricsPath("{name}"), family: familyNomad, needs: get(none), raw: true,
		handler: s.IntegrationMetricsRequest})
	s.handleRoute(route{pattern: "/agent/api/v1/metrics/integrations/sd", family: familyConfig,
		handler: s.IntegrationsSDRequest, needs: get(capability(acl.AgentRead)), raw: true})
	s.handle("/agent/api/v1/metrics/integrations/targets", familyConfig, s.IntegrationsTargetsRequest,
		get(capability(acl.AgentRead)))
	s.handleRoute(route{pattern: "/v1/integrations/sd", family: familyNomad,
		handler: s.FleetIntegrationsSDRequest, needs: get(capability(acl.NodeRead)), raw: true})
}

// IntegrationMetricsRequest serves a running integration's metrics.
func (s *HTTPServer) IntegrationMetricsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	for _, ig := range s.agent.runningIntegrations() {
		if ig.Name == req.PathValue("name") {
			ig.Handler.ServeHTTP(resp, req)
			return nil, nil
		}
	}
	return notFound(resp, req)
}

func sdFilter(req *http.Request) (integrations.Filter, error) {
	q := req.URL.Query()
	f, err := integrations.ParseFilter(q.Get("integrations"), q.Get("instance"))
	if err != nil {
		return f, structs.NewErrCoded(http.StatusBadRequest, "%s", err.Error())
	}
	return f, nil
}

// IntegrationsSDRequest is GET /agent/api/v1/metrics/integrations/sd:
// this agent's integrations as Prometheus http_sd target groups (no
// envelope), autoscraped or not.
func (s *HTTPServer) IntegrationsSDRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	f, err := sdFilter(req)
	if err != nil {
		return nil, err
	}
	addr := s.agent.advertise.http
	groups := []integrations.Target{}
	for _, ig := range s.agent.runningIntegrations() {
		if f.Match(ig.Name, ig.Instance) {
			groups = append(groups, integrations.SDTarget(ig.Name, ig.Instance, ig.Autoscrape, addr, addr))
		}
	}
	integrations.Sort(groups)
	return nil, writeJSON(resp, req, http.StatusOK, groups)
}

// IntegrationsTargetsRequest is GET
// /agent/api/v1/metrics/integrations/targets: the autoscrape targets, as
// /agent/api/v1/metrics/targets answers them.
func (s *HTTPServer) IntegrationsTargetsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	out := []metrics.Target{}
	for _, t := range s.agent.metricsTargets() {
		if strings.HasPrefix(t.Labels["job"], "integrations/") {
			out = append(out, t)
		}
	}
	return out, nil
}

// FleetIntegrationsSDRequest is GET /v1/integrations/sd: every ready
// node's integrations as http_sd target groups, from what the nodes
// report when they register, so that one http_sd_configs entry pointed
// at any server discovers the whole fleet. The same filters as the
// agent's own SD.
func (s *HTTPServer) FleetIntegrationsSDRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	f, err := sdFilter(req)
	if err != nil {
		return nil, err
	}
	nodes, err := s.listNodes(resp, req)
	if err != nil {
		return nil, err
	}
	groups := []integrations.Target{}
	for _, n := range nodes {
		if n.Status != structs.NodeStatusReady || n.HTTPAddr == "" {
			continue
		}
		for _, ig := range integrations.FromAttributes(n.Attributes) {
			if f.Match(ig.Name, ig.Instance) {
				t := integrations.SDTarget(ig.Name, ig.Instance, ig.Autoscrape, n.HTTPAddr, n.HTTPAddr)
				t.Labels["__meta_nomadlike_node_id"] = n.ID
				t.Labels["__meta_nomadlike_node_name"] = n.Name
				t.Labels["__meta_nomadlike_datacenter"] = n.Datacenter
				groups = append(groups, t)
			}
		}
	}
	integrations.Sort(groups)
	return nil, writeJSON(resp, req, http.StatusOK, groups)
}
