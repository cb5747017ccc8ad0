package agent

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// parseFlags runs CommandConfig and fails the test on an error.
func parseFlags(t *testing.T, args ...string) (*Config, []string, bool) {
	t.Helper()
	var out bytes.Buffer
	c, paths, dev, err := CommandConfig(args, &out)
	if err != nil {
		t.Fatalf("CommandConfig(%q): %v", args, err)
	}
	return c, paths, dev
}

// Every flag sets its field, and only its field: merged onto the
// defaults, the flags give the defaults with that one field changed.
func TestFlag_EachFlagSetsItsField(t *testing.T) {
	cases := []struct {
		args []string
		want func(c *Config)
	}{
		{[]string{"-server"}, func(c *Config) { c.Server.Enabled = ptr(true) }},
		{[]string{"-server=false"}, func(c *Config) { c.Server.Enabled = ptr(false) }},
		{[]string{"-client"}, func(c *Config) { c.Client.Enabled = ptr(true) }},
		{[]string{"-bootstrap-expect", "3"}, func(c *Config) { c.Server.BootstrapExpect = ptr(3) }},
		{[]string{"-bootstrap-expect=5"}, func(c *Config) { c.Server.BootstrapExpect = ptr(5) }},
		{[]string{"-data-dir", "/data"}, func(c *Config) { c.DataDir = ptr("/data") }},
		{[]string{"-node=n1"}, func(c *Config) { c.NodeName = ptr("n1") }},
		{[]string{"-dc=east"}, func(c *Config) { c.Datacenter = ptr("east") }},
		{[]string{"-region=eu"}, func(c *Config) { c.Region = ptr("eu") }},
		{[]string{"-bind=10.1.2.3"}, func(c *Config) { c.BindAddr = ptr("10.1.2.3") }},
		{[]string{"-retry-interval=5s"}, func(c *Config) { c.Server.RetryInterval = ptr("5s") }},
		{[]string{"-retry-max=4"}, func(c *Config) { c.Server.RetryMaxAttempts = ptr(4) }},
		{[]string{"-log-level=debug"}, func(c *Config) { c.LogLevel = ptr("debug") }},
		{[]string{"-log-json"}, func(c *Config) { c.LogJSON = ptr(true) }},
		{[]string{"-enable-debug"}, func(c *Config) { c.EnableDebug = ptr(true) }},
		{[]string{"-http-port=1111"}, func(c *Config) { c.Ports.HTTP = ptr(1111) }},
		{[]string{"-rpc-port=2222"}, func(c *Config) { c.Ports.RPC = ptr(2222) }},
		{[]string{"-serf-port", "3333"}, func(c *Config) { c.Ports.Serf = ptr(3333) }},
		{[]string{"-leave-on-interrupt"}, func(c *Config) { c.LeaveOnInt = ptr(true) }},
		{[]string{"-leave-on-terminate"}, func(c *Config) { c.LeaveOnTerm = ptr(true) }},
		{[]string{"-servers=a:4647"}, func(c *Config) { c.Client.Servers = []string{"a:4647"} }},
		{[]string{"-join=a:4648"}, func(c *Config) { c.Server.StartJoin = []string{"a:4648"} }},
		{[]string{"-retry-join=a:4648"}, func(c *Config) { c.Server.RetryJoin = []string{"a:4648"} }},
		{[]string{"-meta=rack=r1"}, func(c *Config) { c.Client.Meta = map[string]string{"rack": "r1"} }},
		{[]string{"-acl-enabled"}, func(c *Config) { c.ACL.Enabled = ptr(true) }},
		{[]string{"-token=s3cr3t"}, func(c *Config) { c.Client.Token = ptr("s3cr3t") }},
		{[]string{"-encrypt=a2V5"}, func(c *Config) { c.Server.Encrypt = ptr("a2V5") }},
		{[]string{"-advertise=10.0.0.9"}, func(c *Config) {
			c.AdvertiseAddrs = &Addresses{HTTP: ptr("10.0.0.9"), RPC: ptr("10.0.0.9"), Serf: ptr("10.0.0.9")}
		}},
	}
	for _, tc := range cases {
		c, paths, dev := parseFlags(t, tc.args...)
		if dev || paths != nil {
			t.Errorf("%q: dev %v, paths %v", tc.args, dev, paths)
		}
		got, want := DefaultConfig(), DefaultConfig()
		got.Merge(c)
		tc.want(want)
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%q:\n got  %s\n want %s", tc.args, g, w)
		}
	}
}

// No flags: nothing set, so merging changes nothing.
func TestFlag_NoFlagsSetNothing(t *testing.T) {
	c, paths, dev := parseFlags(t)
	if dev || paths != nil {
		t.Fatalf("dev %v paths %v", dev, paths)
	}
	merged := DefaultConfig()
	merged.Merge(c)
	if !reflect.DeepEqual(merged, DefaultConfig()) {
		t.Fatalf("empty flags changed the defaults")
	}
}

func TestFlag_Dev(t *testing.T) {
	c, _, dev := parseFlags(t, "-dev")
	if !dev {
		t.Fatal("-dev not reported")
	}
	if c.DevMode {
		t.Fatal("flags config must not carry DevMode; the caller picks DevConfig")
	}
}

// -meta repeats; each key=value adds one key; the value may hold '='.
func TestFlag_MetaRepeated(t *testing.T) {
	c, _, _ := parseFlags(t, "-meta", "rack=r1", "-meta=owner=obs", "-meta", "expr=a=b", "-meta", "rack=r2", "-meta", "empty=")
	want := map[string]string{"rack": "r2", "owner": "obs", "expr": "a=b", "empty": ""}
	if !reflect.DeepEqual(c.Client.Meta, want) {
		t.Fatalf("meta %v, want %v", c.Client.Meta, want)
	}
}

// -servers, -join and -retry-join take comma lists and repeat; the
// values accumulate in order.
func TestFlag_ListFlags(t *testing.T) {
	for _, name := range []string{"servers", "join", "retry-join"} {
		t.Run(name, func(t *testing.T) {
			c, _, _ := parseFlags(t, "-"+name, "a:1,b:2", "-"+name+"=c:3", "-"+name, " d:4 , ,e:5")
			got := map[string][]string{"servers": c.Client.Servers, "join": c.Server.StartJoin, "retry-join": c.Server.RetryJoin}[name]
			if want := []string{"a:1", "b:2", "c:3", "d:4", "e:5"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("-%s: %v, want %v", name, got, want)
			}
		})
	}
}

// -config repeats, keeps the order given, and takes each value as one
// path (a path may contain a comma).
func TestFlag_ConfigRepeated(t *testing.T) {
	_, paths, _ := parseFlags(t, "-config", "b.hcl", "-config=/etc/nomadlike.d", "-config", "dir,with,commas/x.hcl")
	if want := []string{"b.hcl", "/etc/nomadlike.d", "dir,with,commas/x.hcl"}; !reflect.DeepEqual(paths, want) {
		t.Fatalf("paths %q, want %q", paths, want)
	}
}

// -advertise sets the advertised host of all three listeners; each keeps
// its own port.
func TestFlag_AdvertiseSetsAllThree(t *testing.T) {
	for _, addr := range []string{"10.0.0.9", "::1", "host.example"} {
		c, _, _ := parseFlags(t, "-advertise", addr)
		a := c.AdvertiseAddrs
		if a.HTTP == nil || a.RPC == nil || a.Serf == nil || *a.HTTP != addr || *a.RPC != addr || *a.Serf != addr {
			t.Fatalf("-advertise %s: %+v", addr, a)
		}
	}
	c, _, _ := parseFlags(t)
	if a := c.AdvertiseAddrs; a.HTTP != nil || a.RPC != nil || a.Serf != nil {
		t.Fatalf("no -advertise set advertise: %+v", a)
	}
}

// A flag error names the flag; nothing is returned.
func TestFlag_Errors(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-bogus"}, []string{"-bogus"}},
		{[]string{"-http-port=abc"}, []string{"-http-port", "abc"}},
		{[]string{"-rpc-port", "4647x"}, []string{"-rpc-port", "4647x"}},
		{[]string{"-serf-port="}, []string{"-serf-port"}},
		{[]string{"-bootstrap-expect=three"}, []string{"-bootstrap-expect", "three"}},
		{[]string{"-retry-max=x"}, []string{"-retry-max"}},
		{[]string{"-server=maybe"}, []string{"-server", "maybe"}},
		{[]string{"-log-json=2"}, []string{"-log-json"}},
		{[]string{"-meta=novalue"}, []string{"-meta", "novalue", "key=value"}},
		{[]string{"-meta==v"}, []string{"-meta", "key=value"}},
		{[]string{"-data-dir"}, []string{"-data-dir"}},
		{[]string{"-advertise=10.0.0.1:4646"}, []string{"-advertise", "10.0.0.1:4646"}},
		{[]string{"-server", "extra"}, []string{"extra"}},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		c, paths, dev, err := CommandConfig(tc.args, &out)
		if c != nil || paths != nil || dev {
			t.Errorf("%q: results returned with an error", tc.args)
		}
		if err == nil {
			t.Errorf("%q: no error", tc.args)
			continue
		}
		wantAllT(t, tc.args, err, tc.want...)
	}
}

func wantAllT(t *testing.T, args []string, err error, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !bytes.Contains([]byte(err.Error()), []byte(w)) {
			t.Errorf("%q: error %q does not name %q", args, err, w)
		}
	}
}
