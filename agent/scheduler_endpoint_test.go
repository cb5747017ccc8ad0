package agent

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

func putBody(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

func TestHTTP_Schedulers(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Server.NumSchedulers = ptr(2) })
	WaitForAgentLeader(t, a)
	var info schedulerWorkersInfo
	testutil.WaitForResult(t, 5*time.Second, func() error {
		getJSON(t, a.URL()+"/v1/agent/schedulers", &info)
		if len(info.Schedulers) != 2 || info.Schedulers[0].Status != "Started" {
			return fmt.Errorf("%+v", info)
		}
		return nil
	})
	if info.ServerID != *a.config.NodeName+".global" || info.Schedulers[0].Started == "" ||
		len(info.Schedulers[0].EnabledSchedulers) != 3 {
		t.Fatalf("%+v", info)
	}
	for _, n := range []int{1, 4} {
		code, body := putBody(t, a.URL()+"/v1/agent/schedulers/config", fmt.Sprintf(`{"num_schedulers":%d,"enabled_schedulers":["_core","pipeline"]}`, n))
		if code != 200 || !strings.Contains(string(body), fmt.Sprintf(`"num_schedulers":%d`, n)) || !strings.Contains(string(body), `"server_id"`) {
			t.Fatalf("%d %s", code, body)
		}
		getJSON(t, a.URL()+"/v1/agent/schedulers", &info)
		if len(info.Schedulers) != n {
			t.Fatalf("%d workers after resizing to %d", len(info.Schedulers), n)
		}
	}
	for _, bad := range []struct{ body, msg string }{
		{``, "Invalid request: Request body is empty"},
		{`{`, "Invalid request: "},
		{`{"num_schedulers":-1,"enabled_schedulers":["_core"]}`, "Invalid request"},
		{`{"num_schedulers":1,"enabled_schedulers":["pipeline"]}`, "Invalid request"},
		{`{"num_schedulers":1,"enabled_schedulers":["_core","service"]}`, "Invalid request"},
	} {
		code, body := putBody(t, a.URL()+"/v1/agent/schedulers/config", bad.body)
		if code != 400 || !strings.HasPrefix(string(body), bad.msg) {
			t.Fatalf("PUT %q: %d %s", bad.body, code, body)
		}
	}

	client := TestAgent(t, func(c *Config) {
		c.Server.Enabled = ptr(false)
		c.Server.BootstrapExpect = ptr(0)
		c.Client.Servers = []string{a.server.RPCAddr()}
	})
	for _, path := range []string{"/v1/agent/schedulers", "/v1/agent/schedulers/config"} {
		if code, _, body := call(t, "GET", client.URL()+path); code != 400 || string(body) != "Server only endpoint" {
			t.Fatalf("%s on a client: %d %s", path, code, body)
		}
	}
}

// A client writes its assigned pipelines to its pipeline file, calls the
// reload URL once per change and reports the applied hash.
func TestClient_AppliesAssignment(t *testing.T) {
	var reloads atomic.Int32
	reload := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/-/reload" {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		reloads.Add(1)
	}))
	defer reload.Close()
	file := filepath.Join(t.TempDir(), "pipelines.alloy")
	a := TestAgent(t, func(c *Config) {
		c.Client.Meta = map[string]string{"env": "prod"}
		c.Client.PipelineFile = ptr(file)
		c.Client.ReloadURL = ptr(reload.URL + "/-/reload")
	})
	WaitForAgentLeader(t, a)
	nodeID := a.client.NodeID()
	view := func() *NodeAssignmentView {
		var v NodeAssignmentView
		getJSON(t, a.URL()+"/v1/node/"+nodeID+"/assignment", &v)
		return &v
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		if v := view(); !v.Applied || reloads.Load() != 1 {
			return fmt.Errorf("empty assignment not applied: %+v, %d reloads", v, reloads.Load())
		}
		return nil
	})
	var out structs.PipelineApplyResponse
	if err := a.RPC("Pipeline.Apply", &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{
		{Op: structs.PipelineOpCreate, Pipeline: &structs.Pipeline{Name: "prod-only", Contents: "logging { level = \"info\" }", Matchers: []string{`env="prod"`}, Enabled: true}},
		{Op: structs.PipelineOpCreate, Pipeline: &structs.Pipeline{Name: "dev-only", Contents: "dev", Matchers: []string{`env="dev"`}, Enabled: true}},
	}}, &out); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		buf, _ := os.ReadFile(file)
		v := view()
		if !strings.Contains(string(buf), `logging { level = "info" }`) || strings.Contains(string(buf), "dev") {
			return fmt.Errorf("pipeline file %q", buf)
		}
		if !v.Applied || v.AppliedHash != v.Hash || len(v.PipelineIDs) != 1 || v.Content != string(buf) {
			return fmt.Errorf("assignment %+v", v)
		}
		return nil
	})
	if n := reloads.Load(); n != 2 {
		t.Fatalf("%d reloads after one change, want 2 (one at start)", n)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Fatalf("temporary files left beside the pipeline file: %v", entries)
	}
}

// TestHTTP_SchedulersBounded: num_schedulers 1000000 made a million
// worker goroutines (4.5 GB) and cost the leader its leadership. Over the
// bound is a 400 in Nomad's format that names the limit, from the server's
// own check (which the config file goes through too), and the pool is left
// as it was.
func TestHTTP_SchedulersBounded(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Server.NumSchedulers = ptr(2); c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	limit := nomadlike.MaxSchedulers()
	for _, n := range []int{limit + 1, 1_000_000} {
		code, body := putBody(t, a.URL()+"/v1/agent/schedulers/config",
			fmt.Sprintf(`{"num_schedulers":%d,"enabled_schedulers":["_core","pipeline"]}`, n))
		want := fmt.Sprintf("Invalid request: num_schedulers %d must be at most %d", n, limit)
		if code != http.StatusBadRequest || !strings.HasPrefix(string(body), want) {
			t.Fatalf("num_schedulers %d: %d %s, want 400 %q", n, code, body, want)
		}
		if got := a.server.SchedulerWorkerConfig().NumSchedulers; got != 2 {
			t.Fatalf("pool resized to %d by a refused request", got)
		}
	}
	if _, err := a.server.SetSchedulerWorkerConfig(structs.SchedulerWorkerPoolArgs{
		NumSchedulers: 1_000_000, EnabledSchedulers: []string{structs.SchedulerCore}}); err == nil {
		t.Fatal("server accepted num_schedulers 1000000")
	}
	code, body := putBody(t, a.URL()+"/v1/agent/schedulers/config",
		fmt.Sprintf(`{"num_schedulers":%d,"enabled_schedulers":["_core"]}`, limit))
	if code != http.StatusOK {
		t.Fatalf("num_schedulers at the limit: %d %s", code, body)
	}

	c := DefaultConfig()
	c.Server.Enabled = ptr(true)
	c.Server.NumSchedulers = ptr(limit + 1)
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "must be at most") {
		t.Fatalf("config with num_schedulers %d: %v", limit+1, err)
	}
}
