// Package testutil holds helpers shared by every package's tests: free
// loopback ports and polling waits (tests never sleep a fixed time).
package testutil

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

var (
	portsMu sync.Mutex
	given   = map[int]bool{}
)

// FreePorts returns n distinct loopback ports that are free for both TCP and
// UDP right now and have not been handed out before in this process. Ports
// 4646-4648 (used by `make dev`) are never returned.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	var out []int
	for attempts := 0; len(out) < n; attempts++ {
		if attempts > 1000 {
			t.Fatalf("could not find %d free ports", n)
		}
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP("127.0.0.1")})
		if err != nil {
			continue
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: port})
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		if given[port] || (port >= 4646 && port <= 4648) {
			continue
		}
		given[port] = true
		out = append(out, port)
	}
	return out
}

// WaitForResult polls fn every 20 ms until it returns nil or timeout
// passes, then fails the test with fn's last error.
func WaitForResult(t testing.TB, timeout time.Duration, fn func() error) {
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

// Errorf is fmt.Errorf, for WaitForResult callbacks.
func Errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
