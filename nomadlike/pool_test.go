package nomadlike

import (
	"strings"
	"sync"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

// TestConnPool_ReusesStreams: calls in sequence share one stream, a
// server's error answer leaves the stream usable, concurrent calls open
// at most one stream each and keep them for the next burst, and a dead
// session is replaced on the next call.
func TestConnPool_ReusesStreams(t *testing.T) {
	s, cleanup := TestServer(t, nil)
	defer cleanup()
	WaitForLeader(t, s)
	p := NewConnPool()
	defer p.Shutdown()
	addr := s.RPCAddr()
	ping := func() error {
		var out struct{}
		return p.RPC(addr, "Status.Ping", &structs.GenericRequest{}, &out)
	}
	open := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.sessions[addr].session.NumStreams()
	}

	for i := 0; i < 50; i++ {
		if err := ping(); err != nil {
			t.Fatal(err)
		}
	}
	if n := open(); n != 1 {
		t.Fatalf("%d streams open after 50 calls in sequence, want 1", n)
	}
	var out struct{}
	err := p.RPC(addr, "Status.NoSuchMethod", &structs.GenericRequest{}, &out)
	if err == nil || !strings.Contains(err.Error(), "can't find method") || IsNetworkError(err) {
		t.Fatalf("unknown method: %v", err)
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}
	if n := open(); n != 1 {
		t.Fatalf("%d streams open after a server error, want 1", n)
	}

	burst := func() {
		var wg sync.WaitGroup
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 20; j++ {
					if err := ping(); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	burst()
	first := open()
	if first < 1 || first > 16 {
		t.Fatalf("%d streams open after 16 concurrent callers", first)
	}
	burst()
	if n := open(); n > 16 {
		t.Fatalf("%d streams after a second burst (first left %d)", n, first)
	}

	// A session that died is replaced, its idle streams forgotten.
	p.mu.Lock()
	dead := p.sessions[addr]
	dead.session.Close()
	p.mu.Unlock()
	if err := ping(); err != nil {
		t.Fatalf("after the session died: %v", err)
	}
	p.mu.Lock()
	replaced := p.sessions[addr] != dead
	p.mu.Unlock()
	if !replaced || open() != 1 {
		t.Fatalf("session replaced %v, %d streams", replaced, open())
	}
}
