package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/agent/testcluster"
)

// netLab puts each server in a network namespace of its own, joined by a
// bridge in the test's namespace, so that the nemesis can cut the links
// between servers while the test's clients still reach every server (the
// Jepsen setup: a partitioned old leader stays reachable by clients).
// Cuts are blackhole routes to the peers' /32 inside each namespace: the
// kernel drops the packets, as a failed switch would, and nothing in the
// root namespace (iptables, which this machine lacks) is touched.
type netLab struct {
	t      *testing.T
	id     string
	subnet string // the first three octets, "10.77.N"
	ns     []string
	bridge string
	cuts   map[int][]string // namespace index -> blackholed addresses
}

// newNetLab builds n namespaces, or says why it cannot (not root, no ip
// command, no namespace support); everything it made is removed at the
// test's end, after the agents in it have been killed.
func newNetLab(t *testing.T, run, n int) (*netLab, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("not running as root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("no ip command: %v", err)
	}
	l := &netLab{t: t, id: labID(os.Getpid(), run), cuts: map[int][]string{}}
	l.subnet = fmt.Sprintf("10.77.%d", (os.Getpid()*64+run)%250)
	l.bridge = "nlcb" + l.id
	// Registered first, so it runs last: after every agent is killed.
	t.Cleanup(l.destroy)
	if err := l.run("link", "add", l.bridge, "type", "bridge"); err != nil {
		return nil, err
	}
	if err := l.runAll(
		[]string{"addr", "add", l.subnet + ".254/24", "dev", l.bridge},
		[]string{"link", "set", l.bridge, "up"},
	); err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		ns, veth := fmt.Sprintf("%s%d-%d-%d", nsPrefix, os.Getpid(), run, i), fmt.Sprintf("nlcv%s%d", l.id, i)
		if err := l.run("netns", "add", ns); err != nil {
			return nil, err
		}
		l.ns = append(l.ns, ns)
		if err := l.runAll(
			[]string{"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"link", "set", veth, "master", l.bridge, "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
			[]string{"-n", ns, "addr", "add", l.addr(i) + "/24", "dev", "eth0"},
			[]string{"-n", ns, "link", "set", "eth0", "up"},
		); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *netLab) runAll(cmds ...[]string) error {
	for _, c := range cmds {
		if err := l.run(c...); err != nil {
			return err
		}
	}
	return nil
}

// nsPrefix starts the name of every namespace the suite makes; the name
// goes on with the test process's PID, the run and the server.
const nsPrefix = "nlchaos-"

// labID names a run's bridge and veths (interface names are at most 15
// bytes, so it is a short hash of the PID and the run).
func labID(pid, run int) string { return fmt.Sprintf("%06x", (pid*64+run)&0xffffff) }

// sweepNetLabs removes what an earlier test process that died without
// cleaning up (kill -9, a test timeout) left behind: its namespaces and
// bridges. Agents in them died with it (PDEATHSIG).
func sweepNetLabs() {
	if os.Geteuid() != 0 {
		return
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		var pid, run, i int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, nsPrefix), "%d-%d-%d", &pid, &run, &i); err != nil || !strings.HasPrefix(name, nsPrefix) {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // its test process is still running
		}
		exec.Command("ip", "netns", "del", name).Run()
		exec.Command("ip", "link", "del", "nlcb"+labID(pid, run)).Run()
	}
}

// addr is server i's address.
func (l *netLab) addr(i int) string { return fmt.Sprintf("%s.%d", l.subnet, i+1) }

// prepare places server i in its namespace.
func (l *netLab) prepare(i int, a *testcluster.Agent) {
	a.Host = l.addr(i)
	a.Exec = []string{"ip", "netns", "exec", l.ns[i]}
}

func (l *netLab) run(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// partition cuts every link between servers in different groups, both
// ways.
func (l *netLab) partition(groups [][]int) error {
	side := map[int]int{}
	for g, members := range groups {
		for _, i := range members {
			side[i] = g
		}
	}
	for i := range l.ns {
		for j := range l.ns {
			if i == j || side[i] == side[j] {
				continue
			}
			if err := l.run("-n", l.ns[i], "route", "add", "blackhole", l.addr(j)+"/32"); err != nil {
				return err
			}
			l.cuts[i] = append(l.cuts[i], l.addr(j))
		}
	}
	return nil
}

// heal removes every cut.
func (l *netLab) heal() error {
	var first error
	for i, addrs := range l.cuts {
		for _, a := range addrs {
			if err := l.run("-n", l.ns[i], "route", "del", "blackhole", a+"/32"); err != nil && first == nil {
				first = err
			}
		}
	}
	l.cuts = map[int][]string{}
	return first
}

// destroy removes the namespaces (their veth ends go with them, and so
// do the bridge's) and the bridge.
func (l *netLab) destroy() {
	for _, ns := range l.ns {
		if err := l.run("netns", "del", ns); err != nil {
			l.t.Errorf("cleaning up: %v", err)
		}
	}
	if err := l.run("link", "del", l.bridge); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
		l.t.Errorf("cleaning up: %v", err)
	}
}
