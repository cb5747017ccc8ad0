package api

import (
	"encoding/json"
	"errors"
	"net/url"
	"time"
)

// HostMetrics is spec 004's host metrics payload, as a node pushes it to
// POST /api/metrics/ingest. Every top-level figure is optional: a pointer
// is nil when the node did not report it (a figure it could not read is
// left out, never sent as 0).
type HostMetrics struct {
	CPUPercent    *float64 `json:"cpuPercent,omitempty"`
	MemoryUsedMb  *float64 `json:"memoryUsedMb,omitempty"`
	MemoryTotalMb *float64 `json:"memoryTotalMb,omitempty"`
	SwapUsedMb    *float64 `json:"swapUsedMb,omitempty"`
	SwapTotalMb   *float64 `json:"swapTotalMb,omitempty"`
	DiskUsedGb    *float64 `json:"diskUsedGb,omitempty"`
	DiskTotalGb   *float64 `json:"diskTotalGb,omitempty"`
	LoadAvg1      *float64 `json:"loadAvg1,omitempty"`
	LoadAvg5      *float64 `json:"loadAvg5,omitempty"`
	LoadAvg15     *float64 `json:"loadAvg15,omitempty"`
	// Uptime is in seconds.
	Uptime         *float64 `json:"uptime,omitempty"`
	OpenFds        *float64 `json:"openFds,omitempty"`
	MaxFds         *float64 `json:"maxFds,omitempty"`
	TCPEstablished *float64 `json:"tcpEstablished,omitempty"`
	TCPListen      *float64 `json:"tcpListen,omitempty"`
	TCPTimeWait    *float64 `json:"tcpTimeWait,omitempty"`
	TCPCloseWait   *float64 `json:"tcpCloseWait,omitempty"`
	TCPTotal       *float64 `json:"tcpTotal,omitempty"`
	// ServerHealthy is the node's own view that a server answers it.
	ServerHealthy *bool   `json:"serverHealthy,omitempty"`
	AgentVersion  *string `json:"agentVersion,omitempty"`

	Services            []ServiceMetrics     `json:"services,omitempty"`
	ServiceHealthChecks []ServiceHealthCheck `json:"serviceHealthChecks,omitempty"`
	TCPCheckResults     []TCPCheckResult     `json:"tcpCheckResults,omitempty"`
	CertCheckResults    []CertCheckResult    `json:"certCheckResults,omitempty"`
	Containers          []ContainerInfo      `json:"containers,omitempty"`
	TopProcesses        *TopProcesses        `json:"topProcesses,omitempty"`

	// CollectedAt is when the node collected the payload (RFC 3339), a
	// nomadlike addition to the spec; nil from other senders.
	CollectedAt *string `json:"collectedAt,omitempty"`
}

// ServiceMetrics is one running container's resource use (services[]).
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
	// CheckedAt is an RFC 3339 time.
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
	ID      string `json:"id"`
	Name    string `json:"name"`
	Image   string `json:"image"`
	ImageID string `json:"imageId"`
	State   string `json:"state"`
	Status  string `json:"status"`
	// Created is in Unix seconds.
	Created     float64           `json:"created"`
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

// ProcessInfo is one process of a top list. CPUPercent is top(1)'s: 100
// is one CPU.
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

// NodeMetrics is the latest host metrics payload the servers hold for a
// node (GET /v1/node/{id}/metrics).
type NodeMetrics struct {
	NodeID   string
	NodeName string
	// CollectedAt is the payload's time: its collectedAt, or when it was
	// received. ReceivedAt is when the first nomadlike agent got it.
	CollectedAt time.Time
	ReceivedAt  time.Time
	// Server is the name of the server that received it.
	Server string
	// Payload is the payload decoded (nil if the answer had none).
	Payload *HostMetrics `json:"-"`
	// Raw is the payload's bytes as the node sent them; in JSON it is
	// "Payload", so a NodeMetrics encodes as the endpoint's answer.
	Raw json.RawMessage `json:"Payload"`
	// Warnings name the servers that could not be asked: a newer payload
	// may be on one of them.
	Warnings []string
}

// Metrics returns the latest host metrics of the node with the full ID
// nodeID (GET /v1/node/{id}/metrics). A node that is not registered, or
// has not pushed metrics, is an UnexpectedResponseError with status 404.
func (n *Nodes) Metrics(nodeID string, q *QueryOptions) (*NodeMetrics, *QueryMeta, error) {
	if nodeID == "" {
		return nil, nil, errors.New("node ID must not be empty")
	}
	var out NodeMetrics
	qm, err := n.client.query("/v1/node/"+url.PathEscape(nodeID)+"/metrics", &out, q)
	if err != nil {
		return nil, nil, err
	}
	if len(out.Raw) > 0 && string(out.Raw) != "null" {
		out.Payload = &HostMetrics{}
		if err := json.Unmarshal(out.Raw, out.Payload); err != nil {
			return nil, nil, errors.New("decoding the host metrics payload: " + err.Error())
		}
	}
	return &out, qm, nil
}
