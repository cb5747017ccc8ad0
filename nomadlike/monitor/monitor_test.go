package monitor

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func testLogger() hclog.InterceptLogger {
	return hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "agent", Level: hclog.Error, Output: io.Discard})
}

func next(t *testing.T, m *Monitor) string {
	t.Helper()
	select {
	case l := <-m.Logs():
		return string(l)
	case <-time.After(5 * time.Second):
		t.Fatal("no line")
	}
	return ""
}

// The monitor sees lines below the logger's own level, filtered at its
// own; after Stop it sees nothing.
func TestMonitor_LevelAndStop(t *testing.T) {
	logger := testLogger()
	m := New(logger, hclog.Debug, false)
	logger.Trace("too fine")
	logger.Named("x").Debug("wanted", "k", "v")
	if l := next(t, m); !strings.Contains(l, "[DEBUG] agent.x: wanted: k=v") || !strings.HasSuffix(l, "\n") {
		t.Fatalf("line %q", l)
	}
	m.Stop()
	logger.Error("after stop")
	select {
	case l := <-m.Logs():
		t.Fatalf("line after stop: %q", l)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestMonitor_JSON(t *testing.T) {
	logger := testLogger()
	m := New(logger, hclog.Info, true)
	defer m.Stop()
	logger.Info("json line", "n", 3)
	var entry map[string]any
	if err := json.Unmarshal([]byte(next(t, m)), &entry); err != nil || entry["@message"] != "json line" || entry["n"] != 3.0 {
		t.Fatalf("%v %v", entry, err)
	}
}

// A reader that does not keep up never blocks logging: lines past the
// buffer are dropped, and once there is room a warning says how many.
func TestMonitor_DropsWhenFull(t *testing.T) {
	logger := testLogger()
	m := New(logger, hclog.Info, false)
	defer m.Stop()
	done := make(chan struct{})
	go func() {
		for i := 0; i < BufferLines+100; i++ {
			logger.Info("line")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("logging blocked on a full monitor")
	}
	if got := m.Dropped(); got != 100 {
		t.Fatalf("dropped %d, want 100", got)
	}
	for i := 0; i < BufferLines; i++ {
		if l := next(t, m); !strings.Contains(l, "line") {
			t.Fatalf("line %d: %q", i, l)
		}
	}
	if l := next(t, m); !strings.Contains(l, "[WARN]  Monitor dropped 100 logs during monitor request") {
		t.Fatalf("drop warning %q", l)
	}
	if m.Dropped() != 0 {
		t.Fatalf("dropped count not reset: %d", m.Dropped())
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]hclog.Level{"": hclog.Info, "TRACE": hclog.Trace, " warn ": hclog.Warn, "error": hclog.Error, "off": hclog.Off} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"loud", "warning"} {
		if _, err := ParseLevel(in); err == nil || err.Error() != "Unknown log level: "+in {
			t.Errorf("%q: %v", in, err)
		}
	}
}
