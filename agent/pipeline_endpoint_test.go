package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pipelinev1 "github.com/nomadlike/nomadlike/agent/proto/pipeline/v1"
	"github.com/nomadlike/nomadlike/agent/proto/pipeline/v1/pipelinev1connect"
	"github.com/nomadlike/nomadlike/structs"
)

// post sends a raw body with a content type and optional token.
func post(t *testing.T, url, contentType, token string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("X-Nomad-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// connectErr decodes a Connect error body.
func connectErr(t *testing.T, body []byte) (code, msg string) {
	t.Helper()
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Code == "" {
		t.Fatalf("not a Connect error: %s", body)
	}
	return e.Code, e.Message
}

func TestPipelineConvert_RoundTrip(t *testing.T) {
	meta, _ := structpb.NewStruct(map[string]any{"team": "b", "a": 1.5, "nested": map[string]any{"x": []any{true, nil}}})
	in := &pipelinev1.Pipeline{
		Name:       "p",
		Contents:   "logging {}",
		Matchers:   []string{`env="prod"`},
		CreatedAt:  timestamppb.Now(), // ignored: the server stamps
		Id:         proto.String("7"),
		Metadata:   meta,
		Source:     &pipelinev1.PipelineSource{Type: pipelinev1.PipelineSource_SOURCE_TYPE_GIT, Namespace: "repo"},
		ConfigType: pipelinev1.ConfigType_CONFIG_TYPE_OTEL,
	}
	sp, err := pipelineFromPB(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &structs.Pipeline{ID: "7", Name: "p", Contents: "logging {}", Matchers: []string{`env="prod"`}, Enabled: true,
		Metadata: []byte(`{"a":1.5,"nested":{"x":[true,null]},"team":"b"}`), SourceType: "SOURCE_TYPE_GIT",
		SourceNamespace: "repo", ConfigType: "CONFIG_TYPE_OTEL"}
	if fmt.Sprintf("%+v", sp) != fmt.Sprintf("%+v", want) || string(sp.Metadata) != string(want.Metadata) {
		t.Fatalf("from pb:\n%+v\nwant\n%+v (metadata %s)", sp, want, sp.Metadata)
	}

	// Enabled: unset is true, an explicit false stays false.
	in.Enabled = proto.Bool(false)
	if sp, _ := pipelineFromPB(in); sp.Enabled {
		t.Fatal("explicit enabled=false became true")
	}
	if sp, _ := pipelineFromPB(&pipelinev1.Pipeline{Name: "x"}); !sp.Enabled || sp.Metadata != nil || sp.SourceType != "" || sp.ConfigType != "" {
		t.Fatalf("minimal pipeline: %+v", sp)
	}

	// Back to protobuf: server fields out, metadata equal as a Struct.
	now := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.UTC)
	sp.ID, sp.CreatedAt, sp.UpdatedAt = "9", now, now.Add(time.Second)
	sp.Metadata = want.Metadata
	sp.SourceType, sp.SourceNamespace, sp.ConfigType = "SOURCE_TYPE_TERRAFORM", "tf", "CONFIG_TYPE_ALLOY"
	pb, err := pipelineToPB(sp)
	if err != nil {
		t.Fatal(err)
	}
	if pb.GetId() != "9" || pb.Enabled == nil || !*pb.Enabled || !pb.CreatedAt.AsTime().Equal(now) ||
		!pb.UpdatedAt.AsTime().Equal(now.Add(time.Second)) || !proto.Equal(pb.Metadata, meta) ||
		pb.Source.GetType() != pipelinev1.PipelineSource_SOURCE_TYPE_TERRAFORM || pb.Source.GetNamespace() != "tf" ||
		pb.ConfigType != pipelinev1.ConfigType_CONFIG_TYPE_ALLOY {
		t.Fatalf("to pb: %v", pb)
	}
	// And the metadata survives a second round trip byte for byte.
	again, err := pipelineFromPB(pb)
	if err != nil || string(again.Metadata) != string(want.Metadata) {
		t.Fatalf("metadata round trip: %s %v", again.Metadata, err)
	}

	// A disabled pipeline says so explicitly; unset server fields stay unset.
	pb, _ = pipelineToPB(&structs.Pipeline{Name: "d"})
	if pb.Enabled == nil || *pb.Enabled || pb.Id != nil || pb.CreatedAt != nil || pb.Source != nil || pb.Metadata != nil {
		t.Fatalf("bare pipeline to pb: %v", pb)
	}

	// Enum numbers the proto does not know are refused, not stored.
	if _, err := pipelineFromPB(&pipelinev1.Pipeline{ConfigType: 42}); err == nil || !strings.Contains(err.Error(), "config_type 42") {
		t.Fatalf("unknown config type: %v", err)
	}
	if _, err := pipelineFromPB(&pipelinev1.Pipeline{Source: &pipelinev1.PipelineSource{Type: 9}}); err == nil || !strings.Contains(err.Error(), "source.type 9") {
		t.Fatalf("unknown source type: %v", err)
	}
}

func TestPipelineConvert_Revision(t *testing.T) {
	at := time.Date(2025, 2, 14, 9, 35, 54, 0, time.UTC)
	for op, want := range map[string]pipelinev1.PipelineRevision_Operation{
		structs.RevisionInsert: pipelinev1.PipelineRevision_INSERT,
		structs.RevisionUpdate: pipelinev1.PipelineRevision_UPDATE,
		structs.RevisionDelete: pipelinev1.PipelineRevision_DELETE,
	} {
		pb, err := revisionToPB(&structs.PipelineRevision{RevisionID: "3", PipelineID: "1", CreatedAt: at, Operation: op,
			Snapshot: &structs.Pipeline{ID: "1", Name: "myname", Enabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		if pb.RevisionId != "3" || pb.Operation != want || !pb.CreatedAt.AsTime().Equal(at) || pb.Snapshot.GetName() != "myname" || pb.Snapshot.GetId() != "1" {
			t.Fatalf("%s: %v", op, pb)
		}
	}
}

func TestPipelineConvert_Errors(t *testing.T) {
	for _, tc := range []struct {
		err       error
		anonymous bool
		status    int
		code      connect.Code
	}{
		{structs.NewErrCoded(400, "bad matcher"), false, 400, connect.CodeInvalidArgument},
		{structs.ErrTokenNotFound, false, 401, connect.CodeUnauthenticated},
		{structs.ErrPermissionDenied, false, 403, connect.CodePermissionDenied},
		{structs.ErrPermissionDenied, true, 401, connect.CodeUnauthenticated},
		{structs.NewErrCoded(404, "pipeline 1 not found"), false, 404, connect.CodeNotFound},
		{structs.NewErrCoded(409, "pipeline name taken"), false, 409, connect.CodeAlreadyExists},
		{structs.NewErrCoded(413, "too big"), false, 400, connect.CodeInvalidArgument},
		{structs.NewErrCoded(429, "slow down"), false, 429, connect.CodeResourceExhausted},
		{structs.NewErrCoded(500, "boom"), false, 500, connect.CodeInternal},
		{structs.ErrNoLeader, false, 503, connect.CodeUnavailable},
		{structs.NewErrCoded(501, "nope"), false, 501, connect.CodeUnimplemented},
		{structs.NewErrCoded(503, "shutting down"), false, 503, connect.CodeUnavailable},
		{structs.NewErrCoded(418, "teapot"), false, 400, connect.CodeInvalidArgument},
		{errMethodNotAllowed, false, 405, connect.CodeUnimplemented},
		{errors.New("plain"), false, 500, connect.CodeInternal},
		{structs.DecodeRPCError(errors.New(structs.ErrTokenNotFound.Error())), false, 401, connect.CodeUnauthenticated},
		{connect.NewError(connect.CodeAlreadyExists, errors.New("x")), false, 409, connect.CodeAlreadyExists},
	} {
		ce := toConnectError(tc.err, tc.anonymous)
		if ce.status != tc.status || ce.code != tc.code {
			t.Errorf("%v (anonymous %v): %d %s, want %d %s", tc.err, tc.anonymous, ce.status, ce.code, tc.status, tc.code)
		}
	}
	ce := toConnectError(structs.NewErrCoded(404, "pipeline 1 not found"), false)
	if ce.msg != "pipeline 1 not found" {
		t.Fatalf("message %q", ce.msg)
	}
}

// TestPipelineHTTP_WireErrors checks the Connect family's error answers:
// the HTTP layer's own, connect-go's, and the server's validation errors
// carried as invalid_argument.
func TestPipelineHTTP_WireErrors(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL() + pipelineServicePrefix

	for _, tc := range []struct {
		name, method, path, contentType, body string
		status                                int
		code, msg                             string
	}{
		{"wrong method", http.MethodGet, "GetPipeline", "", "", 405, "unimplemented", "Invalid method"},
		{"unknown procedure", http.MethodPost, "NoSuchMethod", "application/json", "{}", 404, "unimplemented",
			"unknown procedure /pipeline.v1.PipelineService/NoSuchMethod"},
		{"missing id", http.MethodPost, "GetPipeline", "application/json", "{}", 400, "invalid_argument", "pipeline id must not be empty"},
		{"empty JSON body reads as {}", http.MethodPost, "GetPipelineID", "application/json", "", 400, "invalid_argument", "name is required"},
		{"empty proto body", http.MethodPost, "GetPipelineRevision", "application/proto", "", 400, "invalid_argument", "revision_id must not be empty"},
		{"bad JSON", http.MethodPost, "GetPipeline", "application/json", "{nope", 400, "invalid_argument", ""},
		{"bad blocking index", http.MethodPost, "ListPipelines?index=x", "application/json", "{}", 400, "invalid_argument", "Invalid index"},
		{"one revision list needs an id", http.MethodPost, "ListPipelineRevisions", "application/json", `{"id":""}`, 400, "invalid_argument", "id is required"},
		{"update needs an id", http.MethodPost, "UpdatePipeline", "application/json", `{"pipeline":{"name":"a"}}`, 400, "invalid_argument", "pipeline id must not be empty"},
		{"create needs a pipeline", http.MethodPost, "CreatePipeline", "application/json", `{"validate_only":true}`, 400, "invalid_argument", "pipeline is required"},
		{"bulk delete needs ids", http.MethodPost, "BulkDeletePipelines", "application/json", `{"ids":[]}`, 400, "invalid_argument", "ids must not be empty"},
		{"bulk delete ids unique", http.MethodPost, "BulkDeletePipelines", "application/json", `{"ids":["1","1"]}`, 400, "invalid_argument", `pipeline ID "1" given twice`},
		{"sync needs a source", http.MethodPost, "SyncPipelines", "application/json", `{}`, 400, "invalid_argument", "source is required"},
		{"sync needs a namespace", http.MethodPost, "SyncPipelines", "application/json", `{"source":{"type":"SOURCE_TYPE_GIT"}}`, 400, "invalid_argument", "source.namespace must not be empty"},
		// snake_case and camelCase field names are both read.
		{"snake_case input", http.MethodPost, "SyncPipelines", "application/json",
			`{"source":{"type":"SOURCE_TYPE_GIT","namespace":"n"},"pipelines":[{"name":"a","config_type":42}]}`, 400, "invalid_argument", "pipelines[0]: unknown config_type 42"},
		{"camelCase input", http.MethodPost, "SyncPipelines", "application/json",
			`{"source":{"type":"SOURCE_TYPE_GIT","namespace":"n"},"pipelines":[{"name":"a","configType":42}]}`, 400, "invalid_argument", "pipelines[0]: unknown config_type 42"},
		{"alloy bootstrap", http.MethodPost, "CreateAlloyPipelines", "application/json", "{}", 501, "unimplemented",
			"CreateAlloyPipelines is internal to Grafana Cloud and not implemented"},
	} {
		req, _ := http.NewRequest(tc.method, u+tc.path, strings.NewReader(tc.body))
		if tc.contentType != "" {
			req.Header.Set("Content-Type", tc.contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
			continue
		}
		code, msg := connectErr(t, body)
		if code != tc.code || (tc.msg != "" && msg != tc.msg) {
			t.Errorf("%s: %s %q, want %s %q", tc.name, code, msg, tc.code, tc.msg)
		}
		if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s: headers %v", tc.name, resp.Header)
		}
		if tc.status == 405 && resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: Allow %q", tc.name, resp.Header.Get("Allow"))
		}
	}

	// A body over the limit is refused before connect-go parses it.
	big := bytes.Repeat([]byte("x"), maxRequestBytes+1)
	code, _, body := post(t, u+"CreatePipeline", "application/json", "", big)
	if c, msg := connectErr(t, body); code != 400 || c != "invalid_argument" || msg != fmt.Sprintf("request body exceeds %d bytes", maxRequestBytes) {
		t.Fatalf("big body: %d %s", code, body)
	}

	// An unsupported codec is Connect's 415.
	if code, _, body := post(t, u+"GetPipeline", "text/plain", "", []byte("{}")); code != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain: %d %s", code, body)
	}

	// Through the generated clients, with both codecs, errors keep their
	// code and message.
	for _, opts := range [][]connect.ClientOption{nil, {connect.WithProtoJSON()}} {
		client := pipelinev1connect.NewPipelineServiceClient(http.DefaultClient, a.URL(), opts...)
		_, err := client.GetPipeline(context.Background(), connect.NewRequest(&pipelinev1.GetPipelineRequest{}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "pipeline id must not be empty") {
			t.Fatalf("client GetPipeline without id: %v", err)
		}
		_, err = client.CreateAlloyPipelines(context.Background(), connect.NewRequest(&pipelinev1.CreateAlloyPipelinesRequest{}))
		if connect.CodeOf(err) != connect.CodeUnimplemented {
			t.Fatalf("client CreateAlloyPipelines: %v", err)
		}
	}
}

// TestPipelineHTTP_ACL checks the Connect family's auth answers: no or
// unknown token → unauthenticated, missing capability → permission_denied.
func TestPipelineHTTP_ACL(t *testing.T) {
	a := aclAgent(t, nil)
	mgmt := bootstrap(t, a)
	reader := tokenWith(t, a, mgmt, "pipeline-reader", `pipeline { policy = "read" }`)
	u := a.URL() + pipelineServicePrefix

	for _, tc := range []struct {
		name, token, method string
		status              int
		code, msg           string
	}{
		{"no token", "", "GetPipeline", 401, "unauthenticated", "Permission denied"},
		{"unknown token", "8d2c6f3e-0000-4000-8000-00000000dead", "GetPipeline", 401, "unauthenticated", "ACL token not found"},
		{"reader writes", reader.SecretID, "CreatePipeline", 403, "permission_denied", "Permission denied"},
		{"reader reads", reader.SecretID, "GetPipeline", 400, "invalid_argument", "pipeline id must not be empty"},
		{"management writes", mgmt, "BulkDeletePipelines", 400, "invalid_argument", "ids must not be empty"},
	} {
		code, _, body := post(t, u+tc.method, "application/json", tc.token, []byte("{}"))
		if c, msg := connectErr(t, body); code != tc.status || c != tc.code || msg != tc.msg {
			t.Errorf("%s: %d %s, want %d %s %q", tc.name, code, body, tc.status, tc.code, tc.msg)
		}
	}

	// Basic auth (the sync action) and bearer tokens work.
	for _, set := range []func(*http.Request){
		func(r *http.Request) { r.SetBasicAuth("12345", reader.SecretID) },
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+reader.SecretID) },
	} {
		req, _ := http.NewRequest(http.MethodPost, u+"GetPipeline", strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		set(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("%s: %d", req.Header.Get("Authorization")[:6], resp.StatusCode)
		}
	}

	// The generated client sees the codes.
	client := pipelinev1connect.NewPipelineServiceClient(http.DefaultClient, a.URL())
	_, err := client.ListPipelines(context.Background(), connect.NewRequest(&pipelinev1.ListPipelinesRequest{}))
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("client without token: %v", err)
	}
}

func TestPipelineHTTP_RateLimit(t *testing.T) {
	a := TestAgent(t, func(c *Config) {
		c.Client.Enabled = ptr(false)
		c.RateLimits = []*RateLimitConfig{{Family: "pipeline", RequestsPerSecond: ptr(0.5), Burst: ptr(1)}}
	})
	WaitForAgentLeader(t, a)
	u := a.URL() + pipelineServicePrefix + "GetPipeline"

	code, h, body := post(t, u, "application/json", "tok", []byte("{}"))
	if code != 400 || h.Get("X-RateLimit-Limit") != "1" || h.Get("X-RateLimit-Remaining") != "0" || h.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("first: %d %v %s", code, h, body)
	}
	code, h, body = post(t, u, "application/json", "tok", []byte("{}"))
	if c, _ := connectErr(t, body); code != 429 || c != "resource_exhausted" || h.Get("Retry-After") == "" ||
		h.Get("Content-Type") != "application/json" || h.Get("X-RateLimit-Limit") != "1" {
		t.Fatalf("second: %d %v %s", code, h, body)
	}
	// Unknown procedures are limited too, and other families are not.
	if code, _, body := post(t, a.URL()+pipelineServicePrefix+"Nope", "application/json", "tok", []byte("{}")); code != 429 {
		t.Fatalf("unknown procedure: %d %s", code, body)
	}
	if code, h, _ := call(t, http.MethodGet, a.URL()+"/v1/agent/self"); code != 200 || h.Get("X-RateLimit-Limit") != "" {
		t.Fatalf("nomad family: %d %v", code, h)
	}
}

// pipelineClients are the generated client with each codec.
func pipelineClients(a *Agent, token string) map[string]pipelinev1connect.PipelineServiceClient {
	auth := connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if token != "" {
				req.Header().Set("Authorization", "Bearer "+token)
			}
			return next(ctx, req)
		}
	}))
	return map[string]pipelinev1connect.PipelineServiceClient{
		"proto": pipelinev1connect.NewPipelineServiceClient(http.DefaultClient, a.URL(), auth),
		"json":  pipelinev1connect.NewPipelineServiceClient(http.DefaultClient, a.URL(), auth, connect.WithProtoJSON()),
	}
}

// TestPipelineRPC_EndToEnd runs every RPC through the generated client,
// with binary protobuf and with JSON. Needs the Pipeline.* RPC endpoints.
func TestPipelineRPC_EndToEnd(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	ctx := context.Background()

	for codec, client := range pipelineClients(a, "") {
		t.Run(codec, func(t *testing.T) {
			name := "p-" + codec
			meta, _ := structpb.NewStruct(map[string]any{"owner": "team-a", "n": 2.0})

			// Validate-only previews without writing.
			res, err := client.CreatePipeline(ctx, connect.NewRequest(&pipelinev1.CreatePipelineRequest{
				Pipeline: &pipelinev1.Pipeline{Name: name, Contents: "logging {}"}, ValidateOnly: true}))
			if err != nil || res.Msg.GetName() != name || !res.Msg.GetEnabled() {
				t.Fatalf("validate-only create: %v %v", res, err)
			}
			if _, err := client.GetPipelineID(ctx, connect.NewRequest(&pipelinev1.GetPipelineIDRequest{Name: name})); connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("validate-only create wrote: %v", err)
			}

			// Create: id assigned, enabled defaults to true, times set.
			res, err = client.CreatePipeline(ctx, connect.NewRequest(&pipelinev1.CreatePipelineRequest{Pipeline: &pipelinev1.Pipeline{
				Name: name, Contents: "logging {}", Matchers: []string{`env="prod"`}, Metadata: meta,
				ConfigType: pipelinev1.ConfigType_CONFIG_TYPE_ALLOY}}))
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			created := res.Msg
			if created.GetId() == "" || !created.GetEnabled() || created.CreatedAt == nil || created.UpdatedAt == nil ||
				!proto.Equal(created.Metadata, meta) || created.ConfigType != pipelinev1.ConfigType_CONFIG_TYPE_ALLOY ||
				res.Header().Get("X-Nomad-Index") == "" {
				t.Fatalf("created %v (headers %v)", created, res.Header())
			}
			id := created.GetId()

			// The name is taken.
			_, err = client.CreatePipeline(ctx, connect.NewRequest(&pipelinev1.CreatePipelineRequest{Pipeline: &pipelinev1.Pipeline{Name: name, Contents: "x {}"}}))
			if connect.CodeOf(err) != connect.CodeAlreadyExists {
				t.Fatalf("duplicate create: %v", err)
			}
			// Bad matchers are invalid_argument with the server's message.
			_, err = client.CreatePipeline(ctx, connect.NewRequest(&pipelinev1.CreatePipelineRequest{Pipeline: &pipelinev1.Pipeline{
				Name: name + "-bad", Contents: "x {}", Matchers: []string{"env=~("}}}))
			if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "matcher") {
				t.Fatalf("bad matcher: %v", err)
			}

			got, err := client.GetPipeline(ctx, connect.NewRequest(&pipelinev1.GetPipelineRequest{Id: id}))
			if err != nil || !proto.Equal(got.Msg, created) || got.Header().Get("X-Nomad-Index") == "" {
				t.Fatalf("get: %v %v", got, err)
			}
			gid, err := client.GetPipelineID(ctx, connect.NewRequest(&pipelinev1.GetPipelineIDRequest{Name: name}))
			if err != nil || gid.Msg.GetId() != id {
				t.Fatalf("get id: %v %v", gid, err)
			}

			// List, filtered by attributes and by enabled.
			list, err := client.ListPipelines(ctx, connect.NewRequest(&pipelinev1.ListPipelinesRequest{
				LocalAttributes: map[string]string{"env": "dev"}, RemoteAttributes: map[string]string{"env": "prod"}}))
			if err != nil || !containsPipeline(list.Msg.Pipelines, id) {
				t.Fatalf("list matching prod: %v %v", list, err)
			}
			list, err = client.ListPipelines(ctx, connect.NewRequest(&pipelinev1.ListPipelinesRequest{RemoteAttributes: map[string]string{"env": "dev"}}))
			if err != nil || containsPipeline(list.Msg.Pipelines, id) {
				t.Fatalf("list matching dev: %v %v", list, err)
			}
			list, err = client.ListPipelines(ctx, connect.NewRequest(&pipelinev1.ListPipelinesRequest{Enabled: proto.Bool(false)}))
			if err != nil || containsPipeline(list.Msg.Pipelines, id) {
				t.Fatalf("list disabled: %v %v", list, err)
			}

			// Update replaces everything; validate-only changes nothing.
			upd := &pipelinev1.Pipeline{Id: proto.String(id), Name: name, Contents: "logging { level = \"debug\" }", Enabled: proto.Bool(false)}
			if _, err := client.UpdatePipeline(ctx, connect.NewRequest(&pipelinev1.UpdatePipelineRequest{Pipeline: upd, ValidateOnly: true})); err != nil {
				t.Fatalf("validate-only update: %v", err)
			}
			if got, _ := client.GetPipeline(ctx, connect.NewRequest(&pipelinev1.GetPipelineRequest{Id: id})); got.Msg.GetContents() != "logging {}" {
				t.Fatalf("validate-only update wrote: %v", got.Msg)
			}
			ures, err := client.UpdatePipeline(ctx, connect.NewRequest(&pipelinev1.UpdatePipelineRequest{Pipeline: upd}))
			if err != nil || ures.Msg.GetEnabled() || len(ures.Msg.Matchers) != 0 || ures.Msg.Metadata != nil || ures.Msg.GetId() != id {
				t.Fatalf("update: %v %v", ures, err)
			}
			_, err = client.UpdatePipeline(ctx, connect.NewRequest(&pipelinev1.UpdatePipelineRequest{Pipeline: &pipelinev1.Pipeline{
				Id: proto.String("999999"), Name: "ghost-" + codec, Contents: "x {}"}}))
			if connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("update unknown id: %v", err)
			}

			// Upsert by name replaces, then inserts.
			up, err := client.UpsertPipeline(ctx, connect.NewRequest(&pipelinev1.UpsertPipelineRequest{Pipeline: &pipelinev1.Pipeline{Name: name, Contents: "v3 {}"}}))
			if err != nil || up.Msg.GetId() != id || !up.Msg.GetEnabled() {
				t.Fatalf("upsert existing: %v %v", up, err)
			}
			up2, err := client.UpsertPipeline(ctx, connect.NewRequest(&pipelinev1.UpsertPipelineRequest{Pipeline: &pipelinev1.Pipeline{Name: name + "-2", Contents: "v1 {}"}}))
			if err != nil || up2.Msg.GetId() == "" || up2.Msg.GetId() == id {
				t.Fatalf("upsert new: %v %v", up2, err)
			}

			// Revisions: insert, update, update (upsert) for this pipeline.
			revs, err := client.ListPipelineRevisions(ctx, connect.NewRequest(&pipelinev1.ListPipelineRevisionsRequest{Id: id}))
			if err != nil || len(revs.Msg.PipelineRevisions) != 3 {
				t.Fatalf("revisions of %s: %v %v", id, revs, err)
			}
			ops := []pipelinev1.PipelineRevision_Operation{pipelinev1.PipelineRevision_INSERT, pipelinev1.PipelineRevision_UPDATE, pipelinev1.PipelineRevision_UPDATE}
			for i, r := range revs.Msg.PipelineRevisions {
				if r.Operation != ops[i] || r.RevisionId == "" || r.CreatedAt == nil || r.Snapshot.GetId() != id || r.Snapshot.GetContents() == "" {
					t.Fatalf("revision %d: %v", i, r)
				}
			}
			one, err := client.GetPipelineRevision(ctx, connect.NewRequest(&pipelinev1.GetPipelineRevisionRequest{RevisionId: revs.Msg.PipelineRevisions[1].RevisionId}))
			if err != nil || !proto.Equal(one.Msg, revs.Msg.PipelineRevisions[1]) {
				t.Fatalf("get revision: %v %v", one, err)
			}
			if _, err := client.GetPipelineRevision(ctx, connect.NewRequest(&pipelinev1.GetPipelineRevisionRequest{RevisionId: "999999"})); connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("unknown revision: %v", err)
			}
			all, err := client.ListPipelinesRevisions(ctx, connect.NewRequest(&pipelinev1.ListPipelinesRevisionsRequest{}))
			if err != nil || len(all.Msg.PipelineRevisions) < 4 {
				t.Fatalf("all revisions: %v %v", all, err)
			}
			for _, r := range all.Msg.PipelineRevisions {
				if r.Snapshot.GetContents() != "" {
					t.Fatalf("all-revisions list shows contents: %v", r)
				}
			}

			// Bulk delete is all or nothing.
			_, err = client.BulkDeletePipelines(ctx, connect.NewRequest(&pipelinev1.BulkDeletePipelinesRequest{Ids: []string{id, "999999"}}))
			if connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("bulk delete with unknown id: %v", err)
			}
			if _, err := client.GetPipeline(ctx, connect.NewRequest(&pipelinev1.GetPipelineRequest{Id: id})); err != nil {
				t.Fatalf("failed bulk delete deleted: %v", err)
			}
			if _, err := client.BulkDeletePipelines(ctx, connect.NewRequest(&pipelinev1.BulkDeletePipelinesRequest{Ids: []string{up2.Msg.GetId()}})); err != nil {
				t.Fatalf("bulk delete: %v", err)
			}
			del, err := client.DeletePipeline(ctx, connect.NewRequest(&pipelinev1.DeletePipelineRequest{Id: id}))
			if err != nil || del.Header().Get("X-Nomad-Index") == "" {
				t.Fatalf("delete: %v %v", del, err)
			}
			_, err = client.GetPipeline(ctx, connect.NewRequest(&pipelinev1.GetPipelineRequest{Id: id}))
			if connect.CodeOf(err) != connect.CodeNotFound || !strings.Contains(err.Error(), "pipeline "+id+" not found") {
				t.Fatalf("get deleted: %v", err)
			}
			if _, err := client.DeletePipeline(ctx, connect.NewRequest(&pipelinev1.DeletePipelineRequest{Id: id})); connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("delete twice: %v", err)
			}

			// Sync: creates what is listed, stamped with the source, and
			// deletes the source's pipelines that are not.
			src := &pipelinev1.PipelineSource{Type: pipelinev1.PipelineSource_SOURCE_TYPE_GIT, Namespace: "repo-" + codec}
			sync := func(names ...string) {
				t.Helper()
				var pls []*pipelinev1.Pipeline
				for _, n := range names {
					pls = append(pls, &pipelinev1.Pipeline{Name: n, Contents: "x {}", Enabled: proto.Bool(true)})
				}
				if _, err := client.SyncPipelines(ctx, connect.NewRequest(&pipelinev1.SyncPipelinesRequest{Source: src, Pipelines: pls})); err != nil {
					t.Fatalf("sync %v: %v", names, err)
				}
			}
			sync("s1-"+codec, "s2-"+codec)
			s1, err := client.GetPipelineID(ctx, connect.NewRequest(&pipelinev1.GetPipelineIDRequest{Name: "s1-" + codec}))
			if err != nil {
				t.Fatalf("synced s1: %v", err)
			}
			if p, _ := client.GetPipeline(ctx, connect.NewRequest(&pipelinev1.GetPipelineRequest{Id: s1.Msg.GetId()})); !proto.Equal(p.Msg.Source, src) {
				t.Fatalf("synced pipeline source: %v", p.Msg.Source)
			}
			sync("s2-" + codec)
			if _, err := client.GetPipelineID(ctx, connect.NewRequest(&pipelinev1.GetPipelineIDRequest{Name: "s1-" + codec})); connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("sync did not prune s1: %v", err)
			}
			if _, err := client.GetPipelineID(ctx, connect.NewRequest(&pipelinev1.GetPipelineIDRequest{Name: "s2-" + codec})); err != nil {
				t.Fatalf("sync lost s2: %v", err)
			}
		})
	}
}

func containsPipeline(ps []*pipelinev1.Pipeline, id string) bool {
	for _, p := range ps {
		if p.GetId() == id {
			return true
		}
	}
	return false
}

// TestPipelineHTTP_CurlJSON is what a curl user sees: snake_case in,
// camelCase out, RFC 3339 times, blocking queries from the URL. Needs the
// Pipeline.* RPC endpoints.
func TestPipelineHTTP_CurlJSON(t *testing.T) {
	a := TestAgent(t, func(c *Config) { c.Client.Enabled = ptr(false) })
	WaitForAgentLeader(t, a)
	u := a.URL() + pipelineServicePrefix

	code, h, body := post(t, u+"CreatePipeline", "application/json",
		"", []byte(`{"pipeline":{"name":"curl","contents":"logging {}","matchers":["collector.os=linux"],"config_type":"CONFIG_TYPE_ALLOY","metadata":{"k":"v"}}}`))
	var created map[string]any
	if code != 200 || json.Unmarshal(body, &created) != nil {
		t.Fatalf("create: %d %s", code, body)
	}
	if created["enabled"] != true || created["configType"] != "CONFIG_TYPE_ALLOY" || created["id"] == nil ||
		created["metadata"].(map[string]any)["k"] != "v" || h.Get("X-Nomad-Index") == "" || h.Get("Content-Type") != "application/json" {
		t.Fatalf("created %s (%v)", body, h)
	}
	if _, err := time.Parse(time.RFC3339, created["createdAt"].(string)); err != nil || !strings.HasSuffix(created["createdAt"].(string), "Z") {
		t.Fatalf("createdAt %v", created["createdAt"])
	}
	id := created["id"].(string)

	code, h, body = post(t, u+"ListPipelines", "application/json", "", nil)
	var list struct {
		Pipelines []map[string]any `json:"pipelines"`
	}
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Pipelines) != 1 {
		t.Fatalf("list: %d %s", code, body)
	}
	idx := h.Get("X-Nomad-Index")

	// A blocking list waits for the next change.
	done := make(chan int, 1)
	go func() {
		code, _, _ := post(t, u+"ListPipelines?index="+idx+"&wait=10s", "application/json", "", []byte("{}"))
		done <- code
	}()
	WaitForBlockingQueries(t, a, 1)
	select {
	case <-done:
		t.Fatal("blocking list returned before a change")
	default:
	}
	if code, _, body := post(t, u+"DeletePipeline", "application/json", "", []byte(`{"id":"`+id+`"}`)); code != 200 || string(body) != "{}" {
		t.Fatalf("delete: %d %s", code, body)
	}
	select {
	case code := <-done:
		if code != 200 {
			t.Fatalf("blocking list: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blocking list did not wake")
	}

	code, _, body = post(t, u+"GetPipeline", "application/json", "", []byte(`{"id":"`+id+`"}`))
	if c, msg := connectErr(t, body); code != 404 || c != "not_found" || msg != "pipeline "+id+" not found" {
		t.Fatalf("get deleted: %d %s", code, body)
	}
	code, _, body = post(t, u+"GetPipelineRevision", "application/json", "", []byte(`{"revision_id":"1"}`))
	var rev map[string]any
	if code != 200 || json.Unmarshal(body, &rev) != nil || rev["revisionId"] != "1" || rev["operation"] != "INSERT" {
		t.Fatalf("revision 1: %d %s", code, body)
	}
}
