package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// blockingQuery is the QueryOptions of a blocking read and the URL
// parameters it must send.
var (
	blockingQuery  = &QueryOptions{WaitIndex: 41, WaitTime: 2 * time.Second}
	blockingParams = url.Values{"index": {"41"}, "wait": {"2000ms"}}
)

// mustEnvelopeError fails the test unless err is an EnvelopeError with
// status code and message.
func mustEnvelopeError(t *testing.T, err error, code int, message string) EnvelopeError {
	t.Helper()
	var ee EnvelopeError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v (%T), want EnvelopeError", err, err)
	}
	if ee.StatusCode() != code || ee.Message() != message {
		t.Fatalf("err = %d %q, want %d %q", ee.StatusCode(), ee.Message(), code, message)
	}
	return ee
}

// envelopeErr is the body of an error answer of the Grafana Agent family.
func envelopeErr(msg string) string {
	return `{"status":"error","data":{"error":"` + msg + `"}}`
}

func TestConfigs_List(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"status":"success","data":{"configs":["a","b/c"]}}`)
	f.headers["X-Nomad-Index"] = "42"
	f.headers["X-Nomad-KnownLeader"] = "true"
	names, qm, err := c.Configs().List(blockingQuery)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if r := f.expect(t, "GET", "/agent/api/v1/configs", blockingParams); r.Body != "" {
		t.Fatalf("body = %q, want none", r.Body)
	}
	if len(names) != 2 || names[0] != "a" || names[1] != "b/c" || qm.LastIndex != 42 || !qm.KnownLeader {
		t.Fatalf("List = %q, %+v", names, qm)
	}

	for _, body := range []string{`{"status":"success","data":{"configs":null}}`, `{"status":"success"}`} {
		f.body = body
		if names, _, err = c.Configs().List(nil); err != nil || names == nil || len(names) != 0 {
			t.Fatalf("List of %s = %#v, %v; want empty non-nil", body, names, err)
		}
	}

	f.gzip, f.body = true, `{"status":"success","data":{"configs":["z"]}}`
	if names, _, err = c.Configs().List(nil); err != nil || len(names) != 1 || names[0] != "z" {
		t.Fatalf("gzipped List = %q, %v", names, err)
	}
	f.gzip = false

	f.status, f.body = 404, envelopeErr("no config store running")
	_, _, err = c.Configs().List(nil)
	ee := mustEnvelopeError(t, err, 404, "no config store running")
	if ee.Error() != "Unexpected response code: 404 (no config store running)" || ee.StatusText() != "Not Found" {
		t.Fatalf("Error() = %q, StatusText() = %q", ee.Error(), ee.StatusText())
	}
	if !IsNotFound(err) || IsAlreadyExists(err) {
		t.Fatalf("IsNotFound(%v) = false", err)
	}

	f.status, f.body = 500, envelopeErr("store exploded")
	_, _, err = c.Configs().List(nil)
	mustEnvelopeError(t, err, 500, "store exploded")

	// An answer outside the envelope keeps its text.
	f.status, f.body = 403, "Permission denied\n"
	_, _, err = c.Configs().List(nil)
	mustEnvelopeError(t, err, 403, "Permission denied")

	// A 200 whose envelope says error is an error.
	f.status, f.body = 200, envelopeErr("odd")
	_, _, err = c.Configs().List(nil)
	mustEnvelopeError(t, err, 200, "odd")

	for _, body := range []string{"not json", `{"status":"maybe"}`, `{"status":"success","data":{"configs":"x"}}`, ""} {
		f.body = body
		if _, _, err := c.Configs().List(nil); err == nil || !strings.Contains(err.Error(), "decoding response") {
			t.Fatalf("List of %q: err = %v, want a decoding error", body, err)
		}
	}
}

func TestConfigs_Get(t *testing.T) {
	yaml := "name: a\nhost_filter: true\n"
	f, c := newFakeAgent(t, 200, `{"status":"success","data":{"value":"name: a\nhost_filter: true\n"}}`)
	f.headers["X-Nomad-Index"] = "7"
	got, qm, err := c.Configs().Get("a", blockingQuery)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	f.expect(t, "GET", "/agent/api/v1/configs/a", blockingParams)
	if got != yaml || qm.LastIndex != 7 {
		t.Fatalf("Get = %q, %+v", got, qm)
	}

	f.body = `{"status":"success","data":{}}`
	if _, _, err := c.Configs().Get("a", nil); err == nil {
		t.Fatalf("Get of an answer without data.value should fail")
	}
	n := len(f.reqs)
	if _, _, err := c.Configs().Get("", nil); err == nil || len(f.reqs) != n {
		t.Fatalf("Get(\"\") = %v; want a client-side error", err)
	}

	f.status, f.body = 404, envelopeErr("configuration nope does not exist")
	_, _, err = c.Configs().Get("nope", &QueryOptions{AuthToken: "other"})
	mustEnvelopeError(t, err, 404, "configuration nope does not exist")
	if !IsNotFound(err) {
		t.Fatalf("IsNotFound(%v) = false", err)
	}
	if got := f.last(t).Header.Get("X-Nomad-Token"); got != "other" {
		t.Fatalf("X-Nomad-Token = %q, want the per-call token", got)
	}
}

// TestConfigs_PathEscape checks that names travel as one escaped path
// segment, as the server unescapes them.
func TestConfigs_PathEscape(t *testing.T) {
	var uris []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uris = append(uris, r.Method+" "+r.RequestURI)
		switch r.Method {
		case "GET":
			if strings.HasSuffix(r.URL.Path, "/revisions") {
				w.Write([]byte(`{"status":"success","data":{"revisions":[]}}`))
			} else {
				w.Write([]byte(`{"status":"success","data":{"value":"x"}}`))
			}
		default:
			w.Write([]byte(`{"status":"success"}`))
		}
	}))
	defer srv.Close()
	c, err := NewClient(&Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	name := "hello/wor ld?#%"
	if _, _, err := c.Configs().Get(name, nil); err != nil {
		t.Fatalf("Get: %v", err)
	}
	if _, _, err := c.Configs().Put(name, "x", nil); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, err := c.Configs().Delete(name, nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := c.Configs().Revisions(name, nil); err != nil {
		t.Fatalf("Revisions: %v", err)
	}
	want := []string{
		"GET /agent/api/v1/configs/hello%2Fwor%20ld%3F%23%25",
		"PUT /agent/api/v1/config/hello%2Fwor%20ld%3F%23%25",
		"DELETE /agent/api/v1/config/hello%2Fwor%20ld%3F%23%25",
		"GET /agent/api/v1/config/hello%2Fwor%20ld%3F%23%25/revisions",
	}
	if strings.Join(uris, "\n") != strings.Join(want, "\n") {
		t.Fatalf("request URIs:\n%s\nwant:\n%s", strings.Join(uris, "\n"), strings.Join(want, "\n"))
	}
}

func TestConfigs_Put(t *testing.T) {
	yaml := "scrape_configs:\n  - job_name: x\n"
	f, c := newFakeAgent(t, 201, `{"status":"success"}`)
	f.headers["X-Nomad-Index"] = "9"
	created, wm, err := c.Configs().Put("a", yaml, nil)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	r := f.expect(t, "PUT", "/agent/api/v1/config/a", nil)
	if r.Body != yaml || r.Header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("body = %q, content-type = %q", r.Body, r.Header.Get("Content-Type"))
	}
	if !created || wm.LastIndex != 9 {
		t.Fatalf("Put = %v, %+v; want created", created, wm)
	}

	f.status = 200
	if created, _, err = c.Configs().Put("a", yaml, nil); err != nil || created {
		t.Fatalf("Put over an existing config = %v, %v; want updated", created, err)
	}
	f.body = "" // a bare success is accepted
	if created, _, err = c.Configs().Put("a", yaml, nil); err != nil || created {
		t.Fatalf("Put with an empty answer = %v, %v", created, err)
	}

	n := len(f.reqs)
	if _, _, err := c.Configs().Put("", yaml, nil); err == nil || len(f.reqs) != n {
		t.Fatalf("Put(\"\") = %v; want a client-side error", err)
	}

	f.status, f.body = 400, envelopeErr("could not unmarshal config: EOF")
	_, _, err = c.Configs().Put("a", "", &WriteOptions{AuthToken: "other"})
	mustEnvelopeError(t, err, 400, "could not unmarshal config: EOF")
	if got := f.last(t).Header.Get("X-Nomad-Token"); got != "other" {
		t.Fatalf("X-Nomad-Token = %q, want the per-call token", got)
	}
}

func TestConfigs_Delete(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"status":"success"}`)
	f.headers["X-Nomad-Index"] = "11"
	wm, err := c.Configs().Delete("a", nil)
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if r := f.expect(t, "DELETE", "/agent/api/v1/config/a", nil); r.Body != "" {
		t.Fatalf("body = %q, want none", r.Body)
	}
	if wm.LastIndex != 11 {
		t.Fatalf("LastIndex = %d", wm.LastIndex)
	}
	if _, err := c.Configs().Delete("", nil); err == nil || len(f.reqs) != 1 {
		t.Fatalf("Delete(\"\") = %v; want a client-side error", err)
	}

	f.status, f.body = 404, envelopeErr("configuration a does not exist")
	_, err = c.Configs().Delete("a", nil)
	mustEnvelopeError(t, err, 404, "configuration a does not exist")
}

func TestConfigs_Revisions(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"status":"success","data":{"revisions":[
	 {"revisionId":"1","snapshot":{"name":"a","contents":"name: a\n","createdAt":"2026-03-01T10:00:00Z",
	  "updatedAt":"2026-03-01T10:00:00Z"},"createdAt":"2026-03-01T10:00:00Z","operation":"INSERT"},
	 {"revisionId":"2","snapshot":{"name":"a","contents":"name: a\nhost_filter: true\n",
	  "createdAt":"2026-03-01T10:00:00Z","updatedAt":"2026-03-01T11:00:00.5Z"},
	  "createdAt":"2026-03-01T11:00:00.5Z","operation":"UPDATE"}]}}`)
	f.headers["X-Nomad-Index"] = "5"
	revs, qm, err := c.Configs().Revisions("a", blockingQuery)
	if err != nil {
		t.Fatalf("Revisions: %v", err)
	}
	f.expect(t, "GET", "/agent/api/v1/config/a/revisions", blockingParams)
	if len(revs) != 2 || qm.LastIndex != 5 {
		t.Fatalf("Revisions = %v, %+v", revs, qm)
	}
	r := revs[1]
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 := time.Date(2026, 3, 1, 11, 0, 0, 5e8, time.UTC)
	if r.RevisionID != "2" || r.Operation != RevisionUpdate || !r.CreatedAt.Equal(t1) || r.Snapshot == nil ||
		r.Snapshot.Name != "a" || r.Snapshot.Contents != "name: a\nhost_filter: true\n" ||
		!r.Snapshot.CreatedAt.Equal(t0) || !r.Snapshot.UpdatedAt.Equal(t1) {
		t.Fatalf("revision = %+v, snapshot %+v", r, r.Snapshot)
	}
	if revs[0].Operation != RevisionInsert {
		t.Fatalf("operation = %q", revs[0].Operation)
	}

	f.body = `{"status":"success","data":{"revisions":null}}`
	if revs, _, err = c.Configs().Revisions("a", nil); err != nil || revs == nil || len(revs) != 0 {
		t.Fatalf("Revisions = %#v, %v; want empty non-nil", revs, err)
	}
	if _, _, err := c.Configs().Revisions("", nil); err == nil {
		t.Fatalf("Revisions(\"\") should fail")
	}

	f.status, f.body = 404, envelopeErr("configuration a does not exist")
	_, _, err = c.Configs().Revisions("a", nil)
	mustEnvelopeError(t, err, 404, "configuration a does not exist")
}
