package api

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// pipelineJSON is a pipeline as the server encodes it.
const pipelineJSON = `{"id":"7","name":"linux","contents":"prometheus.exporter.self \"alloy\" { }\n",
 "matchers":["collector.os=linux","team!=team-a"],"createdAt":"2026-03-01T10:00:00Z",
 "updatedAt":"2026-03-01T11:00:00.25Z","enabled":false,"metadata":{"owner":"ops","n":2},
 "source":{"type":"SOURCE_TYPE_GIT","namespace":"repo"},"configType":"CONFIG_TYPE_ALLOY"}`

// expectConnect checks that the last request called the pipeline service
// method with the Connect headers and the client's token, and that its
// body equals the JSON wantBody. It returns the request.
func expectConnect(t *testing.T, f *fakeAgent, method, wantBody string, query url.Values) recorded {
	t.Helper()
	r := f.expect(t, "POST", "/pipeline.v1.PipelineService/"+method, query)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if v := r.Header.Get("Connect-Protocol-Version"); v != "1" {
		t.Errorf("Connect-Protocol-Version = %q, want 1", v)
	}
	var got, want any
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	if err := json.Unmarshal([]byte(wantBody), &want); err != nil {
		t.Fatalf("want body %q: %v", wantBody, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body = %s, want %s", r.Body, wantBody)
	}
	return r
}

// mustConnectError fails the test unless err is a ConnectError with the
// status, code and message given.
func mustConnectError(t *testing.T, err error, status int, code, message string) ConnectError {
	t.Helper()
	var ce ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want ConnectError", err, err)
	}
	if ce.StatusCode() != status || ce.Code() != code || ce.Message() != message {
		t.Fatalf("err = %d %q %q, want %d %q %q", ce.StatusCode(), ce.Code(), ce.Message(), status, code, message)
	}
	return ce
}

// checkPipeline fails the test unless p is pipelineJSON decoded.
func checkPipeline(t *testing.T, p *Pipeline) {
	t.Helper()
	if p == nil {
		t.Fatalf("pipeline is nil")
	}
	if p.ID != "7" || p.Name != "linux" || p.Contents != "prometheus.exporter.self \"alloy\" { }\n" ||
		!reflect.DeepEqual(p.Matchers, []string{"collector.os=linux", "team!=team-a"}) ||
		p.CreatedAt == nil || !p.CreatedAt.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) ||
		p.UpdatedAt == nil || !p.UpdatedAt.Equal(time.Date(2026, 3, 1, 11, 0, 0, 25e7, time.UTC)) ||
		p.Enabled == nil || *p.Enabled || p.Metadata["owner"] != "ops" || p.Metadata["n"] != 2.0 ||
		p.Source == nil || *p.Source != (PipelineSource{Type: SourceTypeGit, Namespace: "repo"}) ||
		p.ConfigType != ConfigTypeAlloy {
		t.Fatalf("pipeline = %+v", p)
	}
}

func TestPipeline_JSON(t *testing.T) {
	// Unset optional fields are left out, as protojson does; a set
	// Enabled is sent even when false.
	f := false
	b, err := json.Marshal(&Pipeline{Name: "a", Contents: "x", Enabled: &f})
	if err != nil || string(b) != `{"name":"a","contents":"x","enabled":false}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var p Pipeline
	if err := json.Unmarshal([]byte(pipelineJSON), &p); err != nil {
		t.Fatal(err)
	}
	checkPipeline(t, &p)
	b, _ = json.Marshal(&p)
	var again Pipeline
	if err := json.Unmarshal(b, &again); err != nil || !reflect.DeepEqual(p, again) {
		t.Fatalf("round trip = %+v, %v\n%s", again, err, b)
	}
}

func TestPipelines_Get(t *testing.T) {
	f, c := newFakeAgent(t, 200, pipelineJSON)
	f.headers["X-Nomad-Index"] = "43"
	p, qm, err := c.Pipelines().Get("7", blockingQuery)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	expectConnect(t, f, "GetPipeline", `{"id":"7"}`, blockingParams)
	checkPipeline(t, p)
	if qm.LastIndex != 43 {
		t.Fatalf("LastIndex = %d", qm.LastIndex)
	}

	n := len(f.reqs)
	if _, _, err := c.Pipelines().Get("", nil); err == nil || len(f.reqs) != n {
		t.Fatalf("Get(\"\") = %v; want a client-side error", err)
	}

	f.status, f.body = 404, `{"code":"not_found","message":"pipeline 9 not found"}`
	_, _, err = c.Pipelines().Get("9", &QueryOptions{AuthToken: "other"})
	ce := mustConnectError(t, err, 404, ConnectCodeNotFound, "pipeline 9 not found")
	if ce.Error() != "not_found: pipeline 9 not found" || !IsNotFound(err) || IsAlreadyExists(err) {
		t.Fatalf("Error() = %q, IsNotFound = %v", ce.Error(), IsNotFound(err))
	}
	if got := f.last(t).Header.Get("X-Nomad-Token"); got != "other" {
		t.Fatalf("X-Nomad-Token = %q, want the per-call token", got)
	}

	f.status, f.body = 200, "not json"
	if _, _, err := c.Pipelines().Get("7", nil); err == nil || !strings.Contains(err.Error(), "decoding response") {
		t.Fatalf("err = %v, want a decoding error", err)
	}
}

func TestPipelines_GetID(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"id":"7"}`)
	id, _, err := c.Pipelines().GetID("linux", nil)
	if err != nil || id != "7" {
		t.Fatalf("GetID = %q, %v", id, err)
	}
	expectConnect(t, f, "GetPipelineID", `{"name":"linux"}`, nil)
	if _, _, err := c.Pipelines().GetID("", nil); err == nil || len(f.reqs) != 1 {
		t.Fatalf("GetID(\"\") = %v; want a client-side error", err)
	}
	f.status, f.body = 404, `{"code":"not_found","message":"pipeline linux not found"}`
	_, _, err = c.Pipelines().GetID("linux", nil)
	mustConnectError(t, err, 404, ConnectCodeNotFound, "pipeline linux not found")
}

func TestPipelines_List(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{"pipelines":[`+pipelineJSON+`,{"id":"8","name":"b","contents":"y"}]}`)
	f.headers["X-Nomad-Index"] = "44"
	ps, qm, err := c.Pipelines().List(blockingQuery)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	expectConnect(t, f, "ListPipelines", `{}`, blockingParams)
	if len(ps) != 2 || qm.LastIndex != 44 || ps[1].ID != "8" || ps[1].Enabled != nil || ps[1].Matchers != nil {
		t.Fatalf("List = %+v, %+v", ps, qm)
	}
	checkPipeline(t, ps[0])

	for _, body := range []string{`{}`, `{"pipelines":null}`, ""} {
		f.body = body
		if ps, _, err = c.Pipelines().List(nil); err != nil || ps == nil || len(ps) != 0 {
			t.Fatalf("List of %q = %#v, %v; want empty non-nil", body, ps, err)
		}
	}

	f.status, f.body = 403, "Permission denied"
	_, _, err = c.Pipelines().List(nil)
	mustConnectError(t, err, 403, ConnectCodePermissionDenied, "Permission denied")
}

func TestPipelines_CreateUpdateUpsert(t *testing.T) {
	f, c := newFakeAgent(t, 200, pipelineJSON)
	f.headers["X-Nomad-Index"] = "50"
	enabled := true
	in := &Pipeline{Name: "linux", Contents: "x", Matchers: []string{"a=b"}, Enabled: &enabled,
		ConfigType: ConfigTypeOTel, Metadata: map[string]any{"k": "v"}}

	out, wm, err := c.Pipelines().Create(in, false, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	expectConnect(t, f, "CreatePipeline", `{"pipeline":{"name":"linux","contents":"x","matchers":["a=b"],
	 "enabled":true,"metadata":{"k":"v"},"configType":"CONFIG_TYPE_OTEL"}}`, nil)
	checkPipeline(t, out)
	if wm.LastIndex != 50 {
		t.Fatalf("LastIndex = %d", wm.LastIndex)
	}
	if _, _, err := c.Pipelines().Create(in, true, nil); err != nil {
		t.Fatalf("Create validate-only: %v", err)
	}
	expectConnect(t, f, "CreatePipeline", `{"pipeline":{"name":"linux","contents":"x","matchers":["a=b"],
	 "enabled":true,"metadata":{"k":"v"},"configType":"CONFIG_TYPE_OTEL"},"validateOnly":true}`, nil)

	in.ID = "7"
	if out, _, err = c.Pipelines().Update(in, true, nil); err != nil {
		t.Fatalf("Update: %v", err)
	}
	checkPipeline(t, out)
	expectConnect(t, f, "UpdatePipeline", `{"pipeline":{"id":"7","name":"linux","contents":"x","matchers":["a=b"],
	 "enabled":true,"metadata":{"k":"v"},"configType":"CONFIG_TYPE_OTEL"},"validateOnly":true}`, nil)

	in.ID = ""
	if out, _, err = c.Pipelines().Upsert(in, nil); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	checkPipeline(t, out)
	expectConnect(t, f, "UpsertPipeline", `{"pipeline":{"name":"linux","contents":"x","matchers":["a=b"],
	 "enabled":true,"metadata":{"k":"v"},"configType":"CONFIG_TYPE_OTEL"}}`, nil)

	n := len(f.reqs)
	if _, _, err := c.Pipelines().Create(nil, false, nil); err == nil {
		t.Fatalf("Create(nil) should fail")
	}
	if _, _, err := c.Pipelines().Update(in, false, nil); err == nil {
		t.Fatalf("Update without ID should fail")
	}
	if _, _, err := c.Pipelines().Upsert(nil, nil); err == nil {
		t.Fatalf("Upsert(nil) should fail")
	}
	if len(f.reqs) != n {
		t.Fatalf("invalid writes reached the server")
	}

	f.status, f.body = 409, `{"code":"already_exists","message":"pipeline linux already exists"}`
	_, _, err = c.Pipelines().Create(in, false, &WriteOptions{AuthToken: "other"})
	mustConnectError(t, err, 409, ConnectCodeAlreadyExists, "pipeline linux already exists")
	if !IsAlreadyExists(err) || IsNotFound(err) {
		t.Fatalf("IsAlreadyExists(%v) = false", err)
	}
	if got := f.last(t).Header.Get("X-Nomad-Token"); got != "other" {
		t.Fatalf("X-Nomad-Token = %q, want the per-call token", got)
	}

	f.status, f.body = 400, `{"code":"invalid_argument","message":"bad matcher \"a\"","details":[]}`
	in.ID = "7"
	_, _, err = c.Pipelines().Update(in, false, nil)
	mustConnectError(t, err, 400, ConnectCodeInvalidArgument, `bad matcher "a"`)
}

func TestPipelines_Delete(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{}`)
	f.headers["X-Nomad-Index"] = "51"
	wm, err := c.Pipelines().Delete("7", nil)
	if err != nil || wm.LastIndex != 51 {
		t.Fatalf("Delete = %+v, %v", wm, err)
	}
	expectConnect(t, f, "DeletePipeline", `{"id":"7"}`, nil)
	if _, err := c.Pipelines().Delete("", nil); err == nil || len(f.reqs) != 1 {
		t.Fatalf("Delete(\"\") = %v; want a client-side error", err)
	}

	if _, err := c.Pipelines().BulkDelete([]string{"7", "8"}, nil); err != nil {
		t.Fatalf("BulkDelete: %v", err)
	}
	expectConnect(t, f, "BulkDeletePipelines", `{"ids":["7","8"]}`, nil)
	n := len(f.reqs)
	for _, ids := range [][]string{nil, {}, {"7", ""}} {
		if _, err := c.Pipelines().BulkDelete(ids, nil); err == nil {
			t.Fatalf("BulkDelete(%q) should fail", ids)
		}
	}
	if len(f.reqs) != n {
		t.Fatalf("invalid deletes reached the server")
	}

	f.status, f.body = 404, `{"code":"not_found","message":"pipeline 9 not found"}`
	_, err = c.Pipelines().Delete("9", nil)
	mustConnectError(t, err, 404, ConnectCodeNotFound, "pipeline 9 not found")
	_, err = c.Pipelines().BulkDelete([]string{"9"}, nil)
	mustConnectError(t, err, 404, ConnectCodeNotFound, "pipeline 9 not found")
}

func TestPipelines_Sync(t *testing.T) {
	f, c := newFakeAgent(t, 200, `{}`)
	src := &PipelineSource{Type: SourceTypeGit, Namespace: "repo"}
	if _, err := c.Pipelines().Sync(src, []*Pipeline{{Name: "a", Contents: "x"}}, nil); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	expectConnect(t, f, "SyncPipelines",
		`{"source":{"type":"SOURCE_TYPE_GIT","namespace":"repo"},"pipelines":[{"name":"a","contents":"x"}]}`, nil)
	if _, err := c.Pipelines().Sync(src, nil, nil); err != nil {
		t.Fatalf("Sync of none: %v", err)
	}
	expectConnect(t, f, "SyncPipelines", `{"source":{"type":"SOURCE_TYPE_GIT","namespace":"repo"},"pipelines":[]}`, nil)
	if _, err := c.Pipelines().Sync(nil, nil, nil); err == nil || len(f.reqs) != 2 {
		t.Fatalf("Sync(nil source) = %v; want a client-side error", err)
	}
	f.status, f.body = 400, `{"code":"invalid_argument","message":"source namespace must not be empty"}`
	_, err := c.Pipelines().Sync(&PipelineSource{Type: SourceTypeGit}, nil, nil)
	mustConnectError(t, err, 400, ConnectCodeInvalidArgument, "source namespace must not be empty")
}

const revisionsJSON = `{"pipelineRevisions":[
 {"revisionId":"1","snapshot":{"name":"linux","matchers":["a=b"],"enabled":true,"id":"7"},
  "createdAt":"2026-03-01T10:00:00Z","operation":"INSERT"},
 {"revisionId":"2","snapshot":{"name":"linux","enabled":true,"id":"7"},
  "createdAt":"2026-03-01T10:05:00Z","operation":"DELETE"}]}`

// checkRevisions fails the test unless revs is revisionsJSON decoded.
func checkRevisions(t *testing.T, revs []*PipelineRevision) {
	t.Helper()
	if len(revs) != 2 {
		t.Fatalf("revisions = %+v", revs)
	}
	r := revs[0]
	if r.RevisionID != "1" || r.Operation != RevisionInsert || r.Snapshot == nil || r.Snapshot.ID != "7" ||
		r.Snapshot.Contents != "" || !r.CreatedAt.Equal(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("revision = %+v", r)
	}
	if revs[1].Operation != RevisionDelete {
		t.Fatalf("operation = %q", revs[1].Operation)
	}
}

func TestPipelines_Revisions(t *testing.T) {
	f, c := newFakeAgent(t, 200, revisionsJSON)
	f.headers["X-Nomad-Index"] = "60"
	revs, qm, err := c.Pipelines().ListAllRevisions(blockingQuery)
	if err != nil || qm.LastIndex != 60 {
		t.Fatalf("ListAllRevisions: %v, %+v", err, qm)
	}
	expectConnect(t, f, "ListPipelinesRevisions", `{}`, blockingParams)
	checkRevisions(t, revs)

	if revs, _, err = c.Pipelines().ListRevisions("7", blockingQuery); err != nil {
		t.Fatalf("ListRevisions: %v", err)
	}
	expectConnect(t, f, "ListPipelineRevisions", `{"id":"7"}`, blockingParams)
	checkRevisions(t, revs)

	f.body = `{}`
	if revs, _, err = c.Pipelines().ListRevisions("7", nil); err != nil || revs == nil || len(revs) != 0 {
		t.Fatalf("ListRevisions = %#v, %v; want empty non-nil", revs, err)
	}
	if _, _, err := c.Pipelines().ListRevisions("", nil); err == nil {
		t.Fatalf("ListRevisions(\"\") should fail")
	}

	f.body = `{"revisionId":"4","snapshot":` + pipelineJSON + `,"createdAt":"2026-03-01T12:00:00Z","operation":"UPDATE"}`
	rev, qm, err := c.Pipelines().GetRevision("4", blockingQuery)
	if err != nil || qm.LastIndex != 60 {
		t.Fatalf("GetRevision: %v", err)
	}
	expectConnect(t, f, "GetPipelineRevision", `{"revisionId":"4"}`, blockingParams)
	if rev.RevisionID != "4" || rev.Operation != RevisionUpdate {
		t.Fatalf("revision = %+v", rev)
	}
	checkPipeline(t, rev.Snapshot)
	n := len(f.reqs)
	if _, _, err := c.Pipelines().GetRevision("", nil); err == nil || len(f.reqs) != n {
		t.Fatalf("GetRevision(\"\") = %v; want a client-side error", err)
	}

	f.status, f.body = 404, `{"code":"not_found","message":"revision 99 not found"}`
	_, _, err = c.Pipelines().GetRevision("99", nil)
	mustConnectError(t, err, 404, ConnectCodeNotFound, "revision 99 not found")
}

// TestConnectError_Inferred checks the codes read from the status of an
// error answer that has none, as connect-go clients infer them.
func TestConnectError_Inferred(t *testing.T) {
	cases := []struct {
		status int
		body   string
		code   string
	}{
		{400, "bad", ConnectCodeInternal},
		{401, "", ConnectCodeUnauthenticated},
		{403, "Permission denied", ConnectCodePermissionDenied},
		{404, "404 page not found", ConnectCodeUnimplemented},
		{429, "slow down", ConnectCodeUnavailable},
		{503, "", ConnectCodeUnavailable},
		{500, `{"message":"no code"}`, ConnectCodeUnknown},
	}
	f, c := newFakeAgent(t, 200, "")
	for _, tc := range cases {
		f.status, f.body = tc.status, tc.body
		_, _, err := c.Pipelines().List(nil)
		mustConnectError(t, err, tc.status, tc.code, strings.TrimSpace(tc.body))
	}
	// A plain 404 is an unknown route, not a missing pipeline.
	f.status, f.body = 404, "404 page not found"
	if _, _, err := c.Pipelines().List(nil); IsNotFound(err) {
		t.Fatalf("IsNotFound(%v) = true for a route 404", err)
	}
	f.status, f.body = 401, ""
	if _, _, err := c.Pipelines().List(nil); err == nil || err.Error() != "unauthenticated" {
		t.Fatalf("Error() = %v, want the bare code", err)
	}
}

// TestIsNotFound_Families checks the helpers across the API families.
func TestIsNotFound_Families(t *testing.T) {
	f, c := newFakeAgent(t, 404, "ACL token not found")
	_, _, err := c.ACLTokens().Info("x", nil)
	if !IsNotFound(err) || IsAlreadyExists(err) {
		t.Fatalf("IsNotFound(%v) = false for a Nomad-family 404", err)
	}
	f.status = 409
	_, _, err = c.ACLTokens().Info("x", nil)
	if !IsAlreadyExists(err) || IsNotFound(err) {
		t.Fatalf("IsAlreadyExists(%v) = false for a 409", err)
	}
	if IsNotFound(nil) || IsNotFound(errors.New("x")) || IsAlreadyExists(nil) {
		t.Fatalf("helpers true for a non-answer error")
	}
}

// WriteOptions.IdempotencyKey is sent as the Idempotency-Key header;
// QueryOptions.RequireConsistent as ?consistent.
func TestPipelines_IdempotencyKeyAndConsistent(t *testing.T) {
	f, c := newFakeAgent(t, 200, pipelineJSON)
	in := &Pipeline{Name: "linux", Contents: "x"}
	if _, _, err := c.Pipelines().Upsert(in, &WriteOptions{IdempotencyKey: "deploy-42"}); err != nil {
		t.Fatal(err)
	}
	if got := f.last(t).Header.Get("Idempotency-Key"); got != "deploy-42" {
		t.Fatalf("Idempotency-Key = %q", got)
	}
	if _, _, err := c.Pipelines().Get("7", &QueryOptions{RequireConsistent: true}); err != nil {
		t.Fatal(err)
	}
	if q := f.last(t).Query; !q.Has("consistent") {
		t.Fatalf("query %v lacks consistent", q)
	}
}
