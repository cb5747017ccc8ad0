package hostmetrics

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/structs"
)

func specExample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/spec_example.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stdDecode is what encoding/json makes of a body, to compare with.
func stdDecode(t testing.TB, b []byte) *structs.HostMetrics {
	t.Helper()
	var p structs.HostMetrics
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func mustDecode(t testing.TB, b []byte) (*structs.HostMetrics, []string) {
	t.Helper()
	p, unknown, ierr := Decode(b)
	if ierr != nil {
		t.Fatalf("Decode refused a valid body: %+v", ierr)
	}
	if p == nil {
		t.Fatal("Decode returned no payload and no error")
	}
	return p, unknown
}

func TestDecode_SpecExample(t *testing.T) {
	body := specExample(t)
	p, unknown := mustDecode(t, body)
	if len(unknown) != 0 {
		t.Fatalf("unknown fields in the spec's own example: %v", unknown)
	}
	if !reflect.DeepEqual(p, stdDecode(t, body)) {
		t.Fatalf("Decode and encoding/json disagree:\n%+v\n%+v", p, stdDecode(t, body))
	}
	// A few values by hand, so the comparison above is not the only check.
	if p.CPUPercent == nil || *p.CPUPercent != 1 || p.ServerHealthy == nil || !*p.ServerHealthy ||
		p.AgentVersion == nil || *p.AgentVersion != "example" || p.CollectedAt != nil {
		t.Fatalf("top level: %+v", p)
	}
	if len(p.Services) != 1 || p.Services[0].ContainerName != "example" || *p.Services[0].RestartCount != 1 {
		t.Fatalf("services: %+v", p.Services)
	}
	if hc := p.ServiceHealthChecks; len(hc) != 1 || *hc[0].CheckedAt != "2026-04-15T12:00:00Z" || !hc[0].Success {
		t.Fatalf("serviceHealthChecks: %+v", hc)
	}
	if c := p.Containers; len(c) != 1 || c[0].Labels["additionalProperty"] != "example" ||
		*c[0].Ports[0].PublicPort != 1 || c[0].Mounts[0].Mode != "example" || c[0].Created != 1 {
		t.Fatalf("containers: %+v", c)
	}
	if tp := p.TopProcesses; tp == nil || len(tp.ByCPU) != 1 || tp.ByMemory[0].Threads != 1 || tp.Stats.Zombie != 1 {
		t.Fatalf("topProcesses: %+v", tp)
	}
}

func TestDecode_RealisticPayload(t *testing.T) {
	for seed := range 5 {
		body := RealisticPayload(seed)
		if len(body) < 15_000 || len(body) > 25_000 {
			t.Errorf("seed %d: %d bytes, want 15-25 KB", seed, len(body))
		}
		p, unknown := mustDecode(t, body)
		if len(unknown) != 0 {
			t.Fatalf("unknown: %v", unknown)
		}
		if !reflect.DeepEqual(p, stdDecode(t, body)) {
			t.Fatalf("seed %d: Decode and encoding/json disagree", seed)
		}
		if len(p.Services) != 20 || len(p.Containers) != 20 || len(p.TopProcesses.ByCPU) != 10 ||
			len(p.CertCheckResults) != 5 || len(p.TCPCheckResults) != 5 || len(p.ServiceHealthChecks) != 5 {
			t.Fatalf("seed %d: wrong shape", seed)
		}
	}
	if !bytes.Equal(RealisticPayload(7), RealisticPayload(7)) || bytes.Equal(RealisticPayload(7), RealisticPayload(8)) {
		t.Fatal("RealisticPayload is not a function of its seed")
	}
}

// schemaObjects places each object of the schema in the spec's example.
var schemaObjects = []struct {
	loc    string
	fields []fieldDef
	typ    any
	get    func(root map[string]any) map[string]any
}{
	{"", rootFields, structs.HostMetrics{}, func(r map[string]any) map[string]any { return r }},
	{"services[0]", serviceFields, structs.ServiceMetrics{}, func(r map[string]any) map[string]any { return elem(r, "services") }},
	{"serviceHealthChecks[0]", healthCheckFields, structs.ServiceHealthCheck{}, func(r map[string]any) map[string]any { return elem(r, "serviceHealthChecks") }},
	{"tcpCheckResults[0]", tcpCheckFields, structs.TCPCheckResult{}, func(r map[string]any) map[string]any { return elem(r, "tcpCheckResults") }},
	{"certCheckResults[0]", certCheckFields, structs.CertCheckResult{}, func(r map[string]any) map[string]any { return elem(r, "certCheckResults") }},
	{"containers[0]", containerFields, structs.ContainerInfo{}, func(r map[string]any) map[string]any { return elem(r, "containers") }},
	{"containers[0].ports[0]", portFields, structs.ContainerPort{}, func(r map[string]any) map[string]any { return elem(elem(r, "containers"), "ports") }},
	{"containers[0].mounts[0]", mountFields, structs.ContainerMount{}, func(r map[string]any) map[string]any { return elem(elem(r, "containers"), "mounts") }},
	{"topProcesses", topProcessesFields, structs.TopProcesses{}, func(r map[string]any) map[string]any { return r["topProcesses"].(map[string]any) }},
	{"topProcesses.byCpu[0]", processFields, structs.ProcessInfo{}, func(r map[string]any) map[string]any { return elem(r["topProcesses"].(map[string]any), "byCpu") }},
	{"topProcesses.byMemory[0]", processFields, structs.ProcessInfo{}, func(r map[string]any) map[string]any { return elem(r["topProcesses"].(map[string]any), "byMemory") }},
	{"topProcesses.stats", statsFields, structs.ProcessStats{}, func(r map[string]any) map[string]any {
		return r["topProcesses"].(map[string]any)["stats"].(map[string]any)
	}},
}

func elem(m map[string]any, key string) map[string]any { return m[key].([]any)[0].(map[string]any) }

func join(loc, name string) string {
	if loc == "" {
		return name
	}
	return loc + "." + name
}

// mutate returns the spec's example with fn applied to its generic form.
func mutate(t testing.TB, fn func(root map[string]any)) []byte {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(specExample(t), &root); err != nil {
		t.Fatal(err)
	}
	fn(root)
	b, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantError(t *testing.T, body []byte, field, msgPart string) {
	t.Helper()
	p, unknown, ierr := Decode(body)
	if ierr == nil {
		t.Fatalf("accepted; want an error on %q", field)
	}
	if p != nil || unknown != nil {
		t.Errorf("a payload came back with the error")
	}
	if ierr.Status != 400 || ierr.Code != structs.IngestValidationError {
		t.Errorf("status %d code %q, want 400 %s", ierr.Status, ierr.Code, structs.IngestValidationError)
	}
	if ierr.Field != field {
		t.Errorf("field %q, want %q (message %q)", ierr.Field, field, ierr.Message)
	}
	if !strings.Contains(ierr.Message, msgPart) {
		t.Errorf("message %q does not contain %q", ierr.Message, msgPart)
	}
	if ierr.Hint == "" || ierr.RequestID != "" {
		t.Errorf("hint %q, requestId %q: want a hint and no request ID", ierr.Hint, ierr.RequestID)
	}
}

// The tables must name exactly the JSON fields of the structs they fill,
// and the spec's example must use every one, or the generated cases below
// would miss some.
func TestSchemaTables(t *testing.T) {
	var root map[string]any
	if err := json.Unmarshal(specExample(t), &root); err != nil {
		t.Fatal(err)
	}
	for _, o := range schemaObjects {
		var tags, names []string
		rt := reflect.TypeOf(o.typ)
		for i := range rt.NumField() {
			tags = append(tags, strings.Split(rt.Field(i).Tag.Get("json"), ",")[0])
		}
		obj := o.get(root)
		for _, f := range o.fields {
			names = append(names, f.name)
			if _, ok := obj[f.name]; !ok && f.name != "collectedAt" {
				t.Errorf("%s: the spec's example has no %s", o.loc, f.name)
			}
		}
		slices.Sort(tags)
		slices.Sort(names)
		if !slices.Equal(tags, names) {
			t.Errorf("%s: table %v, struct %v", o.loc, names, tags)
		}
		if len(o.fields) > 32 {
			t.Errorf("%s: more fields than bits", o.loc)
		}
	}
}

func TestDecode_MissingRequired(t *testing.T) {
	n := 0
	for _, o := range schemaObjects {
		for _, f := range o.fields {
			if !f.required {
				continue
			}
			n++
			field := join(o.loc, f.name)
			t.Run(field, func(t *testing.T) {
				wantError(t, mutate(t, func(r map[string]any) { delete(o.get(r), f.name) }), field, "is required")
				wantError(t, mutate(t, func(r map[string]any) { o.get(r)[f.name] = nil }), field, "must not be null")
			})
		}
	}
	if n != 47 {
		t.Fatalf("%d required fields, the spec has 47 (41, the process ones in two lists)", n)
	}
}

func TestDecode_OptionalNullIsAbsent(t *testing.T) {
	for _, o := range schemaObjects {
		for _, f := range o.fields {
			if f.required {
				continue
			}
			t.Run(join(o.loc, f.name), func(t *testing.T) {
				p, _ := mustDecode(t, mutate(t, func(r map[string]any) { o.get(r)[f.name] = nil }))
				q, _ := mustDecode(t, mutate(t, func(r map[string]any) { delete(o.get(r), f.name) }))
				if !reflect.DeepEqual(p, q) {
					t.Fatal("null and absent decode differently")
				}
			})
		}
	}
}

func TestDecode_WrongType(t *testing.T) {
	wrong := map[kind]any{
		kNumber: "1", kString: 1, kDateTime: 20260415, kBool: "true", kArray: map[string]any{},
		kObject: []any{}, kLabels: []any{"a"},
	}
	for _, o := range schemaObjects {
		for _, f := range o.fields {
			field := join(o.loc, f.name)
			t.Run(field, func(t *testing.T) {
				wantError(t, mutate(t, func(r map[string]any) { o.get(r)[f.name] = wrong[f.kind] }), field, "must be ")
			})
		}
	}
	// An element of a list that is not an object, and a label that is not a string.
	wantError(t, mutate(t, func(r map[string]any) { r["services"] = []any{nil} }), "services[0]", "must be an object, got null")
	wantError(t, mutate(t, func(r map[string]any) { elem(r, "containers")["labels"] = map[string]any{"foo": 1} }),
		"containers[0].labels.foo", "must be a string, got a number")
	wantError(t, mutate(t, func(r map[string]any) { elem(r, "containers")["labels"] = map[string]any{"com.acme/x": nil} }),
		`containers[0].labels["com.acme/x"]`, "must be a string, got null")
}

func TestDecode_Bad(t *testing.T) {
	set := func(fn func(r map[string]any)) func(*testing.T) []byte {
		return func(t *testing.T) []byte { return mutate(t, fn) }
	}
	raw := func(s string) func(*testing.T) []byte { return func(*testing.T) []byte { return []byte(s) } }
	hc := func(key string, v any) func(*testing.T) []byte {
		return set(func(r map[string]any) { elem(r, "serviceHealthChecks")[key] = v })
	}
	many := func(key string, n int, obj map[string]any) func(*testing.T) []byte {
		return set(func(r map[string]any) {
			l := make([]any, n)
			for i := range l {
				l[i] = obj
			}
			r[key] = l
		})
	}
	deep := func(n int) func(*testing.T) []byte {
		return raw(`{"future":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
	}
	cases := []struct {
		name, field, msg string
		body             func(*testing.T) []byte
	}{
		{"date-time not in the calendar", "serviceHealthChecks[0].checkedAt", "UTC date-time", hc("checkedAt", "2026-02-30T00:00:00Z")},
		{"date-time with an offset", "serviceHealthChecks[0].checkedAt", "UTC date-time", hc("checkedAt", "2026-04-15T12:00:00+02:00")},
		{"date-time in words", "serviceHealthChecks[0].checkedAt", "UTC date-time", hc("checkedAt", "yesterday")},
		{"no leap day in 2026", "serviceHealthChecks[0].checkedAt", "UTC date-time", hc("checkedAt", "2026-02-29T00:00:00Z")},
		{"collectedAt", "collectedAt", "UTC date-time", set(func(r map[string]any) { r["collectedAt"] = "2026-04-15 12:00:00Z" })},
		{"host CPU above 100%", "cpuPercent", "from 0 to 100", set(func(r map[string]any) { r["cpuPercent"] = 100.5 })},
		{"negative memory", "memoryUsedMb", ">= 0", set(func(r map[string]any) { r["memoryUsedMb"] = -1 })},
		{"negative load", "loadAvg15", ">= 0", set(func(r map[string]any) { r["loadAvg15"] = -0.5 })},
		{"fractional fd count", "openFds", "whole number", set(func(r map[string]any) { r["openFds"] = 1.5 })},
		{"negative TCP count", "tcpTimeWait", "whole number >= 0", set(func(r map[string]any) { r["tcpTimeWait"] = -3 })},
		{"negative restarts", "services[0].restartCount", ">= 0", set(func(r map[string]any) { elem(r, "services")["restartCount"] = -1 })},
		{"negative container CPU", "services[0].cpuPercent", ">= 0", set(func(r map[string]any) { elem(r, "services")["cpuPercent"] = -1 })},
		{"port above 65535", "tcpCheckResults[0].port", "0 to 65535", set(func(r map[string]any) { elem(r, "tcpCheckResults")["port"] = 65536 })},
		{"fractional port", "containers[0].ports[0].publicPort", "0 to 65535", set(func(r map[string]any) { elem(elem(r, "containers"), "ports")["publicPort"] = 80.5 })},
		{"negative duration", "certCheckResults[0].durationMs", ">= 0", set(func(r map[string]any) { elem(r, "certCheckResults")["durationMs"] = -2 })},
		{"HTTP status 1000", "serviceHealthChecks[0].statusCode", "0 to 999", hc("statusCode", 1000)},
		{"negative pid", "topProcesses.byCpu[0].pid", ">= 0", set(func(r map[string]any) { elem(r["topProcesses"].(map[string]any), "byCpu")["pid"] = -1 })},
		{"negative zombie count", "topProcesses.stats.zombie", ">= 0", set(func(r map[string]any) {
			r["topProcesses"].(map[string]any)["stats"].(map[string]any)["zombie"] = -1
		})},
		{"negative created", "containers[0].created", ">= 0", set(func(r map[string]any) { elem(r, "containers")["created"] = -1 })},
		{"number as a string", "uptime", "must be a number >= 0, got a string", raw(`{"uptime":"1"}`)},
		{"number too large for a float64", "uptime", "out of range", raw(`{"uptime":1e400}`)},
		{"boolean as a number", "serverHealthy", "must be a boolean, got a number", raw(`{"serverHealthy":1}`)},
		{"too many services", "services", "more than 1000 entries", many("services", 1001, map[string]any{"containerName": "x"})},
		{"too many checks", "tcpCheckResults", "more than 1000 entries", many("tcpCheckResults", 1001,
			map[string]any{"containerName": "x", "host": "h", "port": 1, "success": true, "durationMs": 1})},
		{"too many processes", "topProcesses.byMemory", "more than 100 entries", set(func(r map[string]any) {
			tp := r["topProcesses"].(map[string]any)
			l := make([]any, 101)
			for i := range l {
				l[i] = elem(tp, "byMemory")
			}
			tp["byMemory"] = l
		})},
		{"too many labels", "containers[0].labels", "more than 128 entries", set(func(r map[string]any) {
			l := map[string]any{}
			for i := range 129 {
				l[strings.Repeat("k", i+1)] = "v"
			}
			elem(r, "containers")["labels"] = l
		})},
		{"too many mounts", "containers[0].mounts", "more than 256 entries", set(func(r map[string]any) {
			c := elem(r, "containers")
			l := make([]any, 257)
			for i := range l {
				l[i] = elem(c, "mounts")
			}
			c["mounts"] = l
		})},
		{"3 MB string", "agentVersion", "longer than 4096 bytes", set(func(r map[string]any) { r["agentVersion"] = strings.Repeat("x", 3<<20) })},
		{"long string in an unknown field", "future", "longer than 4096 bytes", raw(`{"future":"` + strings.Repeat("é", 2049) + `"}`)},
		{"long label value", "containers[0].labels.big", "longer than 4096 bytes", set(func(r map[string]any) {
			elem(r, "containers")["labels"] = map[string]any{"big": strings.Repeat("\\", 4097)}
		})},
		{"duplicate key", "services[0].cpuPercent", "appears twice", raw(`{"services":[{"containerName":"a","cpuPercent":1,"cpuPercent":2}]}`)},
		{"duplicate label", "containers[0].labels.a", "appears twice", raw(`{"containers":[{"labels":{"a":"1","a":"2"}}]}`)},
		{"first violation in document order", "memoryUsedMb", ">= 0", raw(`{"memoryUsedMb":-1,"cpuPercent":"x","services":[{}]}`)},
		{"deep nesting in an unknown field", "future" + strings.Repeat("[0]", MaxDepth-1), "deeper than 32", deep(MaxDepth)},
		{"very deep nesting", "future" + strings.Repeat("[0]", MaxDepth-1), "deeper than 32", deep(100_000)},
		{"top-level array", "", "must be a JSON object, got an array", raw(`[{"cpuPercent":1}]`)},
		{"top-level string", "", "must be a JSON object, got a string", raw(`"hello"`)},
		{"top-level null", "", "must be a JSON object, got null", raw(`null`)},
		{"empty body", "", "invalid JSON at byte 0: the body is empty", raw(``)},
		{"only whitespace", "", "invalid JSON at byte 3: the body is empty", raw(" \n\t")},
		{"trailing garbage", "", "invalid JSON at byte 17: invalid character 'x' after the top-level value", raw(`{"cpuPercent":1} x`)},
		{"two objects", "", "invalid JSON at byte 2: invalid character '{' after the top-level value", raw(`{}{}`)},
		{"unterminated object", "", "invalid JSON at byte 15: expected ',' or '}' after an object member, found end of input", raw(`{"cpuPercent":1`)},
		{"missing value", "", "invalid JSON at byte 14: expected a value, found end of input", raw(`{"cpuPercent":`)},
		{"trailing comma", "", "invalid JSON at byte 16: expected a string key, found '}'", raw(`{"cpuPercent":1,}`)},
		{"single quotes", "", "invalid JSON at byte 1: expected a string key, found '\\''", raw(`{'cpuPercent':1}`)},
		{"bad literal", "", "invalid JSON at byte 18: invalid character 'x' in literal true", raw(`{"serverHealthy":tx}`)},
		{"leading zero", "", "invalid JSON at byte 15: expected ',' or '}'", raw(`{"cpuPercent":01}`)},
		{"bare dot", "", "invalid JSON at byte 16: invalid character '}' after a decimal point", raw(`{"cpuPercent":1.}`)},
		{"NaN", "", "invalid JSON at byte 14: invalid character 'N' looking for the beginning of a value", raw(`{"cpuPercent":NaN}`)},
		{"control character", "", "invalid JSON at byte 18: control character '\\n' in a string", raw("{\"agentVersion\":\"a\nb\"}")},
		{"bad escape", "", "invalid JSON at byte 19: invalid escape character 'x'", raw(`{"agentVersion":"a\x"}`)},
		{"unterminated string", "", "unterminated string starting at byte 16", raw(`{"agentVersion":"abc`)},
		{"syntax error after a schema violation", "", "invalid JSON at byte 38", raw(`{"cpuPercent":"x","services":[{"a":1}]]}`)},
		{"syntax error inside a list", "", "(in services[0].cpuPercent)", raw(`{"services":[{"cpuPercent":-}]}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantError(t, c.body(t), c.field, c.msg) })
	}
}

func TestDecode_BodyLimit(t *testing.T) {
	body := append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), MaxBodyBytes)...)
	_, _, ierr := Decode(append(body, `"}`...))
	if ierr == nil || ierr.Status != 413 || ierr.Code != structs.IngestValidationError ||
		!strings.Contains(ierr.Message, "more than the 4194304 allowed") {
		t.Fatalf("got %+v, want 413 VALIDATION_ERROR", ierr)
	}
}

func TestDecode_Accepts(t *testing.T) {
	cases := []struct {
		name  string
		body  string
		check func(p *structs.HostMetrics) bool
	}{
		{"empty object", `{}`, func(p *structs.HostMetrics) bool { return reflect.DeepEqual(*p, structs.HostMetrics{}) }},
		{"whitespace around", " \r\n\t{ } \n", func(p *structs.HostMetrics) bool { return p.CPUPercent == nil }},
		{"container CPU above 100% on several cores", `{"services":[{"containerName":"a","cpuPercent":350}]}`,
			func(p *structs.HostMetrics) bool { return *p.Services[0].CPUPercent == 350 }},
		{"expired certificate", `{"certCheckResults":[{"containerName":"a","host":"h","port":443,"success":false,"durationMs":3,"daysUntilExpiry":-12.5}]}`,
			func(p *structs.HostMetrics) bool { return *p.CertCheckResults[0].DaysUntilExpiry == -12.5 }},
		{"numbers in every form", `{"cpuPercent":1.25e1,"memoryUsedMb":0,"swapUsedMb":-0,"diskUsedGb":1E-2,"loadAvg1":123456789012345678901234567890}`,
			func(p *structs.HostMetrics) bool {
				return *p.CPUPercent == 12.5 && *p.MemoryUsedMb == 0 && *p.DiskUsedGb == 0.01 && *p.LoadAvg1 == 1.2345678901234568e29
			}},
		{"escapes and UTF-8", `{"agentVersion":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00 é 😀"}`,
			func(p *structs.HostMetrics) bool { return *p.AgentVersion == "\"\\/\b\f\n\r\t\u00e9😀 é 😀" }},
		{"lone surrogate and bad UTF-8 become U+FFFD", "{\"agentVersion\":\"\\ud800x\xff\"}",
			func(p *structs.HostMetrics) bool { return *p.AgentVersion == "\uFFFDx\uFFFD" }},
		{"fractional seconds in a date-time, seconds left out", `{"collectedAt":"2024-02-29T23:59:59.123Z","serviceHealthChecks":[{"containerName":"a","healthCheckUrl":"u","success":true,"checkedAt":"2026-04-15T12:00Z"}]}`,
			func(p *structs.HostMetrics) bool { return *p.CollectedAt == "2024-02-29T23:59:59.123Z" }},
		{"a required list sent empty stays empty", `{"topProcesses":{"byCpu":[],"byMemory":[],"stats":{"total":0,"running":0,"sleeping":0,"stopped":0,"zombie":0}}}`,
			func(p *structs.HostMetrics) bool {
				return p.TopProcesses.ByCPU != nil && len(p.TopProcesses.ByCPU) == 0
			}},
		{"port 0 and 65535", `{"tcpCheckResults":[{"containerName":"a","host":"h","port":65535,"success":true,"durationMs":0}],"containers":[{"id":"i","name":"n","image":"m","imageId":"d","state":"s","status":"u","created":0,"ports":[{"privatePort":0,"type":"tcp"}]}]}`,
			func(p *structs.HostMetrics) bool {
				return p.TCPCheckResults[0].Port == 65535 && p.Containers[0].Ports[0].PrivatePort == 0
			}},
		{"nesting up to the limit in an unknown field", `{"future":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`,
			func(p *structs.HostMetrics) bool { return true }},
		{"1000 services", `{"services":[` + strings.TrimSuffix(strings.Repeat(`{"containerName":"a"},`, 1000), ",") + `]}`,
			func(p *structs.HostMetrics) bool { return len(p.Services) == 1000 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _ := mustDecode(t, []byte(c.body))
			if !c.check(p) {
				t.Fatalf("decoded %+v", p)
			}
		})
	}
}

func TestDecode_UnknownFields(t *testing.T) {
	body := `{"zeta":1,"cpuPercent":2,"CPUPercent":3,"gpu":{"util":[1,{"a":null}]},` +
		`"services":[{"containerName":"a","gpuPercent":1},{"containerName":"b","gpuPercent":2}],` +
		`"containers":[{"id":"i","name":"n","image":"m","imageId":"d","state":"s","status":"u","created":0,` +
		`"ports":[{"privatePort":1,"type":"tcp","hostIp":"::"}],"labels":{"any.key":"is a label, not unknown"}}],` +
		`"topProcesses":{"byCpu":[],"byMemory":[],"stats":{"total":0,"running":0,"sleeping":0,"stopped":0,"zombie":0,"idle":4}}}`
	p, unknown := mustDecode(t, []byte(body))
	want := []string{"CPUPercent", "containers[0].ports[0].hostIp", "gpu", "services[0].gpuPercent", "services[1].gpuPercent",
		"topProcesses.stats.idle", "zeta"}
	if !slices.Equal(unknown, want) {
		t.Fatalf("unknown %q\nwant    %q", unknown, want)
	}
	// Keys match exactly: "CPUPercent" is not cpuPercent (encoding/json would take it).
	if *p.CPUPercent != 2 {
		t.Fatalf("cpuPercent %v", *p.CPUPercent)
	}

	var b strings.Builder
	b.WriteString("{")
	for i := range 2 * MaxUnknownFields {
		b.WriteString(`"x` + strings.Repeat("y", i) + `":1,`)
	}
	b.WriteString(`"cpuPercent":1}`)
	_, unknown = mustDecode(t, []byte(b.String()))
	if len(unknown) != MaxUnknownFields || !slices.IsSorted(unknown) || unknown[0] != "x" {
		t.Fatalf("%d unknown fields returned, want the first %d, sorted", len(unknown), MaxUnknownFields)
	}
}

// TestDecodePooled_SameAsDecode decodes payloads of every shape one after
// another into reused storage (larger, then smaller, then refused, then
// larger again): each must encode exactly as Decode's fresh payload does,
// with nothing left over from the one before.
func TestDecodePooled_SameAsDecode(t *testing.T) {
	bodies := [][]byte{RealisticPayload(1), specExample(t), []byte(`{}`), RealisticPayload(2),
		[]byte(`{"containers":[{"id":"i","name":"n","image":"m","imageId":"d","state":"s","status":"u","created":0}]}`),
		[]byte(`{"containers":[{"id":"i","name":"n","image":"m","imageId":"d","state":"s","status":"u","created":-1}]}`),
		[]byte(`{"topProcesses":{"byCpu":[],"byMemory":[],"stats":{"total":0,"running":0,"sleeping":0,"stopped":0,"zombie":0}}}`),
		[]byte(`{"topProcesses":null,"cpuPercent":3}`), RealisticPayload(3), RealisticPayload(3)}
	for round := range 3 {
		for i, body := range bodies {
			fresh, freshIgnored, freshErr := Decode(body)
			p, ignored, release, err := DecodePooled(body)
			if (err == nil) != (freshErr == nil) {
				t.Fatalf("round %d, body %d: pooled error %v, fresh error %v", round, i, err, freshErr)
			}
			if err != nil {
				if !reflect.DeepEqual(err, freshErr) || release != nil || p != nil {
					t.Fatalf("round %d, body %d: pooled refusal %+v, fresh %+v", round, i, err, freshErr)
				}
				continue
			}
			want, _ := json.Marshal(fresh)
			got, _ := json.Marshal(p)
			if !bytes.Equal(got, want) || !slices.Equal(ignored, freshIgnored) {
				t.Fatalf("round %d, body %d: pooled payload\n%s\nfresh\n%s", round, i, got, want)
			}
			if (p.TopProcesses == nil) != (fresh.TopProcesses == nil) {
				t.Fatalf("round %d, body %d: topProcesses present %v, fresh %v", round, i, p.TopProcesses != nil, fresh.TopProcesses != nil)
			}
			release()
		}
	}
}

// A body larger than maxPooledBody decodes pooled as any other, and its
// storage is not kept: the next scratch from the pool is not the one that
// held it.
func TestDecodePooled_LargeBodyNotKept(t *testing.T) {
	entry := `{"containerName":"` + strings.Repeat("a", 300) + `","cpuPercent":1},`
	big := []byte(`{"services":[` + strings.TrimSuffix(strings.Repeat(entry, MaxListEntries), ",") + `]}`)
	if len(big) <= maxPooledBody {
		t.Fatalf("test body of %d bytes is not above %d", len(big), maxPooledBody)
	}
	p, _, release, err := DecodePooled(big)
	if err != nil || len(p.Services) != MaxListEntries || *p.Services[MaxListEntries-1].CPUPercent != 1 {
		t.Fatalf("large body: %v", err)
	}
	release()
	for range 10 {
		sc := scratches.Get().(*scratch)
		if cap(sc.p.Services) >= MaxListEntries {
			t.Fatal("the large body's storage went back to the pool")
		}
		defer scratches.Put(sc)
	}
}
