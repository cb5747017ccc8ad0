package agent

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// errServerOnly is Nomad's answer to a server endpoint on a client agent.
var errServerOnly = structs.NewErrCoded(http.StatusBadRequest, "Server only endpoint")

// schedulerWorkersInfo is /v1/agent/schedulers, with Nomad's keys.
type schedulerWorkersInfo struct {
	ServerID   string                        `json:"server_id"`
	Schedulers []structs.SchedulerWorkerInfo `json:"schedulers"`
}

// schedulerConfigResponse is /v1/agent/schedulers/config's answer.
type schedulerConfigResponse struct {
	ServerID string `json:"server_id"`
	structs.SchedulerWorkerPoolArgs
}

// serverID is this server's gossip name, which server_id targets.
func (s *HTTPServer) serverID() string { return s.agent.server.LocalMember().Name }

// AgentSchedulerWorkersInfoRequest lists this server's scheduler workers.
func (s *HTTPServer) AgentSchedulerWorkersInfoRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	if s.agent.server == nil {
		return nil, errServerOnly
	}
	return &schedulerWorkersInfo{ServerID: s.serverID(), Schedulers: s.agent.server.SchedulerWorkersInfo()}, nil
}

// AgentSchedulerWorkerConfigRequest reads (GET) or changes (PUT, POST)
// this server's worker pool. A change lasts until the next change or
// restart, as in Nomad; the answer is the configuration after it.
func (s *HTTPServer) AgentSchedulerWorkerConfigRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if s.agent.server == nil {
		return nil, errServerOnly
	}
	srv := s.agent.server
	switch req.Method {
	case http.MethodGet:
		return &schedulerConfigResponse{ServerID: s.serverID(), SchedulerWorkerPoolArgs: srv.SchedulerWorkerConfig()}, nil
	case http.MethodPut, http.MethodPost:
		body, err := readBody(req, maxJSONBodyBytes)
		if err != nil {
			return nil, err
		}
		if len(body) == 0 {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "Invalid request: Request body is empty")
		}
		var args structs.SchedulerWorkerPoolArgs
		if err := json.Unmarshal(body, &args); err != nil {
			return nil, structs.NewErrCoded(http.StatusBadRequest, "Invalid request: %v", err)
		}
		// The server validates (the bound included) before it
		// changes anything: the same check guards the config file.
		out, err := srv.SetSchedulerWorkerConfig(args)
		if err != nil {
			if errors.Is(err, structs.ErrShutdown) {
				return nil, err
			}
			return nil, structs.NewErrCoded(http.StatusBadRequest, "Invalid request: %v", err)
		}
		return &schedulerConfigResponse{ServerID: s.serverID(), SchedulerWorkerPoolArgs: out}, nil
	}
	return nil, errMethodNotAllowed
}

// NodeAssignmentRequest returns a node's assignment with its pipelines'
// merged contents (blocking with ?index=).
func (s *HTTPServer) NodeAssignmentRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	args := structs.NodeAssignmentRequest{NodeID: req.PathValue("id")}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	var out structs.NodeAssignmentResponse
	if err := s.agent.RPC("Node.GetAssignment", &args, &out); err != nil {
		return nil, err
	}
	setMeta(resp, &out.QueryMeta)
	return newNodeAssignmentView(&out), nil
}

// NodeAssignmentView is GET /v1/node/{id}/assignment.
type NodeAssignmentView struct {
	NodeID      string
	PipelineIDs []string
	Pipelines   []*structs.AssignedPipeline
	Configs     []string
	// Hash is the hash of what the scheduler assigned, Content the
	// merged pipelines as they are now and ContentHash its hash (equal
	// to Hash unless a pipeline changed since the scheduler ran).
	Hash         string
	Content      string
	ContentHash  string
	AppliedHash  string
	AppliedError string
	AppliedAt    string `json:",omitempty"`
	Applied      bool
	// Instances are the metrics instances the node reports running.
	Instances   []*structs.MetricsInstanceStatus
	CreateIndex uint64
	ModifyIndex uint64
}

// newNodeAssignmentView builds the HTTP view of an assignment response.
func newNodeAssignmentView(r *structs.NodeAssignmentResponse) *NodeAssignmentView {
	a := r.Assignment
	content, hash := r.Merged()
	v := &NodeAssignmentView{
		NodeID: a.NodeID, PipelineIDs: nonNil(a.PipelineIDs), Pipelines: r.Pipelines, Configs: nonNil(a.Configs),
		Hash: a.Hash, Content: content, ContentHash: hash, AppliedHash: a.AppliedHash, AppliedError: a.AppliedError,
		Applied: a.Applied(), CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex,
		Instances: a.Instances,
	}
	if v.Instances == nil {
		v.Instances = []*structs.MetricsInstanceStatus{}
	}
	if v.Pipelines == nil {
		v.Pipelines = []*structs.AssignedPipeline{}
	}
	if !a.AppliedAt.IsZero() {
		v.AppliedAt = a.AppliedAt.UTC().Format(time.RFC3339Nano)
	}
	return v
}
