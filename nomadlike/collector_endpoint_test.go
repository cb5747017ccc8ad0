package nomadlike

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

func registerCollector(s *Server, id string, attrs map[string]string) (*structs.CollectorRegisterResponse, error) {
	var resp structs.CollectorRegisterResponse
	err := s.RPC("Collector.Register", &structs.CollectorRegisterRequest{
		Collector: &structs.Collector{ID: id, Name: "name-" + id, Attributes: attrs}}, &resp)
	return &resp, err
}

func getConfig(s *Server, id, hash string, attrs map[string]string) (*structs.CollectorGetConfigResponse, error) {
	var resp structs.CollectorGetConfigResponse
	err := s.RPC("Collector.GetConfig", &structs.CollectorGetConfigRequest{
		ID: id, Hash: hash, Attributes: attrs, QueryOptions: structs.QueryOptions{AllowStale: true}}, &resp)
	return &resp, err
}

// A collector registers through one server; every server (each reading
// its own state) answers its GetConfig with the same content and hash.
func TestCollector_RegisterOnOneGetConfigOnAnother(t *testing.T) {
	servers := testCluster(t, 3, nil)
	leader := WaitForLeader(t, servers...)
	var follower *Server
	for _, s := range servers {
		if s != leader {
			follower = s
			break
		}
	}
	if _, err := applyPipelines(follower, createOp("prod-metrics", `env="prod"`), createOp("dev-metrics", `env="dev"`),
		createOp("everyone")); err != nil {
		t.Fatal(err)
	}
	reg, err := registerCollector(follower, "alloy-1", map[string]string{"env": "prod", "collector.os": "linux"})
	if err != nil || reg.Index == 0 || reg.Collector == nil || reg.Collector.CreateIndex != reg.Index {
		t.Fatalf("register through a follower: %+v %v", reg, err)
	}
	// Registering the same thing again writes nothing.
	again, err := registerCollector(servers[2], "alloy-1", map[string]string{"env": "prod", "collector.os": "linux"})
	if err != nil || again.Index != reg.Index {
		t.Fatalf("identical register: index %d, want %d (%v)", again.Index, reg.Index, err)
	}
	if idx, _ := leader.State().Index("collectors"); idx != reg.Index {
		t.Fatalf("collectors index moved to %d on an identical register", idx)
	}

	var want *structs.CollectorGetConfigResponse
	for i, s := range servers {
		testutil.WaitForResult(t, 5*time.Second, func() error {
			got, err := getConfig(s, "alloy-1", "", nil)
			if err != nil {
				return err
			}
			if !got.Registered {
				return fmt.Errorf("server %d has not applied the registration", i)
			}
			if fmt.Sprint(got.Pipelines) != "[everyone prod-metrics]" {
				return fmt.Errorf("server %d: pipelines %v", i, got.Pipelines)
			}
			if want == nil {
				want = got
			}
			if got.Hash != want.Hash || got.Content != want.Content {
				return fmt.Errorf("server %d: hash %s, want %s", i, got.Hash, want.Hash)
			}
			return nil
		})
	}
	if !strings.Contains(want.Content, `declare "prod_metrics_`) || strings.Contains(want.Content, "dev_metrics") {
		t.Fatalf("content:\n%s", want.Content)
	}
	// The held hash: not modified, no content.
	nm, err := getConfig(follower, "alloy-1", want.Hash, nil)
	if err != nil || !nm.NotModified || nm.Content != "" || nm.Hash != want.Hash {
		t.Fatalf("not modified: %+v %v", nm, err)
	}
	// The request's attributes win over the registered ones.
	dev, err := getConfig(follower, "alloy-1", want.Hash, map[string]string{"env": "dev"})
	if err != nil || dev.NotModified || fmt.Sprint(dev.Pipelines) != "[dev-metrics everyone]" {
		t.Fatalf("with request attributes: %+v %v", dev, err)
	}

	// Unregister through another server; unknown IDs are no error.
	var un structs.GenericResponse
	if err := servers[2].RPC("Collector.Unregister", &structs.CollectorUnregisterRequest{ID: "alloy-1"}, &un); err != nil || un.Index <= reg.Index {
		t.Fatalf("unregister: %+v %v", un, err)
	}
	if err := servers[2].RPC("Collector.Unregister", &structs.CollectorUnregisterRequest{ID: "alloy-1"}, &un); err != nil {
		t.Fatalf("second unregister: %v", err)
	}
	var one structs.SingleCollectorResponse
	if err := leader.RPC("Collector.Get", &structs.CollectorSpecificRequest{ID: "alloy-1"}, &one); err != nil || one.Collector != nil {
		t.Fatalf("get after unregister: %+v %v", one.Collector, err)
	}
	// Unregistered, it still gets a config: from no attributes, the
	// pipelines without matchers.
	gone, err := getConfig(leader, "alloy-1", "", nil)
	if err != nil || gone.Registered || fmt.Sprint(gone.Pipelines) != "[everyone]" {
		t.Fatalf("unregistered get config: %+v %v", gone, err)
	}
}

func TestCollector_BadInput(t *testing.T) {
	s, _ := TestServer(t, nil)
	WaitForLeader(t, s)
	long := strings.Repeat("x", 151)
	for name, err := range map[string]error{
		"register without id":   func() error { _, err := registerCollector(s, "", nil); return err }(),
		"register long value":   func() error { _, err := registerCollector(s, "a", map[string]string{"k": long}); return err }(),
		"register empty key":    func() error { _, err := registerCollector(s, "a", map[string]string{"": "v"}); return err }(),
		"get config without id": func() error { _, err := getConfig(s, "", "", nil); return err }(),
		"unregister without id": s.RPC("Collector.Unregister", &structs.CollectorUnregisterRequest{}, &structs.GenericResponse{}),
		"get without id":        s.RPC("Collector.Get", &structs.CollectorSpecificRequest{}, &structs.SingleCollectorResponse{}),
	} {
		if codeOf(err) != http.StatusBadRequest {
			t.Errorf("%s: %v, want a 400", name, err)
		}
	}
	var list structs.CollectorListResponse
	if err := s.RPC("Collector.List", &structs.CollectorListRequest{}, &list); err != nil || len(list.Collectors) != 0 {
		t.Fatalf("list nothing registered: %+v %v", list, err)
	}
}

func TestCollectorPipelines_Selection(t *testing.T) {
	ps := []*structs.Pipeline{
		{ID: "1", Name: "prod", Enabled: true, Matchers: []string{`env="prod"`}},
		{ID: "2", Name: "dev", Enabled: true, Matchers: []string{`env="dev"`}},
		{ID: "3", Name: "off", Enabled: false},
		{ID: "4", Name: "otel", Enabled: true, ConfigType: "CONFIG_TYPE_OTEL"},
		{ID: "5", Name: "linux-prod", Enabled: true, Matchers: []string{`env=~"pr.*"`, "collector.os=linux"}},
		{ID: "6", Name: "me", Enabled: true, Matchers: []string{`collector.ID="c1"`}},
		{ID: "7", Name: "all", Enabled: true},
	}
	names := func(attrs map[string]string) string {
		var out []string
		compiled, _ := compilePipelines(ps, nil)
		for _, p := range matchingPipelines(compiled, attrs) {
			out = append(out, p.Name)
		}
		return strings.Join(out, ",")
	}
	for attrs, want := range map[string]string{
		"env=prod collector.os=linux collector.ID=c1": "prod,linux-prod,me,all",
		"env=prod collector.os=darwin":                "prod,all",
		"env=dev":                                     "dev,all",
		"":                                            "all",
	} {
		m := map[string]string{}
		for _, kv := range strings.Fields(attrs) {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		if got := names(m); got != want {
			t.Errorf("%q: %s, want %s", attrs, got, want)
		}
	}
}
