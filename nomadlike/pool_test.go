package nomadlike

import (
	"io"
	"net"
	"net/rpc"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/yamux"

	"github.com/nomadlike/nomadlike/structs"
)

// TestConnPool_ReusesStreams: calls in sequence share one stream, an
// endpoint's error leaves the stream usable while a request the server
// could not decode retires it (not the session), concurrent calls open
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
	idle := func() []*streamClient {
		p.mu.Lock()
		defer p.mu.Unlock()
		return append([]*streamClient(nil), p.sessions[addr].idle...)
	}
	session := func() *poolSession {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.sessions[addr]
	}
	before, sess := idle(), session()

	// An error the endpoint returns leaves the stream in step: reused.
	var applied structs.PipelineApplyResponse
	err := p.RPC(addr, "Pipeline.Apply", &structs.PipelineApplyRequest{}, &applied)
	if code := codeOf(err); code != 400 {
		t.Fatalf("empty apply: %v", err)
	}
	if after := idle(); len(after) != 1 || after[0] != before[0] {
		t.Fatal("the stream was not reused after an endpoint's error")
	}

	// A request the server cannot decode may leave bytes behind on the
	// stream: the stream is retired, the session kept, and calls go on.
	var out struct{}
	err = p.RPC(addr, "Status.Ping", "not a request", &out)
	if err == nil || IsNetworkError(err) {
		t.Fatalf("undecodable request: %v", err)
	}
	if after := idle(); len(after) != 0 {
		t.Fatalf("a stream with an undecodable request went back to the pool: %d idle", len(after))
	}
	if session() != sess {
		t.Fatal("a server error dropped the session")
	}
	for i := 0; i < 5; i++ {
		if err := ping(); err != nil {
			t.Fatalf("after the retired stream: %v", err)
		}
	}
	if session() != sess || len(idle()) != 1 {
		t.Fatalf("session replaced %v, %d idle", session() != sess, len(idle()))
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

// TestInmemCodec_CopiesUnlessForwarded: the in-memory codec hands a reply
// over as is only when the endpoint's request was answered by the leader
// over the network (its Forwarded flag still set); a request served here,
// including one whose forward attempt failed and was cleared, gets a copy.
func TestInmemCodec_CopiesUnlessForwarded(t *testing.T) {
	for _, forwarded := range []bool{false, true} {
		var caller structs.SinglePipelineResponse
		c := &inmemCodec{method: "Pipeline.Get", args: &structs.PipelineSpecificRequest{}, reply: &caller}
		argv := &structs.PipelineSpecificRequest{}
		if err := c.ReadRequestBody(argv); err != nil {
			t.Fatal(err)
		}
		argv.SetForwarded(true)
		argv.SetForwarded(forwarded)
		stored := &structs.Pipeline{ID: "1", Name: "p"}
		if err := c.WriteResponse(&rpc.Response{}, &structs.SinglePipelineResponse{Pipeline: stored}); err != nil {
			t.Fatal(err)
		}
		if shared := caller.Pipeline == stored; shared != forwarded {
			t.Fatalf("forwarded=%v: reply shared with the endpoint's object: %v", forwarded, shared)
		}
		if caller.Pipeline.Name != "p" {
			t.Fatalf("reply %+v", caller.Pipeline)
		}
	}
}

// A server that takes a call and never answers fails it at the pool's
// timeout with a network error, and the session is dropped so that the
// next call dials again.
func TestConnPool_CallTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns sync.WaitGroup
	defer conns.Wait()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer conn.Close()
				var b [1]byte
				if _, err := io.ReadFull(conn, b[:]); err != nil {
					return
				}
				session, err := yamux.Server(conn, nil)
				if err != nil {
					return
				}
				defer session.Close()
				stream, err := session.Accept()
				if err != nil {
					return
				}
				io.Copy(io.Discard, stream) // reads the call, answers nothing
			})
		}
	}()
	p := NewConnPool()
	defer p.Shutdown()
	p.timeout = 200 * time.Millisecond
	start := time.Now()
	var out struct{}
	err = p.RPC(ln.Addr().String(), "Status.Ping", &structs.GenericRequest{}, &out)
	if !IsNetworkError(err) {
		t.Fatalf("a call nobody answers: %v", err)
	}
	if took := time.Since(start); took < 200*time.Millisecond || took > 5*time.Second {
		t.Fatalf("the call failed after %s, its timeout is 200ms", took)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.sessions[ln.Addr().String()]; ok {
		t.Fatal("the session of a timed-out call was kept")
	}
}
