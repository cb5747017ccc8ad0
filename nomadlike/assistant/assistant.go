// Package assistant is the ops assistant's brain: it answers one turn of a
// chat, from the live cluster, through Tools bound to the caller's token.
// Two engines implement Engine: Builtin (a deterministic intent parser, no
// external service) and OpenAI (any OpenAI-compatible chat-completions
// endpoint, streaming, with tool calling over the same Tools). The server
// (package nomadlike) runs an engine for an execution and writes what it
// produces through Raft; this package knows nothing of Raft or HTTP.
package assistant

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/nomadlike/nomadlike/structs"
)

// Engine answers the last user message of a chat.
type Engine interface {
	// Answer writes the assistant's reply to out as it is produced. It
	// returns when the answer is complete, ctx is done, or it fails; an
	// error fails the execution (AGENT_EXECUTION_FAILED).
	Answer(ctx context.Context, turn Turn, out Output) error
}

// Turn is what an engine answers.
type Turn struct {
	// History is the chat so far, oldest first; its last element is the
	// user message to answer.
	History []*structs.ChatMessage
	// Tools read (and propose changes to) the cluster with the caller's
	// token: an answer can never show what that token may not see.
	Tools Tools
}

// Output receives an answer as it is produced.
type Output interface {
	// Text appends delta to the assistant's message.
	Text(delta string)
	// Propose records a change the assistant would make (a tool whose
	// Tool.Mutating is true). It is never run by the assistant: the
	// caller confirms it through the API and it then runs with the
	// caller's token. It returns the request's ID.
	Propose(call ToolCall) string
}

// Tool describes one tool for an engine (and for an LLM's function list).
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the tool's arguments object.
	Parameters map[string]any
	// Mutating tools change state: engines must Propose them, not Call.
	Mutating bool
}

// ToolCall is a call of a tool by name with JSON arguments.
type ToolCall struct {
	Name      string
	Arguments json.RawMessage
}

// Tools is the cluster as the caller's token sees it.
type Tools interface {
	// List returns every tool, read-only and mutating.
	List() []Tool
	// Call runs a read-only tool and returns its result as JSON (what an
	// LLM is shown). A mutating tool is refused with ErrNeedsConsent.
	// A permission error is returned as an error whose text says which
	// capability is missing; engines show it rather than guess.
	Call(ctx context.Context, call ToolCall) (json.RawMessage, error)
	// Run runs a mutating tool. Only the server calls it, when the
	// chat's caller has confirmed the proposal, with the caller's token.
	Run(ctx context.Context, call ToolCall) (json.RawMessage, error)
	// Describe says in one line what a proposed call would do, for the
	// REMOTE_TOOL_REQUEST shown to the caller.
	Describe(call ToolCall) string
}

// ErrNeedsConsent refuses Call of a mutating tool.
var ErrNeedsConsent = errors.New("this tool changes the cluster: it is proposed to the caller, who must confirm it")
