package nomadlike

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

func codeOf(err error) int {
	var ce *structs.CodedError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

func applyPipelines(s *Server, ops ...*structs.PipelineOperation) (*structs.PipelineApplyResponse, error) {
	var resp structs.PipelineApplyResponse
	err := s.RPC("Pipeline.Apply", &structs.PipelineApplyRequest{Operations: ops}, &resp)
	return &resp, err
}

func createOp(name string, matchers ...string) *structs.PipelineOperation {
	return &structs.PipelineOperation{Op: structs.PipelineOpCreate, Pipeline: &structs.Pipeline{
		Name: name, Contents: "prometheus.exporter.self \"alloy\" { }", Matchers: matchers, Enabled: true,
	}}
}

// Writes through every server, reads from every server: all agree, and
// IDs come from one sequence whichever server took the write.
func TestPipeline_WritesAndReadsThroughEveryServer(t *testing.T) {
	servers := testCluster(t, 3, nil)
	var ids []string
	for i, s := range servers {
		resp, err := applyPipelines(s, createOp(fmt.Sprintf("p%d", i), "env=prod"))
		if err != nil {
			t.Fatalf("create through server %d: %v", i, err)
		}
		if resp.Index == 0 || len(resp.Pipelines) != 1 {
			t.Fatalf("reply %+v", resp)
		}
		ids = append(ids, resp.Pipelines[0].ID)
	}
	if fmt.Sprint(ids) != "[1 2 3]" {
		t.Fatalf("ids %v", ids)
	}
	for i, s := range servers {
		var list structs.PipelineListResponse
		if err := s.RPC("Pipeline.List", &structs.PipelineListRequest{}, &list); err != nil || len(list.Pipelines) != 3 {
			t.Fatalf("server %d list: %d %v", i, len(list.Pipelines), err)
		}
		var one structs.SinglePipelineResponse
		if err := s.RPC("Pipeline.Get", &structs.PipelineSpecificRequest{Name: "p1"}, &one); err != nil || one.Pipeline == nil || one.Pipeline.ID != "2" {
			t.Fatalf("server %d get by name: %+v %v", i, one.Pipeline, err)
		}
	}
	// A reply answered from the leader's state is the caller's own copy
	// (changing it changes nothing stored); a forwarded one is the
	// leader's answer, handed over as decoded. Either way the leader's
	// stored pipeline is untouched.
	leader := WaitForLeader(t, servers...)
	for i, s := range servers {
		var one structs.SinglePipelineResponse
		if err := s.RPC("Pipeline.Get", &structs.PipelineSpecificRequest{Name: "p1"}, &one); err != nil {
			t.Fatal(err)
		}
		one.Pipeline.Contents = "scribbled"
		stored, err := leader.State().PipelineByName(nil, "p1")
		if err != nil || stored == nil {
			t.Fatalf("leader lost p1: %v", err)
		}
		if stored.Contents == "scribbled" {
			t.Fatalf("server %d: a reply shares memory with the leader's state store", i)
		}
	}
	// Attribute filtering: which pipelines a collector would get.
	var list structs.PipelineListResponse
	req := &structs.PipelineListRequest{Attributes: map[string]string{"env": "dev"}}
	if err := servers[1].RPC("Pipeline.List", req, &list); err != nil || len(list.Pipelines) != 0 {
		t.Fatalf("env=dev matched %d: %v", len(list.Pipelines), err)
	}
}

func TestPipeline_Validation(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	big := createOp("big")
	big.Pipeline.Contents = strings.Repeat("x", 1<<20+1)
	withID := createOp("withid")
	withID.Pipeline.ID = "5"
	badMeta := createOp("meta")
	badMeta.Pipeline.Metadata = []byte(`[1,2]`)
	for name, op := range map[string]*structs.PipelineOperation{
		"bad matcher":  createOp("m", "env=~("),
		"empty name":   createOp(""),
		"bad name":     createOp("a b{"),
		"too big":      big,
		"id on create": withID,
		"metadata":     badMeta,
		"bad id":       {Op: structs.PipelineOpDelete, ID: "abc"},
		"unknown op":   {Op: "frobnicate"},
	} {
		if _, err := applyPipelines(s, op); codeOf(err) != http.StatusBadRequest {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := applyPipelines(s, createOp("m", "env=~(")); err == nil || !strings.Contains(err.Error(), `"env=~("`) {
		t.Errorf("matcher error does not name the matcher: %v", err)
	}
	all, _ := s.State().Pipelines(nil)
	if len(all) != 0 {
		t.Fatalf("invalid requests stored %d pipelines", len(all))
	}

	// validate_only answers without writing.
	var resp structs.PipelineApplyResponse
	err := s.RPC("Pipeline.Apply", &structs.PipelineApplyRequest{Operations: []*structs.PipelineOperation{createOp("v")}, ValidateOnly: true}, &resp)
	if err != nil || len(resp.Pipelines) != 1 || resp.Pipelines[0].Name != "v" || resp.Index != 0 {
		t.Fatalf("validate only: %+v %v", resp, err)
	}
	if all, _ := s.State().Pipelines(nil); len(all) != 0 {
		t.Fatal("validate_only wrote")
	}
}

// A blocking list wakes when a pipeline changes.
func TestPipeline_BlockingList(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	first, err := applyPipelines(s, createOp("a"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *structs.PipelineListResponse, 1)
	go func() {
		var list structs.PipelineListResponse
		req := &structs.PipelineListRequest{QueryOptions: structs.QueryOptions{MinQueryIndex: first.Index, MaxQueryTime: 10 * time.Second}}
		if err := s.RPC("Pipeline.List", req, &list); err != nil {
			t.Error(err)
		}
		done <- &list
	}()
	waitBlocking(t, s, 1)
	second, err := applyPipelines(s, createOp("b"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case list := <-done:
		if list.Index != second.Index || len(list.Pipelines) != 2 {
			t.Fatalf("woke with index %d and %d pipelines", list.Index, len(list.Pipelines))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking list did not wake")
	}
}

func TestConfig_PutGetRevisions(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	put := func(name, body string) (*structs.ConfigApplyResponse, error) {
		var resp structs.ConfigApplyResponse
		err := s.RPC("Config.Put", &structs.ConfigApplyRequest{Config: &structs.InstanceConfig{Name: name, Contents: body}}, &resp)
		return &resp, err
	}
	body := `
name: ignored
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['localhost:9100']
remote_write:
  - url: http://mimir:9009/api/v1/push
    basic_auth:
      username: u
      password: hunter2
`
	resp, err := put("hello/world", body)
	if err != nil || !resp.Created {
		t.Fatalf("put: %+v %v", resp, err)
	}
	if resp, err = put("hello/world", body+"write_stale_on_shutdown: true\n"); err != nil || resp.Created {
		t.Fatalf("update: %+v %v", resp, err)
	}
	var got structs.SingleConfigResponse
	if err := s.RPC("Config.Get", &structs.ConfigSpecificRequest{Name: "hello/world"}, &got); err != nil {
		t.Fatal(err)
	}
	if c := got.Config.Contents; !strings.Contains(c, "name: hello/world") || strings.Contains(c, "hunter2") || !strings.Contains(c, "<secret>") {
		t.Fatalf("get contents:\n%s", c)
	}
	// Another config may not reuse the job name; a file credential is refused.
	if _, err := put("other", "scrape_configs:\n  - job_name: node\n    static_configs: [{targets: ['a:1']}]\n"); codeOf(err) != http.StatusBadRequest ||
		!strings.Contains(err.Error(), "multiple scrape configs") {
		t.Fatalf("duplicate job name: %v", err)
	}
	if _, err := put("files", "remote_write:\n  - url: http://x/y\n    basic_auth: {username: u, password_file: /etc/p}\n"); codeOf(err) != http.StatusBadRequest ||
		!strings.Contains(err.Error(), "dangerous_allow_reading_files") {
		t.Fatalf("password_file: %v", err)
	}
	if _, err := put("bad", "bogus_key: 1\n"); codeOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "could not unmarshal config") {
		t.Fatalf("unknown key: %v", err)
	}
	var del structs.ConfigApplyResponse
	if err := s.RPC("Config.Delete", &structs.ConfigApplyRequest{Name: "hello/world"}, &del); err != nil {
		t.Fatal(err)
	}
	if err := s.RPC("Config.Delete", &structs.ConfigApplyRequest{Name: "hello/world"}, &del); codeOf(err) != http.StatusNotFound {
		t.Fatalf("second delete: %v", err)
	}
	var revs structs.ConfigRevisionsResponse
	if err := s.RPC("Config.Revisions", &structs.ConfigSpecificRequest{Name: "hello/world"}, &revs); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, r := range revs.Revisions {
		ops = append(ops, r.Operation)
		if strings.Contains(r.Snapshot.Contents, "hunter2") {
			t.Fatal("a revision shows a secret")
		}
	}
	if fmt.Sprint(ops) != "[INSERT UPDATE DELETE]" {
		t.Fatalf("revisions %v", ops)
	}
}

func TestPipeline_ACL(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) { c.ACLEnabled = true })
	WaitForLeader(t, s)
	if _, err := applyPipelines(s, createOp("a")); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("anonymous create: %v", err)
	}
	var list structs.PipelineListResponse
	if err := s.RPC("Pipeline.List", &structs.PipelineListRequest{}, &list); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("anonymous list: %v", err)
	}
	var cl structs.ConfigListResponse
	if err := s.RPC("Config.List", &structs.ConfigSpecificRequest{}, &cl); !errors.Is(err, structs.ErrPermissionDenied) {
		t.Fatalf("anonymous config list: %v", err)
	}
}
