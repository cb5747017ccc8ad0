package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Regression tests for the trustworthy-core issue, on the HTTP face.

// Defect 5: anonymous PUT /v1/agent/join added any server to the raft
// configuration; join needs agent:write, as in Nomad.
func TestCore_JoinNeedsAgentWrite(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)
	reader := tokenWith(t, a, mgmt, "agent-reader", `agent { policy = "read" }`)
	for _, tok := range []string{"", reader.SecretID} {
		code, body := do(t, http.MethodPut, a.URL()+"/v1/agent/join?address=127.0.0.1:1", tok, nil)
		if code != http.StatusForbidden {
			t.Fatalf("join with token %q: %d %s", tok, code, body)
		}
	}
	for _, tok := range []string{"", reader.SecretID} {
		code, body := do(t, http.MethodPut, a.URL()+"/v1/agent/force-leave?node=ghost", tok, nil)
		if code != http.StatusForbidden {
			t.Fatalf("force-leave with token %q: %d %s", tok, code, body)
		}
	}
	// With agent:write the join is attempted (and fails on a dead address
	// with the agent's own error, not a 403).
	code, _ := do(t, http.MethodPut, a.URL()+"/v1/agent/join?address=127.0.0.1:1", mgmt, nil)
	if code == http.StatusForbidden {
		t.Fatal("management token refused")
	}
}

// Defect 1 on the HTTP face: a write sent again with the same
// Idempotency-Key gets the first answer and is applied once.
func TestCore_IdempotencyKey(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)

	put := func(contents, key string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, a.URL()+"/pipeline.v1.PipelineService/UpsertPipeline",
			strings.NewReader(`{"pipeline":{"name":"idem","contents":"`+contents+`","enabled":true}}`))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	code, body := put("// one", "key-1")
	var first struct{ ID string }
	if code != 200 || json.Unmarshal([]byte(body), &first) != nil || first.ID == "" {
		t.Fatalf("first: %d %s", code, body)
	}
	if code, body := put("// two", ""); code != 200 {
		t.Fatalf("second: %d %s", code, body)
	}
	// A retry of the first write: same key, same body.
	code, body = put("// one", "key-1")
	if code != 200 || !strings.Contains(body, "// one") {
		t.Fatalf("retry: %d %s, want the first answer", code, body)
	}
	// A key longer than a request ID is accepted (hashed).
	long := strings.Repeat("k", 500)
	if code, body := put("// three", long); code != 200 {
		t.Fatalf("long key: %d %s", code, body)
	}
	if code, body := put("// three", long); code != 200 {
		t.Fatalf("long key again: %d %s", code, body)
	}

	code, raw := do(t, http.MethodPost, a.URL()+"/pipeline.v1.PipelineService/ListPipelineRevisions", "", map[string]any{"id": first.ID})
	if code != 200 {
		t.Fatalf("revisions: %d %s", code, raw)
	}
	var revs struct {
		Revisions []struct {
			Snapshot struct{ Contents string } `json:"snapshot"`
		} `json:"pipelineRevisions"`
	}
	if err := json.Unmarshal(raw, &revs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range revs.Revisions {
		got = append(got, r.Snapshot.Contents)
	}
	if strings.Join(got, "|") != "// one|// two|// three" {
		t.Fatalf("revisions %q, want one, two, three once each", got)
	}
	// The pipeline holds the later write, not the retried one.
	code, raw = do(t, http.MethodPost, a.URL()+"/pipeline.v1.PipelineService/ListPipelines", "", map[string]any{})
	if code != 200 || !bytes.Contains(raw, []byte("// three")) {
		t.Fatalf("list: %d %s", code, raw)
	}
}

// Defect 2's spelling: ?consistent is the default mode named, and it
// cannot be asked for together with ?stale.
func TestCore_ConsistentQueryParameter(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	if code, body := do(t, http.MethodGet, a.URL()+"/v1/nodes?consistent", "", nil); code != 200 {
		t.Fatalf("?consistent: %d %s", code, body)
	}
	code, body := do(t, http.MethodGet, a.URL()+"/v1/nodes?consistent&stale", "", nil)
	if code != 400 || !strings.Contains(string(body), "stale") {
		t.Fatalf("?consistent&stale: %d %s", code, body)
	}
}
