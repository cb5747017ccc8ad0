package command

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/nomadlike/nomadlike/agent/promapi/promapitest"
)

var metricsT0 = time.Unix(1_700_000_000, 0)

// promAgent serves the real query API over a TSDB holding load for nodes
// a (1..5) and b (NaN, then 2) every 15s up to metricsT0.
func promAgent(t *testing.T) *fakeAgent {
	t.Helper()
	var samples []promapitest.Sample
	for i := 0; i < 5; i++ {
		ts := metricsT0.Add(time.Duration(i-4) * 15 * time.Second)
		b := 2.0
		if i == 0 {
			b = 0
		}
		samples = append(samples,
			promapitest.Sample{Labels: labels.FromStrings("__name__", "load", "node", "a", "dc", "dc1"), T: ts, V: float64(i + 1)},
			promapitest.Sample{Labels: labels.FromStrings("__name__", "load", "node", "b", "dc", "dc1"), T: ts, V: b},
		)
	}
	return &fakeAgent{srv: promapitest.Server(t, promapitest.DB(t, samples...))}
}

func TestMetricsQuery_Instant(t *testing.T) {
	f := promAgent(t)
	at := fmt.Sprintf("-time=%d", metricsT0.Unix())
	r := runCommand(t, f, "metrics query", at, "load")
	mustSucceed(t, r)
	want := `Series                               Value
{__name__="load",dc="dc1",node="a"}  5
{__name__="load",dc="dc1",node="b"}  2
`
	if r.stdout != want {
		t.Fatalf("stdout\n%s\nwant\n%s", r.stdout, want)
	}

	// Flags after the query work too; RFC 3339 times are accepted.
	r = runCommand(t, f, "metrics query", "max by (dc) (load) / 0", "-time="+metricsT0.UTC().Format(time.RFC3339))
	mustSucceed(t, r)
	if r.stdout != "Series      Value\n{dc=\"dc1\"}  +Inf\n" {
		t.Fatalf("stdout %q", r.stdout)
	}

	for q, want := range map[string]string{`scalar(sum(load))`: "7\n", `"hello"`: "hello\n", `nothing`: "No results\n"} {
		r = runCommand(t, f, "metrics query", at, q)
		mustSucceed(t, r)
		if r.stdout != want {
			t.Fatalf("%s: stdout %q, want %q", q, r.stdout, want)
		}
	}
}

func TestMetricsQuery_Range(t *testing.T) {
	f := promAgent(t)
	r := runCommand(t, f, "metrics query", "-range",
		fmt.Sprintf("-start=%d", metricsT0.Add(-time.Minute).Unix()), fmt.Sprintf("-end=%d", metricsT0.Unix()),
		"-step=15s", `load / (load - 1)`)
	mustSucceed(t, r)
	// a: 1/0, 2, 1.5, 1.33.., 1.25; b: NaN (0/-1 is -0), then 2 four times.
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "Series Points First Last Min Max" ||
		strings.Join(strings.Fields(lines[1]), " ") != `{dc="dc1",node="a"} 5 +Inf 1.25 1.25 +Inf` ||
		strings.Join(strings.Fields(lines[2]), " ") != `{dc="dc1",node="b"} 5 -0 2 -0 2` {
		t.Fatalf("stdout\n%s", r.stdout)
	}

	// -start alone implies a range, with the default end (now) and step:
	// nothing is that recent.
	r = runCommand(t, f, "metrics query", "-start=2h", "load")
	mustSucceed(t, r)
	if r.stdout != "No results\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
}

func TestMetricsQuery_JSONAndTemplate(t *testing.T) {
	f := promAgent(t)
	at := fmt.Sprintf("-time=%d", metricsT0.Unix())
	r := runCommand(t, f, "metrics query", "-json", at, `sum(load)`)
	mustSucceed(t, r)
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &data); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if data.ResultType != "vector" || len(data.Result) != 1 || data.Result[0].Value[1] != "7" ||
		data.Result[0].Value[0] != float64(metricsT0.Unix()) {
		t.Fatalf("%s", r.stdout)
	}

	r = runCommand(t, f, "metrics query", at, "-t", `{{range .}}{{index .Metric "node"}}={{.Value}};{{end}}`, `sort(load)`)
	mustSucceed(t, r)
	if r.stdout != "b=2;a=5;\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
}

func TestMetricsQuery_WarningsToStderr(t *testing.T) {
	f := newFakeAgent(t, map[string]reply{"GET /api/v1/query": {200,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"node":"a"},"value":[1700000000,"1"]}]},"warnings":["server s2 did not answer: partial result"]}`}})
	r := runCommand(t, f, "metrics query", "up")
	if r.code != 0 || r.stderr != "Warning: server s2 did not answer: partial result\n" ||
		!strings.Contains(r.stdout, `{node="a"}`) {
		t.Fatalf("%+v", r)
	}
	if q := f.find(t, "GET", "/api/v1/query").query; q.Get("query") != "up" || q.Has("time") {
		t.Fatalf("query %v", q)
	}
}

func TestMetricsQuery_Errors(t *testing.T) {
	f := promAgent(t)
	mustFail(t, runCommand(t, f, "metrics query", "sum("),
		`Error querying metrics: Unexpected response code: 400 (bad_data: invalid parameter "query"`)
	mustFail(t, runCommand(t, f, "metrics query", "-range", "-start=0", "-end=100000", "-step=1", "load"),
		"exceeded maximum resolution of 11,000 points")
	for _, args := range [][]string{
		{},
		{"a", "b"},
		{"-time=5m", "-range", "load"},
		{"-time=yesterday", "load"},
		{"-start=10", "-end=5", "load"},
		{"-step=0s", "load"},
		{"-json", "-t={{.}}", "load"},
		{"-t={{", "load"},
	} {
		r := runCommand(t, f, "metrics query", args...)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "Usage: nomadlike metrics query") {
			t.Fatalf("%q: %+v", args, r)
		}
	}
}

func TestMetricsQuery_DefaultStep(t *testing.T) {
	for r, want := range map[time.Duration]time.Duration{
		time.Minute:           time.Second,
		time.Hour:             15 * time.Second,
		6 * time.Hour:         time.Minute,
		24 * time.Hour:        5 * time.Minute,
		7 * 24 * time.Hour:    30 * time.Minute,
		3650 * 24 * time.Hour: 24 * time.Hour * 7,
	} {
		if got := defaultStep(r); got != want {
			t.Errorf("defaultStep(%s) = %s, want %s", r, got, want)
		}
	}
}

func TestMetricsQuery_ParentHelp(t *testing.T) {
	code, _, _, _, errOut := runTop("metrics")
	if code != 1 || !strings.Contains(errOut, "Usage: nomadlike metrics") || !strings.Contains(errOut, "    query") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
}
