package nomadlike

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/assistant"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"github.com/nomadlike/nomadlike/structs"
)

// blockingEngine answers "thinking" and then waits until it is cancelled.
type blockingEngine struct{ started chan struct{} }

func (e *blockingEngine) Answer(ctx context.Context, _ assistant.Turn, out assistant.Output) error {
	out.Text("thinking")
	close(e.started)
	<-ctx.Done()
	return ctx.Err()
}

func askChat(t *testing.T, s *Server, prompt, chatID string) *structs.ChatAskResponse {
	t.Helper()
	var out structs.ChatAskResponse
	if err := s.RPC("Assistant.Ask", &structs.ChatAskRequest{Prompt: prompt, ChatID: chatID}, &out); err != nil {
		t.Fatalf("ask: %v", err)
	}
	return &out
}

// waitExecution waits until the chat's execution is in state and returns
// the chat.
func waitExecution(t *testing.T, s *Server, chatID, state string) *structs.Chat {
	t.Helper()
	var c *structs.Chat
	testutil.WaitForResult(t, 20*time.Second, func() error {
		var err error
		if c, err = s.State().ChatByID(nil, chatID); err != nil {
			return err
		}
		if c == nil || c.Execution == nil || c.Execution.State != state {
			return fmt.Errorf("chat %+v, want execution %s", c, state)
		}
		return nil
	})
	return c
}

// A server that stops while it answers ends its execution as failed;
// the chat is never left running.
func TestAssistant_StoppingServerFailsItsExecution(t *testing.T) {
	engine := &blockingEngine{started: make(chan struct{})}
	servers := testCluster(t, 3, nil)
	leader, follower := leaderAndFollower(t, servers)
	follower.config.AssistantEngine = engine
	out := askChat(t, follower, "slow question", "")
	<-engine.started
	waitExecution(t, leader, out.ChatID, structs.ExecutionRunning)
	follower.Shutdown()
	c := waitExecution(t, leader, out.ChatID, structs.ExecutionFailed)
	if !strings.Contains(c.Execution.Error, "stopped while answering") {
		t.Fatalf("error %q", c.Execution.Error)
	}
}

// The leader fails an execution whose server is gone from the pool, or
// runs another process than the one that started it (a restart).
func TestAssistant_LeaderFailsOrphanedExecutions(t *testing.T) {
	servers := testCluster(t, 3, nil)
	leader := WaitForLeader(t, servers...)
	orphans := map[string]*structs.ChatExecution{
		"gone":      {ID: "e-gone", Server: "ghost.global", BootID: "b", MessageID: "m"},
		"restarted": {ID: "e-restarted", Server: leader.config.memberName(), BootID: "an-earlier-boot", MessageID: "m"},
	}
	for id, e := range orphans {
		req := &structs.ChatApplyRequest{Time: time.Now().UTC(), Ops: []*structs.ChatOp{
			{Kind: structs.ChatOpCreate, ChatID: id},
			{Kind: structs.ChatOpStartExecution, ChatID: id, Execution: e}}}
		if _, _, err := leader.raftApply(structs.ChatApplyRequestType, req); err != nil {
			t.Fatal(err)
		}
	}
	if c := waitExecution(t, leader, "gone", structs.ExecutionFailed); !strings.Contains(c.Execution.Error, "ghost.global") {
		t.Fatalf("gone: %q", c.Execution.Error)
	}
	if c := waitExecution(t, leader, "restarted", structs.ExecutionFailed); !strings.Contains(c.Execution.Error, "restarted") {
		t.Fatalf("restarted: %q", c.Execution.Error)
	}
}

// The built-in assistant answers through the server's own endpoints, and
// _core deletes chats beyond retention, except one being answered.
func TestAssistant_BuiltinAnswersAndRetention(t *testing.T) {
	s, _ := TestServer(t, func(c *Config) { c.ChatRetention = time.Hour })
	WaitForLeader(t, s)
	node := testNode()
	node.Name = "web-1"
	register(t, s, node)
	var down structs.NodeUpdateResponse
	if err := s.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{NodeID: node.ID, SecretID: node.SecretID,
		Status: structs.NodeStatusDown}, &down); err != nil {
		t.Fatal(err)
	}
	out := askChat(t, s, "which nodes are down?", "")
	c := waitExecution(t, s, out.ChatID, structs.ExecutionCompleted)
	answer := c.Messages[len(c.Messages)-1].Text()
	if !strings.Contains(answer, "web-1") {
		t.Fatalf("answer %q does not name the down node", answer)
	}

	// Nothing is old enough yet.
	if err := s.pruneChats(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.State().ChatByID(nil, out.ChatID); c == nil {
		t.Fatal("a fresh chat was deleted")
	}
	s.config.ChatRetention = time.Nanosecond
	if err := s.pruneChats(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.State().ChatByID(nil, out.ChatID); c != nil {
		t.Fatal("a chat beyond retention was kept")
	}
}
