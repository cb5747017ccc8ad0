package testcluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// A leader that was paused (SIGSTOP) while the others elected a new one
// and acknowledged a write must not answer a default read from its old
// state when it resumes: default reads are linearizable. The reads are
// sent while it is still stopped (the kernel queues them), so they are
// the first thing it handles when it resumes, before it has noticed that
// it was deposed.
func TestCluster_PausedLeaderDoesNotAnswerStaleReads(t *testing.T) {
	c := New(t, Options{Servers: 3})
	old := c.WaitForLeader()
	p := &api.Pipeline{Name: "register", Contents: "// v1", Enabled: ptrBool(true)}
	created, _, err := old.API().Pipelines().Upsert(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := created.ID

	pid := old.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)

	// The others elect a leader and acknowledge a newer value.
	var newLeader *Agent
	testutil.WaitForResult(t, 30*time.Second, func() error {
		for _, s := range c.Servers {
			if s == old {
				continue
			}
			self, err := s.API().Agent().Self()
			if err == nil && self.Stats["raft"]["state"] == "Leader" {
				newLeader = s
				return nil
			}
		}
		return fmt.Errorf("no new leader yet")
	})
	testutil.WaitForResult(t, 30*time.Second, func() error {
		_, _, err := newLeader.API().Pipelines().Upsert(&api.Pipeline{Name: "register", Contents: "// v2", Enabled: ptrBool(true)}, nil)
		return err
	})

	// Queue reads on the paused old leader, then let it run.
	var conns []net.Conn
	for i := 0; i < 8; i++ {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", old.HTTPPort), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := fmt.Sprintf(`{"id":%q}`, id)
		fmt.Fprintf(conn, "POST /pipeline.v1.PipelineService/GetPipeline HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
			"Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		conns = append(conns, conn)
	}
	resume()
	for i, conn := range conns {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			// Refusing to answer is linearizable; answering old state
			// is not.
			t.Logf("read %d: %d %s", i, resp.StatusCode, raw)
			continue
		}
		var got struct{ Contents string }
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatalf("read %d: %s", i, raw)
		}
		if strings.TrimSpace(got.Contents) != "// v2" {
			t.Fatalf("read %d from the resumed old leader returned %q after %q was acknowledged", i, got.Contents, "// v2")
		}
	}
}
