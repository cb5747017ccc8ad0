package structs

import "time"

// HostMetrics is spec 004's ingest payload (POST /api/metrics/ingest), with
// the spec's JSON names. Every top-level field is optional in the spec: a
// number that is not known (the first CPU reading, a figure the platform
// does not have) is left out (nil), never sent as a made-up 0.
type HostMetrics struct {
	CPUPercent     *float64 `json:"cpuPercent,omitempty"`
	MemoryUsedMb   *float64 `json:"memoryUsedMb,omitempty"`
	MemoryTotalMb  *float64 `json:"memoryTotalMb,omitempty"`
	SwapUsedMb     *float64 `json:"swapUsedMb,omitempty"`
	SwapTotalMb    *float64 `json:"swapTotalMb,omitempty"`
	DiskUsedGb     *float64 `json:"diskUsedGb,omitempty"`
	DiskTotalGb    *float64 `json:"diskTotalGb,omitempty"`
	LoadAvg1       *float64 `json:"loadAvg1,omitempty"`
	LoadAvg5       *float64 `json:"loadAvg5,omitempty"`
	LoadAvg15      *float64 `json:"loadAvg15,omitempty"`
	Uptime         *float64 `json:"uptime,omitempty"` // seconds
	OpenFds        *float64 `json:"openFds,omitempty"`
	MaxFds         *float64 `json:"maxFds,omitempty"`
	TCPEstablished *float64 `json:"tcpEstablished,omitempty"`
	TCPListen      *float64 `json:"tcpListen,omitempty"`
	TCPTimeWait    *float64 `json:"tcpTimeWait,omitempty"`
	TCPCloseWait   *float64 `json:"tcpCloseWait,omitempty"`
	TCPTotal       *float64 `json:"tcpTotal,omitempty"`
	ServerHealthy  *bool    `json:"serverHealthy,omitempty"`
	AgentVersion   *string  `json:"agentVersion,omitempty"`

	Services            []ServiceMetrics     `json:"services,omitempty"`
	ServiceHealthChecks []ServiceHealthCheck `json:"serviceHealthChecks,omitempty"`
	TCPCheckResults     []TCPCheckResult     `json:"tcpCheckResults,omitempty"`
	CertCheckResults    []CertCheckResult    `json:"certCheckResults,omitempty"`
	Containers          []ContainerInfo      `json:"containers,omitempty"`
	TopProcesses        *TopProcesses        `json:"topProcesses,omitempty"`

	// CollectedAt is nomadlike's own addition (the spec has no time for
	// the whole payload): when the agent collected it, so a payload sent
	// late from the agent's buffer lands at its own time. Absent, the
	// server's receive time is used.
	CollectedAt *string `json:"collectedAt,omitempty"`
}

// ServiceMetrics is one container's resource use (services[]).
type ServiceMetrics struct {
	ContainerName string   `json:"containerName"`
	CPUPercent    *float64 `json:"cpuPercent,omitempty"`
	MemoryUsedMb  *float64 `json:"memoryUsedMb,omitempty"`
	MemoryLimitMb *float64 `json:"memoryLimitMb,omitempty"`
	NetworkRxMb   *float64 `json:"networkRxMb,omitempty"`
	NetworkTxMb   *float64 `json:"networkTxMb,omitempty"`
	BlockReadMb   *float64 `json:"blockReadMb,omitempty"`
	BlockWriteMb  *float64 `json:"blockWriteMb,omitempty"`
	RestartCount  *float64 `json:"restartCount,omitempty"`
	State         *string  `json:"state,omitempty"`
	Health        *string  `json:"health,omitempty"`
}

// ServiceHealthCheck is one HTTP check's result (serviceHealthChecks[]).
type ServiceHealthCheck struct {
	ContainerName  string   `json:"containerName"`
	HealthCheckURL string   `json:"healthCheckUrl"`
	Success        bool     `json:"success"`
	StatusCode     *float64 `json:"statusCode,omitempty"`
	DurationMs     *float64 `json:"durationMs,omitempty"`
	// CheckedAt is an RFC 3339 UTC time ("2026-04-15T12:00:00Z").
	CheckedAt *string `json:"checkedAt,omitempty"`
	Error     *string `json:"error,omitempty"`
}

// TCPCheckResult is one TCP connect check's result (tcpCheckResults[]).
type TCPCheckResult struct {
	ContainerName string  `json:"containerName"`
	Host          string  `json:"host"`
	Port          float64 `json:"port"`
	Name          *string `json:"name,omitempty"`
	Success       bool    `json:"success"`
	DurationMs    float64 `json:"durationMs"`
	Error         *string `json:"error,omitempty"`
}

// CertCheckResult is one TLS certificate check's result
// (certCheckResults[]).
type CertCheckResult struct {
	ContainerName   string   `json:"containerName"`
	Host            string   `json:"host"`
	Port            float64  `json:"port"`
	Name            *string  `json:"name,omitempty"`
	Success         bool     `json:"success"`
	DurationMs      float64  `json:"durationMs"`
	ExpiresAt       *string  `json:"expiresAt,omitempty"`
	DaysUntilExpiry *float64 `json:"daysUntilExpiry,omitempty"`
	Issuer          *string  `json:"issuer,omitempty"`
	Subject         *string  `json:"subject,omitempty"`
	Error           *string  `json:"error,omitempty"`
}

// ContainerInfo is one container as Docker lists it (containers[]).
type ContainerInfo struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Image       string            `json:"image"`
	ImageID     string            `json:"imageId"`
	State       string            `json:"state"`
	Status      string            `json:"status"`
	Created     float64           `json:"created"` // unix seconds
	Ports       []ContainerPort   `json:"ports,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Mounts      []ContainerMount  `json:"mounts,omitempty"`
	NetworkMode *string           `json:"networkMode,omitempty"`
}

// ContainerPort is one published or exposed port of a container.
type ContainerPort struct {
	PrivatePort float64  `json:"privatePort"`
	PublicPort  *float64 `json:"publicPort,omitempty"`
	Type        string   `json:"type"`
	IP          *string  `json:"ip,omitempty"`
}

// ContainerMount is one mount of a container.
type ContainerMount struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Mode        string `json:"mode"`
	Type        string `json:"type"`
}

// TopProcesses is the host's busiest processes and its process counts.
type TopProcesses struct {
	ByCPU    []ProcessInfo `json:"byCpu"`
	ByMemory []ProcessInfo `json:"byMemory"`
	Stats    ProcessStats  `json:"stats"`
}

// ProcessInfo is one process of a top list.
type ProcessInfo struct {
	PID        float64 `json:"pid"`
	Name       string  `json:"name"`
	State      string  `json:"state"`
	CPUPercent float64 `json:"cpuPercent"`
	MemoryMb   float64 `json:"memoryMb"`
	Threads    float64 `json:"threads"`
}

// ProcessStats counts the host's processes by state.
type ProcessStats struct {
	Total    float64 `json:"total"`
	Running  float64 `json:"running"`
	Sleeping float64 `json:"sleeping"`
	Stopped  float64 `json:"stopped"`
	Zombie   float64 `json:"zombie"`
}

// Spec 004's error codes.
const (
	IngestValidationError    = "VALIDATION_ERROR"
	IngestUnauthorized       = "UNAUTHORIZED"
	IngestForbiddenScope     = "FORBIDDEN_SCOPE"
	IngestNotFound           = "NOT_FOUND"
	IngestRateLimited        = "RATE_LIMITED"
	IngestServiceUnavailable = "SERVICE_UNAVAILABLE"
	IngestInternal           = "INTERNAL"
)

// IngestError is spec 004's error body. Status is the HTTP status it is
// answered with (not on the wire).
type IngestError struct {
	Status    int    `json:"-" codec:"Status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	Hint      string `json:"hint,omitempty"`
	RequestID string `json:"requestId"`
}

func (e *IngestError) Error() string {
	if e.Field != "" {
		return e.Code + ": " + e.Field + ": " + e.Message
	}
	return e.Code + ": " + e.Message
}

// HostMetricsIngestRequest carries one accepted payload from the server
// (or client agent) that authenticated it to the server that stores it.
// Payload is the body exactly as sent, already validated.
type HostMetricsIngestRequest struct {
	// NodeID and SecretID identify and authenticate the pushing node.
	NodeID   string
	SecretID string
	Payload  []byte
	// ReceivedAt is when the first nomadlike agent got the payload.
	ReceivedAt time.Time
	// RequestID is the X-Request-Id of the push.
	RequestID string
	QueryOptions
}

// HostMetricsIngestResponse answers an accepted push.
type HostMetricsIngestResponse struct {
	NodeID   string
	NodeName string
	// Samples is the number of samples the payload became.
	Samples int
	// Server is the name of the server that stored it.
	Server string
	// Ignored are the paths of the payload's fields the schema does not
	// know, which were not stored.
	Ignored []string `json:",omitempty"`
	// Rejected is set, and nothing stored, when the push is refused in
	// spec 004's error model (bad payload, unknown or foreign token,
	// rate limit, no storage): a refusal is an answer, not an RPC
	// failure, so it crosses the RPC layer with its code and field and
	// the caller never retries it on another server.
	Rejected *IngestError `json:",omitempty"`
}

// HostMetricsLatest is the latest payload a server holds for a node.
type HostMetricsLatest struct {
	NodeID   string
	NodeName string
	// CollectedAt is the payload's time: its collectedAt, or ReceivedAt
	// when it has none. The samples are at this time, and the newest
	// payload by it is the latest.
	CollectedAt time.Time
	// ReceivedAt is when the first nomadlike agent got it.
	ReceivedAt time.Time
	// Server that received it.
	Server  string
	Payload []byte
}

// HostMetricsLatestRequest asks for a node's latest payload.
type HostMetricsLatestRequest struct {
	NodeID string
	// Local asks only the server that receives the request (the fan-out
	// of another server), not its peers.
	Local bool
	QueryOptions
}

// HostMetricsLatestResponse is the newest payload any reachable server
// holds (nil if none), and the servers that could not be asked.
type HostMetricsLatestResponse struct {
	Latest   *HostMetricsLatest
	Warnings []string
	QueryMeta
}

// HostMetricsReadRequest is a Prometheus remote-read request, in its
// protobuf encoding (prompb.ReadRequest), sent by a server to a peer for
// the series in the peer's own TSDB.
type HostMetricsReadRequest struct {
	// Op is HostMetricsReadSelect (series and samples),
	// HostMetricsReadLabelNames or HostMetricsReadLabelValues (of
	// LabelName); the last two take the time range and matchers of
	// ReadRequest's one query and Limit.
	Op          string
	ReadRequest []byte
	LabelName   string
	Limit       int
	QueryOptions
}

// The operations of a HostMetricsReadRequest.
const (
	HostMetricsReadSelect      = "select"
	HostMetricsReadLabelNames  = "label_names"
	HostMetricsReadLabelValues = "label_values"
)

// HostMetricsReadResponse is the peer's prompb.ReadResponse, encoded, or
// the label names or values asked for, with the peer's own warnings.
type HostMetricsReadResponse struct {
	ReadResponse []byte
	Labels       []string
	Warnings     []string
}

// NodeTokenCreateRequest mints an agent token bound to a node name, for a
// host that pushes metrics without a nomadlike agent. The node is created
// (or, when it exists and was made this way, given a new secret). The node
// ID and secret are chosen by the first agent that sees the request, so
// that a retry of the same write mints the same token.
type NodeTokenCreateRequest struct {
	Name       string
	Datacenter string
	NodeID     string
	SecretID   string
	UpdatedAt  int64
	WriteRequest
}

// NodeTokenCreateResponse returns the node and its secret (shown once).
type NodeTokenCreateResponse struct {
	NodeID   string
	Name     string
	SecretID string
	WriteMeta
}
