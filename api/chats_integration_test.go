package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/api"
)

// followAnswer reads a chat's stream from after lastID until an execution
// ends, and returns the events.
func followAnswer(t *testing.T, c *api.Client, chatID, lastID string) []*api.ChatEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events, streamErr, err := c.Assistant().Stream(ctx, chatID, lastID, nil)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	var out []*api.ChatEvent
	for ev := range events {
		out = append(out, ev)
		if ev.Type == api.ChatEventExecutionCompleted || ev.Type == api.ChatEventExecutionFailed {
			cancel()
		}
	}
	if err := streamErr(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(out) == 0 || out[len(out)-1].Type != api.ChatEventExecutionCompleted {
		t.Fatalf("stream ended without completing: %d events", len(out))
	}
	return out
}

func TestIntegration_Assistant(t *testing.T) {
	a := agent.TestAgent(t, nil)
	agent.WaitForAgentLeader(t, a)
	c := newClient(t, a)
	pl, _, err := c.Pipelines().Create(&api.Pipeline{Name: "prod-logs", Contents: `prometheus.exporter.self "a" { }`,
		Matchers: []string{`env="prod"`}}, false, nil)
	if err != nil {
		t.Fatal(err)
	}

	id, _, err := c.Assistant().Ask("disable pipeline prod-logs", "", nil)
	if err != nil {
		t.Fatalf("Ask: %v", err)
	}
	events := followAnswer(t, c, id, "")
	var req *api.ChatToolRequest
	for _, ev := range events {
		if ev.ID == "" {
			t.Fatalf("event without id: %+v", ev)
		}
		if ev.Type == api.ChatEventRemoteToolRequest {
			if req, err = ev.ToolRequest(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if req == nil || req.Tool != "disable_pipeline" || req.State != "pending" {
		t.Fatalf("no pending proposal in %d events: %+v", len(events), req)
	}
	// Proposed, not run.
	if got, _, _ := c.Pipelines().Get(pl.ID, nil); got.Enabled != nil && !*got.Enabled {
		t.Fatal("the assistant disabled the pipeline itself")
	}
	done, _, err := c.Assistant().Confirm(id, req.ID, true, nil)
	if err != nil || done.State != "approved" {
		t.Fatalf("Confirm: %+v %v", done, err)
	}
	if got, _, _ := c.Pipelines().Get(pl.ID, nil); got.Enabled == nil || *got.Enabled {
		t.Fatalf("confirmed, but the pipeline is %+v", got)
	}
	if _, _, err := c.Assistant().Confirm(id, req.ID, true, nil); err == nil {
		t.Fatal("a second confirmation ran")
	} else {
		wantUnexpected(t, "second Confirm", err, 409, "approved already")
	}

	// Continuing the chat, and resuming its stream after the first answer.
	if _, _, err := c.Assistant().Ask("is the cluster healthy?", id, nil); err != nil {
		t.Fatalf("Ask again: %v", err)
	}
	more := followAnswer(t, c, id, events[len(events)-1].ID)
	if more[0].Type != api.ChatEventMessageCreated {
		t.Fatalf("resumed stream starts with %s", more[0].Type)
	}
	chat, _, err := c.Assistant().Chat(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The prompt, the proposal, the confirmation's outcome, the second
	// prompt and its answer.
	if len(chat.Messages) != 5 || chat.Messages[2].Text() == "" || chat.Execution.State != "completed" {
		t.Fatalf("chat: %d messages, execution %+v", len(chat.Messages), chat.Execution)
	}
	chats, _, err := c.Assistant().Chats(nil)
	if err != nil || len(chats) != 1 || chats[0].ID != id || chats[0].Messages != nil {
		t.Fatalf("Chats: %+v %v", chats, err)
	}
	_, _, err = c.Assistant().Chat("nope", nil)
	wantUnexpected(t, "Chat(nope)", err, 404, "Chat not found")
	_, _, err = c.Assistant().Ask("", "", nil)
	wantUnexpected(t, "Ask without a prompt", err, 400, "prompt is required")
}
