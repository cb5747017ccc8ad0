package agent

import (
	"strings"
	"testing"
	"time"
)

func TestServerHostMetricsConfig_Load(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "server.hcl", `
server {
  enabled = true
  host_metrics {
    retention = "30d"
    remote_write {
      url            = "https://user:pw@mimir.example:9009/api/v1/push"
      name           = "mimir"
      headers        = { "X-Scope-OrgID" = "fleet" }
      remote_timeout = "10s"
      basic_auth {
        username = "fleet"
        password = "s3cret"
      }
    }
    remote_write {
      url          = "http://vm:8428/api/v1/write"
      bearer_token = "tok"
    }
  }
}
`)
	c := overValidServer(t, path)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	sc := c.Server.HostMetrics.serverConfig()
	if sc.Retention != 30*24*time.Hour || len(sc.RemoteWrite) != 2 {
		t.Fatalf("server config: %+v", sc)
	}
	rw := sc.RemoteWrite[0]
	if rw.Name != "mimir" || rw.Headers["X-Scope-OrgID"] != "fleet" || rw.HTTPClientConfig.BasicAuth.Password != "s3cret" ||
		time.Duration(rw.RemoteTimeout) != 10*time.Second || rw.QueueConfig.Capacity == 0 {
		t.Fatalf("remote_write: %+v", rw)
	}
	if a := sc.RemoteWrite[1].HTTPClientConfig.Authorization; a == nil || string(a.Credentials) != "tok" {
		t.Fatalf("bearer token: %+v", a)
	}
	// /v1/agent/self shows neither credentials nor a URL's password.
	self := c.Server.HostMetrics.self()
	rws := self["RemoteWrite"].([]map[string]string)
	if strings.Contains(rws[0]["URL"], "pw") || rws[0]["Name"] != "mimir" {
		t.Fatalf("self: %v", self)
	}
}

func TestServerHostMetricsConfig_Invalid(t *testing.T) {
	for _, c := range []struct{ hcl, want string }{
		{`retention = "10m"`, "server.host_metrics.retention"},
		{`retention = "soon"`, "server.host_metrics.retention"},
		{"remote_write {\n url = \"ftp://x\"\n}", "remote_write #1: url"},
		{"remote_write {\n url = \"http://x/w\"\n remote_timeout = \"-1s\"\n}", "remote_timeout"},
		{"remote_write {\n url = \"http://x/w\"\n bearer_token = \"a\"\n basic_auth {\n username = \"u\"\n password = \"p\"\n }\n}", "remote_write #1"},
		{"remote_write {\n url = \"http://x/w\"\n name = \"a\"\n}\nremote_write {\n url = \"http://y/w\"\n name = \"a\"\n}", "used twice"},
	} {
		path := writeFile(t, t.TempDir(), "s.hcl", "server {\n host_metrics {\n"+c.hcl+"\n }\n}\n")
		if err := overValidServer(t, path).Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %s", c.hcl, err, c.want)
		}
	}
}
