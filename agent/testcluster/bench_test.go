package testcluster

import (
	"fmt"
	"os"
	"slices"
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
