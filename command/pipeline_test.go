package command

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/api"
)

// rpc is the path of a pipeline service method.
func rpc(method string) string { return "/pipeline.v1.PipelineService/" + method }

// pipelineBody is a pipeline as the server encodes it.
const pipelineBody = `{"id":"7","name":"linux","contents":"prometheus.exporter.self \"alloy\" { }\n",
 "matchers":["collector.os=linux","team!=team-a"],"createdAt":"2026-03-01T10:00:00Z",
 "updatedAt":"2026-03-01T11:00:00Z","enabled":true,"metadata":{"owner":"ops"},
 "source":{"type":"SOURCE_TYPE_GIT","namespace":"repo"},"configType":"CONFIG_TYPE_ALLOY"}`

// pipelineFields is how pipelineBody prints, without its contents.
const pipelineFields = `ID          = 7
Name        = linux
Enabled     = true
Config Type = alloy
Matchers    = collector.os=linux, team!=team-a
Source      = SOURCE_TYPE_GIT (namespace repo)
Metadata    = {"owner":"ops"}
Created At  = 2026-03-01T10:00:00Z
Updated At  = 2026-03-01T11:00:00Z
`

// pipelineContents is how the contents of pipelineBody print.
const pipelineContents = `
Contents

prometheus.exporter.self "alloy" { }
`

// connectErr is a Connect error answer.
func connectErr(status int, code, msg string) reply {
	return reply{status, `{"code":"` + code + `","message":` + jsonString(msg) + `}`}
}

// sentWrite decodes the body of the request to the write RPC method.
func sentWrite(t *testing.T, f *fakeAgent, method string) (p api.Pipeline, validateOnly bool) {
	t.Helper()
	reqs := f.requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].path != rpc(method) {
			continue
		}
		var in struct {
			Pipeline     *api.Pipeline
			ValidateOnly bool
		}
		if err := json.Unmarshal([]byte(reqs[i].body), &in); err != nil || in.Pipeline == nil {
			t.Fatalf("body %q: %v", reqs[i].body, err)
		}
		return *in.Pipeline, in.ValidateOnly
	}
	t.Fatalf("no %s request; got %v", method, routes(f))
	return api.Pipeline{}, false
}

// contentsFile writes pipeline contents to a file and returns its path.
func contentsFile(t *testing.T, contents string) string {
	return filepath.Join(writeFiles(t, map[string]string{"p.alloy": contents}), "p.alloy")
}

func TestPipelineList(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"POST " + rpc("ListPipelines"): {200, `{"pipelines":[` + pipelineBody + `,{"id":"8","name":"bare","contents":"x"}]}`},
	})
	r := runCommand(t, f, "pipeline list", "-token=tok")
	mustSucceed(t, r)
	want := "ID  Name   Enabled  Config Type  Matchers\n" +
		"7   linux  true     alloy        collector.os=linux, team!=team-a\n" +
		"8   bare   <none>   <none>       <none>\n"
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if req := f.find(t, "POST", rpc("ListPipelines")); req.token != "tok" || req.body != "{}" {
		t.Fatalf("request = %+v", req)
	}

	r = runCommand(t, f, "pipeline list", "-json")
	mustSucceed(t, r)
	var got []api.Pipeline
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 || got[0].Contents == "" {
		t.Fatalf("decoded = %+v, %v", got, err)
	}

	f.replies["POST "+rpc("ListPipelines")] = reply{200, `{}`}
	if r = runCommand(t, f, "pipeline list"); r.stdout != "No pipelines found\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if r = runCommand(t, f, "pipeline list", "-json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("-json of no pipelines = %q, want []", r.stdout)
	}

	f.replies["POST "+rpc("ListPipelines")] = denied
	mustFail(t, runCommand(t, f, "pipeline list"), "Error listing pipelines: permission_denied: Permission denied")
	mustFail(t, runCommand(t, f, "pipeline list", "x"), "This command takes no arguments")
}

func TestPipelineGet(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"POST " + rpc("GetPipeline"): {200, pipelineBody}})
	r := runCommand(t, f, "pipeline get", "7")
	mustSucceed(t, r)
	if want := pipelineFields + pipelineContents; r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if req := f.find(t, "POST", rpc("GetPipeline")); req.body != `{"id":"7"}` {
		t.Fatalf("body = %q", req.body)
	}

	r = runCommand(t, f, "pipeline get", "-json", "7")
	mustSucceed(t, r)
	var got api.Pipeline
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.ID != "7" || got.Source.Namespace != "repo" {
		t.Fatalf("decoded = %+v, %v", got, err)
	}

	f.replies["POST "+rpc("GetPipeline")] = connectErr(404, "not_found", "pipeline 9 not found")
	mustFail(t, runCommand(t, f, "pipeline get", "9"), "Error fetching pipeline: not_found: pipeline 9 not found")
	n := len(f.requests())
	mustFail(t, runCommand(t, f, "pipeline get"), "This command takes one argument: <id>")
	mustFail(t, runCommand(t, f, "pipeline get", ""), "This command takes one argument: <id>")
	if len(f.requests()) != n {
		t.Fatalf("usage errors reached the agent")
	}
}

func TestPipelineCreate(t *testing.T) {
	contents := "prometheus.exporter.self \"alloy\" { }\n"
	path := contentsFile(t, contents)
	f := newFakeAgent(t, map[string]reply{"POST " + rpc("CreatePipeline"): {200, pipelineBody}})
	r := runCommand(t, f, "pipeline create", "-token=tok", "-name=linux", "-file="+path,
		"-matcher=collector.os=linux", "-matcher=team!=team-a", "-enabled=false", "-config-type=alloy")
	mustSucceed(t, r)
	if r.stdout != pipelineFields {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, pipelineFields)
	}
	p, validateOnly := sentWrite(t, f, "CreatePipeline")
	if p.Name != "linux" || p.Contents != contents || !reflect.DeepEqual(p.Matchers, []string{"collector.os=linux", "team!=team-a"}) ||
		p.Enabled == nil || *p.Enabled || p.ConfigType != api.ConfigTypeAlloy || p.ID != "" || validateOnly {
		t.Fatalf("sent %+v, validateOnly %v", p, validateOnly)
	}
	if req := f.find(t, "POST", rpc("CreatePipeline")); req.token != "tok" {
		t.Fatalf("token = %q", req.token)
	}

	// -enabled alone means true; unset flags stay out of the request.
	r = runCommand(t, f, "pipeline create", "-name=linux", "-file="+path, "-enabled", "-validate-only", "-config-type=CONFIG_TYPE_OTEL")
	mustSucceed(t, r)
	if want := "Validation succeeded; nothing was written (-validate-only)\n\n" + pipelineFields; r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	p, validateOnly = sentWrite(t, f, "CreatePipeline")
	if p.Enabled == nil || !*p.Enabled || p.Matchers != nil || p.ConfigType != api.ConfigTypeOTel || !validateOnly {
		t.Fatalf("sent %+v, validateOnly %v", p, validateOnly)
	}
	reqs := f.requests()
	if last := reqs[len(reqs)-1].body; strings.Contains(last, "matchers") || strings.Contains(last, "metadata") {
		t.Fatalf("body %s carries unset fields", last)
	}

	r = runCommand(t, f, "pipeline create", "-json", "-name=linux", "-file="+path)
	mustSucceed(t, r)
	var got api.Pipeline
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.ID != "7" {
		t.Fatalf("decoded = %+v, %v", got, err)
	}
	if p, _ := sentWrite(t, f, "CreatePipeline"); p.Enabled != nil {
		t.Fatalf("enabled sent without -enabled: %+v", p)
	}

	// From stdin.
	t.Setenv("NOMADLIKE_TOKEN", "")
	ui := cli.NewMockUi()
	cmd := &PipelineCreateCommand{Meta: Meta{Ui: ui}, stdin: strings.NewReader("from stdin")}
	if code := cmd.Run([]string{"-address=" + f.srv.URL, "-name=s", "-file=-"}); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, ui.ErrorWriter.String())
	}
	if p, _ := sentWrite(t, f, "CreatePipeline"); p.Contents != "from stdin" || p.Name != "s" {
		t.Fatalf("sent %+v", p)
	}

	f.replies["POST "+rpc("CreatePipeline")] = connectErr(409, "already_exists", `pipeline "linux" already exists`)
	mustFail(t, runCommand(t, f, "pipeline create", "-name=linux", "-file="+path),
		`Error creating pipeline: already_exists: pipeline "linux" already exists`)

	n := len(f.requests())
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-file=" + path}, "A pipeline needs -name and -file"},
		{[]string{"-name=linux"}, "A pipeline needs -name and -file"},
		{[]string{"-name=", "-file=" + path}, "The pipeline name must not be empty"},
		{[]string{"-name=linux", "-file="}, "The -file path must not be empty"},
		{[]string{"-name=linux", "-file=" + path, "-config-type=yaml"}, `Invalid -config-type "yaml": must be "alloy" or "otel"`},
		{[]string{"-name=linux", "-file=" + path, "-enabled=maybe"}, "Error parsing arguments: invalid boolean value"},
		{[]string{"-name=linux", "-file=" + path, "extra"}, "This command takes no arguments"},
		{[]string{"-name=linux", "-file=" + path + ".missing"}, "Error reading pipeline contents:"},
	} {
		mustFail(t, runCommand(t, f, "pipeline create", tc.args...), tc.want)
	}
	if len(f.requests()) != n {
		t.Fatalf("usage errors reached the agent")
	}
}

func TestPipelineUpdate(t *testing.T) {
	path := contentsFile(t, "new contents")
	f := newFakeAgent(t, map[string]reply{
		"POST " + rpc("GetPipeline"):    {200, pipelineBody},
		"POST " + rpc("UpdatePipeline"): {200, pipelineBody},
	})
	r := runCommand(t, f, "pipeline update", "-file="+path, "-enabled=false", "7")
	mustSucceed(t, r)
	if r.stdout != pipelineFields {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, pipelineFields)
	}
	if got := routes(f); strings.Join(got, ",") != "POST "+rpc("GetPipeline")+",POST "+rpc("UpdatePipeline") {
		t.Fatalf("requests = %v", got)
	}
	// The flags given change; the rest is kept, the timestamps are not
	// sent back.
	p, validateOnly := sentWrite(t, f, "UpdatePipeline")
	if p.ID != "7" || p.Name != "linux" || p.Contents != "new contents" || p.Enabled == nil || *p.Enabled ||
		len(p.Matchers) != 2 || p.ConfigType != api.ConfigTypeAlloy || p.Source == nil || p.Metadata["owner"] != "ops" ||
		p.CreatedAt != nil || p.UpdatedAt != nil || validateOnly {
		t.Fatalf("sent %+v, validateOnly %v", p, validateOnly)
	}

	mustSucceed(t, runCommand(t, f, "pipeline update", "-matcher=env=prod", "-name=renamed", "-validate-only", "7"))
	p, validateOnly = sentWrite(t, f, "UpdatePipeline")
	if p.Name != "renamed" || !reflect.DeepEqual(p.Matchers, []string{"env=prod"}) || !validateOnly ||
		p.Contents != "prometheus.exporter.self \"alloy\" { }\n" {
		t.Fatalf("sent %+v, validateOnly %v", p, validateOnly)
	}
	mustSucceed(t, runCommand(t, f, "pipeline update", "-matcher=", "-config-type=otel", "7"))
	if p, _ = sentWrite(t, f, "UpdatePipeline"); p.Matchers != nil || p.ConfigType != api.ConfigTypeOTel {
		t.Fatalf("sent %+v; want no matchers", p)
	}

	f.replies["POST "+rpc("UpdatePipeline")] = connectErr(400, "invalid_argument", `invalid matcher "=x"`)
	mustFail(t, runCommand(t, f, "pipeline update", "-matcher==x", "7"),
		`Error updating pipeline: invalid_argument: invalid matcher "=x"`)

	f = newFakeAgent(t, map[string]reply{"POST " + rpc("GetPipeline"): connectErr(404, "not_found", "pipeline 9 not found")})
	mustFail(t, runCommand(t, f, "pipeline update", "-enabled", "9"), "Error fetching pipeline: not_found: pipeline 9 not found")
	if got := routes(f); len(got) != 1 {
		t.Fatalf("requests = %v, want only the get", got)
	}

	f = newFakeAgent(t, nil)
	mustFail(t, runCommand(t, f, "pipeline update", "7"), "Nothing to update: give -name, -file, -matcher, -enabled or -config-type")
	mustFail(t, runCommand(t, f, "pipeline update", "-enabled"), "This command takes one argument: <id>")
	mustFail(t, runCommand(t, f, "pipeline update", "-config-type=x", "7"), `Invalid -config-type "x"`)
	if reqs := f.requests(); len(reqs) != 0 {
		t.Fatalf("usage errors reached the agent: %+v", reqs)
	}
}

func TestPipelineUpsert(t *testing.T) {
	path := contentsFile(t, "x")
	f := newFakeAgent(t, map[string]reply{"POST " + rpc("UpsertPipeline"): {200, pipelineBody}})
	r := runCommand(t, f, "pipeline upsert", "-name=linux", "-file="+path, "-matcher=a=b")
	mustSucceed(t, r)
	if r.stdout != pipelineFields {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, pipelineFields)
	}
	p, _ := sentWrite(t, f, "UpsertPipeline")
	if p.Name != "linux" || p.Contents != "x" || !reflect.DeepEqual(p.Matchers, []string{"a=b"}) || p.Enabled != nil {
		t.Fatalf("sent %+v", p)
	}
	if body := f.find(t, "POST", rpc("UpsertPipeline")).body; strings.Contains(body, "validateOnly") {
		t.Fatalf("body %s", body)
	}

	f.replies["POST "+rpc("UpsertPipeline")] = connectErr(400, "invalid_argument", "contents must not be empty")
	mustFail(t, runCommand(t, f, "pipeline upsert", "-name=linux", "-file="+path),
		"Error upserting pipeline: invalid_argument: contents must not be empty")
	n := len(f.requests())
	mustFail(t, runCommand(t, f, "pipeline upsert", "-name=linux"), "A pipeline needs -name and -file")
	mustFail(t, runCommand(t, f, "pipeline upsert", "-name=linux", "-file="+path, "-validate-only"),
		"Error parsing arguments: flag provided but not defined: -validate-only")
	if len(f.requests()) != n {
		t.Fatalf("usage errors reached the agent")
	}
}

func TestPipelineDelete(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"POST " + rpc("DeletePipeline"):      {200, `{}`},
		"POST " + rpc("BulkDeletePipelines"): {200, `{}`},
	})
	r := runCommand(t, f, "pipeline delete", "-token=tok", "7")
	mustSucceed(t, r)
	if r.stdout != "Deleted pipeline 7\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if req := f.find(t, "POST", rpc("DeletePipeline")); req.body != `{"id":"7"}` || req.token != "tok" {
		t.Fatalf("request = %+v", req)
	}

	r = runCommand(t, f, "pipeline delete", "7", "8")
	mustSucceed(t, r)
	if r.stdout != "Deleted pipelines 7, 8\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if req := f.find(t, "POST", rpc("BulkDeletePipelines")); req.body != `{"ids":["7","8"]}` {
		t.Fatalf("body = %q", req.body)
	}

	f.replies["POST "+rpc("DeletePipeline")] = connectErr(404, "not_found", "pipeline 9 not found")
	f.replies["POST "+rpc("BulkDeletePipelines")] = connectErr(404, "not_found", "pipeline 9 not found")
	mustFail(t, runCommand(t, f, "pipeline delete", "9"), "Error deleting pipeline: not_found: pipeline 9 not found")
	mustFail(t, runCommand(t, f, "pipeline delete", "7", "9"), "Error deleting pipelines: not_found: pipeline 9 not found")
	n := len(f.requests())
	mustFail(t, runCommand(t, f, "pipeline delete"), "This command takes one or more arguments: <id> [<id>...]")
	mustFail(t, runCommand(t, f, "pipeline delete", "7", ""), "This command takes one or more arguments")
	if len(f.requests()) != n {
		t.Fatalf("usage errors reached the agent")
	}
}

const pipelineRevisionsBody = `{"pipelineRevisions":[
 {"revisionId":"1","snapshot":{"id":"7","name":"linux","enabled":true},"createdAt":"2026-03-01T10:00:00Z","operation":"INSERT"},
 {"revisionId":"2","snapshot":{"id":"8","name":"otlp"},"createdAt":"2026-03-01T10:01:00Z","operation":"INSERT"},
 {"revisionId":"13","snapshot":{"id":"7","name":"linux"},"createdAt":"2026-03-01T10:02:00Z","operation":"DELETE"}]}`

func TestPipelineRevisions(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"POST " + rpc("ListPipelinesRevisions"): {200, pipelineRevisionsBody},
		"POST " + rpc("ListPipelineRevisions"):  {200, `{"pipelineRevisions":[]}`},
	})
	r := runCommand(t, f, "pipeline revisions")
	mustSucceed(t, r)
	want := "Revision ID  Pipeline ID  Name   Operation  Created At\n" +
		"1            7            linux  INSERT     2026-03-01T10:00:00Z\n" +
		"2            8            otlp   INSERT     2026-03-01T10:01:00Z\n" +
		"13           7            linux  DELETE     2026-03-01T10:02:00Z\n"
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if req := f.find(t, "POST", rpc("ListPipelinesRevisions")); req.body != "{}" {
		t.Fatalf("body = %q", req.body)
	}

	r = runCommand(t, f, "pipeline revisions", "7")
	mustSucceed(t, r)
	if r.stdout != "No revisions found\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if req := f.find(t, "POST", rpc("ListPipelineRevisions")); req.body != `{"id":"7"}` {
		t.Fatalf("body = %q", req.body)
	}

	f.replies["POST "+rpc("ListPipelineRevisions")] = reply{200, pipelineRevisionsBody}
	r = runCommand(t, f, "pipeline revisions", "-json", "7")
	mustSucceed(t, r)
	var got []api.PipelineRevision
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 3 || got[2].Operation != api.RevisionDelete {
		t.Fatalf("decoded = %+v, %v", got, err)
	}

	f.replies["POST "+rpc("ListPipelineRevisions")] = connectErr(404, "not_found", "pipeline 9 not found")
	mustFail(t, runCommand(t, f, "pipeline revisions", "9"), "Error listing pipeline revisions: not_found: pipeline 9 not found")
	mustFail(t, runCommand(t, f, "pipeline revisions", "7", "8"), "This command takes at most one argument: <id>")
}

func TestPipelineRevision(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"POST " + rpc("GetPipelineRevision"): {200, `{"revisionId":"4","snapshot":` + pipelineBody +
			`,"createdAt":"2026-03-01T12:00:00Z","operation":"UPDATE"}`},
	})
	r := runCommand(t, f, "pipeline revision", "4")
	mustSucceed(t, r)
	want := "Revision ID = 4\nOperation   = UPDATE\nCreated At  = 2026-03-01T12:00:00Z\n\nSnapshot\n\n" +
		pipelineFields + pipelineContents
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if req := f.find(t, "POST", rpc("GetPipelineRevision")); req.body != `{"revisionId":"4"}` {
		t.Fatalf("body = %q", req.body)
	}

	r = runCommand(t, f, "pipeline revision", "-json", "4")
	mustSucceed(t, r)
	var got api.PipelineRevision
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.RevisionID != "4" || got.Snapshot.ID != "7" {
		t.Fatalf("decoded = %+v, %v", got, err)
	}

	f.replies["POST "+rpc("GetPipelineRevision")] = connectErr(404, "not_found", "revision 99 not found")
	mustFail(t, runCommand(t, f, "pipeline revision", "99"), "Error fetching pipeline revision: not_found: revision 99 not found")
	mustFail(t, runCommand(t, f, "pipeline revision"), "This command takes one argument: <revision_id>")
}

func TestRun_ConfigAndPipelineHelp(t *testing.T) {
	cases := map[string][]string{
		"config":   {"delete", "get", "list", "put", "revisions", "sync"},
		"pipeline": {"create", "delete", "get", "list", "revision", "revisions", "update", "upsert"},
	}
	for parent, subs := range cases {
		code, _, _, _, errOut := runTop(parent)
		if code != 1 || !strings.Contains(errOut, "Usage: nomadlike "+parent) {
			t.Errorf("%s: exit %d, help:\n%s", parent, code, errOut)
		}
		for _, sub := range subs {
			if !strings.Contains(errOut, "    "+sub) {
				t.Errorf("%s: subcommand %q not listed:\n%s", parent, sub, errOut)
			}
		}
	}
	// The whole path, from the arguments to the agent.
	f := newFakeAgent(t, map[string]reply{"GET /agent/api/v1/configs": envData(`{"configs":["a"]}`)})
	t.Setenv("NOMADLIKE_ADDR", f.srv.URL)
	t.Setenv("NOMADLIKE_TOKEN", "envtok")
	code, stdout, stderr, _, _ := runTop("config", "list")
	if code != 0 || stdout != "Name\na\n" || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if req := f.find(t, "GET", "/agent/api/v1/configs"); req.token != "envtok" {
		t.Fatalf("token = %q, want NOMADLIKE_TOKEN", req.token)
	}
}
