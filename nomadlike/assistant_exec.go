package nomadlike

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/nomadlike/nomadlike/nomadlike/assistant"
	"github.com/nomadlike/nomadlike/structs"
)

// How an execution writes its answer through Raft.
const (
	// chatUpdateInterval is the least time between two MESSAGE_UPDATED
	// writes of one execution: a few per second, so a streamed answer
	// costs a handful of raft entries a second per chat, not one per
	// token (DESIGN.md, "The assistant").
	chatUpdateInterval = 250 * time.Millisecond
	// maxExecution bounds one answer; the leader fails a longer one.
	maxExecution = 10 * time.Minute
	// finishWithin bounds the retries of an execution's last write.
	finishWithin = 30 * time.Second
	// orphanGrace is how long the leader lets gossip catch up before it
	// fails an execution whose server is gone or restarted.
	orphanGrace = 3 * time.Second
	// claimMemory is how long a server remembers the executions and
	// confirmations it started, to run each once.
	claimMemory = time.Hour
)

// executions are the assistant executions and confirmations this server
// runs.
type executions struct {
	mu      sync.Mutex
	claimed map[string]time.Time
	swept   time.Time
	cancels map[string]context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

// claim reports whether id is new here (and remembers it).
func (e *executions) claim(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if e.claimed == nil {
		e.claimed = map[string]time.Time{}
	}
	if now.Sub(e.swept) > time.Minute {
		// Forget old claims once a minute, not on every claim.
		for k, t := range e.claimed {
			if now.Sub(t) > claimMemory {
				delete(e.claimed, k)
			}
		}
		e.swept = now
	}
	if _, ok := e.claimed[id]; ok {
		return false
	}
	e.claimed[id] = now
	return true
}

// start runs c's execution once on this server.
func (e *executions) start(s *Server, c *structs.Chat, token string) {
	exec := c.Execution
	if !e.claim("execution/" + exec.ID) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), maxExecution)
	if e.cancels == nil {
		e.cancels = map[string]context.CancelFunc{}
	}
	e.cancels[exec.ID] = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			e.mu.Lock()
			delete(e.cancels, exec.ID)
			e.mu.Unlock()
			cancel()
		}()
		s.runExecution(ctx, c, token)
	}()
}

// stopAll cancels every execution and waits up to wait for them to
// write how they ended.
func (e *executions) stopAll(wait time.Duration) {
	e.mu.Lock()
	e.stopped = true
	for _, cancel := range e.cancels {
		cancel()
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
}

// assistantEngine is the engine executions run.
func (s *Server) assistantEngine() assistant.Engine {
	if s.config.AssistantEngine != nil {
		return s.config.AssistantEngine
	}
	return defaultAssistantEngine()
}

// runExecution answers the chat's last prompt and writes the answer, as
// it grows, through Raft; it always ends the execution, completed or
// failed, unless the leader failed it first.
func (s *Server) runExecution(ctx context.Context, c *structs.Chat, token string) {
	exec := c.Execution
	var history []*structs.ChatMessage
	var answer *structs.ChatMessage
	for _, m := range c.Messages {
		if m.ID == exec.MessageID {
			answer = m
			break
		}
		history = append(history, m)
	}
	if answer == nil {
		s.logger.Error("assistant execution has no answer message", "chat", c.ID, "execution", exec.ID)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tools := newAssistantTools(s, token)
	w := &execWriter{s: s, chatID: c.ID, execID: exec.ID, token: token, tools: tools, answer: *answer,
		cancel: cancel, wake: make(chan struct{}, 1), done: make(chan struct{})}
	flushed := make(chan struct{})
	go func() { defer close(flushed); w.flushLoop(ctx) }()

	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.logger.Error("assistant engine panicked", "chat", c.ID, "panic", r)
				err = fmt.Errorf("the assistant failed: %v", r)
			}
		}()
		return s.assistantEngine().Answer(ctx, assistant.Turn{History: history, Tools: tools}, w)
	}()
	close(w.done)
	<-flushed
	if w.gone.Load() {
		return // the leader failed it already
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		s.executions.mu.Lock()
		stopping := s.executions.stopped
		s.executions.mu.Unlock()
		switch {
		case stopping:
			err = fmt.Errorf("server %s stopped while answering", s.config.NodeName)
		case errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("the answer took longer than %s", maxExecution)
		}
	}
	w.finish(err)
}

// execWriter is an execution's assistant.Output: text is written through
// Raft at most every chatUpdateInterval.
type execWriter struct {
	s                     *Server
	chatID, execID, token string
	tools                 assistant.Tools
	cancel                context.CancelFunc
	wake                  chan struct{}
	done                  chan struct{}
	gone                  atomic.Bool

	mu      sync.Mutex
	answer  structs.ChatMessage
	text    strings.Builder
	written int // bytes of text already written through Raft
	full    bool
}

// Text appends delta to the answer.
func (w *execWriter) Text(delta string) {
	w.mu.Lock()
	if w.text.Len()+len(delta) > structs.MaxChatMessageBytes {
		if !w.full {
			w.full = true
			w.cancel()
		}
		w.mu.Unlock()
		return
	}
	w.text.WriteString(delta)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Propose writes a REMOTE_TOOL_REQUEST after the text so far.
func (w *execWriter) Propose(call assistant.ToolCall) string {
	id := uuid.NewString()
	w.flush()
	args := call.Arguments
	if len(args) == 0 || !json.Valid(args) {
		args = json.RawMessage("{}")
	}
	desc := call.Name
	if w.tools != nil {
		desc = w.tools.Describe(call)
	}
	w.apply(&structs.ChatOp{Kind: structs.ChatOpToolRequest, ChatID: w.chatID, ExecutionID: w.execID,
		ToolRequest: &structs.ChatToolRequest{ID: id, Tool: call.Name, Arguments: args, Description: desc}})
	return id
}

// flushLoop writes the text as it grows, at most every
// chatUpdateInterval, until the engine is done.
func (w *execWriter) flushLoop(ctx context.Context) {
	for {
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		w.flush()
		select {
		case <-w.done:
			return
		case <-ctx.Done():
			return
		case <-time.After(chatUpdateInterval):
		}
	}
}

// updateOp is the MESSAGE_UPDATED of the text so far, or nil when it is
// written already.
func (w *execWriter) updateOp() (*structs.ChatOp, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.text.Len()
	if n == w.written {
		return nil, n
	}
	m := w.answer
	m.Content = []structs.ChatContent{{Type: "text", Text: w.text.String()}}
	return &structs.ChatOp{Kind: structs.ChatOpUpdateMessage, ChatID: w.chatID, ExecutionID: w.execID, Message: &m}, n
}

func (w *execWriter) flush() {
	op, n := w.updateOp()
	if op == nil {
		return
	}
	if w.apply(op) == nil {
		w.mu.Lock()
		w.written = max(w.written, n)
		w.mu.Unlock()
	}
}

// apply writes ops with the caller's token. A conflict means the
// execution is no longer running (the leader failed it): the engine is
// stopped.
func (w *execWriter) apply(ops ...*structs.ChatOp) error {
	req := &structs.ChatApplyRequest{Ops: ops}
	req.AuthToken = w.token
	var out structs.ChatApplyResponse
	err := w.s.RPC("Assistant.Apply", req, &out)
	if err != nil {
		var coded *structs.CodedError
		if errors.As(err, &coded) && coded.Code == http.StatusConflict {
			w.gone.Store(true)
			w.cancel()
		} else {
			w.s.logger.Warn("assistant could not write its answer", "chat", w.chatID, "error", err)
		}
	}
	return err
}

// finish writes the last text and the execution's end, retrying (with
// one request ID, so it applies once) while no leader answers.
func (w *execWriter) finish(failure error) {
	end := &structs.ChatOp{Kind: structs.ChatOpEndExecution, ChatID: w.chatID, ExecutionID: w.execID}
	if failure != nil {
		end.Failed, end.Error = true, failure.Error()
	}
	ops := []*structs.ChatOp{end}
	if op, _ := w.updateOp(); op != nil {
		ops = []*structs.ChatOp{op, end}
	}
	req := &structs.ChatApplyRequest{Ops: ops}
	req.AuthToken, req.RequestID = w.token, uuid.NewString()
	deadline := time.Now().Add(finishWithin)
	for {
		var out structs.ChatApplyResponse
		err := w.s.RPC("Assistant.Apply", req, &out)
		if err == nil {
			return
		}
		var coded *structs.CodedError
		if errors.As(err, &coded) && coded.Code < 500 || time.Now().After(deadline) || w.s.isShutdown() {
			w.s.logger.Warn("assistant could not end its execution", "chat", w.chatID, "execution", w.execID, "error", err)
			return
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-w.s.shutdownCh:
		}
	}
}

// runTool runs a confirmed change with the caller's token.
func (s *Server) runTool(token, name string, args json.RawMessage) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := newAssistantTools(s, token).Run(ctx, assistant.ToolCall{Name: name, Arguments: args})
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// reapExecutions runs on the leader: an execution whose server is gone
// from the pool, restarted (a new boot tag), or that ran longer than
// maxExecution is failed, so that no chat stays "running" forever.
func (s *Server) reapExecutions(stopCh chan struct{}) {
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	suspect := map[string]time.Time{}
	for {
		select {
		case <-stopCh:
			return
		case <-s.shutdownCh:
			return
		case <-ticker.C:
		}
		chats, err := s.fsm.State().RunningChats()
		if err != nil {
			s.logger.Error("listing running assistant executions failed", "error", err)
			continue
		}
		now := time.Now()
		seen := map[string]bool{}
		for _, c := range chats {
			e := c.Execution
			seen[e.ID] = true
			reason, certain := s.orphanReason(e, now)
			if reason == "" {
				delete(suspect, e.ID)
				continue
			}
			if !certain {
				// What gossip says must hold for orphanGrace.
				first, ok := suspect[e.ID]
				if !ok {
					suspect[e.ID] = now
				}
				if !ok || now.Sub(first) < orphanGrace {
					continue
				}
			}
			req := &structs.ChatApplyRequest{Time: now.UTC(), Ops: []*structs.ChatOp{{Kind: structs.ChatOpEndExecution,
				ChatID: c.ID, ExecutionID: e.ID, Failed: true, Error: reason}}}
			if _, _, err := s.raftApply(structs.ChatApplyRequestType, req); err != nil {
				var coded *structs.CodedError
				if !errors.As(err, &coded) || coded.Code != http.StatusConflict {
					s.logger.Warn("failing an orphaned assistant execution failed", "chat", c.ID, "error", err)
				}
				continue
			}
			s.logger.Info("failed an orphaned assistant execution", "chat", c.ID, "execution", e.ID, "reason", reason)
			delete(suspect, e.ID)
		}
		for id := range suspect {
			if !seen[id] {
				delete(suspect, id)
			}
		}
	}
}

// orphanReason says why execution e can no longer finish ("" when it
// can), and whether that is certain; gossip's word about another server
// is not until it has held for orphanGrace.
func (s *Server) orphanReason(e *structs.ChatExecution, now time.Time) (reason string, certain bool) {
	if now.Sub(e.Started) > maxExecution+finishWithin {
		return fmt.Sprintf("the answer took longer than %s", maxExecution), true
	}
	if e.Server == s.config.memberName() {
		if e.BootID != s.bootID {
			return fmt.Sprintf("server %s restarted while answering", e.Server), true
		}
		return "", false
	}
	m, ok := s.members.get(e.Server)
	switch {
	case !ok:
		return fmt.Sprintf("server %s that was answering is not in the cluster", e.Server), false
	case m.Status != statusAlive:
		return fmt.Sprintf("server %s that was answering is %s", e.Server, m.Status), false
	case m.Tags["boot"] != e.BootID:
		return fmt.Sprintf("server %s restarted while answering", e.Server), false
	}
	return "", false
}

// pruneChats deletes chats not modified for longer than ChatRetention
// (the _core scheduler), except those being answered.
func (s *Server) pruneChats(submitting func() error) error {
	if s.config.ChatRetention <= 0 {
		return nil
	}
	chats, err := s.fsm.State().Chats(nil)
	if err != nil {
		return err
	}
	cutoff := time.Now().Add(-s.config.ChatRetention)
	var old []string
	for _, c := range chats {
		if c.Modified.Before(cutoff) && (c.Execution == nil || c.Execution.State != structs.ExecutionRunning) {
			old = append(old, c.ID)
		}
	}
	for len(old) > 0 {
		if err := submitting(); err != nil {
			return err
		}
		n := min(len(old), pruneBatch)
		req := &structs.ChatApplyRequest{Time: time.Now().UTC(), Ops: []*structs.ChatOp{{Kind: structs.ChatOpDelete, ChatIDs: old[:n]}}}
		if _, _, err := s.raftApply(structs.ChatApplyRequestType, req); err != nil {
			return err
		}
		s.logger.Info("deleted chats beyond retention", "count", n, "retention", s.config.ChatRetention)
		old = old[n:]
	}
	return nil
}
