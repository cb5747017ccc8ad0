package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// openStream starts a GET on a streaming endpoint and returns the response
// once its headers arrived; the stream ends with the test or cancel.
func openStream(t *testing.T, rawURL, token string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("GET %s: %v", rawURL, r.err)
		}
		t.Cleanup(func() { r.resp.Body.Close() })
		return r.resp, cancel
	case <-time.After(5 * time.Second):
		t.Fatalf("GET %s: no headers within 5s (not flushed?)", rawURL)
	}
	return nil, cancel
}

// frameReader decodes monitor frames in the background.
type frameReader struct {
	frames chan *structs.StreamFrame
}

func readFrames(body io.Reader) *frameReader {
	fr := &frameReader{frames: make(chan *structs.StreamFrame, 1024)}
	go func() {
		defer close(fr.frames)
		dec := json.NewDecoder(body)
		for {
			var f structs.StreamFrame
			if err := dec.Decode(&f); err != nil {
				return
			}
			fr.frames <- &f
		}
	}()
	return fr
}

// waitFor reads frames until the data seen so far contains want; it
// returns the data and the number of heartbeats seen.
func (fr *frameReader) waitFor(t *testing.T, want string, timeout time.Duration) (string, int) {
	t.Helper()
	return fr.watch(t, want, timeout, nil, func(data string, _ int) bool { return strings.Contains(data, want) })
}

// logUntil calls log every 100 ms until a frame holds want. A monitor
// reached through another agent attaches to the logger there some time
// after its own headers went out, and a line logged before that is in
// no stream: logging until it shows is a polled condition, not a guess
// at how long attaching takes.
func (fr *frameReader) logUntil(t *testing.T, log func(), want string, timeout time.Duration) {
	t.Helper()
	fr.watch(t, want, timeout, log, func(data string, _ int) bool { return strings.Contains(data, want) })
}

// waitForHeartbeat reads frames until a heartbeat arrives.
func (fr *frameReader) waitForHeartbeat(t *testing.T, timeout time.Duration) {
	t.Helper()
	fr.watch(t, "a heartbeat", timeout, nil, func(_ string, heartbeats int) bool { return heartbeats > 0 })
}

// watch reads frames until done says so, calling every (when set) at
// once and then every 100 ms.
func (fr *frameReader) watch(t *testing.T, what string, timeout time.Duration, every func(), done func(data string, heartbeats int) bool) (string, int) {
	t.Helper()
	var data strings.Builder
	heartbeats := 0
	deadline := time.After(timeout)
	var tick <-chan time.Time
	if every != nil {
		every()
		ticker := time.NewTicker(100 * time.Millisecond)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		select {
		case f, ok := <-fr.frames:
			if !ok {
				t.Fatalf("stream ended before %s; got %q", what, data.String())
			}
			if f.Offset == 0 && len(f.Data) == 0 && f.File == "" && f.FileEvent == "" {
				heartbeats++
			} else {
				if f.FileEvent != "log" || len(f.Data) > 1024 {
					t.Fatalf("bad frame %+v", f)
				}
				data.Write(f.Data)
			}
			if done(data.String(), heartbeats) {
				return data.String(), heartbeats
			}
		case <-tick:
			every()
		case <-deadline:
			t.Fatalf("no %s within %v; got %q", what, timeout, data.String())
		}
	}
}

func TestAgentHost(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.EnableDebug = ptr(true) })
	WaitForAgentLeader(t, a)
	u := a.URL() + "/v1/agent/host"
	name := a.server.LocalMember().Name

	var out structs.HostDataResponse
	getJSON(t, u, &out)
	if out.AgentID != name || out.HostData == nil || out.HostData.OS == "" || len(out.HostData.Environment) == 0 {
		t.Fatalf("local host: %+v", out)
	}
	for _, id := range []string{name, *a.config.NodeName, a.server.Config().NodeID, "leader"} {
		out = structs.HostDataResponse{}
		getJSON(t, u+"?server_id="+url.QueryEscape(id), &out)
		if out.AgentID != name || out.HostData == nil {
			t.Fatalf("server_id=%s: %+v", id, out)
		}
	}
	testutil.WaitForResult(t, 10*time.Second, func() error {
		if !a.client.Registered() {
			return fmt.Errorf("client not registered")
		}
		return nil
	})
	out = structs.HostDataResponse{}
	getJSON(t, u+"?node_id="+a.client.NodeID(), &out)
	if out.AgentID != a.client.NodeID() || out.HostData == nil {
		t.Fatalf("node_id: %+v", out)
	}

	for _, tc := range []struct {
		query string
		code  int
		body  string
	}{
		{"?server_id=x&node_id=y", 400, "Can only forward to either client node or server"},
		{"?server_id=nope", 400, "unknown nomadlike server nope"},
		{"?node_id=8d2c6f3e-0000-4000-8000-00000000dead", 404, `Unknown node "8d2c6f3e-0000-4000-8000-00000000dead"`},
	} {
		code, h, body := call(t, http.MethodGet, u+tc.query)
		if code != tc.code || string(body) != tc.body || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q, want %d %q", tc.query, code, body, tc.code, tc.body)
		}
	}
	if code, _, body := call(t, http.MethodPut, u); code != 405 || string(body) != "Invalid method" {
		t.Errorf("PUT: %d %s", code, body)
	}

	// Without enable_debug and ACLs, host data is not served.
	b := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, b)
	for _, q := range []string{"", "?server_id=leader"} {
		if code, _, body := call(t, http.MethodGet, b.URL()+"/v1/agent/host"+q); code != 403 || string(body) != "Permission denied" {
			t.Errorf("host%s without enable_debug: %d %s", q, code, body)
		}
	}
}

func TestAgentPprof(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.EnableDebug = ptr(true); c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL() + "/v1/agent/pprof/"

	code, h, body := call(t, http.MethodGet, u+"cmdline")
	if code != 200 || h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" || len(body) == 0 {
		t.Fatalf("cmdline: %d %v %q", code, h, body)
	}
	code, h, body = call(t, http.MethodGet, u+"heap?node_id=&server_id=&seconds=0&debug=0&gc=1")
	if code != 200 || h.Get("Content-Type") != "application/octet-stream" ||
		h.Get("Content-Disposition") != `attachment; filename="heap"` || len(body) == 0 {
		t.Fatalf("heap: %d %v", code, h)
	}
	code, h, body = call(t, http.MethodGet, u+"goroutine?debug=1&server_id=leader")
	if code != 200 || h.Get("Content-Type") != "text/plain; charset=utf-8" || !strings.Contains(string(body), "goroutine profile:") {
		t.Fatalf("goroutine debug=1: %d %v %.200s", code, h, body)
	}
	start := time.Now()
	code, h, body = call(t, http.MethodGet, u+"profile?seconds=0")
	if code != 200 || h.Get("Content-Disposition") != `attachment; filename="profile"` || len(body) == 0 || time.Since(start) < time.Second {
		t.Fatalf("profile: %d %v after %v", code, h, time.Since(start))
	}
	code, h, body = call(t, http.MethodGet, u+"trace?seconds=x")
	if code != 200 || h.Get("Content-Disposition") != `attachment; filename="trace"` || len(body) == 0 {
		t.Fatalf("trace: %d %v", code, h)
	}

	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"nope", 404, "Pprof profile not found profile: nope"},
		{"nope?server_id=leader", 404, "Pprof profile not found profile: nope"},
		{"", 404, "Invalid method"},
		{"heap?server_id=a&node_id=b", 400, "Cannot target node and server simultaneously"},
		{"trace?seconds=301", 400, "seconds 301 is more than the limit of 300"},
		{"heap?server_id=ghost", 400, "unknown nomadlike server ghost"},
		{"heap?node_id=8d2c6f3e-0000-4000-8000-00000000dead", 404, `Unknown node "8d2c6f3e-0000-4000-8000-00000000dead"`},
	} {
		code, _, body := call(t, http.MethodGet, u+tc.path)
		if code != tc.code || string(body) != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.path, code, body, tc.code, tc.body)
		}
	}
}

// The availability table of the spec (enable_debug × ACLs), through the
// local agent and through server_id, with each kind of token.
func TestAgentPprof_AvailabilityTable(t *testing.T) {
	type caller struct {
		name    string
		allowed bool
	}
	rows := []struct {
		enableDebug *bool
		acls        bool
		callers     []caller // with ACLs off only "anonymous" calls
	}{
		{nil, false, []caller{{"anonymous", false}}},
		{ptr(true), false, []caller{{"anonymous", true}}},
		{ptr(false), false, []caller{{"anonymous", false}}},
		{nil, true, []caller{{"anonymous", false}, {"agent-read", false}, {"agent-write", true}, {"management", true}}},
		{ptr(true), true, []caller{{"anonymous", false}, {"agent-read", false}, {"agent-write", true}, {"management", true}}},
		{ptr(false), true, []caller{{"anonymous", false}, {"agent-read", false}, {"agent-write", true}, {"management", true}}},
	}
	for _, r := range rows {
		debug := "unset"
		if r.enableDebug != nil {
			debug = fmt.Sprint(*r.enableDebug)
		}
		t.Run(fmt.Sprintf("enable_debug=%s/acls=%v", debug, r.acls), func(t *testing.T) {
			a := TestAgent(t, func(c *Config) {
				c.Client.Enabled = ptr(false)
				c.ACL.Enabled = ptr(r.acls)
				if r.enableDebug != nil {
					c.EnableDebug = r.enableDebug
				}
			})
			WaitForAgentLeader(t, a)
			tokens := map[string]string{"anonymous": ""}
			if r.acls {
				tokens["management"] = bootstrap(t, a)
				tokens["agent-read"] = tokenWith(t, a, tokens["management"], "ar", `agent { policy = "read" }`).SecretID
				tokens["agent-write"] = tokenWith(t, a, tokens["management"], "aw", `agent { policy = "write" }`).SecretID
			}
			for _, c := range r.callers {
				for _, q := range []string{"", "?server_id=leader"} {
					code, body := do(t, http.MethodGet, a.URL()+"/v1/agent/pprof/goroutine"+q, tokens[c.name], nil)
					if c.allowed && code != 200 || !c.allowed && (code != 403 || string(body) != "Permission denied") {
						t.Errorf("%s%s: %d %.100s, allowed=%v", c.name, q, code, body, c.allowed)
					}
				}
			}
		})
	}
}

func TestAgentMonitor(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL() + "/v1/agent/monitor"

	for _, tc := range []struct {
		query string
		body  string
	}{
		{"?log_level=loud", "Unknown log level: loud"},
		{"?log_json=maybe", `Unknown option for log json: strconv.ParseBool: parsing "maybe": invalid syntax`},
		{"?plain=2", `Unknown option for plain: strconv.ParseBool: parsing "2": invalid syntax`},
		{"?server_id=a&node_id=b", "Cannot target node and server simultaneously"},
		{"?server_id=ghost", "unknown nomadlike server ghost"},
	} {
		if code, _, body := call(t, http.MethodGet, u+tc.query); code != 400 || string(body) != tc.body {
			t.Errorf("%s: %d %q, want 400 %q", tc.query, code, body, tc.body)
		}
	}

	// Frames, with heartbeats while idle; debug lines only at debug.
	resp, _ := openStream(t, u+"?log_level=debug", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("monitor: %d %v", resp.StatusCode, resp.Header)
	}
	fr := readFrames(resp.Body)
	fr.waitForHeartbeat(t, 5*time.Second)
	a.logger.Named("test").Debug("monitor test line", "n", 1)
	fr.waitFor(t, "monitor test line", 5*time.Second)

	// JSON lines.
	resp, _ = openStream(t, u+"?log_json=true&server_id=leader", "")
	fr = readFrames(resp.Body)
	a.logger.Named("test").Info("json test line")
	data, _ := fr.waitFor(t, "json test line", 5*time.Second)
	line := data[strings.Index(data[:strings.Index(data, "json test line")], "{"):]
	line = line[:strings.IndexByte(line, '\n')]
	var entry map[string]any
	if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["@message"] != "json test line" || entry["@level"] != "info" {
		t.Fatalf("json line %q: %v %v", line, entry, err)
	}

	// Plain text, and the level filter.
	resp, _ = openStream(t, u+"?plain=true&log_level=warn", "")
	if resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("plain content type %q", resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	got := make(chan string, 10)
	go func() {
		for lines.Scan() {
			got <- lines.Text()
		}
		close(got)
	}()
	a.logger.Named("test").Info("plain info line")
	a.logger.Named("test").Warn("plain warn line")
	select {
	case l := <-got:
		if !strings.Contains(l, "[WARN]") || !strings.Contains(l, "plain warn line") {
			t.Fatalf("plain line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no plain line")
	}
}
