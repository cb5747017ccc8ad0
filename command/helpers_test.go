package command

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/cli"
)

// reply is a canned answer of the fake agent.
type reply struct {
	status int
	body   string
}

// seen is one request the fake agent received.
type seen struct {
	method string
	path   string
	query  url.Values
	token  string
	body   string
}

// fakeAgent is an httptest server answering canned replies keyed by
// "METHOD /path" and recording every request.
type fakeAgent struct {
	srv *httptest.Server

	mu      sync.Mutex
	replies map[string]reply
	reqs    []seen
}

// newFakeAgent starts a fake agent with the given replies.
func newFakeAgent(t *testing.T, replies map[string]reply) *fakeAgent {
	t.Helper()
	f := &fakeAgent{replies: replies}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.Method, r.URL.Path, r.URL.Query(), r.Header.Get("X-Nomad-Token"), string(b)})
		rep, ok := f.replies[r.Method+" "+r.URL.Path]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "no route", http.StatusNotFound)
			return
		}
		if rep.status != http.StatusOK {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(rep.status)
			w.Write([]byte(rep.body))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(rep.body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// requests returns a copy of the requests received so far.
func (f *fakeAgent) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// find returns the first request to method and path, failing the test if
// there is none.
func (f *fakeAgent) find(t *testing.T, method, path string) seen {
	t.Helper()
	for _, r := range f.requests() {
		if r.method == method && r.path == path {
			return r
		}
	}
	t.Fatalf("no %s %s request; got %+v", method, path, f.requests())
	return seen{}
}

// result is what a command run produced.
type result struct {
	code   int
	stdout string
	stderr string
}

// runCommand runs the command registered under name with args, pointed at
// f unless f is nil, and captures its output.
func runCommand(t *testing.T, f *fakeAgent, name string, args ...string) result {
	t.Helper()
	t.Setenv("NOMADLIKE_ADDR", "")
	t.Setenv("NOMADLIKE_TOKEN", "")
	ui := cli.NewMockUi()
	factory, ok := Commands(ui)[name]
	if !ok {
		t.Fatalf("no command %q", name)
	}
	cmd, err := factory()
	if err != nil {
		t.Fatalf("factory %q: %v", name, err)
	}
	if f != nil {
		args = append([]string{"-address=" + f.srv.URL}, args...)
	}
	code := cmd.Run(args)
	return result{code, ui.OutputWriter.String(), ui.ErrorWriter.String()}
}

// mustSucceed fails the test unless r exited 0 with nothing on stderr.
func mustSucceed(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q, stdout %q", r.code, r.stderr, r.stdout)
	}
}

// mustFail fails the test unless r exited 1 with want on stderr and nothing
// on stdout.
func mustFail(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (stderr %q)", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr %q does not contain %q", r.stderr, want)
	}
	if r.stdout != "" {
		t.Fatalf("stdout %q, want nothing", r.stdout)
	}
}

// denied is the agent's answer to a token without the needed capability.
var denied = reply{403, "Permission denied"}
