package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/api"
)

const collectorsBody = `[
 {"ID":"alloy-1","Name":"host-1","Attributes":{"env":"prod","collector.os":"linux"},"CreatedAt":"2026-03-01T10:00:00Z","UpdatedAt":"2026-03-01T11:00:00Z"},
 {"ID":"alloy-2","Name":"","Attributes":{},"CreatedAt":"2026-03-01T10:00:00Z","UpdatedAt":"2026-03-01T10:00:00Z"}]`

const collectorBody = `{"ID":"alloy-1","Name":"host-1","Attributes":{"env":"prod","collector.os":"linux"},
 "CreatedAt":"2026-03-01T10:00:00Z","UpdatedAt":"2026-03-01T11:00:00Z","Pipelines":["everyone","prod_metrics"],"ConfigHash":"abc123"}`

func collectorsAgent(t *testing.T) *fakeAgent {
	return newFakeAgent(t, map[string]reply{
		"GET /v1/collectors":          {200, collectorsBody},
		"GET /v1/collector/alloy-1":   {200, collectorBody},
		"GET /v1/collector/nope":      {404, "collector not found"},
		"GET /v1/collector/forbidden": denied,
	})
}

func TestCollectorList(t *testing.T) {
	f := collectorsAgent(t)
	r := runCommand(t, f, "collector list")
	mustSucceed(t, r)
	want := `ID       Name    Attributes                   Updated
alloy-1  host-1  collector.os=linux,env=prod  2026-03-01T11:00:00Z
alloy-2          <none>                       2026-03-01T10:00:00Z
`
	if r.stdout != want {
		t.Fatalf("stdout:\n%q\nwant:\n%q", r.stdout, want)
	}
	r = runCommand(t, f, "collector list", "-json")
	mustSucceed(t, r)
	var got []*api.Collector
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got) != 2 || got[0].ID != "alloy-1" {
		t.Fatalf("-json = %v, %v", got, err)
	}
	mustFail(t, runCommand(t, f, "collector list", "extra"), "takes no arguments")
}

func TestCollectorStatus(t *testing.T) {
	f := collectorsAgent(t)
	r := runCommand(t, f, "collector status", "alloy-1")
	mustSucceed(t, r)
	for _, want := range []string{"ID          = alloy-1", "Config Hash = abc123", "collector.os = linux", "\nPipelines\neveryone\nprod_metrics"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	mustFail(t, runCommand(t, f, "collector status", "nope"), "Error querying collector")
	mustFail(t, runCommand(t, f, "collector status", "forbidden"), "Permission denied")
	mustFail(t, runCommand(t, f, "collector status"), "takes one argument")
}
