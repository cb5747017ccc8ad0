package assistant

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/hostmetrics"
	"github.com/nomadlike/nomadlike/nomadlike/validate"
	"github.com/nomadlike/nomadlike/structs"
)

// Backend is how the tools reach the server that runs the execution.
type Backend struct {
	// RPC calls the server's own RPC endpoints in-process
	// (nomadlike.Server.RPC). Tools set AuthToken on every args to Token,
	// so the server's own ACL check decides what the caller sees.
	RPC func(method string, args, reply any) error
	// Queryable is the fleet's host metrics for PromQL with the caller's
	// token bound (nomadlike.Server.HostMetricsQueryable(token)); nil means
	// host metrics are not available.
	Queryable func() storage.Queryable
	Token     string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// ForceLeave force-leaves a failed server with the caller's token
	// (the server checks agent:write); nil: the tool is not offered.
	ForceLeave func(name string) error
}

// PermissionError is a tool call the server refused for the caller's
// token (a 403); Capability names what the token lacks.
type PermissionError struct {
	Capability string
	// Reason is set when the refusal is not about a capability (an
	// unknown token).
	Reason string
}

func (e *PermissionError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("permission denied: %s (%s is needed)", e.Reason, e.Capability)
	}
	return "permission denied: this token lacks " + e.Capability
}

// Tool names.
const (
	ToolClusterHealth       = "cluster_health"
	ToolListNodes           = "list_nodes"
	ToolInstances           = "instances_and_targets"
	ToolForceLeave          = "force_leave_server"
	ToolGetNode             = "get_node"
	ToolListPipelines       = "list_pipelines"
	ToolGetPipeline         = "get_pipeline"
	ToolListConfigs         = "list_configs"
	ToolExplainPipeline     = "explain_pipeline_match"
	ToolNodeAssignment      = "node_assignment"
	ToolRecentChanges       = "recent_changes"
	ToolPromQL              = "promql_query"
	ToolTopCPU              = "top_cpu_hosts"
	ToolDisksOver           = "disks_over_threshold"
	ToolFailingChecks       = "failing_checks"
	ToolExpiringCerts       = "expiring_certificates"
	ToolRestartingContainer = "restarting_containers"
	ToolDisablePipeline     = "disable_pipeline"
)

// methodCaps is the capability each RPC the tools call needs, so that a
// 403 can say what is missing (the server answers only "Permission
// denied", as Nomad does).
var methodCaps = map[string]acl.Capability{
	"Status.Members":                acl.NodeRead,
	"Operator.RaftGetConfiguration": acl.OperatorRead,
	"Node.List":                     acl.NodeRead,
	"Node.GetNode":                  acl.NodeRead,
	"Node.GetAssignment":            acl.NodeRead,
	"Pipeline.List":                 acl.PipelineRead,
	"Pipeline.Get":                  acl.PipelineRead,
	"Pipeline.Revisions":            acl.PipelineRead,
	"Pipeline.Apply":                acl.PipelineWrite,
	"Config.List":                   acl.ConfigRead,
	"Config.Revisions":              acl.ConfigRead,
	"Status.Leader":                 acl.None,
	methodHostMetrics:               acl.NodeRead,
}

// methodHostMetrics names Backend.Queryable in methodCaps: the server's
// fleet-wide host metrics, which need node:read.
const methodHostMetrics = "HostMetrics.Query"

// tools implements Tools over a Backend.
type tools struct {
	b Backend
}

// NewTools returns the cluster's tools as b's token sees them.
func NewTools(b Backend) Tools {
	if b.Now == nil {
		b.Now = time.Now
	}
	return &tools{b: b}
}

type toolSpec struct {
	Tool
	call func(t *tools, ctx context.Context, args json.RawMessage) (any, error)
}

func obj(props map[string]any, required ...string) map[string]any {
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
func num(desc string) map[string]any { return map[string]any{"type": "number", "description": desc} }

var specs = []toolSpec{
	{Tool{Name: ToolClusterHealth, Description: "Cluster health: the raft leader, the servers in the gossip pool (alive, failed, left) and the raft peers (voters). Partial when the token lacks node:read (members) or operator:read (raft).",
		Parameters: obj(map[string]any{})}, (*tools).clusterHealth},
	{Tool{Name: ToolListNodes, Description: "List client nodes with counts by status, optionally only those of one status, and counts grouped by datacenter, status, os, arch or any attribute/meta key.",
		Parameters: obj(map[string]any{
			"status":   map[string]any{"type": "string", "enum": []string{"ready", "down", "initializing"}, "description": "only nodes with this status"},
			"group_by": str("count nodes by this: datacenter, status, os, arch, or an attribute or meta key such as collector.os"),
			"limit":    num("most nodes to list (default 50); counts always cover every node"),
		})}, (*tools).listNodes},
	{Tool{Name: ToolGetNode, Description: "One node's details (status, datacenter, attributes, meta), found by ID, unique ID prefix or name.",
		Parameters: obj(map[string]any{"node": str("node ID, unique ID prefix, or name")}, "node")}, (*tools).getNode},
	{Tool{Name: ToolListPipelines, Description: "List pipelines (ID, name, enabled, matchers, config type), ordered by ID.",
		Parameters: obj(map[string]any{"enabled": map[string]any{"type": "boolean", "description": "only enabled (true) or disabled (false) pipelines"}})}, (*tools).listPipelines},
	{Tool{Name: ToolGetPipeline, Description: "One pipeline by ID or name, with its contents and matchers.",
		Parameters: obj(map[string]any{"pipeline": str("pipeline ID or name")}, "pipeline")}, (*tools).getPipeline},
	{Tool{Name: ToolListConfigs, Description: "List agent instance configs (metrics and logs) with their scrape job names and update times.",
		Parameters: obj(map[string]any{})}, (*tools).listConfigs},
	{Tool{Name: ToolInstances, Description: "Where agent instance configs (metrics) run and how their scrape targets are: per config and node, the instance's state and its targets up, down and unknown, with a down target's last scrape error.",
		Parameters: obj(map[string]any{"config": str("one config's name (default: every metrics config)")})}, (*tools).instances},
	{Tool{Name: ToolExplainPipeline, Description: "Why a node does or does not get a pipeline: each matcher of the pipeline evaluated against the node's attributes and meta (as the scheduler does), whether the pipeline is assignable (enabled, not an OTel pipeline), and whether the node's current assignment has it.",
		Parameters: obj(map[string]any{"node": str("node ID, unique ID prefix, or name"), "pipeline": str("pipeline ID or name")}, "node", "pipeline")}, (*tools).explainPipeline},
	{Tool{Name: ToolNodeAssignment, Description: "What a node is assigned: its pipelines and agent instance configs, and what it last applied.",
		Parameters: obj(map[string]any{"node": str("node ID, unique ID prefix, or name")}, "node")}, (*tools).nodeAssignment},
	{Tool{Name: ToolRecentChanges, Description: "Pipeline and agent instance config changes (revisions) made within a duration before now, newest first.",
		Parameters: obj(map[string]any{"since": str("a duration such as 30m, 1h, 24h or 2d (default 1h)")})}, (*tools).recentChanges},
	{Tool{Name: ToolPromQL, Description: "Evaluate a PromQL instant query over the fleet's host metrics (metric names start with nomadlike_, e.g. nomadlike_host_cpu_usage_ratio, nomadlike_host_disk_used_bytes, nomadlike_cert_days_until_expiry; labels node_id, node, datacenter).",
		Parameters: obj(map[string]any{"query": str("the PromQL expression"), "time": str("evaluation time, RFC 3339 (default now)")}, "query")}, (*tools).promqlQuery},
	{Tool{Name: ToolTopCPU, Description: "The hosts with the highest CPU usage now (host metrics).",
		Parameters: obj(map[string]any{"limit": num("how many hosts (default 5)")})}, (*tools).topCPU},
	{Tool{Name: ToolDisksOver, Description: "Hosts whose disk usage is above a percentage (host metrics).",
		Parameters: obj(map[string]any{"percent": num("threshold in percent, 0-100 (default 90)")})}, (*tools).disksOver},
	{Tool{Name: ToolFailingChecks, Description: "HTTP, TCP and TLS checks that failed at their latest run (host metrics).",
		Parameters: obj(map[string]any{})}, (*tools).failingChecks},
	{Tool{Name: ToolExpiringCerts, Description: "TLS certificates that expire within a number of days, or have expired (host metrics).",
		Parameters: obj(map[string]any{"days": num("within this many days (default 30)")})}, (*tools).expiringCerts},
	{Tool{Name: ToolRestartingContainer, Description: "Containers that restarted within a duration (host metrics).",
		Parameters: obj(map[string]any{"window": str("a duration such as 1h or 24h (default 1h)")})}, (*tools).restartingContainers},
	{Tool{Name: ToolDisablePipeline, Mutating: true, Description: "Disable a pipeline (enabled=false): no node or collector gets it until it is enabled again. Needs the caller's confirmation.",
		Parameters: obj(map[string]any{"id": str("the pipeline's ID")}, "id")}, (*tools).disablePipeline},
	{Tool{Name: ToolForceLeave, Mutating: true, Description: "Force-leave a failed server: gossip marks it left and the leader removes it from raft. An alive server refutes it. Needs the caller's confirmation.",
		Parameters: obj(map[string]any{"name": str("the server's name, such as s2 or s2.global")}, "name")}, (*tools).forceLeave},
}

var specByName = func() map[string]*toolSpec {
	m := make(map[string]*toolSpec, len(specs))
	for i := range specs {
		m[specs[i].Name] = &specs[i]
	}
	return m
}()

func (t *tools) List() []Tool {
	out := make([]Tool, 0, len(specs))
	for _, s := range specs {
		out = append(out, s.Tool)
	}
	return out
}

func (t *tools) Call(ctx context.Context, call ToolCall) (json.RawMessage, error) {
	s, ok := specByName[call.Name]
	if !ok {
		return nil, fmt.Errorf("unknown tool %q", call.Name)
	}
	if s.Mutating {
		return nil, ErrNeedsConsent
	}
	return t.run(ctx, s, call.Arguments)
}

func (t *tools) Run(ctx context.Context, call ToolCall) (json.RawMessage, error) {
	s, ok := specByName[call.Name]
	if !ok {
		return nil, fmt.Errorf("unknown tool %q", call.Name)
	}
	if !s.Mutating {
		return nil, fmt.Errorf("tool %q changes nothing: call it instead", call.Name)
	}
	return t.run(ctx, s, call.Arguments)
}

func (t *tools) run(ctx context.Context, s *toolSpec, args json.RawMessage) (json.RawMessage, error) {
	res, err := s.call(t, ctx, args)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

func (t *tools) Describe(call ToolCall) string {
	switch call.Name {
	case ToolDisablePipeline:
		var a struct{ ID string }
		_ = json.Unmarshal(call.Arguments, &a)
		return fmt.Sprintf("Disable pipeline %s (set enabled=false): no node or collector gets it until it is enabled again.", quoteOr(a.ID, "?"))
	case ToolForceLeave:
		var a struct{ Name string }
		_ = json.Unmarshal(call.Arguments, &a)
		return fmt.Sprintf("Force-leave server %s: gossip marks it left and the leader removes it from raft.", quoteOr(a.Name, "?"))
	}
	if s, ok := specByName[call.Name]; ok {
		return fmt.Sprintf("Run %s with %s.", s.Name, string(call.Arguments))
	}
	return fmt.Sprintf("Unknown tool %q.", call.Name)
}

func quoteOr(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// decodeArgs reads a tool's arguments; empty means none.
func decodeArgs(raw json.RawMessage, into any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("invalid arguments: %v", err)
	}
	return nil
}

// query calls a read endpoint with the caller's token, ctx bound. Reads
// are linearizable (the default); Region is left empty, which the server
// serves as its own region (requests are not routed by region).
func (t *tools) query(ctx context.Context, method string, q *structs.QueryOptions, args, reply any) error {
	q.AuthToken = t.b.Token
	q.SetContext(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	return t.mapErr(method, t.b.RPC(method, args, reply))
}

// write calls a write endpoint with the caller's token and a fresh
// request ID.
func (t *tools) write(ctx context.Context, method string, w *structs.WriteRequest, args, reply any) error {
	w.AuthToken = t.b.Token
	if w.RequestID == "" {
		w.RequestID = uuid.NewString()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return t.mapErr(method, t.b.RPC(method, args, reply))
}

// mapErr turns a 403 into a PermissionError naming the capability, and
// any other coded error into its message.
func (t *tools) mapErr(method string, err error) error {
	if err == nil {
		return nil
	}
	var ce *structs.CodedError
	if !errors.As(err, &ce) {
		ce, _ = structs.DecodeRPCError(err).(*structs.CodedError)
	}
	if ce == nil {
		return err
	}
	if ce.Code == http.StatusForbidden {
		c := methodCaps[method].String()
		if ce.Message == structs.ErrTokenNotFound.Message {
			return &PermissionError{Capability: c, Reason: "the ACL token is not known"}
		}
		return &PermissionError{Capability: c}
	}
	return errors.New(ce.Message)
}

// --- cluster health ---

type healthResult struct {
	Leader       string         `json:"leader"`
	HasLeader    bool           `json:"has_leader"`
	Servers      []serverMember `json:"servers,omitempty"`
	Alive        int            `json:"alive"`
	Failed       int            `json:"failed"`
	Left         int            `json:"left"`
	MembersError string         `json:"members_error,omitempty"`
	Raft         []raftPeer     `json:"raft_peers,omitempty"`
	Voters       int            `json:"voters"`
	RaftError    string         `json:"raft_error,omitempty"`
}

type serverMember struct {
	Name   string `json:"name"`
	Addr   string `json:"addr"`
	Status string `json:"status"`
}

type raftPeer struct {
	ID      string `json:"id"`
	Node    string `json:"node"`
	Address string `json:"address"`
	Leader  bool   `json:"leader"`
	Voter   bool   `json:"voter"`
}

func (t *tools) clusterHealth(ctx context.Context, _ json.RawMessage) (any, error) {
	var out healthResult
	var leader string
	lreq := &structs.GenericRequest{}
	if err := t.query(ctx, "Status.Leader", &lreq.QueryOptions, lreq, &leader); err != nil {
		return nil, err
	}
	out.Leader, out.HasLeader = leader, leader != ""

	var members structs.ServerMembersResponse
	mreq := &structs.GenericRequest{}
	if err := t.query(ctx, "Status.Members", &mreq.QueryOptions, mreq, &members); err != nil {
		out.MembersError = err.Error()
	} else {
		for _, m := range members.Members {
			out.Servers = append(out.Servers, serverMember{Name: m.Name, Addr: fmt.Sprintf("%s:%d", m.Addr, m.Port), Status: m.Status})
			switch m.Status {
			case "alive":
				out.Alive++
			case "failed":
				out.Failed++
			case "left", "leaving":
				out.Left++
			}
		}
		slices.SortFunc(out.Servers, func(a, b serverMember) int { return strings.Compare(a.Name, b.Name) })
	}

	var rc structs.RaftConfigurationResponse
	rreq := &structs.GenericRequest{}
	if err := t.query(ctx, "Operator.RaftGetConfiguration", &rreq.QueryOptions, rreq, &rc); err != nil {
		out.RaftError = err.Error()
	} else {
		for _, s := range rc.Servers {
			out.Raft = append(out.Raft, raftPeer{ID: s.ID, Node: s.Node, Address: s.Address, Leader: s.Leader, Voter: s.Voter})
			if s.Voter {
				out.Voters++
			}
		}
	}
	return &out, nil
}

// --- nodes ---

type nodeSummary struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	Datacenter        string `json:"datacenter"`
	Status            string `json:"status"`
	StatusDescription string `json:"status_description,omitempty"`
	OS                string `json:"os,omitempty"`
	External          bool   `json:"external,omitempty"`
}

type listNodesResult struct {
	Total     int            `json:"total"`
	ByStatus  map[string]int `json:"by_status"`
	Status    string         `json:"status_filter,omitempty"`
	Matching  int            `json:"matching"`
	GroupBy   string         `json:"group_by,omitempty"`
	Groups    map[string]int `json:"groups,omitempty"`
	Nodes     []nodeSummary  `json:"nodes"`
	Truncated bool           `json:"truncated,omitempty"`
}

// groupKey maps friendly group names to what nodes carry.
func groupValue(n *structs.NodeListStub, by string) string {
	switch strings.ToLower(by) {
	case "datacenter", "dc":
		return n.Datacenter
	case "status":
		return n.Status
	case "os":
		by = "collector.os"
	case "arch":
		by = "collector.arch"
	}
	if v, ok := n.Meta[by]; ok {
		return v
	}
	return n.Attributes[by]
}

func (t *tools) nodes(ctx context.Context) ([]*structs.NodeListStub, error) {
	var resp structs.NodeListResponse
	req := &structs.NodeListRequest{}
	if err := t.query(ctx, "Node.List", &req.QueryOptions, req, &resp); err != nil {
		return nil, err
	}
	slices.SortFunc(resp.Nodes, func(a, b *structs.NodeListStub) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return resp.Nodes, nil
}

func (t *tools) listNodes(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Status  string  `json:"status"`
		GroupBy string  `json:"group_by"`
		Limit   float64 `json:"limit"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	limit := int(a.Limit)
	if limit <= 0 {
		limit = 50
	}
	all, err := t.nodes(ctx)
	if err != nil {
		return nil, err
	}
	out := &listNodesResult{Total: len(all), ByStatus: map[string]int{}, Status: a.Status, GroupBy: a.GroupBy, Nodes: []nodeSummary{}}
	if a.GroupBy != "" {
		out.Groups = map[string]int{}
	}
	for _, n := range all {
		out.ByStatus[n.Status]++
		if a.Status != "" && !strings.EqualFold(n.Status, a.Status) {
			continue
		}
		out.Matching++
		if out.Groups != nil {
			v := groupValue(n, a.GroupBy)
			if v == "" {
				v = "(none)"
			}
			out.Groups[v]++
		}
		if len(out.Nodes) >= limit {
			out.Truncated = true
			continue
		}
		out.Nodes = append(out.Nodes, nodeSummary{ID: n.ID, Name: n.Name, Datacenter: n.Datacenter, Status: n.Status,
			StatusDescription: n.StatusDescription, OS: n.Attributes["collector.os"], External: n.External})
	}
	return out, nil
}

// resolveNode finds a node by ID, name (case-insensitive) or unique ID
// prefix.
func (t *tools) resolveNode(ctx context.Context, ref string) (*structs.Node, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, errors.New("no node named: give a node ID, ID prefix or name")
	}
	all, err := t.nodes(ctx)
	if err != nil {
		return nil, err
	}
	var found []*structs.NodeListStub
	for _, match := range []func(*structs.NodeListStub) bool{
		func(n *structs.NodeListStub) bool { return n.ID == ref },
		func(n *structs.NodeListStub) bool { return n.Name == ref },
		func(n *structs.NodeListStub) bool { return strings.EqualFold(n.Name, ref) },
		func(n *structs.NodeListStub) bool { return strings.HasPrefix(n.ID, strings.ToLower(ref)) },
	} {
		for _, n := range all {
			if match(n) {
				found = append(found, n)
			}
		}
		if len(found) > 0 {
			break
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("no node has the ID, ID prefix or name %q", ref)
	case 1:
	default:
		var names []string
		for _, n := range found[:min(len(found), 5)] {
			names = append(names, n.Name+" ("+n.ID+")")
		}
		return nil, fmt.Errorf("%q matches %d nodes: %s", ref, len(found), strings.Join(names, ", "))
	}
	var resp structs.SingleNodeResponse
	req := &structs.NodeSpecificRequest{NodeID: found[0].ID}
	if err := t.query(ctx, "Node.GetNode", &req.QueryOptions, req, &resp); err != nil {
		return nil, err
	}
	if resp.Node == nil {
		return nil, fmt.Errorf("node %s was deregistered a moment ago", found[0].ID)
	}
	return resp.Node, nil
}

type nodeDetails struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	Datacenter        string            `json:"datacenter"`
	Status            string            `json:"status"`
	StatusDescription string            `json:"status_description,omitempty"`
	StatusSince       string            `json:"status_since,omitempty"`
	HTTPAddr          string            `json:"http_addr,omitempty"`
	External          bool              `json:"external,omitempty"`
	Attributes        map[string]string `json:"attributes,omitempty"`
	Meta              map[string]string `json:"meta,omitempty"`
}

func details(n *structs.Node) *nodeDetails {
	d := &nodeDetails{ID: n.ID, Name: n.Name, Datacenter: n.Datacenter, Status: n.Status,
		StatusDescription: n.StatusDescription, HTTPAddr: n.HTTPAddr, External: n.External,
		Attributes: n.Attributes, Meta: n.Meta}
	if n.StatusUpdatedAt > 0 {
		d.StatusSince = time.Unix(n.StatusUpdatedAt, 0).UTC().Format(time.RFC3339)
	}
	return d
}

func (t *tools) getNode(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Node string `json:"node"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	n, err := t.resolveNode(ctx, a.Node)
	if err != nil {
		return nil, err
	}
	return details(n), nil
}

// --- pipelines and configs ---

type pipelineSummary struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Enabled    bool     `json:"enabled"`
	Matchers   []string `json:"matchers"`
	ConfigType string   `json:"config_type,omitempty"`
	UpdatedAt  string   `json:"updated_at,omitempty"`
	Contents   string   `json:"contents,omitempty"`
}

func pipelineOf(p *structs.Pipeline, contents bool) pipelineSummary {
	s := pipelineSummary{ID: p.ID, Name: p.Name, Enabled: p.Enabled, Matchers: p.Matchers, ConfigType: p.ConfigType}
	if s.Matchers == nil {
		s.Matchers = []string{}
	}
	if !p.UpdatedAt.IsZero() {
		s.UpdatedAt = p.UpdatedAt.UTC().Format(time.RFC3339)
	}
	if contents {
		s.Contents = p.Contents
	}
	return s
}

type listPipelinesResult struct {
	Total     int               `json:"total"`
	Pipelines []pipelineSummary `json:"pipelines"`
}

func (t *tools) listPipelines(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Enabled *bool `json:"enabled"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	var resp structs.PipelineListResponse
	req := &structs.PipelineListRequest{Enabled: a.Enabled}
	if err := t.query(ctx, "Pipeline.List", &req.QueryOptions, req, &resp); err != nil {
		return nil, err
	}
	out := &listPipelinesResult{Total: len(resp.Pipelines), Pipelines: []pipelineSummary{}}
	for _, p := range resp.Pipelines {
		out.Pipelines = append(out.Pipelines, pipelineOf(p, false))
	}
	return out, nil
}

// resolvePipeline finds a pipeline by ID or by name.
func (t *tools) resolvePipeline(ctx context.Context, ref string) (*structs.Pipeline, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, errors.New("no pipeline named: give a pipeline ID or name")
	}
	get := func(req *structs.PipelineSpecificRequest) (*structs.Pipeline, error) {
		var resp structs.SinglePipelineResponse
		if err := t.query(ctx, "Pipeline.Get", &req.QueryOptions, req, &resp); err != nil {
			return nil, err
		}
		return resp.Pipeline, nil
	}
	if isDigits(ref) {
		p, err := get(&structs.PipelineSpecificRequest{ID: ref})
		if err != nil || p != nil {
			return p, err
		}
	}
	p, err := get(&structs.PipelineSpecificRequest{Name: ref})
	if err != nil || p != nil {
		return p, err
	}
	// Names are case-sensitive; a question rarely is.
	var resp structs.PipelineListResponse
	req := &structs.PipelineListRequest{}
	if err := t.query(ctx, "Pipeline.List", &req.QueryOptions, req, &resp); err != nil {
		return nil, err
	}
	for _, p := range resp.Pipelines {
		if strings.EqualFold(p.Name, ref) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no pipeline has the ID or name %q", ref)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (t *tools) getPipeline(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Pipeline string `json:"pipeline"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	p, err := t.resolvePipeline(ctx, a.Pipeline)
	if err != nil {
		return nil, err
	}
	s := pipelineOf(p, true)
	return &s, nil
}

type configSummary struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	JobNames  []string `json:"job_names,omitempty"`
	CreatedAt string   `json:"created_at,omitempty"`
	UpdatedAt string   `json:"updated_at,omitempty"`
}

type listConfigsResult struct {
	Total   int             `json:"total"`
	Configs []configSummary `json:"configs"`
}

func (t *tools) configs(ctx context.Context) ([]*structs.InstanceConfig, error) {
	var all []*structs.InstanceConfig
	for _, kind := range []string{structs.ConfigKindMetrics, structs.ConfigKindLogs} {
		var resp structs.ConfigListResponse
		req := &structs.ConfigSpecificRequest{Kind: kind}
		if err := t.query(ctx, "Config.List", &req.QueryOptions, req, &resp); err != nil {
			return nil, err
		}
		all = append(all, resp.Configs...)
	}
	return all, nil
}

func (t *tools) listConfigs(ctx context.Context, _ json.RawMessage) (any, error) {
	all, err := t.configs(ctx)
	if err != nil {
		return nil, err
	}
	out := &listConfigsResult{Total: len(all), Configs: []configSummary{}}
	for _, c := range all {
		out.Configs = append(out.Configs, configSummary{Name: c.Name, Kind: kindName(c.Kind), JobNames: c.JobNames,
			CreatedAt: rfc(c.CreatedAt), UpdatedAt: rfc(c.UpdatedAt)})
	}
	return out, nil
}

func kindName(k string) string {
	if structs.NormalizeConfigKind(k) == structs.ConfigKindLogs {
		return "logs"
	}
	return "metrics"
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// --- why (not) ---

type matcherResult struct {
	Matcher   string `json:"matcher"`
	Attribute string `json:"attribute"`
	// Source is where the node's value comes from: attribute, meta, or
	// missing (compared as "").
	Source    string `json:"source"`
	NodeValue string `json:"node_value"`
	Matched   bool   `json:"matched"`
}

type explainResult struct {
	Node          nodeSummary     `json:"node"`
	Pipeline      pipelineSummary `json:"pipeline"`
	Assignable    bool            `json:"assignable"`
	NotAssignable string          `json:"not_assignable_because,omitempty"`
	MatcherError  string          `json:"matcher_error,omitempty"`
	Matchers      []matcherResult `json:"matchers"`
	AllMatch      bool            `json:"all_matchers_match"`
	ShouldGet     bool            `json:"should_get"`
	// Assigned is whether the node's current assignment has the pipeline
	// (nil: unknown).
	Assigned        *bool  `json:"currently_assigned,omitempty"`
	AssignmentError string `json:"assignment_error,omitempty"`
}

// matchAttributes are the labels the scheduler matches a node's
// pipelines against: attributes, then meta (meta wins). It must stay
// what nomadlike's nodeMatchAttributes computes (scheduler.go).
func matchAttributes(n *structs.Node) (map[string]string, map[string]string) {
	attrs := make(map[string]string, len(n.Attributes)+len(n.Meta))
	source := make(map[string]string, len(attrs))
	for k, v := range n.Attributes {
		attrs[k], source[k] = v, "attribute"
	}
	for k, v := range n.Meta {
		attrs[k], source[k] = v, "meta"
	}
	return attrs, source
}

func (t *tools) explainPipeline(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Node     string `json:"node"`
		Pipeline string `json:"pipeline"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	n, err := t.resolveNode(ctx, a.Node)
	if err != nil {
		return nil, err
	}
	p, err := t.resolvePipeline(ctx, a.Pipeline)
	if err != nil {
		return nil, err
	}
	out := &explainResult{
		Node:       nodeSummary{ID: n.ID, Name: n.Name, Datacenter: n.Datacenter, Status: n.Status, OS: n.Attributes["collector.os"]},
		Pipeline:   pipelineOf(p, false),
		Assignable: p.Assignable(),
		Matchers:   []matcherResult{},
	}
	switch {
	case !p.Enabled:
		out.NotAssignable = "the pipeline is disabled"
	case p.ConfigType == structs.ConfigTypeOTel:
		out.NotAssignable = "the pipeline is an OpenTelemetry Collector pipeline (CONFIG_TYPE_OTEL), which client nodes never get"
	}
	attrs, source := matchAttributes(n)
	ms, err := validate.ParseMatchers(p.Matchers)
	if err != nil {
		out.MatcherError = err.Error() + " (a pipeline whose matchers do not parse matches no node)"
	} else {
		out.AllMatch = true
		for _, m := range ms {
			src := source[m.Name]
			if src == "" {
				src = "missing"
			}
			ok := m.Matches(attrs)
			out.AllMatch = out.AllMatch && ok
			out.Matchers = append(out.Matchers, matcherResult{Matcher: m.String(), Attribute: m.Name, Source: src, NodeValue: attrs[m.Name], Matched: ok})
		}
	}
	out.ShouldGet = out.Assignable && out.AllMatch && out.MatcherError == ""
	var resp structs.NodeAssignmentResponse
	req := &structs.NodeAssignmentRequest{NodeID: n.ID}
	if err := t.query(ctx, "Node.GetAssignment", &req.QueryOptions, req, &resp); err != nil {
		out.AssignmentError = err.Error()
	} else if resp.Assignment != nil {
		has := slices.Contains(resp.Assignment.PipelineIDs, p.ID)
		out.Assigned = &has
	}
	return out, nil
}

type assignmentResult struct {
	Node         nodeSummary   `json:"node"`
	Scheduled    bool          `json:"scheduled"`
	Pipelines    []assignedRef `json:"pipelines"`
	Configs      []string      `json:"configs"`
	Hash         string        `json:"hash,omitempty"`
	AppliedHash  string        `json:"applied_hash,omitempty"`
	AppliedError string        `json:"applied_error,omitempty"`
	AppliedAt    string        `json:"applied_at,omitempty"`
	UpToDate     bool          `json:"applied_up_to_date"`
}

type assignedRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (t *tools) nodeAssignment(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Node string `json:"node"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	n, err := t.resolveNode(ctx, a.Node)
	if err != nil {
		return nil, err
	}
	var resp structs.NodeAssignmentResponse
	req := &structs.NodeAssignmentRequest{NodeID: n.ID}
	if err := t.query(ctx, "Node.GetAssignment", &req.QueryOptions, req, &resp); err != nil {
		return nil, err
	}
	out := &assignmentResult{Node: nodeSummary{ID: n.ID, Name: n.Name, Datacenter: n.Datacenter, Status: n.Status},
		Pipelines: []assignedRef{}, Configs: []string{}}
	if as := resp.Assignment; as != nil {
		out.Scheduled = as.AssignIndex > 0 || as.Hash != "" || len(as.PipelineIDs) > 0 || len(as.Configs) > 0
		out.Configs = append(out.Configs, as.Configs...)
		out.Hash, out.AppliedHash, out.AppliedError, out.AppliedAt = as.Hash, as.AppliedHash, as.AppliedError, rfc(as.AppliedAt)
		out.UpToDate = as.Hash != "" && as.Hash == as.AppliedHash
	}
	for _, p := range resp.Pipelines {
		out.Pipelines = append(out.Pipelines, assignedRef{ID: p.ID, Name: p.Name})
	}
	return out, nil
}

// --- recent changes ---

type changeEntry struct {
	At        string `json:"at"`
	Kind      string `json:"kind"` // pipeline or config
	Operation string `json:"operation"`
	// ID is the pipeline's ID (pipelines) or the config's kind (configs).
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Revision string `json:"revision"`
	Enabled  *bool  `json:"enabled,omitempty"`
	// Index is the raft index of the change: it orders pipeline and
	// config changes together.
	Index uint64 `json:"index"`
}

type changesResult struct {
	Since          string        `json:"since"`
	Window         string        `json:"window"`
	Changes        []changeEntry `json:"changes"`
	PipelinesError string        `json:"pipelines_error,omitempty"`
	ConfigsError   string        `json:"configs_error,omitempty"`
	// Note says what the list cannot show.
	Note string `json:"note,omitempty"`
}

// ParseWindow reads a duration such as 30m, 1h, 2d or 1w.
func ParseWindow(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return time.Hour, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			f, err := strconv.ParseFloat(n, 64)
			if err != nil || f <= 0 {
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			return time.Duration(f * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 30m, 1h, 2d)", s)
	}
	return d, nil
}

func (t *tools) recentChanges(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Since string `json:"since"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	window, err := ParseWindow(a.Since)
	if err != nil {
		return nil, err
	}
	since := t.b.Now().Add(-window)
	out := &changesResult{Since: rfc(since), Window: window.String(), Changes: []changeEntry{},
		Note: "deleted agent instance configs are not listed (their history is found by name only)"}
	var perms []error

	var prev structs.PipelineRevisionsResponse
	preq := &structs.PipelineRevisionsRequest{}
	if err := t.query(ctx, "Pipeline.Revisions", &preq.QueryOptions, preq, &prev); err != nil {
		out.PipelinesError = err.Error()
		perms = append(perms, err)
	} else {
		for _, r := range prev.Revisions {
			if r.CreatedAt.Before(since) {
				continue
			}
			e := changeEntry{At: rfc(r.CreatedAt), Kind: "pipeline", Operation: r.Operation, ID: r.PipelineID, Revision: r.RevisionID, Index: r.Index}
			if r.Snapshot != nil {
				e.Name = r.Snapshot.Name
				en := r.Snapshot.Enabled
				e.Enabled = &en
			}
			out.Changes = append(out.Changes, e)
		}
	}

	cfgs, err := t.configs(ctx)
	if err != nil {
		out.ConfigsError = err.Error()
		perms = append(perms, err)
	}
	for _, c := range cfgs {
		if c.UpdatedAt.Before(since) && c.CreatedAt.Before(since) {
			continue
		}
		var resp structs.ConfigRevisionsResponse
		req := &structs.ConfigSpecificRequest{Name: c.Name, Kind: c.Kind}
		if err := t.query(ctx, "Config.Revisions", &req.QueryOptions, req, &resp); err != nil {
			out.ConfigsError = err.Error()
			break
		}
		for _, r := range resp.Revisions {
			if r.CreatedAt.Before(since) {
				continue
			}
			out.Changes = append(out.Changes, changeEntry{At: rfc(r.CreatedAt), Kind: "config", Operation: r.Operation,
				ID: kindName(c.Kind), Name: r.Name, Revision: r.RevisionID, Index: r.Index})
		}
	}
	if len(perms) == 2 {
		// Nothing could be read: the caller sees why rather than "no changes".
		return nil, errors.Join(perms...)
	}
	slices.SortStableFunc(out.Changes, func(a, b changeEntry) int { return cmp.Compare(b.Index, a.Index) })
	return out, nil
}

// --- host metrics ---

// engine is one PromQL engine for every Tools: engines hold no per-query
// state, and one process needs only one (its metrics would clash).
var (
	engineOnce sync.Once
	engine     *promql.Engine
)

func promEngine() *promql.Engine {
	engineOnce.Do(func() {
		// The options of agent/promapi.NewEngine (Prometheus' defaults),
		// with a shorter timeout: an answer is waited for in a chat.
		engine = promql.NewEngine(promql.EngineOpts{
			Logger:                   slog.New(slog.DiscardHandler),
			MaxSamples:               50_000_000,
			Timeout:                  30 * time.Second,
			LookbackDelta:            5 * time.Minute,
			NoStepSubqueryIntervalFn: func(int64) int64 { return time.Minute.Milliseconds() },
			EnableAtModifier:         true,
			EnableNegativeOffset:     true,
		})
	})
	return engine
}

// value is a sample value: a JSON number, or "NaN", "+Inf", "-Inf".
type value float64

func (v value) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return json.Marshal(strconv.FormatFloat(f, 'g', -1, 64))
	}
	return json.Marshal(f)
}

func (v *value) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err == nil {
		*v = value(f)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(s, 64)
	*v = value(f)
	return err
}

type promSeries struct {
	Labels map[string]string `json:"labels"`
	Value  value             `json:"value"`
	// Values are a range vector's samples ([unix seconds, value]).
	Values [][2]value `json:"values,omitempty"`
}

type promResult struct {
	Query     string       `json:"query"`
	Type      string       `json:"result_type"`
	Series    []promSeries `json:"series"`
	Truncated bool         `json:"truncated,omitempty"`
	Warnings  []string     `json:"warnings,omitempty"`
}

const maxSeries = 200

// promQuery checks that the token may read host metrics (node:read, as
// the HTTP query API requires), then evaluates q at ts.
func (t *tools) promQuery(ctx context.Context, q string, ts time.Time) (*promResult, error) {
	if t.b.Queryable == nil {
		return nil, errors.New("host metrics are not available on this server")
	}
	qry, err := promEngine().NewInstantQuery(ctx, t.b.Queryable(), nil, q, ts)
	if err != nil {
		return nil, fmt.Errorf("invalid PromQL %q: %v", q, err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		// The queryable refuses a token without node:read (403): that
		// refusal, naming the capability, is the answer.
		var ce *structs.CodedError
		if errors.As(res.Err, &ce) && ce.Code == http.StatusForbidden {
			return nil, t.mapErr(methodHostMetrics, res.Err)
		}
		return nil, fmt.Errorf("query %q failed: %v", q, res.Err)
	}
	out := &promResult{Query: q, Type: string(res.Value.Type()), Series: []promSeries{}}
	out.Warnings, _ = res.Warnings.AsStrings(q, 10, 0)
	add := func(s promSeries) {
		if len(out.Series) >= maxSeries {
			out.Truncated = true
			return
		}
		out.Series = append(out.Series, s)
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		for _, s := range v {
			add(promSeries{Labels: s.Metric.Map(), Value: value(s.F)})
		}
	case promql.Scalar:
		add(promSeries{Labels: map[string]string{}, Value: value(v.V)})
	case promql.Matrix:
		for _, s := range v {
			ps := promSeries{Labels: s.Metric.Map()}
			pts := s.Floats
			if len(pts) > 20 {
				pts = pts[len(pts)-20:]
			}
			for _, p := range pts {
				ps.Values = append(ps.Values, [2]value{value(float64(p.T) / 1000), value(p.F)})
			}
			if len(pts) > 0 {
				ps.Value = value(pts[len(pts)-1].F)
			}
			add(ps)
		}
	case promql.String:
		add(promSeries{Labels: map[string]string{"string": v.V}})
	}
	return out, nil
}

func (t *tools) promqlQuery(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Query string `json:"query"`
		Time  string `json:"time"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if strings.TrimSpace(a.Query) == "" {
		return nil, errors.New("query must not be empty")
	}
	ts := t.b.Now()
	if a.Time != "" {
		var err error
		if ts, err = time.Parse(time.RFC3339, a.Time); err != nil {
			return nil, fmt.Errorf("time must be RFC 3339: %v", err)
		}
	}
	return t.promQuery(ctx, a.Query, ts)
}

// hostValue is one host's figure.
type hostValue struct {
	NodeID     string `json:"node_id"`
	Node       string `json:"node"`
	Datacenter string `json:"datacenter,omitempty"`
	// Percent is the figure in percent (CPU, disk used).
	Percent value `json:"percent"`
	// UsedBytes and TotalBytes go with a disk figure.
	UsedBytes  value `json:"used_bytes,omitempty"`
	TotalBytes value `json:"total_bytes,omitempty"`
}

type hostsResult struct {
	Query     string      `json:"query"`
	Threshold *float64    `json:"threshold_percent,omitempty"`
	Hosts     []hostValue `json:"hosts"`
	Warnings  []string    `json:"warnings,omitempty"`
}

func hostOf(l map[string]string) hostValue {
	return hostValue{NodeID: l["node_id"], Node: l["node"], Datacenter: l["datacenter"]}
}

func (t *tools) topCPU(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Limit float64 `json:"limit"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	k := int(a.Limit)
	if k <= 0 {
		k = 5
	}
	k = min(k, 100)
	q := fmt.Sprintf("topk(%d, max by (node_id, node, datacenter) (%s))", k, hostmetrics.MetricHostCPUUsageRatio)
	res, err := t.promQuery(ctx, q, t.b.Now())
	if err != nil {
		return nil, err
	}
	out := &hostsResult{Query: q, Hosts: []hostValue{}, Warnings: res.Warnings}
	for _, s := range res.Series {
		h := hostOf(s.Labels)
		h.Percent = value(float64(s.Value) * 100)
		out.Hosts = append(out.Hosts, h)
	}
	slices.SortFunc(out.Hosts, func(a, b hostValue) int {
		return cmp.Or(cmp.Compare(b.Percent, a.Percent), strings.Compare(a.Node, b.Node))
	})
	return out, nil
}

func (t *tools) disksOver(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Percent *float64 `json:"percent"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	pct := 90.0
	if a.Percent != nil {
		pct = *a.Percent
	}
	if pct < 0 || pct > 100 || math.IsNaN(pct) {
		return nil, fmt.Errorf("percent must be between 0 and 100, got %v", pct)
	}
	used, total := hostmetrics.MetricHostDiskUsedBytes, hostmetrics.MetricHostDiskTotalBytes
	q := fmt.Sprintf("max by (node_id, node, datacenter) (%s / (%s > 0)) > %s", used, total, strconv.FormatFloat(pct/100, 'g', -1, 64))
	now := t.b.Now()
	res, err := t.promQuery(ctx, q, now)
	if err != nil {
		return nil, err
	}
	out := &hostsResult{Query: q, Threshold: &pct, Hosts: []hostValue{}, Warnings: res.Warnings}
	if len(res.Series) == 0 {
		return out, nil
	}
	// The bytes behind each ratio, for the answer.
	bytesOf := func(metric string) map[string]value {
		m := map[string]value{}
		r, err := t.promQuery(ctx, fmt.Sprintf("max by (node_id) (%s)", metric), now)
		if err == nil {
			for _, s := range r.Series {
				m[s.Labels["node_id"]] = s.Value
			}
		}
		return m
	}
	usedBy, totalBy := bytesOf(used), bytesOf(total)
	for _, s := range res.Series {
		h := hostOf(s.Labels)
		h.Percent = value(float64(s.Value) * 100)
		h.UsedBytes, h.TotalBytes = usedBy[h.NodeID], totalBy[h.NodeID]
		out.Hosts = append(out.Hosts, h)
	}
	slices.SortFunc(out.Hosts, func(a, b hostValue) int {
		return cmp.Or(cmp.Compare(b.Percent, a.Percent), strings.Compare(a.Node, b.Node))
	})
	return out, nil
}

type failingCheck struct {
	Type       string `json:"type"` // http, tcp, tls
	NodeID     string `json:"node_id"`
	Node       string `json:"node"`
	Container  string `json:"container,omitempty"`
	Target     string `json:"target"`
	StatusCode *int   `json:"status_code,omitempty"`
}

type checksResult struct {
	Checks   []failingCheck `json:"failing"`
	Warnings []string       `json:"warnings,omitempty"`
}

func (t *tools) failingChecks(ctx context.Context, _ json.RawMessage) (any, error) {
	now := t.b.Now()
	out := &checksResult{Checks: []failingCheck{}}
	codes := map[string]int{}
	for _, c := range []struct{ kind, metric string }{
		{"http", hostmetrics.MetricCheckHTTPSuccess},
		{"tcp", hostmetrics.MetricCheckTCPSuccess},
		{"tls", hostmetrics.MetricCheckTLSSuccess},
	} {
		res, err := t.promQuery(ctx, c.metric+" == 0", now)
		if err != nil {
			return nil, err
		}
		out.Warnings = append(out.Warnings, res.Warnings...)
		if c.kind == "http" && len(res.Series) > 0 {
			if r, err := t.promQuery(ctx, hostmetrics.MetricCheckHTTPStatusCode, now); err == nil {
				for _, s := range r.Series {
					codes[s.Labels["node_id"]+"\x00"+s.Labels["container"]+"\x00"+s.Labels["url"]] = int(s.Value)
				}
			}
		}
		for _, s := range res.Series {
			l := s.Labels
			fc := failingCheck{Type: c.kind, NodeID: l["node_id"], Node: l["node"], Container: l["container"]}
			if c.kind == "http" {
				fc.Target = l["url"]
				if code, ok := codes[l["node_id"]+"\x00"+l["container"]+"\x00"+l["url"]]; ok {
					fc.StatusCode = &code
				}
			} else {
				fc.Target = l["check"]
				if hp := l["host"] + ":" + l["port"]; hp != fc.Target && l["host"] != "" {
					fc.Target += " (" + hp + ")"
				}
			}
			out.Checks = append(out.Checks, fc)
		}
	}
	slices.SortStableFunc(out.Checks, func(a, b failingCheck) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.Type, b.Type), strings.Compare(a.Target, b.Target))
	})
	return out, nil
}

type certEntry struct {
	NodeID    string `json:"node_id"`
	Node      string `json:"node"`
	Container string `json:"container,omitempty"`
	Check     string `json:"check"`
	Host      string `json:"host,omitempty"`
	Port      string `json:"port,omitempty"`
	Days      value  `json:"days_until_expiry"`
}

type certsResult struct {
	Days     float64     `json:"within_days"`
	Certs    []certEntry `json:"certificates"`
	Warnings []string    `json:"warnings,omitempty"`
}

func (t *tools) expiringCerts(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Days *float64 `json:"days"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	days := 30.0
	if a.Days != nil {
		days = *a.Days
	}
	if math.IsNaN(days) || days < 0 || days > 36500 {
		return nil, fmt.Errorf("days must be between 0 and 36500, got %v", days)
	}
	q := fmt.Sprintf("%s <= %s", hostmetrics.MetricCertDaysUntilExpiry, strconv.FormatFloat(days, 'g', -1, 64))
	res, err := t.promQuery(ctx, q, t.b.Now())
	if err != nil {
		return nil, err
	}
	out := &certsResult{Days: days, Certs: []certEntry{}, Warnings: res.Warnings}
	for _, s := range res.Series {
		l := s.Labels
		out.Certs = append(out.Certs, certEntry{NodeID: l["node_id"], Node: l["node"], Container: l["container"],
			Check: l["check"], Host: l["host"], Port: l["port"], Days: s.Value})
	}
	slices.SortFunc(out.Certs, func(a, b certEntry) int {
		return cmp.Or(cmp.Compare(a.Days, b.Days), strings.Compare(a.Node, b.Node))
	})
	return out, nil
}

type restartEntry struct {
	NodeID    string `json:"node_id"`
	Node      string `json:"node"`
	Container string `json:"container"`
	Restarts  value  `json:"restarts"`
}

type restartsResult struct {
	Window     string         `json:"window"`
	Containers []restartEntry `json:"containers"`
	Warnings   []string       `json:"warnings,omitempty"`
}

func (t *tools) restartingContainers(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Window string `json:"window"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	w, err := ParseWindow(a.Window)
	if err != nil {
		return nil, err
	}
	// increase() needs two samples in the window; a counter that went up
	// between them is a restart. Rounded, since increase() extrapolates.
	q := fmt.Sprintf("round(increase(%s[%ds])) > 0", hostmetrics.MetricContainerRestarts, int(w.Seconds()))
	res, err := t.promQuery(ctx, q, t.b.Now())
	if err != nil {
		return nil, err
	}
	out := &restartsResult{Window: w.String(), Containers: []restartEntry{}, Warnings: res.Warnings}
	for _, s := range res.Series {
		out.Containers = append(out.Containers, restartEntry{NodeID: s.Labels["node_id"], Node: s.Labels["node"],
			Container: s.Labels["container"], Restarts: s.Value})
	}
	slices.SortFunc(out.Containers, func(a, b restartEntry) int {
		return cmp.Or(cmp.Compare(b.Restarts, a.Restarts), strings.Compare(a.Node, b.Node))
	})
	return out, nil
}

// --- mutating ---

type disableResult struct {
	Pipeline   pipelineSummary `json:"pipeline"`
	WasEnabled bool            `json:"was_enabled"`
	Index      uint64          `json:"index,omitempty"`
}

// disablePipeline reads the pipeline and writes it back with enabled=false
// (an update replaces the whole pipeline). A change made between the read
// and the write is overwritten: the write has no compare-and-set.
func (t *tools) disablePipeline(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		ID string `json:"id"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if !isDigits(a.ID) {
		return nil, fmt.Errorf("invalid pipeline id %q: a pipeline ID is a number", a.ID)
	}
	var got structs.SinglePipelineResponse
	greq := &structs.PipelineSpecificRequest{ID: a.ID}
	if err := t.query(ctx, "Pipeline.Get", &greq.QueryOptions, greq, &got); err != nil {
		return nil, err
	}
	if got.Pipeline == nil {
		return nil, fmt.Errorf("no pipeline has the ID %s", a.ID)
	}
	if !got.Pipeline.Enabled {
		return &disableResult{Pipeline: pipelineOf(got.Pipeline, false)}, nil
	}
	p := got.Pipeline.Copy()
	p.Enabled = false
	req := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{{Op: structs.PipelineOpUpdate, Pipeline: p}}}
	var resp structs.PipelineApplyResponse
	if err := t.write(ctx, "Pipeline.Apply", &req.WriteRequest, req, &resp); err != nil {
		return nil, err
	}
	out := &disableResult{Pipeline: pipelineOf(p, false), WasEnabled: true, Index: resp.Index}
	if len(resp.Pipelines) > 0 {
		out.Pipeline = pipelineOf(resp.Pipelines[0], false)
	}
	return out, nil
}

type instancesResult struct {
	Configs        int            `json:"configs"`
	Instances      []instanceInfo `json:"instances"`
	TargetsUp      int            `json:"targets_up"`
	TargetsDown    int            `json:"targets_down"`
	TargetsUnknown int            `json:"targets_unknown"`
}

type instanceInfo struct {
	Config         string `json:"config"`
	Node           string `json:"node"`
	NodeID         string `json:"node_id"`
	NodeStatus     string `json:"node_status"`
	State          string `json:"state"`
	Error          string `json:"error,omitempty"`
	TargetsUp      int    `json:"targets_up"`
	TargetsDown    int    `json:"targets_down"`
	TargetsUnknown int    `json:"targets_unknown"`
	LastError      string `json:"last_error,omitempty"`
}

// instances is the fleet's view of the metrics instances: Config.Status
// of each metrics config (the nodes' reports with their assignments).
func (t *tools) instances(ctx context.Context, raw json.RawMessage) (any, error) {
	var args struct {
		Config string `json:"config"`
	}
	if err := decodeArgs(raw, &args); err != nil {
		return nil, err
	}
	names := []string{args.Config}
	if args.Config == "" {
		var resp structs.ConfigListResponse
		req := &structs.ConfigSpecificRequest{Kind: structs.ConfigKindMetrics}
		if err := t.query(ctx, "Config.List", &req.QueryOptions, req, &resp); err != nil {
			return nil, err
		}
		names = names[:0]
		for _, c := range resp.Configs {
			names = append(names, c.Name)
		}
	}
	out := &instancesResult{Configs: len(names), Instances: []instanceInfo{}}
	for _, name := range names {
		var resp structs.ConfigStatusResponse
		req := &structs.ConfigSpecificRequest{Name: name, Kind: structs.ConfigKindMetrics}
		if err := t.query(ctx, "Config.Status", &req.QueryOptions, req, &resp); err != nil {
			return nil, err
		}
		for _, n := range resp.Nodes {
			in := instanceInfo{Config: name, Node: n.NodeName, NodeID: n.NodeID, NodeStatus: n.NodeStatus, State: "not reported yet"}
			if r := n.Instance; r != nil {
				in.State, in.Error, in.LastError = r.State, r.Error, r.LastError
				in.TargetsUp, in.TargetsDown, in.TargetsUnknown = r.TargetsUp, r.TargetsDown, r.TargetsUnknown
			}
			out.TargetsUp += in.TargetsUp
			out.TargetsDown += in.TargetsDown
			out.TargetsUnknown += in.TargetsUnknown
			out.Instances = append(out.Instances, in)
		}
	}
	return out, nil
}

type forceLeaveResult struct {
	Server string `json:"server"`
	Done   bool   `json:"done"`
}

// forceLeave moves a failed server to left, as `nomadlike server
// force-leave` does, with the caller's token.
func (t *tools) forceLeave(_ context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Name string `json:"name"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if a.Name == "" {
		return nil, errors.New("missing the server's name")
	}
	if t.b.ForceLeave == nil {
		return nil, errors.New("force-leave is not available on this server")
	}
	if err := t.b.ForceLeave(a.Name); err != nil {
		if errors.Is(err, structs.ErrPermissionDenied) {
			return nil, &PermissionError{Capability: acl.AgentWrite.String()}
		}
		return nil, err
	}
	return &forceLeaveResult{Server: a.Name, Done: true}, nil
}
