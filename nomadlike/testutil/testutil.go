// Package testutil holds helpers shared by every package's tests: free
// loopback ports and polling waits (tests never sleep a fixed time).
package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TB is the part of testing.TB the helpers use. Taking it rather than
// testing.TB keeps package testing (and its flags) out of the nomadlike
// binary, which links the in-process test helpers of nomadlike and agent
// through these; *testing.T and *testing.B satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Log(args ...any)
	TempDir() string
	Cleanup(func())
}

var (
	portsMu sync.Mutex
	given   = map[int]bool{}
)

// FreePorts returns n distinct loopback ports that are free for both TCP and
// UDP right now and have not been handed out before in this process. They
// are drawn below the kernel's ephemeral range, so an outgoing connection
// cannot take one between this call and the bind. Ports 4646-4648 (used by
// `make dev`) are never returned.
func FreePorts(t TB, n int) []int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	lo, hi := 10000, ephemeralLow()
	var out []int
	for attempts := 0; len(out) < n; attempts++ {
		if attempts > 10000 {
			t.Fatalf("could not find %d free ports", n)
		}
		if port := lo + rand.IntN(hi-lo); free(port) {
			given[port] = true
			out = append(out, port)
		}
	}
	return out
}

// FreePortRange returns the first of n consecutive ports that FreePorts
// could have returned, for a program that numbers its ports from a base
// (scripts/dev-cluster.sh).
func FreePortRange(t TB, n int) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	lo, hi := 10000, ephemeralLow()
	for attempts := 0; attempts < 1000; attempts++ {
		base := lo + rand.IntN(hi-lo-n)
		i := 0
		for i < n && free(base+i) {
			i++
		}
		if i == n {
			for i := range n {
				given[base+i] = true
			}
			return base
		}
	}
	t.Fatalf("could not find %d free consecutive ports", n)
	return 0
}

// free tells whether port is free for TCP and UDP on 127.0.0.1 now and
// was not handed out before.
func free(port int) bool {
	if given[port] || (port >= 4646 && port <= 4648) {
		return false
	}
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: port})
	if err != nil {
		return false
	}
	defer l.Close()
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: port})
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (32768
// when it cannot be read).
func ephemeralLow() int {
	buf, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(buf)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 11000 {
				return v
			}
		}
	}
	return 32768
}

// WaitForResult polls fn every 20 ms until it returns nil or timeout
// passes, then fails the test with fn's last error.
func WaitForResult(t TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
