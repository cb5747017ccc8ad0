package agent

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// keepAliveGet sends GET path on conn and reads the answer, leaving the
// connection open.
func keepAliveGet(conn net.Conn, r *bufio.Reader, path string) (int, string, error) {
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	defer conn.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: test\r\n\r\n", path); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return 0, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body), nil
}

// TestLimits_HTTPConnsPerClient: with Nomad's default of 100, the 101st
// connection from 127.0.0.1 is answered 429 (Nomad's text) and closed
// while 100 are open; once one of them closes, a new one is served.
func TestLimits_HTTPConnsPerClient(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	if *a.config.Limits.HTTPMaxConnsPerClient != 100 {
		t.Fatalf("default http_max_conns_per_client %d", *a.config.Limits.HTTPMaxConnsPerClient)
	}
	var open []net.Conn
	t.Cleanup(func() {
		for _, c := range open {
			c.Close()
		}
	})
	for i := 0; i < 100; i++ {
		conn, err := net.Dial("tcp", a.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, conn)
		// An answer proves the server accepted and counted it.
		if code, body, err := keepAliveGet(conn, bufio.NewReader(conn), "/v1/agent/health"); err != nil || code != 200 {
			t.Fatalf("connection %d: %d %s %v", i+1, code, body, err)
		}
	}

	over, err := net.Dial("tcp", a.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	code, body, err := keepAliveGet(over, bufio.NewReader(over), "/v1/agent/health")
	if err != nil || code != http.StatusTooManyRequests || !strings.Contains(body, "too many concurrent connections") {
		t.Fatalf("101st connection: %d %q %v, want 429", code, body, err)
	}
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := over.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("101st connection still open after its 429: %d %v", n, err)
	}

	open[0].Close()
	testutil.WaitForResult(t, 5*time.Second, func() error {
		conn, err := net.Dial("tcp", a.HTTPAddr())
		if err != nil {
			return err
		}
		defer conn.Close()
		if code, body, err := keepAliveGet(conn, bufio.NewReader(conn), "/v1/agent/health"); err != nil || code != 200 {
			return fmt.Errorf("after a close: %d %s %v", code, body, err)
		}
		return nil
	})
}

// TestLimits_RPCConnsPerClient: the 101st RPC connection from one address
// is closed at once while 100 are open (each proven served by a ping).
func TestLimits_RPCConnsPerClient(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	rpcAddr := a.server.RPCAddr()
	// The agent's own connections to itself, if any, count too: fill
	// up to the cap, not to a fixed number.
	var open []net.Conn
	t.Cleanup(func() {
		for _, c := range open {
			c.Close()
		}
	})
	ping := func(conn net.Conn) error {
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		defer conn.SetDeadline(time.Time{})
		return msgpackrpc.CallWithCodec(msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle),
			"Status.Ping", &structs.GenericRequest{}, &struct{}{})
	}
	dial := func() (net.Conn, error) {
		conn, err := net.Dial("tcp", rpcAddr)
		if err != nil {
			return nil, err
		}
		if _, err := conn.Write([]byte{0x01}); err != nil { // rpcNomad
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
	for i := 0; i < 100; i++ {
		conn, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		if err := ping(conn); err != nil {
			conn.Close()
			if len(open) < 90 {
				t.Fatalf("RPC connection %d refused: %v", i+1, err)
			}
			break // the agent's own connections filled the rest
		}
		open = append(open, conn)
	}
	over, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	if err := ping(over); err == nil {
		t.Fatalf("RPC connection %d from 127.0.0.1 served over the cap of 100", len(open)+1)
	}

	open[0].Close()
	open = open[1:]
	testutil.WaitForResult(t, 5*time.Second, func() error {
		conn, err := dial()
		if err != nil {
			return err
		}
		defer conn.Close()
		return ping(conn)
	})

	// What a reload that turns the cap off calls: the next connections
	// over 100 are served.
	a.server.SetRPCLimits(0, 5*time.Second)
	for i := 0; i < 3; i++ {
		conn, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, conn)
		if err := ping(conn); err != nil {
			t.Fatalf("connection over 100 with the cap off: %v", err)
		}
	}
}

// timeoutAgent is a server agent with short HTTP idle and body timeouts.
func timeoutAgent(t *testing.T) *Agent {
	a := TestAgent(t, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.Limits.HTTPIdleTimeout = ptr("300ms")
		c.Limits.HTTPBodyReadTimeout = ptr("300ms")
	})
	WaitForAgentLeader(t, a)
	return a
}

// TestLimits_HTTPIdleTimeout: an idle keep-alive connection is closed
// after http_idle_timeout (there was no IdleTimeout: it stayed open).
func TestLimits_HTTPIdleTimeout(t *testing.T) {
	a := timeoutAgent(t)

	conn, err := net.Dial("tcp", a.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	if code, _, err := keepAliveGet(conn, r, "/v1/agent/health"); err != nil || code != 200 {
		t.Fatalf("health: %d %v", code, err)
	}
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := r.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle connection not closed by the server: %d %v", n, err)
	}
	if idle := time.Since(start); idle < 200*time.Millisecond {
		t.Fatalf("idle connection closed after %s, before the idle timeout", idle)
	}

}

// TestLimits_HTTPBodyReadTimeout: a body that stops arriving is cut off
// after http_body_read_timeout with a 400 (there was no body timeout: the
// handler waited for ever), and a blocking query that waits longer than
// both timeouts still answers.
func TestLimits_HTTPBodyReadTimeout(t *testing.T) {
	a := timeoutAgent(t)
	// A body announced as 100 bytes of which 10 arrive.
	slow, err := net.Dial("tcp", a.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "PUT /v1/acl/policy/slow HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{\"Rules\":")
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil {
		t.Fatalf("slow body: no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "timeout") {
		t.Fatalf("slow body: %d %s", resp.StatusCode, body)
	}

	// A blocking query waits past both timeouts and still answers.
	start := time.Now()
	code, hdr, out := call(t, http.MethodGet, a.URL()+"/v1/nodes?index=999999&wait=1s")
	if code != 200 || hdr.Get("X-Nomad-Index") == "" || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("blocking query: %d after %s: %s", code, time.Since(start), out)
	}
}

// TestLimits_Config: the limits block has Nomad's names and defaults; 0
// disables a limit; rpc_max_conns_per_client keeps Nomad's floor; bad
// durations name the field.
func TestLimits_Config(t *testing.T) {
	d := DefaultConfig().Limits
	if *d.HTTPSHandshakeTimeout != "5s" || *d.HTTPMaxConnsPerClient != 100 || *d.RPCHandshakeTimeout != "5s" ||
		*d.RPCMaxConnsPerClient != 100 || *d.HTTPIdleTimeout != "120s" || *d.HTTPBodyReadTimeout != "60s" {
		t.Fatalf("defaults: %+v", d)
	}
	parse := func(src string) error {
		t.Helper()
		f, err := ParseConfig([]byte(src), "limits.hcl")
		if err != nil {
			t.Fatal(err)
		}
		c := DefaultConfig()
		c.Merge(f)
		c.Server.Enabled, c.DataDir = ptr(true), ptr(t.TempDir())
		if *c.Limits.HTTPMaxConnsPerClient == 100 && strings.Contains(src, "http_max_conns_per_client = 0") {
			t.Fatal("limits block not merged")
		}
		return c.Validate()
	}
	if err := parse(`limits {
  https_handshake_timeout   = "0s"
  http_max_conns_per_client = 0
  rpc_handshake_timeout     = "0"
  rpc_max_conns_per_client  = 0
}`); err != nil {
		t.Fatalf("every limit disabled: %v", err)
	}
	err := parse(`limits {
  http_max_conns_per_client = -1
  rpc_max_conns_per_client  = 20
  rpc_handshake_timeout     = "soon"
  http_idle_timeout         = "-1s"
}`)
	for _, want := range []string{
		"limits.http_max_conns_per_client: -1 must be 0 (no limit) or more",
		"limits.rpc_max_conns_per_client: 20 must be 0 (no limit) or more than 25",
		`limits.rpc_handshake_timeout: "soon" is not a duration`,
		`limits.http_idle_timeout: "-1s" must not be negative`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}
