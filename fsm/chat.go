package fsm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

// Event topic of assistant chats. Each chat event's Type is spec 002's
// (MESSAGE_CREATED, ...); TypeChatDeleted ends the chat's streams.
const (
	TopicChat       = "Chat"
	TypeChatDeleted = "CHAT_DELETED"
)

const tableChats = "chats"

func chatTableSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableChats,
		Indexes: map[string]*memdb.IndexSchema{
			"id":    {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"owner": {Name: "owner", Indexer: ownerIndexer{}},
			// running finds the chats being answered without a scan.
			"running": {Name: "running", Indexer: &memdb.ConditionalIndex{Conditional: func(obj any) (bool, error) {
				c, ok := obj.(*structs.Chat)
				return ok && c.Execution != nil && c.Execution.State == structs.ExecutionRunning, nil
			}}},
		},
	}
}

func init() {
	schemaFuncs = append(schemaFuncs, chatTableSchema)
	register(structs.ChatApplyRequestType, (*FSM).applyChat)
}

// ChatApplyResult answers a chat apply: the last chat the request touched
// as stored after it (nil after a delete).
type ChatApplyResult struct {
	Chat *structs.Chat
}

func (f *FSM) applyChat(buf []byte, index uint64) any {
	var req structs.ChatApplyRequest
	decode(buf, &req, index)
	res, events, err := f.State().ApplyChatOps(index, &req)
	if err != nil {
		return err
	}
	f.publish(index, events)
	return res
}

// ApplyChatOps applies req's operations in order in one transaction; the
// first refused refuses them all and writes nothing. It returns the
// events to publish: one per chat event, in order.
func (s *StateStore) ApplyChatOps(index uint64, req *structs.ChatApplyRequest) (*ChatApplyResult, []stream.Event, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()
	// Chats modified by this request, copied once (memdb rows are never
	// changed in place: readers hold them).
	touched := map[string]*structs.Chat{}
	var order []string
	var events []stream.Event
	res := &ChatApplyResult{}
	load := func(id string) (*structs.Chat, error) {
		if c, ok := touched[id]; ok {
			return c, nil
		}
		raw, err := txn.First(tableChats, "id", id)
		if err != nil {
			return nil, fmt.Errorf("chat lookup failed: %w", err)
		}
		if raw == nil {
			return nil, structs.ErrChatNotFound
		}
		c := copyChat(raw.(*structs.Chat))
		touched[id] = c
		order = append(order, id)
		return c, nil
	}
	emit := func(c *structs.Chat, typ, messageID string, data any) error {
		b, err := json.Marshal(data)
		if err != nil {
			return fmt.Errorf("chat event: %w", err)
		}
		ev := &structs.ChatEvent{Index: index, Type: typ, MessageID: messageID, Data: b}
		if typ == structs.ChatEventMessageUpdated {
			// The new update carries the whole message: an earlier one of
			// the same message is superseded for resuming readers.
			c.Events = slices.DeleteFunc(c.Events, func(e *structs.ChatEvent) bool {
				return e.Type == structs.ChatEventMessageUpdated && e.MessageID == messageID
			})
		}
		c.Events = append(c.Events, ev)
		events = append(events, stream.Event{Topic: TopicChat, Type: typ, Key: c.ID, Index: index, Payload: ev})
		return nil
	}
	running := func(c *structs.Chat, execID string) error {
		if execID == "" {
			return nil
		}
		if c.Execution == nil || c.Execution.ID != execID || c.Execution.State != structs.ExecutionRunning {
			return structs.NewErrCoded(http.StatusConflict, "execution %s of chat %s is not running", execID, c.ID)
		}
		return nil
	}
	execData := func(c *structs.Chat) map[string]any {
		m := map[string]any{"chatId": c.ID, "executionId": c.Execution.ID, "state": c.Execution.State, "messageId": c.Execution.MessageID}
		if c.Execution.Error != "" {
			m["error"] = c.Execution.Error
		}
		return m
	}

	for _, op := range req.Ops {
		if op == nil {
			return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "missing chat operation")
		}
		switch op.Kind {
		case structs.ChatOpCreate:
			raw, err := txn.First(tableChats, "id", op.ChatID)
			if err != nil {
				return nil, nil, fmt.Errorf("chat lookup failed: %w", err)
			}
			if raw != nil || touched[op.ChatID] != nil {
				return nil, nil, structs.NewErrCoded(http.StatusConflict, "chat %s exists", op.ChatID)
			}
			// A token keeps at most MaxChatsPerOwner chats: its oldest
			// idle chat makes room for a new one.
			if err := s.makeRoomForChat(txn, op.OwnerAccessor, index, &events); err != nil {
				return nil, nil, err
			}
			c := &structs.Chat{ID: op.ChatID, Name: op.Name, Category: structs.ChatCategory, UserID: op.UserID,
				OwnerAccessor: op.OwnerAccessor, Created: req.Time, CreateIndex: index}
			if c.Name == "" {
				c.Name = structs.ChatDefaultName
			}
			touched[c.ID] = c
			order = append(order, c.ID)
		case structs.ChatOpAddMessage:
			c, err := load(op.ChatID)
			if err != nil {
				return nil, nil, err
			}
			if err := running(c, op.ExecutionID); err != nil {
				return nil, nil, err
			}
			if op.Message == nil || op.Message.ID == "" {
				return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "missing message")
			}
			if len(c.Messages) >= structs.MaxChatMessages {
				return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "chat %s has %d messages, the most a chat holds: start a new chat", c.ID, structs.MaxChatMessages)
			}
			for _, m := range c.Messages {
				if m.ID == op.Message.ID {
					return nil, nil, structs.NewErrCoded(http.StatusConflict, "message %s exists", m.ID)
				}
			}
			m := copyMessage(op.Message)
			c.Messages = append(c.Messages, m)
			if err := emit(c, structs.ChatEventMessageCreated, m.ID, m); err != nil {
				return nil, nil, err
			}
		case structs.ChatOpUpdateMessage:
			c, err := load(op.ChatID)
			if err != nil {
				return nil, nil, err
			}
			if err := running(c, op.ExecutionID); err != nil {
				return nil, nil, err
			}
			if op.Message == nil {
				return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "missing message")
			}
			i := slices.IndexFunc(c.Messages, func(m *structs.ChatMessage) bool { return m.ID == op.Message.ID })
			if i < 0 {
				return nil, nil, structs.NewErrCoded(http.StatusNotFound, "message %s not found in chat %s", op.Message.ID, c.ID)
			}
			m := copyMessage(op.Message)
			c.Messages[i] = m
			if err := emit(c, structs.ChatEventMessageUpdated, m.ID, m); err != nil {
				return nil, nil, err
			}
		case structs.ChatOpStartExecution:
			c, err := load(op.ChatID)
			if err != nil {
				return nil, nil, err
			}
			if op.Execution == nil || op.Execution.ID == "" {
				return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "missing execution")
			}
			if c.Execution != nil && c.Execution.State == structs.ExecutionRunning {
				return nil, nil, structs.NewErrCoded(http.StatusConflict, "the assistant is still answering in chat %s: wait for it to finish", c.ID)
			}
			e := *op.Execution
			e.State, e.Started, e.Ended, e.Error = structs.ExecutionRunning, req.Time, time.Time{}, ""
			c.Execution = &e
			if err := emit(c, structs.ChatEventExecutionStarted, "", execData(c)); err != nil {
				return nil, nil, err
			}
		case structs.ChatOpEndExecution:
			c, err := load(op.ChatID)
			if err != nil {
				return nil, nil, err
			}
			if err := running(c, op.ExecutionID); err != nil {
				return nil, nil, err
			}
			e := *c.Execution
			e.Ended = req.Time
			typ := structs.ChatEventExecutionCompleted
			e.State = structs.ExecutionCompleted
			if op.Failed {
				typ, e.State, e.Error = structs.ChatEventExecutionFailed, structs.ExecutionFailed, op.Error
			}
			c.Execution = &e
			if err := emit(c, typ, "", execData(c)); err != nil {
				return nil, nil, err
			}
		case structs.ChatOpToolRequest:
			c, err := load(op.ChatID)
			if err != nil {
				return nil, nil, err
			}
			if err := running(c, op.ExecutionID); err != nil {
				return nil, nil, err
			}
			if op.ToolRequest == nil || op.ToolRequest.ID == "" {
				return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "missing tool request")
			}
			tr := *op.ToolRequest
			tr.State, tr.Created, tr.ExecutionID = structs.ToolRequestPending, req.Time, op.ExecutionID
			c.ToolRequests = append(c.ToolRequests, &tr)
			if err := emit(c, structs.ChatEventRemoteToolRequest, "", map[string]any{"chatId": c.ID, "request": &tr}); err != nil {
				return nil, nil, err
			}
		case structs.ChatOpToolResolve:
			c, err := load(op.ChatID)
			if err != nil {
				return nil, nil, err
			}
			if op.ToolRequest == nil {
				return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "missing tool request")
			}
			i := slices.IndexFunc(c.ToolRequests, func(r *structs.ChatToolRequest) bool { return r.ID == op.ToolRequest.ID })
			if i < 0 {
				return nil, nil, structs.NewErrCoded(http.StatusNotFound, "tool request %s not found in chat %s", op.ToolRequest.ID, c.ID)
			}
			// pending → approved or rejected; approved → its outcome
			// (approved or failed, with the result), once.
			cur := c.ToolRequests[i]
			next := op.ToolRequest.State
			switch {
			case cur.State == structs.ToolRequestPending && (next == structs.ToolRequestApproved || next == structs.ToolRequestRejected):
			case cur.State == structs.ToolRequestApproved && cur.Result == "" && (next == structs.ToolRequestApproved || next == structs.ToolRequestFailed):
			default:
				return nil, nil, structs.NewErrCoded(http.StatusConflict, "tool request %s is %s already", op.ToolRequest.ID, cur.State)
			}
			tr := *c.ToolRequests[i]
			tr.State, tr.Result = op.ToolRequest.State, op.ToolRequest.Result
			c.ToolRequests[i] = &tr
		case structs.ChatOpDelete:
			for _, id := range op.ChatIDs {
				raw, err := txn.First(tableChats, "id", id)
				if err != nil {
					return nil, nil, fmt.Errorf("chat lookup failed: %w", err)
				}
				delete(touched, id)
				order = slices.DeleteFunc(order, func(o string) bool { return o == id })
				if raw == nil {
					continue
				}
				if err := txn.Delete(tableChats, raw); err != nil {
					return nil, nil, fmt.Errorf("chat delete failed: %w", err)
				}
				events = append(events, stream.Event{Topic: TopicChat, Type: TypeChatDeleted, Key: id, Index: index})
			}
			res.Chat = nil
		default:
			return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "unknown chat operation %q", op.Kind)
		}
	}
	for _, id := range order {
		c := touched[id]
		c.Modified, c.ModifyIndex = req.Time, index
		if err := txn.Insert(tableChats, c); err != nil {
			return nil, nil, fmt.Errorf("chat insert failed: %w", err)
		}
		res.Chat = c
	}
	if err := setIndex(txn, tableChats, index); err != nil {
		return nil, nil, err
	}
	txn.Commit()
	return res, events, nil
}

// copyChat copies what an apply changes: the slices of pointers (their
// elements are replaced, never changed in place).
func copyChat(c *structs.Chat) *structs.Chat {
	n := *c
	n.Messages = slices.Clone(c.Messages)
	n.ToolRequests = slices.Clone(c.ToolRequests)
	n.Events = slices.Clone(c.Events)
	return &n
}

// copyMessage copies m; its content is an array even when empty, as
// spec 002 shows it (msgpack brings an empty one back as nil).
func copyMessage(m *structs.ChatMessage) *structs.ChatMessage {
	n := *m
	n.Content = slices.Clone(m.Content)
	if n.Content == nil {
		n.Content = []structs.ChatContent{}
	}
	return &n
}

// ChatByID returns the chat, or nil; ws fires when it changes.
func (s *StateStore) ChatByID(ws memdb.WatchSet, id string) (*structs.Chat, error) {
	return first[structs.Chat](s, ws, tableChats, "id", id)
}

// Chats returns every chat in ID order; ws fires when the set changes.
func (s *StateStore) Chats(ws memdb.WatchSet) ([]*structs.Chat, error) {
	it, err := s.db.Txn(false).Get(tableChats, "id")
	if err != nil {
		return nil, fmt.Errorf("chat list failed: %w", err)
	}
	ws.Add(it.WatchCh())
	out := []*structs.Chat{}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Chat))
	}
	return out, nil
}

// ChatRestore restores one chat from a snapshot.
func (r *StateRestore) ChatRestore(c *structs.Chat) error {
	return r.txn.Insert(tableChats, c)
}

// RunningChats returns the chats whose execution is running.
func (s *StateStore) RunningChats() ([]*structs.Chat, error) {
	it, err := s.db.Txn(false).Get(tableChats, "running", true)
	if err != nil {
		return nil, fmt.Errorf("running chats lookup failed: %w", err)
	}
	var out []*structs.Chat
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Chat))
	}
	return out, nil
}

// ownerIndexer indexes a chat by its owner's accessor, the empty one
// (ACLs off) included.
type ownerIndexer struct{}

func (ownerIndexer) FromObject(obj any) (bool, []byte, error) {
	c, ok := obj.(*structs.Chat)
	if !ok {
		return false, nil, fmt.Errorf("owner index: %T is not a chat", obj)
	}
	return true, []byte(c.OwnerAccessor + "\x00"), nil
}

func (ownerIndexer) FromArgs(args ...any) ([]byte, error) {
	owner, err := indexArg[string]("owner", args)
	if err != nil {
		return nil, err
	}
	return []byte(owner + "\x00"), nil
}

// makeRoomForChat deletes owner's least recently changed idle chat when
// the owner has MaxChatsPerOwner already; with every one of them being
// answered, the new chat is refused.
func (s *StateStore) makeRoomForChat(txn *memdb.Txn, owner string, index uint64, events *[]stream.Event) error {
	it, err := txn.Get(tableChats, "owner", owner)
	if err != nil {
		return fmt.Errorf("chat owner lookup failed: %w", err)
	}
	n := 0
	var oldest *structs.Chat
	for raw := it.Next(); raw != nil; raw = it.Next() {
		c := raw.(*structs.Chat)
		n++
		if c.Execution != nil && c.Execution.State == structs.ExecutionRunning {
			continue
		}
		if oldest == nil || c.Modified.Before(oldest.Modified) || c.Modified.Equal(oldest.Modified) && c.ID < oldest.ID {
			oldest = c
		}
	}
	if n < structs.MaxChatsPerOwner {
		return nil
	}
	if oldest == nil {
		return structs.NewErrCoded(http.StatusTooManyRequests, "%d chats are being answered: wait for one to finish", n)
	}
	if err := txn.Delete(tableChats, oldest); err != nil {
		return fmt.Errorf("chat delete failed: %w", err)
	}
	*events = append(*events, stream.Event{Topic: TopicChat, Type: TypeChatDeleted, Key: oldest.ID, Index: index})
	return nil
}
