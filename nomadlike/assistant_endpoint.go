package nomadlike

import (
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// AssistantEndpoint serves the ops assistant's chats (spec 002).
type AssistantEndpoint struct{ srv *Server }

// errChatNotFound: a chat another token started is "not found" too, its
// existence being the owner's business.
var errChatNotFound = structs.ErrChatNotFound

// chatCaller is who asks: the token's accessor and the name chats show.
type chatCaller struct {
	accessor, userID string
	// all: ACLs off or a management token, which see and continue
	// every chat.
	all bool
}

// chatCaller resolves secret and checks capability c.
func (s *Server) chatCaller(secret string, c acl.Capability) (*chatCaller, error) {
	a, tok, err := s.ResolveToken(secret)
	if err != nil {
		return nil, err
	}
	if a != nil && !a.Allow(c) {
		return nil, structs.ErrPermissionDenied
	}
	if a == nil || tok == nil {
		return &chatCaller{userID: "anonymous", all: true}, nil
	}
	who := &chatCaller{accessor: tok.AccessorID, userID: tok.Name, all: a.IsManagement()}
	if who.userID == "" {
		who.userID = tok.AccessorID
	}
	return who, nil
}

// owns tells whether the caller may see and continue chat c.
func (w *chatCaller) owns(c *structs.Chat) bool {
	return w.all || c.OwnerAccessor == w.accessor
}

// chatID derives an ID from a write's request ID, so that a resent
// request names the same chat, messages and execution.
func chatID(requestID, what string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(requestID+"/"+what)).String()
}

// Ask starts a chat, or continues one, with the caller's prompt, and
// starts the assistant's execution on this server (it is not forwarded:
// the execution holds the caller's token in memory, never in Raft).
func (a *AssistantEndpoint) Ask(args *structs.ChatAskRequest, reply *structs.ChatAskResponse) error {
	s := a.srv
	if _, err := s.chatCaller(args.AuthToken, acl.AssistantWrite); err != nil {
		return err
	}
	prompt := strings.TrimSpace(args.Prompt)
	switch {
	case prompt == "":
		return structs.NewErrCoded(http.StatusBadRequest, "prompt is required")
	case len(args.Prompt) > structs.MaxChatPromptBytes:
		return structs.NewErrCoded(http.StatusBadRequest, "prompt is %d bytes, more than the %d a prompt may have", len(args.Prompt), structs.MaxChatPromptBytes)
	case !utf8.ValidString(args.Prompt):
		return structs.NewErrCoded(http.StatusBadRequest, "prompt is not valid UTF-8")
	}
	reqID := args.EnsureRequestID()
	now := time.Now().UTC()
	var ops []*structs.ChatOp
	id := args.ChatID
	if id == "" {
		id = chatID(reqID, "chat")
		ops = append(ops, &structs.ChatOp{Kind: structs.ChatOpCreate, ChatID: id, Name: chatName(prompt)})
	}
	// A chat to continue is checked where it is written: Apply refuses
	// another token's chat, the FSM one that does not exist (both 404).
	execID := chatID(reqID, "execution")
	answerID := chatID(reqID, "answer")
	ops = append(ops,
		&structs.ChatOp{Kind: structs.ChatOpAddMessage, ChatID: id, Message: &structs.ChatMessage{
			ID: chatID(reqID, "prompt"), Role: structs.ChatRoleUser, Timestamp: now,
			Content: []structs.ChatContent{{Type: "text", Text: args.Prompt}}}},
		&structs.ChatOp{Kind: structs.ChatOpStartExecution, ChatID: id, Execution: &structs.ChatExecution{
			ID: execID, Server: s.config.memberName(), BootID: s.bootID, MessageID: answerID}},
		&structs.ChatOp{Kind: structs.ChatOpAddMessage, ChatID: id, ExecutionID: execID, Message: &structs.ChatMessage{
			ID: answerID, Role: structs.ChatRoleAssistant, Timestamp: now, Content: []structs.ChatContent{}}},
	)
	apply := &structs.ChatApplyRequest{Ops: ops}
	apply.AuthToken, apply.RequestID = args.AuthToken, reqID
	var out structs.ChatApplyResponse
	if err := s.RPC("Assistant.Apply", apply, &out); err != nil {
		return err
	}
	c := out.Chat
	if c == nil || c.Execution == nil {
		return structs.NewErrCoded(http.StatusInternalServerError, "chat %s: no execution after the write", id)
	}
	if e := c.Execution; e.ID == execID && e.Server == s.config.memberName() && e.BootID == s.bootID {
		// A repeat of this request (same ID) finds the execution it
		// started already: executions.start runs it once.
		s.executions.start(s, c, args.AuthToken)
	}
	reply.ChatID, reply.ExecutionID, reply.Index = id, execID, out.Index
	return nil
}

// chatName is a new chat's name: the start of its first prompt.
func chatName(prompt string) string {
	const max = 60
	line, _, _ := strings.Cut(prompt, "\n")
	if utf8.RuneCountInString(line) <= max {
		return line
	}
	r := []rune(line)
	return strings.TrimSpace(string(r[:max])) + "…"
}

// Apply writes chat operations through Raft. The assistant's executions
// write through it with the caller's token; a token may only touch chats
// it owns (or all of them with a management token).
func (a *AssistantEndpoint) Apply(args *structs.ChatApplyRequest, reply *structs.ChatApplyResponse) error {
	s := a.srv
	if done, err := s.forward("Assistant.Apply", args, args, reply); done {
		return err
	}
	who, err := s.chatCaller(args.AuthToken, acl.AssistantWrite)
	if err != nil {
		return err
	}
	if len(args.Ops) == 0 {
		return structs.NewErrCoded(http.StatusBadRequest, "no chat operations")
	}
	state := s.fsm.State()
	for _, op := range args.Ops {
		if op == nil {
			return structs.NewErrCoded(http.StatusBadRequest, "missing chat operation")
		}
		if op.Kind == structs.ChatOpCreate {
			// The owner is whoever creates it, as the leader resolves
			// the token: not what the request says.
			op.OwnerAccessor, op.UserID = who.accessor, who.userID
			continue
		}
		ids := op.ChatIDs
		if op.Kind != structs.ChatOpDelete {
			ids = []string{op.ChatID}
		}
		for _, id := range ids {
			c, err := state.ChatByID(nil, id)
			if err != nil {
				return err
			}
			if c != nil && !who.owns(c) {
				return errChatNotFound
			}
		}
	}
	args.Time = time.Now().UTC()
	resp, index, err := s.raftApply(structs.ChatApplyRequestType, args)
	if err != nil {
		return err
	}
	if res, ok := resp.(*fsm.ChatApplyResult); ok {
		reply.Chat = res.Chat
	}
	reply.Index = index
	return nil
}

// Get returns one chat the caller may see; another token's chat is not
// found.
func (a *AssistantEndpoint) Get(args *structs.ChatSpecificRequest, reply *structs.SingleChatResponse) error {
	s := a.srv
	if done, err := s.forward("Assistant.Get", args, args, reply); done {
		return err
	}
	who, err := s.chatCaller(args.AuthToken, acl.AssistantRead)
	if err != nil {
		return err
	}
	return s.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		c, err := state.ChatByID(ws, args.ChatID)
		if err != nil {
			return err
		}
		if c == nil || !who.owns(c) {
			reply.Chat = nil
		} else {
			reply.Chat = c
		}
		reply.Index, err = state.Index("chats")
		return err
	})
}

// List returns the chats the caller may see, newest first, without their
// messages and events.
func (a *AssistantEndpoint) List(args *structs.ChatListRequest, reply *structs.ChatListResponse) error {
	s := a.srv
	if done, err := s.forward("Assistant.List", args, args, reply); done {
		return err
	}
	who, err := s.chatCaller(args.AuthToken, acl.AssistantRead)
	if err != nil {
		return err
	}
	return s.blockingRPC(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, state *fsm.StateStore) error {
		chats, err := state.Chats(ws)
		if err != nil {
			return err
		}
		reply.Chats = []*structs.Chat{}
		for _, c := range chats {
			if !who.owns(c) || !strings.HasPrefix(c.ID, args.Prefix) {
				continue
			}
			sum := *c
			sum.Messages, sum.Events, sum.ToolRequests = nil, nil, nil
			reply.Chats = append(reply.Chats, &sum)
		}
		slices.SortStableFunc(reply.Chats, func(x, y *structs.Chat) int { return y.Modified.Compare(x.Modified) })
		reply.Index, err = state.Index("chats")
		return err
	})
}

// Confirm approves or rejects a change the assistant proposed. An
// approved change runs here, with the caller's token, at most once: the
// request is marked approved through Raft before the tool runs, so a
// repeat of the confirmation finds it resolved.
func (a *AssistantEndpoint) Confirm(args *structs.ChatToolConfirmRequest, reply *structs.ChatToolConfirmResponse) error {
	s := a.srv
	if _, err := s.chatCaller(args.AuthToken, acl.AssistantWrite); err != nil {
		return err
	}
	var got structs.SingleChatResponse
	get := &structs.ChatSpecificRequest{ChatID: args.ChatID}
	get.AuthToken = args.AuthToken
	if err := s.RPC("Assistant.Get", get, &got); err != nil {
		return err
	}
	if got.Chat == nil {
		return errChatNotFound
	}
	i := slices.IndexFunc(got.Chat.ToolRequests, func(r *structs.ChatToolRequest) bool { return r.ID == args.RequestID })
	if i < 0 {
		return structs.NewErrCoded(http.StatusNotFound, "tool request %s not found in chat %s", args.RequestID, args.ChatID)
	}
	tr := *got.Chat.ToolRequests[i]
	reqID := args.EnsureRequestID()
	// A repeat of a confirmation this server ran answers what it did;
	// the claim below refuses a second confirmation of another ID.
	if !s.executions.claim("confirm/" + reqID) {
		return structs.NewErrCoded(http.StatusConflict, "this confirmation is running or ran already")
	}
	state := structs.ToolRequestRejected
	if args.Approve {
		state = structs.ToolRequestApproved
	}
	claim := &structs.ChatApplyRequest{Ops: []*structs.ChatOp{{Kind: structs.ChatOpToolResolve, ChatID: args.ChatID,
		ToolRequest: &structs.ChatToolRequest{ID: tr.ID, State: state}}}}
	claim.AuthToken, claim.RequestID = args.AuthToken, reqID
	var out structs.ChatApplyResponse
	if err := s.RPC("Assistant.Apply", claim, &out); err != nil {
		return err
	}
	text := "Rejected: " + tr.Description
	tr.State = state
	if args.Approve {
		result, err := s.runTool(args.AuthToken, tr.Tool, tr.Arguments)
		if err != nil {
			text = "Failed: " + tr.Description + ": " + err.Error()
			tr.State, tr.Result = structs.ToolRequestFailed, err.Error()
		} else {
			text = "Done: " + tr.Description
			if result != "" {
				text += "\n\n" + result
			}
			tr.Result = result
		}
	}
	// The outcome as a message of the chat, so every stream shows it.
	ops := []*structs.ChatOp{{Kind: structs.ChatOpAddMessage, ChatID: args.ChatID,
		Message: &structs.ChatMessage{ID: chatID(reqID, "outcome"), Role: structs.ChatRoleAssistant, Timestamp: time.Now().UTC(),
			Content: []structs.ChatContent{{Type: "text", Text: text}}}}}
	if args.Approve {
		result := tr.Result
		if result == "" {
			result = "ok"
		}
		ops = append(ops, &structs.ChatOp{Kind: structs.ChatOpToolResolve, ChatID: args.ChatID,
			ToolRequest: &structs.ChatToolRequest{ID: tr.ID, State: tr.State, Result: result}})
	}
	note := &structs.ChatApplyRequest{Ops: ops}
	note.AuthToken, note.RequestID = args.AuthToken, chatID(reqID, "outcome-write")
	if err := s.RPC("Assistant.Apply", note, &out); err != nil {
		return err
	}
	reply.Request, reply.Index = &tr, out.Index
	return nil
}

// LocalChat reads a chat from this server's own state, for the caller's
// token: nil and errChatNotFound when the token may not see it. A chat's
// owner never changes, so a server that cannot reach a leader (an
// election) can still decide who may stream a chat from what it has.
func (s *Server) LocalChat(secret, id string) (*structs.Chat, error) {
	who, err := s.chatCaller(secret, acl.AssistantRead)
	if err != nil {
		return nil, err
	}
	c, err := s.fsm.State().ChatByID(nil, id)
	if err != nil {
		return nil, err
	}
	if c == nil || !who.owns(c) {
		return nil, errChatNotFound
	}
	return c, nil
}
