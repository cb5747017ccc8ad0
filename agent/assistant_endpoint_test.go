package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/assistant"
	"github.com/nomadlike/nomadlike/structs"
)

// scriptedEngine answers with fixed chunks, optionally proposes a change,
// and fails when told to; release (if set) holds it until the test lets
// it finish.
type scriptedEngine struct {
	chunks  []string
	propose bool
	fail    error
	release chan struct{}
}

func (e *scriptedEngine) Answer(ctx context.Context, turn assistant.Turn, out assistant.Output) error {
	for _, c := range e.chunks {
		out.Text(c)
	}
	if e.propose {
		out.Propose(assistant.ToolCall{Name: "disable_pipeline", Arguments: json.RawMessage(`{"id":"1"}`)})
	}
	if e.release != nil {
		select {
		case <-e.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return e.fail
}

func assistantAgent(t *testing.T, engine assistant.Engine, cb func(*Config)) *Agent {
	a := TestAgent(t, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.serverHook = func(sc *nomadlike.Config) {
			nomadlike.ApplyTestTimings(sc)
			sc.AssistantEngine = engine
		}
		if cb != nil {
			cb(c)
		}
	})
	WaitForAgentLeader(t, a)
	return a
}

// sseEvent is one event read from a chat stream.
type sseEvent struct {
	ID   string
	Type string
	Data json.RawMessage
}

// readChatEvents reads a chat's stream from after lastID until stop says
// so or ctx ends.
func readChatEvents(t *testing.T, ctx context.Context, url, token, lastID string, stop func(sseEvent) bool) []sseEvent {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out []sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var cur sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			var d struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				t.Fatalf("bad event data %q: %v", line, err)
			}
			cur.Type, cur.Data = d.Type, d.Data
		case line == "" && cur.Type != "":
			out = append(out, cur)
			if stop(cur) {
				return out
			}
			cur = sseEvent{}
		}
	}
	t.Fatalf("stream ended after %d events: %v", len(out), sc.Err())
	return nil
}

func ask(t *testing.T, a *Agent, token, prompt, chatID string) string {
	t.Helper()
	body := map[string]string{"prompt": prompt}
	if chatID != "" {
		body["chatId"] = chatID
	}
	code, raw := do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", token, body)
	var out struct {
		Status string `json:"status"`
		Data   struct {
			ChatID string `json:"chatId"`
		} `json:"data"`
	}
	if code != 200 || json.Unmarshal(raw, &out) != nil || out.Status != "success" || out.Data.ChatID == "" {
		t.Fatalf("ask: %d %s", code, raw)
	}
	return out.Data.ChatID
}

func ended(e sseEvent) bool {
	return e.Type == structs.ChatEventExecutionCompleted || e.Type == structs.ChatEventExecutionFailed
}

func TestAssistant_AskStreamAndResume(t *testing.T) {
	a := assistantAgent(t, &scriptedEngine{chunks: []string{"Hello", ", ", "world"}, propose: true}, nil)
	id := ask(t, a, "", "how are things?", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := readChatEvents(t, ctx, a.URL()+"/api/events/chats/"+id, "", "", ended)

	var types []string
	for _, e := range events {
		if len(types) == 0 || types[len(types)-1] != e.Type {
			types = append(types, e.Type)
		}
	}
	got := strings.Join(types, " ")
	// Updates may be coalesced, but the order of kinds is fixed.
	if !strings.HasPrefix(got, "MESSAGE_CREATED AGENT_EXECUTION_STARTED MESSAGE_CREATED MESSAGE_UPDATED") ||
		!strings.Contains(got, "REMOTE_TOOL_REQUEST") || !strings.HasSuffix(got, "AGENT_EXECUTION_COMPLETED") {
		t.Fatalf("event order: %s", got)
	}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.ID] || e.ID == "" {
			t.Fatalf("event id %q repeated or empty in %+v", e.ID, events)
		}
		seen[e.ID] = true
	}

	// The chat as spec 002 shows it.
	code, raw := do(t, http.MethodGet, a.URL()+"/api/plugins/grafana-assistant-app/resources/api/v1/chats/"+id, "", nil)
	var chat struct {
		ID, Name, UserID, Category string
		Created, Modified          time.Time
		Messages                   []structs.ChatMessage
	}
	if code != 200 || json.Unmarshal(raw, &chat) != nil {
		t.Fatalf("chat: %d %s", code, raw)
	}
	if chat.ID != id || chat.Category != "assistant" || chat.UserID != "anonymous" || chat.Name != "how are things?" ||
		len(chat.Messages) != 2 || chat.Messages[0].Role != "user" || chat.Messages[1].Role != "assistant" ||
		chat.Messages[1].Text() != "Hello, world" || chat.Created.IsZero() {
		t.Fatalf("chat: %s", raw)
	}

	// Resuming after the second event gives exactly the rest, in order.
	rest := readChatEvents(t, ctx, a.URL()+"/api/events/chats/"+id, "", events[1].ID, ended)
	var want []string
	for _, e := range events[2:] {
		if e.Type != structs.ChatEventMessageUpdated {
			want = append(want, e.ID+" "+e.Type)
		}
	}
	var gotRest []string
	last := ""
	for _, e := range rest {
		if e.Type == structs.ChatEventMessageUpdated {
			last = string(e.Data)
			continue
		}
		gotRest = append(gotRest, e.ID+" "+e.Type)
	}
	if strings.Join(gotRest, ",") != strings.Join(want, ",") {
		t.Fatalf("resumed: %v, want %v", gotRest, want)
	}
	var final structs.ChatMessage
	if json.Unmarshal([]byte(last), &final) != nil || final.Text() != "Hello, world" {
		t.Fatalf("resumed update carries %s", last)
	}

	// The proposed change is in the chat, pending; nothing ran it.
	code, raw = do(t, http.MethodGet, a.URL()+"/api/v1/chats/"+id, "", nil)
	if code != 200 || !strings.Contains(string(raw), `"state":"pending"`) || !strings.Contains(string(raw), `"tool":"disable_pipeline"`) {
		t.Fatalf("tool request: %d %s", code, raw)
	}
}

func TestAssistant_ExecutionFailsAndOneAtATime(t *testing.T) {
	release := make(chan struct{})
	a := assistantAgent(t, &scriptedEngine{chunks: []string{"partial"}, fail: errors.New("backend down"), release: release}, nil)
	id := ask(t, a, "", "first", "")
	// A second prompt while the first is answered is refused.
	code, raw := do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", "", map[string]string{"prompt": "second", "chatId": id})
	if code != http.StatusConflict || !strings.Contains(string(raw), `"status":"error"`) {
		t.Fatalf("second prompt: %d %s", code, raw)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := readChatEvents(t, ctx, a.URL()+"/api/events/chats/"+id, "", "", ended)
	last := events[len(events)-1]
	if last.Type != structs.ChatEventExecutionFailed || !strings.Contains(string(last.Data), "backend down") {
		t.Fatalf("last event %s %s", last.Type, last.Data)
	}
}

func TestAssistant_Errors(t *testing.T) {
	a := assistantAgent(t, &scriptedEngine{chunks: []string{"ok"}}, nil)
	errBody := func(code int, raw []byte, wantCode int, wantMsg string) {
		t.Helper()
		var e struct{ Status, Message string }
		if code != wantCode || json.Unmarshal(raw, &e) != nil || e.Status != "error" || !strings.Contains(e.Message, wantMsg) {
			t.Fatalf("got %d %s, want %d %q", code, raw, wantCode, wantMsg)
		}
	}
	code, raw := do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", "", map[string]string{})
	errBody(code, raw, 400, "prompt is required")
	code, raw = do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", "", "not an object")
	errBody(code, raw, 400, "decode")
	code, raw = do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", "", map[string]string{"prompt": strings.Repeat("x", structs.MaxChatPromptBytes+1)})
	errBody(code, raw, 400, "prompt")
	code, raw = do(t, http.MethodGet, a.URL()+"/api/v1/chats/nope", "", nil)
	errBody(code, raw, 404, "Chat not found")
	code, raw = do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", "", map[string]string{"prompt": "hi", "chatId": "nope"})
	errBody(code, raw, 404, "Chat not found")
	code, raw = do(t, http.MethodGet, a.URL()+"/api/events/chats/nope", "", nil)
	errBody(code, raw, 404, "Chat not found")
	code, raw = do(t, http.MethodDelete, a.URL()+"/api/v1/chats/nope", "", nil)
	errBody(code, raw, 405, "Method not allowed")

	// Every answer carries the rate-limit headers; an empty bucket is 429.
	for i := 0; ; i++ {
		req, _ := http.NewRequest(http.MethodGet, a.URL()+"/api/v1/chats/nope", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
			if resp.Header.Get(h) == "" {
				t.Fatalf("answer %d has no %s", i, h)
			}
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			if resp.Header.Get("X-RateLimit-Remaining") != "0" {
				t.Fatalf("429 with %s remaining", resp.Header.Get("X-RateLimit-Remaining"))
			}
			break
		}
		if i > defaultAssistantBurst+20 {
			t.Fatalf("no 429 after %d requests", i)
		}
	}
}

func TestAssistant_ACL(t *testing.T) {
	a := assistantAgent(t, &scriptedEngine{chunks: []string{"ok"}}, func(c *Config) { c.ACL.Enabled = ptr(true) })
	mgmt := bootstrap(t, a)
	alice := tokenWith(t, a, mgmt, "alice", `assistant { policy = "write" }`)
	bob := tokenWith(t, a, mgmt, "bob", `assistant { policy = "write" }`)
	reader := tokenWith(t, a, mgmt, "reader", `assistant { policy = "read" }`)

	check := func(code int, raw []byte, want int) {
		t.Helper()
		var e struct{ Status, Message string }
		if code != want || json.Unmarshal(raw, &e) != nil || e.Status != "error" {
			t.Fatalf("got %d %s, want %d", code, raw, want)
		}
	}
	code, raw := do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", "", map[string]string{"prompt": "hi"})
	check(code, raw, 401)
	code, raw = do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", "not-a-token", map[string]string{"prompt": "hi"})
	check(code, raw, 401)
	code, raw = do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", reader.SecretID, map[string]string{"prompt": "hi"})
	check(code, raw, 403)

	id := ask(t, a, alice.SecretID, "mine", "")
	code, raw = do(t, http.MethodGet, a.URL()+"/api/v1/chats/"+id, alice.SecretID, nil)
	if code != 200 || !strings.Contains(string(raw), `"userId":"alice"`) {
		t.Fatalf("owner reads: %d %s", code, raw)
	}
	// Another token's chat does not exist for bob, even to continue it.
	code, raw = do(t, http.MethodGet, a.URL()+"/api/v1/chats/"+id, bob.SecretID, nil)
	check(code, raw, 404)
	code, raw = do(t, http.MethodPost, a.URL()+"/api/v1/assistant/chats", bob.SecretID, map[string]string{"prompt": "hi", "chatId": id})
	check(code, raw, 404)
	code, raw = do(t, http.MethodGet, a.URL()+"/api/events/chats/"+id, bob.SecretID, nil)
	check(code, raw, 404)
	// Management sees every chat.
	code, raw = do(t, http.MethodGet, a.URL()+"/api/v1/chats/"+id, mgmt, nil)
	if code != 200 {
		t.Fatalf("management reads: %d %s", code, raw)
	}
	code, raw = do(t, http.MethodGet, a.URL()+"/api/v1/chats", bob.SecretID, nil)
	if code != 200 || strings.Contains(string(raw), id) {
		t.Fatalf("bob's list: %d %s", code, raw)
	}
}

// A handler that panics answers spec 002's 500, and the agent serves on.
func TestAssistant_PanicIs500(t *testing.T) {
	a := assistantAgent(t, &scriptedEngine{}, nil)
	a.http.handle("/api/v1/assistant/test-panic", familyAssistant, func(http.ResponseWriter, *http.Request) (any, error) {
		panic("boom")
	}, needs{"GET": none})
	code, raw := do(t, http.MethodGet, a.URL()+"/api/v1/assistant/test-panic", "", nil)
	var e struct{ Status, Message string }
	if code != 500 || json.Unmarshal(raw, &e) != nil || e.Status != "error" || e.Message == "" {
		t.Fatalf("got %d %s", code, raw)
	}
	if code, _ := do(t, http.MethodGet, a.URL()+"/api/v1/chats", "", nil); code != 200 {
		t.Fatalf("after the panic: %d", code)
	}
}

// assistant { provider "openai" {} } from a file: its label survives the
// merge over the defaults, and a bad block is refused by name.
func TestAssistantConfig_FromFile(t *testing.T) {
	t.Setenv("NOMADLIKE_TEST_KEY", "sk-1")
	dir := t.TempDir()
	path := dir + "/assistant.hcl"
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`assistant {
  chat_retention = "48h"
  provider "openai" {
    base_url    = "http://127.0.0.1:8080/v1"
    model       = "llama"
    api_key_env = "NOMADLIKE_TEST_KEY"
  }
}`)
	file, err := LoadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := DevConfig()
	c.Merge(file)
	if err := c.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if p := c.Assistant.Provider; p == nil || p.Type != "openai" || *p.Model != "llama" || *c.Assistant.ChatRetention != "48h" {
		t.Fatalf("merged %+v", c.Assistant)
	}
	block := func(inner string) string { return "assistant {\n  provider \"openai\" {\n" + inner + "\n  }\n}\n" }
	for body, want := range map[string]string{
		strings.Replace(block(`base_url = "http://x/v1"
model = "m"`), `"openai"`, `"claude"`, 1): `unknown provider`,
		block(`model = "m"`): `base_url is required`,
		block(`base_url = "ftp://x"
model = "m"`): `must be an http or https URL`,
		block(`base_url = "http://x/v1"`): `model is required`,
		block(`base_url = "http://x/v1"
model = "m"
api_key_env = "NOMADLIKE_TEST_UNSET_KEY"`): `NOMADLIKE_TEST_UNSET_KEY, which is not set`,
		"assistant {\n  chat_retention = \"soon\"\n}\n": `assistant.chat_retention`,
	} {
		write(body)
		file, err := LoadConfigFile(path)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		c := DevConfig()
		c.Merge(file)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
