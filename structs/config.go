package structs

import "time"

// The kinds of instance config. Grafana Agent's config management API
// stores metrics instance configs only; nomadlike stores logs instance
// configs beside them, in the same table, names shared (one name, one
// config), assigned to nodes by the same scheduler.
const (
	ConfigKindMetrics = "metrics_instance_config"
	ConfigKindLogs    = "logs_instance_config"
)

// NormalizeConfigKind is kind, with "" (a config stored before kinds
// existed, a request that names none) read as a metrics config.
func NormalizeConfigKind(kind string) string {
	if kind == "" {
		return ConfigKindMetrics
	}
	return kind
}

// InstanceConfig is a Grafana Agent metrics instance config stored by name
// (the config management API of Grafana Agent's scraping service), or a
// logs instance config (Kind).
type InstanceConfig struct {
	Name string
	// Kind is ConfigKindMetrics ("" in configs stored before kinds
	// existed) or ConfigKindLogs.
	Kind string
	// Contents is the normalized YAML: the body's name replaced by Name,
	// defaults filled in, secrets in clear (reads scrub them).
	Contents string
	// JobNames are the scrape job names of Contents; a job name belongs
	// to one config only.
	JobNames    []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CreateIndex uint64
	ModifyIndex uint64
}

// ConfigRevision records one change to a config, in the same raft apply as
// the change; same shape as PipelineRevision.
type ConfigRevision struct {
	Seq        uint64
	RevisionID string
	Name       string
	Snapshot   *InstanceConfig
	CreatedAt  time.Time
	Operation  string
	Index      uint64
}

// ConfigApplyRequest puts Config (Delete false) or deletes the config
// named Name (Delete true). Now stamps the change and its revision.
type ConfigApplyRequest struct {
	Config *InstanceConfig
	Name   string
	Delete bool
	// Kind is the kind a delete is for: a config of another kind is
	// not found. "" is a metrics config.
	Kind string
	Now  time.Time
	WriteRequest
}

// ConfigApplyResponse tells a put whether it created the config.
type ConfigApplyResponse struct {
	Created bool
	WriteMeta
}

// ConfigSpecificRequest reads one config, or its revisions, or lists the
// configs, of one Kind ("" is a metrics config).
type ConfigSpecificRequest struct {
	Name string
	Kind string
	QueryOptions
}

// SingleConfigResponse is one config; nil when not found.
type SingleConfigResponse struct {
	Config *InstanceConfig
	QueryMeta
}

// ConfigListResponse lists configs ordered by name.
type ConfigListResponse struct {
	Configs []*InstanceConfig
	QueryMeta
}

// ConfigRevisionsResponse lists a config's revisions in order.
type ConfigRevisionsResponse struct {
	Revisions []*ConfigRevision
	QueryMeta
}

// ConfigNodeStatus is one node that is assigned a config, or runs it.
type ConfigNodeStatus struct {
	NodeID     string
	NodeName   string
	NodeStatus string
	// Instance is what the node last reported of the config's instance;
	// nil when it has not reported it yet.
	Instance *MetricsInstanceStatus
}

// ConfigStatusResponse says where a config runs and how its targets are.
type ConfigStatusResponse struct {
	Name string
	// Nodes are the nodes assigned the config, by node name.
	Nodes []*ConfigNodeStatus
	QueryMeta
}
