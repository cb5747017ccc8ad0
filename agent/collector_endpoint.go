package agent

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	"github.com/nomadlike/nomadlike/acl"
	collectorv1 "github.com/nomadlike/nomadlike/agent/proto/collector/v1"
	"github.com/nomadlike/nomadlike/agent/proto/collector/v1/collectorv1connect"
	"github.com/nomadlike/nomadlike/structs"
)

// collectorServicePrefix is the path under which every procedure of
// collector.v1.CollectorService lives.
const collectorServicePrefix = "/collector.v1.CollectorService/"

// collectorProcedures are the routes of collector.v1.CollectorService and
// what each needs: a collector polls with pipeline:read (it reads
// pipelines) and registers itself with node:write, as a client agent
// registers its node.
var collectorProcedures = []struct {
	path string
	need acl.Capability
}{
	{collectorv1connect.CollectorServiceGetConfigProcedure, acl.PipelineRead},
	{collectorv1connect.CollectorServiceRegisterCollectorProcedure, acl.NodeWrite},
	{collectorv1connect.CollectorServiceUnregisterCollectorProcedure, acl.NodeWrite},
}

// registerCollectorRoutes adds the Connect procedures of
// collector.v1.CollectorService (the Fleet Management family, served like
// the pipeline service) and the operators' reads of registered collectors
// (Nomad family).
func (s *HTTPServer) registerCollectorRoutes() {
	_, h := collectorv1connect.NewCollectorServiceHandler(&collectorService{p: &pipelineService{s: s}},
		connect.WithReadMaxBytes(maxRequestBytes), connect.WithRecover(s.recoverConnect),
		connect.WithCompressMinBytes(compressMinBytes))
	serve := func(resp http.ResponseWriter, req *http.Request) (any, error) { return s.serveConnect(h, resp, req) }
	for _, p := range collectorProcedures {
		s.handle(p.path, familyPipeline, serve, needs{"POST": capability(p.need)})
	}
	s.mux.Handle(collectorServicePrefix, s.wrap(route{pattern: collectorServicePrefix, family: familyPipeline, handler: unknownProcedure}))

	s.handle("/v1/collectors", familyNomad, s.CollectorsRequest, get(capability(acl.NodeRead)))
	s.handle("/v1/collector/{id}", familyNomad, s.CollectorSpecificRequest, get(capabilities(acl.NodeRead, acl.PipelineRead)))
}

// collectorService implements collectorv1connect.CollectorServiceHandler
// on top of the Collector.* RPCs, with the pipeline service's helpers
// (token, query options, error mapping).
type collectorService struct {
	p *pipelineService
}

var _ collectorv1connect.CollectorServiceHandler = (*collectorService)(nil)

// collectorAttributes are a request's attributes: the deprecated map
// overlaid by local_attributes; nil when both are empty.
func collectorAttributes(deprecated, local map[string]string) map[string]string {
	if len(deprecated)+len(local) == 0 {
		return nil
	}
	out := make(map[string]string, len(deprecated)+len(local))
	for k, v := range deprecated {
		out[k] = v
	}
	for k, v := range local {
		out[k] = v
	}
	return out
}

func (c *collectorService) RegisterCollector(ctx context.Context, req *connect.Request[collectorv1.RegisterCollectorRequest]) (*connect.Response[collectorv1.RegisterCollectorResponse], error) {
	if req.Msg.GetId() == "" {
		return nil, invalidArgument("id is required")
	}
	args := structs.CollectorRegisterRequest{
		Collector: &structs.Collector{
			ID:         req.Msg.GetId(),
			Name:       req.Msg.GetName(),
			Attributes: collectorAttributes(req.Msg.GetAttributes(), req.Msg.GetLocalAttributes()),
		},
		WriteRequest: c.p.writeRequest(ctx),
	}
	var out structs.CollectorRegisterResponse
	if err := c.p.rpc(ctx, "Collector.Register", &args, &out); err != nil {
		return nil, err
	}
	return withIndex(&collectorv1.RegisterCollectorResponse{}, out.Index), nil
}

func (c *collectorService) UnregisterCollector(ctx context.Context, req *connect.Request[collectorv1.UnregisterCollectorRequest]) (*connect.Response[collectorv1.UnregisterCollectorResponse], error) {
	if req.Msg.GetId() == "" {
		return nil, invalidArgument("id is required")
	}
	args := structs.CollectorUnregisterRequest{ID: req.Msg.GetId(), WriteRequest: c.p.writeRequest(ctx)}
	var out structs.GenericResponse
	if err := c.p.rpc(ctx, "Collector.Unregister", &args, &out); err != nil {
		return nil, err
	}
	return withIndex(&collectorv1.UnregisterCollectorResponse{}, out.Index), nil
}

// GetConfig is a poll, answered from the answering server's own state
// (a stale read): every collector polls every minute or so, and a
// configuration a few milliseconds old is fine for it, while sending
// every poll to the leader would make the leader the fleet's bottleneck.
func (c *collectorService) GetConfig(ctx context.Context, req *connect.Request[collectorv1.GetConfigRequest]) (*connect.Response[collectorv1.GetConfigResponse], error) {
	if req.Msg.GetId() == "" {
		return nil, invalidArgument("id is required")
	}
	q := c.p.queryOptions(ctx)
	q.AllowStale = true
	args := structs.CollectorGetConfigRequest{
		ID:           req.Msg.GetId(),
		Attributes:   collectorAttributes(req.Msg.GetAttributes(), req.Msg.GetLocalAttributes()),
		Hash:         req.Msg.GetHash(),
		QueryOptions: q,
	}
	if st := req.Msg.GetRemoteConfigStatus(); st != nil && st.GetStatus() == collectorv1.RemoteConfigStatuses_RemoteConfigStatuses_FAILED {
		c.p.s.logger.Debug("collector failed to apply its config", "collector_id", args.ID, "error", st.GetErrorMessage())
	}
	var out structs.CollectorGetConfigResponse
	if err := c.p.rpc(ctx, "Collector.GetConfig", &args, &out); err != nil {
		return nil, err
	}
	return withQueryMeta(&collectorv1.GetConfigResponse{
		Content: out.Content, Hash: out.Hash, NotModified: out.NotModified,
	}, &out.QueryMeta), nil
}

// CollectorsRequest lists registered collectors (?prefix=, blocking with
// ?index=).
func (s *HTTPServer) CollectorsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	var args structs.CollectorListRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.CollectorListResponse
	if err := s.agent.RPC("Collector.List", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	if out.Collectors == nil {
		out.Collectors = []*structs.Collector{}
	}
	return out.Collectors, nil
}

// CollectorSpecificRequest returns one collector with the pipelines it
// gets and their hash (blocking with ?index= on the collector).
func (s *HTTPServer) CollectorSpecificRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	args := structs.CollectorSpecificRequest{ID: req.PathValue("id")}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.SingleCollectorResponse
	if err := s.agent.RPC("Collector.Get", &args, &out); err != nil {
		return nil, err
	}
	if out.Collector == nil {
		return nil, structs.NewErrCoded(http.StatusNotFound, "collector not found")
	}
	cfgArgs := structs.CollectorGetConfigRequest{ID: args.ID, QueryOptions: args.QueryOptions}
	cfgArgs.MinQueryIndex, cfgArgs.MaxQueryTime = 0, 0
	var cfg structs.CollectorGetConfigResponse
	if err := s.agent.RPC("Collector.GetConfig", &cfgArgs, &cfg); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	return &structs.CollectorStatus{Collector: out.Collector, Pipelines: cfg.Pipelines, ConfigHash: cfg.Hash}, nil
}
