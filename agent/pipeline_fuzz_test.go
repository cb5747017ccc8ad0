package agent

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	pipelinev1 "github.com/nomadlike/nomadlike/agent/proto/pipeline/v1"
	"github.com/nomadlike/nomadlike/agent/proto/pipeline/v1/pipelinev1connect"
)

// fuzzPipelineMethods are the procedures FuzzPipelineRequestDecode drives,
// each with a constructor of its answer message (to check a 200 decodes).
var fuzzPipelineMethods = []struct {
	path string
	resp func() proto.Message
}{
	{pipelinev1connect.PipelineServiceCreatePipelineProcedure, func() proto.Message { return &pipelinev1.Pipeline{} }},
	{pipelinev1connect.PipelineServiceUpdatePipelineProcedure, func() proto.Message { return &pipelinev1.Pipeline{} }},
	{pipelinev1connect.PipelineServiceUpsertPipelineProcedure, func() proto.Message { return &pipelinev1.Pipeline{} }},
	{pipelinev1connect.PipelineServiceSyncPipelinesProcedure, func() proto.Message { return &pipelinev1.SyncPipelinesResponse{} }},
	{pipelinev1connect.PipelineServiceBulkDeletePipelinesProcedure, func() proto.Message { return &pipelinev1.BulkDeletePipelinesResponse{} }},
	{pipelinev1connect.PipelineServiceGetPipelineRevisionProcedure, func() proto.Message { return &pipelinev1.PipelineRevision{} }},
}

// fuzzContentTypes are the request codecs; the index is a fuzz argument.
var fuzzContentTypes = []string{"application/json", "application/proto", "application/json; charset=utf-8"}

// knownConnectCodes are the codes a Connect error body may carry.
var knownConnectCodes = map[string]bool{
	"canceled": true, "unknown": true, "invalid_argument": true, "deadline_exceeded": true,
	"not_found": true, "already_exists": true, "permission_denied": true, "resource_exhausted": true,
	"failed_precondition": true, "aborted": true, "out_of_range": true, "unimplemented": true,
	"internal": true, "unavailable": true, "data_loss": true, "unauthenticated": true,
}

// FuzzPipelineRequestDecode feeds arbitrary bodies, as JSON and as
// protobuf, to pipeline procedures through the agent's real HTTP mux (in
// process, no network): the wrap, the body reading, connect-go's decoding
// and the conversion to the Pipeline.* RPCs. It must never panic nor answer
// 500 (other than a lost leader), and every error must be a Connect JSON
// error body.
func FuzzPipelineRequestDecode(f *testing.F) {
	a := TestAgent(f, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(f, a)
	mux := a.http.mux

	const (
		mCreate = iota
		mUpdate
		mUpsert
		mSync
		mBulkDelete
		mGetRevision
	)
	const (
		ctJSON = iota
		ctProto
		ctJSONCharset
	)
	addJSON := func(m int, body string) {
		f.Add(uint8(m), uint8(ctJSON), []byte(body))
		f.Add(uint8(m), uint8(ctJSONCharset), []byte(body))
	}
	addProto := func(m int, msg proto.Message) {
		b, err := proto.Marshal(msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(m), uint8(ctProto), b)
	}

	meta, err := structpb.NewStruct(map[string]any{"team": "a", "n": 1.5, "nested": map[string]any{"x": []any{true, nil}}})
	if err != nil {
		f.Fatal(err)
	}
	full := &pipelinev1.Pipeline{
		Name: "full", Contents: "logging {}", Matchers: []string{`env="prod"`, "collector.os=~linux|darwin"},
		Enabled: proto.Bool(false), Id: proto.String("1"), Metadata: meta,
		Source:     &pipelinev1.PipelineSource{Type: pipelinev1.PipelineSource_SOURCE_TYPE_GIT, Namespace: "repo"},
		ConfigType: pipelinev1.ConfigType_CONFIG_TYPE_ALLOY,
	}
	simple := &pipelinev1.Pipeline{Name: "a", Contents: "x", Matchers: []string{"env=prod"}}
	for _, m := range []int{mCreate, mUpdate, mUpsert} {
		addJSON(m, `{"pipeline":{"name":"a","contents":"x","matchers":["env=prod"]}}`)
		addJSON(m, `{"pipeline":{"name":"a","contents":"x","matchers":["env=prod"],"enabled":false,"id":"1"},"validate_only":true}`)
		addJSON(m, `{"pipeline":{"name":"b","contents":"x","config_type":"CONFIG_TYPE_OTEL","source":{"type":"SOURCE_TYPE_TERRAFORM","namespace":"tf"}}}`)
		addJSON(m, `{"pipeline":{"name":"c","contents":"x","configType":2,"metadata":{"a":[1,{"b":null}]}},"validateOnly":true}`)
		addJSON(m, `{"pipeline":{"name":"d","matchers":["not a matcher"]}}`)
		addJSON(m, `{"pipeline":{"name":"e","configType":42,"source":{"type":99}}}`)
		addJSON(m, `{"pipeline":{"name":"f","createdAt":"2026-01-02T03:04:05Z","updated_at":"1970-01-01T00:00:00Z"}}`)
		addJSON(m, `{"pipeline":null}`)
		addJSON(m, `{}`)
		addJSON(m, ``)
		addProto(m, &pipelinev1.CreatePipelineRequest{Pipeline: simple})
		addProto(m, &pipelinev1.UpdatePipelineRequest{Pipeline: full, ValidateOnly: true})
		addProto(m, &pipelinev1.UpsertPipelineRequest{Pipeline: full})
		addProto(m, &pipelinev1.CreatePipelineRequest{Pipeline: &pipelinev1.Pipeline{Name: "g", ConfigType: 7}})
		addProto(m, &pipelinev1.CreatePipelineRequest{})
	}
	addJSON(mSync, `{"source":{"type":"SOURCE_TYPE_GIT","namespace":"repo"},"pipelines":[{"name":"s1","contents":"x"}]}`)
	addJSON(mSync, `{"source":{"type":1,"namespace":"repo"},"pipelines":[]}`)
	addJSON(mSync, `{"source":{"type":"SOURCE_TYPE_GIT"},"pipelines":[null]}`)
	addJSON(mSync, `{"pipelines":[{"name":"s1"}]}`)
	addProto(mSync, &pipelinev1.SyncPipelinesRequest{
		Source:    &pipelinev1.PipelineSource{Type: pipelinev1.PipelineSource_SOURCE_TYPE_GIT, Namespace: "repo"},
		Pipelines: []*pipelinev1.Pipeline{simple, {Name: "s2", Contents: "y"}},
	})
	addProto(mSync, &pipelinev1.SyncPipelinesRequest{Source: &pipelinev1.PipelineSource{Type: 55}})
	addJSON(mBulkDelete, `{"ids":["1","2"]}`)
	addJSON(mBulkDelete, `{"ids":[]}`)
	addJSON(mBulkDelete, `{"ids":[""]}`)
	addJSON(mBulkDelete, `{"ids":"1"}`)
	addProto(mBulkDelete, &pipelinev1.BulkDeletePipelinesRequest{Ids: []string{"1", "999999"}})
	addJSON(mGetRevision, `{"revisionId":"1"}`)
	addJSON(mGetRevision, `{"revision_id":"18446744073709551616"}`)
	addJSON(mGetRevision, `{"revisionId":""}`)
	addProto(mGetRevision, &pipelinev1.GetPipelineRevisionRequest{RevisionId: "1"})
	addProto(mGetRevision, &pipelinev1.GetPipelineRevisionRequest{RevisionId: "-1"})
	// Garbage in both codecs.
	for m := range fuzzPipelineMethods {
		for ct := range fuzzContentTypes {
			for _, g := range []string{"\x00\xff\xfe", "{", "null", "[]", `{"pipeline":`, "\x0a\x05\x0a\x03\xc3\x28", "\x0a\xff\xff\xff\xff\x0f"} {
				f.Add(uint8(m), uint8(ct), []byte(g))
			}
		}
	}

	f.Fuzz(func(t *testing.T, m, ct uint8, body []byte) {
		method := fuzzPipelineMethods[int(m)%len(fuzzPipelineMethods)]
		contentType := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]
		req := httptest.NewRequest(http.MethodPost, method.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Connect-Protocol-Version", "1")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req) // a panic fails the fuzz run

		res := rec.Result()
		out := rec.Body.Bytes()
		if res.StatusCode == http.StatusOK {
			msg := method.resp()
			var err error
			if strings.HasPrefix(contentType, "application/proto") {
				err = proto.Unmarshal(out, msg)
			} else {
				err = protojson.Unmarshal(out, msg)
			}
			if err != nil {
				t.Fatalf("%s %s %q: 200 answer does not decode: %v: %q", method.path, contentType, body, err, out)
			}
			return
		}
		if got := res.Header.Get("Content-Type"); got != "application/json" {
			t.Fatalf("%s %s %q: error %d with content type %q: %q", method.path, contentType, body, res.StatusCode, got, out)
		}
		var e struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(out, &e); err != nil || e.Code == "" {
			t.Fatalf("%s %s %q: error %d is not a Connect error: %q", method.path, contentType, body, res.StatusCode, out)
		}
		if !knownConnectCodes[e.Code] {
			t.Fatalf("%s %s %q: unknown Connect code %q: %q", method.path, contentType, body, e.Code, out)
		}
		if res.StatusCode >= 500 && !strings.Contains(strings.ToLower(e.Message), "no cluster leader") {
			t.Fatalf("%s %s %q: status %d: %q", method.path, contentType, body, res.StatusCode, out)
		}
	})
}
