package testcluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// BenchmarkFailover measures, on a 3-server loopback cluster of real
// processes with default raft timings, the time from stopping the leader
// to the first acknowledged write (a node registration through a surviving
// server), over 5 failovers each: kill -9 (the others wait out their
// heartbeat timeout), then SIGTERM (a planned restart: the leader hands
// its leadership to a follower first). It prints each run and the medians.
func BenchmarkFailover(b *testing.B) {
	const runs = 5
	c := New(b, Options{Servers: 3})
	pool := nomadlike.NewConnPool()
	defer pool.Shutdown()

	for _, mode := range []struct {
		name string
		sig  syscall.Signal
	}{{"kill -9", syscall.SIGKILL}, {"SIGTERM", syscall.SIGTERM}} {
		var times []time.Duration
		for i := 0; i < runs; i++ {
			leader := c.WaitForLeader()
			var survivors []*Agent
			for _, s := range c.Servers {
				if s != leader {
					survivors = append(survivors, s)
				}
			}
			start := time.Now()
			if err := syscall.Kill(leader.PID(), mode.sig); err != nil {
				b.Fatal(err)
			}
			for attempt := 0; ; attempt++ {
				s := survivors[attempt%len(survivors)]
				if err := rpcWrite(pool, s.RPCAddr(), fakeNode(fmt.Sprintf("failover-%d-%d-%d", mode.sig, i, attempt))); err == nil {
					break
				}
				if time.Since(start) > 60*time.Second {
					b.Fatalf("no write acknowledged within 60s of stopping the leader")
				}
			}
			elapsed := time.Since(start)
			times = append(times, elapsed)
			fmt.Fprintf(os.Stdout, "failover run %d (%s): leader %s stopped, first acknowledged write after %s\n",
				i+1, mode.name, leader.Name, elapsed.Round(time.Millisecond))
			leader.Stop() // reaps the process the signal ended

			// Bring the stopped server back and let the cluster settle.
			leader.Start()
			testutil.WaitForResult(b, 60*time.Second, func() error {
				for _, s := range c.Servers {
					peers, err := s.API().Status().Peers()
					if err != nil || len(peers) != 3 {
						return fmt.Errorf("%s peers %v %v", s.Name, peers, err)
					}
					self, err := s.API().Agent().Self()
					if err != nil || self.Stats["raft"]["state"] == "Candidate" {
						return fmt.Errorf("%s not settled", s.Name)
					}
				}
				return nil
			})
		}
		slices.Sort(times)
		median := times[len(times)/2]
		fmt.Fprintf(os.Stdout, "failover (%s): median %s over %d runs (min %s, max %s)\n", mode.name,
			median.Round(time.Millisecond), runs, times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
		unit := "ms-median-failover-kill"
		if mode.sig == syscall.SIGTERM {
			unit = "ms-median-failover-term"
		}
		b.ReportMetric(float64(median.Milliseconds()), unit)
	}
}

// BenchmarkSteadyLoadElections drives a 3-server loopback cluster with 16
// writers for STEADY_LOAD_DURATION (default 10m), upserting 64 pipelines
// in turn through the three servers (revision_retention = 50 keeps the
// state from growing), and counts the leader changes: the raft term's
// growth and the "entering candidate state" lines in the servers' logs.
// With the Raft timings of a LAN (nomadlike/DESIGN.md) the answer must be
// 0 while the two cores are saturated.
func BenchmarkSteadyLoadElections(b *testing.B) {
	window := 10 * time.Minute
	if v := os.Getenv("STEADY_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("STEADY_LOAD_DURATION: %v", err)
		}
		window = d
	}
	conf := WriteConfig(b, b.TempDir(), "retention.hcl", "server {\n  revision_retention = 50\n}\n")
	pc := &pipelineCluster{
		Cluster: New(b, Options{Servers: 3, ServerArgs: []string{"-config", conf}}),
		client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, MaxConnsPerHost: 32}},
	}
	pc.WaitForLeader()
	terms := func() (out []int) {
		for _, s := range pc.Servers {
			self, err := s.API().Agent().Self()
			if err != nil {
				b.Fatal(err)
			}
			t, _ := strconv.Atoi(self.Stats["raft"]["term"])
			out = append(out, t)
		}
		return out
	}
	candidates := func() (n int) {
		for _, s := range pc.Servers {
			n += s.Grep("entering candidate state")
		}
		return n
	}
	term0, cand0 := terms(), candidates()
	res := runLoad("UpsertPipeline", 16, window, pc.pids(), func(w int, i int64) bool {
		body, _ := json.Marshal(map[string]any{"pipeline": map[string]any{
			"name": fmt.Sprintf("steady-%d", i%64), "contents": fmt.Sprintf("// write %d\n", i), "matchers": []string{"env=prod"}}})
		return pc.call(pc.Servers[i%3], "UpsertPipeline", "", body)
	})
	term1, cand1 := terms(), candidates()
	changes := 0
	for i := range term0 {
		changes = max(changes, term1[i]-term0[i])
	}
	printLoadTable(fmt.Sprintf("3 servers on loopback, %s of steady writes", window), []*loadResult{res})
	fmt.Fprintf(os.Stdout, "leader changes during the load: %d (terms %v -> %v), elections started: %d\n",
		changes, term0, term1, cand1-cand0)
	b.ReportMetric(float64(changes), "leader-changes")
}
