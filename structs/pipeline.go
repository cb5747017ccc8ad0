package structs

import (
	"encoding/json"
	"time"
)

// Revision operations, as Fleet Management names them.
const (
	RevisionInsert = "INSERT"
	RevisionUpdate = "UPDATE"
	RevisionDelete = "DELETE"
)

// Pipeline is a self-contained piece of collector configuration assigned
// to collectors whose attributes its matchers match (Fleet Management's
// pipeline.v1.Pipeline).
type Pipeline struct {
	// ID is assigned by the FSM from a counter that never goes back, as a
	// decimal string.
	ID string
	// Name is unique among pipelines.
	Name     string
	Contents string
	// Matchers are Alertmanager matchers, all of which must match.
	Matchers []string
	// Enabled is stored resolved: a request that leaves it unset stores
	// true.
	Enabled bool
	// Metadata is the pipeline's free-form metadata as canonical JSON (a
	// protobuf Struct on the wire); empty when unset.
	Metadata json.RawMessage
	// SourceType and SourceNamespace say which system owns the pipeline
	// (SOURCE_TYPE_GIT, ...); SyncPipelines works on one namespace.
	SourceType      string
	SourceNamespace string
	// ConfigType is CONFIG_TYPE_ALLOY, CONFIG_TYPE_OTEL or empty.
	ConfigType  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CreateIndex uint64
	ModifyIndex uint64
}

// ConfigTypeOTel marks a pipeline written for the OpenTelemetry
// Collector (YAML), not for Alloy.
const ConfigTypeOTel = "CONFIG_TYPE_OTEL"

// Assignable tells whether collectors and client agents get the
// pipeline when its matchers match: it is enabled and written in Alloy's
// syntax (OTel pipelines are for OTel collectors, which neither
// remotecfg nor a node's pipeline file serves).
func (p *Pipeline) Assignable() bool { return p.Enabled && p.ConfigType != ConfigTypeOTel }

// Copy returns a deep copy.
func (p *Pipeline) Copy() *Pipeline {
	if p == nil {
		return nil
	}
	c := *p
	c.Matchers = append([]string(nil), p.Matchers...)
	c.Metadata = append([]byte(nil), p.Metadata...)
	return &c
}

// PipelineRevision records one change to a pipeline, written in the same
// raft apply as the change.
type PipelineRevision struct {
	// Seq orders revisions; RevisionID is its decimal form.
	Seq        uint64
	RevisionID string
	PipelineID string
	// Snapshot is the pipeline after the change (before it, for DELETE).
	Snapshot  *Pipeline
	CreatedAt time.Time
	// Operation is RevisionInsert, RevisionUpdate or RevisionDelete.
	Operation string
	Index     uint64
}

// PipelineOp is what one operation of a PipelineApplyRequest does.
type PipelineOp string

const (
	// PipelineOpCreate inserts; the name must be free.
	PipelineOpCreate PipelineOp = "create"
	// PipelineOpUpdate replaces the pipeline with Pipeline.ID; it must
	// exist and its new name must be free.
	PipelineOpUpdate PipelineOp = "update"
	// PipelineOpUpsert replaces the pipeline of that name or inserts.
	PipelineOpUpsert PipelineOp = "upsert"
	// PipelineOpDelete deletes the pipeline with ID; it must exist.
	PipelineOpDelete PipelineOp = "delete"
)

// PipelineOperation is one step of a PipelineApplyRequest.
type PipelineOperation struct {
	Op PipelineOp
	// Pipeline is the new state for create, update and upsert.
	Pipeline *Pipeline
	// ID names the pipeline to delete.
	ID string
}

// PipelineApplyRequest applies its operations in order, all or none: the
// first that fails (missing ID, taken name) fails the whole request and
// nothing is written. Now stamps every change and revision.
type PipelineApplyRequest struct {
	Operations []*PipelineOperation
	// SyncSource, when set, is a SyncPipelines: the FSM also deletes the
	// pipelines of that source namespace not named in Operations.
	SyncSource *PipelineSyncSource
	// ValidateOnly checks the operations against the state and answers
	// what they would produce, without writing (never sent to raft).
	ValidateOnly bool
	Now          time.Time
	WriteRequest
}

// PipelineSyncSource names the owner whose pipelines SyncPipelines makes
// equal to the given list.
type PipelineSyncSource struct {
	Type      string
	Namespace string
}

// PipelineApplyResponse carries the pipelines as written (create, update,
// upsert) in the order of the operations.
type PipelineApplyResponse struct {
	Pipelines []*Pipeline
	WriteMeta
}

// PipelineSpecificRequest reads one pipeline by ID or by Name.
type PipelineSpecificRequest struct {
	ID   string
	Name string
	QueryOptions
}

// SinglePipelineResponse is one pipeline; nil when not found.
type SinglePipelineResponse struct {
	Pipeline *Pipeline
	QueryMeta
}

// PipelineListRequest lists pipelines, optionally only those that would
// be assigned to a collector with the given attributes.
type PipelineListRequest struct {
	// Attributes, when non-nil, keeps only the pipelines whose matchers
	// match these attributes.
	Attributes map[string]string
	// Enabled and ConfigType filter when set.
	Enabled    *bool
	ConfigType string
	QueryOptions
}

// PipelineListResponse lists pipelines ordered by ID.
type PipelineListResponse struct {
	Pipelines []*Pipeline
	QueryMeta
}

// PipelineRevisionsRequest lists revisions: every pipeline's (without
// contents) when PipelineID is empty, else that pipeline's in full.
type PipelineRevisionsRequest struct {
	PipelineID string
	QueryOptions
}

// PipelineRevisionRequest reads one revision.
type PipelineRevisionRequest struct {
	RevisionID string
	QueryOptions
}

// PipelineRevisionsResponse lists revisions in the order they were made.
type PipelineRevisionsResponse struct {
	Revisions []*PipelineRevision
	QueryMeta
}

// SinglePipelineRevisionResponse is one revision; nil when not found.
type SinglePipelineRevisionResponse struct {
	Revision *PipelineRevision
	QueryMeta
}
