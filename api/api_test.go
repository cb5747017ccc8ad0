package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig_Env(t *testing.T) {
	t.Setenv(AddressEnv, "")
	t.Setenv(TokenEnv, "")
	cfg := DefaultConfig()
	if cfg.Address != "http://127.0.0.1:4646" || cfg.Token != "" {
		t.Fatalf("defaults = %+v", cfg)
	}

	t.Setenv(AddressEnv, "10.0.0.1:5646")
	t.Setenv(TokenEnv, "tok")
	cfg = DefaultConfig()
	if cfg.Address != "10.0.0.1:5646" || cfg.Token != "tok" {
		t.Fatalf("from env = %+v", cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if c.Address() != "http://10.0.0.1:5646" {
		t.Fatalf("Address() = %q", c.Address())
	}
	if c.Token() != "tok" {
		t.Fatalf("Token() = %q", c.Token())
	}
}

func TestNewClient_Address(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1:4646":         "http://127.0.0.1:4646",
		"http://127.0.0.1:4646/": "http://127.0.0.1:4646",
		"https://nomad.example":  "https://nomad.example",
		"":                       "http://127.0.0.1:4646",
	}
	for in, want := range cases {
		c, err := NewClient(&Config{Address: in})
		if err != nil {
			t.Fatalf("NewClient(%q): %v", in, err)
		}
		if got := c.Address(); got != want {
			t.Errorf("Address for %q = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"ftp://host:1", "http://", "http://[::1"} {
		if _, err := NewClient(&Config{Address: bad}); err == nil {
			t.Errorf("NewClient(%q) succeeded, want error", bad)
		}
	}
}

func TestQueryOptions_OnTheWire(t *testing.T) {
	f, c := newFakeAgent(t, 200, `[]`)
	f.headers["X-Nomad-Index"] = "42"
	f.headers["X-Nomad-LastContact"] = "150"
	f.headers["X-Nomad-KnownLeader"] = "true"

	q := &QueryOptions{
		AllowStale: true,
		WaitIndex:  7,
		WaitTime:   1500 * time.Millisecond,
		Prefix:     "ab",
		Params:     map[string]string{"extra": "x"},
	}
	out, qm, err := c.Nodes().List(q)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if out == nil || len(out) != 0 {
		t.Fatalf("List = %#v, want empty non-nil slice", out)
	}
	want := url.Values{"stale": {""}, "index": {"7"}, "wait": {"1500ms"}, "prefix": {"ab"}, "extra": {"x"}}
	r := f.expect(t, "GET", "/v1/nodes", want)
	if r.Header.Get("Accept-Encoding") != "gzip" {
		t.Errorf("Accept-Encoding = %q, want gzip", r.Header.Get("Accept-Encoding"))
	}
	if qm.LastIndex != 42 || qm.LastContact != 150*time.Millisecond || !qm.KnownLeader {
		t.Fatalf("QueryMeta = %+v", qm)
	}
}

func TestQueryOptions_AuthTokenOverrides(t *testing.T) {
	f, c := newFakeAgent(t, 200, `""`)
	if _, _, err := c.Nodes().List(&QueryOptions{AuthToken: "other"}); err == nil {
		t.Fatalf("decoding a string into a list should fail")
	}
	if got := f.last(t).Header.Get("X-Nomad-Token"); got != "other" {
		t.Fatalf("X-Nomad-Token = %q, want other", got)
	}

	c.SetToken("")
	if _, err := c.Status().Leader(); err != nil {
		t.Fatalf("Leader: %v", err)
	}
	if _, ok := f.last(t).Header["X-Nomad-Token"]; ok {
		t.Fatalf("no token configured, but X-Nomad-Token was sent")
	}

	c.SetToken("new")
	if err := c.Operator().RaftRemovePeerByID("x", &WriteOptions{AuthToken: "w"}); err != nil {
		t.Fatalf("RaftRemovePeerByID: %v", err)
	}
	if got := f.last(t).Header.Get("X-Nomad-Token"); got != "w" {
		t.Fatalf("write X-Nomad-Token = %q, want w", got)
	}
}

func TestConfig_WaitTimeAndHeaders(t *testing.T) {
	f, _ := newFakeAgent(t, 200, `[]`)
	c, err := NewClient(&Config{
		Address:  f.srv.URL,
		WaitTime: 2 * time.Second,
		Headers:  http.Header{"X-Custom": {"yes"}},
	})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if _, _, err := c.Nodes().List(nil); err != nil {
		t.Fatalf("List: %v", err)
	}
	r := f.last(t)
	if r.Query.Get("wait") != "2000ms" {
		t.Errorf("wait = %q, want 2000ms", r.Query.Get("wait"))
	}
	if r.Header.Get("X-Custom") != "yes" {
		t.Errorf("X-Custom = %q, want yes", r.Header.Get("X-Custom"))
	}
}

func TestWriteMeta(t *testing.T) {
	f, c := newFakeAgent(t, 200, "")
	f.headers["X-Nomad-Index"] = "99"
	wm, err := c.put("/v1/agent/servers?address=a", map[string]int{"n": 1}, nil, nil)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if wm.LastIndex != 99 {
		t.Fatalf("LastIndex = %d, want 99", wm.LastIndex)
	}
	r := f.expect(t, "PUT", "/v1/agent/servers", url.Values{"address": {"a"}})
	if r.Body != `{"n":1}` || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("body = %q, content-type = %q", r.Body, r.Header.Get("Content-Type"))
	}
}

func TestUnexpectedResponseError(t *testing.T) {
	f, c := newFakeAgent(t, 403, "Permission denied\n")
	_, _, err := c.Nodes().List(nil)
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) {
		t.Fatalf("err = %T %v, want UnexpectedResponseError", err, err)
	}
	if ure.StatusCode() != 403 || ure.Body() != "Permission denied" || ure.StatusText() != "Forbidden" {
		t.Fatalf("ure = %d %q %q", ure.StatusCode(), ure.Body(), ure.StatusText())
	}
	if got := err.Error(); got != "Unexpected response code: 403 (Permission denied)" {
		t.Fatalf("Error() = %q", got)
	}

	f.status, f.body = 404, ""
	_, _, err = c.Nodes().Info("abc", nil)
	if !errors.As(err, &ure) || ure.StatusCode() != 404 {
		t.Fatalf("err = %v, want 404", err)
	}
	if got := err.Error(); got != "Unexpected response code: 404" {
		t.Fatalf("Error() = %q", got)
	}

	// 204 is not 200 either.
	f.status = 204
	if _, err := c.Status().Leader(); !errors.As(err, &ure) || ure.StatusCode() != 204 {
		t.Fatalf("err = %v, want 204 UnexpectedResponseError", err)
	}
}

func TestGzipResponse(t *testing.T) {
	f, c := newFakeAgent(t, 200, `["127.0.0.1:4647","127.0.0.2:4647"]`)
	f.gzip = true
	peers, err := c.Status().Peers()
	if err != nil {
		t.Fatalf("Peers: %v", err)
	}
	if strings.Join(peers, ",") != "127.0.0.1:4647,127.0.0.2:4647" {
		t.Fatalf("Peers = %v", peers)
	}

	f.status, f.body = 403, "Permission denied"
	_, err = c.Status().Peers()
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.Body() != "Permission denied" {
		t.Fatalf("gzipped error = %v", err)
	}
}

func TestEmptyBodyWithDecodeTarget(t *testing.T) {
	_, c := newFakeAgent(t, 200, "")
	if _, err := c.Status().Leader(); err == nil || !strings.Contains(err.Error(), "0 byte response") {
		t.Fatalf("err = %v, want 0 byte response error", err)
	}
}

func TestWithContext_Cancels(t *testing.T) {
	_, c := newFakeAgent(t, 200, `[]`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := c.Nodes().List((&QueryOptions{}).WithContext(ctx))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	_, err = c.write("PUT", "/v1/x", nil, nil, (*WriteOptions)(nil).WithContext(ctx))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("write err = %v, want context.Canceled", err)
	}
}

func TestDurToMsec(t *testing.T) {
	cases := map[time.Duration]string{
		time.Microsecond:        "1ms",
		0:                       "0ms",
		1500 * time.Millisecond: "1500ms",
		5 * time.Minute:         "300000ms",
	}
	for in, want := range cases {
		if got := durToMsec(in); got != want {
			t.Errorf("durToMsec(%v) = %q, want %q", in, got, want)
		}
	}
}
