package command

import (
	"encoding/json"
	"strings"
	"testing"
)

const workersBody = `{"server_id":"s1.global","schedulers":[
 {"id":"5669d6fa-0def-7369-6558-a47c35fdc675","enabled_schedulers":["pipeline","config","_core"],"started":"2026-11-23T17:00:00Z","status":"Started","workload_status":"WaitingToDequeue"}]}`

func TestServerSchedulers(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{
		"GET /v1/agent/schedulers":        {200, workersBody},
		"GET /v1/agent/schedulers/config": {200, `{"server_id":"s1.global","num_schedulers":2,"enabled_schedulers":["pipeline","config","_core"]}`},
		"PUT /v1/agent/schedulers/config": {200, `{"server_id":"s1.global","num_schedulers":4,"enabled_schedulers":["pipeline","_core"]}`},
	})
	r := runCommand(t, f, "server schedulers")
	mustSucceed(t, r)
	want := "Server s1.global\nID        Status   Workload          Schedulers             Started\n" +
		"5669d6fa  Started  WaitingToDequeue  pipeline,config,_core  2026-11-23T17:00:00Z\n"
	if r.stdout != want {
		t.Fatalf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}

	r = runCommand(t, f, "server schedulers", "-num", "4", "-enabled", "pipeline,_core")
	mustSucceed(t, r)
	var sent map[string]any
	if err := json.Unmarshal([]byte(f.find(t, "PUT", "/v1/agent/schedulers/config").body), &sent); err != nil ||
		sent["num_schedulers"] != 4.0 || strings.Join(toStrings(sent["enabled_schedulers"]), ",") != "pipeline,_core" {
		t.Fatalf("sent %v %v", sent, err)
	}

	// -num=-1 is sent, and the agent's 400 shown, not silently ignored.
	f.replies["PUT /v1/agent/schedulers/config"] = reply{400, "Invalid request: num_schedulers must be non-negative"}
	mustFail(t, runCommand(t, f, "server schedulers", "-num=-1"), "num_schedulers must be non-negative")
	reqs := f.requests()
	if err := json.Unmarshal([]byte(reqs[len(reqs)-1].body), &sent); err != nil || sent["num_schedulers"] != -1.0 {
		t.Fatalf("sent %v %v", sent, err)
	}

	r = runCommand(t, f, "server schedulers", "extra")
	if r.code != 1 {
		t.Fatalf("an argument should be a usage error: %+v", r)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
