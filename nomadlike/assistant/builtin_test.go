package assistant_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/assistant"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

func userMessage(text string) *structs.ChatMessage {
	return &structs.ChatMessage{ID: "m", Role: structs.ChatRoleUser, Content: []structs.ChatContent{{Type: "text", Text: text}}, Timestamp: time.Now()}
}

// ask answers question with the built-in engine and tools bound to token.
func ask(t *testing.T, tools assistant.Tools, question string) (string, *recorder) {
	t.Helper()
	rec := &recorder{}
	turn := assistant.Turn{
		History: []*structs.ChatMessage{
			userMessage("an earlier question"),
			{ID: "a", Role: structs.ChatRoleAssistant, Content: []structs.ChatContent{{Type: "text", Text: "an earlier answer"}}},
			userMessage(question),
		},
		Tools: tools,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := (assistant.Builtin{}).Answer(ctx, turn, rec); err != nil {
		t.Fatalf("%q: %v", question, err)
	}
	text := rec.text()
	t.Logf("Q: %s\n%s", question, text)
	if text == "" {
		t.Fatalf("%q: empty answer", question)
	}
	return text, rec
}

func mustContain(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Fatalf("answer lacks %q:\n%s", w, text)
		}
	}
}

func mustNotContain(t *testing.T, text string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if b != "" && strings.Contains(text, b) {
			t.Fatalf("answer has %q:\n%s", b, text)
		}
	}
}

func TestBuiltin_DownNodesAndCounts(t *testing.T) {
	s := testServer(t, false)
	up := registerNode(t, s, "", "web-1", "dc1", map[string]string{"collector.os": "linux"}, nil)
	down := registerNode(t, s, "", "db-1", "dc2", map[string]string{"collector.os": "linux"}, nil)
	tools := newTools(s, "")

	text, _ := ask(t, tools, "Which nodes are down?")
	mustContain(t, text, "No node is down", "2 nodes")

	markDown(t, s, "", down)
	text, rec := ask(t, tools, "which nodes are down?")
	mustContain(t, text, "1 of 2 nodes are down", "db-1", down.ID[:8], "dc2", "node heartbeat missed")
	mustNotContain(t, text, "web-1", up.ID[:8])
	if len(rec.chunks) < 2 {
		t.Fatalf("answer in %d chunks: not streamed", len(rec.chunks))
	}

	text, _ = ask(t, tools, "How many nodes are there?")
	mustContain(t, text, "There are 2 nodes: 1 down, 1 ready.")
	text, _ = ask(t, tools, "nodes by datacenter")
	mustContain(t, text, "By datacenter:", "- dc1: 1", "- dc2: 1")
	text, _ = ask(t, tools, "how many nodes per os?")
	mustContain(t, text, "By os:", "- linux: 2")

	text, _ = ask(t, tools, "tell me about node web-1")
	mustContain(t, text, "**web-1** (`"+up.ID+"`)", "Status: ready", "Datacenter: dc1", "collector.os=linux", "Pipelines: none")
}

func TestBuiltin_WhyNotPipeline(t *testing.T) {
	s := testServer(t, false)
	registerNode(t, s, "", "web-1", "dc1", map[string]string{"collector.os": "linux"}, map[string]string{"env": "staging"})
	p := createPipeline(t, s, "", "prod-only", `env="prod"`, `collector.os="linux"`, `team=~"a.*"`)
	tools := newTools(s, "")

	text, _ := ask(t, tools, "Why doesn't node web-1 get pipeline prod-only?")
	mustContain(t, text,
		"Node **web-1**", "does not get pipeline **prod-only** (ID "+p.ID+")",
		"- 2 of its 3 matchers do not match the node.",
		"- `env=\"prod\"` does NOT match — the node's meta env is \"staging\"",
		"`collector.os=\"linux\"` matches — the node's attribute collector.os is \"linux\"",
		"`team=~\"a.*\"` does NOT match — the node has no team attribute or meta",
	)
	mustNotContain(t, text, "should get it")

	// By pipeline ID, the other word order, and a pipeline that matches.
	ok := createPipeline(t, s, "", "linux-all", `collector.os="linux"`)
	text, _ = ask(t, tools, "why does pipeline "+ok.ID+" go to node web-1?")
	mustContain(t, text, "matches pipeline **linux-all**", "it should get it")

	text, _ = ask(t, tools, "why doesn't node nosuch get pipeline prod-only?")
	mustContain(t, text, "I could not check node nosuch against pipeline prod-only: no node has the ID, ID prefix or name \"nosuch\".")
}

func TestBuiltin_RecentChanges(t *testing.T) {
	s := testServer(t, false)
	p := createPipeline(t, s, "", "edge-logs")
	tools := newTools(s, "")
	var resp structs.ConfigApplyResponse
	if err := s.RPC("Config.Put", &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "node-exporter",
		Contents: "scrape_configs:\n  - job_name: node\n    static_configs: [{targets: ['localhost:9100']}]\n"}}, &resp); err != nil {
		t.Fatal(err)
	}
	if _, err := tools.Run(context.Background(), assistant.ToolCall{Name: assistant.ToolDisablePipeline, Arguments: []byte(`{"id":"` + p.ID + `"}`)}); err != nil {
		t.Fatal(err)
	}

	text, _ := ask(t, tools, "What changed in the last hour?")
	mustContain(t, text, "**3 changes** in the last hour",
		"pipeline edge-logs (ID "+p.ID+") created, enabled",
		"pipeline edge-logs (ID "+p.ID+") updated, disabled",
		"metrics config node-exporter created")
	if strings.Index(text, "updated, disabled") > strings.Index(text, "created, enabled") {
		t.Fatalf("not newest first:\n%s", text)
	}
	text, _ = ask(t, tools, "what changed today?")
	mustContain(t, text, "**3 changes** today (since")

	// Seen from two hours later, the last 30 minutes hold nothing.
	later := assistant.NewTools(assistant.Backend{RPC: s.RPC, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	text, _ = ask(t, later, "what changed in the last 30 minutes?")
	mustContain(t, text, "No pipeline or config changed in the last 30 minutes")
}

func TestBuiltin_HostMetrics(t *testing.T) {
	s := testServer(t, false)
	full := registerNode(t, s, "", "web-1", "dc1", nil, nil)
	mid := registerNode(t, s, "", "web-2", "dc1", nil, nil)
	low := registerNode(t, s, "", "web-3", "dc2", nil, nil)
	ingest(t, s, full, 20, 95, 100)
	ingest(t, s, mid, 75, 85, 100)
	ingest(t, s, low, 5, 10, 100)
	tools := newTools(s, "")

	text, _ := ask(t, tools, "Which hosts have disks over 80 %?")
	mustContain(t, text, "**2 hosts** have disks over 80 %:", "- web-1 (`"+full.ID[:8]+"`): 95.0 % used (95.0 of 100.0 GiB)", "- web-2 (`"+mid.ID[:8]+"`): 85.0 % used")
	mustNotContain(t, text, "web-3")
	if strings.Index(text, "web-1") > strings.Index(text, "web-2") {
		t.Fatalf("not fullest first:\n%s", text)
	}
	text, _ = ask(t, tools, "any full disks?")
	mustContain(t, text, "**1 host** has disks over 90 %:", "web-1")
	mustNotContain(t, text, "web-2")

	text, _ = ask(t, tools, "top 2 CPU hosts")
	mustContain(t, text, "Top 2 hosts by CPU usage now:", "1. web-2 (`"+mid.ID[:8]+"`): 75.0 %", "2. web-1")
	mustNotContain(t, text, "web-3")

	// The example payload's TLS check expires in 1 day and its checks
	// succeed.
	text, _ = ask(t, tools, "which certificates expire in 30 days?")
	mustContain(t, text, "**3 certificates** expire within 30 days:", "example (example:1) expires in 1 day")
	text, _ = ask(t, tools, "are any checks failing?")
	mustContain(t, text, "No check is failing")

	text, _ = ask(t, tools, `promql: count(nomadlike_host_cpu_usage_ratio)`)
	mustContain(t, text, "{} 3")
}

func TestBuiltin_NoNodeReadRevealsNoNode(t *testing.T) {
	s := testServer(t, true)
	mgmt := bootstrap(t, s)
	a := registerNode(t, s, mgmt, "secret-host-a", "dc-hidden", map[string]string{"collector.os": "linux"}, nil)
	b := registerNode(t, s, mgmt, "secret-host-b", "dc-hidden", nil, nil)
	markDown(t, s, mgmt, b)
	ingest(t, s, a, 99, 99, 100)
	createPipeline(t, s, mgmt, "visible-pipeline", `collector.os="linux"`)
	limited := clientToken(t, s, mgmt, "pipelines-only", `pipeline { policy = "read" }`)
	tools := newTools(s, limited)

	for _, q := range []string{
		"which nodes are down?",
		"how many nodes by datacenter?",
		"tell me about node secret-host-a",
		"what is assigned to node secret-host-a?",
		"why doesn't node secret-host-a get pipeline visible-pipeline?",
		"which hosts have disks over 80 %?",
		"top cpu hosts",
		"failing checks",
		"certificates expiring in 30 days",
		"promql: nomadlike_host_cpu_usage_ratio",
	} {
		text, _ := ask(t, tools, q)
		mustContain(t, text, "permission denied: this token lacks node:read")
		// Only what the question itself named may be echoed.
		for _, secret := range []string{"secret-host-a", "secret-host-b", a.ID[:8], b.ID[:8], "dc-hidden"} {
			if !strings.Contains(q, secret) {
				mustNotContain(t, text, secret)
			}
		}
	}
	// What the token may read still answers.
	text, _ := ask(t, tools, "list pipelines")
	mustContain(t, text, "visible-pipeline")
	text, _ = ask(t, tools, "is the cluster healthy?")
	mustContain(t, text, "Leader: ", "Servers: unknown (permission denied: this token lacks node:read)")
}

func TestBuiltin_Help(t *testing.T) {
	tools := assistant.NewTools(assistant.Backend{RPC: func(string, any, any) error { t.Error("help called a tool"); return nil }})
	text, _ := ask(t, tools, "What's the weather like in Lisbon?")
	mustContain(t, text, "cannot answer that", "You can ask:", "- Which nodes are down?", "Disable pipeline 3")
	text, _ = ask(t, tools, "help")
	mustContain(t, text, "You can ask:")
	mustNotContain(t, text, "cannot answer")
}

func TestBuiltin_ProposalIsNotExecuted(t *testing.T) {
	s := testServer(t, false)
	p := createPipeline(t, s, "", "noisy")
	tools := newTools(s, "")

	text, rec := ask(t, tools, "Please disable pipeline "+p.ID)
	mustContain(t, text, "propose to disable pipeline **noisy** (ID "+p.ID+")", "awaits your confirmation", "req-1")
	if len(rec.proposals) != 1 || rec.proposals[0].Name != assistant.ToolDisablePipeline || string(rec.proposals[0].Arguments) != `{"id":"`+p.ID+`"}` {
		t.Fatalf("proposals: %+v", rec.proposals)
	}
	if !getPipeline(t, s, "", p.ID).Enabled {
		t.Fatal("the proposal was executed")
	}
	// A proposal by name, and one for a pipeline that does not exist.
	_, rec = ask(t, tools, "disable pipeline noisy")
	if len(rec.proposals) != 1 {
		t.Fatalf("by name: %+v", rec.proposals)
	}
	text, rec = ask(t, tools, "disable pipeline 999")
	mustContain(t, text, "I could not look up pipeline 999")
	if len(rec.proposals) != 0 {
		t.Fatalf("proposal for a missing pipeline: %+v", rec.proposals)
	}
	text, _ = ask(t, tools, "how do I force leave?")
	mustContain(t, text, "Which server?")
}

func TestBuiltin_HealthAndPipelines(t *testing.T) {
	s := testServer(t, false)
	createPipeline(t, s, "", "base")
	tools := assistant.NewTools(assistant.Backend{RPC: s.RPC, Queryable: func() storage.Queryable { return s.HostMetricsQueryable("") }})
	text, _ := ask(t, tools, "Is the cluster healthy? Who is the leader?")
	mustContain(t, text, "**The cluster is healthy.**", "Leader: "+s.RPCAddr(), "Servers: 1 alive, 0 failed", "Raft: 1 voter (quorum 1)")
	text, _ = ask(t, tools, "list pipelines")
	mustContain(t, text, "**1 pipeline** (1 enabled):", "base — enabled, no matchers (every node)")
	text, _ = ask(t, tools, "show pipeline base")
	mustContain(t, text, "Pipeline **base**", "// base")
	_ = nomadlike.WaitForLeader
}

// "Which targets are down?" reads the metrics instances the nodes report
// through their assignments: where each config runs and its targets.
func TestBuiltin_Targets(t *testing.T) {
	s := testServer(t, false)
	tools := newTools(s, "")
	text, _ := ask(t, tools, "which scrape targets are down?")
	mustContain(t, text, "No agent instance config")

	var put structs.ConfigApplyResponse
	if err := s.RPC("Config.Put", &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: "node-metrics",
		Contents: "scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:9100']\n"}}, &put); err != nil {
		t.Fatal(err)
	}
	n := registerNode(t, s, "", "web-1", "dc1", nil, nil)
	var a *structs.NodeAssignment
	testutil.WaitForResult(t, 10*time.Second, func() error {
		if a, _ = s.State().AssignmentByNode(nil, n.ID); a == nil || len(a.Configs) != 1 {
			return fmt.Errorf("node-metrics is not assigned to web-1: %+v", a)
		}
		return nil
	})
	report := &structs.NodeAssignmentAppliedRequest{NodeID: n.ID, SecretID: n.SecretID, Hash: a.Hash,
		Instances: []*structs.MetricsInstanceStatus{{Name: "node-metrics", Source: "assigned", State: "running",
			TargetsUp: 2, TargetsDown: 1, LastError: "connection refused"}}}
	if err := s.RPC("Node.UpdateAssignmentApplied", report, &structs.GenericResponse{}); err != nil {
		t.Fatal(err)
	}
	text, _ = ask(t, tools, "which scrape targets are down?")
	mustContain(t, text, "1 instance on 1 config: targets 2 up, 1 down, 0 unknown.",
		"- node-metrics on node web-1 (ready): running, targets 2 up, 1 down, 0 unknown; last scrape error: connection refused")
	text, _ = ask(t, tools, "how are the targets of config node-metrics?")
	mustContain(t, text, "node-metrics on node web-1")
}

// "Force-leave server X" is proposed, never run; confirmed, it runs the
// server's force-leave.
func TestBuiltin_ForceLeaveIsProposed(t *testing.T) {
	s := testServer(t, false)
	var asked []string
	tools := assistant.NewTools(assistant.Backend{RPC: s.RPC, Token: "",
		ForceLeave: func(name string) error { asked = append(asked, name); return s.ForceLeave(name, false, "") }})
	text, rec := ask(t, tools, "please force-leave server s9")
	mustContain(t, text, "force-leave server **s9**", "awaits your confirmation")
	if len(rec.proposals) != 1 || rec.proposals[0].Name != assistant.ToolForceLeave || len(asked) != 0 {
		t.Fatalf("proposals %+v, force-leaves run %v", rec.proposals, asked)
	}
	ctx := context.Background()
	if _, err := tools.Call(ctx, rec.proposals[0]); err == nil {
		t.Fatal("Call ran a mutating tool")
	}
	if _, err := tools.Run(ctx, rec.proposals[0]); err == nil || !strings.Contains(err.Error(), `no member named "s9"`) {
		t.Fatalf("Run: %v", err)
	}
	if got := tools.Describe(rec.proposals[0]); !strings.Contains(got, "Force-leave server s9") {
		t.Fatalf("Describe: %q", got)
	}
}
