package structs

import (
	"maps"
	"net/http"
	"time"
	"unicode/utf8"
)

// Limits of a registered collector, Fleet Management's published ones for
// attributes; the ID and name bounds keep one raft entry small.
const (
	MaxCollectorIDBytes        = 256
	MaxCollectorNameBytes      = 256
	MaxCollectorAttributes     = 256
	MaxCollectorAttrKeyChars   = 100
	MaxCollectorAttrValueChars = 150
)

// Collector is a telemetry collector that is not a nomadlike agent (such as
// Grafana Alloy with a remotecfg block) and registered itself through
// collector.v1.CollectorService. It is replicated desired state: the
// attributes decide which pipelines GetConfig hands it.
type Collector struct {
	// ID is chosen by the collector (Alloy: its remotecfg id).
	ID string
	// Name is the collector's human-readable name; may be empty.
	Name string
	// Attributes are the collector's own attributes (collector.os,
	// collector.version, user attributes): the request's attributes
	// overlaid by its local_attributes.
	Attributes map[string]string
	// CreatedAt is the first registration, UpdatedAt the last one that
	// changed something.
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a deep copy.
func (c *Collector) Copy() *Collector {
	if c == nil {
		return nil
	}
	out := *c
	out.Attributes = maps.Clone(c.Attributes)
	return &out
}

// SameRegistration reports whether o registers exactly what c holds (name
// and attributes), so that re-registering it changes nothing.
func (c *Collector) SameRegistration(o *Collector) bool {
	return c != nil && o != nil && c.ID == o.ID && c.Name == o.Name &&
		len(c.Attributes) == len(o.Attributes) && maps.Equal(c.Attributes, o.Attributes)
}

// Validate checks what a collector sends at registration.
func (c *Collector) Validate() error {
	if c == nil {
		return NewErrCoded(http.StatusBadRequest, "missing collector")
	}
	if err := ValidateCollectorID(c.ID); err != nil {
		return err
	}
	if len(c.Name) > MaxCollectorNameBytes {
		return NewErrCoded(http.StatusBadRequest, "collector name is %d bytes, at most %d", len(c.Name), MaxCollectorNameBytes)
	}
	return ValidateCollectorAttributes(c.Attributes)
}

// ValidateCollectorID checks a collector ID: required, bounded.
func ValidateCollectorID(id string) error {
	switch {
	case id == "":
		return NewErrCoded(http.StatusBadRequest, "collector id is required")
	case len(id) > MaxCollectorIDBytes:
		return NewErrCoded(http.StatusBadRequest, "collector id is %d bytes, at most %d", len(id), MaxCollectorIDBytes)
	}
	return nil
}

// ValidateCollectorAttributes checks attributes against Fleet Management's
// limits (key at most 100 characters, value at most 150, no empty key),
// in valid UTF-8, which is what makes a count of characters mean
// anything. It is the one check of attributes, wherever they come from.
func ValidateCollectorAttributes(attrs map[string]string) error {
	if len(attrs) > MaxCollectorAttributes {
		return NewErrCoded(http.StatusBadRequest, "%d attributes, at most %d", len(attrs), MaxCollectorAttributes)
	}
	for k, v := range attrs {
		switch {
		case k == "":
			return NewErrCoded(http.StatusBadRequest, "attribute with an empty key")
		case len([]rune(k)) > MaxCollectorAttrKeyChars:
			return NewErrCoded(http.StatusBadRequest, "attribute key %q is longer than %d characters", k, MaxCollectorAttrKeyChars)
		case len([]rune(v)) > MaxCollectorAttrValueChars:
			return NewErrCoded(http.StatusBadRequest, "attribute %q: value is longer than %d characters", k, MaxCollectorAttrValueChars)
		case !utf8.ValidString(k) || !utf8.ValidString(v):
			return NewErrCoded(http.StatusBadRequest, "attribute %q: key and value must be valid UTF-8", k)
		}
	}
	return nil
}

// CollectorRegisterRequest registers a collector or replaces its name and
// attributes. Now stamps the change (decided before raft).
type CollectorRegisterRequest struct {
	Collector *Collector
	Now       time.Time
	WriteRequest
}

// CollectorRegisterResponse is the collector as stored. Index is the raft
// index of the write, or the collector's ModifyIndex when nothing changed
// and nothing was written.
type CollectorRegisterResponse struct {
	Collector *Collector
	WriteMeta
}

// CollectorUnregisterRequest removes a collector.
type CollectorUnregisterRequest struct {
	ID string
	WriteRequest
}

// CollectorSpecificRequest reads one collector.
type CollectorSpecificRequest struct {
	ID string
	QueryOptions
}

// SingleCollectorResponse is one collector; nil when not registered.
type SingleCollectorResponse struct {
	Collector *Collector
	QueryMeta
}

// CollectorListRequest lists collectors (QueryOptions.Prefix filters by ID).
type CollectorListRequest struct {
	QueryOptions
}

// CollectorListResponse lists collectors ordered by ID.
type CollectorListResponse struct {
	Collectors []*Collector
	QueryMeta
}

// CollectorGetConfigRequest asks for a collector's assembled configuration.
type CollectorGetConfigRequest struct {
	ID string
	// Attributes are the ones the collector sent with the poll; nil means
	// "use the registered collector's".
	Attributes map[string]string
	// Hash is the hash of the configuration the collector holds.
	Hash string
	QueryOptions
}

// CollectorGetConfigResponse is the configuration: the merge of every
// enabled pipeline that matches the collector (MergePipelines).
type CollectorGetConfigResponse struct {
	// Content is empty when NotModified.
	Content     string
	Hash        string
	NotModified bool
	// Pipelines names the merged pipelines, in merge order.
	Pipelines []string
	// Attributes are the attributes the pipelines were matched against.
	Attributes map[string]string
	// Registered tells whether the collector is registered.
	Registered bool
	QueryMeta
}

// CollectorStatus is what GET /v1/collector/{id} answers: the registered
// collector and what it currently gets from GetConfig.
type CollectorStatus struct {
	*Collector
	// Pipelines names the pipelines GetConfig merges for it, in merge
	// order.
	Pipelines []string
	// ConfigHash is the hash GetConfig answers with.
	ConfigHash string
}
