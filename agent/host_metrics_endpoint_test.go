package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

// specExample is spec 004's example request body (the spec's curl
// --data, kept in hostmetrics' testdata).
func specExample(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../nomadlike/hostmetrics/testdata/spec_example.json")
	if err != nil {
		t.Fatalf("reading spec 004's example: %v", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("spec example: %v", err)
	}
	return out
}

// clone deep-copies a decoded JSON document.
func clone(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}

// pathRE splits a JSON path such as services[0].containerName.
var pathRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9]*)|\[(\d+)\]`)

// edit applies fn to the parent of path in doc and the last key.
func edit(doc any, path string, fn func(parent map[string]any, key string)) {
	parts := pathRE.FindAllStringSubmatch(path, -1)
	cur := doc
	for i, p := range parts {
		last := i == len(parts)-1
		if p[1] != "" {
			m := cur.(map[string]any)
			if last {
				fn(m, p[1])
				return
			}
			cur = m[p[1]]
		} else {
			var idx int
			fmt.Sscan(p[2], &idx)
			cur = cur.([]any)[idx]
		}
	}
}

type ingestAnswer struct {
	status int
	body   map[string]any
	raw    string
}

func pushRaw(t *testing.T, url, query, token, reqID string, body []byte) ingestAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/metrics/ingest"+query, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", reqID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return ingestAnswer{resp.StatusCode, out, string(raw)}
}

// TestHostMetricsIngest_Refusals is spec 004's table: every bad payload
// and every bad token gets its status, code, field and the request's ID,
// and nothing of any of them is stored; the spec's example is accepted.
func TestHostMetricsIngest_Refusals(t *testing.T) {
	a := aclAgent(t, nil) // a server only: both nodes are registered here
	mgmt := bootstrap(t, a)
	register := func(id, secret, name string) *structs.Node {
		n := &structs.Node{ID: id, SecretID: secret, Name: name, Datacenter: "dc1"}
		args := &structs.NodeRegisterRequest{Node: n}
		args.AuthToken = mgmt
		var reply structs.NodeUpdateResponse
		if err := a.RPC("Node.Register", args, &reply); err != nil {
			t.Fatalf("registering %s: %v", name, err)
		}
		return n
	}
	self := register("0b4c2f3e-0000-4000-8000-000000000001", "b7a3e2c1-0000-4000-8000-000000000001", "web-1")
	other := register("0b4c2f3e-0000-4000-8000-000000000002", "b7a3e2c1-0000-4000-8000-000000000002", "web-2")
	secret := self.SecretID

	example := specExample(t)
	type tc struct {
		name   string
		token  string
		query  string
		body   []byte
		status int
		code   string
		field  string
	}
	var cases []tc
	mutated := func(path string, fn func(parent map[string]any, key string)) []byte {
		doc := clone(example)
		edit(doc, path, fn)
		b, _ := json.Marshal(doc)
		return b
	}
	// Each required field missing (the spec's "required" marks).
	required := []string{
		"services[0].containerName",
		"serviceHealthChecks[0].containerName", "serviceHealthChecks[0].healthCheckUrl", "serviceHealthChecks[0].success",
		"tcpCheckResults[0].containerName", "tcpCheckResults[0].host", "tcpCheckResults[0].port",
		"tcpCheckResults[0].success", "tcpCheckResults[0].durationMs",
		"certCheckResults[0].containerName", "certCheckResults[0].host", "certCheckResults[0].port",
		"certCheckResults[0].success", "certCheckResults[0].durationMs",
		"containers[0].id", "containers[0].name", "containers[0].image", "containers[0].imageId",
		"containers[0].state", "containers[0].status", "containers[0].created",
		"containers[0].ports[0].privatePort", "containers[0].ports[0].type",
		"containers[0].mounts[0].source", "containers[0].mounts[0].destination",
		"containers[0].mounts[0].mode", "containers[0].mounts[0].type",
		"topProcesses.byCpu", "topProcesses.byMemory", "topProcesses.stats",
		"topProcesses.byCpu[0].pid", "topProcesses.byCpu[0].name", "topProcesses.byCpu[0].state",
		"topProcesses.byCpu[0].cpuPercent", "topProcesses.byCpu[0].memoryMb", "topProcesses.byCpu[0].threads",
		"topProcesses.byMemory[0].pid", "topProcesses.stats.total", "topProcesses.stats.running",
		"topProcesses.stats.sleeping", "topProcesses.stats.stopped", "topProcesses.stats.zombie",
	}
	for _, p := range required {
		cases = append(cases, tc{name: "missing " + p, token: secret, status: 400, code: "VALIDATION_ERROR", field: p,
			body: mutated(p, func(m map[string]any, k string) { delete(m, k) })})
	}
	// Each field of the example with a value of another type.
	var walk func(v any, path string)
	walk = func(v any, path string) {
		join := func(k string) string {
			if path == "" {
				return k
			}
			return path + "." + k
		}
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				if path == "containers[0].labels" {
					continue // free-form; its values must be strings (below)
				}
				p := join(k)
				var wrong any
				switch sub.(type) {
				case float64:
					wrong = "1"
				case string:
					wrong = 1
				case bool:
					wrong = "true"
				case []any:
					wrong = map[string]any{}
				case map[string]any:
					wrong = []any{}
				}
				cases = append(cases, tc{name: "wrong type " + p, token: secret, status: 400, code: "VALIDATION_ERROR", field: p,
					body: mutated(p, func(m map[string]any, k string) { m[k] = wrong })})
				walk(sub, p)
			}
		case []any:
			for i, sub := range x {
				walk(sub, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	}
	walk(example, "")
	cases = append(cases, tc{name: "label value not a string", token: secret, status: 400, code: "VALIDATION_ERROR",
		field: "containers[0].labels.additionalProperty",
		body:  mutated("containers[0].labels.additionalProperty", func(m map[string]any, k string) { m[k] = 1 })})
	// Bad date-time, negative counts.
	for _, bad := range []string{"2026-04-15 12:00:00", "2026-02-30T12:00:00Z", "2026-04-15T12:00:00+02:00", "yesterday"} {
		cases = append(cases, tc{name: "checkedAt " + bad, token: secret, status: 400, code: "VALIDATION_ERROR",
			field: "serviceHealthChecks[0].checkedAt",
			body:  mutated("serviceHealthChecks[0].checkedAt", func(m map[string]any, k string) { m[k] = bad })})
	}
	for _, p := range []string{"tcpEstablished", "openFds", "memoryUsedMb", "uptime", "services[0].restartCount",
		"topProcesses.stats.total", "topProcesses.byCpu[0].threads", "containers[0].ports[0].privatePort"} {
		cases = append(cases, tc{name: "negative " + p, token: secret, status: 400, code: "VALIDATION_ERROR", field: p,
			body: mutated(p, func(m map[string]any, k string) { m[k] = -1 })})
	}
	good, _ := json.Marshal(example)
	cases = append(cases,
		tc{name: "malformed JSON", token: secret, body: []byte(`{"cpuPercent": 1,`), status: 400, code: "VALIDATION_ERROR"},
		tc{name: "not an object", token: secret, body: []byte(`[1,2]`), status: 400, code: "VALIDATION_ERROR"},
		tc{name: "empty body", token: secret, body: nil, status: 400, code: "VALIDATION_ERROR"},
		tc{name: "10 MB body", token: secret, body: append([]byte(`{"agentVersion":"`), bytes.Repeat([]byte("x"), 10<<20)...),
			status: 413, code: "VALIDATION_ERROR"},
		tc{name: "no token", body: good, status: 401, code: "UNAUTHORIZED"},
		tc{name: "unknown token", token: "d2f1c0b9-0000-4000-8000-00000000beef", body: good, status: 401, code: "UNAUTHORIZED"},
		tc{name: "ACL management token", token: mgmt, body: good, status: 403, code: "FORBIDDEN_SCOPE"},
		tc{name: "node token of another node", token: other.SecretID, query: "?node_id=" + self.ID,
			body: good, status: 403, code: "FORBIDDEN_SCOPE"},
	)

	for i, c := range cases {
		reqID := fmt.Sprintf("req-%03d", i)
		got := pushRaw(t, a.URL(), c.query, c.token, reqID, c.body)
		if got.status != c.status || got.body["code"] != c.code || got.body["requestId"] != reqID ||
			(c.field != "" && got.body["field"] != c.field) || got.body["message"] == "" {
			t.Errorf("%s: %d %s; want %d code %s field %q requestId %s", c.name, got.status, got.raw, c.status, c.code, c.field, reqID)
		}
	}
	if n := a.server.HostMetricsSeries(); n != 0 {
		t.Fatalf("refused payloads left %d series", n)
	}

	// The spec's example, as is, from each node.
	for _, tok := range []string{secret, other.SecretID} {
		got := pushRaw(t, a.URL(), "", tok, "req-ok", good)
		if got.status != 200 || got.body["status"] != "ok" || got.body["requestId"] != "req-ok" || got.body["samples"].(float64) < 40 {
			t.Fatalf("spec example: %d %s", got.status, got.raw)
		}
	}
	if n := a.server.HostMetricsSeries(); n == 0 {
		t.Fatal("accepted payloads stored no series")
	}
	// Unknown top-level fields are accepted, named, and not stored.
	doc := clone(example).(map[string]any)
	doc["gpuPercent"] = 12
	b, _ := json.Marshal(doc)
	got := pushRaw(t, a.URL(), "", secret, "req-unknown", b)
	if got.status != 200 || !strings.Contains(got.raw, `"ignoredFields":["gpuPercent"]`) {
		t.Fatalf("unknown field: %d %s", got.status, got.raw)
	}

	// A host without a nomadlike agent: an operator mints an agent token
	// bound to a node name, and the host pushes as a node of its own.
	code, out := do(t, http.MethodPost, a.URL()+"/v1/node/token", mgmt, map[string]string{"Name": "db-1"})
	var tok struct{ NodeID, Name, SecretID string }
	if code != 200 || json.Unmarshal(out, &tok) != nil || tok.SecretID == "" {
		t.Fatalf("node token: %d %s", code, out)
	}
	got = pushRaw(t, a.URL(), "", tok.SecretID, "req-ext", good)
	if got.status != 200 || got.body["node"] != "db-1" || got.body["nodeId"] != tok.NodeID {
		t.Fatalf("push with a minted token: %d %s", got.status, got.raw)
	}
	code, out = do(t, http.MethodGet, a.URL()+"/v1/node/"+tok.NodeID+"/metrics", mgmt, nil)
	var latest struct {
		NodeName string
		Payload  map[string]any
	}
	if code != 200 || json.Unmarshal(out, &latest) != nil || latest.NodeName != "db-1" || latest.Payload["agentVersion"] != "example" {
		t.Fatalf("latest payload of db-1: %d %s", code, out)
	}
}

// Over its rate limit the ingest family answers 429 RATE_LIMITED in
// spec 004's model, with the X-RateLimit-* headers on every answer.
func TestHostMetricsIngest_RateLimited(t *testing.T) {
	a := TestAgent(t, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.RateLimits = []*RateLimitConfig{{Family: "ingest", RequestsPerSecond: ptr(0.5), Burst: ptr(1)}}
	})
	WaitForAgentLeader(t, a)
	var last *http.Response
	var body []byte
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest(http.MethodPost, a.URL()+"/api/metrics/ingest", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer d2f1c0b9-0000-4000-8000-00000000beef")
		req.Header.Set("X-Request-Id", fmt.Sprintf("rl-%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("X-RateLimit-Limit") == "" || resp.Header.Get("X-RateLimit-Remaining") == "" ||
			resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("answer %d without X-RateLimit-* headers: %v", i, resp.Header)
		}
		last = resp
	}
	var e structs.IngestError
	if last.StatusCode != 429 || json.Unmarshal(body, &e) != nil || e.Code != "RATE_LIMITED" || e.RequestID != "rl-1" {
		t.Fatalf("over the limit: %d %s", last.StatusCode, body)
	}
}
