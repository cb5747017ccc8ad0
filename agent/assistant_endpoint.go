package agent

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

// assistantPrefixes: spec 002's paths are served bare and under Grafana's
// plugin proxy, so a script written for Grafana Assistant works by
// changing only the host and the token.
var assistantPrefixes = []string{"", "/api/plugins/grafana-assistant-app/resources"}

// Default rate limit of the assistant family (rate_limit "assistant" {}
// replaces it): every answer of spec 002 carries X-RateLimit-* headers.
const (
	defaultAssistantRPS   = 10
	defaultAssistantBurst = 60
)

// sseKeepAlive is how often an idle chat stream sends a comment, so that
// proxies do not close it.
const sseKeepAlive = 15 * time.Second

// sseRetry is the reconnection delay the stream asks EventSource for.
const sseRetry = 500 * time.Millisecond

// maxAskBodyBytes bounds POST /api/v1/assistant/chats.
const maxAskBodyBytes = structs.MaxChatPromptBytes + 4<<10

func (s *HTTPServer) registerAssistantRoutes() {
	read, write := capability(acl.AssistantRead), capability(acl.AssistantWrite)
	for _, p := range assistantPrefixes {
		s.handle(p+"/api/v1/assistant/chats", familyAssistant, s.ChatsRequest, needs{"POST": write, "GET": read})
		s.handle(p+"/api/v1/chats", familyAssistant, s.ChatsRequest, needs{"GET": read})
		s.handle(p+"/api/v1/chats/{chatId}", familyAssistant, s.ChatRequest, needs{"GET": read})
		s.handle(p+"/api/v1/chats/{chatId}/tool-requests/{requestId}", familyAssistant, s.ChatToolRequest, needs{"POST": write})
		s.handleRoute(route{pattern: p + "/api/events/chats/{chatId}", family: familyAssistant, handler: s.ChatEventsRequest,
			needs: needs{"GET": read}, streaming: true})
	}
}

// assistantSuccess is spec 002's success envelope.
type assistantSuccess struct {
	Status string `json:"status"`
	Data   any    `json:"data"`
}

// assistantError is spec 002's error body.
type assistantError struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// toAssistantError maps err to spec 002's status and message: a missing
// or unknown token is 401, a token without the capability 403.
func toAssistantError(err error, anonymous bool) (int, string) {
	code, msg := structs.ErrorStatus(err)
	switch {
	case errors.Is(err, structs.ErrTokenNotFound):
		return http.StatusUnauthorized, "Invalid authentication token"
	case code == http.StatusForbidden && anonymous:
		return http.StatusUnauthorized, "Missing authentication token: send Authorization: Bearer <token>"
	case code == http.StatusMethodNotAllowed:
		return code, "Method not allowed"
	}
	return code, msg
}

// askBody is POST /api/v1/assistant/chats's body.
type askBody struct {
	Prompt string `json:"prompt"`
	ChatID string `json:"chatId"`
}

// ChatsRequest starts or continues a chat (POST), or lists the caller's
// chats (GET).
func (s *HTTPServer) ChatsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	switch req.Method {
	case http.MethodGet:
		args := structs.ChatListRequest{}
		if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
			return nil, err
		}
		var out structs.ChatListResponse
		if err := s.agent.RPC("Assistant.List", &args, &out); err != nil {
			return nil, err
		}
		setMeta(resp, &out.QueryMeta)
		list := make([]*chatJSON, 0, len(out.Chats))
		for _, c := range out.Chats {
			list = append(list, toChatJSON(c))
		}
		return &assistantSuccess{Status: "success", Data: map[string]any{"chats": list}}, nil
	case http.MethodPost:
	default:
		return nil, errMethodNotAllowed
	}
	var body askBody
	if err := decodeBodyLimit(req, &body, false, maxAskBodyBytes); err != nil {
		return nil, err
	}
	args := structs.ChatAskRequest{ChatID: body.ChatID, Prompt: body.Prompt}
	s.parseWriteRequest(req, &args.WriteRequest)
	var out structs.ChatAskResponse
	if err := s.agent.RPC("Assistant.Ask", &args, &out); err != nil {
		return nil, err
	}
	setIndex(resp, out.Index)
	return &assistantSuccess{Status: "success", Data: map[string]string{"chatId": out.ChatID}}, nil
}

// chatJSON is a chat as spec 002 shows it, with what nomadlike adds
// (the execution and proposed changes).
type chatJSON struct {
	ID           string                     `json:"id"`
	Name         string                     `json:"name"`
	Created      time.Time                  `json:"created"`
	Modified     time.Time                  `json:"modified"`
	UserID       string                     `json:"userId"`
	Category     string                     `json:"category"`
	Messages     []*structs.ChatMessage     `json:"messages,omitempty"`
	Execution    *structs.ChatExecution     `json:"execution,omitempty"`
	ToolRequests []*structs.ChatToolRequest `json:"toolRequests,omitempty"`
}

func toChatJSON(c *structs.Chat) *chatJSON {
	return &chatJSON{ID: c.ID, Name: c.Name, Created: c.Created.UTC(), Modified: c.Modified.UTC(), UserID: c.UserID,
		Category: c.Category, Messages: c.Messages, Execution: c.Execution, ToolRequests: c.ToolRequests}
}

// ChatRequest answers GET /api/v1/chats/{chatId}.
func (s *HTTPServer) ChatRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	c, meta, err := s.getChat(req, req.PathValue("chatId"))
	if err != nil {
		return nil, err
	}
	setMeta(resp, meta)
	out := toChatJSON(c)
	if out.Messages == nil {
		out.Messages = []*structs.ChatMessage{}
	}
	return out, nil
}

func (s *HTTPServer) getChat(req *http.Request, id string) (*structs.Chat, *structs.QueryMeta, error) {
	args := structs.ChatSpecificRequest{ChatID: id}
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, nil, err
	}
	var out structs.SingleChatResponse
	if err := s.agent.RPC("Assistant.Get", &args, &out); err != nil {
		return nil, nil, err
	}
	if out.Chat == nil {
		return nil, nil, structs.ErrChatNotFound
	}
	return out.Chat, &out.QueryMeta, nil
}

// toolConfirmBody is POST /api/v1/chats/{chatId}/tool-requests/{id}'s body.
type toolConfirmBody struct {
	Approve *bool `json:"approve"`
}

// ChatToolRequest approves ({"approve": true}) or rejects a change the
// assistant proposed; an approved change runs with the caller's token.
func (s *HTTPServer) ChatToolRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodPost {
		return nil, errMethodNotAllowed
	}
	var body toolConfirmBody
	if err := decodeBodyLimit(req, &body, false, 4<<10); err != nil {
		return nil, err
	}
	if body.Approve == nil {
		return nil, structs.NewErrCoded(http.StatusBadRequest, `approve is required: {"approve": true} runs the change, false rejects it`)
	}
	args := structs.ChatToolConfirmRequest{ChatID: req.PathValue("chatId"), RequestID: req.PathValue("requestId"), Approve: *body.Approve}
	s.parseWriteRequest(req, &args.WriteRequest)
	var out structs.ChatToolConfirmResponse
	if err := s.agent.RPC("Assistant.Confirm", &args, &out); err != nil {
		return nil, err
	}
	setIndex(resp, out.Index)
	return &assistantSuccess{Status: "success", Data: out.Request}, nil
}

// ssePosition is where a stream resumes: after every event of raft
// indexes below index, and after the first skip events of index.
type ssePosition struct {
	index uint64
	skip  int
}

// parseEventID reads an SSE id: "<raft index>" (every event of that
// index seen) or "<raft index>-<k>" (its first k seen).
func parseEventID(v string) (ssePosition, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return ssePosition{}, nil
	}
	idx, k, partial := strings.Cut(v, "-")
	i, err := strconv.ParseUint(idx, 10, 64)
	if err != nil {
		return ssePosition{}, structs.NewErrCoded(http.StatusBadRequest, "Invalid Last-Event-ID %q", v)
	}
	if !partial {
		return ssePosition{index: i + 1}, nil
	}
	n, err := strconv.Atoi(k)
	if err != nil || n < 0 {
		return ssePosition{}, structs.NewErrCoded(http.StatusBadRequest, "Invalid Last-Event-ID %q", v)
	}
	return ssePosition{index: i, skip: n}, nil
}

// ChatEventsRequest streams a chat's events as Server-Sent Events. The
// chat's own event history (in the replicated state) is the source; the
// event broker only says when to look, so a stream on any server, a
// reconnection to another server (Last-Event-ID), and a reader too slow
// for the broker's buffer all see every event once, in raft order.
func (s *HTTPServer) ChatEventsRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	if s.agent.server == nil {
		return nil, errEventsOnServers
	}
	id := req.PathValue("chatId")
	pos, err := parseEventID(req.Header.Get("Last-Event-ID"))
	if err == nil && req.Header.Get("Last-Event-ID") == "" {
		pos, err = parseEventID(req.URL.Query().Get("lastEventId"))
	}
	if err != nil {
		return nil, err
	}
	// Subscribe before reading: whatever applies after the read wakes
	// the loop below.
	srv := s.agent.server
	sub, err := srv.EventBroker().Subscribe(&stream.SubscribeRequest{Topics: map[string][]string{fsm.TopicChat: {id}}})
	if err != nil {
		if errors.Is(err, stream.ErrBrokerClosed) {
			return nil, structs.ErrShutdown
		}
		return nil, err
	}
	defer sub.Unsubscribe()
	// The first read is linearizable and checks the caller may see it.
	// When no leader answers (an election), this server's own state
	// decides: a browser refused with an error status would not
	// reconnect again, and the owner of a chat never changes.
	c, _, err := s.getChat(req, id)
	if err != nil {
		if code, _ := structs.ErrorStatus(err); code < 500 {
			return nil, err
		}
		s.logger.Debug("chat stream starts from local state", "chat", id, "error", err)
		if c, err = srv.LocalChat(tokenFromRequest(req), id); err != nil {
			return nil, err
		}
	}

	h := resp.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	resp.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(resp)
	var buf strings.Builder
	fmt.Fprintf(&buf, "retry: %d\n\n", sseRetry.Milliseconds())

	next := make(chan error, 1)
	wait := func() {
		_, err := sub.Next(req.Context())
		next <- err
	}
	keepAlive := time.NewTicker(sseKeepAlive)
	defer keepAlive.Stop()
	for {
		if c == nil {
			// Deleted (retention): the stream ends.
			return nil, nil
		}
		writeChatEvents(&buf, c.Events, &pos)
		if buf.Len() > 0 {
			if _, err := resp.Write([]byte(buf.String())); err != nil {
				return nil, nil
			}
			rc.Flush()
			buf.Reset()
		}
		go wait()
	waitLoop:
		for {
			select {
			case err := <-next:
				if err != nil {
					// The caller left, the broker closed the stream
					// (snapshot installed, shutdown): EventSource
					// reconnects with its Last-Event-ID.
					return nil, nil
				}
				break waitLoop
			case <-keepAlive.C:
				if _, err := resp.Write([]byte(": keep-alive\n\n")); err != nil {
					return nil, nil
				}
				rc.Flush()
			}
		}
		// Local state: this server has applied at least what woke us.
		if c, err = srv.State().ChatByID(nil, id); err != nil {
			return nil, nil
		}
	}
}

// writeChatEvents writes the events after pos and moves pos past them.
// Every event has an id: a raft index's last event "<index>", the ones
// before it "<index>-<k>".
func writeChatEvents(buf *strings.Builder, events []*structs.ChatEvent, pos *ssePosition) {
	for i := 0; i < len(events); {
		j := i
		for j < len(events) && events[j].Index == events[i].Index {
			j++
		}
		batch := events[i:j]
		i = j
		idx := batch[0].Index
		if idx < pos.index {
			continue
		}
		start := 0
		if idx == pos.index {
			start = pos.skip
		}
		for k := start; k < len(batch); k++ {
			e := batch[k]
			id := strconv.FormatUint(idx, 10)
			if k < len(batch)-1 {
				id += "-" + strconv.Itoa(k+1)
			}
			fmt.Fprintf(buf, "id: %s\ndata: {\"type\":%q,\"data\":%s}\n\n", id, e.Type, e.Data)
		}
		*pos = ssePosition{index: idx + 1}
	}
}
