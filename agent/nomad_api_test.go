package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// TestNomadAPIClient drives the agent with Nomad's own Go client package:
// existing Nomad tooling must decode every answer unchanged.
func TestNomadAPIClient(t *testing.T) {
	a := TestAgent(t, func(c *Config) {
		c.Client.Meta = map[string]string{"env": "prod"}
		c.EnableDebug = ptr(true)
	})
	WaitForAgentLeader(t, a)
	cfg := nomadapi.DefaultConfig()
	cfg.Address = a.URL()
	c, err := nomadapi.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ag := c.Agent()

	members, err := ag.Members()
	if err != nil || len(members.Members) != 1 || members.Members[0].Name != *a.config.NodeName+".global" ||
		members.Members[0].Status != "alive" || members.Members[0].Tags["port"] == "" {
		t.Fatalf("members: %+v %v", members, err)
	}
	self, err := ag.Self()
	if err != nil {
		t.Fatal(err)
	}
	if self.Member.Name != *a.config.NodeName+".global" || self.Stats["nomad"]["leader_addr"] != a.server.RPCAddr() {
		t.Fatalf("self: %+v", self)
	}
	if dc, err := ag.Datacenter(); err != nil || dc != "dc1" {
		t.Fatalf("datacenter %q %v", dc, err)
	}
	if region, err := ag.Region(); err != nil || region != "global" {
		t.Fatalf("region %q %v", region, err)
	}
	servers, err := ag.Servers()
	if err != nil || len(servers) != 1 || servers[0] != a.server.RPCAddr() {
		t.Fatalf("servers %v %v", servers, err)
	}
	if err := ag.SetServers([]string{a.server.RPCAddr()}); err != nil {
		t.Fatalf("set servers: %v", err)
	}
	health, err := ag.Health()
	if err != nil || !health.Server.Ok || !health.Client.Ok {
		t.Fatalf("health %+v %v", health, err)
	}
	if n, err := ag.Join("127.0.0.1:1"); err == nil || n != 0 || !strings.Contains(err.Error(), "failed joining") {
		t.Fatalf("join nowhere: %d %v", n, err)
	}
	var ure nomadapi.UnexpectedResponseError
	if err := ag.ForceLeave("ghost"); !errors.As(err, &ure) || ure.StatusCode() != 400 {
		t.Fatalf("force-leave unknown: %v", err)
	}

	leader, err := c.Status().Leader()
	if err != nil || leader != a.server.RPCAddr() {
		t.Fatalf("leader %q %v", leader, err)
	}
	peers, err := c.Status().Peers()
	if err != nil || len(peers) != 1 || peers[0] != leader {
		t.Fatalf("peers %v %v", peers, err)
	}
	raftCfg, err := c.Operator().RaftGetConfiguration(nil)
	if err != nil || len(raftCfg.Servers) != 1 || !raftCfg.Servers[0].Leader || raftCfg.Servers[0].Address != leader {
		t.Fatalf("raft configuration %+v %v", raftCfg, err)
	}

	var stubs []*nomadapi.NodeListStub
	testutil.WaitForResult(t, 10*time.Second, func() error {
		var err error
		stubs, _, err = c.Nodes().List(nil)
		if err == nil && len(stubs) != 1 {
			err = fmt.Errorf("%d nodes", len(stubs))
		}
		return err
	})
	if stubs[0].Status != "ready" || stubs[0].ID != a.client.NodeID() {
		t.Fatalf("node stub %+v", stubs[0])
	}
	node, meta, err := c.Nodes().Info(stubs[0].ID, nil)
	if err != nil || node.Meta["env"] != "prod" || node.Attributes["collector.os"] == "" || meta.LastIndex == 0 {
		t.Fatalf("node %+v %+v %v", node, meta, err)
	}

	// Scheduler workers: list, read and change the pool.
	var workers *nomadapi.AgentSchedulerWorkersInfo
	testutil.WaitForResult(t, 5*time.Second, func() error {
		var err error
		workers, err = ag.GetSchedulerWorkersInfo(nil)
		if err == nil && (len(workers.Schedulers) == 0 || workers.Schedulers[0].Status != "Started") {
			err = fmt.Errorf("workers %+v", workers)
		}
		return err
	})
	if workers.ServerID != *a.config.NodeName+".global" || workers.Schedulers[0].WorkloadStatus == "" ||
		len(workers.Schedulers[0].EnabledSchedulers) != 3 {
		t.Fatalf("workers %+v", workers)
	}
	poolCfg, err := ag.GetSchedulerWorkerConfig(nil)
	if err != nil || poolCfg.NumSchedulers != len(workers.Schedulers) {
		t.Fatalf("scheduler config %+v %v", poolCfg, err)
	}
	changed, err := ag.SetSchedulerWorkerConfig(nomadapi.SchedulerWorkerPoolArgs{NumSchedulers: 3, EnabledSchedulers: []string{"pipeline", "_core"}}, nil)
	if err != nil || changed.NumSchedulers != 3 || strings.Join(changed.EnabledSchedulers, ",") != "pipeline,_core" {
		t.Fatalf("scheduler config change %+v %v", changed, err)
	}
	if workers, err = ag.GetSchedulerWorkersInfo(nil); err != nil || len(workers.Schedulers) != 3 {
		t.Fatalf("workers after the change %+v %v", workers, err)
	}
	if _, err := ag.SetSchedulerWorkerConfig(nomadapi.SchedulerWorkerPoolArgs{NumSchedulers: 1, EnabledSchedulers: []string{"pipeline"}}, nil); !errors.As(err, &ure) || ure.StatusCode() != 400 {
		t.Fatalf("a pool without _core: %v", err)
	}
	testNomadAPIDebug(t, a, c)
}

// testNomadAPIDebug drives host, monitor and pprof with Nomad's client.
func testNomadAPIDebug(t *testing.T, a *Agent, c *nomadapi.Client) {
	ag := c.Agent()
	name := a.server.LocalMember().Name
	host, err := ag.Host("", "", nil)
	if err != nil || host.AgentID != name || host.HostData == nil || host.HostData.OS == "" || len(host.HostData.Network) == 0 {
		t.Fatalf("host: %+v %v", host, err)
	}
	host, err = ag.Host("leader", "", nil)
	if err != nil || host.AgentID != name || host.HostData == nil {
		t.Fatalf("host leader: %+v %v", host, err)
	}
	host, err = ag.Host("", a.client.NodeID(), nil)
	if err != nil || host.AgentID != a.client.NodeID() || host.HostData == nil {
		t.Fatalf("host node: %+v %v", host, err)
	}
	var ure nomadapi.UnexpectedResponseError
	if _, err := ag.Host("leader", a.client.NodeID(), nil); !errors.As(err, &ure) || ure.StatusCode() != 400 {
		t.Fatalf("host with both targets: %v", err)
	}

	for _, target := range []map[string]string{{}, {"server_id": "leader"}, {"node_id": a.client.NodeID()}} {
		stop := make(chan struct{})
		params := map[string]string{"log_level": "debug"}
		for k, v := range target {
			params[k] = v
		}
		frames, errCh := ag.Monitor(stop, &nomadapi.QueryOptions{Params: params})
		if frames == nil {
			t.Fatalf("monitor %v: %v", target, <-errCh)
		}
		line := fmt.Sprintf("nomad api monitor line %v", target)
		a.logger.Named("test").Debug(line)
		var got strings.Builder
		deadline := time.After(5 * time.Second)
		for !strings.Contains(got.String(), line) {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatalf("monitor %v ended: %v", target, <-errCh)
				}
				got.Write(f.Data)
			case <-deadline:
				t.Fatalf("monitor %v: no line, got %q", target, got.String())
			}
		}
		close(stop)
	}
	frames, errCh := ag.Monitor(nil, &nomadapi.QueryOptions{Params: map[string]string{"log_level": "loud"}})
	if err := <-errCh; frames != nil || !errors.As(err, &ure) || ure.StatusCode() != 400 {
		t.Fatalf("monitor bad level: %v", err)
	}

	prof, err := ag.CPUProfile(nomadapi.PprofOptions{Seconds: 1}, nil)
	if err != nil || len(prof) == 0 {
		t.Fatalf("cpu profile: %d bytes, %v", len(prof), err)
	}
	text, err := ag.Lookup("goroutine", nomadapi.PprofOptions{Debug: 1, ServerID: "leader"}, nil)
	if err != nil || !strings.Contains(string(text), "goroutine profile:") {
		t.Fatalf("lookup goroutine: %v %.100s", err, text)
	}
	heap, err := ag.Lookup("heap", nomadapi.PprofOptions{GC: 1, NodeID: a.client.NodeID()}, nil)
	if err != nil || len(heap) == 0 {
		t.Fatalf("lookup heap on the node: %v", err)
	}
	cmdline, err := ag.Lookup("cmdline", nomadapi.PprofOptions{}, nil)
	if err != nil || len(cmdline) == 0 {
		t.Fatalf("cmdline: %v", err)
	}
	trace, err := ag.Trace(nomadapi.PprofOptions{Seconds: 1, ServerID: name}, nil)
	if err != nil || len(trace) == 0 {
		t.Fatalf("trace: %v", err)
	}
	if _, err := ag.Lookup("nope", nomadapi.PprofOptions{}, nil); !errors.As(err, &ure) || ure.StatusCode() != 404 {
		t.Fatalf("unknown profile: %v", err)
	}
}
