package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/structs"
)

// send does one request with a raw body and optional token.
func send(t *testing.T, method, url, token, body string) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// envelopeOf decodes a Grafana Agent API answer, checking it is JSON.
func envelopeOf(t *testing.T, h http.Header, body []byte) (status string, data map[string]any) {
	t.Helper()
	if h.Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q of %s", h.Get("Content-Type"), body)
	}
	var env struct {
		Status string         `json:"status"`
		Data   map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("not an envelope: %s", body)
	}
	return env.Status, env.Data
}

func TestConfigName_Decode(t *testing.T) {
	for _, tc := range []struct {
		path, prefix, want, err string
	}{
		{"/agent/api/v1/configs/plain", configsPrefix, "plain", ""},
		{"/agent/api/v1/configs/hello%2Fworld", configsPrefix, "hello/world", ""},
		{"/agent/api/v1/config/hello%2Fworld", configPrefix, "hello/world", ""},
		{"/agent/api/v1/config/a%3Ab%40c/revisions", configPrefix, "a:b@c", ""},
		{"/agent/api/v1/config/sp%20ace", configPrefix, "sp ace", ""},
		{"/agent/api/v1/config/bad%zz", configPrefix, "", `could not decode config name: invalid URL escape "%zz"`},
	} {
		got, err := decodeConfigName(tc.path, tc.prefix)
		switch {
		case tc.err != "":
			code, msg := structs.ErrorStatus(err)
			if err == nil || code != 400 || msg != tc.err {
				t.Errorf("%s: %q %v, want 400 %q", tc.path, got, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("%s: %q %v, want %q", tc.path, got, err, tc.want)
		}
	}
}

// TestConfigHTTP_Envelope checks that the family's answers that come
// before any config RPC are envelopes.
func TestConfigHTTP_Envelope(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL()

	for _, tc := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{http.MethodPost, "/agent/api/v1/configs", "", 405, "Invalid method"},
		{http.MethodDelete, "/agent/api/v1/configs/x", "", 405, "Invalid method"},
		{http.MethodGet, "/agent/api/v1/config/x", "", 405, "Invalid method"},
		{http.MethodPut, "/agent/api/v1/config/x/revisions", "", 405, "Invalid method"},
		{http.MethodGet, "/agent/api/v1/nope", "", 404, "Invalid URL path: /agent/api/v1/nope"},
		{http.MethodGet, "/agent/api/v1/configs/", "", 404, "Invalid URL path: /agent/api/v1/configs/"},
		{http.MethodGet, "/agent/api/v1/configs/a/b", "", 404, "Invalid URL path: /agent/api/v1/configs/a/b"},
		{http.MethodPut, "/agent/api/v1/config/x", "", 400, "could not unmarshal config: EOF"},
		{http.MethodPost, "/agent/api/v1/config/x", " \n", 400, "could not unmarshal config: EOF"},
		{http.MethodGet, "/agent/api/v1/configs?index=x", "", 400, "Invalid index"},
		{http.MethodGet, "/agent/api/v1/configs/x?wait=x", "", 400, "Invalid wait time"},
		{http.MethodGet, "/agent/api/v1/config/x/revisions?stale=x", "", 400, "Expect `true` or `false` for `stale` query string parameter"},
	} {
		code, h, body := send(t, tc.method, u+tc.path, "", tc.body)
		status, data := envelopeOf(t, h, body)
		if code != tc.code || status != "error" || data["error"] != tc.msg {
			t.Errorf("%s %s: %d %s, want %d %q", tc.method, tc.path, code, body, tc.code, tc.msg)
		}
		if h.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: no request id", tc.method, tc.path)
		}
	}

	// A body over the limit is refused.
	code, h, body := send(t, http.MethodPut, u+"/agent/api/v1/config/x", "", strings.Repeat("a", maxRequestBytes+1))
	if status, data := envelopeOf(t, h, body); code != 413 || status != "error" || data["error"] != fmt.Sprintf("request body exceeds %d bytes", maxRequestBytes) {
		t.Fatalf("big body: %d %s", code, body)
	}
}

func TestConfigHTTP_ACLAndRateLimit(t *testing.T) {
	a := aclAgent(t, func(c *Config) {
		c.RateLimits = []*RateLimitConfig{{Family: "config", RequestsPerSecond: ptr(100.0), Burst: ptr(100)}}
	})
	mgmt := bootstrap(t, a)
	reader := tokenWith(t, a, mgmt, "config-reader", `config { policy = "read" }`)
	u := a.URL()

	for _, tc := range []struct {
		name, method, path, token string
		code                      int
		msg                       string
	}{
		{"no token", http.MethodGet, "/agent/api/v1/configs", "", 403, "Permission denied"},
		{"unknown token", http.MethodGet, "/agent/api/v1/configs", "8d2c6f3e-0000-4000-8000-00000000dead", 403, "ACL token not found"},
		{"reader writes", http.MethodDelete, "/agent/api/v1/config/x", reader.SecretID, 403, "Permission denied"},
		{"reader passes authorization", http.MethodGet, "/agent/api/v1/configs?index=x", reader.SecretID, 400, "Invalid index"},
		{"writer passes authorization", http.MethodPut, "/agent/api/v1/config/x", mgmt, 400, "could not unmarshal config: EOF"},
	} {
		code, h, body := send(t, tc.method, u+tc.path, tc.token, "")
		status, data := envelopeOf(t, h, body)
		if code != tc.code || status != "error" || data["error"] != tc.msg {
			t.Errorf("%s: %d %s, want %d %q", tc.name, code, body, tc.code, tc.msg)
		}
		if h.Get("X-RateLimit-Limit") != "100" || h.Get("X-RateLimit-Remaining") == "" || h.Get("X-RateLimit-Reset") == "" {
			t.Errorf("%s: rate limit headers %v", tc.name, h)
		}
	}
}

func TestConfigHTTP_RateLimit429(t *testing.T) {
	a := TestAgent(t, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.RateLimits = []*RateLimitConfig{{Family: "config", RequestsPerSecond: ptr(0.5), Burst: ptr(1)}}
	})
	WaitForAgentLeader(t, a)
	u := a.URL() + "/agent/api/v1/config/x"
	if code, _, body := send(t, http.MethodPut, u, "t", ""); code != 400 {
		t.Fatalf("first: %d %s", code, body)
	}
	code, h, body := send(t, http.MethodPut, u, "t", "")
	if status, data := envelopeOf(t, h, body); code != 429 || status != "error" || !strings.HasPrefix(data["error"].(string), "rate limit exceeded") ||
		h.Get("Retry-After") == "" || h.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("second: %d %v %s", code, h, body)
	}
	// Unknown paths of the family are limited and enveloped too.
	code, h, body = send(t, http.MethodGet, a.URL()+"/agent/api/v1/nope", "t", "")
	if status, _ := envelopeOf(t, h, body); code != 429 || status != "error" {
		t.Fatalf("unknown path: %d %s", code, body)
	}
}

// testInstanceConfig is a valid metrics_instance_config with a secret.
const testInstanceConfig = `name: ignored-by-the-api
scrape_configs:
- job_name: %s
  static_configs:
  - targets: ['localhost:9100']
remote_write:
- url: http://localhost:9009/api/prom/push
  basic_auth:
    username: user
    password: s3cret-password
`

// TestConfigHTTP_CRUD is the whole config API through curl-like calls and
// the api package. Needs the Config.* RPC endpoints.
func TestConfigHTTP_CRUD(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL()

	// Empty list is an empty array.
	code, h, body := send(t, http.MethodGet, u+"/agent/api/v1/configs", "", "")
	if code != 200 || string(body) != `{"status":"success","data":{"configs":[]}}`+"\n" || h.Get("X-Nomad-Index") == "" {
		t.Fatalf("empty list: %d %s %v", code, body, h)
	}
	listIndex := h.Get("X-Nomad-Index")

	// A blocking list wakes on the first put.
	done := make(chan []byte, 1)
	go func() {
		_, _, b := send(t, http.MethodGet, u+"/agent/api/v1/configs?index="+listIndex+"&wait=10s", "", "")
		done <- b
	}()
	WaitForBlockingQueries(t, a, 1)

	// Create: 201; replace: 200; both bodies exactly {"status":"success"}.
	code, h, body = send(t, http.MethodPut, u+"/agent/api/v1/config/hello%2Fworld", "", fmt.Sprintf(testInstanceConfig, "a"))
	if code != 201 || string(body) != `{"status":"success"}`+"\n" || h.Get("X-Nomad-Index") == "" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("create: %d %s %v", code, body, h)
	}
	select {
	case b := <-done:
		if !strings.Contains(string(b), `"hello/world"`) {
			t.Fatalf("blocking list: %s", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking list did not wake")
	}
	code, _, body = send(t, http.MethodPost, u+"/agent/api/v1/config/hello%2Fworld", "", fmt.Sprintf(testInstanceConfig, "b"))
	if code != 200 || string(body) != `{"status":"success"}`+"\n" {
		t.Fatalf("replace: %d %s", code, body)
	}

	// Get: the YAML under the URL's name, secrets scrubbed.
	code, h, body = send(t, http.MethodGet, u+"/agent/api/v1/configs/hello%2Fworld", "", "")
	status, data := envelopeOf(t, h, body)
	value, _ := data["value"].(string)
	if code != 200 || status != "success" || !strings.Contains(value, "name: hello/world") || !strings.Contains(value, "job_name: b") ||
		strings.Contains(value, "s3cret-password") || !strings.Contains(value, "<secret>") || h.Get("X-Nomad-Index") == "" {
		t.Fatalf("get: %d %s", code, body)
	}

	// Errors in the envelope with the agent's wording.
	for _, tc := range []struct {
		method, path, body string
		code               int
		prefix             string
	}{
		{http.MethodGet, "/agent/api/v1/configs/missing", "", 404, "configuration missing does not exist"},
		{http.MethodDelete, "/agent/api/v1/config/missing", "", 404, "configuration missing does not exist"},
		{http.MethodPut, "/agent/api/v1/config/bad", "scrape_configs: [", 400, "could not unmarshal config: "},
		{http.MethodPut, "/agent/api/v1/config/bad", "bogus_key: 1\n", 400, "could not unmarshal config: "},
		{http.MethodPut, "/agent/api/v1/config/bad", "min_wal_time: 5h\nmax_wal_time: 1h\n", 400, "failed to validate config: "},
		// Another config's job name.
		{http.MethodPut, "/agent/api/v1/config/other", fmt.Sprintf(testInstanceConfig, "b"), 400, ""},
	} {
		code, h, body := send(t, tc.method, u+tc.path, "", tc.body)
		status, data := envelopeOf(t, h, body)
		msg, _ := data["error"].(string)
		if code != tc.code || status != "error" || !strings.HasPrefix(msg, tc.prefix) {
			t.Errorf("%s %s: %d %s, want %d %q...", tc.method, tc.path, code, body, tc.code, tc.prefix)
		}
	}

	// Revisions: insert then update, snapshots with contents and times.
	code, h, body = send(t, http.MethodGet, u+"/agent/api/v1/config/hello%2Fworld/revisions", "", "")
	var revs struct {
		Status string `json:"status"`
		Data   struct {
			Revisions []api.ConfigRevision `json:"revisions"`
		} `json:"data"`
	}
	if code != 200 || json.Unmarshal(body, &revs) != nil || revs.Status != "success" || len(revs.Data.Revisions) != 2 || h.Get("X-Nomad-Index") == "" {
		t.Fatalf("revisions: %d %s", code, body)
	}
	for i, op := range []string{structs.RevisionInsert, structs.RevisionUpdate} {
		r := revs.Data.Revisions[i]
		if r.Operation != op || r.RevisionID == "" || r.CreatedAt.IsZero() || r.Snapshot == nil || r.Snapshot.Name != "hello/world" ||
			r.Snapshot.Contents == "" || r.Snapshot.CreatedAt == nil || r.Snapshot.UpdatedAt == nil {
			t.Fatalf("revision %d: %+v %+v", i, r, r.Snapshot)
		}
	}
	if strings.Contains(string(body), "s3cret-password") {
		t.Fatalf("revisions show a secret: %s", body)
	}

	// The api package reads every answer.
	client, err := api.NewClient(&api.Config{Address: u})
	if err != nil {
		t.Fatal(err)
	}
	cfgs := client.Configs()
	names, _, err := cfgs.List(nil)
	if err != nil || len(names) != 1 || names[0] != "hello/world" {
		t.Fatalf("api list: %v %v", names, err)
	}
	if created, _, err := cfgs.Put("api/made", fmt.Sprintf(testInstanceConfig, "c"), nil); err != nil || !created {
		t.Fatalf("api put: %v %v", created, err)
	}
	if y, _, err := cfgs.Get("api/made", nil); err != nil || !strings.Contains(y, "job_name: c") {
		t.Fatalf("api get: %q %v", y, err)
	}
	if rs, _, err := cfgs.Revisions("api/made", nil); err != nil || len(rs) != 1 || rs[0].Operation != api.RevisionInsert {
		t.Fatalf("api revisions: %v %v", rs, err)
	}
	if _, err := cfgs.Delete("api/made", nil); err != nil {
		t.Fatalf("api delete: %v", err)
	}
	var ee api.EnvelopeError
	if _, _, err := cfgs.Get("api/made", nil); !errors.As(err, &ee) || ee.StatusCode() != 404 || ee.Message() != "configuration api/made does not exist" {
		t.Fatalf("api get deleted: %v", err)
	}

	// Delete: 200 and the envelope; the history keeps the delete.
	code, _, body = send(t, http.MethodDelete, u+"/agent/api/v1/config/hello%2Fworld", "", "")
	if code != 200 || string(body) != `{"status":"success"}`+"\n" {
		t.Fatalf("delete: %d %s", code, body)
	}
	if rs, _, err := cfgs.Revisions("hello/world", nil); err != nil || len(rs) != 3 || rs[2].Operation != api.RevisionDelete {
		t.Fatalf("revisions after delete: %v %v", rs, err)
	}
}

// TestConfigHTTP_SecretPlaceholder: a PUT of what GET returned keeps the
// stored password; a placeholder with nothing stored is a 400 envelope
// naming the field.
func TestConfigHTTP_SecretPlaceholder(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL()

	if code, _, body := send(t, http.MethodPut, u+"/agent/api/v1/config/sec", "", fmt.Sprintf(testInstanceConfig, "sec")); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	code, h, body := send(t, http.MethodGet, u+"/agent/api/v1/configs/sec", "", "")
	_, data := envelopeOf(t, h, body)
	value, _ := data["value"].(string)
	if code != 200 || !strings.Contains(value, "password: <secret>") {
		t.Fatalf("get: %d %s", code, body)
	}
	if code, _, body := send(t, http.MethodPut, u+"/agent/api/v1/config/sec", "", value); code != 200 || string(body) != `{"status":"success"}`+"\n" {
		t.Fatalf("put back: %d %s", code, body)
	}
	cfg, err := a.Server().State().ConfigByName(nil, "sec")
	if err != nil || cfg == nil || !strings.Contains(cfg.Contents, "password: s3cret-password") || strings.Contains(cfg.Contents, "<secret>") {
		t.Fatalf("stored: %v %+v", err, cfg)
	}

	code, h, body = send(t, http.MethodPut, u+"/agent/api/v1/config/fresh", "", value)
	status, data := envelopeOf(t, h, body)
	msg, _ := data["error"].(string)
	want := `failed to validate config: remote_write[0].basic_auth.password: "<secret>" is a placeholder`
	if code != 400 || status != "error" || !strings.HasPrefix(msg, want) {
		t.Fatalf("placeholder without a stored secret: %d %s", code, body)
	}
}
