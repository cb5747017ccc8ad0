package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	pipelinev1 "github.com/nomadlike/nomadlike/agent/proto/pipeline/v1"
	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/structs"
)

func TestEventStream_ParseTopics(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want map[string][]string
		err  bool
	}{
		{nil, map[string][]string{"*": {"*"}}, false},
		{[]string{"Pipeline"}, map[string][]string{"Pipeline": {"*"}}, false},
		{[]string{"Pipeline", "Config:name"}, map[string][]string{"Pipeline": {"*"}, "Config": {"name"}}, false},
		{[]string{"Config:a", "Config:b:c"}, map[string][]string{"Config": {"a", "b:c"}}, false},
		{[]string{""}, nil, true},
		{[]string{":key"}, nil, true},
		{[]string{"Pipeline:"}, nil, true},
	} {
		got, err := parseEventTopics(tc.in)
		if (err != nil) != tc.err || (!tc.err && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%q: %v %v, want %v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
		if err != nil {
			if code, _ := structs.ErrorStatus(err); code != 400 {
				t.Errorf("%q: status %d", tc.in, code)
			}
		}
	}
}

func TestEventStream_NarrowTopics(t *testing.T) {
	got, err := narrowTopics(map[string][]string{"*": {"*"}})
	if err != nil || !reflect.DeepEqual(got, map[string][]string{"Pipeline": {"*"}, "Config": {"*"}}) {
		t.Fatalf("all topics: %v %v", got, err)
	}
	got, err = narrowTopics(map[string][]string{"*": {"k"}, "Config": {"c"}})
	if err != nil || !reflect.DeepEqual(got["Pipeline"], []string{"k"}) || len(got["Config"]) != 2 {
		t.Fatalf("wildcard with keys: %v %v", got, err)
	}
	if _, err := narrowTopics(map[string][]string{"Node": {"*"}}); err != structs.ErrPermissionDenied {
		t.Fatalf("node topic: %v", err)
	}
}

// A client-only agent has no broker: 501, as join answers there.
func TestEventStream_ClientOnly(t *testing.T) {
	s := &HTTPServer{agent: &Agent{}}
	_, err := s.EventStreamRequest(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/event/stream", nil))
	if code, msg := structs.ErrorStatus(err); code != http.StatusNotImplemented || !strings.Contains(msg, "served by server agents") {
		t.Fatalf("client-only: %v", err)
	}
}

func TestEventStream_BadRequests(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)
	both := tokenWith(t, a, mgmt, "stream-reader", `pipeline { policy = "read" }`+"\n"+`config { policy = "read" }`)
	u := a.URL() + "/v1/event/stream"
	for _, tc := range []struct {
		method, query, token string
		code                 int
		body                 string
	}{
		{http.MethodPost, "", mgmt, 405, "Invalid method"},
		{http.MethodGet, "?index=x", mgmt, 400, `Unable to parse index: strconv.ParseUint: parsing "x": invalid syntax`},
		{http.MethodGet, "?topic=:x", mgmt, 400, `Invalid topic ":x": want Topic or Topic:Key`},
		{http.MethodGet, "?topic=Node", both.SecretID, 403, "Permission denied"},
		{http.MethodGet, "", "", 403, "Permission denied"},
	} {
		code, _, body := send(t, tc.method, u+tc.query, tc.token, "")
		if code != tc.code || string(body) != tc.body {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.query, code, body, tc.code, tc.body)
		}
	}
}

// streamLines opens the event stream and sends every line it reads.
func streamLines(t *testing.T, ctx context.Context, url, token string) (<-chan string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, resp
}

// waitForEvent reads lines until an event of topic with a key arrives.
func waitForEvent(t *testing.T, lines <-chan string, topic string) stream.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended before a %s event", topic)
			}
			var batch struct {
				Index  uint64
				Events []stream.Event
			}
			if err := json.Unmarshal([]byte(line), &batch); err != nil {
				t.Fatalf("bad line %q: %v", line, err)
			}
			for _, e := range batch.Events {
				if e.Topic == topic {
					if e.Index == 0 || batch.Index == 0 {
						t.Fatalf("event without index: %s", line)
					}
					return e
				}
			}
		case <-timeout:
			t.Fatalf("no %s event", topic)
		}
	}
}

// TestEventStream_PipelineEvent needs the server's EventBroker and the
// Pipeline.* RPC endpoints.
func TestEventStream_PipelineEvent(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)
	both := tokenWith(t, a, mgmt, "stream-reader", `pipeline { policy = "read" }`+"\n"+`config { policy = "read" }`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A management token on one topic, and a pipeline+config reader on
	// all topics (narrowed to those two).
	mgmtLines, resp := streamLines(t, ctx, a.URL()+"/v1/event/stream?topic=Pipeline", mgmt)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	readerLines, resp := streamLines(t, ctx, a.URL()+"/v1/event/stream", both.SecretID)
	if resp.StatusCode != 200 {
		t.Fatalf("reader stream: %d", resp.StatusCode)
	}

	client := pipelineClients(a, mgmt)["json"]
	res, err := client.CreatePipeline(context.Background(), connect.NewRequest(&pipelinev1.CreatePipelineRequest{
		Pipeline: &pipelinev1.Pipeline{Name: "streamed", Contents: "logging {}"}}))
	if err != nil {
		t.Fatal(err)
	}
	for name, lines := range map[string]<-chan string{"management": mgmtLines, "reader": readerLines} {
		e := waitForEvent(t, lines, fsm.TopicPipeline)
		if e.Key != res.Msg.GetId() {
			t.Errorf("%s: event %+v for pipeline %s", name, e, res.Msg.GetId())
		}
	}

	// The narrowed stream carries Config events too.
	if code, _, body := send(t, http.MethodPut, a.URL()+"/agent/api/v1/config/streamed-cfg", mgmt, "scrape_configs: []\n"); code != 201 {
		t.Fatalf("put config: %d %s", code, body)
	}
	if e := waitForEvent(t, readerLines, fsm.TopicConfig); e.Key != "streamed-cfg" {
		t.Errorf("config event %+v", e)
	}

	// The stream ends when the client goes away.
	cancel()
	select {
	case _, ok := <-mgmtLines:
		for ok {
			_, ok = <-mgmtLines
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end")
	}
}
