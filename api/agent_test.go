package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

const membersBody = `{"ServerName":"s1","ServerRegion":"global","ServerDC":"dc1","Members":[
 {"Name":"s1.global","Addr":"127.0.0.1","Port":4648,
  "Tags":{"role":"nomad","region":"global","dc":"dc1","build":"0.1.0","port":"4647"},
  "Status":"alive","ProtocolMin":1,"ProtocolMax":5,"ProtocolCur":2,"DelegateMin":2,"DelegateMax":5,"DelegateCur":4}]}`

func TestAgent_Members(t *testing.T) {
	f, c := newFakeAgent(t, 200, membersBody)
	m, err := c.Agent().Members()
	if err != nil {
		t.Fatalf("Members: %v", err)
	}
	f.expect(t, "GET", "/v1/agent/members", nil)
	if m.ServerName != "s1" || m.ServerRegion != "global" || m.ServerDC != "dc1" || len(m.Members) != 1 {
		t.Fatalf("Members = %+v", m)
	}
	got := m.Members[0]
	if got.Name != "s1.global" || got.Addr != "127.0.0.1" || got.Port != 4648 || got.Status != "alive" ||
		got.Tags["port"] != "4647" || got.ProtocolMax != 5 || got.DelegateCur != 4 {
		t.Fatalf("member = %+v", got)
	}

	f.body = `{"ServerName":"s1","Members":null}`
	m, err = c.Agent().MembersOpts(&QueryOptions{AllowStale: true})
	if err != nil {
		t.Fatalf("MembersOpts: %v", err)
	}
	f.expect(t, "GET", "/v1/agent/members", url.Values{"stale": {""}})
	if m.Members == nil || len(m.Members) != 0 {
		t.Fatalf("Members = %#v, want empty non-nil", m.Members)
	}
}

func TestAgent_Self(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"config":{"Region":"global","Datacenter":"dc1","Ports":{"HTTP":4646}},
	 "member":{"Name":"s1.global","Addr":"127.0.0.1","Port":4648,"Tags":{"port":"4647"},"Status":"alive"},
	 "stats":{"nomad":{"leader":"true","server":"true"},"runtime":{"arch":"amd64"}}}`)
	self, err := c.Agent().Self()
	if err != nil {
		t.Fatalf("Self: %v", err)
	}
	f.expect(t, "GET", "/v1/agent/self", nil)
	if self.Config["Datacenter"] != "dc1" || self.Member.Name != "s1.global" || self.Member.Port != 4648 {
		t.Fatalf("Self = %+v", self)
	}
	if self.Stats["nomad"]["leader"] != "true" || self.Stats["runtime"]["arch"] != "amd64" {
		t.Fatalf("Stats = %v", self.Stats)
	}

	f.status, f.body = 403, "Permission denied"
	_, err = c.Agent().Self()
	if err == nil || err.Error() != "failed querying self endpoint: Unexpected response code: 403 (Permission denied)" {
		t.Fatalf("err = %v", err)
	}
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 403 {
		t.Fatalf("errors.As failed for %v", err)
	}
}

func TestAgent_Servers(t *testing.T) {
	f, c := newFakeAgent(t, 200, `["127.0.0.1:4647","127.0.0.2:4647"]`)
	servers, err := c.Agent().Servers()
	if err != nil {
		t.Fatalf("Servers: %v", err)
	}
	f.expect(t, "GET", "/v1/agent/servers", nil)
	if strings.Join(servers, ",") != "127.0.0.1:4647,127.0.0.2:4647" {
		t.Fatalf("Servers = %v", servers)
	}

	f.body = `null`
	servers, err = c.Agent().Servers()
	if err != nil || servers == nil || len(servers) != 0 {
		t.Fatalf("Servers(null) = %#v, %v; want empty non-nil", servers, err)
	}

	f.status, f.body = 501, "Invalid method"
	_, err = c.Agent().Servers()
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 501 || ure.Body() != "Invalid method" {
		t.Fatalf("err = %v, want 501 Invalid method", err)
	}
}

func TestAgent_SetServers(t *testing.T) {
	f, c := newFakeAgent(t, 200, "")
	if err := c.Agent().SetServers([]string{"127.0.0.1:4647", "127.0.0.2:4647"}); err != nil {
		t.Fatalf("SetServers: %v", err)
	}
	f.expect(t, "PUT", "/v1/agent/servers", url.Values{"address": {"127.0.0.1:4647", "127.0.0.2:4647"}})

	f.status, f.body = 400, "missing server address"
	err := c.Agent().SetServers(nil)
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 400 {
		t.Fatalf("err = %v, want 400", err)
	}
}

func TestAgent_Join(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"num_joined":2,"error":""}`)
	n, err := c.Agent().Join("10.0.0.1:4648", "10.0.0.2:4648")
	if err != nil || n != 2 {
		t.Fatalf("Join = %d, %v; want 2, nil", n, err)
	}
	f.expect(t, "PUT", "/v1/agent/join", url.Values{"address": {"10.0.0.1:4648", "10.0.0.2:4648"}})

	f.body = `{"num_joined":0,"error":"dial tcp 10.0.0.1:4648: connection refused"}`
	n, err = c.Agent().Join("10.0.0.1:4648")
	if n != 0 || err == nil || err.Error() != "failed joining: dial tcp 10.0.0.1:4648: connection refused" {
		t.Fatalf("Join = %d, %v", n, err)
	}

	f.body = `{"num_joined":1,"error":"","warning":"anonymous server join is deprecated"}`
	n, err = c.Agent().Join("10.0.0.1:4648")
	var w *JoinWarningError
	if n != 1 || !errors.As(err, &w) || w.Warning != "anonymous server join is deprecated" {
		t.Fatalf("Join = %d, %v; want 1 and a warning", n, err)
	}

	f.status, f.body = 400, "missing address to join"
	n, err = c.Agent().Join()
	var ure UnexpectedResponseError
	if n != 0 || !errors.As(err, &ure) || ure.StatusCode() != 400 || !strings.HasPrefix(err.Error(), "failed joining: ") {
		t.Fatalf("Join = %d, %v", n, err)
	}
}

func TestAgent_ForceLeave(t *testing.T) {
	f, c := newFakeAgent(t, 200, "")
	if err := c.Agent().ForceLeave("s2.global"); err != nil {
		t.Fatalf("ForceLeave: %v", err)
	}
	f.expect(t, "PUT", "/v1/agent/force-leave", url.Values{"node": {"s2.global"}})

	if err := c.Agent().ForceLeaveWithOptions("s2.global", ForceLeaveOpts{Prune: true}); err != nil {
		t.Fatalf("ForceLeaveWithOptions: %v", err)
	}
	f.expect(t, "PUT", "/v1/agent/force-leave", url.Values{"node": {"s2.global"}, "prune": {"1"}})

	f.status, f.body = 403, "Permission denied"
	err := c.Agent().ForceLeave("s2.global")
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 403 {
		t.Fatalf("err = %v, want 403", err)
	}
}

func TestAgent_Health(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"client":{"ok":true,"message":"ok"},"server":{"ok":true,"message":"ok"}}`)
	h, err := c.Agent().Health()
	if err != nil {
		t.Fatalf("Health: %v", err)
	}
	f.expect(t, "GET", "/v1/agent/health", nil)
	if h.Client == nil || !h.Client.Ok || h.Server == nil || h.Server.Message != "ok" {
		t.Fatalf("Health = %+v", h)
	}

	// Unhealthy: 500 with the same JSON, returned without error.
	f.status, f.body = 500, `{"server":{"ok":false,"message":"no leader"}}`
	h, err = c.Agent().Health()
	if err != nil {
		t.Fatalf("Health on 500 with JSON: %v", err)
	}
	if h.Client != nil || h.Server == nil || h.Server.Ok || h.Server.Message != "no leader" {
		t.Fatalf("Health = %+v", h)
	}

	// Gzipped, still decoded.
	f.gzip = true
	if h, err = c.Agent().Health(); err != nil || h.Server.Message != "no leader" {
		t.Fatalf("gzipped Health = %+v, %v", h, err)
	}
	f.gzip = false

	// Not JSON: an error that still carries the status.
	f.status, f.body = 500, "internal error"
	_, err = c.Agent().Health()
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) || ure.StatusCode() != 500 || ure.Body() != "internal error" {
		t.Fatalf("err = %v, want 500 UnexpectedResponseError", err)
	}
	if !strings.HasPrefix(err.Error(), "unable to unmarshal response with status 500") {
		t.Fatalf("err = %q", err)
	}

	f.status, f.body = 200, "not json"
	if _, err = c.Agent().Health(); err == nil {
		t.Fatalf("200 with a non-JSON body should fail")
	}
}
