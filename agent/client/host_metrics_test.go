package client

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/yamux"

	"github.com/nomadlike/nomadlike/agent/hostmetrics"
	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/structs"
)

// ingest is one HostMetrics.Ingest call a fake server received.
type ingest struct {
	server string
	req    structs.HostMetricsIngestRequest
}

// ingestLog collects the ingests of every fake server; answer decides
// each reply (nil Rejected: accepted).
type ingestLog struct {
	mu       sync.Mutex
	calls    []ingest
	notify   chan struct{}
	answer   func(server string, n int) *structs.IngestError
	register func() error
	// registered is set once a Node.Register succeeded; an ingest before
	// it is recorded in early.
	registered bool
	secret     string
	early      int
}

func newIngestLog(answer func(server string, n int) *structs.IngestError) *ingestLog {
	return &ingestLog{notify: make(chan struct{}, 1000), answer: answer}
}

func (l *ingestLog) ingest(server string, args *structs.HostMetricsIngestRequest, reply *structs.HostMetricsIngestResponse) {
	l.mu.Lock()
	if !l.registered {
		l.early++
	}
	req := *args
	req.Payload = append([]byte(nil), args.Payload...)
	l.calls = append(l.calls, ingest{server: server, req: req})
	n := len(l.calls)
	l.mu.Unlock()
	if r := l.answer(server, n); r != nil {
		rej := *r
		reply.Rejected = &rej
	} else {
		reply.NodeID, reply.Server = args.NodeID, server
	}
	l.notify <- struct{}{}
}

func (l *ingestLog) nodeRegister(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	if l.register != nil {
		if err := l.register(); err != nil {
			return err
		}
	}
	l.mu.Lock()
	l.registered, l.secret = true, args.Node.SecretID
	l.mu.Unlock()
	reply.HeartbeatTTL = time.Second
	return nil
}

func (l *ingestLog) snapshot() []ingest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ingest(nil), l.calls...)
}

// waitFor polls the log until ok holds, failing after a deadline.
func (l *ingestLog) waitFor(t *testing.T, what string, ok func([]ingest) bool) []ingest {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if calls := l.snapshot(); ok(calls) {
			return calls
		}
		select {
		case <-l.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; %d ingests", what, len(l.snapshot()))
		}
	}
}

// memServer is an in-memory RPC handler (RPCHandler) over an ingestLog.
type memServer struct{ log *ingestLog }

func (m *memServer) RPC(method string, args, reply any) error {
	switch method {
	case "Node.Register":
		return m.log.nodeRegister(args.(*structs.NodeRegisterRequest), reply.(*structs.NodeUpdateResponse))
	case "Node.UpdateStatus":
		reply.(*structs.NodeUpdateResponse).HeartbeatTTL = time.Second
		return nil
	case "Node.GetAssignment":
		return fakeAssignment(args.(*structs.NodeAssignmentRequest), reply.(*structs.NodeAssignmentResponse))
	case "Node.UpdateAssignmentApplied":
		return nil
	case "HostMetrics.Ingest":
		m.log.ingest("mem", args.(*structs.HostMetricsIngestRequest), reply.(*structs.HostMetricsIngestResponse))
		return nil
	}
	return errors.New("unexpected RPC " + method)
}

// fakeAssignment answers a blocking query with nothing new after a short
// wait, as fakeServer does.
func fakeAssignment(args *structs.NodeAssignmentRequest, reply *structs.NodeAssignmentResponse) error {
	if args.MinQueryIndex > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	reply.Assignment, reply.Index = &structs.NodeAssignment{}, 1
	return nil
}

// testHostMetrics collects fast, with no Docker socket.
func testHostMetrics(t *testing.T) *HostMetricsConfig {
	return &HostMetricsConfig{
		Collector: hostmetrics.Config{Interval: 50 * time.Millisecond, TopProcesses: 3,
			DockerSocket: filepath.Join(t.TempDir(), "no-docker.sock")},
		Pusher: hostmetrics.PusherConfig{Interval: 50 * time.Millisecond, RetryMin: 10 * time.Millisecond},
	}
}

func payloadAt(calls []ingest, i int) string { return string(calls[i].req.Payload) }

// TestClient_HostMetricsPush: nothing is pushed before the node is
// registered; payloads carry the node's ID and secret and the agent's
// version; a 400 refusal is dropped and never sent again, a 503 is sent
// again; the figures show in Stats.
func TestClient_HostMetricsPush(t *testing.T) {
	log := newIngestLog(func(_ string, n int) *structs.IngestError {
		switch n {
		case 1:
			return &structs.IngestError{Status: 400, Code: structs.IngestValidationError, Message: "bad", Field: "cpuPercent"}
		case 2:
			return &structs.IngestError{Status: 503, Code: structs.IngestServiceUnavailable, Message: "no storage"}
		}
		return nil
	})
	// Registration fails a few times first.
	var mu sync.Mutex
	refusals := 3
	log.register = func() error {
		mu.Lock()
		defer mu.Unlock()
		if refusals > 0 {
			refusals--
			return structs.ErrNoLeader
		}
		return nil
	}
	hm := testHostMetrics(t)
	hm.Collector.AgentVersion = "9.9.9-test"
	c, err := NewClient(&Config{DataDir: t.TempDir(), NodeName: "n1", Datacenter: "dc1",
		RPCHandler: &memServer{log: log}, Logger: hclog.NewNullLogger(), RetryInterval: 20 * time.Millisecond,
		HostMetrics: hm})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()

	calls := log.waitFor(t, "four ingests", func(calls []ingest) bool { return len(calls) >= 4 })
	log.mu.Lock()
	early, secret := log.early, log.secret
	log.mu.Unlock()
	if early != 0 {
		t.Fatalf("%d payloads pushed before the node registered", early)
	}
	for i, call := range calls {
		r := call.req
		if r.NodeID != c.NodeID() || r.SecretID != secret || secret == "" || r.RequestID == "" || r.ReceivedAt.IsZero() {
			t.Fatalf("ingest %d: node %q secret %q request %q at %v", i, r.NodeID, r.SecretID, r.RequestID, r.ReceivedAt)
		}
		var m structs.HostMetrics
		if err := json.Unmarshal(r.Payload, &m); err != nil {
			t.Fatalf("ingest %d: %v", i, err)
		}
		if m.AgentVersion == nil || *m.AgentVersion != "9.9.9-test" || m.ServerHealthy == nil || m.CollectedAt == nil {
			t.Fatalf("ingest %d payload: %s", i, r.Payload)
		}
	}
	// The 503 payload was sent again, next; the 400 one never again.
	if payloadAt(calls, 0) == payloadAt(calls, 1) {
		t.Fatal("the payload refused with 400 was sent again")
	}
	if payloadAt(calls, 2) != payloadAt(calls, 1) {
		t.Fatal("the payload refused with 503 was not sent again")
	}
	for i := 1; i < len(calls); i++ {
		if payloadAt(calls, i) == payloadAt(calls, 0) {
			t.Fatalf("ingest %d resent the payload refused with 400", i)
		}
	}

	// Stats: poll, the pusher updates them after the reply.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := c.Stats()
		sent, _ := strconv.Atoi(s["host_metrics_sent"])
		if s["host_metrics_enabled"] == "true" && s["host_metrics_rejected"] == "1" && sent >= 2 &&
			s["host_metrics_dropped"] == "0" && s["host_metrics_buffered"] != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %v", s)
		}
		<-log.notify
	}
}

// TestClient_HostMetricsDisabled: no host metrics config, no pusher; the
// stats say so.
func TestClient_HostMetricsDisabled(t *testing.T) {
	log := newIngestLog(func(string, int) *structs.IngestError { return nil })
	c, err := NewClient(&Config{DataDir: t.TempDir(), NodeName: "n1", Datacenter: "dc1",
		RPCHandler: &memServer{log: log}, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c.Shutdown()
	if s := c.Stats(); s["host_metrics_enabled"] != "false" || s["host_metrics_sent"] != "" {
		t.Fatalf("stats %v", s)
	}
}

// netServer is a fake server on a real loopback listener, speaking the
// RPC protocol a client dials (a multiplex byte, yamux, a byte per stream).
type netServer struct {
	name string
	ln   net.Listener
	mu   sync.Mutex
	open []io.Closer
	done chan struct{}
}

type netNode struct{ log *ingestLog }

func (n *netNode) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	return n.log.nodeRegister(args, reply)
}

func (n *netNode) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error {
	reply.HeartbeatTTL = time.Second
	return nil
}

func (n *netNode) GetAssignment(args *structs.NodeAssignmentRequest, reply *structs.NodeAssignmentResponse) error {
	return fakeAssignment(args, reply)
}

func (n *netNode) UpdateAssignmentApplied(args *structs.NodeAssignmentAppliedRequest, reply *structs.GenericResponse) error {
	return nil
}

type netHostMetrics struct {
	name string
	log  *ingestLog
}

func (h *netHostMetrics) Ingest(args *structs.HostMetricsIngestRequest, reply *structs.HostMetricsIngestResponse) error {
	h.log.ingest(h.name, args, reply)
	return nil
}

func startNetServer(t *testing.T, name string, log *ingestLog) *netServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rpcs := nomadlike.NewRPCServer(hclog.NewNullLogger())
	if err := rpcs.RegisterName("Node", &netNode{log: log}); err != nil {
		t.Fatal(err)
	}
	if err := rpcs.RegisterName("HostMetrics", &netHostMetrics{name: name, log: log}); err != nil {
		t.Fatal(err)
	}
	s := &netServer{name: name, ln: ln, done: make(chan struct{})}
	noStreaming := func(string) nomadlike.StreamingHandler { return nil }
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				b := make([]byte, 1)
				if _, err := io.ReadFull(conn, b); err != nil {
					conn.Close()
					return
				}
				cfg := yamux.DefaultConfig()
				cfg.LogOutput = io.Discard
				sess, err := yamux.Server(conn, cfg)
				if err != nil {
					conn.Close()
					return
				}
				if !s.track(sess) {
					return
				}
				for {
					stream, err := sess.Accept()
					if err != nil {
						return
					}
					go nomadlike.ServeNodeStream(stream, rpcs, noStreaming)
				}
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// track remembers c to close at stop; false (and c closed) after stop.
func (s *netServer) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		c.Close()
		return false
	default:
	}
	s.open = append(s.open, c)
	return true
}

// stop closes the listener and every session: the server is gone.
func (s *netServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.ln.Close()
	for _, c := range s.open {
		c.Close()
	}
}

func (s *netServer) addr() string { return s.ln.Addr().String() }

// TestClient_HostMetricsRotatesServers: over the network, a server that
// cannot take metrics (503) moves to the back and the same payload goes
// to the next server; once a server is gone (a transport error, met by
// the send or by a heartbeat first) the sends go to the next one.
func TestClient_HostMetricsRotatesServers(t *testing.T) {
	var mu sync.Mutex
	aAccepts := false
	log := newIngestLog(func(server string, n int) *structs.IngestError {
		mu.Lock()
		defer mu.Unlock()
		if server == "A" && !aAccepts {
			return &structs.IngestError{Status: 503, Code: structs.IngestServiceUnavailable, Message: "no storage"}
		}
		return nil
	})
	a, b := startNetServer(t, "A", log), startNetServer(t, "B", log)
	c, err := NewClient(&Config{DataDir: t.TempDir(), NodeName: "n1", Datacenter: "dc1",
		Servers: []string{a.addr(), b.addr()}, Logger: hclog.NewNullLogger(),
		RetryInterval: 20 * time.Millisecond, HostMetrics: testHostMetrics(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()

	// A refuses with 503; the payload then reaches B.
	calls := log.waitFor(t, "an ingest on B", func(calls []ingest) bool {
		return len(calls) > 0 && calls[len(calls)-1].server == "B"
	})
	if calls[0].server != "A" {
		t.Fatalf("first ingest on %s, want A (first in the list)", calls[0].server)
	}
	last := len(calls) - 1
	if payloadAt(calls, last) != payloadAt(calls, last-1) || calls[last-1].server != "A" {
		t.Fatal("the payload A refused with 503 did not go to B next")
	}
	if got := c.Servers(); got[0] != b.addr() {
		t.Fatalf("servers %v: A was not moved to the back", got)
	}
	if c.Stats()["host_metrics_rejected"] != "0" {
		t.Fatalf("a 503 counted as rejected: %v", c.Stats())
	}

	// B goes away; A takes metrics again: the next sends reach A.
	mu.Lock()
	aAccepts = true
	mu.Unlock()
	b.stop()
	n := len(log.snapshot())
	calls = log.waitFor(t, "an accepted ingest on A", func(calls []ingest) bool {
		for _, call := range calls[n:] {
			if call.server == "A" {
				return true
			}
		}
		return false
	})
	for _, call := range calls {
		if call.req.NodeID != c.NodeID() || call.req.SecretID != c.Node().SecretID {
			t.Fatalf("ingest on %s for node %q", call.server, call.req.NodeID)
		}
	}
	if got := c.Servers(); got[0] != a.addr() {
		t.Fatalf("servers %v: B was not moved to the back", got)
	}
}
