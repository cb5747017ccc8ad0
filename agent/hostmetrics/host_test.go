package hostmetrics

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shirou/gopsutil/v4/cpu"
)

// newTestCollector makes a collector without a Docker daemon.
func newTestCollector(t *testing.T, cfg Config) *Collector {
	t.Helper()
	if cfg.DockerSocket == "" {
		cfg.DockerSocket = filepath.Join(t.TempDir(), "no-docker.sock")
	}
	c, err := New(cfg, hclog.New(&hclog.LoggerOptions{Level: hclog.Debug, Output: testWriter{t}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}

// burn uses about d of CPU time in this process.
func burn(d time.Duration) {
	end := time.Now().Add(d)
	x := 0
	for time.Now().Before(end) {
		x++
	}
	_ = x
}

func TestHostMetrics_HostFigures(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("this test reads Linux's /proc; run it on Linux")
	}
	// A listener of our own, so the host has at least one LISTEN socket.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	c := newTestCollector(t, Config{AgentVersion: "1.2.3", ServerHealthy: func() bool { return true },
		TopProcesses: 5})
	ctx := context.Background()
	m := c.Collect(ctx)
	roundTrip(t, m)

	// First-sample rule: no previous reading, so no host CPU% (not a 0).
	if m.CPUPercent != nil {
		t.Errorf("first payload without a baseline has cpuPercent %v, want it left out", *m.CPUPercent)
	}
	positive := map[string]*float64{"memoryUsedMb": m.MemoryUsedMb, "memoryTotalMb": m.MemoryTotalMb,
		"diskUsedGb": m.DiskUsedGb, "diskTotalGb": m.DiskTotalGb, "uptime": m.Uptime, "openFds": m.OpenFds,
		"maxFds": m.MaxFds, "tcpListen": m.TCPListen, "tcpTotal": m.TCPTotal}
	for name, v := range positive {
		if v == nil || *v <= 0 {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}
	nonNegative := map[string]*float64{"swapUsedMb": m.SwapUsedMb, "swapTotalMb": m.SwapTotalMb,
		"loadAvg1": m.LoadAvg1, "loadAvg5": m.LoadAvg5, "loadAvg15": m.LoadAvg15,
		"tcpEstablished": m.TCPEstablished, "tcpTimeWait": m.TCPTimeWait, "tcpCloseWait": m.TCPCloseWait}
	for name, v := range nonNegative {
		if v == nil || *v < 0 {
			t.Errorf("%s = %v, want a figure >= 0", name, v)
		}
	}
	if m.MemoryUsedMb != nil && m.MemoryTotalMb != nil && *m.MemoryUsedMb > *m.MemoryTotalMb {
		t.Errorf("memory used %v > total %v", *m.MemoryUsedMb, *m.MemoryTotalMb)
	}
	if m.DiskUsedGb != nil && m.DiskTotalGb != nil && *m.DiskUsedGb > *m.DiskTotalGb {
		t.Errorf("disk used %v > total %v", *m.DiskUsedGb, *m.DiskTotalGb)
	}
	if m.TCPListen != nil && m.TCPTotal != nil && *m.TCPListen > *m.TCPTotal {
		t.Errorf("tcp listen %v > total %v", *m.TCPListen, *m.TCPTotal)
	}
	if m.AgentVersion == nil || *m.AgentVersion != "1.2.3" || m.ServerHealthy == nil || !*m.ServerHealthy {
		t.Errorf("agentVersion %v, serverHealthy %v", m.AgentVersion, m.ServerHealthy)
	}
	if m.CollectedAt == nil || !dateTime.MatchString(*m.CollectedAt) {
		t.Errorf("collectedAt %v", m.CollectedAt)
	}
	if len(m.Containers) != 0 || len(m.Services) != 0 {
		t.Errorf("no docker socket, yet containers %v services %v", m.Containers, m.Services)
	}

	tp := m.TopProcesses
	if tp == nil {
		t.Fatal("no topProcesses")
	}
	st := tp.Stats
	if st.Total < 1 || st.Running+st.Sleeping+st.Stopped+st.Zombie > st.Total {
		t.Errorf("process stats %+v", st)
	}
	if len(tp.ByCPU) == 0 || len(tp.ByCPU) > 5 || len(tp.ByMemory) == 0 || len(tp.ByMemory) > 5 {
		t.Fatalf("top lists of %d and %d, want 1..5", len(tp.ByCPU), len(tp.ByMemory))
	}
	for i := 1; i < len(tp.ByCPU); i++ {
		if tp.ByCPU[i].CPUPercent > tp.ByCPU[i-1].CPUPercent {
			t.Errorf("byCpu not sorted: %+v", tp.ByCPU)
		}
	}
	for i := 1; i < len(tp.ByMemory); i++ {
		if tp.ByMemory[i].MemoryMb > tp.ByMemory[i-1].MemoryMb {
			t.Errorf("byMemory not sorted: %+v", tp.ByMemory)
		}
	}
	for _, p := range append(tp.ByCPU, tp.ByMemory...) {
		if p.PID < 1 || p.Name == "" || p.State == "" || p.Threads < 1 {
			t.Errorf("process %+v", p)
		}
	}

	// The second reading has a baseline: a CPU% once a clock tick passed.
	deadline := time.Now().Add(10 * time.Second)
	for m.CPUPercent == nil && time.Now().Before(deadline) {
		burn(20 * time.Millisecond)
		m = c.Collect(ctx)
	}
	if m.CPUPercent == nil || *m.CPUPercent < 0 || *m.CPUPercent > 100 {
		t.Fatalf("cpuPercent %v after a baseline, want 0..100", m.CPUPercent)
	}
	roundTrip(t, m)
}

// Start takes the baseline: the first Collect after it has CPU% as soon
// as the host's CPU counters moved, and this process's CPU% is its use
// since the baseline.
func TestHostMetrics_StartTakesCPUBaseline(t *testing.T) {
	c := newTestCollector(t, Config{TopProcesses: 100000})
	c.Start(context.Background())
	c.mu.Lock()
	base := *c.base.cpu
	c.mu.Unlock()
	// Wait (without sleeping) until the counters moved past the baseline.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		burn(50 * time.Millisecond)
		ts, err := cpu.Times(false)
		if err != nil {
			t.Fatal(err)
		}
		if ts[0].Total()-ts[0].Guest-ts[0].GuestNice > base.total {
			break
		}
	}
	burn(200 * time.Millisecond)
	m := c.Collect(context.Background())
	if m.CPUPercent == nil {
		t.Fatal("first Collect after Start has no cpuPercent")
	}
	self := float64(os.Getpid())
	found := false
	for _, p := range m.TopProcesses.ByCPU {
		if p.PID == self {
			found = true
			// At least 200ms of CPU in a window of at most ~10s.
			if p.CPUPercent <= 1 {
				t.Errorf("this process burnt CPU since the baseline, yet cpuPercent %v", p.CPUPercent)
			}
		}
	}
	if !found {
		t.Errorf("this process (pid %v) is not in byCpu of %d processes", self, len(m.TopProcesses.ByCPU))
	}
	roundTrip(t, m)
}

func TestHostMetrics_ProcessPercentRule(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	prevAt := now.Add(-10 * time.Second)
	old := prevAt.Add(-100 * time.Second).UnixMilli()
	cases := []struct {
		name    string
		used    float64
		created int64
		before  procSample
		seen    bool
		prevAt  time.Time
		want    float64
	}{
		{"since the previous reading", 7, old, procSample{cpu: 2, created: old}, true, prevAt, 50},
		{"two CPUs busy", 22, old, procSample{cpu: 2, created: old}, true, prevAt, 200},
		{"born in the window: measured over the window", 1, now.Add(-2 * time.Second).UnixMilli(), procSample{}, false, prevAt, 10},
		{"reused PID: the new process over the window", 3, now.Add(-1 * time.Second).UnixMilli(), procSample{cpu: 90, created: old}, true, prevAt, 30},
		{"no previous reading: lifetime average", 11, old, procSample{}, false, time.Time{}, 10},
		{"missed last time, older than the window: lifetime", 11, old, procSample{}, false, prevAt, 10},
		{"counter went back: not negative", 1, old, procSample{cpu: 2, created: old}, true, prevAt, 0},
	}
	for _, tc := range cases {
		got := procPercent(tc.used, tc.created, tc.before, tc.seen, tc.prevAt, now)
		if diff := got - tc.want; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestHostMetrics_FileNr(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		text      string
		open, max float64
		ok        bool
	}{
		{"3296\t0\t9223372036854775807\n", 3296, 9223372036854775807, true},
		{"100 20 1000", 80, 1000, true},
		{"garbage", 0, 0, false},
		{"1 2", 0, 0, false},
		{"-1 0 5", 0, 0, false},
	} {
		path := filepath.Join(dir, "file-nr")
		if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		open, maxFds, ok := readFileNr(path)
		if ok != tc.ok || open != tc.open || maxFds != tc.max {
			t.Errorf("%q: %v %v %v, want %v %v %v", tc.text, open, maxFds, ok, tc.open, tc.max, tc.ok)
		}
	}
	if _, _, ok := readFileNr(filepath.Join(dir, "missing")); ok {
		t.Error("a missing file-nr read as ok")
	}
}

func TestHostMetrics_ConcurrentCollect(t *testing.T) {
	c := newTestCollector(t, Config{})
	c.Start(context.Background())
	done := make(chan *float64, 4)
	for range 4 {
		go func() { done <- c.Collect(context.Background()).MemoryTotalMb }()
	}
	for range 4 {
		if v := <-done; v == nil || *v <= 0 {
			t.Errorf("concurrent Collect: memoryTotalMb %v", v)
		}
	}
}
