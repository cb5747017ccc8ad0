package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pipelinev1 "github.com/nomadlike/nomadlike/agent/proto/pipeline/v1"
	"github.com/nomadlike/nomadlike/agent/proto/pipeline/v1/pipelinev1connect"
	"github.com/nomadlike/nomadlike/structs"
)

// pipelineServicePrefix is the path under which every procedure of
// pipeline.v1.PipelineService lives.
const pipelineServicePrefix = "/pipeline.v1.PipelineService/"

// pipelineProcedures are the routes of pipeline.v1.PipelineService, each
// with whether it writes (pipeline:write) or reads (pipeline:read).
var pipelineProcedures = []struct {
	path  string
	write bool
}{
	{pipelinev1connect.PipelineServiceGetPipelineProcedure, false},
	{pipelinev1connect.PipelineServiceGetPipelineIDProcedure, false},
	{pipelinev1connect.PipelineServiceListPipelinesProcedure, false},
	{pipelinev1connect.PipelineServiceCreateAlloyPipelinesProcedure, true},
	{pipelinev1connect.PipelineServiceCreatePipelineProcedure, true},
	{pipelinev1connect.PipelineServiceUpdatePipelineProcedure, true},
	{pipelinev1connect.PipelineServiceUpsertPipelineProcedure, true},
	{pipelinev1connect.PipelineServiceDeletePipelineProcedure, true},
	{pipelinev1connect.PipelineServiceBulkDeletePipelinesProcedure, true},
	{pipelinev1connect.PipelineServiceListPipelinesRevisionsProcedure, false},
	{pipelinev1connect.PipelineServiceListPipelineRevisionsProcedure, false},
	{pipelinev1connect.PipelineServiceGetPipelineRevisionProcedure, false},
	{pipelinev1connect.PipelineServiceSyncPipelinesProcedure, true},
}

// PipelineServiceRequest runs one Connect procedure of
// pipeline.v1.PipelineService. The wrap has already set the request ID,
// spent the rate limit and checked the route's capability; this reads the
// body within maxRequestBytes, hands the URL's blocking-query parameters
// and the token to the procedure through the context (a connect.Request
// has no URL) and lets connect-go decode, call and encode. It returns
// (nil, nil) once connect-go has answered.
func (s *HTTPServer) PipelineServiceRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	return s.serveConnect(s.pipelineHandler, resp, req)
}

// serveConnect runs a Connect procedure on connect-go's handler h, as
// PipelineServiceRequest describes; every Connect service is served so.
func (s *HTTPServer) serveConnect(h http.Handler, resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPost {
		resp.Header().Set("Allow", http.MethodPost)
		return nil, errMethodNotAllowed
	}
	var q structs.QueryOptions
	if err := s.parseQueryOptions(req, &q); err != nil {
		return nil, err
	}
	body, err := readBody(req, maxRequestBytes)
	if err != nil {
		return nil, err
	}
	// connect-go refuses an empty JSON body; curl users send none for
	// requests without fields, so it reads as {}.
	if len(body) == 0 {
		if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/json" {
			body = []byte("{}")
		}
	}
	ctx := context.WithValue(req.Context(), pipelineCallKey{}, &pipelineCall{query: q, requestID: idempotencyKey(req)})
	inner := req.WithContext(ctx)
	inner.Body = io.NopCloser(bytes.NewReader(body))
	inner.ContentLength = int64(len(body))
	h.ServeHTTP(resp, inner)
	return nil, nil
}

// unknownProcedure answers a path under the service that names no
// procedure, as a Connect client expects: 404 with code unimplemented.
func unknownProcedure(resp http.ResponseWriter, req *http.Request) (any, error) {
	return nil, &connectError{status: http.StatusNotFound, code: connect.CodeUnimplemented,
		msg: fmt.Sprintf("unknown procedure %s", req.URL.Path)}
}

// recoverConnect turns a panic in a procedure into an internal error
// instead of a dropped connection.
func (s *HTTPServer) recoverConnect(_ context.Context, spec connect.Spec, _ http.Header, p any) error {
	s.logger.Error("panic in connect handler", "procedure", spec.Procedure, "panic", p)
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

// pipelineCallKey is the context key of a *pipelineCall.
type pipelineCallKey struct{}

// pipelineCall is what the HTTP layer knows of a Connect call that the
// connect.Request does not carry: the token and ?index/?wait/?stale.
type pipelineCall struct {
	query     structs.QueryOptions
	requestID string
}

// pipelineService implements pipelinev1connect.PipelineServiceHandler on
// top of the Pipeline.* RPCs.
type pipelineService struct {
	s *HTTPServer
}

var _ pipelinev1connect.PipelineServiceHandler = (*pipelineService)(nil)

// queryOptions are the read options of the call.
func (p *pipelineService) queryOptions(ctx context.Context) structs.QueryOptions {
	if c, ok := ctx.Value(pipelineCallKey{}).(*pipelineCall); ok {
		return c.query
	}
	return structs.QueryOptions{Region: *p.s.agent.config.Region}
}

// writeRequest are the write options of the call.
func (p *pipelineService) writeRequest(ctx context.Context) structs.WriteRequest {
	q := p.queryOptions(ctx)
	w := structs.WriteRequest{Region: q.Region, AuthToken: q.AuthToken}
	if c, ok := ctx.Value(pipelineCallKey{}).(*pipelineCall); ok {
		w.RequestID = c.requestID
	}
	return w
}

// rpc calls a server endpoint and turns its error into a Connect error.
func (p *pipelineService) rpc(ctx context.Context, method string, args, reply any) error {
	if err := p.s.agent.RPC(method, args, reply); err != nil {
		ce := toConnectError(err, p.queryOptions(ctx).AuthToken == "")
		return connect.NewError(ce.code, errors.New(ce.msg))
	}
	return nil
}

func invalidArgument(format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf(format, args...))
}

func notFoundError(format string, args ...any) error {
	return connect.NewError(connect.CodeNotFound, fmt.Errorf(format, args...))
}

func internalError(err error) error {
	return connect.NewError(connect.CodeInternal, err)
}

// withQueryMeta answers msg with the blocking-query headers.
func withQueryMeta[T any](msg *T, m *structs.QueryMeta) *connect.Response[T] {
	res := connect.NewResponse(msg)
	setMetaHeaders(res.Header(), m)
	return res
}

// withIndex answers msg with the write's raft index.
func withIndex[T any](msg *T, index uint64) *connect.Response[T] {
	res := connect.NewResponse(msg)
	res.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
	return res
}

func (p *pipelineService) GetPipeline(ctx context.Context, req *connect.Request[pipelinev1.GetPipelineRequest]) (*connect.Response[pipelinev1.Pipeline], error) {
	id := req.Msg.GetId()
	args := structs.PipelineSpecificRequest{ID: id, QueryOptions: p.queryOptions(ctx)}
	var out structs.SinglePipelineResponse
	if err := p.rpc(ctx, "Pipeline.Get", &args, &out); err != nil {
		return nil, err
	}
	if out.Pipeline == nil {
		return nil, notFoundError("pipeline %s not found", id)
	}
	pb, err := pipelineToPB(out.Pipeline)
	if err != nil {
		return nil, internalError(err)
	}
	return withQueryMeta(pb, &out.QueryMeta), nil
}

func (p *pipelineService) GetPipelineID(ctx context.Context, req *connect.Request[pipelinev1.GetPipelineIDRequest]) (*connect.Response[pipelinev1.GetPipelineIDResponse], error) {
	name := req.Msg.GetName()
	if name == "" {
		// Pipeline.Get with neither ID nor name would blame the ID.
		return nil, invalidArgument("name is required")
	}
	args := structs.PipelineSpecificRequest{Name: name, QueryOptions: p.queryOptions(ctx)}
	var out structs.SinglePipelineResponse
	if err := p.rpc(ctx, "Pipeline.Get", &args, &out); err != nil {
		return nil, err
	}
	if out.Pipeline == nil {
		return nil, notFoundError("pipeline %s not found", name)
	}
	return withQueryMeta(&pipelinev1.GetPipelineIDResponse{Id: out.Pipeline.ID}, &out.QueryMeta), nil
}

func (p *pipelineService) ListPipelines(ctx context.Context, req *connect.Request[pipelinev1.ListPipelinesRequest]) (*connect.Response[pipelinev1.Pipelines], error) {
	args := structs.PipelineListRequest{Enabled: req.Msg.Enabled, QueryOptions: p.queryOptions(ctx)}
	// The effective attributes of a collector: local ones overlaid by
	// remote ones. Without any, the list is not filtered.
	if len(req.Msg.LocalAttributes)+len(req.Msg.RemoteAttributes) > 0 {
		args.Attributes = map[string]string{}
		for k, v := range req.Msg.LocalAttributes {
			args.Attributes[k] = v
		}
		for k, v := range req.Msg.RemoteAttributes {
			args.Attributes[k] = v
		}
	}
	if req.Msg.ConfigType != nil {
		ct, err := configTypeName(*req.Msg.ConfigType)
		if err != nil {
			return nil, invalidArgument("%v", err)
		}
		args.ConfigType = ct
	}
	var out structs.PipelineListResponse
	if err := p.rpc(ctx, "Pipeline.List", &args, &out); err != nil {
		return nil, err
	}
	msg := &pipelinev1.Pipelines{Pipelines: make([]*pipelinev1.Pipeline, 0, len(out.Pipelines))}
	for _, sp := range out.Pipelines {
		pb, err := pipelineToPB(sp)
		if err != nil {
			return nil, internalError(err)
		}
		msg.Pipelines = append(msg.Pipelines, pb)
	}
	return withQueryMeta(msg, &out.QueryMeta), nil
}

func (p *pipelineService) CreateAlloyPipelines(context.Context, *connect.Request[pipelinev1.CreateAlloyPipelinesRequest]) (*connect.Response[pipelinev1.CreateAlloyPipelinesResponse], error) {
	return nil, connect.NewError(connect.CodeUnimplemented,
		errors.New("CreateAlloyPipelines is internal to Grafana Cloud and not implemented"))
}

func (p *pipelineService) CreatePipeline(ctx context.Context, req *connect.Request[pipelinev1.CreatePipelineRequest]) (*connect.Response[pipelinev1.Pipeline], error) {
	return p.applyOne(ctx, structs.PipelineOpCreate, req.Msg.GetPipeline(), req.Msg.GetValidateOnly())
}

func (p *pipelineService) UpdatePipeline(ctx context.Context, req *connect.Request[pipelinev1.UpdatePipelineRequest]) (*connect.Response[pipelinev1.Pipeline], error) {
	return p.applyOne(ctx, structs.PipelineOpUpdate, req.Msg.GetPipeline(), req.Msg.GetValidateOnly())
}

func (p *pipelineService) UpsertPipeline(ctx context.Context, req *connect.Request[pipelinev1.UpsertPipelineRequest]) (*connect.Response[pipelinev1.Pipeline], error) {
	return p.applyOne(ctx, structs.PipelineOpUpsert, req.Msg.GetPipeline(), req.Msg.GetValidateOnly())
}

// applyOne runs a create, update or upsert of one pipeline and answers the
// pipeline as written (or as it would be, with validateOnly).
func (p *pipelineService) applyOne(ctx context.Context, op structs.PipelineOp, in *pipelinev1.Pipeline, validateOnly bool) (*connect.Response[pipelinev1.Pipeline], error) {
	if in == nil {
		return nil, invalidArgument("pipeline is required")
	}
	sp, err := pipelineFromPB(in)
	if err != nil {
		return nil, invalidArgument("%v", err)
	}
	args := structs.PipelineApplyRequest{
		Operations:   []*structs.PipelineOperation{{Op: op, Pipeline: sp}},
		ValidateOnly: validateOnly,
		WriteRequest: p.writeRequest(ctx),
	}
	var out structs.PipelineApplyResponse
	if err := p.rpc(ctx, "Pipeline.Apply", &args, &out); err != nil {
		return nil, err
	}
	if len(out.Pipelines) != 1 || out.Pipelines[0] == nil {
		return nil, internalError(fmt.Errorf("Pipeline.Apply answered %d pipelines for one %s", len(out.Pipelines), op))
	}
	pb, err := pipelineToPB(out.Pipelines[0])
	if err != nil {
		return nil, internalError(err)
	}
	return withIndex(pb, out.Index), nil
}

func (p *pipelineService) DeletePipeline(ctx context.Context, req *connect.Request[pipelinev1.DeletePipelineRequest]) (*connect.Response[pipelinev1.DeletePipelineResponse], error) {
	index, err := p.deleteIDs(ctx, []string{req.Msg.GetId()})
	if err != nil {
		return nil, err
	}
	return withIndex(&pipelinev1.DeletePipelineResponse{}, index), nil
}

func (p *pipelineService) BulkDeletePipelines(ctx context.Context, req *connect.Request[pipelinev1.BulkDeletePipelinesRequest]) (*connect.Response[pipelinev1.BulkDeletePipelinesResponse], error) {
	ids := req.Msg.GetIds()
	if len(ids) == 0 {
		return nil, invalidArgument("ids must not be empty")
	}
	index, err := p.deleteIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	return withIndex(&pipelinev1.BulkDeletePipelinesResponse{}, index), nil
}

// deleteIDs deletes pipelines in one all-or-nothing apply (the server
// checks the IDs).
func (p *pipelineService) deleteIDs(ctx context.Context, ids []string) (uint64, error) {
	args := structs.PipelineApplyRequest{WriteRequest: p.writeRequest(ctx)}
	for _, id := range ids {
		args.Operations = append(args.Operations, &structs.PipelineOperation{Op: structs.PipelineOpDelete, ID: id})
	}
	var out structs.PipelineApplyResponse
	if err := p.rpc(ctx, "Pipeline.Apply", &args, &out); err != nil {
		return 0, err
	}
	return out.Index, nil
}

func (p *pipelineService) ListPipelinesRevisions(ctx context.Context, _ *connect.Request[pipelinev1.ListPipelinesRevisionsRequest]) (*connect.Response[pipelinev1.PipelineRevisions], error) {
	return p.revisions(ctx, "")
}

func (p *pipelineService) ListPipelineRevisions(ctx context.Context, req *connect.Request[pipelinev1.ListPipelineRevisionsRequest]) (*connect.Response[pipelinev1.PipelineRevisions], error) {
	// An empty id would list every pipeline's revisions: refuse it.
	if req.Msg.GetId() == "" {
		return nil, invalidArgument("id is required")
	}
	return p.revisions(ctx, req.Msg.GetId())
}

// revisions lists one pipeline's revisions, or every pipeline's (the
// server leaves their contents out) when id is empty.
func (p *pipelineService) revisions(ctx context.Context, id string) (*connect.Response[pipelinev1.PipelineRevisions], error) {
	args := structs.PipelineRevisionsRequest{PipelineID: id, QueryOptions: p.queryOptions(ctx)}
	var out structs.PipelineRevisionsResponse
	if err := p.rpc(ctx, "Pipeline.Revisions", &args, &out); err != nil {
		return nil, err
	}
	msg := &pipelinev1.PipelineRevisions{PipelineRevisions: make([]*pipelinev1.PipelineRevision, 0, len(out.Revisions))}
	for _, r := range out.Revisions {
		pb, err := revisionToPB(r)
		if err != nil {
			return nil, internalError(err)
		}
		msg.PipelineRevisions = append(msg.PipelineRevisions, pb)
	}
	return withQueryMeta(msg, &out.QueryMeta), nil
}

func (p *pipelineService) GetPipelineRevision(ctx context.Context, req *connect.Request[pipelinev1.GetPipelineRevisionRequest]) (*connect.Response[pipelinev1.PipelineRevision], error) {
	id := req.Msg.GetRevisionId()
	args := structs.PipelineRevisionRequest{RevisionID: id, QueryOptions: p.queryOptions(ctx)}
	var out structs.SinglePipelineRevisionResponse
	if err := p.rpc(ctx, "Pipeline.Revision", &args, &out); err != nil {
		return nil, err
	}
	if out.Revision == nil {
		return nil, notFoundError("pipeline revision %s not found", id)
	}
	pb, err := revisionToPB(out.Revision)
	if err != nil {
		return nil, internalError(err)
	}
	return withQueryMeta(pb, &out.QueryMeta), nil
}

// SyncPipelines upserts every given pipeline and deletes the other
// pipelines of the source, in one apply. The server checks the source and
// gives it to every listed pipeline (the sync action sends none).
func (p *pipelineService) SyncPipelines(ctx context.Context, req *connect.Request[pipelinev1.SyncPipelinesRequest]) (*connect.Response[pipelinev1.SyncPipelinesResponse], error) {
	src := req.Msg.GetSource()
	if src == nil {
		return nil, invalidArgument("source is required")
	}
	srcType, err := sourceTypeName(src.GetType())
	if err != nil {
		return nil, invalidArgument("%v", err)
	}
	args := structs.PipelineApplyRequest{
		SyncSource:   &structs.PipelineSyncSource{Type: srcType, Namespace: src.GetNamespace()},
		WriteRequest: p.writeRequest(ctx),
	}
	for i, in := range req.Msg.GetPipelines() {
		if in == nil {
			return nil, invalidArgument("pipelines[%d] is empty", i)
		}
		sp, err := pipelineFromPB(in)
		if err != nil {
			return nil, invalidArgument("pipelines[%d]: %v", i, err)
		}
		args.Operations = append(args.Operations, &structs.PipelineOperation{Op: structs.PipelineOpUpsert, Pipeline: sp})
	}
	var out structs.PipelineApplyResponse
	if err := p.rpc(ctx, "Pipeline.Apply", &args, &out); err != nil {
		return nil, err
	}
	return withIndex(&pipelinev1.SyncPipelinesResponse{}, out.Index), nil
}

// pipelineFromPB converts a request's pipeline. Timestamps are the
// server's to set and are ignored; enabled left unset means true;
// metadata becomes canonical JSON (sorted keys, no spaces).
func pipelineFromPB(in *pipelinev1.Pipeline) (*structs.Pipeline, error) {
	out := &structs.Pipeline{
		ID:       in.GetId(),
		Name:     in.GetName(),
		Contents: in.GetContents(),
		Matchers: append([]string(nil), in.GetMatchers()...),
		Enabled:  in.Enabled == nil || *in.Enabled,
	}
	if in.Metadata != nil {
		b, err := json.Marshal(in.Metadata.AsMap())
		if err != nil {
			return nil, fmt.Errorf("metadata: %v", err)
		}
		out.Metadata = b
	}
	if in.Source != nil {
		st, err := sourceTypeName(in.Source.GetType())
		if err != nil {
			return nil, err
		}
		out.SourceType, out.SourceNamespace = st, in.Source.GetNamespace()
	}
	ct, err := configTypeName(in.GetConfigType())
	if err != nil {
		return nil, err
	}
	out.ConfigType = ct
	return out, nil
}

// pipelineToPB converts a stored pipeline for an answer.
func pipelineToPB(in *structs.Pipeline) (*pipelinev1.Pipeline, error) {
	out := &pipelinev1.Pipeline{
		Name:       in.Name,
		Contents:   in.Contents,
		Matchers:   append([]string(nil), in.Matchers...),
		Enabled:    proto.Bool(in.Enabled),
		ConfigType: pipelinev1.ConfigType(pipelinev1.ConfigType_value[in.ConfigType]),
	}
	if in.ID != "" {
		out.Id = proto.String(in.ID)
	}
	if !in.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(in.CreatedAt)
	}
	if !in.UpdatedAt.IsZero() {
		out.UpdatedAt = timestamppb.New(in.UpdatedAt)
	}
	if len(in.Metadata) > 0 {
		var m map[string]any
		if err := json.Unmarshal(in.Metadata, &m); err != nil {
			return nil, fmt.Errorf("pipeline %s: stored metadata is not a JSON object: %v", in.ID, err)
		}
		st, err := structpb.NewStruct(m)
		if err != nil {
			return nil, fmt.Errorf("pipeline %s: metadata: %v", in.ID, err)
		}
		out.Metadata = st
	}
	if in.SourceType != "" || in.SourceNamespace != "" {
		out.Source = &pipelinev1.PipelineSource{
			Type:      pipelinev1.PipelineSource_SourceType(pipelinev1.PipelineSource_SourceType_value[in.SourceType]),
			Namespace: in.SourceNamespace,
		}
	}
	return out, nil
}

// revisionToPB converts a stored revision for an answer.
func revisionToPB(in *structs.PipelineRevision) (*pipelinev1.PipelineRevision, error) {
	out := &pipelinev1.PipelineRevision{
		RevisionId: in.RevisionID,
		Operation:  pipelinev1.PipelineRevision_Operation(pipelinev1.PipelineRevision_Operation_value[in.Operation]),
	}
	if !in.CreatedAt.IsZero() {
		out.CreatedAt = timestamppb.New(in.CreatedAt)
	}
	if in.Snapshot != nil {
		snap, err := pipelineToPB(in.Snapshot)
		if err != nil {
			return nil, err
		}
		out.Snapshot = snap
	}
	return out, nil
}

// configTypeName is the stored form of a config type: its enum name, or ""
// for CONFIG_TYPE_UNSPECIFIED. A number the enum does not know is refused.
func configTypeName(ct pipelinev1.ConfigType) (string, error) {
	if ct == pipelinev1.ConfigType_CONFIG_TYPE_UNSPECIFIED {
		return "", nil
	}
	name, ok := pipelinev1.ConfigType_name[int32(ct)]
	if !ok {
		return "", fmt.Errorf("unknown config_type %d", ct)
	}
	return name, nil
}

// sourceTypeName is the stored form of a source type, as configTypeName.
func sourceTypeName(st pipelinev1.PipelineSource_SourceType) (string, error) {
	if st == pipelinev1.PipelineSource_SOURCE_TYPE_UNSPECIFIED {
		return "", nil
	}
	name, ok := pipelinev1.PipelineSource_SourceType_name[int32(st)]
	if !ok {
		return "", fmt.Errorf("unknown source.type %d", st)
	}
	return name, nil
}

// connectError is an error as the Connect family answers it: a code, the
// HTTP status and the message.
type connectError struct {
	status int
	code   connect.Code
	msg    string
}

func (e *connectError) Error() string { return e.msg }

// connectStatus is Connect's HTTP status for each code.
var connectStatus = map[connect.Code]int{
	connect.CodeCanceled:           499,
	connect.CodeUnknown:            http.StatusInternalServerError,
	connect.CodeInvalidArgument:    http.StatusBadRequest,
	connect.CodeDeadlineExceeded:   http.StatusGatewayTimeout,
	connect.CodeNotFound:           http.StatusNotFound,
	connect.CodeAlreadyExists:      http.StatusConflict,
	connect.CodePermissionDenied:   http.StatusForbidden,
	connect.CodeResourceExhausted:  http.StatusTooManyRequests,
	connect.CodeFailedPrecondition: http.StatusBadRequest,
	connect.CodeAborted:            http.StatusConflict,
	connect.CodeOutOfRange:         http.StatusBadRequest,
	connect.CodeUnimplemented:      http.StatusNotImplemented,
	connect.CodeInternal:           http.StatusInternalServerError,
	connect.CodeUnavailable:        http.StatusServiceUnavailable,
	connect.CodeDataLoss:           http.StatusInternalServerError,
	connect.CodeUnauthenticated:    http.StatusUnauthorized,
}

// codedToConnect maps the coded errors' HTTP statuses to Connect codes.
var codedToConnect = map[int]connect.Code{
	http.StatusBadRequest:            connect.CodeInvalidArgument,
	http.StatusUnauthorized:          connect.CodeUnauthenticated,
	http.StatusForbidden:             connect.CodePermissionDenied,
	http.StatusNotFound:              connect.CodeNotFound,
	http.StatusConflict:              connect.CodeAlreadyExists,
	http.StatusRequestEntityTooLarge: connect.CodeInvalidArgument,
	http.StatusTooManyRequests:       connect.CodeResourceExhausted,
	499:                              connect.CodeCanceled,
	http.StatusInternalServerError:   connect.CodeInternal,
	http.StatusNotImplemented:        connect.CodeUnimplemented,
	http.StatusServiceUnavailable:    connect.CodeUnavailable,
	http.StatusGatewayTimeout:        connect.CodeDeadlineExceeded,
}

// toConnectError gives err's Connect code, status and message. An unknown
// or expired token is unauthenticated, and so is a request without a token
// that the anonymous policy does not allow; a token that lacks the
// capability is permission_denied. The agent's own "no leader" and "no
// servers" are unavailable, which Connect clients retry. 405 keeps its
// status (with code unimplemented): no Connect code means "wrong method".
func toConnectError(err error, anonymous bool) *connectError {
	var ce *connectError
	if errors.As(err, &ce) {
		return ce
	}
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		return &connectError{status: connectStatus[cerr.Code()], code: cerr.Code(), msg: cerr.Message()}
	}
	status, msg := structs.ErrorStatus(err)
	code, ok := codedToConnect[status]
	switch {
	case errors.Is(err, structs.ErrTokenNotFound), status == http.StatusForbidden && anonymous:
		code = connect.CodeUnauthenticated
	case errors.Is(err, structs.ErrNoLeader), errors.Is(err, structs.ErrNoServers):
		code = connect.CodeUnavailable
	case status == http.StatusMethodNotAllowed:
		return &connectError{status: status, code: connect.CodeUnimplemented, msg: msg}
	case !ok && status >= 400 && status < 500:
		code = connect.CodeInvalidArgument
	case !ok:
		code = connect.CodeInternal
	}
	return &connectError{status: connectStatus[code], code: code, msg: msg}
}

// writeConnectError writes a Connect error body; it is JSON whatever the
// request's codec was, as the protocol says.
func writeConnectError(resp http.ResponseWriter, ce *connectError) {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message,omitempty"`
	}{ce.code.String(), ce.msg})
	resp.Header().Set("Content-Type", "application/json")
	resp.WriteHeader(ce.status)
	resp.Write(body)
}
