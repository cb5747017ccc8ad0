package stream

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// lineWriter hands every Write to the test as one string.
type lineWriter struct{ lines chan string }

func newLineWriter() *lineWriter { return &lineWriter{lines: make(chan string, 4096)} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.lines <- string(p)
	return len(p), nil
}

func (w *lineWriter) read(t *testing.T) string {
	t.Helper()
	select {
	case l := <-w.lines:
		return l
	case <-time.After(testTimeout):
		t.Fatal("no line written")
		return ""
	}
}

// readEvents returns the next non-heartbeat line.
func (w *lineWriter) readEvents(t *testing.T) string {
	t.Helper()
	for {
		if l := w.read(t); l != "{}\n" {
			return l
		}
	}
}

type streamRun struct {
	cancel  context.CancelFunc
	done    chan struct{} // closed when WriteNDJSON has returned err
	err     error
	flushes atomic.Int64
}

func startStream(t *testing.T, w *lineWriter, sub *Subscription, heartbeat time.Duration) *streamRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &streamRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = WriteNDJSON(ctx, w, func() { r.flushes.Add(1) }, sub, heartbeat)
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func (r *streamRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(testTimeout):
		t.Fatal("WriteNDJSON did not return")
		return nil
	}
}

func TestWriteNDJSON_Framing(t *testing.T) {
	b := newTestBroker(t, 0)
	sub := subscribe(t, b, &SubscribeRequest{Topics: map[string][]string{"Node": {"*"}}})
	w := newLineWriter()
	run := startStream(t, w, sub, time.Hour)

	b.Publish(&Events{Index: 5, Events: []Event{{
		Topic:   "Node",
		Type:    "NodeRegistration",
		Key:     "n1",
		Payload: map[string]any{"Node": map[string]any{"ID": "n1", "Name": "<a&b>"}},
	}}})
	const want = `{"Index":5,"Events":[{"Topic":"Node","Type":"NodeRegistration","Key":"n1","Namespace":"","FilterKeys":null,"Index":5,"Payload":{"Node":{"ID":"n1","Name":"<a&b>"}}}]}` + "\n"
	if got := w.read(t); got != want {
		t.Fatalf("line:\n got %s\nwant %s", got, want)
	}

	// Two matching events of one batch share one line; other topics are
	// filtered out.
	b.Publish(&Events{Index: 6, Events: []Event{
		{Topic: "Node", Type: "NodeDeregistration", Key: "n1", FilterKeys: []string{"pool"}},
		{Topic: "Job", Type: "JobRegistered", Key: "web"},
		{Topic: "Node", Type: "NodeRegistration", Key: "n2"},
	}})
	line := w.read(t)
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("not exactly one line: %q", line)
	}
	var decoded struct {
		Index  uint64
		Events []map[string]any
	}
	if err := json.Unmarshal([]byte(line), &decoded); err != nil {
		t.Fatalf("decode %q: %v", line, err)
	}
	if decoded.Index != 6 || len(decoded.Events) != 2 ||
		decoded.Events[0]["Key"] != "n1" || decoded.Events[1]["Key"] != "n2" {
		t.Fatalf("decoded %+v", decoded)
	}
	if fk, _ := decoded.Events[0]["FilterKeys"].([]any); len(fk) != 1 || fk[0] != "pool" {
		t.Fatalf("FilterKeys = %v", decoded.Events[0]["FilterKeys"])
	}

	run.cancel()
	if err := run.wait(t); err != nil {
		t.Fatalf("WriteNDJSON after cancel: %v", err)
	}
	// One flush up front, one per line.
	if n := run.flushes.Load(); n != 3 {
		t.Fatalf("flushes = %d, want 3", n)
	}
}

func TestWriteNDJSON_Heartbeat(t *testing.T) {
	b := newTestBroker(t, 0)
	sub := subscribe(t, b, &SubscribeRequest{})
	w := newLineWriter()
	run := startStream(t, w, sub, 10*time.Millisecond)

	for range 2 {
		if got := w.read(t); got != "{}\n" {
			t.Fatalf("idle line = %q, want heartbeat", got)
		}
	}
	pub(b, 1, ev("Node", "n1"))
	if got := w.readEvents(t); !strings.HasPrefix(got, `{"Index":1,"Events":[`) {
		t.Fatalf("event line = %q", got)
	}
	if got := w.read(t); got != "{}\n" {
		t.Fatalf("idle line after event = %q, want heartbeat", got)
	}

	run.cancel()
	if err := run.wait(t); err != nil {
		t.Fatalf("WriteNDJSON after cancel: %v", err)
	}
}

func TestWriteNDJSON_EndsWhenSubscriptionClosed(t *testing.T) {
	b := newTestBroker(t, 0)
	sub := subscribe(t, b, &SubscribeRequest{})
	w := newLineWriter()
	run := startStream(t, w, sub, time.Hour)

	b.CloseAll()
	if err := run.wait(t); !errors.Is(err, ErrSubscriptionClosed) {
		t.Fatalf("err = %v, want ErrSubscriptionClosed", err)
	}
}

type failWriter struct{}

var errWrite = errors.New("client went away")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteNDJSON_WriteError(t *testing.T) {
	b := newTestBroker(t, 0)
	sub := subscribe(t, b, &SubscribeRequest{})
	pub(b, 1, ev("Node", "n1"))

	err := WriteNDJSON(context.Background(), failWriter{}, nil, sub, time.Hour)
	if !errors.Is(err, errWrite) {
		t.Fatalf("err = %v, want write error", err)
	}
}

func TestWriteNDJSON_EncodeError(t *testing.T) {
	b := newTestBroker(t, 0)
	sub := subscribe(t, b, &SubscribeRequest{})
	b.Publish(&Events{Index: 1, Events: []Event{{Topic: "Node", Key: "n", Payload: make(chan int)}}})

	err := WriteNDJSON(context.Background(), newLineWriter(), nil, sub, time.Hour)
	var unsupported *json.UnsupportedTypeError
	if !errors.As(err, &unsupported) {
		t.Fatalf("err = %v, want json.UnsupportedTypeError", err)
	}
}
