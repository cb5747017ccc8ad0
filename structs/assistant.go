package structs

import (
	"encoding/json"
	"net/http"
	"time"
)

// Chat roles and categories (spec 002).
const (
	ChatRoleUser      = "user"
	ChatRoleAssistant = "assistant"
	ChatCategory      = "assistant"
	ChatDefaultName   = "Assistant Conversation"
)

// Chat event types (spec 002's SSE "type").
const (
	ChatEventMessageCreated     = "MESSAGE_CREATED"
	ChatEventMessageUpdated     = "MESSAGE_UPDATED"
	ChatEventExecutionStarted   = "AGENT_EXECUTION_STARTED"
	ChatEventExecutionCompleted = "AGENT_EXECUTION_COMPLETED"
	ChatEventExecutionFailed    = "AGENT_EXECUTION_FAILED"
	ChatEventRemoteToolRequest  = "REMOTE_TOOL_REQUEST"
)

// Execution and tool request states.
const (
	ExecutionRunning   = "running"
	ExecutionCompleted = "completed"
	ExecutionFailed    = "failed"

	ToolRequestPending  = "pending"
	ToolRequestApproved = "approved"
	ToolRequestRejected = "rejected"
	ToolRequestFailed   = "failed"
)

// Bounds on what a caller controls.
const (
	MaxChatPromptBytes  = 16 << 10
	MaxChatMessages     = 200
	MaxChatMessageBytes = 256 << 10
	// MaxChatsPerOwner bounds one token's chats: a new one replaces the
	// least recently changed.
	MaxChatsPerOwner = 1000
)

// ErrChatNotFound is spec 002's 404; another token's chat is not found
// either.
var ErrChatNotFound = NewErrCoded(http.StatusNotFound, "Chat not found")

// Chat is one conversation with the assistant, replicated through Raft.
type Chat struct {
	ID       string
	Name     string
	Category string
	// UserID is who started it: the token's name, else its accessor
	// ("anonymous" with ACLs off).
	UserID string
	// OwnerAccessor is the accessor of the token that started the chat;
	// only it (or a management token) continues the chat.
	OwnerAccessor string
	Created       time.Time
	Modified      time.Time
	Messages      []*ChatMessage
	// Execution is the chat's latest execution (at most one runs).
	Execution    *ChatExecution `json:",omitempty"`
	ToolRequests []*ChatToolRequest
	// Events is the chat's event history for SSE resume, in index order:
	// every event except a MESSAGE_UPDATED superseded by a later one of
	// the same message (that one carries the whole message).
	Events      []*ChatEvent
	CreateIndex uint64
	ModifyIndex uint64
}

// ChatMessage is one message of a chat (spec 002's wire shape).
type ChatMessage struct {
	ID        string        `json:"id"`
	Role      string        `json:"role"`
	Content   []ChatContent `json:"content"`
	Timestamp time.Time     `json:"timestamp"`
}

// ChatContent is one part of a message.
type ChatContent struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Text is the message's text parts joined.
func (m *ChatMessage) Text() string {
	var s string
	for _, c := range m.Content {
		if c.Type == "text" {
			s += c.Text
		}
	}
	return s
}

// ChatExecution is one run of the assistant on a chat.
type ChatExecution struct {
	ID string `json:"id"`
	// Server runs it; BootID names that server's process, so a server
	// that restarted knows the execution it finds is an orphan.
	Server    string    `json:"server"`
	BootID    string    `codec:"BootID" json:"-"`
	State     string    `json:"state"`
	Error     string    `json:"error,omitempty"`
	MessageID string    `json:"messageId"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`
}

// ChatToolRequest is a change the assistant proposed (REMOTE_TOOL_REQUEST):
// it runs only when the chat's caller confirms it, with the caller's token.
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

// ChatEvent is one event of a chat's stream: the SSE data is
// {"type": Type, "data": Data} and its id is Index.
type ChatEvent struct {
	Index uint64
	Type  string
	// MessageID is set on message events (for the superseding rule).
	MessageID string `json:",omitempty"`
	Data      json.RawMessage
}

// Chat operation kinds (ChatOp.Kind).
const (
	ChatOpCreate         = "create"
	ChatOpAddMessage     = "add_message"
	ChatOpUpdateMessage  = "update_message"
	ChatOpStartExecution = "start_execution"
	ChatOpEndExecution   = "end_execution"
	ChatOpToolRequest    = "tool_request"
	ChatOpToolResolve    = "tool_resolve"
	ChatOpDelete         = "delete"
)

// ChatOp is one operation of a ChatApplyRequest.
type ChatOp struct {
	Kind   string
	ChatID string
	// Create.
	Name, UserID, OwnerAccessor string
	// AddMessage / UpdateMessage (the whole message).
	Message *ChatMessage `json:",omitempty"`
	// Start/EndExecution; message updates and tool requests name the
	// execution they belong to and are refused once it has ended, so a
	// zombie execution cannot write after it was failed.
	Execution   *ChatExecution `json:",omitempty"`
	ExecutionID string
	Failed      bool
	Error       string
	// ToolRequest / ToolResolve.
	ToolRequest *ChatToolRequest `json:",omitempty"`
	// Delete: these chats (retention or the owner).
	ChatIDs []string
}

// ChatApplyRequest applies Ops in order in one transaction; the first
// that fails refuses them all.
type ChatApplyRequest struct {
	Ops []*ChatOp
	// Time is the leader's clock for Modified and timestamps the FSM sets.
	Time time.Time
	WriteRequest
}

// ChatApplyResponse answers a ChatApplyRequest.
type ChatApplyResponse struct {
	Chat *Chat
	WriteMeta
}

// ChatAskRequest starts or continues a chat (POST /api/v1/assistant/chats).
type ChatAskRequest struct {
	ChatID string
	Prompt string
	WriteRequest
}

// ChatAskResponse names the chat.
type ChatAskResponse struct {
	ChatID      string
	ExecutionID string
	WriteMeta
}

// ChatSpecificRequest reads one chat.
type ChatSpecificRequest struct {
	ChatID string
	QueryOptions
}

// SingleChatResponse answers ChatSpecificRequest.
type SingleChatResponse struct {
	Chat *Chat
	QueryMeta
}

// ChatListRequest lists chats the caller may see.
type ChatListRequest struct {
	QueryOptions
}

// ChatListResponse answers ChatListRequest (chats without messages or events).
type ChatListResponse struct {
	Chats []*Chat
	QueryMeta
}

// ChatToolConfirmRequest approves or rejects a proposed change.
type ChatToolConfirmRequest struct {
	ChatID    string
	RequestID string
	Approve   bool
	WriteRequest
}

// ChatToolConfirmResponse is the resolved request.
type ChatToolConfirmResponse struct {
	Request *ChatToolRequest
	WriteMeta
}
