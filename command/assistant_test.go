package command

import (
	"strings"
	"testing"
)

const testChat = `{"id":"c1","name":"which nodes are down?","created":"2026-12-05T10:00:00Z","modified":"2026-12-05T10:00:01Z",
"userId":"alice","category":"assistant","messages":[
{"id":"m1","role":"user","content":[{"type":"text","text":"which nodes are down?"}],"timestamp":"2026-12-05T10:00:00Z"},
{"id":"m2","role":"assistant","content":[{"type":"text","text":"**1 of 2 nodes are down:**\n- web-2\n"}],"timestamp":"2026-12-05T10:00:00Z"}],
"execution":{"id":"e1","server":"s1.global","state":"completed","messageId":"m2","started":"2026-12-05T10:00:00Z"},
"toolRequests":[{"id":"t1","executionId":"e1","tool":"disable_pipeline","arguments":{"id":"3"},"description":"Disable pipeline 3","state":"pending","created":"2026-12-05T10:00:00Z"}]}`

// testStream is a chat's SSE stream: an earlier execution (ignored), then
// this question's, whose answer grows in two updates.
const testStream = "retry: 500\n\n" +
	`id: 5` + "\ndata: " + `{"type":"AGENT_EXECUTION_STARTED","data":{"chatId":"c1","executionId":"e0","messageId":"m0","state":"running"}}` + "\n\n" +
	`id: 6` + "\ndata: " + `{"type":"MESSAGE_UPDATED","data":{"id":"m0","role":"assistant","content":[{"type":"text","text":"old answer\n"}]}}` + "\n\n" +
	`id: 9-1` + "\ndata: " + `{"type":"MESSAGE_CREATED","data":{"id":"m1","role":"user","content":[{"type":"text","text":"which nodes are down?"}]}}` + "\n\n" +
	`id: 9-2` + "\ndata: " + `{"type":"AGENT_EXECUTION_STARTED","data":{"chatId":"c1","executionId":"e1","messageId":"m2","state":"running"}}` + "\n\n" +
	`id: 9` + "\ndata: " + `{"type":"MESSAGE_CREATED","data":{"id":"m2","role":"assistant","content":[]}}` + "\n\n" +
	`id: 10` + "\ndata: " + `{"type":"MESSAGE_UPDATED","data":{"id":"m2","role":"assistant","content":[{"type":"text","text":"**1 of 2 nodes are down:**\n- we"}]}}` + "\n\n" +
	": keep-alive\n\n" +
	`id: 11` + "\ndata: " + `{"type":"REMOTE_TOOL_REQUEST","data":{"chatId":"c1","request":{"id":"t1","tool":"disable_pipeline","description":"Disable pipeline 3","state":"pending"}}}` + "\n\n" +
	`id: 12` + "\ndata: " + `{"type":"MESSAGE_UPDATED","data":{"id":"m2","role":"assistant","content":[{"type":"text","text":"**1 of 2 nodes are down:**\n- web-2\n"}]}}` + "\n\n" +
	`id: 13` + "\ndata: " + `{"type":"AGENT_EXECUTION_COMPLETED","data":{"chatId":"c1","executionId":"e1","messageId":"m2","state":"completed"}}` + "\n\n"

func TestAssistantAsk_StreamsTheAnswer(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"POST /api/v1/assistant/chats": {200, `{"status":"success","data":{"chatId":"c1"}}`},
		"GET /api/v1/chats/c1":         {200, testChat},
		"GET /api/events/chats/c1":     {200, testStream},
	})
	r := runCommand(t, f, "assistant ask", "-chat", "c1", "which", "nodes", "are", "down?")
	mustSucceed(t, r)
	want := "Chat c1\n\n**1 of 2 nodes are down:**\n\nProposed change: Disable pipeline 3\n" +
		"Run it with:  nomadlike assistant confirm c1 t1\nReject it:    nomadlike assistant confirm -reject c1 t1\n\n- web-2\n"
	if r.stdout != want {
		t.Fatalf("stdout:\n%q\nwant\n%q", r.stdout, want)
	}
	if body := f.find(t, "POST", "/api/v1/assistant/chats").body; body != `{"chatId":"c1","prompt":"which nodes are down?"}` {
		t.Fatalf("body %s", body)
	}
}

func TestAssistantAsk_Failed(t *testing.T) {
	stream := strings.Replace(testStream, `"AGENT_EXECUTION_COMPLETED","data":{"chatId":"c1","executionId":"e1","messageId":"m2","state":"completed"}`,
		`"AGENT_EXECUTION_FAILED","data":{"chatId":"c1","executionId":"e1","messageId":"m2","state":"failed","error":"server s1 stopped"}`, 1)
	f := newFakeAgent(t, map[string]reply{
		"POST /api/v1/assistant/chats": {200, `{"status":"success","data":{"chatId":"c1"}}`},
		"GET /api/v1/chats/c1":         {200, testChat},
		"GET /api/events/chats/c1":     {200, stream},
	})
	r := runCommand(t, f, "assistant ask", "which nodes are down?")
	if r.code != 1 || !strings.Contains(r.stderr, "the assistant failed: server s1 stopped") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestAssistantCommands(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"POST /api/v1/assistant/chats":             {200, `{"status":"success","data":{"chatId":"c1"}}`},
		"GET /api/v1/chats":                        {200, `{"status":"success","data":{"chats":[` + strings.Replace(testChat, `"messages":[`, `"x":[`, 1) + `]}}`},
		"GET /api/v1/chats/c1":                     {200, testChat},
		"GET /api/v1/chats/nope":                   {404, `{"status":"error","message":"Chat not found"}`},
		"POST /api/v1/chats/c1/tool-requests/t1":   {200, `{"status":"success","data":{"id":"t1","tool":"disable_pipeline","description":"Disable pipeline 3","state":"approved","result":"ok"}}`},
		"POST /api/v1/chats/c1/tool-requests/gone": {409, `{"status":"error","message":"tool request gone is approved already"}`},
	})
	r := runCommand(t, f, "assistant ask", "-detach", "hello")
	mustSucceed(t, r)
	if r.stdout != "c1\n" {
		t.Fatalf("detach: %q", r.stdout)
	}
	r = runCommand(t, f, "assistant chats")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "c1") || !strings.Contains(r.stdout, "which nodes are down?") || !strings.Contains(r.stdout, "completed") {
		t.Fatalf("chats: %s", r.stdout)
	}
	r = runCommand(t, f, "assistant show", "c1")
	mustSucceed(t, r)
	for _, want := range []string{"User    = alice", "user:\nwhich nodes are down?", "assistant:\n**1 of 2 nodes are down:**\n- web-2", "t1  pending  Disable pipeline 3"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	mustFail(t, runCommand(t, f, "assistant show", "nope"), "Chat not found")
	r = runCommand(t, f, "assistant confirm", "c1", "t1")
	mustSucceed(t, r)
	if r.stdout != "Done: Disable pipeline 3\n" || f.find(t, "POST", "/api/v1/chats/c1/tool-requests/t1").body != `{"approve":true}` {
		t.Fatalf("confirm: %q", r.stdout)
	}
	mustFail(t, runCommand(t, f, "assistant confirm", "c1", "gone"), "approved already")
	mustFail(t, runCommand(t, f, "assistant ask"), "Missing the question")
	mustFail(t, runCommand(t, f, "assistant confirm", "c1"), "two arguments")
}
