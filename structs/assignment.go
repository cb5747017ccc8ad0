package structs

import (
	"maps"
	"slices"
	"time"
)

// NodeAssignment is what the scheduler workers decided a client node runs,
// and what the node last reported applying. The pipeline scheduler owns
// PipelineIDs and Hash, the config scheduler owns Configs, the node owns
// the Applied fields; each writes only its own part.
type NodeAssignment struct {
	NodeID string
	// PipelineIDs are the enabled pipelines whose matchers all match the
	// node, in the order their contents are merged (by name).
	PipelineIDs []string
	// Hash is MergePipelines' hash of those pipelines' contents.
	Hash string
	// Configs are the agent instance configs the node runs, by name.
	Configs []string
	// AppliedHash is the hash of the pipeline file the node last wrote
	// (and reloaded), AppliedError why its last attempt failed.
	AppliedHash  string
	AppliedError string
	AppliedAt    time.Time
	// Instances are the metrics instances the node last reported running
	// (its assigned configs and its local ones), with their targets'
	// health.
	Instances []*MetricsInstanceStatus
	// AssignIndex is the raft index at which what the node is told to run
	// (PipelineIDs, Hash, Configs) last changed; ModifyIndex moves with
	// the node's own reports too.
	AssignIndex uint64
	CreateIndex uint64
	ModifyIndex uint64
}

// WatchIndex is the index a node's assignment watch blocks on: a change
// of what the node runs wakes it, the node's own applied report does not
// (it would answer the node with what it already has, once per report).
// Rows written before AssignIndex existed fall back to ModifyIndex.
func (a *NodeAssignment) WatchIndex() uint64 {
	if a.AssignIndex != 0 {
		return a.AssignIndex
	}
	return a.ModifyIndex
}

// Applied tells whether the node runs what it is assigned.
func (a *NodeAssignment) Applied() bool {
	return a != nil && a.AppliedError == "" && a.AppliedHash == a.Hash
}

// Copy returns a deep copy.
func (a *NodeAssignment) Copy() *NodeAssignment {
	if a == nil {
		return nil
	}
	c := *a
	c.PipelineIDs = slices.Clone(a.PipelineIDs)
	c.Configs = slices.Clone(a.Configs)
	c.Instances = make([]*MetricsInstanceStatus, len(a.Instances))
	for i, in := range a.Instances {
		cp := *in
		c.Instances[i] = &cp
	}
	if a.Instances == nil {
		c.Instances = nil
	}
	return &c
}

// MetricsInstanceStatus is one metrics instance as its node reports it.
type MetricsInstanceStatus struct {
	Name string
	// Source is "assigned" (a config of the config API) or "local" (the
	// agent's own config).
	Source string
	// State is running, draining (stopped, still sending its WAL) or
	// failed.
	State          string
	Error          string
	TargetsUp      int
	TargetsDown    int
	TargetsUnknown int
	// LastError is one down target's scrape error.
	LastError string
}

// Equal tells whether two reports say the same.
func (s *MetricsInstanceStatus) Equal(o *MetricsInstanceStatus) bool {
	return s == o || (s != nil && o != nil && *s == *o)
}

// Scheduler types, the values of enabled_schedulers.
const (
	// SchedulerPipeline matches pipelines against nodes.
	SchedulerPipeline = "pipeline"
	// SchedulerConfig shards agent instance configs over ready nodes.
	SchedulerConfig = "config"
	// SchedulerCore garbage-collects nodes and enforces revision
	// retention. It must always be enabled, as in Nomad.
	SchedulerCore = "_core"
)

// SchedulerTypes are every scheduler a worker can run.
var SchedulerTypes = []string{SchedulerPipeline, SchedulerConfig, SchedulerCore}

// AssignmentKind says which part of a NodeAssignment an update writes.
type AssignmentKind string

const (
	AssignPipelines AssignmentKind = "pipelines"
	AssignConfigs   AssignmentKind = "configs"
)

// AssignmentUpdate is one node's new pipelines (with their hash) or
// configs.
type AssignmentUpdate struct {
	NodeID      string
	PipelineIDs []string
	Hash        string
	Configs     []string
}

// NodeAssignmentUpsertRequest is a scheduler worker's decision for many
// nodes at once (NodeAssignmentUpsertRequestType). Updates for nodes that
// no longer exist are skipped by the FSM.
type NodeAssignmentUpsertRequest struct {
	Kind    AssignmentKind
	Updates []AssignmentUpdate
	// EvalID is the evaluation that decided it, for the log.
	EvalID string
	WriteRequest
}

// NodeAssignmentAppliedRequest is a node's report of what it applied
// (NodeAssignmentAppliedRequestType).
type NodeAssignmentAppliedRequest struct {
	NodeID   string
	SecretID string
	Hash     string
	Error    string
	// Instances are the node's metrics instances now.
	Instances []*MetricsInstanceStatus
	// AppliedAt is decided by the server that takes the report.
	AppliedAt time.Time
	WriteRequest
}

// NodeAssignmentAppliedBatchRequest is the applied reports a leader took
// while its previous batch was in raft
// (NodeAssignmentAppliedBatchRequestType). They apply in order, each as
// its NodeAssignmentAppliedRequest would alone.
type NodeAssignmentAppliedBatchRequest struct {
	Reports []*NodeAssignmentAppliedRequest
	WriteRequest
}

// NodeAssignmentRequest reads one node's assignment; a blocking query. A
// node reads its own with its SecretID, anyone else needs node:read.
type NodeAssignmentRequest struct {
	NodeID   string
	SecretID string
	QueryOptions
}

// AssignedPipeline is a pipeline as its node needs it.
type AssignedPipeline struct {
	ID          string
	Name        string
	Contents    string
	ModifyIndex uint64
}

// AssignedConfig is an agent instance config as its node needs it.
type AssignedConfig struct {
	Name string
	// Kind is the config's kind (ConfigKindMetrics or ConfigKindLogs).
	Kind        string
	Contents    string
	ModifyIndex uint64
}

// NodeAssignmentResponse is a node's assignment with the contents of its
// pipelines and configs, read from the same state snapshot.
type NodeAssignmentResponse struct {
	Assignment *NodeAssignment
	// Pipelines are the assigned pipelines in PipelineIDs order; one that
	// was deleted since the assignment was written is left out.
	Pipelines []*AssignedPipeline
	// Configs are the assigned configs in Configs order, likewise.
	Configs []*AssignedConfig
	QueryMeta
}

// Merged is the text the node runs for the assignment's pipelines as they
// are now, and its hash (MergePipelines).
func (r *NodeAssignmentResponse) Merged() (content, hash string) {
	ps := make([]*Pipeline, 0, len(r.Pipelines))
	for _, p := range r.Pipelines {
		ps = append(ps, &Pipeline{ID: p.ID, Name: p.Name, Contents: p.Contents})
	}
	return MergePipelines(ps)
}

// Evaluation asks one scheduler type to reconcile a part of the cluster.
// Evaluations live in the leader's broker only: what they decide is a
// function of the replicated state, so a new leader re-creates them from
// that state instead of reading them from the log.
type Evaluation struct {
	ID string
	// Type is the scheduler that handles it (SchedulerPipeline, ...).
	Type string
	// Key is the object it reconciles; the broker keeps one outstanding
	// evaluation per (Type, Key).
	Key string
	// NodeIDs limits a pipeline evaluation to these nodes; empty is all.
	NodeIDs map[string]struct{}
	// TriggeredBy says why it was created (node-update, pipeline-update,
	// leader-establish, periodic, ...).
	TriggeredBy string
	// StateIndex is the state index that triggered it, for the log.
	StateIndex uint64
	CreateTime time.Time
}

// Copy returns a deep copy.
func (e *Evaluation) Copy() *Evaluation {
	c := *e
	c.NodeIDs = maps.Clone(e.NodeIDs)
	return &c
}

// Merge folds a later evaluation for the same (Type, Key) into e.
func (e *Evaluation) Merge(later *Evaluation) {
	if len(e.NodeIDs) == 0 || len(later.NodeIDs) == 0 {
		e.NodeIDs = nil
	} else {
		maps.Copy(e.NodeIDs, later.NodeIDs)
	}
	e.StateIndex = max(e.StateIndex, later.StateIndex)
	if later.TriggeredBy != e.TriggeredBy && later.TriggeredBy != "" {
		e.TriggeredBy = later.TriggeredBy
	}
}

// SchedulerWorkerInfo is one worker as /v1/agent/schedulers lists it, with
// Nomad's keys.
type SchedulerWorkerInfo struct {
	ID                string   `json:"id"`
	EnabledSchedulers []string `json:"enabled_schedulers"`
	Started           string   `json:"started"`
	Status            string   `json:"status"`
	WorkloadStatus    string   `json:"workload_status"`
}

// SchedulerWorkerPoolArgs is the worker pool's size and scheduler types.
type SchedulerWorkerPoolArgs struct {
	NumSchedulers     int      `json:"num_schedulers"`
	EnabledSchedulers []string `json:"enabled_schedulers"`
}

// RevisionPruneRequest deletes the listed pipeline and config revisions,
// by sequence number (RevisionPruneRequestType): the _core scheduler's
// enforcement of revision_retention.
type RevisionPruneRequest struct {
	PipelineSeqs []uint64
	ConfigSeqs   []uint64
	WriteRequest
}
