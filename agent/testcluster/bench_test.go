package testcluster

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// BenchmarkFailover measures, on a 3-server loopback cluster of real
// processes with default raft timings, the time from kill -9 of the leader
// to the first acknowledged write (a node registration through a surviving
// server), over 5 failovers, and prints each run and the median.
func BenchmarkFailover(b *testing.B) {
	const runs = 5
	c := New(b, Options{Servers: 3})
	pool := nomadlike.NewConnPool()
	defer pool.Shutdown()

	var times []time.Duration
	for i := 0; i < runs; i++ {
		leader := c.WaitForLeader()
		var survivors []*Agent
		for _, s := range c.Servers {
			if s != leader {
				survivors = append(survivors, s)
			}
		}
		leader.Kill()
		start := time.Now()
		for attempt := 0; ; attempt++ {
			s := survivors[attempt%len(survivors)]
			if err := rpcWrite(pool, s.RPCAddr(), fakeNode(fmt.Sprintf("failover-%d-%d", i, attempt))); err == nil {
				break
			}
			if time.Since(start) > 60*time.Second {
				b.Fatalf("no write acknowledged within 60s of killing the leader")
			}
		}
		elapsed := time.Since(start)
		times = append(times, elapsed)
		fmt.Fprintf(os.Stdout, "failover run %d: leader %s killed, first acknowledged write after %s\n",
			i+1, leader.Name, elapsed.Round(time.Millisecond))

		// Bring the killed server back and let the cluster settle.
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
	fmt.Fprintf(os.Stdout, "failover: median %s over %d runs (min %s, max %s)\n",
		median.Round(time.Millisecond), runs, times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
	b.ReportMetric(float64(median.Milliseconds()), "ms-median-failover")
}
