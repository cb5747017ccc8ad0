package assistant_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/assistant"
	"github.com/nomadlike/nomadlike/structs"
)

// testServer is one server whose nodes never miss a heartbeat during a
// test (they are marked down only when a test says so).
func testServer(t *testing.T, aclOn bool) *nomadlike.Server {
	t.Helper()
	s, _ := nomadlike.TestServer(t, func(c *nomadlike.Config) {
		c.ACLEnabled = aclOn
		c.MinHeartbeatTTL = time.Hour
	})
	nomadlike.WaitForLeader(t, s)
	return s
}

// bootstrap mints the management token of an ACL server.
func bootstrap(t *testing.T, s *nomadlike.Server) string {
	t.Helper()
	var boot structs.ACLTokenUpsertResponse
	if err := s.RPC("ACL.Bootstrap", &structs.ACLTokenBootstrapRequest{}, &boot); err != nil {
		t.Fatal(err)
	}
	return boot.Tokens[0].SecretID
}

// clientToken makes a client token with one policy of rules.
func clientToken(t *testing.T, s *nomadlike.Server, mgmt, name, rules string) string {
	t.Helper()
	preq := &structs.ACLPolicyUpsertRequest{Policies: []*structs.ACLPolicy{{Name: name, Rules: rules}}}
	preq.AuthToken = mgmt
	if err := s.RPC("ACL.UpsertPolicies", preq, &structs.GenericResponse{}); err != nil {
		t.Fatal(err)
	}
	treq := &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{{Name: name, Type: "client", Policies: []string{name}}}}
	treq.AuthToken = mgmt
	var tresp structs.ACLTokenUpsertResponse
	if err := s.RPC("ACL.UpsertTokens", treq, &tresp); err != nil {
		t.Fatal(err)
	}
	return tresp.Tokens[0].SecretID
}

func registerNode(t *testing.T, s *nomadlike.Server, token, name, dc string, attrs, meta map[string]string) *structs.Node {
	t.Helper()
	n := &structs.Node{ID: uuid.NewString(), SecretID: uuid.NewString(), Name: name, Datacenter: dc, Attributes: attrs, Meta: meta}
	req := &structs.NodeRegisterRequest{Node: n}
	req.AuthToken = token
	if err := s.RPC("Node.Register", req, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return n
}

func markDown(t *testing.T, s *nomadlike.Server, token string, n *structs.Node) {
	t.Helper()
	req := &structs.NodeUpdateStatusRequest{NodeID: n.ID, SecretID: n.SecretID, Status: structs.NodeStatusDown}
	req.AuthToken = token
	if err := s.RPC("Node.UpdateStatus", req, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatal(err)
	}
}

func createPipeline(t *testing.T, s *nomadlike.Server, token, name string, matchers ...string) *structs.Pipeline {
	t.Helper()
	req := &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{{Op: structs.PipelineOpCreate,
		Pipeline: &structs.Pipeline{Name: name, Contents: "// " + name + "\n", Matchers: matchers, Enabled: true}}}}
	req.AuthToken = token
	var resp structs.PipelineApplyResponse
	if err := s.RPC("Pipeline.Apply", req, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Pipelines[0]
}

func getPipeline(t *testing.T, s *nomadlike.Server, token, id string) *structs.Pipeline {
	t.Helper()
	req := &structs.PipelineSpecificRequest{ID: id}
	req.AuthToken = token
	var resp structs.SinglePipelineResponse
	if err := s.RPC("Pipeline.Get", req, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.Pipeline
}

// ingest pushes host metrics for n: the spec's example payload with the
// given CPU percent and disk figures.
func ingest(t *testing.T, s *nomadlike.Server, n *structs.Node, cpu, diskUsedGb, diskTotalGb float64) {
	t.Helper()
	raw, err := os.ReadFile("../hostmetrics/testdata/spec_example.json")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	p["cpuPercent"], p["diskUsedGb"], p["diskTotalGb"] = cpu, diskUsedGb, diskTotalGb
	body, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var resp structs.HostMetricsIngestResponse
	req := &structs.HostMetricsIngestRequest{NodeID: n.ID, SecretID: n.SecretID, Payload: body, ReceivedAt: time.Now()}
	if err := s.RPC("HostMetrics.Ingest", req, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Rejected != nil {
		t.Fatalf("ingest refused: %+v", resp.Rejected)
	}
}

func newTools(s *nomadlike.Server, token string) assistant.Tools {
	return assistant.NewTools(assistant.Backend{
		RPC:       s.RPC,
		Queryable: func() storage.Queryable { return s.HostMetricsQueryable(token) },
		Token:     token,
	})
}

// recorder is an Output that keeps what it gets.
type recorder struct {
	mu        sync.Mutex
	chunks    []string
	proposals []assistant.ToolCall
}

func (r *recorder) Text(d string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunks = append(r.chunks, d)
}

func (r *recorder) Propose(c assistant.ToolCall) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.proposals = append(r.proposals, c)
	return "req-1"
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.chunks, "")
}

func callTool(t *testing.T, tools assistant.Tools, name string, args any) (map[string]any, error) {
	t.Helper()
	raw, _ := json.Marshal(args)
	res, err := tools.Call(context.Background(), assistant.ToolCall{Name: name, Arguments: raw})
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(res, &out); err != nil {
		t.Fatalf("%s result %s: %v", name, res, err)
	}
	return out, nil
}

func TestTools_ListAndSchemas(t *testing.T) {
	tools := assistant.NewTools(assistant.Backend{RPC: func(string, any, any) error { return errors.New("unused") }})
	seen := map[string]bool{}
	mutating := 0
	for _, tl := range tools.List() {
		if seen[tl.Name] || tl.Name == "" || strings.ToLower(tl.Name) != tl.Name || strings.Contains(tl.Name, " ") {
			t.Fatalf("bad or repeated tool name %q", tl.Name)
		}
		seen[tl.Name] = true
		if tl.Parameters["type"] != "object" || tl.Description == "" {
			t.Fatalf("tool %s: schema %v", tl.Name, tl.Parameters)
		}
		if _, err := json.Marshal(tl.Parameters); err != nil {
			t.Fatalf("tool %s: %v", tl.Name, err)
		}
		if tl.Mutating {
			mutating++
		}
	}
	if mutating != 2 || !seen[assistant.ToolDisablePipeline] || !seen[assistant.ToolForceLeave] {
		t.Fatalf("mutating tools: %d", mutating)
	}
	if _, err := tools.Call(context.Background(), assistant.ToolCall{Name: assistant.ToolDisablePipeline, Arguments: json.RawMessage(`{"id":"1"}`)}); !errors.Is(err, assistant.ErrNeedsConsent) {
		t.Fatalf("call of a mutating tool: %v", err)
	}
	if _, err := tools.Run(context.Background(), assistant.ToolCall{Name: assistant.ToolListNodes}); err == nil {
		t.Fatal("run of a read-only tool")
	}
	if d := tools.Describe(assistant.ToolCall{Name: assistant.ToolDisablePipeline, Arguments: json.RawMessage(`{"id":"7"}`)}); !strings.Contains(d, "pipeline 7") {
		t.Fatalf("describe: %q", d)
	}
}

func TestTools_HealthNodesAndPermissions(t *testing.T) {
	s := testServer(t, true)
	mgmt := bootstrap(t, s)
	registerNode(t, s, mgmt, "web-1", "dc1", map[string]string{"collector.os": "linux"}, nil)
	registerNode(t, s, mgmt, "web-2", "dc2", map[string]string{"collector.os": "windows"}, nil)

	tools := newTools(s, mgmt)
	h, err := callTool(t, tools, assistant.ToolClusterHealth, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h["has_leader"] != true || h["voters"] != 1.0 || h["alive"] != 1.0 || h["leader"] != s.RPCAddr() {
		t.Fatalf("health: %v", h)
	}
	nodes, err := callTool(t, tools, assistant.ToolListNodes, map[string]any{"group_by": "os"})
	if err != nil {
		t.Fatal(err)
	}
	if g := nodes["groups"].(map[string]any); g["linux"] != 1.0 || g["windows"] != 1.0 || nodes["total"] != 2.0 {
		t.Fatalf("nodes: %v", nodes)
	}
	// By name (any case) and by ID prefix.
	n, err := callTool(t, tools, assistant.ToolGetNode, map[string]any{"node": "WEB-2"})
	if err != nil || n["datacenter"] != "dc2" {
		t.Fatalf("get by name: %v %v", n, err)
	}
	if n2, err := callTool(t, tools, assistant.ToolGetNode, map[string]any{"node": n["id"].(string)[:8]}); err != nil || n2["name"] != "web-2" {
		t.Fatalf("get by prefix: %v %v", n2, err)
	}
	if _, err := callTool(t, tools, assistant.ToolGetNode, map[string]any{"node": "nope"}); err == nil || !strings.Contains(err.Error(), "no node") {
		t.Fatalf("missing node: %v", err)
	}

	// A token with pipeline:read only: node tools are refused, naming
	// node:read; the health answer keeps what needs no token.
	limited := clientToken(t, s, mgmt, "pipelines-only", `pipeline { policy = "read" }`)
	lt := newTools(s, limited)
	for _, name := range []string{assistant.ToolListNodes, assistant.ToolGetNode, assistant.ToolDisksOver, assistant.ToolPromQL} {
		_, err := callTool(t, lt, name, map[string]any{"node": "web-1", "query": "up"})
		var pe *assistant.PermissionError
		if !errors.As(err, &pe) || err.Error() != "permission denied: this token lacks node:read" {
			t.Fatalf("%s: %v", name, err)
		}
	}
	h, err = callTool(t, lt, assistant.ToolClusterHealth, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h["has_leader"] != true || !strings.Contains(h["members_error"].(string), "node:read") || !strings.Contains(h["raft_error"].(string), "operator:read") {
		t.Fatalf("limited health: %v", h)
	}
	if _, err := callTool(t, lt, assistant.ToolListPipelines, nil); err != nil {
		t.Fatalf("pipelines with pipeline:read: %v", err)
	}
	// An unknown token says so.
	if _, err := callTool(t, newTools(s, uuid.NewString()), assistant.ToolListNodes, nil); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("unknown token: %v", err)
	}
}

func TestTools_DisablePipelineRun(t *testing.T) {
	s := testServer(t, false)
	p := createPipeline(t, s, "", "logs", `env="prod"`)
	tools := newTools(s, "")
	args, _ := json.Marshal(map[string]string{"id": p.ID})
	res, err := tools.Run(context.Background(), assistant.ToolCall{Name: assistant.ToolDisablePipeline, Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	if got := getPipeline(t, s, "", p.ID); got.Enabled || got.Name != "logs" || len(got.Matchers) != 1 || got.Contents != p.Contents {
		t.Fatalf("after disable: %+v (result %s)", got, res)
	}
	// Again: nothing to do, no error.
	if _, err := tools.Run(context.Background(), assistant.ToolCall{Name: assistant.ToolDisablePipeline, Arguments: args}); err != nil {
		t.Fatal(err)
	}
	if _, err := tools.Run(context.Background(), assistant.ToolCall{Name: assistant.ToolDisablePipeline, Arguments: json.RawMessage(`{"id":"999"}`)}); err == nil {
		t.Fatal("disable of a missing pipeline")
	}
}

func TestTools_ParseWindow(t *testing.T) {
	for in, want := range map[string]time.Duration{"": time.Hour, "30m": 30 * time.Minute, "2d": 48 * time.Hour, "1w": 7 * 24 * time.Hour, "90s": 90 * time.Second} {
		if got, err := assistant.ParseWindow(in); err != nil || got != want {
			t.Fatalf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"-1h", "soon", "0d"} {
		if _, err := assistant.ParseWindow(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}
