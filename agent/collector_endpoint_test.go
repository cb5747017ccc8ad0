package agent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	collectorv1 "github.com/nomadlike/nomadlike/agent/proto/collector/v1"
	"github.com/nomadlike/nomadlike/agent/proto/collector/v1/collectorv1connect"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// getConfigJSON is a GetConfig as curl sends it; it returns the decoded
// answer (content, hash, notModified).
func getConfigJSON(t *testing.T, base, body string) (content, hash string, notModified bool) {
	t.Helper()
	code, h, out := post(t, base+collectorServicePrefix+"GetConfig", "application/json", "", []byte(body))
	var res struct {
		Content     string `json:"content"`
		Hash        string `json:"hash"`
		NotModified bool   `json:"notModified"`
	}
	if code != 200 || json.Unmarshal(out, &res) != nil || h.Get("Content-Type") != "application/json" {
		t.Fatalf("GetConfig %s: %d %s", body, code, out)
	}
	return res.Content, res.Hash, res.NotModified
}

// upsertPipeline writes a pipeline through the pipeline service (JSON).
func upsertPipeline(t *testing.T, base, name, contents string, enabled bool, matchers ...string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"pipeline": map[string]any{
		"name": name, "contents": contents, "matchers": append([]string{}, matchers...), "enabled": enabled}})
	if code, _, out := post(t, base+pipelineServicePrefix+"UpsertPipeline", "application/json", "", body); code != 200 {
		t.Fatalf("upsert %s: %d %s", name, code, out)
	}
}

// TestCollectorHTTP_CurlJSON drives the collector service with plain
// net/http and Connect JSON, as the README's curl examples do.
func TestCollectorHTTP_CurlJSON(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL()
	upsertPipeline(t, u, "prod_metrics", `prometheus.exporter.self "p" { }`, true, `env="prod"`)
	upsertPipeline(t, u, "dev_metrics", `prometheus.exporter.self "d" { }`, true, `env="dev"`)
	upsertPipeline(t, u, "disabled_everywhere", `prometheus.exporter.self "x" { }`, false)

	// Register: local_attributes win over the deprecated attributes.
	code, h, body := post(t, u+collectorServicePrefix+"RegisterCollector", "application/json", "",
		[]byte(`{"id":"alloy-1","name":"host-1","attributes":{"env":"dev","team":"a"},"local_attributes":{"env":"prod","collector.os":"linux"}}`))
	if code != 200 || string(body) != "{}" || h.Get("X-Nomad-Index") == "" {
		t.Fatalf("register: %d %s %v", code, body, h)
	}
	var list []*structs.Collector
	getJSON(t, u+"/v1/collectors", &list)
	if len(list) != 1 || list[0].ID != "alloy-1" || list[0].Name != "host-1" ||
		fmt.Sprint(list[0].Attributes) != "map[collector.os:linux env:prod team:a]" {
		t.Fatalf("collectors: %+v", list)
	}

	// Without attributes in the poll, the registered ones select.
	content, hash, nm := getConfigJSON(t, u, `{"id":"alloy-1"}`)
	if nm || len(hash) != 64 || !strings.Contains(content, `declare "prod_metrics" {`) ||
		strings.Contains(content, "dev_metrics") || strings.Contains(content, "disabled_everywhere") {
		t.Fatalf("prod config (hash %s):\n%s", hash, content)
	}
	// Same hash back: not modified, no content.
	c2, h2, nm := getConfigJSON(t, u, `{"id":"alloy-1","hash":"`+hash+`"}`)
	if !nm || c2 != "" || h2 != hash {
		t.Fatalf("not modified: %v %q %s", nm, c2, h2)
	}
	// The poll's attributes select instead (both spellings of the field).
	devContent, devHash, _ := getConfigJSON(t, u, `{"id":"alloy-1","localAttributes":{"env":"dev"},"hash":"`+hash+`"}`)
	if devHash == hash || !strings.Contains(devContent, "dev_metrics") || strings.Contains(devContent, "prod_metrics") {
		t.Fatalf("dev config:\n%s", devContent)
	}

	// A pipeline update changes the hash; disabling takes it away.
	upsertPipeline(t, u, "prod_metrics", `prometheus.exporter.self "p2" { }`, true, `env="prod"`)
	c3, h3, nm := getConfigJSON(t, u, `{"id":"alloy-1","hash":"`+hash+`"}`)
	if nm || h3 == hash || !strings.Contains(c3, `"p2"`) {
		t.Fatalf("after update: %v %s\n%s", nm, h3, c3)
	}
	upsertPipeline(t, u, "prod_metrics", `prometheus.exporter.self "p2" { }`, false, `env="prod"`)
	c4, _, _ := getConfigJSON(t, u, `{"id":"alloy-1","hash":"`+h3+`"}`)
	if c4 != structs.NoPipelinesContent {
		t.Fatalf("all disabled: %q", c4)
	}

	// Operators' view: the collector, its pipelines and hash.
	upsertPipeline(t, u, "prod_metrics", `prometheus.exporter.self "p2" { }`, true, `env="prod"`)
	var st structs.CollectorStatus
	getJSON(t, u+"/v1/collector/alloy-1", &st)
	if st.Collector == nil || st.ID != "alloy-1" || fmt.Sprint(st.Pipelines) != "[prod_metrics]" || st.ConfigHash != h3 {
		t.Fatalf("status %+v (want hash %s)", st, h3)
	}

	// Bad input is a Connect error, never a 500.
	for _, tc := range []struct {
		proc, ctype, body string
		status            int
		code              string
	}{
		{"RegisterCollector", "application/json", `{}`, 400, "invalid_argument"},
		{"RegisterCollector", "application/json", ``, 400, "invalid_argument"},
		{"RegisterCollector", "application/json", `{"id":"x","local_attributes":{"k":"` + strings.Repeat("v", 151) + `"}}`, 400, "invalid_argument"},
		{"RegisterCollector", "application/json", `{"id":`, 400, "invalid_argument"},
		{"GetConfig", "application/json", `{}`, 400, "invalid_argument"},
		{"GetConfig", "application/json", `{"id":"x","attributes":{"":"v"}}`, 400, "invalid_argument"},
		{"UnregisterCollector", "application/json", `{}`, 400, "invalid_argument"},
		{"UnregisterCollector", "application/json", `{"id":5}`, 400, "invalid_argument"},
		{"NoSuchProcedure", "application/json", `{}`, 404, "unimplemented"},
		{"GetConfig", "text/plain", `{}`, 415, ""},
	} {
		code, _, body := post(t, u+collectorServicePrefix+tc.proc, tc.ctype, "", []byte(tc.body))
		if code != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.proc, tc.body, code, body, tc.status)
			continue
		}
		if tc.code != "" {
			if c, _ := connectErr(t, body); c != tc.code {
				t.Errorf("%s %s: code %s, want %s", tc.proc, tc.body, c, tc.code)
			}
		}
	}
	// Unregister, then it is gone from the operators' view.
	if code, _, body := post(t, u+collectorServicePrefix+"UnregisterCollector", "application/json", "", []byte(`{"id":"alloy-1"}`)); code != 200 {
		t.Fatalf("unregister: %d %s", code, body)
	}
	if code, body := do(t, http.MethodGet, u+"/v1/collector/alloy-1", "", nil); code != 404 {
		t.Fatalf("unregistered collector: %d %s", code, body)
	}
}

// collectorClient is a generated connect-go client as Alloy builds it:
// default options, so the binary codec (application/proto).
func collectorClient(base, token string) collectorv1connect.CollectorServiceClient {
	return collectorv1connect.NewCollectorServiceClient(http.DefaultClient, base,
		connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
			return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
				if token != "" {
					// Alloy's basic_auth: the stack ID as user, the token as password.
					req.Header().Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("12345:"+token)))
				}
				return next(ctx, req)
			}
		})))
}

// TestCollectorRPC_AlloyFlow runs Alloy's remotecfg calls with the binary
// codec against a client-only agent, which forwards to its server.
func TestCollectorRPC_AlloyFlow(t *testing.T) {
	srv := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, srv)
	client := TestAgent(t, func(c *Config) {
		c.Server.Enabled = ptr(false)
		c.Server.BootstrapExpect = ptr(0)
		c.Client.Servers = []string{srv.advertise.rpc}
	})
	upsertPipeline(t, srv.URL(), "linux", `prometheus.exporter.unix "u" { }`, true, "collector.os=linux")
	upsertPipeline(t, srv.URL(), "windows", `prometheus.exporter.windows "w" { }`, true, "collector.os=windows")
	ctx := context.Background()
	c := collectorClient(client.URL(), "")
	attrs := map[string]string{"collector.os": "linux", "collector.version": "v1.10.0"}

	// Alloy: GetConfig first (maybe never registered), then register.
	first, err := c.GetConfig(ctx, connect.NewRequest(&collectorv1.GetConfigRequest{Id: "alloy-proto", LocalAttributes: attrs,
		RemoteConfigStatus: &collectorv1.RemoteConfigStatus{Status: collectorv1.RemoteConfigStatuses_RemoteConfigStatuses_UNSET}}))
	if err != nil || first.Msg.NotModified || !strings.Contains(first.Msg.Content, `declare "linux"`) || strings.Contains(first.Msg.Content, "windows") {
		t.Fatalf("first poll: %v %v", first, err)
	}
	if _, err := c.RegisterCollector(ctx, connect.NewRequest(&collectorv1.RegisterCollectorRequest{Id: "alloy-proto", Name: "n", LocalAttributes: attrs})); err != nil {
		t.Fatalf("register: %v", err)
	}
	testutil.WaitForResult(t, 5*time.Second, func() error {
		res, err := c.GetConfig(ctx, connect.NewRequest(&collectorv1.GetConfigRequest{Id: "alloy-proto", LocalAttributes: attrs, Hash: first.Msg.Hash}))
		if err != nil {
			return err
		}
		if !res.Msg.NotModified || res.Msg.Content != "" || res.Msg.Hash != first.Msg.Hash {
			return fmt.Errorf("poll with the held hash: %v", res.Msg)
		}
		return nil
	})
	// Bad input keeps its code through the binary codec.
	if _, err := c.GetConfig(ctx, connect.NewRequest(&collectorv1.GetConfigRequest{})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("GetConfig without id: %v", err)
	}
	if _, err := c.UnregisterCollector(ctx, connect.NewRequest(&collectorv1.UnregisterCollectorRequest{Id: "alloy-proto"})); err != nil {
		t.Fatalf("unregister: %v", err)
	}
	var list []*structs.Collector
	getJSON(t, srv.URL()+"/v1/collectors", &list)
	if len(list) != 0 {
		t.Fatalf("collectors after unregister: %+v", list)
	}
}

// TestCollectorHTTP_ACL: a collector token needs node:write to register
// and pipeline:read to poll; a token with neither is refused, a missing
// one is unauthenticated.
func TestCollectorHTTP_ACL(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)
	collectorTok := tokenWith(t, a, mgmt, "collector", `node { policy = "write" }`+"\n"+`pipeline { policy = "read" }`).SecretID
	readOnly := tokenWith(t, a, mgmt, "ro", `pipeline { policy = "read" }`).SecretID
	ctx := context.Background()

	good := collectorClient(a.URL(), collectorTok)
	if _, err := good.RegisterCollector(ctx, connect.NewRequest(&collectorv1.RegisterCollectorRequest{Id: "c1"})); err != nil {
		t.Fatalf("register with a collector token: %v", err)
	}
	if _, err := good.GetConfig(ctx, connect.NewRequest(&collectorv1.GetConfigRequest{Id: "c1"})); err != nil {
		t.Fatalf("poll with a collector token: %v", err)
	}
	ro := collectorClient(a.URL(), readOnly)
	if _, err := ro.GetConfig(ctx, connect.NewRequest(&collectorv1.GetConfigRequest{Id: "c1"})); err != nil {
		t.Fatalf("poll with pipeline:read: %v", err)
	}
	if _, err := ro.RegisterCollector(ctx, connect.NewRequest(&collectorv1.RegisterCollectorRequest{Id: "c2"})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("register with pipeline:read only: %v", err)
	}
	if _, err := collectorClient(a.URL(), "").GetConfig(ctx, connect.NewRequest(&collectorv1.GetConfigRequest{Id: "c1"})); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("poll without a token: %v", err)
	}
}
