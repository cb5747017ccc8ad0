package api

import (
	"errors"
	"net/url"
	"time"
)

// collectorService is the path prefix of the collector.v1.CollectorService
// RPCs, the API Grafana Alloy's remotecfg block calls.
const collectorService = "/collector.v1.CollectorService/"

// Collectors is the handle on collectors that are not nomadlike agents
// (Grafana Alloy with a remotecfg block): the collector.v1.CollectorService
// calls a collector makes (Register, GetConfig, Unregister; Connect JSON,
// errors are ConnectError) and the operators' reads (List, Info; errors are
// UnexpectedResponseError).
type Collectors struct {
	client *Client
}

// Collectors returns the handle on the collector endpoints.
func (c *Client) Collectors() *Collectors { return &Collectors{client: c} }

// Collector is a registered collector.
type Collector struct {
	// ID is the collector's own ID (Alloy: its remotecfg id).
	ID string
	// Name is the collector's human-readable name.
	Name string
	// Attributes are the collector's attributes, such as "collector.os".
	Attributes map[string]string
	// CreatedAt is the first registration, UpdatedAt the last one that
	// changed the name or attributes.
	CreatedAt time.Time
	UpdatedAt time.Time
	// CreateIndex and ModifyIndex are the Raft indexes that created and
	// last changed the collector.
	CreateIndex uint64
	ModifyIndex uint64
}

// CollectorStatus is a collector with what GetConfig currently gives it.
type CollectorStatus struct {
	Collector
	// Pipelines names the pipelines merged into its configuration, in
	// merge order (by name).
	Pipelines []string
	// ConfigHash is the hash GetConfig answers with.
	ConfigHash string
}

// CollectorRegistration is what a collector registers (RegisterCollector).
type CollectorRegistration struct {
	ID              string            `json:"id"`
	Name            string            `json:"name,omitempty"`
	LocalAttributes map[string]string `json:"localAttributes,omitempty"`
}

// CollectorConfigRequest is one poll (GetConfig).
type CollectorConfigRequest struct {
	ID string `json:"id"`
	// LocalAttributes select the pipelines; empty means the registered
	// collector's attributes.
	LocalAttributes map[string]string `json:"localAttributes,omitempty"`
	// Hash is the hash of the configuration the caller holds.
	Hash string `json:"hash,omitempty"`
}

// CollectorConfig is a collector's assembled configuration.
type CollectorConfig struct {
	// Content is empty when NotModified.
	Content     string `json:"content"`
	Hash        string `json:"hash"`
	NotModified bool   `json:"notModified"`
}

// Register registers the collector or replaces its name and attributes
// (RegisterCollector). Registering what is already registered writes
// nothing.
func (c *Collectors) Register(reg *CollectorRegistration, w *WriteOptions) (*WriteMeta, error) {
	if reg == nil || reg.ID == "" {
		return nil, errors.New("collector ID must not be empty")
	}
	return c.client.connectWrite(collectorService+"RegisterCollector", reg, nil, w)
}

// Unregister removes the collector (UnregisterCollector); an unknown ID
// is no error.
func (c *Collectors) Unregister(id string, w *WriteOptions) (*WriteMeta, error) {
	if id == "" {
		return nil, errors.New("collector ID must not be empty")
	}
	return c.client.connectWrite(collectorService+"UnregisterCollector", map[string]string{"id": id}, nil, w)
}

// GetConfig returns the collector's configuration (GetConfig): the merged
// contents of every enabled pipeline whose matchers match it.
func (c *Collectors) GetConfig(req *CollectorConfigRequest, q *QueryOptions) (*CollectorConfig, *QueryMeta, error) {
	if req == nil || req.ID == "" {
		return nil, nil, errors.New("collector ID must not be empty")
	}
	var out CollectorConfig
	qm, err := c.client.connectQuery(collectorService+"GetConfig", req, &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// List returns the registered collectors in ID order (GET /v1/collectors);
// q.Prefix filters by ID prefix. An empty result is an empty slice.
func (c *Collectors) List(q *QueryOptions) ([]*Collector, *QueryMeta, error) {
	var out []*Collector
	qm, err := c.client.query("/v1/collectors", &out, q)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		out = []*Collector{}
	}
	return out, qm, nil
}

// Info returns the collector with its pipelines and config hash
// (GET /v1/collector/{id}).
func (c *Collectors) Info(id string, q *QueryOptions) (*CollectorStatus, *QueryMeta, error) {
	if id == "" {
		return nil, nil, errors.New("collector ID must not be empty")
	}
	var out CollectorStatus
	qm, err := c.client.query("/v1/collector/"+url.PathEscape(id), &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}
