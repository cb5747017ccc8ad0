package command

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// nodeMetricsPayload is a payload as a busy node sends it: spec 004's
// example with figures that exercise every part of the summary.
const nodeMetricsPayload = `{"cpuPercent":37.5,"memoryUsedMb":3072,"memoryTotalMb":8192,"swapUsedMb":0,"swapTotalMb":2048,
 "diskUsedGb":40.5,"diskTotalGb":100,"loadAvg1":0.52,"loadAvg5":0.61,"loadAvg15":0.7,"uptime":277500,
 "openFds":1234,"maxFds":9223372,"tcpEstablished":42,"tcpListen":12,"tcpTimeWait":3,"tcpCloseWait":1,"tcpTotal":58,
 "serverHealthy":true,"agentVersion":"0.1.0-dev","collectedAt":"2026-12-05T09:59:58Z",
 "services":[
  {"containerName":"api","cpuPercent":3,"memoryUsedMb":200,"restartCount":0,"state":"running","health":"healthy"},
  {"containerName":"worker","cpuPercent":90,"memoryUsedMb":900,"restartCount":3,"state":"running","health":"unhealthy"}],
 "serviceHealthChecks":[
  {"containerName":"api","healthCheckUrl":"http://127.0.0.1:8080/health","success":true,"statusCode":200,"durationMs":3},
  {"containerName":"worker","healthCheckUrl":"http://127.0.0.1:9090/ready","success":false,"statusCode":503,"durationMs":5}],
 "tcpCheckResults":[
  {"containerName":"db","host":"10.0.0.9","port":5432,"name":"postgres","success":false,"durationMs":1,"error":"connection refused"},
  {"containerName":"host","host":"127.0.0.1","port":22,"success":true,"durationMs":1}],
 "certCheckResults":[
  {"containerName":"web","host":"example.com","port":443,"success":true,"durationMs":20,"expiresAt":"2026-12-17T00:00:00Z","daysUntilExpiry":12,"subject":"CN=example.com"},
  {"containerName":"web","host":"www.example.com","port":443,"success":true,"durationMs":20,"expiresAt":"2027-01-04T00:00:00Z","daysUntilExpiry":30,"subject":"CN=www.example.com"},
  {"containerName":"web","host":"ok.example.com","port":443,"success":true,"durationMs":20,"daysUntilExpiry":200},
  {"containerName":"host","host":"10.0.0.7","port":8443,"name":"internal","success":false,"durationMs":20,"daysUntilExpiry":90,"error":"x509: certificate signed by unknown authority"}],
 "containers":[
  {"id":"a1","name":"/api","image":"api:1","imageId":"sha256:1","state":"running","status":"Up 3 days","created":1764000000},
  {"id":"b2","name":"/worker","image":"worker:1","imageId":"sha256:2","state":"running","status":"Up 2 minutes (unhealthy)","created":1764000000},
  {"id":"c3","name":"/old-job","image":"job:1","imageId":"sha256:3","state":"exited","status":"Exited (1) 2 hours ago","created":1764000000}],
 "topProcesses":{
  "byCpu":[
   {"pid":101,"name":"worker","state":"R","cpuPercent":90,"memoryMb":900,"threads":8},
   {"pid":102,"name":"api","state":"S","cpuPercent":3,"memoryMb":200,"threads":4},
   {"pid":103,"name":"postgres","state":"S","cpuPercent":2,"memoryMb":300,"threads":1},
   {"pid":104,"name":"nomadlike","state":"S","cpuPercent":1,"memoryMb":80,"threads":12},
   {"pid":105,"name":"sshd","state":"S","cpuPercent":0.5,"memoryMb":5,"threads":1},
   {"pid":106,"name":"sixth-cpu","state":"S","cpuPercent":0.1,"memoryMb":1,"threads":1}],
  "byMemory":[
   {"pid":101,"name":"worker","state":"R","cpuPercent":90,"memoryMb":1536,"threads":8}],
  "stats":{"total":212,"running":2,"sleeping":208,"stopped":0,"zombie":2}}}`

func nodeMetricsBody(payload string) string {
	return `{"NodeID":"` + nodeA + `","NodeName":"web-1","ReceivedAt":"` +
		time.Now().Add(-2*time.Minute).UTC().Format(time.RFC3339) + `","Server":"server-1","Payload":` + payload + `}`
}

func TestNodeMetrics_Summary(t *testing.T) {
	f := nodesAgent(t)
	f.replies["GET /v1/node/"+nodeA+"/metrics"] = reply{200, nodeMetricsBody(nodeMetricsPayload)}
	r := runCommand(t, f, "node metrics", "f747")
	mustSucceed(t, r)
	f.find(t, "GET", "/v1/node/"+nodeA+"/metrics")
	for _, want := range []string{
		"Node           = web-1 (f7476465)",
		"(2m ago)",
		"Server         = server-1",
		"Agent Version  = 0.1.0-dev",
		"CPU              = 37.5%",
		"Memory           = 3.0 GiB / 8.0 GiB (37.5%)",
		"Swap             = 0 B / 2.0 GiB (0.0%)",
		"Disk             = 40.5 GiB / 100.0 GiB (40.5%)",
		"Load             = 0.52 / 0.61 / 0.70 (1m / 5m / 15m)",
		"Uptime           = 3d5h5m",
		"File Descriptors = 1234 open of 9223372",
		"TCP              = 42 established, 12 listen, 3 time-wait, 1 close-wait, 58 total",
		"Processes        = 212 total, 2 running, 208 sleeping, 0 stopped, 2 zombie",
		"Failing Checks\nKind  Check",
		"http  http://127.0.0.1:9090/ready",
		"status 503",
		"tcp   postgres (10.0.0.9:5432)",
		"connection refused",
		"tls   example.com:443",
		"expires in 12 days",
		"tls   internal (10.0.0.7:8443)",
		"x509: certificate signed by unknown authority",
		"Expiring Certificates\nCheck",
		"example.com:443      web        12         2026-12-17T00:00:00Z  CN=example.com",
		"www.example.com:443  web        30",
		"Containers\nName     State    Health     Restarts  Status",
		"worker   running  unhealthy  3         Up 2 minutes (unhealthy)",
		"old-job  exited   -          -         Exited (1) 2 hours ago",
		"Top Processes by CPU\nPID  Name",
		"101  worker     R      90.0   900.0 MiB  8",
		"Top Processes by Memory",
		"101  worker  R      90.0   1.5 GiB  8",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	for _, not := range []string{"http://127.0.0.1:8080/health", "127.0.0.1:22", "ok.example.com", "sixth-cpu",
		"tls   www.example.com", "\napi "} {
		if strings.Contains(r.stdout, not) {
			t.Errorf("summary shows %q, which needs no look", not)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", r.stdout)
	}
}

// TestNodeMetrics_SpecExample: the spec's own example payload, as is.
func TestNodeMetrics_SpecExample(t *testing.T) {
	payload, err := os.ReadFile("testdata/host_metrics_spec_example.json")
	if err != nil {
		t.Fatal(err)
	}
	f := nodesAgent(t)
	f.replies["GET /v1/node/"+nodeA+"/metrics"] = reply{200, nodeMetricsBody(string(payload))}
	r := runCommand(t, f, "node metrics", nodeA)
	mustSucceed(t, r)
	for _, want := range []string{
		"Agent Version  = example", "Server Healthy = true", "CPU              = 1.0%",
		"Memory           = 1.0 MiB / 1.0 MiB (100.0%)", "Load             = 1.00 / 1.00 / 1.00",
		"Failing Checks", "tls   example (example:1)  example    example; expires in 1 day",
		"Expiring Certificates", "Containers", "example  example  example  1         example",
		"Top Processes by CPU", "Top Processes by Memory",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s", r.stdout)
	}

	// -json prints the payload as the node sent it (indented).
	r = runCommand(t, f, "node metrics", "-json", nodeA)
	mustSucceed(t, r)
	var got, want any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("-json: %v\n%s", err, r.stdout)
	}
	json.Unmarshal(payload, &want)
	gotB, _ := json.Marshal(got)
	wantB, _ := json.Marshal(want)
	if string(gotB) != string(wantB) {
		t.Fatalf("-json printed\n%s\nwant the payload\n%s", r.stdout, payload)
	}
}

func TestNodeMetrics_Errors(t *testing.T) {
	f := nodesAgent(t)
	f.replies["GET /v1/node/"+nodeA+"/metrics"] = reply{404, "no host metrics for node " + nodeA}
	r := runCommand(t, f, "node metrics", nodeA)
	mustFail(t, r, "no host metrics for node "+nodeA)

	mustFail(t, runCommand(t, f, "node metrics", "f7"), "Prefix matched multiple nodes")
	mustFail(t, runCommand(t, f, "node metrics", "0000"), `No node(s) with prefix "0000" found`)
	mustFail(t, runCommand(t, f, "node metrics"), "This command takes one argument")

	// Warnings go to stderr; the summary still prints.
	f.replies["GET /v1/node/"+nodeA+"/metrics"] = reply{200, `{"NodeID":"` + nodeA + `","NodeName":"web-1",
	 "ReceivedAt":"2026-12-05T10:00:00Z","Server":"server-2","Payload":{"cpuPercent":5},"Warnings":["server-3: connection refused"]}`}
	r = runCommand(t, f, "node metrics", nodeA)
	if r.code != 0 || !strings.Contains(r.stderr, "server-3: connection refused") ||
		!strings.Contains(r.stdout, "CPU              = 5.0%") || !strings.Contains(r.stdout, "Memory           = -") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
