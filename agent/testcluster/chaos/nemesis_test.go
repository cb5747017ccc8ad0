package chaos

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent/testcluster"
)

// Fault kinds the nemesis injects, one at a time, so that a majority of
// servers is always up once the fault heals.
const (
	faultKillLeader   = "kill-leader"   // kill -9 of the leader, restart on its data dir
	faultKillFollower = "kill-follower" // kill -9 of a follower, restart
	faultPauseLeader  = "pause-leader"  // SIGSTOP of the leader for 2-4 s, SIGCONT
	// Partitions need network namespaces (root): see netLab.
	faultIsolateLeader = "isolate-leader" // the leader cut off from both followers for 3-6 s
	faultIsolateOne    = "isolate-one"    // a random server cut off from the others for 3-6 s
)

var (
	processFaults   = []string{faultKillLeader, faultKillFollower, faultPauseLeader}
	partitionFaults = []string{faultIsolateLeader, faultIsolateOne}
	allFaults       = append(append([]string{}, processFaults...), partitionFaults...)
)

// restartDeadline is how long a restarted server has to rejoin (answer
// with a known leader) before it counts as a restart failure.
const restartDeadline = 30 * time.Second

// nemesis injects bounded faults on a schedule drawn from its seeded
// random source; it runs on the test goroutine.
type nemesis struct {
	t      *testing.T
	c      *testcluster.Cluster
	rng    *rand.Rand
	faults []string
	stats  *runStats
	lab    *netLab // nil: servers on loopback, no partitions
	// failed servers did not come back from a restart; the nemesis
	// stops injecting faults once one has, to keep a quorum.
	failed map[*testcluster.Agent]bool
}

// live is the servers that are up, not paused and not failed.
func (n *nemesis) live() []*testcluster.Agent {
	var out []*testcluster.Agent
	for _, s := range n.c.Servers {
		if s.Running() && !s.Paused() && !s.Exited() && !n.failed[s] {
			out = append(out, s)
		}
	}
	return out
}

// leader is the server a majority of all servers names as leader, asked
// with a short timeout (nil when there is none).
func (n *nemesis) leader() *testcluster.Agent {
	votes := map[string]int{}
	for _, s := range n.live() {
		if l, err := apiClient(s, time.Second).Status().Leader(); err == nil && l != "" {
			votes[l]++
		}
	}
	for addr, v := range votes {
		if v*2 <= len(n.c.Servers) {
			continue
		}
		for _, s := range n.live() {
			if s.RPCAddr() == addr {
				return s
			}
		}
	}
	return nil
}

// waitLeader polls for an agreed leader until the deadline.
func (n *nemesis) waitLeader(timeout time.Duration) *testcluster.Agent {
	deadline := time.Now().Add(timeout)
	for {
		if l := n.leader(); l != nil || time.Now().After(deadline) {
			return l
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitHealthy waits until a (re)started server answers and knows a
// leader. A server that exits or does not get there in time is a restart
// failure: counted, its log tail printed, and left alone from then on.
func (n *nemesis) waitHealthy(a *testcluster.Agent) bool {
	deadline := time.Now().Add(restartDeadline)
	var last error
	for time.Now().Before(deadline) {
		if a.Exited() {
			last = fmt.Errorf("process exited")
			break
		}
		l, err := apiClient(a, time.Second).Status().Leader()
		if err == nil && l != "" {
			return true
		}
		last = fmt.Errorf("leader %q, %v", l, err)
		time.Sleep(100 * time.Millisecond)
	}
	n.failed[a] = true
	n.stats.add(func(st *runStats) { st.RestartFailures++ })
	n.t.Errorf("%s did not come back within %s (%v); last lines of its log:\n%s", a.Name, restartDeadline, last, a.LogTail(60))
	return false
}

// hold keeps a fault in place for a random duration in [min, max).
func (n *nemesis) hold(min, max time.Duration) time.Duration {
	d := min + time.Duration(n.rng.Int64N(int64(max-min)))
	time.Sleep(d) // the fault's length, drawn from the schedule
	return d
}

// step injects one fault and heals it.
func (n *nemesis) step() {
	if len(n.failed) > 0 {
		return
	}
	kind := n.faults[n.rng.IntN(len(n.faults))]
	leader := n.waitLeader(20 * time.Second)
	if leader == nil {
		n.t.Logf("nemesis: no leader for 20 s, skipping %s", kind)
		return
	}
	target := leader
	switch kind {
	case faultIsolateOne:
		target = n.c.Servers[n.rng.IntN(len(n.c.Servers))]
	case faultKillFollower:
		var followers []*testcluster.Agent
		for _, s := range n.c.Servers {
			if s != leader {
				followers = append(followers, s)
			}
		}
		target = followers[n.rng.IntN(len(followers))]
	}
	n.stats.add(func(st *runStats) { st.Faults[kind]++ })
	switch kind {
	case faultKillLeader, faultKillFollower:
		target.Kill()
		d := n.hold(time.Second, 3*time.Second)
		n.t.Logf("nemesis: %s %s, down %s", kind, target.Name, d.Round(time.Millisecond))
		target.Start()
		n.waitHealthy(target)
	case faultPauseLeader:
		target.Pause()
		d := n.hold(2*time.Second, 4*time.Second)
		target.Resume()
		n.t.Logf("nemesis: %s %s, stopped %s", kind, target.Name, d.Round(time.Millisecond))
		n.waitHealthy(target)
	case faultIsolateLeader, faultIsolateOne:
		alone, rest := n.split(target)
		if err := n.lab.partition([][]int{{alone}, rest}); err != nil {
			n.t.Fatalf("nemesis: %v", err)
		}
		d := n.hold(3*time.Second, 6*time.Second)
		if err := n.lab.heal(); err != nil {
			n.t.Fatalf("nemesis: healing: %v", err)
		}
		for _, s := range n.c.Servers {
			n.waitHealthy(s)
		}
		now := "none"
		if l := n.leader(); l != nil {
			now = l.Name
		}
		n.t.Logf("nemesis: %s %s (leader was %s), cut off %s; leader now %s", kind, target.Name, leader.Name, d.Round(time.Millisecond), now)
	}
}

// split returns target's index and the others'.
func (n *nemesis) split(target *testcluster.Agent) (int, []int) {
	alone := -1
	var rest []int
	for i, s := range n.c.Servers {
		if s == target {
			alone = i
		} else {
			rest = append(rest, i)
		}
	}
	return alone, rest
}

// heal ends every fault: links are restored, paused servers continue,
// stopped ones start.
func (n *nemesis) heal() {
	if n.lab != nil {
		if err := n.lab.heal(); err != nil {
			n.t.Errorf("healing the network: %v", err)
		}
	}
	for _, s := range n.c.Servers {
		s.Resume()
	}
	for _, s := range n.c.Servers {
		if !s.Running() && !n.failed[s] {
			s.Start()
			n.waitHealthy(s)
		}
	}
}

// runStats is one row of the results table.
type runStats struct {
	mu                  sync.Mutex
	Run                 int
	Seed                uint64
	Ops                 int
	WritesOK            int
	WritesIndeterminate int
	WritesFailed        int // refused before sending: certainly not applied
	Reads               int
	ReadsFailed         int
	Faults              map[string]int
	Linearizable        string // yes, no, or unknown (checker timed out)
	LostWrites          int
	AppliedTwice        int // values found in two revisions of a key
	RestartFailures     int
	Unconverged         int // (server, key) pairs still different after the wait
	Visualization       string
}

func (st *runStats) add(f func(*runStats)) {
	st.mu.Lock()
	f(st)
	st.mu.Unlock()
}

func (st *runStats) faults() string {
	var kinds []string
	for k := range st.Faults {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s:%d", k, st.Faults[k]))
	}
	return strings.Join(parts, " ")
}

// ok is whether the run found nothing wrong.
func (st *runStats) ok() bool {
	return st.Linearizable == "yes" && st.LostWrites == 0 && st.AppliedTwice == 0 && st.RestartFailures == 0 && st.Unconverged == 0
}
