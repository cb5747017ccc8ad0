package command

import (
	"strings"
	"testing"
)

func TestConfigStatus(t *testing.T) {
	body := `{"name":"node","nodes":[
	 {"nodeId":"c5dff959-1111-2222-3333-444444444444","nodeName":"web-1","nodeStatus":"ready",
	  "instance":{"name":"node","source":"assigned","state":"running","error":"","targetsUp":2,"targetsDown":1,"targetsUnknown":0,"lastError":"http://10.0.0.9:9100/metrics: connection refused"}},
	 {"nodeId":"d6eaa060-1111-2222-3333-444444444444","nodeName":"web-2","nodeStatus":"ready","instance":null}]}`
	f := newFakeAgent(t, map[string]reply{
		"GET /agent/api/v1/config/node/status": envData(body),
		"GET /agent/api/v1/config/idle/status": envData(`{"name":"idle","nodes":[]}`),
		"GET /agent/api/v1/config/nope/status": envError(404, "configuration nope does not exist"),
	})
	r := runCommand(t, f, "config status", "node")
	mustSucceed(t, r)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "Node ID") ||
		!strings.Contains(lines[1], "web-1") || !strings.Contains(lines[1], "running") ||
		!strings.Contains(lines[1], "connection refused") || !strings.Contains(lines[2], "pending") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	if r := runCommand(t, f, "config status", "idle"); !strings.Contains(r.stdout, "is not assigned to any node") {
		t.Fatalf("stdout = %q", r.stdout)
	}
	mustFail(t, runCommand(t, f, "config status", "nope"),
		"Error reading config status: Unexpected response code: 404 (configuration nope does not exist)")
}
