package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Assistant is the ops assistant's chats (spec 002: Grafana Assistant's
// HTTP API). Starting and continuing a chat needs assistant:write,
// reading one assistant:read; a chat is its starter's (and management
// tokens').
type Assistant struct{ client *Client }

// Assistant returns a handle on the assistant's endpoints.
func (c *Client) Assistant() *Assistant { return &Assistant{client: c} }

// Chat event types (spec 002).
const (
	ChatEventMessageCreated     = "MESSAGE_CREATED"
	ChatEventMessageUpdated     = "MESSAGE_UPDATED"
	ChatEventExecutionStarted   = "AGENT_EXECUTION_STARTED"
	ChatEventExecutionCompleted = "AGENT_EXECUTION_COMPLETED"
	ChatEventExecutionFailed    = "AGENT_EXECUTION_FAILED"
	ChatEventRemoteToolRequest  = "REMOTE_TOOL_REQUEST"
)

// Chat is a conversation with the assistant.
type Chat struct {
	ID           string             `json:"id"`
	Name         string             `json:"name"`
	Created      time.Time          `json:"created"`
	Modified     time.Time          `json:"modified"`
	UserID       string             `json:"userId"`
	Category     string             `json:"category"`
	Messages     []*ChatMessage     `json:"messages"`
	Execution    *ChatExecution     `json:"execution,omitempty"`
	ToolRequests []*ChatToolRequest `json:"toolRequests,omitempty"`
}

// ChatMessage is one message of a chat.
type ChatMessage struct {
	ID        string        `json:"id"`
	Role      string        `json:"role"`
	Content   []ChatContent `json:"content"`
	Timestamp time.Time     `json:"timestamp"`
}

// Text is the message's text.
func (m *ChatMessage) Text() string {
	var b strings.Builder
	for _, c := range m.Content {
		if c.Type == "text" {
			b.WriteString(c.Text)
		}
	}
	return b.String()
}

// ChatContent is one part of a message.
type ChatContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// ChatExecution is one run of the assistant on a chat.
type ChatExecution struct {
	ID        string    `json:"id"`
	Server    string    `json:"server"`
	State     string    `json:"state"`
	Error     string    `json:"error,omitempty"`
	MessageID string    `json:"messageId"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`
}

// ChatToolRequest is a change the assistant proposed; it runs only when
// confirmed (Confirm), with the confirming caller's token.
type ChatToolRequest struct {
	ID          string          `json:"id"`
	ExecutionID string          `json:"executionId"`
	Tool        string          `json:"tool"`
	Arguments   json.RawMessage `json:"arguments"`
	Description string          `json:"description"`
	State       string          `json:"state"`
	Result      string          `json:"result,omitempty"`
	Created     time.Time       `json:"created"`
}

// ChatEvent is one Server-Sent Event of a chat's stream.
type ChatEvent struct {
	// ID is the SSE id (the raft index that produced the event), to
	// resume after with Stream's lastEventID.
	ID   string          `json:"-"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// Message decodes a MESSAGE_CREATED or MESSAGE_UPDATED event's message.
func (e *ChatEvent) Message() (*ChatMessage, error) {
	var m ChatMessage
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// ChatExecutionEvent is the data of the AGENT_EXECUTION_* events.
type ChatExecutionEvent struct {
	ChatID      string `json:"chatId"`
	ExecutionID string `json:"executionId"`
	State       string `json:"state"`
	MessageID   string `json:"messageId"`
	Error       string `json:"error,omitempty"`
}

// Execution decodes an AGENT_EXECUTION_* event's data.
func (e *ChatEvent) Execution() (*ChatExecutionEvent, error) {
	var x ChatExecutionEvent
	if err := json.Unmarshal(e.Data, &x); err != nil {
		return nil, err
	}
	return &x, nil
}

// ToolRequest decodes a REMOTE_TOOL_REQUEST event's proposed change.
func (e *ChatEvent) ToolRequest() (*ChatToolRequest, error) {
	var x struct {
		Request *ChatToolRequest `json:"request"`
	}
	if err := json.Unmarshal(e.Data, &x); err != nil {
		return nil, err
	}
	if x.Request == nil {
		return nil, errors.New("event has no tool request")
	}
	return x.Request, nil
}

// assistantError rewrites spec 002's error body {"status":"error",
// "message":...} as its message.
func assistantError(err error) error {
	var ure UnexpectedResponseError
	if !errors.As(err, &ure) {
		return err
	}
	var body struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(ure.body), &body) == nil && body.Message != "" {
		ure.body = body.Message
	}
	return ure
}

// Ask starts a chat with prompt (chatID "") or continues chatID, and
// returns the chat's ID. The answer is written as it is produced: read it
// with Stream or Chat.
func (a *Assistant) Ask(prompt, chatID string, q *WriteOptions) (string, *WriteMeta, error) {
	var out struct {
		Data struct {
			ChatID string `json:"chatId"`
		} `json:"data"`
	}
	body := map[string]string{"prompt": prompt}
	if chatID != "" {
		body["chatId"] = chatID
	}
	wm, err := a.client.write(http.MethodPost, "/api/v1/assistant/chats", body, &out, q)
	if err != nil {
		return "", nil, assistantError(err)
	}
	return out.Data.ChatID, wm, nil
}

// Chat returns one chat with its messages.
func (a *Assistant) Chat(id string, q *QueryOptions) (*Chat, *QueryMeta, error) {
	if id == "" {
		return nil, nil, errors.New("missing chat ID")
	}
	var out Chat
	qm, err := a.client.query("/api/v1/chats/"+url.PathEscape(id), &out, q)
	if err != nil {
		return nil, nil, assistantError(err)
	}
	return &out, qm, nil
}

// Chats lists the caller's chats, most recently changed first, without
// their messages.
func (a *Assistant) Chats(q *QueryOptions) ([]*Chat, *QueryMeta, error) {
	var out struct {
		Data struct {
			Chats []*Chat `json:"chats"`
		} `json:"data"`
	}
	qm, err := a.client.query("/api/v1/chats", &out, q)
	if err != nil {
		return nil, nil, assistantError(err)
	}
	return out.Data.Chats, qm, nil
}

// Confirm approves (runs, with this client's token) or rejects a change
// the assistant proposed in a REMOTE_TOOL_REQUEST.
func (a *Assistant) Confirm(chatID, requestID string, approve bool, q *WriteOptions) (*ChatToolRequest, *WriteMeta, error) {
	if chatID == "" || requestID == "" {
		return nil, nil, errors.New("missing chat or tool request ID")
	}
	var out struct {
		Data *ChatToolRequest `json:"data"`
	}
	wm, err := a.client.write(http.MethodPost, "/api/v1/chats/"+url.PathEscape(chatID)+"/tool-requests/"+url.PathEscape(requestID),
		map[string]bool{"approve": approve}, &out, q)
	if err != nil {
		return nil, nil, assistantError(err)
	}
	return out.Data, wm, nil
}

// maxSSELine bounds one line of a chat stream (a message's whole text
// travels in one data line).
const maxSSELine = 1 << 20

// Stream follows a chat's events from after lastEventID ("" for the whole
// chat). The channel closes when ctx is done or the stream fails; the
// error function then says why (nil after ctx ended it). A dropped
// connection is resumed with Last-Event-ID, so no event is missed or
// repeated; Stream gives up after 10 s without a connection.
func (a *Assistant) Stream(ctx context.Context, chatID, lastEventID string, q *QueryOptions) (<-chan *ChatEvent, func() error, error) {
	if chatID == "" {
		return nil, nil, errors.New("missing chat ID")
	}
	path := "/api/events/chats/" + url.PathEscape(chatID)
	first, err := a.openStream(ctx, path, lastEventID, q)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan *ChatEvent, 16)
	var streamErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		resp := first
		last := lastEventID
		for {
			err := readSSE(ctx, resp, func(ev *ChatEvent) bool {
				last = ev.ID
				select {
				case ch <- ev:
					return true
				case <-ctx.Done():
					return false
				}
			})
			resp.Body.Close()
			if ctx.Err() != nil {
				return
			}
			var ure UnexpectedResponseError
			if errors.As(err, &ure) {
				streamErr = err
				return
			}
			// Reconnect, resuming after the last event.
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err = a.openStream(ctx, path, last, q)
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return
				}
				if errors.As(err, &ure) || time.Now().After(deadline) {
					streamErr = err
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(250 * time.Millisecond):
				}
			}
		}
	}()
	return ch, func() error { <-done; return streamErr }, nil
}

func (a *Assistant) openStream(ctx context.Context, path, lastEventID string, q *QueryOptions) (*http.Response, error) {
	r, err := a.client.newRequest(http.MethodGet, path)
	if err != nil {
		return nil, err
	}
	r.setQueryOptions(q)
	r.params.Del("wait")
	r.ctx = ctx
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		r.header.Set("Last-Event-ID", lastEventID)
	}
	_, resp, err := requireOK(a.client.doRequest(r))
	if err != nil {
		return nil, assistantError(err)
	}
	return resp, nil
}

// readSSE reads events until the body ends or emit returns false.
func readSSE(ctx context.Context, resp *http.Response, emit func(*ChatEvent) bool) error {
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxSSELine)
	var id string
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data.Len() > 0 {
				ev := &ChatEvent{}
				if err := json.Unmarshal([]byte(data.String()), ev); err != nil {
					return fmt.Errorf("chat stream: bad event: %w", err)
				}
				ev.ID = id
				if !emit(ev) {
					return ctx.Err()
				}
			}
			data.Reset()
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		}
	}
	return sc.Err()
}
