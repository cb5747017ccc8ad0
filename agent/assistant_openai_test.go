package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// fakeOpenAI is an OpenAI-compatible chat-completions endpoint: the first
// request of a turn gets a streamed call of list_nodes; the request that
// carries the tool's result gets a streamed answer quoting it, whose
// second half waits until the test has seen the first half on the chat's
// event stream.
type fakeOpenAI struct {
	mu          sync.Mutex
	toolResults []string
	auth        []string
	halfSeen    chan struct{}
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" {
		http.NotFound(w, r)
		return
	}
	var req struct {
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var result string
	for _, m := range req.Messages {
		if m.Role == "tool" {
			b, _ := json.Marshal(m.Content)
			result = string(b)
		}
	}
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(delta string, finish string) {
		fin := "null"
		if finish != "" {
			fin = fmt.Sprintf("%q", finish)
		}
		fmt.Fprintf(w, "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}\n\n", delta, fin)
		w.(http.Flusher).Flush()
	}
	if result == "" {
		chunk(`{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"list_nodes","arguments":""}}]}`, "")
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}`, "")
		chunk(`{}`, "tool_calls")
		fmt.Fprint(w, "data: [DONE]\n\n")
		return
	}
	f.mu.Lock()
	f.toolResults = append(f.toolResults, result)
	halfSeen := f.halfSeen
	f.mu.Unlock()
	verdict := "I cannot see the nodes."
	if strings.Contains(result, "web-1") {
		verdict = "One node: web-1."
	}
	chunk(`{"role":"assistant","content":"Checked the nodes. "}`, "")
	select {
	case <-halfSeen:
	case <-r.Context().Done():
		return
	}
	chunk(fmt.Sprintf(`{"content":%q}`, verdict), "")
	chunk(`{}`, "stop")
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// The OpenAI-compatible path, end to end: the model's tool call runs with
// the caller's token, and the streamed answer reaches the chat's event
// stream as MESSAGE_UPDATED events while it is written.
func TestAssistant_OpenAIProviderUsesCallersToken(t *testing.T) {
	fake := &fakeOpenAI{}
	llm := httptest.NewServer(fake)
	defer llm.Close()
	t.Setenv("NOMADLIKE_TEST_LLM_KEY", "sk-test-123")
	a := TestAgent(t, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.ACL.Enabled = ptr(true)
		c.Assistant.Provider = &AssistantProviderConfig{Type: "openai", BaseURL: ptr(llm.URL + "/v1"),
			Model: ptr("test-model"), APIKeyEnv: ptr("NOMADLIKE_TEST_LLM_KEY")}
	})
	WaitForAgentLeader(t, a)
	mgmt := bootstrap(t, a)
	if code, body := do(t, http.MethodPost, a.URL()+"/v1/node/token", mgmt, map[string]string{"Name": "web-1"}); code != 200 {
		t.Fatalf("node token: %d %s", code, body)
	}
	ops := tokenWith(t, a, mgmt, "ops", "assistant { policy = \"write\" }\nnode { policy = \"read\" }")
	blind := tokenWith(t, a, mgmt, "blind", `assistant { policy = "write" }`)

	for _, tc := range []struct {
		secret, want string
	}{{ops.SecretID, "One node: web-1."}, {blind.SecretID, "I cannot see the nodes."}} {
		halfSeen := make(chan struct{})
		fake.mu.Lock()
		fake.halfSeen = halfSeen
		fake.mu.Unlock()
		id := ask(t, a, tc.secret, "what nodes do we have?", "")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var updates []string
		once := sync.Once{}
		events := readChatEvents(t, ctx, a.URL()+"/api/events/chats/"+id, tc.secret, "", func(e sseEvent) bool {
			if e.Type == structs.ChatEventMessageUpdated {
				var m structs.ChatMessage
				json.Unmarshal(e.Data, &m)
				updates = append(updates, m.Text())
				if m.Text() == "Checked the nodes. " {
					once.Do(func() { close(halfSeen) })
				}
			}
			return ended(e)
		})
		cancel()
		if last := events[len(events)-1]; last.Type != structs.ChatEventExecutionCompleted {
			t.Fatalf("ended with %s %s", last.Type, last.Data)
		}
		if len(updates) < 2 || updates[0] != "Checked the nodes. " || updates[len(updates)-1] != "Checked the nodes. "+tc.want {
			t.Fatalf("updates %q", updates)
		}
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.toolResults) != 2 || !strings.Contains(fake.toolResults[0], "web-1") ||
		strings.Contains(fake.toolResults[1], "web-1") || !strings.Contains(fake.toolResults[1], "node:read") {
		t.Fatalf("tool results the model saw: %q", fake.toolResults)
	}
	for _, h := range fake.auth {
		if h != "Bearer sk-test-123" {
			t.Fatalf("the backend got Authorization %q", h)
		}
	}
}
