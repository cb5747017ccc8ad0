package logs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// receiver is a Loki push endpoint that records what it accepted.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex
	// fail answers the next pushes with these statuses, in turn.
	fail []int
	// lines are the accepted lines by their file label, in order.
	lines  map[string][]string
	order  []string // every accepted line, in the order accepted
	pushes int
	tenant string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, lines: map[string][]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.URL.Path != "/loki/api/v1/push" || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if len(r.fail) > 0 {
		status := r.fail[0]
		r.fail = r.fail[1:]
		http.Error(w, "failing on purpose", status)
		return
	}
	var body pushRequest
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.pushes++
	r.tenant = req.Header.Get("X-Scope-OrgID")
	for _, s := range body.Streams {
		file := s.Stream["filename"]
		if s.Stream["job"] != "app" || s.Stream["env"] != "test" {
			r.t.Errorf("stream labels %v, want job=app and the client's env=test", s.Stream)
		}
		for _, v := range s.Values {
			if _, err := strconv.ParseInt(v[0], 10, 64); err != nil {
				r.t.Errorf("timestamp %q: %v", v[0], err)
			}
			r.lines[file] = append(r.lines[file], v[1])
			r.order = append(r.order, v[1])
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// all is every accepted line, in the order accepted, whatever its file.
func (r *receiver) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}

func (r *receiver) failNext(statuses ...int) {
	r.mu.Lock()
	r.fail = append(r.fail, statuses...)
	r.mu.Unlock()
}

func (r *receiver) spec(glob string, extra string) Spec {
	yaml := fmt.Sprintf(`
clients:
  - url: %s/loki/api/v1/push
    tenant_id: team-a
    batchwait: 50ms
    external_labels: {env: test}
    backoff_config: {min_period: 10ms, max_period: 50ms}
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [localhost]
        labels: {job: app, __path__: %q}
%s`, r.srv.URL, glob, extra)
	return Spec{Name: "default", YAML: []byte(yaml), Source: "local"}
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newManager(t *testing.T, dir string) *Manager {
	t.Helper()
	m, err := New(Options{PositionsDir: dir, Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: testWriter{t}})})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func appendLines(t *testing.T, f *os.File, prefix string, from, to int) {
	t.Helper()
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

func openAppend(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// checkExactlyOnce checks that got holds each "<prefix> <n>" line once,
// each prefix's numbers in increasing order, and want lines in all.
func checkExactlyOnce(t *testing.T, got []string, want int) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]int{}
	for _, l := range got {
		if seen[l] {
			t.Errorf("line %q received twice", l)
		}
		seen[l] = true
		prefix, num, _ := strings.Cut(l, " ")
		n, _ := strconv.Atoi(num)
		if n <= last[prefix] {
			t.Errorf("line %q after %s %d: out of order", l, prefix, last[prefix])
		}
		last[prefix] = n
	}
	if len(seen) != want {
		t.Errorf("received %d distinct lines, want %d", len(seen), want)
	}
}

// TestLogs_RotationRestartExactlyOnce follows a file through a rename
// rotation (its writer still writing to the renamed file for a while), a
// stop and a start while lines are being written, and a push receiver
// that fails for a while: every line arrives once, in order per file.
func TestLogs_RotationRestartExactlyOnce(t *testing.T) {
	r := newReceiver(t)
	logDir, posDir := t.TempDir(), t.TempDir()
	path := filepath.Join(logDir, "app.log")
	spec := r.spec(filepath.Join(logDir, "*.log"), "")

	old := openAppend(t, path)
	appendLines(t, old, "a", 1, 100)
	m := newManager(t, posDir)
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first 100 lines", func() bool { return len(r.all()) == 100 })
	if r.tenant != "team-a" {
		t.Errorf("X-Scope-OrgID %q, want the tenant_id", r.tenant)
	}

	// Rotation: rename, the writer goes on a little, then reopens.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, old, "a", 101, 110)
	cur := openAppend(t, path)
	appendLines(t, cur, "b", 1, 50)
	waitFor(t, "the lines around the rotation", func() bool { return len(r.all()) == 160 })

	// The receiver fails for a while; the lines wait in the file.
	r.failNext(500, 503, 429)
	appendLines(t, cur, "b", 51, 80)
	waitFor(t, "the lines after the failures", func() bool { return len(r.all()) == 190 })

	// Stop while lines keep coming, and start again.
	appendLines(t, cur, "b", 81, 90)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	appendLines(t, cur, "b", 91, 120)
	m = newManager(t, posDir)
	defer m.Close()
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every line after the restart", func() bool { return len(r.all()) >= 230 })
	checkExactlyOnce(t, r.all(), 230)

	// The target shows the file's offset: its whole size.
	fi, _ := os.Stat(path)
	waitFor(t, "the offset in the targets", func() bool {
		ts := m.Targets()
		return len(ts) == 1 && ts[0].Details[path] == fi.Size()
	})
	tg := m.Targets()[0]
	if tg.Instance != "default" || tg.TargetGroup != "app" || tg.Type != "File" || !tg.Ready ||
		tg.Labels["job"] != "app" || tg.DiscoveredLabels["__path__"] != filepath.Join(logDir, "*.log") ||
		tg.DiscoveredLabels["__address__"] != "localhost" {
		t.Errorf("target %+v", tg)
	}
	if got := m.Instances(); len(got) != 1 || got[0] != "default" {
		t.Errorf("instances %v", got)
	}
}

// TestLogs_RestartAfterRotationWhileDown: a file rotated while the agent
// was down, to a name the glob still matches, resumes where it was left
// (same inode), and the new file is read from its start.
func TestLogs_RestartAfterRotationWhileDown(t *testing.T) {
	r := newReceiver(t)
	logDir, posDir := t.TempDir(), t.TempDir()
	path := filepath.Join(logDir, "app.log")
	spec := r.spec(filepath.Join(logDir, "app.log*"), "")
	old := openAppend(t, path)
	appendLines(t, old, "a", 1, 20)
	m := newManager(t, posDir)
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "20 lines", func() bool { return len(r.all()) == 20 })
	m.Close()

	appendLines(t, old, "a", 21, 30)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	cur := openAppend(t, path)
	appendLines(t, cur, "b", 1, 10)
	m = newManager(t, posDir)
	defer m.Close()
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "40 lines", func() bool { return len(r.all()) >= 40 })
	checkExactlyOnce(t, r.all(), 40)
}

// TestLogs_TruncateAndReplace: a file truncated in place (copytruncate)
// is read again from its start; a file replaced by another while the
// agent was down, even under the same inode number, is not resumed at
// the old offset (its first bytes differ).
func TestLogs_TruncateAndReplace(t *testing.T) {
	r := newReceiver(t)
	logDir, posDir := t.TempDir(), t.TempDir()
	path := filepath.Join(logDir, "app.log")
	spec := r.spec(path, "")
	f := openAppend(t, path)
	appendLines(t, f, "a", 1, 50)
	m := newManager(t, posDir)
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "50 lines", func() bool { return len(r.all()) == 50 })
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, f, "b", 1, 5)
	waitFor(t, "the lines after the truncation", func() bool { return len(r.all()) == 55 })
	m.Close()

	// Same file, same inode, other content of the same length or more.
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	appendLines(t, f, "c", 1, 9)
	m = newManager(t, posDir)
	defer m.Close()
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replaced file's lines", func() bool { return len(r.all()) >= 64 })
	checkExactlyOnce(t, r.all(), 64)
}

// TestLogs_RefusedBatchDropped: a push Loki refuses for good (400) is
// dropped, logged and counted, and the positions move on.
func TestLogs_RefusedBatchDropped(t *testing.T) {
	r := newReceiver(t)
	logDir := t.TempDir()
	path := filepath.Join(logDir, "app.log")
	f := openAppend(t, path)
	r.failNext(400)
	appendLines(t, f, "a", 1, 3)
	m := newManager(t, t.TempDir())
	defer m.Close()
	if err := m.Apply([]Spec{r.spec(path, "")}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	waitFor(t, "the dropped batch's offset", func() bool {
		ts := m.Targets()
		return len(ts) == 1 && ts[0].Details[path] == fi.Size()
	})
	appendLines(t, f, "a", 4, 5)
	waitFor(t, "the next lines", func() bool { return len(r.all()) == 2 })
	checkExactlyOnce(t, r.all(), 2)
}

// TestLogs_LongLineAndPartial: a line longer than maxLineSize goes in
// parts; a last line without its newline waits for it.
func TestLogs_LongLineAndPartial(t *testing.T) {
	r := newReceiver(t)
	path := filepath.Join(t.TempDir(), "app.log")
	f := openAppend(t, path)
	long := strings.Repeat("x", maxLineSize+10)
	if _, err := f.WriteString("a 1\n" + long + "\na 2"); err != nil {
		t.Fatal(err)
	}
	m := newManager(t, t.TempDir())
	defer m.Close()
	if err := m.Apply([]Spec{r.spec(path, "")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the long line", func() bool { return len(r.all()) == 3 })
	if _, err := f.WriteString(" and its end\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the completed line", func() bool { return len(r.all()) == 4 })
	got := r.all()
	if got[0] != "a 1" || len(got[1]) != maxLineSize || got[2] != strings.Repeat("x", 10) || got[3] != "a 2 and its end" {
		t.Errorf("lines %q…", []string{got[0], got[1][:5], got[2], got[3]})
	}
}

// TestLogs_NewFilesAndApply: files created later under the glob are
// found by directory events; Apply keeps an unchanged instance running
// and stops a removed one.
func TestLogs_NewFilesAndApply(t *testing.T) {
	r := newReceiver(t)
	logDir := t.TempDir()
	m := newManager(t, t.TempDir())
	defer m.Close()
	spec := r.spec(filepath.Join(logDir, "*.log"), "")
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	before := m.instances["default"]
	for i := 1; i <= 3; i++ {
		appendLines(t, openAppend(t, filepath.Join(logDir, fmt.Sprintf("f%d.log", i))), fmt.Sprintf("f%d", i), 1, 10)
	}
	appendLines(t, openAppend(t, filepath.Join(logDir, "ignored.txt")), "x", 1, 10)
	waitFor(t, "the new files' lines", func() bool { return len(r.all()) == 30 })
	if err := m.Apply([]Spec{spec}); err != nil {
		t.Fatal(err)
	}
	if m.instances["default"] != before {
		t.Error("an unchanged instance was restarted")
	}
	if err := m.Apply(nil); err != nil {
		t.Fatal(err)
	}
	if got := m.Instances(); len(got) != 0 {
		t.Errorf("instances after removing all: %v", got)
	}
	checkExactlyOnce(t, r.all(), 30)
}

func TestParseInstanceConfig_Errors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{`scrape_configs: []`, "clients: at least one"},
		{"clients: [{url: 'ftp://x'}]", "clients[0].url"},
		{"clients: [{url: 'http://x', batchsize: 999999999}]", "clients[0].batchsize"},
		{"clients: [{url: 'http://x'}]\nscrape_configs: [{job_name: a, static_configs: [{labels: {job: a}}]}]", "__path__: required"},
		{"clients: [{url: 'http://x'}]\nscrape_configs: [{job_name: a, static_configs: [{labels: {__path__: 'rel/*.log'}}]}]", "absolute"},
		{"clients: [{url: 'http://x'}]\nscrape_configs: [{job_name: a, static_configs: [{labels: {__path__: '/a/[.log'}}]}]", "syntax error"},
		{"clients: [{url: 'http://x'}]\nscrape_configs: [{job_name: a, static_configs: [{labels: {__path__: '/a', 'bad-name': x}}]}]", "not a valid label name"},
		{"clients: [{url: 'http://x'}]\nscrape_configs: [{job_name: a, static_configs: [{labels: {__path__: '/a'}}]}, {job_name: a, static_configs: [{labels: {__path__: '/b'}}]}]", "used twice"},
		{"clients: [{url: 'http://x'}]\npipeline_stages: []", "pipeline_stages"},
		{"clients: [{url: 'http://x', backoff_config: {min_period: 1m, max_period: 1s}}]", "max_period"},
	} {
		_, err := ParseInstanceConfig([]byte(tc.yaml), "x")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one with %q", tc.yaml, err, tc.want)
		}
	}
	m := newManager(t, t.TempDir())
	defer m.Close()
	good := Spec{Name: "a", YAML: []byte("clients: [{url: 'http://127.0.0.1:1/loki/api/v1/push'}]")}
	if err := m.Apply([]Spec{good, {Name: "b", YAML: []byte("clients: []")}}); err == nil {
		t.Fatal("Apply took a bad spec")
	}
	if got := m.Instances(); len(got) != 0 {
		t.Errorf("a failed Apply started %v", got)
	}
}

// TestLogs_DrainWhileActiveFileIsBusy: lines written to a file renamed out
// of the watched directory (no event tells of them) arrive while the new
// file is written without pause, not only once it goes quiet.
func TestLogs_DrainWhileActiveFileIsBusy(t *testing.T) {
	r := newReceiver(t)
	logDir, away := t.TempDir(), t.TempDir()
	path := filepath.Join(logDir, "app.log")
	old := openAppend(t, path)
	appendLines(t, old, "a", 1, 5)
	m := newManager(t, t.TempDir())
	defer m.Close()
	if err := m.Apply([]Spec{r.spec(filepath.Join(logDir, "*.log"), "")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first lines", func() bool { return len(r.all()) == 5 })
	if err := os.Rename(path, filepath.Join(away, "app.log.1")); err != nil {
		t.Fatal(err)
	}
	cur := openAppend(t, path)
	appendLines(t, cur, "b", 1, 1)
	waitFor(t, "the new file", func() bool { return len(r.all()) == 6 })
	appendLines(t, old, "a", 6, 6) // after the rename: only a drain finds it
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the active file never pauses for a second
		defer close(done)
		for i := 2; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				fmt.Fprintf(cur, "b %d\n", i)
			}
		}
	}()
	waitFor(t, "the renamed file's last line", func() bool { return slices.Contains(r.all(), "a 6") })
	close(stop)
	<-done
}
