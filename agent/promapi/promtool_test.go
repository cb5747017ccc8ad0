package promapi_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// promtool runs the real promtool (Prometheus' own client) with args and
// returns its stdout; it fails the test on a non-zero exit. A machine
// without promtool fails too: these tests are the proof that Prometheus'
// client reads our answers.
func promtool(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install it with `apt-get install -y prometheus`", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %q: %v\nstdout: %s\nstderr: %s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func TestPromQL_Promtool(t *testing.T) {
	srv := newTestServer(t)
	at := fmt.Sprint(t0.Unix())

	out := promtool(t, "query", "instant", "--time="+at, srv.URL, "max by (node) (x)")
	for _, want := range []string{`{node="a"} => 5 @[1700000000]`, `{node="b"} => 50 @[1700000000]`} {
		if !strings.Contains(out, want) {
			t.Errorf("instant: no %q in\n%s", want, out)
		}
	}

	out = promtool(t, "query", "range", "--start="+fmt.Sprint(t0.Add(-30*time.Second).Unix()), "--end="+at, "--step=15s",
		srv.URL, `x{node="b"}`)
	want := "x{dc=\"dc1\", node=\"b\"} =>\n30 @[1699999970]\n40 @[1699999985]\n50 @[1700000000]"
	if strings.TrimSpace(out) != want {
		t.Errorf("range: got\n%s\nwant\n%s", out, want)
	}

	// promtool's default range for metadata is the last year or so
	// around now, so the fixed test times are given.
	window := []string{"--start=" + fmt.Sprint(t0.Add(-time.Hour).Unix()), "--end=" + t0.Format(time.RFC3339)}
	out = promtool(t, append([]string{"query", "series", "--match=x", "--match=gauge"}, append(window, srv.URL)...)...)
	want = "{__name__=\"gauge\", node=\"a\"}\n{__name__=\"x\", dc=\"dc1\", node=\"a\"}\n{__name__=\"x\", dc=\"dc1\", node=\"b\"}"
	if strings.TrimSpace(out) != want {
		t.Errorf("series: got\n%s\nwant\n%s", out, want)
	}

	out = promtool(t, append(append([]string{"query", "labels"}, window...), srv.URL, "node")...)
	if strings.TrimSpace(out) != "a\nb" {
		t.Errorf("labels node: got\n%s", out)
	}
	out = promtool(t, append(append([]string{"query", "labels", "--match=gauge"}, window...), srv.URL, "__name__")...)
	if strings.TrimSpace(out) != "gauge" {
		t.Errorf("labels __name__ with match: got\n%s", out)
	}

	// Prometheus' client reports our error body as Prometheus' own.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, "promtool", "query", "instant", srv.URL, "sum(").CombinedOutput()
	if err == nil || !strings.Contains(string(b), "bad_data") || !strings.Contains(string(b), "parse error") {
		t.Errorf("bad query: %v\n%s", err, b)
	}
}
