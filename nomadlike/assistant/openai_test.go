package assistant_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/assistant"
	"github.com/nomadlike/nomadlike/structs"
)

const oaiTestKey = "sk-test-secret-key-0123456789"

// oaiRequest is one request the fake backend received.
type oaiRequest struct {
	Method, Path, Auth string
	Body               map[string]any
}

// oaiFake is an OpenAI-compatible chat-completions server: respond writes
// the answer to the n-th request (0-based).
type oaiFake struct {
	t       *testing.T
	srv     *httptest.Server
	respond func(n int, w http.ResponseWriter, r *http.Request)

	mu   sync.Mutex
	reqs []oaiRequest
}

func newOAIFake(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *oaiFake {
	t.Helper()
	f := &oaiFake{t: t, respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *oaiFake) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake: read body: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		f.t.Errorf("fake: request body is not JSON: %v: %s", err, raw)
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, oaiRequest{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), Body: body})
	f.mu.Unlock()
	f.respond(n, w, r)
}

func (f *oaiFake) requests() []oaiRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]oaiRequest(nil), f.reqs...)
}

func (f *oaiFake) baseURL() string { return f.srv.URL + "/v1" }

// oaiSSE writes chunks exactly as OpenAI streams them, then [DONE].
func oaiSSE(w http.ResponseWriter, chunks ...map[string]any) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	for _, c := range chunks {
		b, _ := json.Marshal(c)
		fmt.Fprintf(w, "data: %s\n\n", b)
		fl.Flush()
	}
	io.WriteString(w, "data: [DONE]\n\n")
	fl.Flush()
}

// oaiChunk is one chat.completion.chunk with choices[0].delta = delta.
func oaiChunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id":                 "chatcmpl-test1",
		"object":             "chat.completion.chunk",
		"created":            1700000000,
		"model":              "test-model",
		"system_fingerprint": nil,
		"choices": []any{map[string]any{
			"index":         0,
			"delta":         delta,
			"logprobs":      nil,
			"finish_reason": finish,
		}},
	}
}

func oaiRoleChunk() map[string]any {
	return oaiChunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil)
}

func oaiText(s string) map[string]any { return oaiChunk(map[string]any{"content": s}, nil) }

func oaiStop(reason string) map[string]any { return oaiChunk(map[string]any{}, reason) }

// oaiToolStart opens tool call index with its id and name (OpenAI's first
// fragment: empty arguments).
func oaiToolStart(index int, id, name string) map[string]any {
	return oaiChunk(map[string]any{
		"role": "assistant", "content": nil, "refusal": nil,
		"tool_calls": []any{map[string]any{
			"index": index, "id": id, "type": "function",
			"function": map[string]any{"name": name, "arguments": ""},
		}},
	}, nil)
}

// oaiToolArgs continues tool call index with an arguments fragment.
func oaiToolArgs(index int, frag string) map[string]any {
	return oaiChunk(map[string]any{
		"tool_calls": []any{map[string]any{
			"index": index, "function": map[string]any{"arguments": frag},
		}},
	}, nil)
}

// oaiTextAnswer streams text as several deltas.
func oaiTextAnswer(w http.ResponseWriter, deltas ...string) {
	chunks := []map[string]any{oaiRoleChunk()}
	for _, d := range deltas {
		chunks = append(chunks, oaiText(d))
	}
	chunks = append(chunks, oaiStop("stop"))
	oaiSSE(w, chunks...)
}

// oaiTools is a fake Tools: job_status and node_list read, job_stop mutates.
type oaiTools struct {
	mu    sync.Mutex
	calls []assistant.ToolCall
	runs  []assistant.ToolCall
}

func (f *oaiTools) List() []assistant.Tool {
	return []assistant.Tool{
		{
			Name:        "job_status",
			Description: "Status of a job.",
			Parameters: map[string]any{
				"type":       "object",
				"properties": map[string]any{"job_id": map[string]any{"type": "string"}},
				"required":   []any{"job_id"},
			},
		},
		{Name: "node_list", Description: "List nodes."},
		{
			Name:        "job_stop",
			Description: "Stop a job.",
			Parameters: map[string]any{
				"type":       "object",
				"properties": map[string]any{"job_id": map[string]any{"type": "string"}},
			},
			Mutating: true,
		},
	}
}

func (f *oaiTools) Call(ctx context.Context, call assistant.ToolCall) (json.RawMessage, error) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	switch call.Name {
	case "job_status":
		return json.RawMessage(`{"ID":"web","Status":"running"}`), nil
	case "node_list":
		return nil, errors.New("Permission denied: token lacks node:read")
	case "job_stop":
		return nil, assistant.ErrNeedsConsent
	}
	return nil, fmt.Errorf("unknown tool %q", call.Name)
}

func (f *oaiTools) Run(ctx context.Context, call assistant.ToolCall) (json.RawMessage, error) {
	f.mu.Lock()
	f.runs = append(f.runs, call)
	f.mu.Unlock()
	return json.RawMessage(`{}`), nil
}

func (f *oaiTools) Describe(call assistant.ToolCall) string { return "call " + call.Name }

func (f *oaiTools) recorded() (calls, runs []assistant.ToolCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]assistant.ToolCall(nil), f.calls...), append([]assistant.ToolCall(nil), f.runs...)
}

// oaiOutput is a fake Output.
type oaiOutput struct {
	mu        sync.Mutex
	texts     []string
	proposals []assistant.ToolCall
	onText    func(string)
}

func (o *oaiOutput) Text(delta string) {
	o.mu.Lock()
	o.texts = append(o.texts, delta)
	fn := o.onText
	o.mu.Unlock()
	if fn != nil {
		fn(delta)
	}
}

func (o *oaiOutput) Propose(call assistant.ToolCall) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.proposals = append(o.proposals, call)
	return fmt.Sprintf("req-%d", len(o.proposals))
}

func (o *oaiOutput) recorded() (texts []string, proposals []assistant.ToolCall) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.texts...), append([]assistant.ToolCall(nil), o.proposals...)
}

func oaiMsg(role, text string) *structs.ChatMessage {
	return &structs.ChatMessage{Role: role, Content: []structs.ChatContent{{Type: "text", Text: text}}}
}

func oaiTurn(tools assistant.Tools, prompts ...string) assistant.Turn {
	var h []*structs.ChatMessage
	for i, p := range prompts {
		role := structs.ChatRoleUser
		if i%2 == 1 {
			role = structs.ChatRoleAssistant
		}
		h = append(h, oaiMsg(role, p))
	}
	return assistant.Turn{History: h, Tools: tools}
}

func oaiEngine(t *testing.T, base string, rounds int) *assistant.OpenAI {
	t.Helper()
	e, err := assistant.NewOpenAI(assistant.OpenAIConfig{
		BaseURL:       base,
		Model:         "test-model",
		APIKey:        oaiTestKey,
		MaxToolRounds: rounds,
	})
	if err != nil {
		t.Fatalf("NewOpenAI: %v", err)
	}
	return e
}

// oaiMessages returns the request's messages as maps.
func oaiMessages(t *testing.T, r oaiRequest) []map[string]any {
	t.Helper()
	raw, ok := r.Body["messages"].([]any)
	if !ok {
		t.Fatalf("request has no messages: %v", r.Body)
	}
	var out []map[string]any
	for _, m := range raw {
		out = append(out, m.(map[string]any))
	}
	return out
}

// oaiContent is a message's content as a string (string or text parts).
func oaiContent(m map[string]any) string {
	switch c := m["content"].(type) {
	case string:
		return c
	case []any:
		var s string
		for _, p := range c {
			if pm, ok := p.(map[string]any); ok {
				s, _ = pm["text"].(string)
			}
		}
		return s
	}
	return ""
}

func TestOpenAIStreamsTextDeltas(t *testing.T) {
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		oaiTextAnswer(w, "Hel", "lo, ", "world", "!")
	})
	out := &oaiOutput{}
	tools := &oaiTools{}
	err := oaiEngine(t, f.baseURL(), 0).Answer(context.Background(), oaiTurn(tools, "first question", "first answer", "hi"), out)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	texts, props := out.recorded()
	if want := []string{"Hel", "lo, ", "world", "!"}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("deltas = %q, want %q", texts, want)
	}
	if len(props) != 0 {
		t.Fatalf("unexpected proposals %v", props)
	}

	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1/chat/completions" {
		t.Fatalf("request %s %s, want POST /v1/chat/completions", r.Method, r.Path)
	}
	if r.Body["model"] != "test-model" || r.Body["stream"] != true {
		t.Fatalf("model/stream = %v/%v", r.Body["model"], r.Body["stream"])
	}
	msgs := oaiMessages(t, r)
	var roles, contents []string
	for _, m := range msgs {
		roles = append(roles, m["role"].(string))
		contents = append(contents, oaiContent(m))
	}
	if want := []string{"system", "user", "assistant", "user"}; !reflect.DeepEqual(roles, want) {
		t.Fatalf("roles = %v, want %v", roles, want)
	}
	if !strings.Contains(contents[0], "nomadlike") || !strings.Contains(contents[0], "confirm") {
		t.Fatalf("system prompt = %q", contents[0])
	}
	if want := []string{"first question", "first answer", "hi"}; !reflect.DeepEqual(contents[1:], want) {
		t.Fatalf("contents = %q, want %q", contents[1:], want)
	}
}

func TestOpenAIToolCallRoundTrip(t *testing.T) {
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			// Two read-only calls, their fragments interleaved.
			oaiSSE(w,
				oaiToolStart(0, "call_abc", "job_status"),
				oaiToolArgs(0, `{"job`),
				oaiToolStart(1, "call_def", "node_list"),
				oaiToolArgs(0, `_id": "w`),
				oaiToolArgs(1, `{}`),
				oaiToolArgs(0, `eb"}`),
				oaiStop("tool_calls"),
			)
		default:
			oaiTextAnswer(w, "Job web ", "is running; ", "nodes: permission denied.")
		}
	})
	out := &oaiOutput{}
	tools := &oaiTools{}
	if err := oaiEngine(t, f.baseURL(), 0).Answer(context.Background(), oaiTurn(tools, "how is web?"), out); err != nil {
		t.Fatalf("Answer: %v", err)
	}

	calls, runs := tools.recorded()
	if len(calls) != 2 || calls[0].Name != "job_status" || string(calls[0].Arguments) != `{"job_id": "web"}` ||
		calls[1].Name != "node_list" || string(calls[1].Arguments) != `{}` {
		t.Fatalf("calls = %+v", calls)
	}
	if len(runs) != 0 {
		t.Fatalf("Run called: %+v", runs)
	}
	texts, props := out.recorded()
	if want := []string{"Job web ", "is running; ", "nodes: permission denied."}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("deltas = %q, want %q", texts, want)
	}
	if len(props) != 0 {
		t.Fatalf("unexpected proposals %v", props)
	}

	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if r.Auth != "Bearer "+oaiTestKey {
			t.Fatalf("request %d Authorization = %q", i, r.Auth)
		}
	}
	// The first request lists every tool with its schema.
	rawTools, _ := reqs[0].Body["tools"].([]any)
	got := map[string]map[string]any{}
	for _, rt := range rawTools {
		tm := rt.(map[string]any)
		if tm["type"] != "function" {
			t.Fatalf("tool type = %v", tm["type"])
		}
		fn := tm["function"].(map[string]any)
		got[fn["name"].(string)] = fn
	}
	if len(got) != 3 || got["job_status"] == nil || got["node_list"] == nil || got["job_stop"] == nil {
		t.Fatalf("tools = %v", rawTools)
	}
	if got["job_status"]["description"] != "Status of a job." {
		t.Fatalf("job_status description = %v", got["job_status"]["description"])
	}
	params, _ := got["job_status"]["parameters"].(map[string]any)
	if props, _ := params["properties"].(map[string]any); params["type"] != "object" || props["job_id"] == nil {
		t.Fatalf("job_status parameters = %v", got["job_status"]["parameters"])
	}
	if d, _ := got["job_stop"]["description"].(string); !strings.Contains(d, "confirm") {
		t.Fatalf("job_stop description does not say it is only proposed: %q", d)
	}

	// The second request carries the calls and their results.
	msgs := oaiMessages(t, reqs[1])
	if len(msgs) != 5 {
		t.Fatalf("second request has %d messages, want 5: %v", len(msgs), msgs)
	}
	asst := msgs[2]
	tcs, _ := asst["tool_calls"].([]any)
	if asst["role"] != "assistant" || len(tcs) != 2 {
		t.Fatalf("assistant message = %v", asst)
	}
	tc0 := tcs[0].(map[string]any)
	fn0 := tc0["function"].(map[string]any)
	if tc0["id"] != "call_abc" || tc0["type"] != "function" || fn0["name"] != "job_status" || fn0["arguments"] != `{"job_id": "w`+`eb"}` {
		t.Fatalf("assistant tool call 0 = %v", tc0)
	}
	if tc1 := tcs[1].(map[string]any); tc1["id"] != "call_def" {
		t.Fatalf("assistant tool call 1 = %v", tc1)
	}
	res0, res1 := msgs[3], msgs[4]
	if res0["role"] != "tool" || res0["tool_call_id"] != "call_abc" || oaiContent(res0) != `{"ID":"web","Status":"running"}` {
		t.Fatalf("tool result 0 = %v", res0)
	}
	if res1["role"] != "tool" || res1["tool_call_id"] != "call_def" || !strings.Contains(oaiContent(res1), "Permission denied: token lacks node:read") {
		t.Fatalf("tool result 1 = %v", res1)
	}
	var errObj map[string]string
	if err := json.Unmarshal([]byte(oaiContent(res1)), &errObj); err != nil || errObj["error"] == "" {
		t.Fatalf("error result is not {\"error\":...}: %q", oaiContent(res1))
	}
}

func TestOpenAIMutatingToolIsProposedNotRun(t *testing.T) {
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			oaiSSE(w,
				oaiToolStart(0, "call_stop", "job_stop"),
				oaiToolArgs(0, `{"job_id"`),
				oaiToolArgs(0, `:"web"}`),
				oaiStop("tool_calls"),
			)
		default:
			oaiTextAnswer(w, "I proposed stopping web; ", "confirm it to proceed.")
		}
	})
	out := &oaiOutput{}
	tools := &oaiTools{}
	if err := oaiEngine(t, f.baseURL(), 0).Answer(context.Background(), oaiTurn(tools, "stop web"), out); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	calls, runs := tools.recorded()
	if len(calls) != 0 || len(runs) != 0 {
		t.Fatalf("mutating tool was called (%+v) or run (%+v)", calls, runs)
	}
	texts, props := out.recorded()
	if len(props) != 1 || props[0].Name != "job_stop" || string(props[0].Arguments) != `{"job_id":"web"}` {
		t.Fatalf("proposals = %+v", props)
	}
	if strings.Join(texts, "") != "I proposed stopping web; confirm it to proceed." {
		t.Fatalf("text = %q", strings.Join(texts, ""))
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	msgs := oaiMessages(t, reqs[1])
	last := msgs[len(msgs)-1]
	c := oaiContent(last)
	if last["role"] != "tool" || last["tool_call_id"] != "call_stop" ||
		!strings.Contains(c, "proposed") || !strings.Contains(c, "confirmation") || !strings.Contains(c, "req-1") {
		t.Fatalf("tool result = %v", last)
	}
}

func TestOpenAIUnauthorizedErrorIsClearWithoutKey(t *testing.T) {
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, oaiTestKey)
	})
	out := &oaiOutput{}
	err := oaiEngine(t, f.baseURL(), 0).Answer(context.Background(), oaiTurn(&oaiTools{}, "hi"), out)
	if err == nil {
		t.Fatal("Answer succeeded on a 401")
	}
	msg := err.Error()
	t.Logf("error: %s", msg)
	for _, want := range []string{"openai-compatible backend at " + f.baseURL(), "401 Unauthorized", "Incorrect API key provided"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, oaiTestKey) {
		t.Errorf("error leaks the API key: %q", msg)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("a 401 was retried: %d requests", n)
	}
	if texts, _ := out.recorded(); len(texts) != 0 {
		t.Errorf("text written on error: %q", texts)
	}
}

func TestOpenAIModelNotFoundVLLMStyle(t *testing.T) {
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"object":"error","message":"The model `+"`test-model`"+` does not exist.","type":"NotFoundError","param":null,"code":404}`)
	})
	err := oaiEngine(t, f.baseURL(), 0).Answer(context.Background(), oaiTurn(&oaiTools{}, "hi"), &oaiOutput{})
	if err == nil || !strings.Contains(err.Error(), "404 Not Found: The model `test-model` does not exist.") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenAIMaxToolRoundsExceeded(t *testing.T) {
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		oaiSSE(w,
			oaiToolStart(0, fmt.Sprintf("call_%d", n), "job_status"),
			oaiToolArgs(0, `{"job_id":"web"}`),
			oaiStop("tool_calls"),
		)
	})
	tools := &oaiTools{}
	err := oaiEngine(t, f.baseURL(), 2).Answer(context.Background(), oaiTurn(tools, "loop"), &oaiOutput{})
	if err == nil {
		t.Fatal("Answer succeeded although the model never stopped calling tools")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), "2 tool rounds") || !strings.Contains(err.Error(), f.baseURL()) {
		t.Fatalf("err = %v", err)
	}
	calls, _ := tools.recorded()
	if len(calls) != 2 {
		t.Fatalf("tools called %d times, want 2", len(calls))
	}
	if n := len(f.requests()); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
}

func TestOpenAIAnswerTextIsCapped(t *testing.T) {
	block := strings.Repeat("x", 1024)
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		chunks := []map[string]any{oaiRoleChunk()}
		for range 300 {
			chunks = append(chunks, oaiText(block))
		}
		chunks = append(chunks, oaiStop("stop"))
		oaiSSE(w, chunks...)
	})
	out := &oaiOutput{}
	err := oaiEngine(t, f.baseURL(), 0).Answer(context.Background(), oaiTurn(&oaiTools{}, "talk"), out)
	if err == nil || !strings.Contains(err.Error(), "256 KiB") {
		t.Fatalf("err = %v", err)
	}
	texts, _ := out.recorded()
	if total := len(strings.Join(texts, "")); total > assistant.MaxOpenAIAnswerBytes {
		t.Fatalf("wrote %d bytes, cap %d", total, assistant.MaxOpenAIAnswerBytes)
	}
}

func TestOpenAIContextCancelStopsStream(t *testing.T) {
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		b, _ := json.Marshal(oaiText("partial"))
		fmt.Fprintf(w, "data: %s\n\n", b)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // hold the stream open until the client goes
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &oaiOutput{onText: func(string) { cancel() }}
	err := oaiEngine(t, f.baseURL(), 0).Answer(ctx, oaiTurn(&oaiTools{}, "hi"), out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestOpenAIConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL + "/v1"
	srv.Close()
	err := oaiEngine(t, base, 0).Answer(context.Background(), oaiTurn(&oaiTools{}, "hi"), &oaiOutput{})
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "openai-compatible backend at "+base) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), oaiTestKey) {
		t.Fatalf("error leaks the API key: %v", err)
	}
}

func TestOpenAIConfigValidation(t *testing.T) {
	for _, c := range []assistant.OpenAIConfig{
		{BaseURL: "", Model: "m"},
		{BaseURL: "127.0.0.1:8080/v1", Model: "m"},
		{BaseURL: "/v1", Model: "m"},
		{BaseURL: "ftp://example.com/v1", Model: "m"},
		{BaseURL: "http://", Model: "m"},
		{BaseURL: "http://127.0.0.1:8080/v1", Model: " "},
		{BaseURL: "http://127.0.0.1:8080/v1", Model: "m", MaxToolRounds: -1},
	} {
		if _, err := assistant.NewOpenAI(c); err == nil {
			t.Errorf("NewOpenAI(%+v) succeeded", c)
		}
	}
	for _, base := range []string{"https://api.openai.com/v1", "http://127.0.0.1:8080/v1", "http://localhost:8000"} {
		if _, err := assistant.NewOpenAI(assistant.OpenAIConfig{BaseURL: base, Model: "m"}); err != nil {
			t.Errorf("NewOpenAI(%q): %v", base, err)
		}
	}
}

func TestOpenAINoKeyNoAuthorizationHeader(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-environment")
	f := newOAIFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		oaiTextAnswer(w, "ok")
	})
	e, err := assistant.NewOpenAI(assistant.OpenAIConfig{BaseURL: f.baseURL(), Model: "local"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Answer(context.Background(), oaiTurn(&oaiTools{}, "hi"), &oaiOutput{}); err != nil {
		t.Fatalf("Answer: %v", err)
	}
	if auth := f.requests()[0].Auth; auth != "" {
		t.Fatalf("Authorization = %q, want none (the environment must not supply a key)", auth)
	}
}
