package assistant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/shared"

	"github.com/nomadlike/nomadlike/structs"
)

// Bounds of the OpenAI engine.
const (
	// DefaultOpenAIMaxToolRounds bounds model→tool→model loops per answer.
	DefaultOpenAIMaxToolRounds = 8
	// MaxOpenAIAnswerBytes caps the text an answer may stream.
	MaxOpenAIAnswerBytes = 256 << 10

	// openAIMaxResponseBytes caps any one HTTP response body read from the
	// backend (a stream of chunks, or an error body): the SSE framing and
	// JSON around each token make a stream many times its text, so this is
	// well above MaxOpenAIAnswerBytes; it stops a backend that streams
	// without end (e.g. empty deltas, endless tool arguments).
	openAIMaxResponseBytes = 32 << 20
	// openAIMaxErrorBodyBytes caps what is read of an error response.
	openAIMaxErrorBodyBytes = 64 << 10
	// openAIMaxErrorMessage caps the backend's message shown to operators.
	openAIMaxErrorMessage = 512
	// openAIMaxToolResultBytes caps a tool result fed back to the model.
	openAIMaxToolResultBytes = 64 << 10
	// openAIMaxToolArgumentBytes caps one tool call's arguments.
	openAIMaxToolArgumentBytes = 64 << 10
	// openAIMaxToolCallsPerRound caps the tool calls run for one response.
	openAIMaxToolCallsPerRound = 16
)

// DefaultOpenAISystemPrompt is the system prompt when OpenAIConfig has none.
const DefaultOpenAISystemPrompt = `You are nomadlike's ops assistant: you help operators understand and operate their nomadlike cluster (jobs, allocations, nodes, deployments, evaluations).
Answer from the tools: call them to read the live cluster and base every fact on what they return. Never invent jobs, nodes, allocations, IDs, versions, counts or states. If a tool fails (for example permission denied), say so plainly and do not guess.
Tools that change the cluster are never run by you: calling one only proposes the change to the operator, who must confirm it before it runs. Tell the operator what you proposed and that it awaits their confirmation.
Be concise.`

// OpenAIConfig configures an OpenAI engine.
type OpenAIConfig struct {
	// BaseURL is the API root, e.g. https://api.openai.com/v1 or
	// http://127.0.0.1:8080/v1 (llama.cpp server, vLLM).
	BaseURL string
	// Model is the model name sent with every request.
	Model string
	// APIKey is sent as a Bearer token; it may be empty for local servers.
	// The caller reads it (from api_key_env); it never appears in errors.
	APIKey string
	// HTTPClient is used for requests; nil means a client with connect,
	// TLS and response-header timeouts (the answer itself is bounded by
	// the Answer context, since it streams).
	HTTPClient *http.Client
	// MaxToolRounds bounds model→tool→model loops (default 8).
	MaxToolRounds int
	// SystemPrompt replaces DefaultOpenAISystemPrompt.
	SystemPrompt string
}

// OpenAI is an Engine backed by an OpenAI-compatible chat-completions
// endpoint: it streams the answer and runs read-only tools the model calls
// (mutating ones are proposed to the caller, never run).
type OpenAI struct {
	model         string
	apiKey        string
	endpoint      string // BaseURL without credentials, for errors
	maxToolRounds int
	systemPrompt  string
	chat          openai.ChatCompletionService
}

var _ Engine = (*OpenAI)(nil)

// NewOpenAI returns an OpenAI engine. BaseURL must be an absolute http or
// https URL and Model non-empty.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	base := strings.TrimSpace(cfg.BaseURL)
	if base == "" {
		return nil, errors.New("openai-compatible backend: base URL is required")
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("openai-compatible backend: invalid base URL: %v", redact(err.Error(), cfg.APIKey))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("openai-compatible backend: base URL %q must be an absolute http:// or https:// URL", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("openai-compatible backend: base URL %q must not have a query or fragment", u.Redacted())
	}
	model := strings.TrimSpace(cfg.Model)
	if model == "" {
		return nil, errors.New("openai-compatible backend: model is required")
	}
	if cfg.MaxToolRounds < 0 {
		return nil, fmt.Errorf("openai-compatible backend: max tool rounds %d is negative", cfg.MaxToolRounds)
	}
	rounds := cfg.MaxToolRounds
	if rounds == 0 {
		rounds = DefaultOpenAIMaxToolRounds
	}
	prompt := cfg.SystemPrompt
	if strings.TrimSpace(prompt) == "" {
		prompt = DefaultOpenAISystemPrompt
	}

	// Every response body is capped, whichever client the caller gave.
	var client http.Client
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient
	} else {
		client = defaultOpenAIHTTPClient()
	}
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	client.Transport = &cappedTransport{next: next, limit: openAIMaxResponseBytes}

	// The chat service alone, not openai.NewClient: NewClient reads
	// OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID... from the
	// environment, and this engine's configuration must be only cfg.
	opts := []option.RequestOption{
		option.WithBaseURL(u.String()),
		option.WithHTTPClient(&client),
		// Retries for 429 and 5xx, but never a long wait: a Retry-After
		// above 10s fails the answer with the backend's 429 instead.
		option.WithMaxRetries(2),
		option.WithMaxRetryDelay(10 * time.Second),
	}
	if cfg.APIKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	return &OpenAI{
		model:         model,
		apiKey:        cfg.APIKey,
		endpoint:      u.Redacted(),
		maxToolRounds: rounds,
		systemPrompt:  prompt,
		chat:          openai.NewChatCompletionService(opts...),
	}, nil
}

func defaultOpenAIHTTPClient() http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return http.Client{
		// No Client.Timeout: it would cut long streamed answers; the
		// Answer context bounds the whole exchange.
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			// A local model may take a while to process a long prompt
			// before its first token; a dead server must not hang forever.
			ResponseHeaderTimeout: 3 * time.Minute,
		},
	}
}

// Answer implements Engine.
func (o *OpenAI) Answer(ctx context.Context, turn Turn, out Output) error {
	if turn.Tools == nil {
		return errors.New("openai engine: no tools")
	}
	msgs, err := o.messages(turn.History)
	if err != nil {
		return err
	}
	toolList := turn.Tools.List()
	byName := make(map[string]Tool, len(toolList))
	params := make([]openai.ChatCompletionToolUnionParam, 0, len(toolList))
	for _, t := range toolList {
		byName[t.Name] = t
		params = append(params, toolParam(t))
	}

	a := &answer{o: o, ctx: ctx, out: out}
	for round := 0; ; round++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		body := openai.ChatCompletionNewParams{
			Model:    shared.ChatModel(o.model),
			Messages: msgs,
		}
		if len(params) > 0 {
			body.Tools = params
		}
		resp, err := a.stream(body)
		if err != nil {
			return err
		}
		if len(resp.calls) == 0 {
			return nil
		}
		if round >= o.maxToolRounds {
			return fmt.Errorf("%s: model %q still calling tools after %d tool rounds (the limit); giving up on this answer",
				o.prefix(), o.model, o.maxToolRounds)
		}

		// The assistant message carrying the calls, then one tool message
		// per call (every tool_call_id must be answered).
		asst := openai.ChatCompletionAssistantMessageParam{}
		if resp.text != "" {
			asst.Content.OfString = openai.String(resp.text)
		}
		for _, c := range resp.calls {
			asst.ToolCalls = append(asst.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID: c.id,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{
						Name:      c.name,
						Arguments: c.arguments,
					},
				},
			})
		}
		msgs = append(msgs, openai.ChatCompletionMessageParamUnion{OfAssistant: &asst})
		for i, c := range resp.calls {
			var result string
			if i >= openAIMaxToolCallsPerRound {
				result = toolError(fmt.Sprintf("not run: at most %d tool calls per response", openAIMaxToolCallsPerRound))
			} else {
				result = a.runTool(turn.Tools, byName, c)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			msgs = append(msgs, openai.ToolMessage(result, c.id))
		}
	}
}

// messages converts the chat history to chat-completion messages.
func (o *OpenAI) messages(history []*structs.ChatMessage) ([]openai.ChatCompletionMessageParamUnion, error) {
	msgs := make([]openai.ChatCompletionMessageParamUnion, 0, len(history)+1)
	msgs = append(msgs, openai.SystemMessage(o.systemPrompt))
	users := 0
	for _, m := range history {
		if m == nil {
			continue
		}
		text := m.Text()
		switch m.Role {
		case structs.ChatRoleUser:
			msgs = append(msgs, openai.UserMessage(text))
			users++
		case structs.ChatRoleAssistant:
			// An empty assistant message is one being written (this
			// execution's own) or one that failed: nothing to show.
			if text != "" {
				msgs = append(msgs, openai.AssistantMessage(text))
			}
		}
	}
	if users == 0 {
		return nil, errors.New("openai engine: the chat has no user message to answer")
	}
	return msgs, nil
}

func toolParam(t Tool) openai.ChatCompletionToolUnionParam {
	desc := t.Description
	if t.Mutating {
		desc = strings.TrimSpace(desc + " This tool changes the cluster: calling it only proposes the change to the operator, who must confirm it; it does not run.")
	}
	schema := shared.FunctionParameters(t.Parameters)
	if len(schema) == 0 {
		schema = shared.FunctionParameters{"type": "object", "properties": map[string]any{}}
	}
	fn := shared.FunctionDefinitionParam{
		Name:       t.Name,
		Parameters: schema,
	}
	if desc != "" {
		fn.Description = openai.String(desc)
	}
	return openai.ChatCompletionFunctionTool(fn)
}

// answer is the state of one Answer: its context, output and text budget.
type answer struct {
	o         *OpenAI
	ctx       context.Context
	out       Output
	textBytes int
}

type toolCallReq struct {
	id, name, arguments string
}

type roundResult struct {
	text  string
	calls []toolCallReq
}

// stream sends one request and streams its text to out; it returns the
// response's text and tool calls.
func (a *answer) stream(body openai.ChatCompletionNewParams) (*roundResult, error) {
	rec := &httpErrorRecorder{}
	s := a.o.chat.NewStreaming(a.ctx, body, option.WithMiddleware(rec.middleware))
	defer s.Close()

	var acc openai.ChatCompletionAccumulator
	var text strings.Builder
	chunks := 0
	for s.Next() {
		chunk := s.Current()
		chunks++
		if !acc.AddChunk(chunk) {
			return nil, fmt.Errorf("%s: malformed stream: chunk %d does not continue the completion", a.o.prefix(), chunks)
		}
		for _, ch := range chunk.Choices {
			if ch.Index != 0 {
				continue
			}
			for _, delta := range []string{ch.Delta.Content, ch.Delta.Refusal} {
				if delta == "" {
					continue
				}
				if a.textBytes+len(delta) > MaxOpenAIAnswerBytes {
					return nil, fmt.Errorf("%s: answer exceeds %d KiB; stopped", a.o.prefix(), MaxOpenAIAnswerBytes>>10)
				}
				a.textBytes += len(delta)
				text.WriteString(delta)
				a.out.Text(delta)
			}
		}
		if err := a.ctx.Err(); err != nil {
			return nil, err
		}
	}
	if err := s.Err(); err != nil {
		return nil, a.o.backendError(a.ctx, err, rec)
	}
	if chunks == 0 {
		if ct := rec.contentType; !strings.HasPrefix(ct, "text/event-stream") {
			return nil, fmt.Errorf("%s: response is not an event stream (Content-Type %q): the server does not stream chat completions", a.o.prefix(), clip(ct, 100))
		}
		return nil, fmt.Errorf("%s: empty response (no completion chunks)", a.o.prefix())
	}

	res := &roundResult{text: text.String()}
	if len(acc.Choices) == 0 {
		return res, nil
	}
	for i, tc := range acc.Choices[0].Message.ToolCalls {
		if tc.Type != "" && tc.Type != "function" {
			continue
		}
		id := tc.ID
		if id == "" {
			// Some local servers omit ids; the model still needs its
			// tool results paired with the calls.
			id = fmt.Sprintf("call_%d", i)
		}
		res.calls = append(res.calls, toolCallReq{id: id, name: tc.Function.Name, arguments: tc.Function.Arguments})
	}
	return res, nil
}

// runTool runs (or proposes) one call and returns the tool message content.
func (a *answer) runTool(tools Tools, byName map[string]Tool, c toolCallReq) string {
	t, ok := byName[c.name]
	if !ok {
		return toolError(fmt.Sprintf("unknown tool %q", c.name))
	}
	if len(c.arguments) > openAIMaxToolArgumentBytes {
		return toolError(fmt.Sprintf("arguments exceed %d KiB", openAIMaxToolArgumentBytes>>10))
	}
	args := json.RawMessage(strings.TrimSpace(c.arguments))
	if len(args) == 0 {
		args = json.RawMessage("{}")
	}
	if !json.Valid(args) {
		return toolError("arguments are not valid JSON; call the tool again with a JSON object")
	}
	call := ToolCall{Name: c.name, Arguments: args}

	if t.Mutating {
		id := a.out.Propose(call)
		res, _ := json.Marshal(map[string]string{
			"status":     "proposed",
			"request_id": id,
			"message":    "The change was proposed to the operator and awaits their confirmation; it has not been run. Tell the operator what was proposed.",
		})
		return string(res)
	}

	res, err := tools.Call(a.ctx, call)
	if err != nil {
		return toolError(err.Error())
	}
	if len(res) == 0 {
		return "null"
	}
	if len(res) > openAIMaxToolResultBytes {
		cut := truncateUTF8(string(res), openAIMaxToolResultBytes)
		return cut + fmt.Sprintf("\n[result truncated at %d KiB of %d KiB; narrow the query for the rest]", openAIMaxToolResultBytes>>10, (len(res)+1023)>>10)
	}
	return string(res)
}

func toolError(msg string) string {
	b, _ := json.Marshal(map[string]string{"error": msg})
	return string(b)
}

func (o *OpenAI) prefix() string {
	return "openai-compatible backend at " + o.endpoint
}

// backendError turns an SDK error into one for operators, without the key.
func (o *OpenAI) backendError(ctx context.Context, err error, rec *httpErrorRecorder) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	var msg string
	status, body := rec.get()
	var apiErr *openai.Error
	var streamErr *ssestream.StreamError
	var tooLarge *bodyTooLargeError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case status >= 400:
		msg = statusLine(status)
		if m := errorMessage(body); m != "" {
			msg += ": " + m
		}
	case errors.As(err, &apiErr):
		msg = statusLine(apiErr.StatusCode)
		if apiErr.Message != "" {
			msg += ": " + apiErr.Message
		}
	case errors.As(err, &streamErr):
		msg = "error in stream"
		if m := errorMessage(streamErr.Event.Data); m != "" {
			msg += ": " + m
		}
	case errors.As(err, &tooLarge):
		msg = tooLarge.Error()
	case errors.As(err, &syntaxErr) || errors.As(err, &typeErr):
		msg = "malformed stream: " + err.Error()
	default:
		var netErr net.Error
		var urlErr *url.Error
		switch {
		case errors.As(err, &urlErr):
			// url.Error repeats the method and URL; the operator has
			// the endpoint already.
			msg = "request failed: " + urlErr.Err.Error()
		case errors.As(err, &netErr):
			msg = "request failed: " + netErr.Error()
		default:
			msg = err.Error()
		}
	}
	return fmt.Errorf("%s: %s", o.prefix(), clip(redact(msg, o.apiKey), 2*openAIMaxErrorMessage))
}

func statusLine(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprintf("HTTP %d", code)
}

// errorMessage extracts the message from an error body: OpenAI's
// {"error":{"message":...}}, {"error":"..."}, vLLM's {"message":...},
// FastAPI's {"detail":...}, else the text itself.
func errorMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil {
		var nested struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case len(v.Error) > 0 && json.Unmarshal(v.Error, &nested) == nil && nested.Message != "":
			return clip(nested.Message, openAIMaxErrorMessage)
		case len(v.Error) > 0 && json.Unmarshal(v.Error, &s) == nil && s != "":
			return clip(s, openAIMaxErrorMessage)
		case v.Message != "":
			return clip(v.Message, openAIMaxErrorMessage)
		case len(v.Detail) > 0 && json.Unmarshal(v.Detail, &s) == nil && s != "":
			return clip(s, openAIMaxErrorMessage)
		case len(v.Detail) > 0:
			return clip(string(v.Detail), openAIMaxErrorMessage)
		case len(v.Error) > 0:
			return clip(string(v.Error), openAIMaxErrorMessage)
		}
	}
	if !utf8.Valid(body) {
		return ""
	}
	// Plain text or HTML from a proxy: one line of it.
	s := strings.Join(strings.Fields(string(body)), " ")
	return clip(s, openAIMaxErrorMessage)
}

func redact(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return truncateUTF8(s, n) + "…"
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// httpErrorRecorder keeps the status and (bounded) body of the last
// failed HTTP attempt of one request, so errors read well whatever the
// body's shape (the SDK only understands OpenAI's {"error":{...}}).
type httpErrorRecorder struct {
	status      int
	body        []byte
	contentType string
}

// middleware runs on the request's goroutine (per attempt), before the
// SDK reads the response.
func (r *httpErrorRecorder) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	res, err := next(req)
	if err != nil || res == nil {
		r.status, r.body = 0, nil
		return res, err
	}
	r.contentType = strings.ToLower(res.Header.Get("Content-Type"))
	if res.StatusCode < 400 {
		r.status, r.body = 0, nil
		return res, nil
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, openAIMaxErrorBodyBytes))
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(b))
	r.status, r.body = res.StatusCode, b
	return res, nil
}

func (r *httpErrorRecorder) get() (int, []byte) { return r.status, r.body }

// cappedTransport fails reading any response body past limit bytes.
type cappedTransport struct {
	next  http.RoundTripper
	limit int64
}

func (t *cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.next.RoundTrip(req)
	if err != nil || res == nil || res.Body == nil {
		return res, err
	}
	res.Body = &cappedBody{rc: res.Body, left: t.limit, limit: t.limit}
	return res, nil
}

type bodyTooLargeError struct{ limit int64 }

func (e *bodyTooLargeError) Error() string {
	return fmt.Sprintf("response exceeds %d MiB; stopped", e.limit>>20)
}

type cappedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Exactly limit bytes is fine; one more is not.
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, &bodyTooLargeError{limit: b.limit}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
