package proto_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	collectorv1 "github.com/nomadlike/nomadlike/agent/proto/collector/v1"
	"github.com/nomadlike/nomadlike/agent/proto/collector/v1/collectorv1connect"
	pipelinev1 "github.com/nomadlike/nomadlike/agent/proto/pipeline/v1"
)

// TestPipelineBinaryFieldNumbers pins wire tags that binary clients rely on.
func TestPipelineBinaryFieldNumbers(t *testing.T) {
	cases := []struct {
		name string
		msg  proto.Message
		want []byte
	}{
		// field 7 (id), wire type 2: tag 0x3a, length 1, "7".
		{"Pipeline.id", &pipelinev1.Pipeline{Id: proto.String("7")}, []byte{0x3a, 0x01, '7'}},
		// proto3 optional bool set to false is still encoded: field 6 varint 0.
		{"Pipeline.enabled=false", &pipelinev1.Pipeline{Enabled: proto.Bool(false)}, []byte{0x30, 0x00}},
		// field 10 (config_type) varint 1.
		{"Pipeline.config_type", &pipelinev1.Pipeline{ConfigType: pipelinev1.ConfigType_CONFIG_TYPE_ALLOY}, []byte{0x50, 0x01}},
		// GetPipelineRequest.id is field 2 upstream, not 1.
		{"GetPipelineRequest.id", &pipelinev1.GetPipelineRequest{Id: "7"}, []byte{0x12, 0x01, '7'}},
		{"DeletePipelineRequest.id", &pipelinev1.DeletePipelineRequest{Id: "7"}, []byte{0x12, 0x01, '7'}},
		{"CreatePipelineRequest.validate_only", &pipelinev1.CreatePipelineRequest{ValidateOnly: true}, []byte{0x10, 0x01}},
		{"GetConfigRequest.hash", &collectorv1.GetConfigRequest{Hash: "h"}, []byte{0x1a, 0x01, 'h'}},
		{"GetConfigResponse.not_modified", &collectorv1.GetConfigResponse{NotModified: true}, []byte{0x18, 0x01}},
		{"RegisterCollectorRequest.name", &collectorv1.RegisterCollectorRequest{Name: "n"}, []byte{0x1a, 0x01, 'n'}},
	}
	for _, tc := range cases {
		got, err := proto.MarshalOptions{Deterministic: true}.Marshal(tc.msg)
		if err != nil {
			t.Fatalf("%s: marshal: %v", tc.name, err)
		}
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%s: encoded % x, want % x", tc.name, got, tc.want)
		}
		back := tc.msg.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(got, back); err != nil {
			t.Fatalf("%s: unmarshal: %v", tc.name, err)
		}
		if !proto.Equal(back, tc.msg) {
			t.Errorf("%s: round trip gave %v, want %v", tc.name, back, tc.msg)
		}
	}
}

// TestPipelineFullRoundTrip checks a fully populated Pipeline survives the
// binary codec, including presence of optional fields.
func TestPipelineFullRoundTrip(t *testing.T) {
	ts := timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	in := &pipelinev1.Pipeline{
		Name:       "p",
		Contents:   "logging {}",
		Matchers:   []string{`env="prod"`},
		CreatedAt:  ts,
		UpdatedAt:  ts,
		Enabled:    proto.Bool(false),
		Id:         proto.String("42"),
		Source:     &pipelinev1.PipelineSource{Type: pipelinev1.PipelineSource_SOURCE_TYPE_GRAFANA, Namespace: "ns"},
		ConfigType: pipelinev1.ConfigType_CONFIG_TYPE_OTEL,
	}
	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := &pipelinev1.Pipeline{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, out) {
		t.Fatalf("round trip: got %v, want %v", out, in)
	}
	if out.Enabled == nil || *out.Enabled {
		t.Fatalf("enabled presence lost: %v", out.Enabled)
	}
}

func TestPipelineJSON(t *testing.T) {
	p := &pipelinev1.Pipeline{
		Name:      "p",
		CreatedAt: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		UpdatedAt: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)),
		Enabled:   proto.Bool(false),
	}
	b, err := protojson.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"createdAt":"2026-01-02T03:04:05Z"`, `"updatedAt":"2026-01-02T03:04:06Z"`, `"enabled":false`} {
		if !strings.Contains(strings.ReplaceAll(s, " ", ""), want) {
			t.Errorf("protojson %s lacks %s", s, want)
		}
	}
	if strings.Contains(s, "created_at") {
		t.Errorf("protojson %s uses snake_case", s)
	}

	// Unset optional bool is omitted.
	b, _ = protojson.Marshal(&pipelinev1.Pipeline{Name: "p"})
	if strings.Contains(string(b), "enabled") {
		t.Errorf("unset enabled emitted: %s", b)
	}

	// Parsers accept both the proto name and the JSON name.
	for _, body := range []string{`{"validate_only":true}`, `{"validateOnly":true}`} {
		req := &pipelinev1.CreatePipelineRequest{}
		if err := protojson.Unmarshal([]byte(body), req); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if !req.ValidateOnly {
			t.Errorf("%s: validate_only not set", body)
		}
	}

	// Enums marshal by name; the revision operation names are unprefixed.
	rev := &pipelinev1.PipelineRevision{RevisionId: "1", Operation: pipelinev1.PipelineRevision_INSERT}
	b, _ = protojson.Marshal(rev)
	if s := strings.ReplaceAll(string(b), " ", ""); !strings.Contains(s, `"operation":"INSERT"`) || !strings.Contains(s, `"revisionId":"1"`) {
		t.Errorf("revision JSON = %s", b)
	}
	b, _ = protojson.Marshal(&pipelinev1.Pipeline{ConfigType: pipelinev1.ConfigType_CONFIG_TYPE_ALLOY})
	if !strings.Contains(string(b), `"CONFIG_TYPE_ALLOY"`) {
		t.Errorf("config type JSON = %s", b)
	}
}

func TestCollectorJSON(t *testing.T) {
	b, _ := protojson.Marshal(&collectorv1.GetConfigResponse{Hash: "h", NotModified: true})
	if s := strings.ReplaceAll(string(b), " ", ""); !strings.Contains(s, `"notModified":true`) {
		t.Errorf("GetConfigResponse JSON = %s", b)
	}
	req := &collectorv1.GetConfigRequest{}
	body := `{"id":"a","local_attributes":{"k":"v"},"remoteConfigStatus":{"status":"RemoteConfigStatuses_FAILED","errorMessage":"x"}}`
	if err := protojson.Unmarshal([]byte(body), req); err != nil {
		t.Fatal(err)
	}
	if req.LocalAttributes["k"] != "v" || req.RemoteConfigStatus.GetStatus() != collectorv1.RemoteConfigStatuses_RemoteConfigStatuses_FAILED {
		t.Errorf("parsed %v", req)
	}
}

// TestDescriptorNumbers is a drift guard: every field number that must match
// upstream is listed here.
func TestDescriptorNumbers(t *testing.T) {
	want := map[protoreflect.FullName]map[protoreflect.Name]protoreflect.FieldNumber{
		"pipeline.v1.Pipeline": {"name": 1, "contents": 2, "matchers": 3, "created_at": 4, "updated_at": 5,
			"enabled": 6, "id": 7, "metadata": 8, "source": 9, "config_type": 10},
		"pipeline.v1.Pipelines":                     {"pipelines": 1},
		"pipeline.v1.GetPipelineRequest":            {"id": 2},
		"pipeline.v1.ListPipelinesRequest":          {"local_attributes": 1, "remote_attributes": 2, "config_type": 3, "enabled": 4},
		"pipeline.v1.CreateAlloyPipelinesRequest":   {"mimir_url": 1, "mimir_username": 2, "loki_url": 3, "loki_username": 4},
		"pipeline.v1.CreateAlloyPipelinesResponse":  {"pipelines": 1},
		"pipeline.v1.CreatePipelineRequest":         {"pipeline": 1, "validate_only": 2},
		"pipeline.v1.UpdatePipelineRequest":         {"pipeline": 1, "validate_only": 2},
		"pipeline.v1.UpsertPipelineRequest":         {"pipeline": 1, "validate_only": 2},
		"pipeline.v1.DeletePipelineRequest":         {"id": 2},
		"pipeline.v1.DeletePipelineResponse":        {},
		"pipeline.v1.BulkDeletePipelinesRequest":    {"ids": 1},
		"pipeline.v1.BulkDeletePipelinesResponse":   {},
		"pipeline.v1.GetPipelineIDRequest":          {"name": 1},
		"pipeline.v1.GetPipelineIDResponse":         {"id": 1},
		"pipeline.v1.PipelineRevision":              {"revision_id": 1, "snapshot": 2, "created_at": 3, "operation": 4},
		"pipeline.v1.PipelineRevisions":             {"pipeline_revisions": 1},
		"pipeline.v1.ListPipelinesRevisionsRequest": {},
		"pipeline.v1.ListPipelineRevisionsRequest":  {"id": 1},
		"pipeline.v1.GetPipelineRevisionRequest":    {"revision_id": 1},
		"pipeline.v1.PipelineSource":                {"type": 1, "namespace": 2},
		"pipeline.v1.SyncPipelinesRequest":          {"source": 1, "pipelines": 2},
		"pipeline.v1.SyncPipelinesResponse":         {},

		"collector.v1.GetConfigRequest": {"id": 1, "attributes": 2, "hash": 3, "local_attributes": 4,
			"remote_config_status": 5, "effective_config": 6},
		"collector.v1.RemoteConfigStatus":          {"status": 1, "error_message": 2},
		"collector.v1.EffectiveConfig":             {"config_map": 1},
		"collector.v1.AgentConfigMap":              {"config_map": 1},
		"collector.v1.AgentConfigFile":             {"body": 1, "content_type": 2},
		"collector.v1.GetConfigResponse":           {"content": 1, "hash": 2, "not_modified": 3},
		"collector.v1.RegisterCollectorRequest":    {"id": 1, "attributes": 2, "name": 3, "local_attributes": 4},
		"collector.v1.RegisterCollectorResponse":   {},
		"collector.v1.UnregisterCollectorRequest":  {"id": 1},
		"collector.v1.UnregisterCollectorResponse": {},
	}
	files := []protoreflect.FileDescriptor{pipelinev1.File_pipeline_v1_pipeline_proto, collectorv1.File_collector_v1_collector_proto}
	seen := 0
	for _, fd := range files {
		var walk func(protoreflect.MessageDescriptors)
		walk = func(ms protoreflect.MessageDescriptors) {
			for i := 0; i < ms.Len(); i++ {
				md := ms.Get(i)
				if md.IsMapEntry() {
					continue
				}
				fields, ok := want[md.FullName()]
				if !ok {
					t.Errorf("unexpected message %s", md.FullName())
					continue
				}
				seen++
				if md.Fields().Len() != len(fields) {
					t.Errorf("%s has %d fields, want %d", md.FullName(), md.Fields().Len(), len(fields))
				}
				for name, num := range fields {
					f := md.Fields().ByName(name)
					if f == nil {
						t.Errorf("%s.%s missing", md.FullName(), name)
					} else if f.Number() != num {
						t.Errorf("%s.%s = %d, want %d", md.FullName(), name, f.Number(), num)
					}
				}
				walk(md.Messages())
			}
		}
		walk(fd.Messages())
	}
	if seen != len(want) {
		t.Errorf("saw %d messages, want %d", seen, len(want))
	}

	enums := map[protoreflect.FullName][]protoreflect.Name{
		"pipeline.v1.ConfigType":                 {"CONFIG_TYPE_UNSPECIFIED", "CONFIG_TYPE_ALLOY", "CONFIG_TYPE_OTEL"},
		"pipeline.v1.PipelineRevision.Operation": {"UNSPECIFIED", "INSERT", "UPDATE", "DELETE"},
		"pipeline.v1.PipelineSource.SourceType":  {"SOURCE_TYPE_UNSPECIFIED", "SOURCE_TYPE_GIT", "SOURCE_TYPE_TERRAFORM", "SOURCE_TYPE_GRAFANA"},
		"collector.v1.RemoteConfigStatuses":      {"RemoteConfigStatuses_UNSET", "RemoteConfigStatuses_APPLIED", "RemoteConfigStatuses_APPLYING", "RemoteConfigStatuses_FAILED"},
	}
	for full, names := range enums {
		var ed protoreflect.EnumDescriptor
		for _, e := range []protoreflect.EnumType{pipelinev1.ConfigType(0).Type(), pipelinev1.PipelineRevision_Operation(0).Type(),
			pipelinev1.PipelineSource_SourceType(0).Type(), collectorv1.RemoteConfigStatuses(0).Type()} {
			if e.Descriptor().FullName() == full {
				ed = e.Descriptor()
			}
		}
		if ed == nil || ed.Values().Len() != len(names) {
			t.Errorf("enum %s: wrong shape", full)
			continue
		}
		for i, n := range names {
			if v := ed.Values().ByName(n); v == nil || int(v.Number()) != i {
				t.Errorf("enum %s value %s should be %d", full, n, i)
			}
		}
	}

	methods := map[protoreflect.FullName][]protoreflect.Name{
		"pipeline.v1.PipelineService": {"GetPipeline", "GetPipelineID", "ListPipelines", "CreateAlloyPipelines",
			"CreatePipeline", "UpdatePipeline", "UpsertPipeline", "DeletePipeline", "BulkDeletePipelines",
			"ListPipelinesRevisions", "ListPipelineRevisions", "GetPipelineRevision", "SyncPipelines"},
		"collector.v1.CollectorService": {"GetConfig", "RegisterCollector", "UnregisterCollector"},
	}
	for _, fd := range files {
		sd := fd.Services().Get(0)
		names := methods[sd.FullName()]
		if sd.Methods().Len() != len(names) {
			t.Errorf("%s has %d methods, want %d", sd.FullName(), sd.Methods().Len(), len(names))
		}
		for _, n := range names {
			if sd.Methods().ByName(n) == nil {
				t.Errorf("%s lacks %s", sd.FullName(), n)
			}
		}
	}
}

// TestConnectBinaryCodec makes a real Connect call the way Alloy does
// (generated client, default binary codec) against the generated handler.
func TestConnectBinaryCodec(t *testing.T) {
	var gotCT string
	mux := http.NewServeMux()
	path, h := collectorv1connect.NewCollectorServiceHandler(collectorv1connect.UnimplementedCollectorServiceHandler{})
	mux.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotCT = r.Header.Get("Content-Type")
		h.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if path != "/collector.v1.CollectorService/" {
		t.Errorf("handler path = %q", path)
	}
	c := collectorv1connect.NewCollectorServiceClient(srv.Client(), srv.URL)
	_, err := c.GetConfig(context.Background(), connect.NewRequest(&collectorv1.GetConfigRequest{Id: "a"}))
	var cerr *connect.Error
	if !errors.As(err, &cerr) || cerr.Code() != connect.CodeUnimplemented {
		t.Fatalf("err = %v, want unimplemented", err)
	}
	if gotCT != "application/proto" {
		t.Errorf("client Content-Type = %q, want application/proto", gotCT)
	}
}
