package agent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantAll fails the test unless err is non-nil and contains every want.
func wantAll(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

const fullHCL = `
region             = "eu"
datacenter         = "dc2"
name               = "node-a"
data_dir           = "/var/lib/nomadlike"
bind_addr          = "10.0.0.5"
log_level          = "debug"
log_json           = true
enable_debug       = true
leave_on_interrupt = true
leave_on_terminate = true

ports {
  http = 5646
  rpc  = 5647
  serf = 5648
}

addresses {
  http = "127.0.0.1"
  rpc  = "10.0.0.5"
  serf = "10.0.0.6"
}

advertise {
  http = "1.2.3.4:80"
  rpc  = "1.2.3.4"
  serf = "1.2.3.4:7000"
}

server {
  enabled                       = true
  bootstrap_expect              = 3
  start_join                    = ["10.0.0.1:4648"]
  retry_join                    = ["10.0.0.2", "10.0.0.3:4648"]
  retry_interval                = "15s"
  retry_max                     = 5
  heartbeat_grace               = "20s"
  min_heartbeat_ttl             = "11s"
  max_heartbeats_per_second     = 25.5
  failover_heartbeat_ttl        = "6m"
  dead_server_cleanup_threshold = "1h"
  raft_multiplier               = 3
  raft_snapshot_threshold       = 100
  raft_snapshot_interval        = "60s"
  raft_trailing_logs            = 200

  raft_logstore {
    backend = "boltdb"
  }
}

client {
  enabled = true
  servers = ["10.0.0.1:4647", "10.0.0.2:4647"]
  meta = {
    rack         = "r1"
    "owner.team" = "obs"
  }
}
`

func TestConfig_ParseEveryField(t *testing.T) {
	got, err := ParseConfig([]byte(fullHCL), "full.hcl")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Region:      ptr("eu"),
		Datacenter:  ptr("dc2"),
		NodeName:    ptr("node-a"),
		DataDir:     ptr("/var/lib/nomadlike"),
		BindAddr:    ptr("10.0.0.5"),
		LogLevel:    ptr("debug"),
		LogJSON:     ptr(true),
		EnableDebug: ptr(true),
		LeaveOnInt:  ptr(true),
		LeaveOnTerm: ptr(true),
		Ports:       &Ports{HTTP: ptr(5646), RPC: ptr(5647), Serf: ptr(5648)},
		Addresses:   &Addresses{HTTP: ptr("127.0.0.1"), RPC: ptr("10.0.0.5"), Serf: ptr("10.0.0.6")},
		AdvertiseAddrs: &Addresses{
			HTTP: ptr("1.2.3.4:80"), RPC: ptr("1.2.3.4"), Serf: ptr("1.2.3.4:7000"),
		},
		Server: &ServerConfig{
			Enabled:                    ptr(true),
			BootstrapExpect:            ptr(3),
			StartJoin:                  []string{"10.0.0.1:4648"},
			RetryJoin:                  []string{"10.0.0.2", "10.0.0.3:4648"},
			RetryInterval:              ptr("15s"),
			RetryMaxAttempts:           ptr(5),
			HeartbeatGrace:             ptr("20s"),
			MinHeartbeatTTL:            ptr("11s"),
			MaxHeartbeatsPerSecond:     ptr(25.5),
			FailoverHeartbeatTTL:       ptr("6m"),
			DeadServerCleanupThreshold: ptr("1h"),
			RaftMultiplier:             ptr(3),
			RaftSnapshotThreshold:      ptr(100),
			RaftSnapshotInterval:       ptr("60s"),
			RaftTrailingLogs:           ptr(200),
			RaftLogStore:               &RaftLogStoreConfig{Backend: ptr("boltdb")},
		},
		Client: &ClientConfig{
			Enabled: ptr(true),
			Servers: []string{"10.0.0.1:4647", "10.0.0.2:4647"},
			Meta:    map[string]string{"rack": "r1", "owner.team": "obs"},
		},
		Files: []string{"full.hcl"},
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("parsed\n%s\nwant\n%s", g, w)
	}

	// Merged onto the defaults, the file is a valid configuration.
	c := DefaultConfig()
	c.Merge(got)
	if err := c.Validate(); err != nil {
		t.Fatalf("full config does not validate: %v", err)
	}
}

// An empty file or one setting a single field leaves every other field
// unset, so that merging it overrides nothing else.
func TestConfig_ParseLeavesUnsetFieldsNil(t *testing.T) {
	c, err := ParseConfig([]byte(`ports { http = 1234 }`), "p.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if c.Ports == nil || c.Ports.HTTP == nil || *c.Ports.HTTP != 1234 {
		t.Fatalf("ports.http not parsed: %+v", c.Ports)
	}
	if c.Ports.RPC != nil || c.Ports.Serf != nil || c.Region != nil || c.Server != nil || c.Client != nil {
		t.Fatalf("unset fields are set: %+v", c)
	}
	d := DefaultConfig()
	d.Merge(c)
	if *d.Ports.HTTP != 1234 || *d.Ports.RPC != 4647 || *d.Ports.Serf != 4648 || *d.Region != "global" {
		t.Fatalf("merge overrode unset fields: ports %d/%d/%d region %s", *d.Ports.HTTP, *d.Ports.RPC, *d.Ports.Serf, *d.Region)
	}

	empty, err := ParseConfig(nil, "empty.hcl")
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	d = DefaultConfig()
	want := DefaultConfig()
	d.Merge(empty)
	want.Files = []string{"empty.hcl"}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("empty file changed the defaults")
	}
}

// Every mistake in a file is reported with the file, the line and the
// field's full name; unknown fields are rejected, not ignored.
func TestConfig_ParseErrors(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown top-level field", "region = \"eu\"\nbogus = 1\n",
			[]string{"test.hcl:2", `"bogus"`, "Unsupported argument"}},
		{"unknown field in server", "server {\n  enabled = true\n  bootstrap = 3\n}\n",
			[]string{"test.hcl:3", "server.bootstrap"}},
		{"unknown field in client", "client {\n  enabled = true\n  servers = []\n  node_class = \"x\"\n}\n",
			[]string{"test.hcl:4", "client.node_class"}},
		{"unknown field in ports", "ports {\n  grpc = 1\n}\n",
			[]string{"test.hcl:2", "ports.grpc"}},
		{"unknown field in advertise", "advertise {\n\n  gossip = \"1.2.3.4\"\n}\n",
			[]string{"test.hcl:3", "advertise.gossip"}},
		{"unknown block", "vault {\n  x = 1\n}\n",
			[]string{"test.hcl:1", `"vault"`}},
		{"port is not a number", "ports {\n  http = \"abc\"\n}\n",
			[]string{"test.hcl:2", "ports.http", "number"}},
		{"bool is not a bool", "\nlog_json = \"maybe\"\n",
			[]string{"test.hcl:2", "log_json", "bool"}},
		{"bootstrap_expect is not whole", "server {\n  bootstrap_expect = 1.5\n}\n",
			[]string{"test.hcl:2", "server.bootstrap_expect"}},
		{"servers is not a list", "client {\n  servers = \"a:1\"\n}\n",
			[]string{"test.hcl:2", "client.servers"}},
		{"meta written as a block", "client {\n  meta {\n    a = \"b\"\n  }\n}\n",
			[]string{"test.hcl:2", "client.meta"}},
		{"block written as an attribute", "ports = 4646\n",
			[]string{"test.hcl:1", "ports"}},
		{"duplicate block", "server {}\nserver {}\n",
			[]string{"test.hcl:2", "server"}},
		{"syntax: unclosed block", "server {\n  enabled = true\n",
			[]string{"test.hcl:1"}},
		{"syntax: missing value", "region = \n",
			[]string{"test.hcl:1"}},
		{"syntax: stray token", "region \"eu\"\n",
			[]string{"test.hcl:1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.src), "test.hcl")
			if c != nil {
				t.Errorf("config returned with an error: %+v", c)
			}
			wantAll(t, err, tc.want...)
		})
	}
}

// Several mistakes in one file are all reported, not just the first.
func TestConfig_ParseReportsEveryError(t *testing.T) {
	src := "bogus = 1\nserver {\n  nope = 2\n}\nports {\n  http = \"x\"\n}\n"
	_, err := ParseConfig([]byte(src), "multi.hcl")
	wantAll(t, err, "multi.hcl:1", "bogus", "multi.hcl:3", "server.nope", "multi.hcl:6", "ports.http")
}

func TestConfig_LoadFile(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "agent.hcl", "region = \"eu\"\nclient {\n  meta = { a = \"1\" }\n}\n")
	c, err := LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if *c.Region != "eu" || c.Client.Meta["a"] != "1" || !reflect.DeepEqual(c.Files, []string{path}) {
		t.Fatalf("loaded %+v", c)
	}

	// An unknown field names the file, line and field.
	bad := writeFile(t, dir, "bad.hcl", "region = \"eu\"\n\nserver {\n  enabeld = true\n}\n")
	_, err = LoadConfigFile(bad)
	wantAll(t, err, bad+":4", "server.enabeld")

	// A path that does not exist is named in the error.
	missing := filepath.Join(dir, "nope.hcl")
	_, err = LoadConfigFile(missing)
	wantAll(t, err, missing)
}

// A directory loads every *.hcl file in name order: later files override
// earlier ones, maps merge by key and lists replace. Other files and
// sub-directories are skipped.
func TestConfig_LoadDirectory(t *testing.T) {
	dir := t.TempDir()
	// Written out of order: name order, not creation order, counts.
	writeFile(t, dir, "20-override.hcl", `
region = "second"
client {
  servers = ["c:4647"]
  meta = {
    b = "from-20"
    c = "3"
  }
}
`)
	writeFile(t, dir, "10-base.hcl", `
region     = "first"
datacenter = "dc-base"
ports {
  http = 1000
  rpc  = 1001
}
client {
  enabled = true
  servers = ["a:4647", "b:4647"]
  meta = {
    a = "1"
    b = "from-10"
  }
}
`)
	writeFile(t, dir, "30-ports.hcl", "ports {\n  rpc = 2001\n}\n")
	writeFile(t, dir, "README.txt", "this is not HCL {{{")
	writeFile(t, dir, "agent.hcl.bak", "bogus = 1")
	if err := os.Mkdir(filepath.Join(dir, "sub.hcl"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub.hcl"), "x.hcl", "bogus = 1")

	c, err := LoadConfigFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		filepath.Join(dir, "10-base.hcl"), filepath.Join(dir, "20-override.hcl"), filepath.Join(dir, "30-ports.hcl"),
	}
	if !reflect.DeepEqual(c.Files, wantFiles) {
		t.Errorf("files %v, want %v", c.Files, wantFiles)
	}
	if *c.Region != "second" {
		t.Errorf("region %q: a later file must override", *c.Region)
	}
	if *c.Datacenter != "dc-base" {
		t.Errorf("datacenter %q: a field set only earlier must stay", *c.Datacenter)
	}
	if *c.Ports.HTTP != 1000 || *c.Ports.RPC != 2001 || c.Ports.Serf != nil {
		t.Errorf("ports merged field by field: %d %d %v", *c.Ports.HTTP, *c.Ports.RPC, c.Ports.Serf)
	}
	if !reflect.DeepEqual(c.Client.Servers, []string{"c:4647"}) {
		t.Errorf("servers %v: lists replace", c.Client.Servers)
	}
	if want := map[string]string{"a": "1", "b": "from-20", "c": "3"}; !reflect.DeepEqual(c.Client.Meta, want) {
		t.Errorf("meta %v, want %v (maps merge by key)", c.Client.Meta, want)
	}
	if c.Client.Enabled == nil || !*c.Client.Enabled {
		t.Errorf("client.enabled lost by a later client block")
	}

	// A bad file in the directory names itself.
	bad := writeFile(t, dir, "40-bad.hcl", "ports {\n  http = 1\n  https = 2\n}\n")
	_, err = LoadConfigFile(dir)
	wantAll(t, err, bad+":3", "ports.https")
}

func TestConfig_LoadEmptyDirectory(t *testing.T) {
	c, err := LoadConfigFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	d.Merge(c)
	if !reflect.DeepEqual(d, DefaultConfig()) {
		t.Fatalf("an empty directory changed the defaults")
	}
}

func TestConfig_Merge(t *testing.T) {
	base := DefaultConfig()
	base.Files = []string{"a.hcl"}
	base.Client.Servers = []string{"x:1", "y:1"}
	base.Client.Meta = map[string]string{"k1": "v1", "k2": "v2"}
	base.Server.RetryJoin = []string{"r1"}

	over := &Config{
		Region: ptr("r2"),
		Ports:  &Ports{Serf: ptr(9)},
		Server: &ServerConfig{Enabled: ptr(true)},
		Client: &ClientConfig{Servers: []string{"z:1"}, Meta: map[string]string{"k2": "new", "k3": "v3"}},
		Files:  []string{"b.hcl"},
	}
	base.Merge(over)
	base.Merge(nil)

	if *base.Region != "r2" || *base.Datacenter != "dc1" {
		t.Errorf("region %s datacenter %s", *base.Region, *base.Datacenter)
	}
	if *base.Ports.HTTP != 4646 || *base.Ports.RPC != 4647 || *base.Ports.Serf != 9 {
		t.Errorf("ports %d %d %d", *base.Ports.HTTP, *base.Ports.RPC, *base.Ports.Serf)
	}
	if !*base.Server.Enabled || *base.Server.BootstrapExpect != 0 || *base.Server.RetryInterval != "30s" {
		t.Errorf("server block not merged field by field: %+v", base.Server)
	}
	if !reflect.DeepEqual(base.Client.Servers, []string{"z:1"}) {
		t.Errorf("servers %v: lists replace", base.Client.Servers)
	}
	if !reflect.DeepEqual(base.Server.RetryJoin, []string{"r1"}) {
		t.Errorf("retry_join %v: an unset list must not clear", base.Server.RetryJoin)
	}
	if want := map[string]string{"k1": "v1", "k2": "new", "k3": "v3"}; !reflect.DeepEqual(base.Client.Meta, want) {
		t.Errorf("meta %v, want %v", base.Client.Meta, want)
	}
	if !reflect.DeepEqual(base.Files, []string{"a.hcl", "b.hcl"}) {
		t.Errorf("files %v: loaded files accumulate", base.Files)
	}

	// Merging copies values: changing the source afterwards changes
	// nothing in the result.
	*over.Region = "changed"
	over.Client.Meta["k1"] = "changed"
	if *base.Region != "r2" || base.Client.Meta["k1"] != "v1" {
		t.Errorf("merge aliases the source")
	}

	// DevMode survives a merge of a config without it.
	dev := DevConfig()
	dev.Merge(&Config{Region: ptr("x")})
	if !dev.DevMode {
		t.Errorf("dev mode lost in a merge")
	}
}

func TestConfig_Defaults(t *testing.T) {
	c := DefaultConfig()
	if *c.Ports.HTTP != 4646 || *c.Ports.RPC != 4647 || *c.Ports.Serf != 4648 {
		t.Errorf("default ports %d %d %d", *c.Ports.HTTP, *c.Ports.RPC, *c.Ports.Serf)
	}
	if *c.BindAddr != "0.0.0.0" || *c.Region != "global" || *c.Datacenter != "dc1" || *c.Server.Enabled || *c.Client.Enabled || c.DevMode {
		t.Errorf("defaults %+v", c)
	}
	// No role and no data dir: the defaults alone are not runnable.
	wantAll(t, c.Validate(), "data_dir", "-server")

	// Defaults are fresh on every call.
	c.Client.Meta["x"] = "y"
	*c.Region = "changed"
	if d := DefaultConfig(); len(d.Client.Meta) != 0 || *d.Region != "global" {
		t.Errorf("DefaultConfig shares state between calls")
	}
}

// -dev is a single-node server+client on loopback with bootstrap_expect 1
// and no data dir needed.
func TestConfig_DevDefaults(t *testing.T) {
	c := DevConfig()
	if !c.DevMode {
		t.Error("DevMode not set")
	}
	if *c.BindAddr != "127.0.0.1" {
		t.Errorf("bind %q, want 127.0.0.1", *c.BindAddr)
	}
	if !*c.Server.Enabled || !*c.Client.Enabled {
		t.Errorf("server %v client %v, want both", *c.Server.Enabled, *c.Client.Enabled)
	}
	if *c.Server.BootstrapExpect != 1 {
		t.Errorf("bootstrap_expect %d, want 1", *c.Server.BootstrapExpect)
	}
	if *c.DataDir != "" {
		t.Errorf("data_dir %q, want a temporary one chosen at start", *c.DataDir)
	}
	if *c.Ports.HTTP != 4646 || *c.Ports.RPC != 4647 || *c.Ports.Serf != 4648 {
		t.Errorf("dev ports %d %d %d", *c.Ports.HTTP, *c.Ports.RPC, *c.Ports.Serf)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("dev config invalid: %v", err)
	}
	if d := DefaultConfig(); *d.BindAddr != "0.0.0.0" || *d.Server.Enabled {
		t.Errorf("DevConfig changed DefaultConfig")
	}
}

// validServer is a runnable server config that each Validate case breaks
// in one way.
func validServer() *Config {
	c := DefaultConfig()
	c.NodeName = ptr("n1")
	c.DataDir = ptr("/tmp/nomadlike-test")
	c.Server.Enabled = ptr(true)
	c.Server.BootstrapExpect = ptr(1)
	return c
}

func TestConfig_ValidateErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"neither server nor client", func(c *Config) {
			c.Server.Enabled, c.Server.BootstrapExpect = ptr(false), ptr(0)
		}, []string{"-server", "-client"}},
		{"empty region", func(c *Config) { c.Region = ptr("") }, []string{"region"}},
		{"region with a dot", func(c *Config) { c.Region = ptr("eu.west") }, []string{"region", "eu.west"}},
		{"datacenter with a space", func(c *Config) { c.Datacenter = ptr("dc 1") }, []string{"datacenter", "dc 1"}},
		{"empty name", func(c *Config) { c.NodeName = ptr("") }, []string{"name"}},
		{"missing data_dir", func(c *Config) { c.DataDir = ptr("") }, []string{"data_dir", "-data-dir"}},
		{"bad log level", func(c *Config) { c.LogLevel = ptr("loud") }, []string{"log_level", "loud"}},
		{"http port 0", func(c *Config) { c.Ports.HTTP = ptr(0) }, []string{"ports.http", "0"}},
		{"rpc port too big", func(c *Config) { c.Ports.RPC = ptr(70000) }, []string{"ports.rpc", "70000"}},
		{"serf port negative", func(c *Config) { c.Ports.Serf = ptr(-1) }, []string{"ports.serf", "-1"}},
		{"http and rpc share a port", func(c *Config) { c.Ports.HTTP = ptr(4647) }, []string{"ports.http", "ports.rpc", "4647"}},
		{"rpc and serf share a port on one address", func(c *Config) {
			c.Ports.RPC = ptr(5000)
			c.Ports.Serf = ptr(5000)
			c.Addresses.RPC = ptr("127.0.0.1")
		}, []string{"ports.rpc", "ports.serf", "5000"}},
		{"bind not an IP", func(c *Config) { c.BindAddr = ptr("localhost") }, []string{"bind_addr", "localhost"}},
		{"addresses.http not an IP", func(c *Config) { c.Addresses.HTTP = ptr("eth0") }, []string{"addresses.http", "eth0"}},
		{"addresses.rpc not an IP", func(c *Config) { c.Addresses.RPC = ptr("1.2.3") }, []string{"addresses.rpc"}},
		{"addresses.serf not an IP", func(c *Config) { c.Addresses.Serf = ptr("1.2.3.4:5") }, []string{"addresses.serf"}},
		{"advertise.http bad port", func(c *Config) { c.AdvertiseAddrs.HTTP = ptr("1.2.3.4:0") }, []string{"advertise.http"}},
		{"advertise.rpc bad port", func(c *Config) { c.AdvertiseAddrs.RPC = ptr("1.2.3.4:99999") }, []string{"advertise.rpc"}},
		{"advertise.rpc no host", func(c *Config) { c.AdvertiseAddrs.RPC = ptr(":4647") }, []string{"advertise.rpc"}},
		{"advertise.serf not an IP", func(c *Config) { c.AdvertiseAddrs.Serf = ptr("host.example:4648") }, []string{"advertise.serf", "host.example"}},
		{"negative bootstrap_expect", func(c *Config) { c.Server.BootstrapExpect = ptr(-1) }, []string{"server.bootstrap_expect", "-1"}},
		{"bootstrap_expect on a client", func(c *Config) {
			c.Server.Enabled = ptr(false)
			c.Server.BootstrapExpect = ptr(3)
			c.Client.Enabled = ptr(true)
			c.Client.Servers = []string{"10.0.0.1:4647"}
		}, []string{"server.bootstrap_expect", "server"}},
		{"dev with bootstrap_expect 3", func(c *Config) {
			c.DevMode = true
			c.Server.BootstrapExpect = ptr(3)
		}, []string{"server.bootstrap_expect", "-dev"}},
		{"dev with bootstrap_expect 0", func(c *Config) {
			c.DevMode = true
			c.Server.BootstrapExpect = ptr(0)
		}, []string{"server.bootstrap_expect", "-dev"}},
		{"bad retry_interval", func(c *Config) { c.Server.RetryInterval = ptr("soon") }, []string{"server.retry_interval", "soon"}},
		{"zero retry_interval", func(c *Config) { c.Server.RetryInterval = ptr("0s") }, []string{"server.retry_interval"}},
		{"retry_interval without unit", func(c *Config) { c.Server.RetryInterval = ptr("30") }, []string{"server.retry_interval"}},
		{"negative heartbeat_grace", func(c *Config) { c.Server.HeartbeatGrace = ptr("-1s") }, []string{"server.heartbeat_grace"}},
		{"bad min_heartbeat_ttl", func(c *Config) { c.Server.MinHeartbeatTTL = ptr("x") }, []string{"server.min_heartbeat_ttl"}},
		{"zero min_heartbeat_ttl", func(c *Config) { c.Server.MinHeartbeatTTL = ptr("0s") }, []string{"server.min_heartbeat_ttl"}},
		{"bad failover_heartbeat_ttl", func(c *Config) { c.Server.FailoverHeartbeatTTL = ptr("") }, []string{"server.failover_heartbeat_ttl"}},
		{"zero failover_heartbeat_ttl", func(c *Config) { c.Server.FailoverHeartbeatTTL = ptr("0") }, []string{"server.failover_heartbeat_ttl"}},
		{"bad dead_server_cleanup_threshold", func(c *Config) { c.Server.DeadServerCleanupThreshold = ptr("1 hour") }, []string{"server.dead_server_cleanup_threshold"}},
		{"bad raft_snapshot_interval", func(c *Config) { c.Server.RaftSnapshotInterval = ptr("2x") }, []string{"server.raft_snapshot_interval"}},
		{"raft_snapshot_interval below raft's minimum", func(c *Config) { c.Server.RaftSnapshotInterval = ptr("1ms") }, []string{"server.raft_snapshot_interval"}},
		{"raft_multiplier 0", func(c *Config) { c.Server.RaftMultiplier = ptr(0) }, []string{"server.raft_multiplier", "0"}},
		{"raft_multiplier 11", func(c *Config) { c.Server.RaftMultiplier = ptr(11) }, []string{"server.raft_multiplier", "11"}},
		{"max_heartbeats_per_second 0", func(c *Config) { c.Server.MaxHeartbeatsPerSecond = ptr(0.0) }, []string{"server.max_heartbeats_per_second"}},
		{"raft_snapshot_threshold 0", func(c *Config) { c.Server.RaftSnapshotThreshold = ptr(0) }, []string{"server.raft_snapshot_threshold"}},
		{"unknown raft_logstore backend", func(c *Config) { c.Server.RaftLogStore.Backend = ptr("rocksdb") }, []string{"server.raft_logstore.backend", "rocksdb"}},
		{"negative raft_trailing_logs", func(c *Config) { c.Server.RaftTrailingLogs = ptr(-1) }, []string{"server.raft_trailing_logs"}},
		{"negative retry_max", func(c *Config) { c.Server.RetryMaxAttempts = ptr(-1) }, []string{"server.retry_max"}},
		{"encrypt not base64", func(c *Config) { c.Server.Encrypt = ptr("%%%") }, []string{"server.encrypt", "base64"}},
		{"encrypt wrong length", func(c *Config) { c.Server.Encrypt = ptr("a2V5") }, []string{"server.encrypt", "3 bytes"}},
		{"rate_limit unknown family", func(c *Config) {
			c.RateLimits = []*RateLimitConfig{{Family: "nope", RequestsPerSecond: ptr(1.0)}}
		}, []string{`rate_limit "nope"`, "unknown API family"}},
		{"rate_limit without rate", func(c *Config) {
			c.RateLimits = []*RateLimitConfig{{Family: "nomad"}}
		}, []string{`rate_limit "nomad".requests_per_second`}},
		{"rate_limit zero burst", func(c *Config) {
			c.RateLimits = []*RateLimitConfig{{Family: "nomad", RequestsPerSecond: ptr(1.0), Burst: ptr(0)}}
		}, []string{`rate_limit "nomad".burst`}},
		{"rate_limit twice", func(c *Config) {
			c.RateLimits = []*RateLimitConfig{{Family: "nomad", RequestsPerSecond: ptr(1.0)}, {Family: "nomad", RequestsPerSecond: ptr(2.0)}}
		}, []string{`rate_limit "nomad": declared twice`}},
		{"retry_join bad port", func(c *Config) { c.Server.RetryJoin = []string{"10.0.0.1:abc"} }, []string{"server.retry_join", "10.0.0.1:abc"}},
		{"retry_join without host", func(c *Config) { c.Server.RetryJoin = []string{":4648"} }, []string{"server.retry_join", ":4648"}},
		{"start_join bad port", func(c *Config) { c.Server.StartJoin = []string{"10.0.0.1:0"} }, []string{"server.start_join", "10.0.0.1:0"}},
		{"client-only without servers", func(c *Config) {
			c.Server.Enabled, c.Server.BootstrapExpect = ptr(false), ptr(0)
			c.Client.Enabled = ptr(true)
		}, []string{"client.servers", "-servers"}},
		{"servers without port", func(c *Config) { c.Client.Servers = []string{"10.0.0.1"} }, []string{"client.servers", "10.0.0.1"}},
		{"servers bad port", func(c *Config) { c.Client.Servers = []string{"10.0.0.1:rpc"} }, []string{"client.servers", "10.0.0.1:rpc"}},
		{"servers port out of range", func(c *Config) { c.Client.Servers = []string{"10.0.0.1:65536"} }, []string{"client.servers", "10.0.0.1:65536"}},
		{"servers without host", func(c *Config) { c.Client.Servers = []string{":4647"} }, []string{"client.servers", ":4647"}},
		{"meta key with a space", func(c *Config) { c.Client.Meta = map[string]string{"my key": "v"} }, []string{"client.meta", "my key"}},
		{"meta key with =", func(c *Config) { c.Client.Meta = map[string]string{"a=b": "v"} }, []string{"client.meta", "a=b"}},
		{"empty meta key", func(c *Config) { c.Client.Meta = map[string]string{"": "v"} }, []string{"client.meta"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validServer()
			tc.edit(c)
			wantAll(t, c.Validate(), tc.want...)
		})
	}
}

func TestConfig_ValidateAccepts(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Config)
	}{
		{"server", func(c *Config) {}},
		{"server and client", func(c *Config) { c.Client.Enabled = ptr(true) }},
		{"client only with servers", func(c *Config) {
			c.Server.Enabled, c.Server.BootstrapExpect = ptr(false), ptr(0)
			c.Client.Enabled = ptr(true)
			c.Client.Servers = []string{"10.0.0.1:4647", "[::1]:4647", "server.example:4647"}
			c.Client.Meta = map[string]string{"rack": "r1", "owner.team": "obs"}
		}},
		{"client only listens on http, so it may use the rpc port number", func(c *Config) {
			c.Server.Enabled, c.Server.BootstrapExpect = ptr(false), ptr(0)
			c.Client.Enabled = ptr(true)
			c.Client.Servers = []string{"10.0.0.1:4647"}
			c.Ports.HTTP = ptr(4647)
		}},
		{"same port on different addresses", func(c *Config) {
			c.Addresses.HTTP = ptr("127.0.0.1")
			c.Addresses.RPC = ptr("127.0.0.2")
			c.Ports.HTTP = ptr(4647)
		}},
		{"server with bootstrap_expect 0 (joins an existing cluster)", func(c *Config) { c.Server.BootstrapExpect = ptr(0) }},
		{"bootstrap_expect 5", func(c *Config) { c.Server.BootstrapExpect = ptr(5) }},
		{"dev without data dir", func(c *Config) { c.DevMode = true; c.DataDir = ptr("") }},
		{"every log level", func(c *Config) { c.LogLevel = ptr("WARN") }},
		{"ipv6 bind and addresses", func(c *Config) {
			c.BindAddr = ptr("::")
			c.Addresses.HTTP = ptr("::1")
		}},
		{"advertise ip, ip:port, ipv6", func(c *Config) {
			c.AdvertiseAddrs.HTTP = ptr("api.example:8080")
			c.AdvertiseAddrs.RPC = ptr("::1")
			c.AdvertiseAddrs.Serf = ptr("[fd00::1]:7000")
		}},
		{"join addresses with and without port", func(c *Config) {
			c.Server.RetryJoin = []string{"10.0.0.1", "10.0.0.2:4648", "server.example", "[::1]:4648", "fd00::2"}
			c.Server.StartJoin = []string{"10.0.0.3"}
		}},
		{"zero heartbeat_grace and cleanup threshold", func(c *Config) {
			c.Server.HeartbeatGrace = ptr("0s")
			c.Server.DeadServerCleanupThreshold = ptr("0s")
		}},
		{"client-only may advertise a host name (it does not gossip)", func(c *Config) {
			c.Server.Enabled, c.Server.BootstrapExpect = ptr(false), ptr(0)
			c.Client.Enabled = ptr(true)
			c.Client.Servers = []string{"10.0.0.1:4647"}
			c.AdvertiseAddrs = &Addresses{HTTP: ptr("host.example"), RPC: ptr("host.example"), Serf: ptr("host.example")}
		}},
		{"raft_multiplier 10", func(c *Config) { c.Server.RaftMultiplier = ptr(10) }},
		{"raft_trailing_logs 0", func(c *Config) { c.Server.RaftTrailingLogs = ptr(0) }},
		{"acl, encrypt, rate limit", func(c *Config) {
			c.ACL.Enabled = ptr(true)
			c.Server.Encrypt = ptr("uOjYjmJ6G2Ya7tRjvcU8VOMm4bYzUZzqEMBaTxORGcw=")
			c.Client.Token = ptr("8d2c6f3e-0000-4000-8000-00000000beef")
			c.RateLimits = []*RateLimitConfig{{Family: "nomad", RequestsPerSecond: ptr(10.0), Burst: ptr(20)}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validServer()
			tc.edit(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
	for _, level := range []string{"trace", "DEBUG", "Info", "warn", "error"} {
		c := validServer()
		c.LogLevel = ptr(level)
		if err := c.Validate(); err != nil {
			t.Errorf("log level %q: %v", level, err)
		}
	}
}

// Validate reports every problem at once, one per line.
func TestConfig_ValidateReportsEveryError(t *testing.T) {
	c := validServer()
	c.DataDir = ptr("")
	c.Ports.HTTP = ptr(0)
	c.LogLevel = ptr("loud")
	c.Client.Meta = map[string]string{"a b": "c"}
	err := c.Validate()
	wantAll(t, err, "data_dir", "ports.http", "log_level", "client.meta")
	if n := len(strings.Split(err.Error(), "\n")); n != 4 {
		t.Errorf("%d lines, want 4: %q", n, err)
	}
}

func TestConfig_Logger(t *testing.T) {
	var buf bytes.Buffer
	c := DefaultConfig()
	c.LogLevel = ptr("warn")
	c.LogJSON = ptr(true)
	l := NewLogger(c, &buf)
	l.Info("hidden")
	l.Warn("shown", "k", "v")
	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Errorf("info logged at warn level: %q", out)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); err != nil {
		t.Fatalf("log_json output is not JSON: %q: %v", out, err)
	}
	if line["@message"] != "shown" || line["k"] != "v" {
		t.Errorf("log line %v", line)
	}
	if l.GetLevel() != hclog.Warn {
		t.Errorf("level %v", l.GetLevel())
	}

	buf.Reset()
	c.LogLevel, c.LogJSON = ptr("DEBUG"), ptr(false)
	l = NewLogger(c, &buf)
	l.Debug("dbg")
	if out := buf.String(); !strings.Contains(out, "[DEBUG]") || !strings.Contains(out, "dbg") {
		t.Errorf("text debug line %q", out)
	}
}

func TestConfig_ParseACLEncryptRateLimits(t *testing.T) {
	c, err := ParseConfig([]byte(`
acl { enabled = true }
server { encrypt = "uOjYjmJ6G2Ya7tRjvcU8VOMm4bYzUZzqEMBaTxORGcw=" }
client { token = "abc" }
rate_limit "nomad" {
  requests_per_second = 5
  burst               = 10
}
`), "acl.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if !*c.ACL.Enabled || *c.Server.Encrypt == "" || *c.Client.Token != "abc" ||
		len(c.RateLimits) != 1 || c.RateLimits[0].Family != "nomad" || *c.RateLimits[0].RequestsPerSecond != 5 || *c.RateLimits[0].Burst != 10 {
		t.Fatalf("parsed %+v %+v %+v", c.ACL, c.Server, c.RateLimits)
	}
	if _, err := ParseConfig([]byte("acl {\n  enabled = true\n  tokens = 1\n}\n"), "bad.hcl"); err == nil || !strings.Contains(err.Error(), "acl.tokens") {
		t.Fatalf("unknown acl field: %v", err)
	}
}
