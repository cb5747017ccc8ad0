package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// snapshotCluster starts three in-process servers and a client-only agent
// that knows only the second server, so that saves and restores through
// the client and the followers run every relay (run with -race).
func snapshotCluster(t *testing.T) (servers []*Agent, client *Agent) {
	t.Helper()
	var join string
	for i := 0; i < 3; i++ {
		a := TestAgent(t, func(c *Config) {
			c.Client.Enabled = ptr(false)
			c.Server.BootstrapExpect = ptr(3)
			// A follower installing a restored snapshot answers no
			// heartbeat meanwhile; under the race detector that takes
			// longer than the 50 ms lease of the test timings, and the
			// leader stepped down after every restore, over and over.
			// Production leases are 500 ms.
			c.serverHook = func(sc *nomadlike.Config) {
				nomadlike.ApplyTestTimings(sc)
				sc.RaftConfig.HeartbeatTimeout = 500 * time.Millisecond
				sc.RaftConfig.ElectionTimeout = 500 * time.Millisecond
				sc.RaftConfig.LeaderLeaseTimeout = 500 * time.Millisecond
			}
			if join != "" {
				c.Server.RetryJoin = []string{join}
			}
		})
		if join == "" {
			join = fmt.Sprintf("127.0.0.1:%d", *a.config.Ports.Serf)
		}
		servers = append(servers, a)
	}
	rpc := fmt.Sprintf("127.0.0.1:%d", *servers[1].config.Ports.RPC)
	client = TestAgent(t, func(c *Config) {
		c.Server.Enabled, c.Server.BootstrapExpect = ptr(false), ptr(0)
		c.Client.Servers = []string{rpc}
	})
	for _, s := range servers {
		WaitForAgentLeader(t, s)
	}
	return servers, client
}

func apiClient(t *testing.T, a *Agent) *api.Client {
	c, err := api.NewClient(&api.Config{Address: a.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pipelineNames(t *testing.T, c *api.Client) []string {
	t.Helper()
	ps, _, err := c.Pipelines().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name+"="+p.Contents)
	}
	return names
}

func TestSnapshotEndpoint_RelaysAndRefusals(t *testing.T) {
	servers, client := snapshotCluster(t)
	var follower *Agent
	testutil.WaitForResult(t, 15*time.Second, func() error {
		for _, s := range servers {
			if !s.Server().IsLeader() {
				follower = s
				return nil
			}
		}
		return errors.New("no follower yet")
	})
	c := apiClient(t, client)
	for i := 0; i < 3; i++ {
		if _, _, err := c.Pipelines().Create(&api.Pipeline{Name: fmt.Sprintf("p%d", i), Contents: "// a"}, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := pipelineNames(t, c)

	// Save through the client agent: client -> server -> leader.
	rc, err := c.Operator().Snapshot(nil)
	if err != nil {
		t.Fatal(err)
	}
	arch, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}

	if _, _, err := c.Pipelines().Create(&api.Pipeline{Name: "later", Contents: "// b"}, false, nil); err != nil {
		t.Fatal(err)
	}
	// Restore through a follower, then through the client.
	for _, via := range []*Agent{follower, client} {
		if _, err := apiClient(t, via).Operator().SnapshotRestore(nil, bytes.NewReader(arch)); err != nil {
			t.Fatalf("restore via %s: %v", *via.config.NodeName, err)
		}
		if got := pipelineNames(t, c); !reflect.DeepEqual(got, want) {
			t.Fatalf("after restore via %s: %v, want %v", *via.config.NodeName, got, want)
		}
	}

	// A damaged archive: 400 in the Nomad family's format, through every
	// relay, and a leader refusing in the middle of the upload does not
	// hang the sender.
	bad := bytes.Clone(arch)
	bad[len(bad)/2] ^= 0xff
	bad = append(bad, bytes.Repeat([]byte{1}, 4<<20)...)
	for _, via := range []*Agent{follower, client} {
		code, body := rawRestore(t, via, bytes.NewReader(bad), int64(len(bad)))
		if code != 400 || !strings.HasPrefix(body, "snapshot is corrupt: ") {
			t.Fatalf("damaged archive via %s: %d %q", *via.config.NodeName, code, body)
		}
	}

	// Past the bound: a chunked body is cut off at it.
	old := snapshotMaxBytes
	snapshotMaxBytes = int64(len(arch)) - 1
	defer func() { snapshotMaxBytes = old }()
	code, body := rawRestore(t, follower, io.MultiReader(bytes.NewReader(arch)), -1)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked body: %d %q", code, body)
	}
	code, _ = rawRestore(t, follower, bytes.NewReader(arch), int64(len(arch)))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d", code)
	}
	if got := pipelineNames(t, c); !reflect.DeepEqual(got, want) {
		t.Fatalf("after refusals: %v, want %v", got, want)
	}

	req, _ := http.NewRequest(http.MethodDelete, follower.URL()+"/v1/operator/snapshot", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
}

// rawRestore PUTs body (with length n, or chunked for -1).
func rawRestore(t *testing.T, a *Agent, body io.Reader, n int64) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, a.URL()+"/v1/operator/snapshot", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = n
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
