package testcluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// assistantLimitsHCL lifts the assistant family's per-caller rate limit
// (10/s, burst 60): the test, the browser and the proxy all call from
// 127.0.0.1 without a token, so they share one bucket, and the tests poll.
const assistantLimitsHCL = `
rate_limit "assistant" {
  requests_per_second = 100000
  burst               = 100000
}
`

// chromiumPath finds the browser, or fails with the apt-get line that
// installs it (`make test` installs it when run as root).
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("chromium is not installed (not in PATH); install it with: sudo apt-get install -y chromium")
	return ""
}

// startChromium opens url in headless Chromium. The browser runs in a
// process group of its own, killed (with its renderers) at cleanup.
func startChromium(t *testing.T, url string) {
	t.Helper()
	bin := chromiumPath(t)
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--remote-debugging-port=0", url)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting chromium: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("chromium (pid %d) did not exit after SIGKILL", pgid)
		}
		if t.Failed() {
			buf, _ := os.ReadFile(filepath.Join(dir, "chromium.log"))
			lines := strings.Split(strings.TrimSpace(string(buf)), "\n")
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			t.Logf("---- chromium (last lines) ----\n%s", strings.Join(lines, "\n"))
		}
	})
}

// pageEvent is one event as the page's EventSource saw it.
type pageEvent struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// pageReport is what the page posts to /report when it is done.
type pageReport struct {
	Opens  int         `json:"opens"`
	Errors int         `json:"errors"`
	Events []pageEvent `json:"events"`
}

// pageProgress is one /progress post: an open, an error or an event.
type pageProgress struct {
	Kind       string `json:"kind"`
	Seq        int    `json:"seq"`
	ID         string `json:"id"`
	Type       string `json:"type"`
	Opens      int    `json:"opens"`
	Errors     int    `json:"errors"`
	ReadyState int    `json:"readyState"`
}

// streamRequest is one chat stream request the proxy forwarded.
type streamRequest struct {
	Backend     string
	LastEventID string
	Held        bool
}

// assistantFront is one origin on 127.0.0.1 that serves the page and, like
// a load balancer in front of the servers, forwards /api/ to the current
// server. While held, a new chat stream request waits (the page is
// disconnected) until release.
type assistantFront struct {
	srv       *httptest.Server
	page      []byte
	transport *http.Transport

	mu       sync.Mutex
	backend  *Agent
	gate     chan struct{}
	streams  []streamRequest
	progress []pageProgress
	report   chan pageReport
}

func newAssistantFront(t *testing.T, page []byte, backend *Agent) *assistantFront {
	f := &assistantFront{page: page, backend: backend, report: make(chan pageReport, 1),
		transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(f.page)
	})
	mux.HandleFunc("POST /progress", func(w http.ResponseWriter, r *http.Request) {
		var p pageProgress
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.progress = append(f.progress, p)
		f.mu.Unlock()
	})
	mux.HandleFunc("POST /report", func(w http.ResponseWriter, r *http.Request) {
		var rep pageReport
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case f.report <- rep:
		default:
		}
	})
	mux.HandleFunc("/api/", f.proxy)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.mu.Lock()
		if f.gate != nil {
			close(f.gate)
			f.gate = nil
		}
		f.mu.Unlock()
		f.srv.CloseClientConnections()
		f.srv.Close()
		f.transport.CloseIdleConnections()
	})
	return f
}

var discardLog = log.New(io.Discard, "", 0)

func (f *assistantFront) proxy(w http.ResponseWriter, r *http.Request) {
	stream := strings.Contains(r.URL.Path, "/api/events/chats/")
	f.mu.Lock()
	backend, gate := f.backend, f.gate
	n := -1
	if stream {
		f.streams = append(f.streams, streamRequest{Backend: backend.Name, LastEventID: r.Header.Get("Last-Event-ID"), Held: gate != nil})
		n = len(f.streams) - 1
	}
	f.mu.Unlock()
	if stream && gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
		f.mu.Lock()
		backend = f.backend
		f.streams[n].Backend = backend.Name
		f.mu.Unlock()
	}
	target, err := url.Parse(backend.URL())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		Transport:     f.transport,
		FlushInterval: -1,
		ErrorLog:      discardLog,
	}
	// When the server dies mid-stream, ReverseProxy aborts the response:
	// the browser sees the connection drop, as behind a real balancer.
	rp.ServeHTTP(w, r)
}

// hold sends new chat streams to next, holding them until release.
func (f *assistantFront) hold(next *Agent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.backend = next
	f.gate = make(chan struct{})
}

func (f *assistantFront) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gate != nil {
		close(f.gate)
		f.gate = nil
	}
}

func (f *assistantFront) snapshot() ([]pageProgress, []streamRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.progress), slices.Clone(f.streams)
}

// pageCount counts what the page has posted so far; it fails the test at
// once if the page's EventSource gave up (readyState CLOSED).
func (f *assistantFront) pageCount(t *testing.T) (events, ended, opens, errs int, last string) {
	progress, _ := f.snapshot()
	lastSeq := 0
	for _, p := range progress {
		switch p.Kind {
		case "event":
			events++
			if p.Type == api.ChatEventExecutionCompleted || p.Type == api.ChatEventExecutionFailed {
				ended++
			}
			if p.Seq > lastSeq {
				lastSeq, last = p.Seq, p.ID
			}
		case "open":
			opens = max(opens, p.Opens)
		case "error":
			errs = max(errs, p.Errors)
			if p.ReadyState == 2 {
				t.Fatalf("the page's EventSource gave up (readyState CLOSED after error %d): the server answered the stream with an error status", p.Errors)
			}
		}
	}
	return
}

// waitPageEnded waits until the page has seen n executions end.
func (f *assistantFront) waitPageEnded(t *testing.T, n int) {
	t.Helper()
	testutil.WaitForResult(t, 60*time.Second, func() error {
		if _, ended, _, _, _ := f.pageCount(t); ended < n {
			return fmt.Errorf("the page has seen %d of %d executions end", ended, n)
		}
		return nil
	})
}

// askAndWait asks prompt (continuing chatID unless empty) through a and
// waits until that execution has ended; it returns the chat.
func askAndWait(t *testing.T, a *Agent, chatID, prompt string) *api.Chat {
	t.Helper()
	users := 0
	if chatID != "" {
		c, _, err := a.API().Assistant().Chat(chatID, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range c.Messages {
			if m.Role == "user" {
				users++
			}
		}
	}
	id, _, err := a.API().Assistant().Ask(prompt, chatID, nil)
	if err != nil {
		t.Fatalf("asking %q through %s: %v", prompt, a.Name, err)
	}
	var chat *api.Chat
	testutil.WaitForResult(t, 60*time.Second, func() error {
		c, _, err := a.API().Assistant().Chat(id, nil)
		if err != nil {
			return err
		}
		n := 0
		for _, m := range c.Messages {
			if m.Role == "user" {
				n++
			}
		}
		switch {
		case n != users+1:
			return fmt.Errorf("chat has %d questions, want %d", n, users+1)
		case c.Execution == nil || c.Execution.State == "running":
			return errors.New("the assistant is still answering")
		}
		chat = c
		return nil
	})
	if chat.Execution.State != "completed" {
		t.Fatalf("answering %q ended %s: %s", prompt, chat.Execution.State, chat.Execution.Error)
	}
	return chat
}

// eventPos orders SSE ids: "<index>-<k>" is the k-th event of a raft
// index, "<index>" its last.
func eventPos(t *testing.T, id string) [2]uint64 {
	t.Helper()
	idx, k, partial := strings.Cut(id, "-")
	i, err := strconv.ParseUint(idx, 10, 64)
	if err != nil {
		t.Fatalf("event id %q is not <raft index>[-<k>]", id)
	}
	if !partial {
		return [2]uint64{i, 1 << 62}
	}
	n, err := strconv.ParseUint(k, 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("event id %q is not <raft index>[-<k>]", id)
	}
	return [2]uint64{i, n}
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// eventMessage decodes a MESSAGE_* event's message.
func eventMessage(t *testing.T, e pageEvent) *api.ChatMessage {
	t.Helper()
	ev := api.ChatEvent{Type: e.Type, Data: e.Data}
	m, err := ev.Message()
	if err != nil {
		t.Fatalf("event %s %s: %v", e.ID, e.Type, err)
	}
	return m
}

// readChatStream reads a chat's whole event history from a until it has
// seen n executions end.
func readChatStream(t *testing.T, a *Agent, chatID string, n int) []pageEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch, errf, err := a.API().Assistant().Stream(ctx, chatID, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []pageEvent
	ended := 0
	for ev := range ch {
		out = append(out, pageEvent{ID: ev.ID, Type: ev.Type, Data: ev.Data})
		if ev.Type == api.ChatEventExecutionCompleted || ev.Type == api.ChatEventExecutionFailed {
			if ended++; ended == n {
				cancel()
			}
		}
	}
	if err := errf(); err != nil || ended < n {
		t.Fatalf("reading chat %s from %s: %d of %d executions ended, error %v", chatID, a.Name, ended, n, err)
	}
	return out
}

// TestAssistant_BrowserEventSourceAcrossServers is issue 15's acceptance:
// a real browser follows a chat with spec 002's EventSource snippet,
// through a proxy in front of 3 servers, while the server its stream is on
// is killed. The chat is started on server 1 and continued there with one
// question at a time; the page's stream goes to server 2 until server 2
// is killed (between two answers), then to server 3, which resumes it from
// the browser's Last-Event-ID: an answer given while the browser was
// disconnected arrives from the chat's history, the next one live.
func TestAssistant_BrowserEventSourceAcrossServers(t *testing.T) {
	chromiumPath(t)
	page, err := os.ReadFile(filepath.Join("testdata", "assistant_eventsource.html"))
	if err != nil {
		t.Fatal(err)
	}
	c := New(t, Options{Servers: 3, Clients: 1, ServerArgs: serverArgs(t, assistantLimitsHCL)})
	s1, s2, s3 := c.Servers[0], c.Servers[1], c.Servers[2]
	pl, _, err := s1.API().Pipelines().Create(&api.Pipeline{Name: "browser-logs", Contents: "// v1",
		Matchers: []string{`env="prod"`}, Enabled: ptrBool(true)}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	questions := []string{
		"Is the cluster healthy?",
		"Disable pipeline " + pl.ID,
		"Which nodes are down?", // asked while the browser is disconnected
		"help",                  // asked after it resumed
	}
	front := newAssistantFront(t, page, s2)

	chatID := askAndWait(t, s1, "", questions[0]).ID
	startChromium(t, fmt.Sprintf("%s/?chat=%s&executions=%d", front.srv.URL, url.QueryEscape(chatID), len(questions)))
	front.waitPageEnded(t, 1)
	askAndWait(t, s1, chatID, questions[1])
	front.waitPageEnded(t, 2)
	var opens, errs int
	var lastSeen string
	testutil.WaitForResult(t, 30*time.Second, func() error { // the posts are separate fetches
		if _, _, opens, errs, lastSeen = front.pageCount(t); opens == 0 {
			return errors.New("the page has not reported its stream's open yet")
		}
		return nil
	})
	if opens != 1 || errs != 0 {
		t.Fatalf("before the kill the page opened its stream %d times with %d errors, want 1 and 0", opens, errs)
	}

	// Server 2 dies under the page's stream; the balancer now sends
	// streams to server 3, holding the browser's reconnection while the
	// third question is answered.
	front.hold(s3)
	s2.Kill()
	var resumed streamRequest
	testutil.WaitForResult(t, 30*time.Second, func() error {
		_, streams := front.snapshot()
		if len(streams) < 2 {
			_, _, _, errs, _ := front.pageCount(t)
			return fmt.Errorf("the browser has not reconnected (%d stream requests, %d errors on the page)", len(streams), errs)
		}
		resumed = streams[1]
		return nil
	})
	if !resumed.Held || resumed.LastEventID != lastSeen {
		t.Fatalf("the browser reconnected with Last-Event-ID %q (held %v), want %q, the last id it saw", resumed.LastEventID, resumed.Held, lastSeen)
	}
	c.WaitForLeader() // server 2 may have led
	askAndWait(t, s1, chatID, questions[2])
	events, _, _, _, _ := front.pageCount(t)
	t.Logf("the third answer is written; the page, holding %d events, resumes on %s after %s", events, s3.Name, lastSeen)
	front.release()
	front.waitPageEnded(t, 3)
	askAndWait(t, s1, chatID, questions[3])

	var rep pageReport
	select {
	case rep = <-front.report:
	case <-time.After(60 * time.Second):
		events, ended, opens, errs, _ := front.pageCount(t)
		t.Fatalf("no report from the page: it saw %d events, %d executions end, %d opens, %d errors", events, ended, opens, errs)
	}
	_, streams := front.snapshot()
	t.Logf("page: %d events, %d opens, %d errors; stream requests: %+v", len(rep.Events), rep.Opens, rep.Errors, streams)

	// The page reconnected once, to server 3, from where it left off.
	if rep.Opens != 2 || rep.Errors < 1 {
		t.Errorf("the page's stream opened %d times with %d errors, want 2 opens and an error between them", rep.Opens, rep.Errors)
	}
	if len(streams) != 2 || streams[0].Backend != s2.Name || streams[0].LastEventID != "" ||
		streams[1].Backend != s3.Name || streams[1].LastEventID != lastSeen {
		t.Errorf("stream requests %+v, want one to %s without Last-Event-ID, then one to %s with %q", streams, s2.Name, s3.Name, lastSeen)
	}

	// Every id once, in raft order.
	seen := map[string]bool{}
	for i, e := range rep.Events {
		if seen[e.ID] {
			t.Errorf("event id %s (%s) received twice", e.ID, e.Type)
		}
		seen[e.ID] = true
		if i > 0 {
			p, q := eventPos(t, rep.Events[i-1].ID), eventPos(t, e.ID)
			if !(p[0] < q[0] || p[0] == q[0] && p[1] < q[1]) {
				t.Errorf("event %d id %s follows %s: not in raft order", i, e.ID, rep.Events[i-1].ID)
			}
		}
	}

	// The page saw the chat's whole history as server 3 keeps it (where
	// an update replaces the earlier updates of its message), and only
	// updates superseded later beyond it.
	history := readChatStream(t, s3, chatID, len(questions))
	byID := map[string]pageEvent{}
	for _, e := range rep.Events {
		byID[e.ID] = e
	}
	inHistory := map[string]bool{}
	for _, h := range history {
		inHistory[h.ID] = true
		e, ok := byID[h.ID]
		switch {
		case !ok:
			t.Errorf("the page missed event %s %s %s", h.ID, h.Type, h.Data)
		case e.Type != h.Type || !sameJSON(e.Data, h.Data):
			t.Errorf("event %s: the page got %s %s, server 3 has %s %s", h.ID, e.Type, e.Data, h.Type, h.Data)
		}
	}
	for i, e := range rep.Events {
		if inHistory[e.ID] {
			continue
		}
		later := false
		if e.Type == api.ChatEventMessageUpdated {
			m := eventMessage(t, e)
			for _, f := range rep.Events[i+1:] {
				if f.Type == api.ChatEventMessageUpdated && eventMessage(t, f).ID == m.ID {
					later = true
					break
				}
			}
		}
		if !later {
			t.Errorf("the page got event %s %s, which is not in the chat's history and not a superseded update", e.ID, e.Type)
		}
	}

	// Each answer's events in spec 002's order.
	type answer struct {
		question, messageID, text string
		updates                   int
		tools                     []*api.ChatToolRequest
	}
	var answers []*answer
	var cur *answer
	state := "idle"
	types := map[string]int{}
	for _, e := range rep.Events {
		types[e.Type]++
		bad := func() { t.Errorf("event %s %s while %s", e.ID, e.Type, state) }
		switch e.Type {
		case api.ChatEventMessageCreated:
			m := eventMessage(t, e)
			switch {
			case state == "idle" && m.Role == "user":
				cur = &answer{question: m.Text()}
				answers = append(answers, cur)
				state = "asked"
			case state == "started" && m.Role == "assistant":
				cur.messageID, cur.text = m.ID, m.Text()
				state = "answering"
			default:
				bad()
			}
		case api.ChatEventExecutionStarted:
			if state != "asked" {
				bad()
			}
			state = "started"
		case api.ChatEventMessageUpdated:
			if m := eventMessage(t, e); state != "answering" || m.ID != cur.messageID {
				bad()
			} else {
				cur.text = m.Text()
				cur.updates++
			}
		case api.ChatEventRemoteToolRequest:
			ev := api.ChatEvent{Type: e.Type, Data: e.Data}
			tr, err := ev.ToolRequest()
			if state != "answering" || err != nil {
				bad()
			} else {
				cur.tools = append(cur.tools, tr)
			}
		case api.ChatEventExecutionCompleted:
			ev := api.ChatEvent{Type: e.Type, Data: e.Data}
			x, err := ev.Execution()
			if state != "answering" || err != nil || x.MessageID != cur.messageID || x.State != "completed" || x.ChatID != chatID {
				bad()
			}
			state = "idle"
		default:
			bad()
		}
	}
	for _, typ := range []string{api.ChatEventMessageCreated, api.ChatEventExecutionStarted, api.ChatEventMessageUpdated,
		api.ChatEventRemoteToolRequest, api.ChatEventExecutionCompleted} {
		if types[typ] == 0 {
			t.Errorf("the page saw no %s event (saw %v)", typ, types)
		}
	}
	if len(answers) != len(questions) {
		t.Fatalf("the page saw %d questions, want %d", len(answers), len(questions))
	}
	for i, a := range answers {
		if a.question != questions[i] || a.updates == 0 {
			t.Errorf("answer %d: question %q with %d updates, want %q with at least one", i, a.question, a.updates, questions[i])
		}
		if n := len(a.tools); (i == 1) != (n > 0) {
			t.Errorf("answer %d (%q) proposed %d changes", i, a.question, n)
		}
	}
	if tr := answers[1].tools; len(tr) == 1 && (tr[0].Tool != "disable_pipeline" || !strings.Contains(string(tr[0].Arguments), pl.ID)) {
		t.Errorf("proposed %s %s, want disable_pipeline of %s", tr[0].Tool, tr[0].Arguments, pl.ID)
	}
	for i, want := range []*regexp.Regexp{
		regexp.MustCompile(`The cluster (is|has)`), regexp.MustCompile(`I propose to disable pipeline \*\*browser-logs\*\*`),
		regexp.MustCompile(`node`), regexp.MustCompile(`You can ask`),
	} {
		if !want.MatchString(answers[i].text) {
			t.Errorf("answer %d to %q: %q does not match %s", i, questions[i], answers[i].text, want)
		}
	}

	// The page's final texts are the chat as server 3 returns it.
	chat, _, err := s3.API().Assistant().Chat(chatID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(chat.Messages) != 2*len(questions) {
		t.Fatalf("server 3 has %d messages, want %d", len(chat.Messages), 2*len(questions))
	}
	for i, a := range answers {
		q, m := chat.Messages[2*i], chat.Messages[2*i+1]
		if q.Role != "user" || q.Text() != a.question || m.Role != "assistant" || m.ID != a.messageID || m.Text() != a.text {
			t.Errorf("message pair %d: server 3 has %s %q / %s %s %q; the page %q / %s %q",
				i, q.Role, q.Text(), m.Role, m.ID, m.Text(), a.question, a.messageID, a.text)
		}
	}
}

// TestAssistant_ExecutionServerDies: the server answering a question is
// killed mid-answer. The leader fails the execution once gossip has the
// server failed, with an error naming it; the leader's stream shows
// AGENT_EXECUTION_FAILED after the answer's start and no completion; the
// chat takes the next question, answered elsewhere.
//
// The built-in engine answers in milliseconds. What keeps it answering
// long enough to be killed is a peer that does not answer: "promql: ..."
// reads host metrics from every alive server, and a stopped (SIGSTOP)
// server is alive in gossip for seconds while a read from it waits
// peerReadTimeout (10 s) - so the execution is still running when the
// test, a few milliseconds later, kills the server running it.
func TestAssistant_ExecutionServerDies(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, assistantLimitsHCL)})
	leader := c.WaitForLeader()
	var followers []*Agent
	for _, s := range c.Servers {
		if s != leader {
			followers = append(followers, s)
		}
	}
	x, y := followers[0], followers[1] // x answers and dies; y is the peer that does not answer

	y.Pause()
	asked := time.Now()
	chatID, _, err := x.API().Assistant().Ask("promql: up", "", nil)
	if err != nil {
		y.Resume()
		t.Fatal(err)
	}
	chat, _, err := leader.API().Assistant().Chat(chatID, nil)
	if err != nil {
		y.Resume()
		t.Fatal(err)
	}
	e := chat.Execution
	if e == nil || e.State != "running" || !strings.HasPrefix(e.Server, x.Name+".") {
		y.Resume()
		t.Fatalf("execution %+v, want running on %s (its read of %s's host metrics should wait 10 s)", e, x.Name, y.Name)
	}
	x.Kill()
	if d := time.Since(asked); d > 9*time.Second {
		t.Fatalf("%s killed %s after the question: too late to be sure it was still answering (the stopped peer holds it 10 s)", x.Name, d)
	}
	killed := time.Now()
	y.Resume() // the leader and y are a quorum again
	execID := e.ID

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	events, errf, err := leader.API().Assistant().Stream(ctx, chatID, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	next := func(want string) *api.ChatEvent {
		t.Helper()
		for ev := range events {
			types = append(types, ev.Type)
			switch {
			case ev.Type == want:
				return ev
			case ev.Type == api.ChatEventExecutionCompleted || ev.Type == api.ChatEventExecutionFailed:
				t.Fatalf("got %s %s while waiting for %s", ev.Type, ev.Data, want)
			}
		}
		t.Fatalf("stream from %s ended waiting for %s (events %v): %v", leader.Name, want, types, errf())
		return nil
	}
	ev := next(api.ChatEventExecutionFailed)
	t.Logf("%s's stream: %v; AGENT_EXECUTION_FAILED %s, %s after %s was killed",
		leader.Name, types, ev.Data, time.Since(killed).Round(time.Millisecond), x.Name)
	if want := []string{api.ChatEventMessageCreated, api.ChatEventExecutionStarted, api.ChatEventMessageCreated}; !slices.Equal(types[:min(3, len(types))], want) {
		t.Errorf("events %v, want %v first", types, want)
	}
	xe, err := ev.Execution()
	if err != nil {
		t.Fatal(err)
	}
	if xe.ExecutionID != execID || xe.ChatID != chatID || xe.State != "failed" || !strings.Contains(xe.Error, x.Name+".") {
		t.Errorf("failure %+v, want execution %s failed with an error naming %s", xe, execID, x.Name)
	}
	for _, s := range []*Agent{leader, y} {
		chat, _, err := s.API().Assistant().Chat(chatID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e := chat.Execution; e.ID != execID || e.State != "failed" || e.Error != xe.Error || len(chat.Messages) != 2 {
			t.Errorf("%s: execution %+v and %d messages after the failure", s.Name, e, len(chat.Messages))
		}
	}

	// The chat is not stuck: the next question is answered by y, and
	// the answer sees x failed.
	if _, _, err := y.API().Assistant().Ask("Is the cluster healthy?", chatID, nil); err != nil {
		t.Fatal(err)
	}
	next(api.ChatEventExecutionStarted)
	done := next(api.ChatEventExecutionCompleted)
	cancel()
	chat, _, err = y.API().Assistant().Chat(chatID, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := done.Execution()
	if e := chat.Execution; d == nil || e.ID != d.ExecutionID || e.State != "completed" || !strings.HasPrefix(e.Server, y.Name+".") || len(chat.Messages) != 4 {
		t.Fatalf("after the second question: execution %+v, %d messages", chat.Execution, len(chat.Messages))
	}
	if answer := chat.Messages[3].Text(); !strings.Contains(answer, "not healthy") || !strings.Contains(answer, x.Name) {
		t.Errorf("the health answer does not show %s failed:\n%s", x.Name, answer)
	}
}

// A browser that reconnects while no leader answers still gets its stream
// (a browser's EventSource gives up on an error status): the server
// decides from its own state that the caller may read the chat, and
// replays it from there.
func TestAssistant_StreamWithoutLeader(t *testing.T) {
	c := New(t, Options{Servers: 3, ServerArgs: serverArgs(t, assistantLimitsHCL)})
	leader := c.WaitForLeader()
	chat := askAndWait(t, leader, "", "is the cluster healthy?")
	want := readChatStream(t, leader, chat.ID, 1)
	var survivor *Agent
	for _, s := range c.Servers {
		if s != leader {
			survivor = s
			break
		}
	}
	// The survivor has applied the whole chat before the others go.
	testutil.WaitForResult(t, 10*time.Second, func() error {
		got, _, err := survivor.API().Assistant().Chat(chat.ID, &api.QueryOptions{AllowStale: true})
		if err != nil || got.Execution == nil || got.Execution.State != "completed" {
			return fmt.Errorf("survivor has %+v (%v)", got, err)
		}
		return nil
	})
	for _, s := range c.Servers {
		if s != survivor {
			s.Kill()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, survivor.URL()+"/api/events/chats/"+chat.ID, nil)
	req.Header.Set("Last-Event-ID", want[0].ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream without a leader: %d %s", resp.StatusCode, b)
	}
	var got []string
	ev := api.ChatEvent{}
	err = readSSEBody(resp.Body, func(id, data string) bool {
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %s: %v", data, err)
		}
		got = append(got, id+" "+ev.Type)
		return ev.Type != api.ChatEventExecutionCompleted
	})
	var wantIDs []string
	for _, e := range want[1:] {
		wantIDs = append(wantIDs, e.ID+" "+e.Type)
	}
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("replayed %v, want %v (read error %v)", got, wantIDs, err)
	}
}

// readSSEBody calls emit with each event's id and data until it returns
// false or the body ends.
func readSSEBody(body io.Reader, emit func(id, data string) bool) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var id, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && data != "":
			if !emit(id, data) {
				return nil
			}
			data = ""
		}
	}
	return sc.Err()
}
