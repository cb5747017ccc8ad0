package testcluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// configAlloy is the spec's config.alloy, completed so that it parses.
const configAlloy = `prometheus.exporter.self "alloy" { }

prometheus.scrape "alloy" {
	targets    = prometheus.exporter.self.alloy.targets
	forward_to = [prometheus.remote_write.grafanacloud.receiver]

	scrape_interval = "60s"
}

prometheus.remote_write "grafanacloud" {
	// Must match the uniquely-identifiable ID set up in the remotecfg block.
	external_labels = {"collector_id" = constants.hostname}

	endpoint {
		url = "http://localhost:8081"

		basic_auth {
			username      = "user"
			password_file = "/path/to/my/pass"
		}
	}
}`

// rpcCall is one Connect unary JSON call, as the spec's curl examples
// make it (-u "user:pass", Content-Type application/json, POST).
func rpcCall(t testing.TB, a *Agent, method string, body any) (int, map[string]any) {
	t.Helper()
	buf, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", a.URL()+"/pipeline.v1.PipelineService/"+method, bytes.NewReader(buf))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("user", "pass")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s on %s: %d, body not JSON: %q", method, a.Name, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func mustCall(t testing.TB, a *Agent, method string, body any) map[string]any {
	t.Helper()
	code, out := rpcCall(t, a, method, body)
	if code != 200 {
		t.Fatalf("%s on %s: %d %v", method, a.Name, code, out)
	}
	return out
}

// TestCluster_PipelineSpecExamples runs every curl example of the
// Pipeline API document against three server processes, each call on a
// different server, and checks the fields the document shows.
func TestCluster_PipelineSpecExamples(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, "")})
	s1, s2, s3 := c.Servers[0], c.Servers[1], c.Servers[2]
	matchers := []any{"collector.os=linux", "team!=team-a"}

	// jq '.pipeline = {name, contents, matchers, enabled}' -> CreatePipeline
	created := mustCall(t, s1, "CreatePipeline", map[string]any{"pipeline": map[string]any{
		"name": "myname", "contents": configAlloy, "matchers": matchers, "enabled": true}})
	id, _ := created["id"].(string)
	if id == "" || created["name"] != "myname" || created["contents"] != configAlloy || created["enabled"] != true ||
		fmt.Sprint(created["matchers"]) != fmt.Sprint(matchers) {
		t.Fatalf("create answered %v", created)
	}
	if _, err := time.Parse(time.RFC3339, fmt.Sprint(created["createdAt"])); err != nil {
		t.Fatalf("createdAt %v", created["createdAt"])
	}

	// ListPipelines with '{}', on another server.
	list := mustCall(t, s2, "ListPipelines", map[string]any{})
	pls, _ := list["pipelines"].([]any)
	if len(pls) != 1 {
		t.Fatalf("list %v", list)
	}
	for _, k := range []string{"name", "contents", "matchers", "createdAt", "updatedAt", "enabled", "id"} {
		if _, ok := pls[0].(map[string]any)[k]; !ok {
			t.Fatalf("listed pipeline lacks %q: %v", k, pls[0])
		}
	}

	// UpdatePipeline with the id, on the third server.
	updated := mustCall(t, s3, "UpdatePipeline", map[string]any{"pipeline": map[string]any{
		"id": id, "name": "myname", "contents": configAlloy + "\n// new", "matchers": matchers, "enabled": true}})
	if updated["id"] != id || !strings.HasSuffix(fmt.Sprint(updated["contents"]), "// new") {
		t.Fatalf("update answered %v", updated)
	}

	// GetPipeline {"id"} from every server.
	for _, s := range c.Servers {
		got := mustCall(t, s, "GetPipeline", map[string]any{"id": id})
		if got["id"] != id || got["contents"] != updated["contents"] || got["enabled"] != true {
			t.Fatalf("get on %s: %v", s.Name, got)
		}
	}
	second := mustCall(t, s2, "CreatePipeline", map[string]any{"pipeline": map[string]any{
		"name": "otlp_pipeline", "contents": "otelcol.receiver.otlp \"default\" { }", "matchers": []any{}, "enabled": true}})

	// DeletePipeline {"id"} answers {}.
	if del := mustCall(t, s3, "DeletePipeline", map[string]any{"id": id}); len(del) != 0 {
		t.Fatalf("delete answered %v", del)
	}
	if code, out := rpcCall(t, s1, "GetPipeline", map[string]any{"id": id}); code != 404 || out["code"] != "not_found" {
		t.Fatalf("get after delete: %d %v", code, out)
	}

	// ListPipelinesRevisions: chronological, no contents.
	revs := mustCall(t, s1, "ListPipelinesRevisions", map[string]any{})
	all, _ := revs["pipelineRevisions"].([]any)
	var ops []string
	for _, r := range all {
		rm := r.(map[string]any)
		snap := rm["snapshot"].(map[string]any)
		if _, has := snap["contents"]; has {
			t.Fatalf("ListPipelinesRevisions shows contents: %v", rm)
		}
		if rm["revisionId"] == "" || rm["createdAt"] == nil {
			t.Fatalf("revision fields %v", rm)
		}
		ops = append(ops, fmt.Sprintf("%s:%s", snap["id"], rm["operation"]))
	}
	want := fmt.Sprintf("[%s:INSERT %s:UPDATE %s:INSERT %s:DELETE]", id, id, second["id"], id)
	if fmt.Sprint(ops) != want {
		t.Fatalf("revisions %v, want %s", ops, want)
	}

	// ListPipelineRevisions {"id"}: one pipeline's, with contents, after
	// its deletion too.
	one := mustCall(t, s2, "ListPipelineRevisions", map[string]any{"id": id})
	its, _ := one["pipelineRevisions"].([]any)
	if len(its) != 3 || its[0].(map[string]any)["snapshot"].(map[string]any)["contents"] != configAlloy {
		t.Fatalf("one pipeline's revisions %v", one)
	}

	// GetPipelineRevision {"revision_id"} (snake_case, as the spec sends).
	last := all[len(all)-1].(map[string]any)
	rev := mustCall(t, s3, "GetPipelineRevision", map[string]any{"revision_id": last["revisionId"]})
	if rev["operation"] != "DELETE" || rev["snapshot"].(map[string]any)["contents"] == nil {
		t.Fatalf("revision %v", rev)
	}
}

// TestCluster_PipelineUpsertsSurviveLeaderKill: 1,000 upserts from 16
// writers spread over the three servers; the leader is killed with
// SIGKILL in the middle. Every upsert that got a success answer is there
// afterwards with its revision, no revision lacks its pipeline, and after
// a full restart IDs are kept and never reused.
func TestCluster_PipelineUpsertsSurviveLeaderKill(t *testing.T) {
	for _, backend := range []string{"boltdb", "wal"} {
		t.Run(backend, func(t *testing.T) { testUpsertsSurviveLeaderKill(t, backend) })
	}
}

// testUpsertsSurviveLeaderKill runs the leader kill and the full restart
// on one raft log backend.
func testUpsertsSurviveLeaderKill(t *testing.T, backend string) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, fmt.Sprintf("server {\n  raft_logstore {\n    backend = %q\n  }\n}\n", backend))})
	leader := c.WaitForLeader()
	for _, s := range c.Servers {
		if s.Grep(`backend=`+backend) == 0 {
			t.Fatalf("%s did not open the %s raft log store:\n%s", s.Name, backend, s.Log())
		}
	}

	const total, writers = 1000, 16
	var next, acked atomic.Int64
	var mu sync.Mutex
	ackedNames := map[string]string{} // name -> id
	killed := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				name := fmt.Sprintf("p-%04d", i)
				target := c.Servers[int(i)%3]
				code, out := rpcCall(t, target, "UpsertPipeline", map[string]any{"pipeline": map[string]any{
					"name": name, "contents": strings.Repeat("x", 1024), "matchers": []any{"env=prod"}}})
				if code != 200 {
					continue // not acknowledged: it may or may not exist
				}
				mu.Lock()
				ackedNames[name] = fmt.Sprint(out["id"])
				mu.Unlock()
				if acked.Add(1) == 300 {
					close(killed)
				}
			}
		}(w)
	}
	<-killed
	leader.Kill()
	wg.Wait()
	t.Logf("%d of %d upserts acknowledged across the kill", len(ackedNames), total)
	if len(ackedNames) < 500 {
		t.Fatalf("only %d upserts acknowledged", len(ackedNames))
	}
	c.WaitForLeader()

	check := func(when string) map[string]string {
		t.Helper()
		byName := map[string]string{}
		for _, s := range c.Running() {
			list := mustCall(t, s, "ListPipelines", map[string]any{})
			pls, _ := list["pipelines"].([]any)
			for _, p := range pls {
				pm := p.(map[string]any)
				byName[pm["name"].(string)] = pm["id"].(string)
			}
			for name, id := range ackedNames {
				if byName[name] != id {
					t.Fatalf("%s, on %s: acknowledged %s (id %s) is %q", when, s.Name, name, id, byName[name])
				}
			}
			revs := mustCall(t, s, "ListPipelinesRevisions", map[string]any{})
			rl, _ := revs["pipelineRevisions"].([]any)
			if len(rl) != len(byName) {
				t.Fatalf("%s, on %s: %d revisions for %d pipelines", when, s.Name, len(rl), len(byName))
			}
			ids := map[string]bool{}
			for _, id := range byName {
				ids[id] = true
			}
			for _, r := range rl {
				rm := r.(map[string]any)
				if pid := rm["snapshot"].(map[string]any)["id"].(string); !ids[pid] || rm["operation"] != "INSERT" {
					t.Fatalf("%s: revision %v has no pipeline", when, rm)
				}
				delete(ids, rm["snapshot"].(map[string]any)["id"].(string))
			}
			if len(ids) != 0 {
				t.Fatalf("%s: pipelines without a revision: %v", when, ids)
			}
		}
		return byName
	}
	before := check("after the kill")

	// Full-cluster restart: state, revisions and IDs come back.
	leader.Start()
	for _, s := range c.Servers {
		s.Stop()
	}
	for _, s := range c.Servers {
		s.Start()
	}
	c.WaitForLeader()
	var after map[string]string
	testutil.WaitForResult(t, 30*time.Second, func() error {
		code, _ := rpcCall(t, c.Servers[0], "ListPipelines", map[string]any{})
		if code != 200 {
			return fmt.Errorf("list %d", code)
		}
		return nil
	})
	after = check("after a full restart")
	if len(after) != len(before) {
		t.Fatalf("%d pipelines before the restart, %d after", len(before), len(after))
	}
	maxID := 0
	for _, id := range after {
		n, _ := strconv.Atoi(id)
		maxID = max(maxID, n)
	}
	fresh := mustCall(t, c.Servers[1], "CreatePipeline", map[string]any{"pipeline": map[string]any{"name": "after-restart", "contents": "x"}})
	if n, _ := strconv.Atoi(fmt.Sprint(fresh["id"])); n <= maxID {
		t.Fatalf("new id %v reuses or precedes %d", fresh["id"], maxID)
	}
	if fresh["enabled"] != true {
		t.Fatalf("enabled left unset is not stored as true: %v", fresh)
	}
}
