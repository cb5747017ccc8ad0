package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Pipeline config types, the values of Pipeline.ConfigType.
const (
	// ConfigTypeUnspecified is the zero config type.
	ConfigTypeUnspecified = "CONFIG_TYPE_UNSPECIFIED"
	// ConfigTypeAlloy marks contents in Alloy syntax.
	ConfigTypeAlloy = "CONFIG_TYPE_ALLOY"
	// ConfigTypeOTel marks contents in OpenTelemetry Collector YAML.
	ConfigTypeOTel = "CONFIG_TYPE_OTEL"
)

// Pipeline source types, the values of PipelineSource.Type.
const (
	// SourceTypeUnspecified is the zero source type.
	SourceTypeUnspecified = "SOURCE_TYPE_UNSPECIFIED"
	// SourceTypeGit marks pipelines synced from a Git repository.
	SourceTypeGit = "SOURCE_TYPE_GIT"
	// SourceTypeTerraform marks pipelines managed by Terraform.
	SourceTypeTerraform = "SOURCE_TYPE_TERRAFORM"
	// SourceTypeGrafana marks pipelines managed by Grafana.
	SourceTypeGrafana = "SOURCE_TYPE_GRAFANA"
)

// Connect error codes, the values of ConnectError.Code.
const (
	ConnectCodeCanceled           = "canceled"
	ConnectCodeUnknown            = "unknown"
	ConnectCodeInvalidArgument    = "invalid_argument"
	ConnectCodeDeadlineExceeded   = "deadline_exceeded"
	ConnectCodeNotFound           = "not_found"
	ConnectCodeAlreadyExists      = "already_exists"
	ConnectCodePermissionDenied   = "permission_denied"
	ConnectCodeResourceExhausted  = "resource_exhausted"
	ConnectCodeFailedPrecondition = "failed_precondition"
	ConnectCodeAborted            = "aborted"
	ConnectCodeOutOfRange         = "out_of_range"
	ConnectCodeUnimplemented      = "unimplemented"
	ConnectCodeInternal           = "internal"
	ConnectCodeUnavailable        = "unavailable"
	ConnectCodeDataLoss           = "data_loss"
	ConnectCodeUnauthenticated    = "unauthenticated"
)

// pipelineService is the path prefix of the pipeline.v1.PipelineService
// RPCs.
const pipelineService = "/pipeline.v1.PipelineService/"

// Pipelines is the handle on the Fleet Management pipeline API,
// pipeline.v1.PipelineService. Every call is a Connect unary RPC with a
// JSON body, POST /pipeline.v1.PipelineService/<Method>; an error answer
// becomes a ConnectError. Reads take QueryOptions, whose WaitIndex and
// WaitTime make them blocking queries (?index=&wait= on the URL).
type Pipelines struct {
	client *Client
}

// Pipelines returns the handle on the pipeline API.
func (c *Client) Pipelines() *Pipelines { return &Pipelines{client: c} }

// PipelineSource says which external system manages a pipeline.
type PipelineSource struct {
	// Type is one of the SourceType constants.
	Type string `json:"type,omitempty"`
	// Namespace names the set of pipelines the source owns, such as a
	// repository.
	Namespace string `json:"namespace,omitempty"`
}

// Pipeline is a self-contained piece of collector configuration, assigned
// to the collectors its matchers select.
type Pipeline struct {
	// ID is assigned by the server; it is a decimal string.
	ID string `json:"id,omitempty"`
	// Name identifies the pipeline; it is unique.
	Name string `json:"name,omitempty"`
	// Contents is the configuration collectors run.
	Contents string `json:"contents,omitempty"`
	// Matchers select the collectors by attribute, in Alertmanager
	// matcher syntax such as "collector.os=linux"; all must match.
	Matchers []string `json:"matchers,omitempty"`
	// CreatedAt is when the pipeline was created; set by the server.
	CreatedAt *time.Time `json:"createdAt,omitempty"`
	// UpdatedAt is when the pipeline last changed; set by the server.
	UpdatedAt *time.Time `json:"updatedAt,omitempty"`
	// Enabled is whether collectors get the pipeline; nil leaves it to
	// the server.
	Enabled *bool `json:"enabled,omitempty"`
	// Metadata is free-form JSON kept with the pipeline.
	Metadata map[string]any `json:"metadata,omitempty"`
	// Source is the external system managing the pipeline, if any.
	Source *PipelineSource `json:"source,omitempty"`
	// ConfigType is one of the ConfigType constants.
	ConfigType string `json:"configType,omitempty"`
}

// PipelineRevision is one change to a pipeline: the pipeline as it stood
// after an insert or update, or before a delete.
type PipelineRevision struct {
	// RevisionID identifies the revision; it is a decimal string.
	RevisionID string `json:"revisionId"`
	// Snapshot is the pipeline at the revision. The list of every
	// pipeline's revisions leaves its contents out.
	Snapshot *Pipeline `json:"snapshot"`
	// CreatedAt is when the change was made.
	CreatedAt time.Time `json:"createdAt"`
	// Operation is RevisionInsert, RevisionUpdate or RevisionDelete.
	Operation string `json:"operation"`
}

// pipelineWriteRequest is the body of CreatePipeline, UpdatePipeline and
// UpsertPipeline.
type pipelineWriteRequest struct {
	Pipeline     *Pipeline `json:"pipeline"`
	ValidateOnly bool      `json:"validateOnly,omitempty"`
}

// Get returns the pipeline with id (GetPipeline).
func (p *Pipelines) Get(id string, q *QueryOptions) (*Pipeline, *QueryMeta, error) {
	if id == "" {
		return nil, nil, errors.New("pipeline ID must not be empty")
	}
	var out Pipeline
	qm, err := p.client.connectQuery("GetPipeline", map[string]string{"id": id}, &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// GetID returns the ID of the pipeline called name (GetPipelineID).
func (p *Pipelines) GetID(name string, q *QueryOptions) (string, *QueryMeta, error) {
	if name == "" {
		return "", nil, errors.New("pipeline name must not be empty")
	}
	var out struct {
		ID string `json:"id"`
	}
	qm, err := p.client.connectQuery("GetPipelineID", map[string]string{"name": name}, &out, q)
	if err != nil {
		return "", nil, err
	}
	return out.ID, qm, nil
}

// List returns every pipeline with its contents and matchers
// (ListPipelines). An empty result is an empty slice, never nil.
func (p *Pipelines) List(q *QueryOptions) ([]*Pipeline, *QueryMeta, error) {
	var out struct {
		Pipelines []*Pipeline `json:"pipelines"`
	}
	qm, err := p.client.connectQuery("ListPipelines", nil, &out, q)
	if err != nil {
		return nil, nil, err
	}
	if out.Pipelines == nil {
		out.Pipelines = []*Pipeline{}
	}
	return out.Pipelines, qm, nil
}

// Create creates pipeline pl, which must not carry an ID, and returns it
// as stored, with its ID (CreatePipeline). With validateOnly the server
// only checks the request and previews the answer.
func (p *Pipelines) Create(pl *Pipeline, validateOnly bool, w *WriteOptions) (*Pipeline, *WriteMeta, error) {
	if pl == nil {
		return nil, nil, errors.New("pipeline must not be nil")
	}
	return p.write("CreatePipeline", &pipelineWriteRequest{Pipeline: pl, ValidateOnly: validateOnly}, w)
}

// Update replaces the pipeline pl.ID with pl and returns it as stored
// (UpdatePipeline). Fields left unset in pl are cleared. With validateOnly
// the server only checks the request and previews the answer.
func (p *Pipelines) Update(pl *Pipeline, validateOnly bool, w *WriteOptions) (*Pipeline, *WriteMeta, error) {
	if pl == nil || pl.ID == "" {
		return nil, nil, errors.New("pipeline ID must not be empty")
	}
	return p.write("UpdatePipeline", &pipelineWriteRequest{Pipeline: pl, ValidateOnly: validateOnly}, w)
}

// Upsert creates the pipeline called pl.Name, or replaces it like Update,
// and returns it as stored (UpsertPipeline).
func (p *Pipelines) Upsert(pl *Pipeline, w *WriteOptions) (*Pipeline, *WriteMeta, error) {
	if pl == nil {
		return nil, nil, errors.New("pipeline must not be nil")
	}
	return p.write("UpsertPipeline", &pipelineWriteRequest{Pipeline: pl}, w)
}

// write runs one of the pipeline write RPCs that answer a Pipeline.
func (p *Pipelines) write(method string, in *pipelineWriteRequest, w *WriteOptions) (*Pipeline, *WriteMeta, error) {
	var out Pipeline
	wm, err := p.client.connectWrite(method, in, &out, w)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// Delete deletes the pipeline with id (DeletePipeline).
func (p *Pipelines) Delete(id string, w *WriteOptions) (*WriteMeta, error) {
	if id == "" {
		return nil, errors.New("pipeline ID must not be empty")
	}
	return p.client.connectWrite("DeletePipeline", map[string]string{"id": id}, nil, w)
}

// BulkDelete deletes the pipelines with ids, all or none
// (BulkDeletePipelines): one missing ID fails the whole call.
func (p *Pipelines) BulkDelete(ids []string, w *WriteOptions) (*WriteMeta, error) {
	if len(ids) == 0 {
		return nil, errors.New("no pipeline IDs given")
	}
	for _, id := range ids {
		if id == "" {
			return nil, errors.New("pipeline ID must not be empty")
		}
	}
	return p.client.connectWrite("BulkDeletePipelines", map[string][]string{"ids": ids}, nil, w)
}

// Sync makes pipelines the whole set of pipelines owned by source
// (SyncPipelines). source needs a type and a namespace.
func (p *Pipelines) Sync(source *PipelineSource, pipelines []*Pipeline, w *WriteOptions) (*WriteMeta, error) {
	if source == nil {
		return nil, errors.New("pipeline source must not be nil")
	}
	if pipelines == nil {
		pipelines = []*Pipeline{}
	}
	in := struct {
		Source    *PipelineSource `json:"source"`
		Pipelines []*Pipeline     `json:"pipelines"`
	}{source, pipelines}
	return p.client.connectWrite("SyncPipelines", &in, nil, w)
}

// ListAllRevisions returns the revisions of every pipeline, without the
// snapshots' contents (ListPipelinesRevisions). An empty result is an
// empty slice, never nil.
func (p *Pipelines) ListAllRevisions(q *QueryOptions) ([]*PipelineRevision, *QueryMeta, error) {
	return p.revisions("ListPipelinesRevisions", nil, q)
}

// ListRevisions returns the revisions of the pipeline with id, with full
// snapshots (ListPipelineRevisions). An empty result is an empty slice,
// never nil.
func (p *Pipelines) ListRevisions(id string, q *QueryOptions) ([]*PipelineRevision, *QueryMeta, error) {
	if id == "" {
		return nil, nil, errors.New("pipeline ID must not be empty")
	}
	return p.revisions("ListPipelineRevisions", map[string]string{"id": id}, q)
}

// revisions runs one of the RPCs that answer PipelineRevisions.
func (p *Pipelines) revisions(method string, in any, q *QueryOptions) ([]*PipelineRevision, *QueryMeta, error) {
	var out struct {
		PipelineRevisions []*PipelineRevision `json:"pipelineRevisions"`
	}
	qm, err := p.client.connectQuery(method, in, &out, q)
	if err != nil {
		return nil, nil, err
	}
	if out.PipelineRevisions == nil {
		out.PipelineRevisions = []*PipelineRevision{}
	}
	return out.PipelineRevisions, qm, nil
}

// GetRevision returns the pipeline revision with revisionID
// (GetPipelineRevision).
func (p *Pipelines) GetRevision(revisionID string, q *QueryOptions) (*PipelineRevision, *QueryMeta, error) {
	if revisionID == "" {
		return nil, nil, errors.New("pipeline revision ID must not be empty")
	}
	var out PipelineRevision
	qm, err := p.client.connectQuery("GetPipelineRevision", map[string]string{"revisionId": revisionID}, &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// ConnectError is an error answer of the Connect family (the pipeline
// API): a non-200 status whose body is {"code":"not_found","message":"..."}.
// When the body carries no code, the code is inferred from the status as
// Connect clients do (404 reads as unimplemented, 403 as
// permission_denied). Use errors.As with a value of this type:
//
//	var ce api.ConnectError
//	if errors.As(err, &ce) && ce.Code() == api.ConnectCodeNotFound { ... }
//
// or the IsNotFound and IsAlreadyExists helpers.
type ConnectError struct {
	statusCode int
	code       string
	message    string
	err        error
}

// newConnectError builds the error of an answer with status code and body
// b; readErr is the error met while reading the body, if any.
func newConnectError(status int, b []byte, readErr error) ConnectError {
	e := ConnectError{statusCode: status, err: readErr}
	var wire struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &wire) == nil && wire.Code != "" {
		e.code, e.message = wire.Code, wire.Message
		return e
	}
	e.code = connectCodeFromHTTP(status)
	e.message = strings.TrimSpace(string(b))
	return e
}

// connectCodeFromHTTP is the code a Connect client infers from the status
// of an error answer without one.
func connectCodeFromHTTP(status int) string {
	switch status {
	case http.StatusBadRequest:
		return ConnectCodeInternal
	case http.StatusUnauthorized:
		return ConnectCodeUnauthenticated
	case http.StatusForbidden:
		return ConnectCodePermissionDenied
	case http.StatusNotFound:
		return ConnectCodeUnimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return ConnectCodeUnavailable
	default:
		return ConnectCodeUnknown
	}
}

// StatusCode is the HTTP status of the answer, such as 404.
func (e ConnectError) StatusCode() int { return e.statusCode }

// Code is the Connect code, such as "not_found"; see the ConnectCode
// constants.
func (e ConnectError) Code() string { return e.code }

// Message is the server's error message.
func (e ConnectError) Message() string { return e.message }

// Error reads "not_found: pipeline 7 not found", as connect-go writes
// errors, or the bare code when there is no message.
func (e ConnectError) Error() string {
	msg := e.code
	if e.message != "" {
		msg += ": " + e.message
	}
	if e.err != nil {
		msg += fmt.Sprintf(": reading body: %v", e.err)
	}
	return msg
}

// Unwrap returns the error met while reading the body, if any.
func (e ConnectError) Unwrap() error { return e.err }

// IsNotFound reports whether err is an answer saying the object does not
// exist, in any API family: a ConnectError with code not_found, or an
// EnvelopeError or UnexpectedResponseError with status 404.
func IsNotFound(err error) bool {
	var ce ConnectError
	if errors.As(err, &ce) {
		return ce.code == ConnectCodeNotFound
	}
	return errorStatus(err) == http.StatusNotFound
}

// IsAlreadyExists reports whether err is an answer saying the object
// already exists: a ConnectError with code already_exists, or an
// EnvelopeError or UnexpectedResponseError with status 409.
func IsAlreadyExists(err error) bool {
	var ce ConnectError
	if errors.As(err, &ce) {
		return ce.code == ConnectCodeAlreadyExists
	}
	return errorStatus(err) == http.StatusConflict
}

// errorStatus returns the HTTP status of an EnvelopeError or
// UnexpectedResponseError in err's chain, or 0.
func errorStatus(err error) int {
	var ee EnvelopeError
	if errors.As(err, &ee) {
		return ee.statusCode
	}
	var ure UnexpectedResponseError
	if errors.As(err, &ure) {
		return ure.statusCode
	}
	return 0
}

// connectRequest starts a Connect unary call of the pipeline service
// method (or of the full procedure path method, starting with "/") with
// in as its JSON body; nil sends the empty message {}.
func (c *Client) connectRequest(method string, in any) (*request, error) {
	path := method
	if !strings.HasPrefix(path, "/") { // a bare method is the pipeline service's
		path = pipelineService + method
	}
	r, err := c.newRequest(http.MethodPost, path)
	if err != nil {
		return nil, err
	}
	body := []byte("{}")
	if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("encoding request body: %w", err)
		}
	}
	r.body = bytes.NewReader(body)
	r.header = http.Header{
		"Content-Type":             {"application/json"},
		"Connect-Protocol-Version": {"1"},
	}
	return r, nil
}

// connectQuery runs the read RPC method and decodes its answer into out.
func (c *Client) connectQuery(method string, in, out any, q *QueryOptions) (*QueryMeta, error) {
	r, err := c.connectRequest(method, in)
	if err != nil {
		return nil, err
	}
	r.setQueryOptions(q)
	rtt, resp, err := c.doConnect(r, out)
	if err != nil {
		return nil, err
	}
	qm := &QueryMeta{RequestTime: rtt}
	parseQueryMeta(resp, qm)
	return qm, nil
}

// connectWrite runs the write RPC method and decodes its answer into out
// (nil to ignore it).
func (c *Client) connectWrite(method string, in, out any, w *WriteOptions) (*WriteMeta, error) {
	r, err := c.connectRequest(method, in)
	if err != nil {
		return nil, err
	}
	r.setWriteOptions(w)
	rtt, resp, err := c.doConnect(r, out)
	if err != nil {
		return nil, err
	}
	return writeMeta(rtt, resp), nil
}

// doConnect sends r and decodes a 200 answer into out (nil to ignore it);
// any other status is a ConnectError. The returned response's body is
// already closed.
func (c *Client) doConnect(r *request, out any) (time.Duration, *http.Response, error) {
	rtt, resp, err := c.doRequest(r)
	if err != nil {
		return rtt, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return rtt, nil, newConnectError(resp.StatusCode, b, err)
	}
	if out == nil {
		return rtt, resp, nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return rtt, nil, fmt.Errorf("reading response: %w", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return rtt, resp, nil // an empty message
	}
	if err := json.Unmarshal(b, out); err != nil {
		return rtt, nil, fmt.Errorf("decoding response: %w", err)
	}
	return rtt, resp, nil
}
