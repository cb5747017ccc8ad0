package command

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/api"
)

// envOK is the Grafana Agent family's bare success answer.
const envOK = `{"status":"success"}`

// envError is an error answer of the Grafana Agent family.
func envError(status int, msg string) reply {
	return reply{status, `{"status":"error","data":{"error":` + jsonString(msg) + `}}`}
}

// envData is a success answer of the Grafana Agent family carrying data.
func envData(data string) reply {
	return reply{200, `{"status":"success","data":` + data + `}`}
}

// writeFiles creates a temporary directory holding files (name ->
// contents) and returns its path.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, contents := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(contents), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// routes returns "METHOD /path" of every request f received, in order.
func routes(f *fakeAgent) []string {
	var out []string
	for _, r := range f.requests() {
		out = append(out, r.method+" "+r.path)
	}
	return out
}

func TestConfigList(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /agent/api/v1/configs": envData(`{"configs":["b","a/x"]}`)})
	r := runCommand(t, f, "config list", "-token=tok")
	mustSucceed(t, r)
	if r.stdout != "Name\nb\na/x\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if req := f.find(t, "GET", "/agent/api/v1/configs"); req.token != "tok" {
		t.Fatalf("token = %q", req.token)
	}

	r = runCommand(t, f, "config list", "-json")
	mustSucceed(t, r)
	var names []string
	if err := json.Unmarshal([]byte(r.stdout), &names); err != nil || len(names) != 2 || names[1] != "a/x" {
		t.Fatalf("decoded = %q, %v", names, err)
	}

	f.replies["GET /agent/api/v1/configs"] = envData(`{"configs":null}`)
	if r = runCommand(t, f, "config list"); r.stdout != "No configs found\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if r = runCommand(t, f, "config list", "-json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("-json of no configs = %q, want []", r.stdout)
	}

	f.replies["GET /agent/api/v1/configs"] = envError(404, "no config store running")
	mustFail(t, runCommand(t, f, "config list"), "Error listing configs: Unexpected response code: 404 (no config store running)")
	mustFail(t, runCommand(t, f, "config list", "x"), "This command takes no arguments")
}

func TestConfigGet(t *testing.T) {
	yaml := "name: a\nhost_filter: true\n"
	f := newFakeAgent(t, map[string]reply{
		"GET /agent/api/v1/configs/a":       envData(`{"value":` + jsonString(yaml) + `}`),
		"GET /agent/api/v1/configs/missing": envError(404, "configuration missing does not exist"),
	})
	r := runCommand(t, f, "config get", "a")
	mustSucceed(t, r)
	if r.stdout != yaml {
		t.Fatalf("stdout = %q, want %q", r.stdout, yaml)
	}

	r = runCommand(t, f, "config get", "-json", "a")
	mustSucceed(t, r)
	var got struct{ Name, Value string }
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Name != "a" || got.Value != yaml {
		t.Fatalf("decoded = %+v, %v", got, err)
	}

	mustFail(t, runCommand(t, f, "config get", "missing"),
		"Error fetching config: Unexpected response code: 404 (configuration missing does not exist)")
	n := len(f.requests())
	mustFail(t, runCommand(t, f, "config get"), "This command takes one argument: <name>")
	mustFail(t, runCommand(t, f, "config get", "a", "b"), "This command takes one argument: <name>")
	mustFail(t, runCommand(t, f, "config get", ""), "This command takes one argument: <name>")
	if len(f.requests()) != n {
		t.Fatalf("usage errors reached the agent")
	}
}

func TestConfigPut(t *testing.T) {
	yaml := "scrape_configs:\n  - job_name: x\n"
	dir := writeFiles(t, map[string]string{"a.yaml": yaml})
	path := filepath.Join(dir, "a.yaml")
	f := newFakeAgent(t, map[string]reply{"PUT /agent/api/v1/config/a": {201, envOK}})
	r := runCommand(t, f, "config put", "-token=tok", "a", path)
	mustSucceed(t, r)
	if r.stdout != "Created config \"a\"\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	req := f.find(t, "PUT", "/agent/api/v1/config/a")
	if req.body != yaml || req.token != "tok" {
		t.Fatalf("request = %+v", req)
	}

	f.replies["PUT /agent/api/v1/config/a"] = reply{200, envOK}
	r = runCommand(t, f, "config put", "a", path)
	mustSucceed(t, r)
	if r.stdout != "Updated config \"a\"\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	r = runCommand(t, f, "config put", "-json", "a", path)
	mustSucceed(t, r)
	var got struct {
		Name    string
		Created bool
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Name != "a" || got.Created {
		t.Fatalf("decoded = %+v, %v", got, err)
	}

	// From stdin.
	t.Setenv("NOMADLIKE_TOKEN", "")
	ui := cli.NewMockUi()
	cmd := &ConfigPutCommand{Meta: Meta{Ui: ui}, stdin: strings.NewReader("from: stdin\n")}
	if code := cmd.Run([]string{"-address=" + f.srv.URL, "a", "-"}); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, ui.ErrorWriter.String())
	}
	if reqs := f.requests(); reqs[len(reqs)-1].body != "from: stdin\n" {
		t.Fatalf("body = %q", reqs[len(reqs)-1].body)
	}

	f.replies["PUT /agent/api/v1/config/a"] = envError(400, "could not unmarshal config: EOF")
	mustFail(t, runCommand(t, f, "config put", "a", path),
		"Error writing config: Unexpected response code: 400 (could not unmarshal config: EOF)")

	n := len(f.requests())
	mustFail(t, runCommand(t, f, "config put", "a"), "This command takes two arguments: <name> and <path>")
	mustFail(t, runCommand(t, f, "config put", "", path), "The config name must not be empty")
	mustFail(t, runCommand(t, f, "config put", "a", filepath.Join(dir, "missing.yaml")), "Error reading config:")
	if len(f.requests()) != n {
		t.Fatalf("usage errors reached the agent")
	}
}

func TestConfigDelete(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"DELETE /agent/api/v1/config/a":    {200, envOK},
		"DELETE /agent/api/v1/config/gone": envError(404, "configuration gone does not exist"),
	})
	r := runCommand(t, f, "config delete", "-token=tok", "a")
	mustSucceed(t, r)
	if r.stdout != "Deleted config \"a\"\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	if req := f.find(t, "DELETE", "/agent/api/v1/config/a"); req.token != "tok" {
		t.Fatalf("token = %q", req.token)
	}
	mustFail(t, runCommand(t, f, "config delete", "gone"),
		"Error deleting config: Unexpected response code: 404 (configuration gone does not exist)")
	n := len(f.requests())
	mustFail(t, runCommand(t, f, "config delete"), "This command takes one argument: <name>")
	if len(f.requests()) != n {
		t.Fatalf("usage errors reached the agent")
	}
}

func TestConfigRevisions(t *testing.T) {
	body := `{"revisions":[
	 {"revisionId":"1","snapshot":{"name":"a","contents":"name: a\n"},"createdAt":"2026-03-01T10:00:00Z","operation":"INSERT"},
	 {"revisionId":"12","snapshot":{"name":"a","contents":"name: a\nhost_filter: true\n"},"createdAt":"2026-03-01T11:30:00Z","operation":"UPDATE"}]}`
	f := newFakeAgent(t, map[string]reply{
		"GET /agent/api/v1/config/a/revisions":    envData(body),
		"GET /agent/api/v1/config/new/revisions":  envData(`{"revisions":[]}`),
		"GET /agent/api/v1/config/nope/revisions": envError(404, "configuration nope does not exist"),
	})
	r := runCommand(t, f, "config revisions", "a")
	mustSucceed(t, r)
	want := "Revision ID  Operation  Created At\n" +
		"1            INSERT     2026-03-01T10:00:00Z\n" +
		"12           UPDATE     2026-03-01T11:30:00Z\n"
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}

	r = runCommand(t, f, "config revisions", "-json", "a")
	mustSucceed(t, r)
	var revs []api.ConfigRevision
	if err := json.Unmarshal([]byte(r.stdout), &revs); err != nil || len(revs) != 2 ||
		revs[1].Snapshot.Contents != "name: a\nhost_filter: true\n" {
		t.Fatalf("decoded = %+v, %v", revs, err)
	}

	if r = runCommand(t, f, "config revisions", "new"); r.stdout != "No revisions found\n" {
		t.Fatalf("stdout = %q", r.stdout)
	}
	mustFail(t, runCommand(t, f, "config revisions", "nope"),
		"Error listing config revisions: Unexpected response code: 404 (configuration nope does not exist)")
	mustFail(t, runCommand(t, f, "config revisions"), "This command takes one argument: <name>")
}

// syncDir is a directory for config sync: two configs, plus files and
// directories that sync must skip.
func syncDir(t *testing.T) string {
	return writeFiles(t, map[string]string{
		"b.yml":          "name: b\n",
		"a.yaml":         "name: a\n",
		"notes.txt":      "not a config",
		"sub/x.yaml":     "name: x\n",
		"dir.yaml/y.yml": "name: y\n",
	})
}

func TestConfigSync(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"PUT /agent/api/v1/config/a":      {201, envOK},
		"PUT /agent/api/v1/config/b":      {200, envOK},
		"GET /agent/api/v1/configs":       envData(`{"configs":["zz","a","old","b"]}`),
		"DELETE /agent/api/v1/config/old": {200, envOK},
		"DELETE /agent/api/v1/config/zz":  {200, envOK},
	})
	r := runCommand(t, f, "config sync", "-token=tok", syncDir(t))
	mustSucceed(t, r)
	if want := "deleted old\ndeleted zz\ncreated a\nupdated b\n"; r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	// Deletes go first, so that a scrape job can move to a new config.
	want := []string{
		"GET /agent/api/v1/configs",
		"DELETE /agent/api/v1/config/old",
		"DELETE /agent/api/v1/config/zz",
		"PUT /agent/api/v1/config/a",
		"PUT /agent/api/v1/config/b",
	}
	if got := routes(f); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, req := range f.requests() {
		if req.token != "tok" {
			t.Fatalf("%s %s without the token", req.method, req.path)
		}
	}
	if a, b := f.find(t, "PUT", "/agent/api/v1/config/a"), f.find(t, "PUT", "/agent/api/v1/config/b"); a.body != "name: a\n" || b.body != "name: b\n" {
		t.Fatalf("bodies = %q, %q", a.body, b.body)
	}
}

func TestConfigSync_DryRun(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml":  "name: a\n",
		"b.yaml":  "name: b\n",
		"c2.yaml": "name: c2\nhost_filter: true\n",
	})
	f := newFakeAgent(t, map[string]reply{
		"GET /agent/api/v1/configs":    envData(`{"configs":["old","c2","b"]}`),
		"GET /agent/api/v1/configs/b":  envData(`{"value":"name: b\n\n"}`),
		"GET /agent/api/v1/configs/c2": envData(`{"value":"name: c2\n"}`),
	})
	r := runCommand(t, f, "config sync", "-dry-run", dir)
	mustSucceed(t, r)
	if want := "create a\nunchanged b\nupdate c2\ndelete old\n"; r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	for _, req := range f.requests() {
		if req.method != "GET" {
			t.Fatalf("dry run sent %s %s", req.method, req.path)
		}
	}

	// A config deleted between the list and the get would be created.
	f.replies["GET /agent/api/v1/configs/c2"] = envError(404, "configuration c2 does not exist")
	r = runCommand(t, f, "config sync", "-dry-run", dir)
	mustSucceed(t, r)
	if want := "create a\nunchanged b\ncreate c2\ndelete old\n"; r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}

	f.replies["GET /agent/api/v1/configs/c2"] = envError(500, "store exploded")
	r = runCommand(t, f, "config sync", "-dry-run", dir)
	if r.code != 1 || r.stdout != "create a\nunchanged b\ndelete old\n" ||
		!strings.Contains(r.stderr, `Error fetching config "c2": Unexpected response code: 500 (store exploded)`) {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	f.replies["GET /agent/api/v1/configs"] = envError(500, "store exploded")
	mustFail(t, runCommand(t, f, "config sync", "-dry-run", dir), "Error listing configs: Unexpected response code: 500")
}

func TestConfigSync_Failures(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.yaml": "bad: [\n", "b.yaml": "name: b\n"})
	f := newFakeAgent(t, map[string]reply{
		"PUT /agent/api/v1/config/a":       envError(400, "could not unmarshal config: yaml: line 1"),
		"PUT /agent/api/v1/config/b":       {201, envOK},
		"GET /agent/api/v1/configs":        envData(`{"configs":["a","b","gone","old"]}`),
		"DELETE /agent/api/v1/config/gone": envError(404, "configuration gone does not exist"),
		"DELETE /agent/api/v1/config/old":  {200, envOK},
	})
	r := runCommand(t, f, "config sync", dir)
	if r.code != 1 || r.stdout != "deleted old\ncreated b\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		`Error uploading config "a": Unexpected response code: 400 (could not unmarshal config: yaml: line 1)`,
		`Error deleting config "gone": Unexpected response code: 404 (configuration gone does not exist)`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("stderr %q does not contain %q", r.stderr, want)
		}
	}
	for _, req := range f.requests() {
		if req.method == "DELETE" && req.path == "/agent/api/v1/config/a" {
			t.Fatalf("a config whose upload failed was deleted")
		}
	}

	// Without the list, nothing changes at all.
	f = newFakeAgent(t, map[string]reply{
		"PUT /agent/api/v1/config/a": {200, envOK},
		"PUT /agent/api/v1/config/b": {200, envOK},
		"GET /agent/api/v1/configs":  envError(500, "store exploded"),
	})
	r = runCommand(t, f, "config sync", dir)
	if r.code != 1 || r.stdout != "" ||
		!strings.Contains(r.stderr, "Error listing configs: Unexpected response code: 500 (store exploded)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if len(f.requests()) != 1 {
		t.Fatalf("a sync that could not list sent %v", routes(f))
	}
}

func TestConfigSync_BadInput(t *testing.T) {
	f := newFakeAgent(t, nil)
	mustFail(t, runCommand(t, f, "config sync"), "This command takes one argument: <dir>")
	mustFail(t, runCommand(t, f, "config sync", "a", "b"), "This command takes one argument: <dir>")
	mustFail(t, runCommand(t, f, "config sync", "-dry-run=maybe", "a"), "Error parsing arguments")
	mustFail(t, runCommand(t, f, "config sync", filepath.Join(t.TempDir(), "missing")), "Error reading config directory:")
	file := filepath.Join(writeFiles(t, map[string]string{"f.yaml": "x"}), "f.yaml")
	mustFail(t, runCommand(t, f, "config sync", file), "Error reading config directory:")
	dup := writeFiles(t, map[string]string{"a.yaml": "x", "a.yml": "y"})
	mustFail(t, runCommand(t, f, "config sync", dup), `Error reading config directory: both a.yaml and a.yml name the config "a"`)
	mustFail(t, runCommand(t, f, "config sync", "-dry-run", dup), `name the config "a"`)
	empty := writeFiles(t, map[string]string{".yaml": "x"})
	mustFail(t, runCommand(t, f, "config sync", empty), "the file name gives an empty config name")
	if reqs := f.requests(); len(reqs) != 0 {
		t.Fatalf("bad input reached the agent: %+v", reqs)
	}
}
