package testcluster

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
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
			leader, survivors := c.leaderAndFollowers()
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

// BenchmarkFailoverVsEtcd is the yardstick for crash failover: in each of
// 5 rounds a fresh 3-member etcd cluster (Debian's etcd-server) and a
// fresh 3-server nomadlike cluster, one after the other in an order that
// alternates, each get their leader killed with kill -9, and the time to
// the first acknowledged write through a survivor is measured (etcd: a
// put through its HTTP gateway; nomadlike: a node registration over RPC).
// It prints each run and both medians. Skipped when etcd is not installed.
func BenchmarkFailoverVsEtcd(b *testing.B) {
	const rounds = 5
	etcdRun := func(round int) time.Duration {
		_, _, pids, stop, clients := startEtcd(b)
		defer stop()
		leader := etcdLeader(b, clients)
		// A put whose proposal went to the dead leader waits out etcd's
		// 7 s request timeout: retry after 200 ms instead, as a client
		// with a deadline does.
		hc := &http.Client{Timeout: 200 * time.Millisecond}
		start := time.Now()
		if err := syscall.Kill(pids[leader], syscall.SIGKILL); err != nil {
			b.Fatal(err)
		}
		for attempt := 0; ; attempt++ {
			m := (leader + 1 + attempt%2) % 3
			body := fmt.Sprintf(`{"key":%q,"value":"eA=="}`, base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("failover-%d-%d", round, attempt))))
			if resp, err := hc.Post(clients[m]+"/v3/kv/put", "application/json", strings.NewReader(body)); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return time.Since(start)
				}
			}
			if time.Since(start) > 60*time.Second {
				b.Fatal("etcd: no put acknowledged within 60s of killing the leader")
			}
		}
	}
	nomadlikeRun := func(round int) time.Duration {
		c := New(b, Options{Servers: 3})
		defer func() {
			for _, s := range c.Servers {
				s.Kill()
			}
		}()
		pool := nomadlike.NewConnPool()
		defer pool.Shutdown()
		leader, survivors := c.leaderAndFollowers()
		start := time.Now()
		leader.Kill()
		for attempt := 0; ; attempt++ {
			if rpcWrite(pool, survivors[attempt%2].RPCAddr(), fakeNode(fmt.Sprintf("failover-%d-%d", round, attempt))) == nil {
				return time.Since(start)
			}
			if time.Since(start) > 60*time.Second {
				b.Fatal("nomadlike: no write acknowledged within 60s of killing the leader")
			}
		}
	}
	var ours, theirs []float64
	for round := 0; round < rounds; round++ {
		runs := []func(){
			func() { ours = append(ours, nomadlikeRun(round).Seconds()) },
			func() { theirs = append(theirs, etcdRun(round).Seconds()) },
		}
		if round%2 == 1 {
			runs[0], runs[1] = runs[1], runs[0]
		}
		for _, run := range runs {
			run()
		}
		fmt.Fprintf(os.Stdout, "failover round %d: nomadlike %s, etcd %s\n", round+1,
			time.Duration(ours[round]*float64(time.Second)).Round(time.Millisecond),
			time.Duration(theirs[round]*float64(time.Second)).Round(time.Millisecond))
	}
	mo, me := median(ours), median(theirs)
	fmt.Fprintf(os.Stdout, "kill -9 of the leader -> first acknowledged write, median of %d: nomadlike %s, etcd %s\n", rounds,
		time.Duration(mo*float64(time.Second)).Round(time.Millisecond), time.Duration(me*float64(time.Second)).Round(time.Millisecond))
	b.ReportMetric(mo*1000, "ms-median-nomadlike")
	b.ReportMetric(me*1000, "ms-median-etcd")
}

// etcdLeader is the index of the etcd member that leads, from each
// member's /v3/maintenance/status.
func etcdLeader(b *testing.B, clients []string) int {
	var leader int
	testutil.WaitForResult(b, 30*time.Second, func() error {
		for m, url := range clients {
			resp, err := http.Post(url+"/v3/maintenance/status", "application/json", strings.NewReader("{}"))
			if err != nil {
				return err
			}
			var st etcdMemberStatus
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err != nil {
				return err
			}
			if st.Leader != "" && st.Leader == st.Header.MemberID {
				leader = m
				return nil
			}
		}
		return fmt.Errorf("no etcd member leads")
	})
	return leader
}

// etcdMemberStatus is what /v3/maintenance/status says of a member.
type etcdMemberStatus struct {
	Header struct {
		MemberID string `json:"member_id"`
	} `json:"header"`
	Leader string `json:"leader"`
}

// leaderAndFollowers waits for a leader and returns it with the other
// servers.
func (c *Cluster) leaderAndFollowers() (*Agent, []*Agent) {
	leader := c.WaitForLeader()
	var followers []*Agent
	for _, s := range c.Servers {
		if s != leader {
			followers = append(followers, s)
		}
	}
	return leader, followers
}
