package command

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// portFree tells whether port can be bound on loopback right now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func writeConfig(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Invalid flags or config: exit 1, a message naming the field on the error
// stream, nothing on stdout, and nothing started (no port bound, no data
// dir written).
func TestAgentCommand_InvalidConfig(t *testing.T) {
	dir := t.TempDir()
	unknownField := writeConfig(t, dir, "unknown.hcl", "region = \"eu\"\n\nserver {\n  enabled = true\n  bootstrap = 1\n}\n")
	badType := writeConfig(t, dir, "badtype.hcl", "ports {\n  http = \"eighty\"\n}\n")
	syntax := writeConfig(t, dir, "syntax.hcl", "server {\n  enabled = true\n")
	confDir := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, confDir, "10-ok.hcl", "server {\n  enabled = true\n}\n")
	inDir := writeConfig(t, confDir, "20-bad.hcl", "client {\n  enabled = true\n  serverz = [\"a:4647\"]\n}\n")
	missing := filepath.Join(dir, "does-not-exist.hcl")

	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"-server", "-bogus"}, []string{"-bogus"}},
		{"port not a number", []string{"-server", "-http-port=abc"}, []string{"-http-port", "abc"}},
		{"port out of range", []string{"-server", "-rpc-port=70000"}, []string{"ports.rpc", "70000"}},
		{"config with an unknown field", []string{"-config", unknownField}, []string{unknownField + ":5", "server.bootstrap"}},
		{"config with a bad type", []string{"-server", "-config", badType}, []string{badType + ":2", "ports.http"}},
		{"config syntax error", []string{"-config", syntax}, []string{syntax + ":1"}},
		{"config dir with a bad file", []string{"-config", confDir}, []string{inDir + ":3", "client.serverz"}},
		{"config path does not exist", []string{"-server", "-config", missing}, []string{missing}},
		{"missing data dir", []string{"-server", "-data-dir="}, []string{"data_dir", "-data-dir"}},
		{"bad log level", []string{"-server", "-log-level=loud"}, []string{"log_level", "loud"}},
		{"neither server nor client", nil, []string{"-server", "-client"}},
		{"client without servers", []string{"-client"}, []string{"client.servers", "-servers"}},
		{"servers without port", []string{"-client", "-servers=10.0.0.1"}, []string{"client.servers", "10.0.0.1"}},
		{"bootstrap-expect on a client", []string{"-client", "-servers=127.0.0.1:1", "-bootstrap-expect=3"}, []string{"server.bootstrap_expect"}},
		{"dev with bootstrap-expect 3", []string{"-dev", "-bootstrap-expect=3"}, []string{"server.bootstrap_expect", "-dev"}},
		{"bad bind", []string{"-server", "-bind=localhost"}, []string{"bind_addr", "localhost"}},
		{"bad retry interval", []string{"-server", "-retry-interval=often"}, []string{"server.retry_interval", "often"}},
		{"bad retry-join", []string{"-server", "-retry-join=10.0.0.1:x"}, []string{"server.retry_join", "10.0.0.1:x"}},
		{"bad meta", []string{"-client", "-servers=127.0.0.1:1", "-meta=novalue"}, []string{"-meta", "novalue"}},
		{"advertise with a port", []string{"-server", "-advertise=10.0.0.1:80"}, []string{"-advertise"}},
		{"positional argument", []string{"-server", "extra"}, []string{"extra"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			httpPort, rpcPort, serfPort := freePort(t), freePort(t), freePort(t)
			dataDir := filepath.Join(t.TempDir(), "data")
			// Defaults that would let the agent start; the case's args
			// come last and override them.
			args := append([]string{
				"-bind=127.0.0.1", "-data-dir=" + dataDir, "-log-level=warn",
				"-http-port=" + strconv.Itoa(httpPort), "-rpc-port=" + strconv.Itoa(rpcPort), "-serf-port=" + strconv.Itoa(serfPort),
			}, tc.args...)

			ui := cli.NewMockUi()
			cmd := &AgentCommand{Ui: ui}
			code := cmd.Run(args)
			stderr, stdout := ui.ErrorWriter.String(), ui.OutputWriter.String()
			if code != 1 {
				t.Fatalf("exit %d, want 1 (stderr %q, stdout %q)", code, stderr, stdout)
			}
			if !strings.HasPrefix(stderr, "Error in agent configuration:\n") {
				t.Errorf("stderr %q does not start with the configuration error header", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not name %q", stderr, w)
				}
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			for _, p := range []int{httpPort, rpcPort, serfPort} {
				if !portFree(p) {
					t.Errorf("port %d is bound after a failed start", p)
				}
			}
			if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
				t.Errorf("data dir %s was created (err %v): something started", dataDir, err)
			}
		})
	}
}

// The error is written once, not once by the flag package and again by
// the command.
func TestAgentCommand_FlagErrorWrittenOnce(t *testing.T) {
	ui := cli.NewMockUi()
	if code := (&AgentCommand{Ui: ui}).Run([]string{"-bogus"}); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if n := strings.Count(ui.ErrorWriter.String(), "-bogus"); n != 1 {
		t.Fatalf("flag error written %d times: %q", n, ui.ErrorWriter.String())
	}
}

// readConfig layers the defaults (or -dev's), the -config files in the
// order given, then the flags, wherever they appear on the command line.
func TestAgentCommand_ReadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	f1 := writeConfig(t, dir, "1.hcl", `
region     = "from-1"
datacenter = "from-1"
name       = "file-node"
data_dir   = "/from/file"
ports {
  http = 5000
  rpc  = 5001
}
server {
  enabled    = true
  retry_join = ["10.0.0.1"]
}
client {
  enabled = true
  servers = ["10.0.0.1:4647"]
  meta = {
    a = "1"
    b = "file"
  }
}
`)
	confDir := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	d1 := writeConfig(t, confDir, "a.hcl", "region = \"from-dir-a\"\nports {\n  serf = 5002\n}\n")
	d2 := writeConfig(t, confDir, "b.hcl", "region = \"from-dir-b\"\n")

	ui := cli.NewMockUi()
	c, err := (&AgentCommand{Ui: ui}).readConfig([]string{
		"-dc=from-flag", "-config", f1, "-meta", "b=flag", "-meta=c=3",
		"-config=" + confDir, "-http-port=6000", "-retry-join=10.0.0.2,10.0.0.3", "-servers", "10.0.0.9:4647",
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(field string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", field, got, want)
		}
	}
	check("region (later file wins)", *c.Region, "from-dir-b")
	check("datacenter (flag beats file)", *c.Datacenter, "from-flag")
	check("name (file beats default)", *c.NodeName, "file-node")
	check("data_dir", *c.DataDir, "/from/file")
	check("ports.http (flag)", *c.Ports.HTTP, 6000)
	check("ports.rpc (file)", *c.Ports.RPC, 5001)
	check("ports.serf (dir)", *c.Ports.Serf, 5002)
	check("retry_join (flag list replaces)", c.Server.RetryJoin, []string{"10.0.0.2", "10.0.0.3"})
	check("servers (flag list replaces)", c.Client.Servers, []string{"10.0.0.9:4647"})
	check("meta (merged by key)", c.Client.Meta, map[string]string{"a": "1", "b": "flag", "c": "3"})
	check("files", c.Files, []string{f1, d1, d2})
	check("server", *c.Server.Enabled, true)
	check("client", *c.Client.Enabled, true)
	check("dev", c.DevMode, false)
	if ui.ErrorWriter.String() != "" {
		t.Errorf("stderr %q", ui.ErrorWriter.String())
	}
}

// -dev: loopback, server+client, bootstrap_expect 1, no data dir needed;
// flags and files still override its defaults.
func TestAgentCommand_ReadConfigDev(t *testing.T) {
	ui := cli.NewMockUi()
	c, err := (&AgentCommand{Ui: ui}).readConfig([]string{"-dev"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.DevMode || *c.BindAddr != "127.0.0.1" || !*c.Server.Enabled || !*c.Client.Enabled || *c.Server.BootstrapExpect != 1 {
		t.Fatalf("dev config: dev %v bind %s server %v client %v bootstrap_expect %d",
			c.DevMode, *c.BindAddr, *c.Server.Enabled, *c.Client.Enabled, *c.Server.BootstrapExpect)
	}

	f := writeConfig(t, t.TempDir(), "dev.hcl", "data_dir = \"/tmp/devdata\"\nclient {\n  enabled = false\n}\n")
	c, err = (&AgentCommand{Ui: ui}).readConfig([]string{"-bind=0.0.0.0", "-dev", "-config", f})
	if err != nil {
		t.Fatal(err)
	}
	if !c.DevMode || *c.BindAddr != "0.0.0.0" || *c.DataDir != "/tmp/devdata" || *c.Client.Enabled {
		t.Fatalf("overrides lost: dev %v bind %s data_dir %s client %v", c.DevMode, *c.BindAddr, *c.DataDir, *c.Client.Enabled)
	}
}

// `nomadlike agent -dev` on chosen ports comes up healthy, and stops with
// exit 0 and its ports released when told to shut down.
func TestAgentCommand_DevRunAndShutdown(t *testing.T) {
	ports := testutil.FreePorts(t, 3) // never 4646-4648
	httpPort := ports[0]
	ui := cli.NewMockUi()
	shutdown := make(chan struct{})
	cmd := &AgentCommand{Ui: ui, ShutdownCh: shutdown}
	codeCh := make(chan int, 1)
	go func() {
		codeCh <- cmd.Run([]string{"-dev", "-log-level=warn",
			"-http-port=" + strconv.Itoa(ports[0]), "-rpc-port=" + strconv.Itoa(ports[1]), "-serf-port=" + strconv.Itoa(ports[2])})
	}()
	stopped := false
	defer func() {
		if !stopped {
			close(shutdown)
			<-codeCh
		}
	}()

	url := fmt.Sprintf("http://127.0.0.1:%d/v1/agent/health", httpPort)
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(8 * time.Second)
	for {
		select {
		case code := <-codeCh:
			stopped = true
			t.Fatalf("agent exited %d before it was healthy: stderr %q", code, ui.ErrorWriter.String())
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy after 8s (last: %v %v); stdout %q stderr %q", resp, err, ui.OutputWriter.String(), ui.ErrorWriter.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := ui.OutputWriter.String()
	if !strings.Contains(out, "nomadlike agent started (server+client)") || !strings.Contains(out, fmt.Sprintf("127.0.0.1:%d", httpPort)) {
		t.Errorf("startup banner %q", out)
	}
	var dataDir string
	if m := regexp.MustCompile(`Data dir: (\S+)`).FindStringSubmatch(out); m != nil {
		dataDir = m[1]
	} else {
		t.Errorf("no data dir in banner %q", out)
	}

	close(shutdown)
	stopped = true
	select {
	case code := <-codeCh:
		if code != 0 {
			t.Fatalf("exit %d, want 0; stderr %q", code, ui.ErrorWriter.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop within 10s of shutdown")
	}
	for _, p := range ports[:2] { // TCP listeners: HTTP and RPC
		if !portFree(p) {
			t.Errorf("port %d still bound after shutdown", p)
		}
	}
	if dataDir != "" {
		if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
			t.Errorf("dev data dir %s not removed (err %v)", dataDir, err)
		}
	}
}
