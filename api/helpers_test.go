package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
)

// recorded is one request the fake agent received.
type recorded struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
}

// fakeAgent is an httptest server that records every request and answers
// each with the same status, body and headers.
type fakeAgent struct {
	srv *httptest.Server

	mu      sync.Mutex
	reqs    []recorded
	status  int
	body    string
	headers map[string]string
	gzip    bool
}

// newFakeAgent starts a fake answering status and body, and a client
// pointed at it with token "secret".
func newFakeAgent(t *testing.T, status int, body string) (*fakeAgent, *Client) {
	t.Helper()
	f := &fakeAgent{status: status, body: body, headers: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	c, err := NewClient(&Config{Address: f.srv.URL, Token: "secret"})
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return f, c
}

func (f *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   string(b),
	})
	status, body, gz := f.status, f.body, f.gzip
	hdrs := make(map[string]string, len(f.headers))
	for k, v := range f.headers {
		hdrs[k] = v
	}
	f.mu.Unlock()

	for k, v := range hdrs {
		w.Header().Set(k, v)
	}
	if status == http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(status)
		w.Write(buf.Bytes())
		return
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// last returns the most recent request, failing the test if there is none.
func (f *fakeAgent) last(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatalf("fake agent received no request")
	}
	return f.reqs[len(f.reqs)-1]
}

// expect checks the method, path and raw query of the last request and
// that it carried the client's token.
func (f *fakeAgent) expect(t *testing.T, method, path string, query url.Values) recorded {
	t.Helper()
	r := f.last(t)
	if r.Method != method {
		t.Errorf("method = %s, want %s", r.Method, method)
	}
	if r.Path != path {
		t.Errorf("path = %s, want %s", r.Path, path)
	}
	if query == nil {
		query = url.Values{}
	}
	if got, want := r.Query.Encode(), query.Encode(); got != want {
		t.Errorf("query = %q, want %q", got, want)
	}
	if got := r.Header.Get("X-Nomad-Token"); got != "secret" {
		t.Errorf("X-Nomad-Token = %q, want %q", got, "secret")
	}
	return r
}
