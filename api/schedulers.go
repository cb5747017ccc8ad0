package api

// SchedulerWorkerPoolArgs is a server's scheduler worker pool: how many
// workers, and which scheduler types ("pipeline", "config", "_core";
// "_core" is required) they run.
type SchedulerWorkerPoolArgs struct {
	NumSchedulers     int      `json:"num_schedulers"`
	EnabledSchedulers []string `json:"enabled_schedulers"`
}

// SchedulerWorkerPoolConfig is the pool's configuration as a server
// reports it, with the server's gossip name.
type SchedulerWorkerPoolConfig struct {
	ServerID string `json:"server_id"`
	SchedulerWorkerPoolArgs
}

// AgentSchedulerWorkersInfo is the answer of /v1/agent/schedulers.
type AgentSchedulerWorkersInfo struct {
	// ServerID is the answering server's gossip name.
	ServerID   string                     `json:"server_id"`
	Schedulers []AgentSchedulerWorkerInfo `json:"schedulers"`
}

// AgentSchedulerWorkerInfo is one scheduler worker.
type AgentSchedulerWorkerInfo struct {
	ID                string   `json:"id"`
	EnabledSchedulers []string `json:"enabled_schedulers"`
	// Started is when the worker started (RFC 3339, UTC).
	Started string `json:"started"`
	// Status is Starting, Started, Paused (a follower's workers),
	// Stopping or Stopped.
	Status string `json:"status"`
	// WorkloadStatus is what it is doing: WaitingToDequeue, Scheduling,
	// Submitting, Backoff, Paused or Stopped.
	WorkloadStatus string `json:"workload_status"`
}

// GetSchedulerWorkersInfo lists the agent's scheduler workers
// (GET /v1/agent/schedulers; servers only).
func (a *Agent) GetSchedulerWorkersInfo(q *QueryOptions) (*AgentSchedulerWorkersInfo, error) {
	var out AgentSchedulerWorkersInfo
	if _, err := a.client.query("/v1/agent/schedulers", &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSchedulerWorkerConfig reads the worker pool's configuration
// (GET /v1/agent/schedulers/config; servers only).
func (a *Agent) GetSchedulerWorkerConfig(q *QueryOptions) (*SchedulerWorkerPoolConfig, error) {
	var out SchedulerWorkerPoolConfig
	if _, err := a.client.query("/v1/agent/schedulers/config", &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetSchedulerWorkerConfig resizes and re-types the worker pool until the
// next change or restart (PUT /v1/agent/schedulers/config) and returns
// the configuration in effect after it.
func (a *Agent) SetSchedulerWorkerConfig(args SchedulerWorkerPoolArgs, q *WriteOptions) (*SchedulerWorkerPoolConfig, error) {
	var out SchedulerWorkerPoolConfig
	if _, err := a.client.put("/v1/agent/schedulers/config", &args, &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}
