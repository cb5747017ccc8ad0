package hostmetrics

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"testing"

	"go.uber.org/goleak"

	"github.com/nomadlike/nomadlike/structs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// dateTime is the spec's checkedAt pattern, without its calendar checks.
var dateTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$`)

// schema is spec 004's payload: for each object, its keys and whether each
// is required; "[]" marks an array of the object named after it, "{}" a
// map of strings.
var schema = map[string]map[string]string{
	"payload": {"cpuPercent": "number", "memoryUsedMb": "number", "memoryTotalMb": "number",
		"swapUsedMb": "number", "swapTotalMb": "number", "diskUsedGb": "number", "diskTotalGb": "number",
		"loadAvg1": "number", "loadAvg5": "number", "loadAvg15": "number", "uptime": "number",
		"openFds": "number", "maxFds": "number", "tcpEstablished": "number", "tcpListen": "number",
		"tcpTimeWait": "number", "tcpCloseWait": "number", "tcpTotal": "number", "serverHealthy": "boolean",
		"agentVersion": "string", "services": "[]service", "serviceHealthChecks": "[]httpCheck",
		"tcpCheckResults": "[]tcpCheck", "certCheckResults": "[]certCheck", "containers": "[]container",
		"topProcesses": "topProcesses", "collectedAt": "date-time"},
	"service": {"containerName": "!string", "cpuPercent": "number", "memoryUsedMb": "number",
		"memoryLimitMb": "number", "networkRxMb": "number", "networkTxMb": "number", "blockReadMb": "number",
		"blockWriteMb": "number", "restartCount": "number", "state": "string", "health": "string"},
	"httpCheck": {"containerName": "!string", "healthCheckUrl": "!string", "success": "!boolean",
		"statusCode": "number", "durationMs": "number", "checkedAt": "date-time", "error": "string"},
	"tcpCheck": {"containerName": "!string", "host": "!string", "port": "!number", "name": "string",
		"success": "!boolean", "durationMs": "!number", "error": "string"},
	"certCheck": {"containerName": "!string", "host": "!string", "port": "!number", "name": "string",
		"success": "!boolean", "durationMs": "!number", "expiresAt": "string", "daysUntilExpiry": "number",
		"issuer": "string", "subject": "string", "error": "string"},
	"container": {"id": "!string", "name": "!string", "image": "!string", "imageId": "!string",
		"state": "!string", "status": "!string", "created": "!number", "ports": "[]port", "labels": "{}",
		"mounts": "[]mount", "networkMode": "string"},
	"port":         {"privatePort": "!number", "publicPort": "number", "type": "!string", "ip": "string"},
	"mount":        {"source": "!string", "destination": "!string", "mode": "!string", "type": "!string"},
	"topProcesses": {"byCpu": "![]process", "byMemory": "![]process", "stats": "!stats"},
	"process": {"pid": "!number", "name": "!string", "state": "!string", "cpuPercent": "!number",
		"memoryMb": "!number", "threads": "!number"},
	"stats": {"total": "!number", "running": "!number", "sleeping": "!number", "stopped": "!number",
		"zombie": "!number"},
}

// checkSchema fails t unless body is a payload the spec accepts: known
// keys only, required ones present, types right, every number
// non-negative (all of the spec's numbers are sizes, counts or times),
// date-times as the spec's pattern.
func checkSchema(t *testing.T, body []byte) {
	t.Helper()
	for _, p := range schemaProblems(body) {
		t.Errorf("schema: %s", p)
	}
}

func schemaProblems(body []byte) []string {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return []string{fmt.Sprintf("not a JSON object: %v", err)}
	}
	var problems []string
	checkObject("payload", "", doc, &problems)
	sort.Strings(problems)
	return problems
}

func checkObject(kind, path string, obj map[string]any, problems *[]string) {
	fields := schema[kind]
	for key, typ := range fields {
		if typ[0] == '!' {
			if _, ok := obj[key]; !ok {
				*problems = append(*problems, fmt.Sprintf("%s.%s: required, missing", path, key))
			}
		}
	}
	for key, v := range obj {
		typ, ok := fields[key]
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s.%s: not in the spec", path, key))
			continue
		}
		checkValue(typ, path+"."+key, v, problems)
	}
}

func checkValue(typ, path string, v any, problems *[]string) {
	if typ[0] == '!' {
		typ = typ[1:]
	}
	bad := func(format string, args ...any) {
		*problems = append(*problems, path+": "+fmt.Sprintf(format, args...))
	}
	switch {
	case typ == "number":
		n, ok := v.(json.Number)
		if !ok {
			bad("%v is not a number", v)
		} else if f, err := n.Float64(); err != nil || f < 0 {
			bad("%s is negative or not a number", n)
		}
	case typ == "string":
		if _, ok := v.(string); !ok {
			bad("%v is not a string", v)
		}
	case typ == "boolean":
		if _, ok := v.(bool); !ok {
			bad("%v is not a boolean", v)
		}
	case typ == "date-time":
		if s, ok := v.(string); !ok || !dateTime.MatchString(s) {
			bad("%v is not the spec's date-time", v)
		}
	case typ == "{}":
		m, ok := v.(map[string]any)
		if !ok {
			bad("%v is not an object", v)
		}
		for k, s := range m {
			if _, ok := s.(string); !ok {
				bad("%s: %v is not a string", k, s)
			}
		}
	case typ[:2] == "[]":
		list, ok := v.([]any)
		if !ok {
			bad("%v is not an array", v)
		}
		for i, e := range list {
			checkValue(typ[2:], fmt.Sprintf("%s[%d]", path, i), e, problems)
		}
	default:
		obj, ok := v.(map[string]any)
		if !ok {
			bad("%v is not an object", v)
			return
		}
		checkObject(typ, path, obj, problems)
	}
}

// roundTrip encodes m, checks it against the spec, decodes it back into
// structs.HostMetrics and checks nothing was lost.
func roundTrip(t *testing.T, m *structs.HostMetrics) {
	t.Helper()
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	checkSchema(t, body)
	var back structs.HostMetrics
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&back); err != nil {
		t.Fatalf("payload does not decode into structs.HostMetrics: %v", err)
	}
	again, _ := json.Marshal(&back)
	if !bytes.Equal(body, again) {
		t.Fatalf("round trip changed the payload:\n%s\n%s", body, again)
	}
}

// The checker itself must catch what it is there to catch.
func TestHostMetrics_SchemaCheckerCatches(t *testing.T) {
	for _, body := range []string{
		`{"cpuPercent": -1}`,
		`{"bogus": 1}`,
		`{"tcpCheckResults": [{"host": "h", "port": 1, "success": true, "durationMs": 1}]}`,
		`{"serviceHealthChecks": [{"containerName": "c", "healthCheckUrl": "u", "success": true, "checkedAt": "2026-04-15 12:00:00"}]}`,
		`{"topProcesses": {"byCpu": [], "byMemory": []}}`,
		`{"containers": [{"id": "1"}]}`,
	} {
		if len(schemaProblems([]byte(body))) == 0 {
			t.Errorf("schema check accepted %s", body)
		}
	}
}
