package fsm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

func applyChat(t *testing.T, f *FSM, index uint64, ops ...*structs.ChatOp) (*ChatApplyResult, error) {
	t.Helper()
	req := &structs.ChatApplyRequest{Ops: ops, Time: time.Date(2026, 12, 5, 10, 0, 0, int(index), time.UTC)}
	switch res := f.Apply(makeLog(t, index, structs.ChatApplyRequestType, req)).(type) {
	case *ChatApplyResult:
		return res, nil
	case error:
		return nil, res
	default:
		t.Fatalf("apply answered %T", res)
		return nil, nil
	}
}

func textMsg(id, role, text string) *structs.ChatMessage {
	return &structs.ChatMessage{ID: id, Role: role, Content: []structs.ChatContent{{Type: "text", Text: text}},
		Timestamp: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)}
}

func codeOf(err error) int {
	var c *structs.CodedError
	if errors.As(err, &c) {
		return c.Code
	}
	return 0
}

// A chat's life through the FSM: the events it publishes, the history it
// keeps for resuming readers, and the refusals that keep a failed
// execution from writing.
func TestFSM_ChatLifecycle(t *testing.T) {
	f := testFSM(t)
	broker := stream.NewEventBroker(context.Background(), stream.BrokerConfig{})
	f.SetEventBroker(broker)
	sub, err := broker.Subscribe(&stream.SubscribeRequest{Topics: map[string][]string{TopicChat: {"c1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	exec := &structs.ChatExecution{ID: "e1", Server: "s1.global", BootID: "boot-1", MessageID: "a1"}
	res, err := applyChat(t, f, 10,
		&structs.ChatOp{Kind: structs.ChatOpCreate, ChatID: "c1", Name: "disks", UserID: "alice", OwnerAccessor: "acc-1"},
		&structs.ChatOp{Kind: structs.ChatOpAddMessage, ChatID: "c1", Message: textMsg("u1", "user", "disks?")},
		&structs.ChatOp{Kind: structs.ChatOpStartExecution, ChatID: "c1", Execution: exec},
		&structs.ChatOp{Kind: structs.ChatOpAddMessage, ChatID: "c1", ExecutionID: "e1", Message: textMsg("a1", "assistant", "")})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Chat; c.Name != "disks" || c.Category != "assistant" || c.CreateIndex != 10 || len(c.Messages) != 2 ||
		c.Execution.State != structs.ExecutionRunning || c.Execution.BootID != "boot-1" || len(c.Events) != 3 {
		t.Fatalf("chat after start: %+v", c)
	}
	// A second execution while one runs is refused, and so is a second
	// chat with the same ID.
	if _, err := applyChat(t, f, 11, &structs.ChatOp{Kind: structs.ChatOpStartExecution, ChatID: "c1",
		Execution: &structs.ChatExecution{ID: "e2"}}); codeOf(err) != http.StatusConflict {
		t.Fatalf("second execution: %v", err)
	}
	if _, err := applyChat(t, f, 11, &structs.ChatOp{Kind: structs.ChatOpCreate, ChatID: "c1"}); codeOf(err) != http.StatusConflict {
		t.Fatalf("second create: %v", err)
	}
	// Updates supersede each other in the history, not in the stream.
	for i, text := range []string{"Two", "Two disks"} {
		if _, err := applyChat(t, f, uint64(12+i), &structs.ChatOp{Kind: structs.ChatOpUpdateMessage, ChatID: "c1", ExecutionID: "e1",
			Message: textMsg("a1", "assistant", text)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := applyChat(t, f, 14, &structs.ChatOp{Kind: structs.ChatOpToolRequest, ChatID: "c1", ExecutionID: "e1",
		ToolRequest: &structs.ChatToolRequest{ID: "t1", Tool: "disable_pipeline", Arguments: json.RawMessage(`{"id":"2"}`)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := applyChat(t, f, 15, &structs.ChatOp{Kind: structs.ChatOpEndExecution, ChatID: "c1", ExecutionID: "e1",
		Failed: true, Error: "server s1 stopped"}); err != nil {
		t.Fatal(err)
	}
	// The ended execution can no longer write: a zombie's late update is
	// refused and changes nothing.
	if _, err := applyChat(t, f, 16, &structs.ChatOp{Kind: structs.ChatOpUpdateMessage, ChatID: "c1", ExecutionID: "e1",
		Message: textMsg("a1", "assistant", "late")}); codeOf(err) != http.StatusConflict {
		t.Fatalf("late update: %v", err)
	}
	c, _ := f.State().ChatByID(nil, "c1")
	var hist []string
	for _, e := range c.Events {
		hist = append(hist, e.Type)
	}
	want := []string{"MESSAGE_CREATED", "AGENT_EXECUTION_STARTED", "MESSAGE_CREATED", "MESSAGE_UPDATED", "REMOTE_TOOL_REQUEST", "AGENT_EXECUTION_FAILED"}
	if !reflect.DeepEqual(hist, want) || c.Events[3].Index != 13 || c.Messages[1].Text() != "Two disks" {
		t.Fatalf("history %v (update at %d, text %q), want %v", hist, c.Events[3].Index, c.Messages[1].Text(), want)
	}
	if c.Execution.State != structs.ExecutionFailed || c.Execution.Error != "server s1 stopped" {
		t.Fatalf("execution %+v", c.Execution)
	}
	// The stream had every event, both updates included, in order.
	var streamed []string
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for len(streamed) < 7 {
		batch, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", streamed, err)
		}
		for _, e := range batch.Events {
			streamed = append(streamed, e.Type)
		}
	}
	want = []string{"MESSAGE_CREATED", "AGENT_EXECUTION_STARTED", "MESSAGE_CREATED", "MESSAGE_UPDATED", "MESSAGE_UPDATED", "REMOTE_TOOL_REQUEST", "AGENT_EXECUTION_FAILED"}
	if !reflect.DeepEqual(streamed, want) {
		t.Fatalf("streamed %v, want %v", streamed, want)
	}

	// A proposed change resolves pending → approved → its outcome, once.
	resolve := func(index uint64, state, result string) error {
		_, err := applyChat(t, f, index, &structs.ChatOp{Kind: structs.ChatOpToolResolve, ChatID: "c1",
			ToolRequest: &structs.ChatToolRequest{ID: "t1", State: state, Result: result}})
		return err
	}
	if err := resolve(17, structs.ToolRequestApproved, ""); err != nil {
		t.Fatal(err)
	}
	if err := resolve(18, structs.ToolRequestRejected, ""); codeOf(err) != http.StatusConflict {
		t.Fatalf("reject after approve: %v", err)
	}
	if err := resolve(19, structs.ToolRequestApproved, "ok"); err != nil {
		t.Fatal(err)
	}
	if err := resolve(20, structs.ToolRequestFailed, "again"); codeOf(err) != http.StatusConflict {
		t.Fatalf("second outcome: %v", err)
	}

	// A refused op refuses the whole request.
	if _, err := applyChat(t, f, 21,
		&structs.ChatOp{Kind: structs.ChatOpAddMessage, ChatID: "c1", Message: textMsg("u2", "user", "more")},
		&structs.ChatOp{Kind: structs.ChatOpAddMessage, ChatID: "nope", Message: textMsg("u3", "user", "x")}); codeOf(err) != http.StatusNotFound {
		t.Fatalf("partial request: %v", err)
	}
	if c, _ := f.State().ChatByID(nil, "c1"); len(c.Messages) != 2 {
		t.Fatalf("a refused request wrote %d messages", len(c.Messages))
	}

	// Snapshot and restore keep the chat exactly, running index included.
	f2 := testSnapshotRestore(t, f)
	c, _ = f.State().ChatByID(nil, "c1")
	got, _ := f2.State().ChatByID(nil, "c1")
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("restored %+v\nwant %+v", got, c)
	}

	// Delete ends streams and forgets the chat; unknown IDs are ignored.
	if _, err := applyChat(t, f, 22, &structs.ChatOp{Kind: structs.ChatOpDelete, ChatIDs: []string{"c1", "gone"}}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.State().ChatByID(nil, "c1"); c != nil {
		t.Fatal("deleted chat still there")
	}
}

func TestFSM_RunningChats(t *testing.T) {
	f := testFSM(t)
	for i, id := range []string{"a", "b"} {
		if _, err := applyChat(t, f, uint64(10+i), &structs.ChatOp{Kind: structs.ChatOpCreate, ChatID: id},
			&structs.ChatOp{Kind: structs.ChatOpStartExecution, ChatID: id, Execution: &structs.ChatExecution{ID: "e-" + id}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := applyChat(t, f, 12, &structs.ChatOp{Kind: structs.ChatOpEndExecution, ChatID: "a", ExecutionID: "e-a"}); err != nil {
		t.Fatal(err)
	}
	running, err := f.State().RunningChats()
	if err != nil || len(running) != 1 || running[0].ID != "b" {
		t.Fatalf("running %v %v", running, err)
	}
}

// A token keeps at most MaxChatsPerOwner chats: a new one replaces its
// least recently changed, and another token's chats are not counted.
func TestFSM_ChatsPerOwnerBounded(t *testing.T) {
	f := testFSM(t)
	index := uint64(10)
	create := func(id, owner string) error {
		index++
		_, err := applyChat(t, f, index, &structs.ChatOp{Kind: structs.ChatOpCreate, ChatID: id, OwnerAccessor: owner})
		return err
	}
	for i := range structs.MaxChatsPerOwner {
		if err := create(fmt.Sprintf("a-%04d", i), "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if err := create("b-0", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := create("a-new", "alice"); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.State().ChatByID(nil, "a-0000"); c != nil {
		t.Fatal("the oldest chat was kept")
	}
	for _, id := range []string{"a-0001", "a-new", "b-0"} {
		if c, _ := f.State().ChatByID(nil, id); c == nil {
			t.Fatalf("chat %s is gone", id)
		}
	}
	chats, _ := f.State().Chats(nil)
	if len(chats) != structs.MaxChatsPerOwner+1 {
		t.Fatalf("%d chats", len(chats))
	}
}
