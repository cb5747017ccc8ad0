package hostmetrics

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	gnet "github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/nomadlike/nomadlike/structs"
)

// Units of the spec's "Mb" and "Gb" fields (binary, as free(1) and df(1)
// print them).
const (
	mb = 1 << 20
	gb = 1 << 30
)

// fileNr is Linux's host-wide file handle table: allocated, free, max.
const fileNr = "/proc/sys/fs/file-nr"

// cpuSample is one reading of the host's CPU time counters.
type cpuSample struct{ total, busy float64 }

// procSample is one reading of a process's CPU time; created tells a
// reused PID from the process seen before.
type procSample struct {
	cpu     float64 // user+system seconds
	created int64   // unix ms
}

// baseline is what percentages are computed against: the previous
// readings. Guarded by Collector.mu.
type baseline struct {
	cpu    *cpuSample
	procs  map[int32]procSample
	procAt time.Time // when procs was read; zero before the first reading
}

// collectHost fills the host figures of m; a figure the platform does not
// give is left nil.
func (c *Collector) collectHost(ctx context.Context, m *structs.HostMetrics) {
	m.CPUPercent = c.cpuPercent(ctx)
	if v, err := mem.VirtualMemoryWithContext(ctx); err == nil {
		m.MemoryUsedMb, m.MemoryTotalMb = ptr(round(float64(v.Used)/mb, 2)), ptr(round(float64(v.Total)/mb, 2))
	} else {
		c.debug("memory", err)
	}
	if v, err := mem.SwapMemoryWithContext(ctx); err == nil {
		m.SwapUsedMb, m.SwapTotalMb = ptr(round(float64(v.Used)/mb, 2)), ptr(round(float64(v.Total)/mb, 2))
	} else {
		c.debug("swap", err)
	}
	if v, err := disk.UsageWithContext(ctx, c.cfg.DiskPath); err == nil {
		m.DiskUsedGb, m.DiskTotalGb = ptr(round(float64(v.Used)/gb, 3)), ptr(round(float64(v.Total)/gb, 3))
	} else {
		c.debug("disk", err)
	}
	if v, err := load.AvgWithContext(ctx); err == nil {
		m.LoadAvg1, m.LoadAvg5, m.LoadAvg15 = ptr(v.Load1), ptr(v.Load5), ptr(v.Load15)
	} else {
		c.debug("load", err)
	}
	if v, err := host.UptimeWithContext(ctx); err == nil && v > 0 {
		m.Uptime = ptr(float64(v))
	} else if err != nil {
		c.debug("uptime", err)
	}
	if open, maxFds, ok := readFileNr(fileNr); ok {
		m.OpenFds, m.MaxFds = ptr(open), ptr(maxFds)
	}
	c.collectTCP(ctx, m)
}

// cpuPercent is the host's busy share of all CPUs since the previous
// reading, 0–100; nil without one, or when no clock tick has passed since
// (the old baseline is then kept for the next call).
func (c *Collector) cpuPercent(ctx context.Context) *float64 {
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil || len(ts) == 0 {
		c.debug("cpu", err)
		return nil
	}
	t := ts[0]
	total := t.Total()
	if runtime.GOOS == "linux" {
		// Linux counts guest time inside user and nice as well.
		total -= t.Guest + t.GuestNice
	}
	now := cpuSample{total: total, busy: total - t.Idle - t.Iowait}
	prev := c.base.cpu
	if prev == nil {
		c.base.cpu = &now
		return nil
	}
	dt := now.total - prev.total
	if dt <= 0 {
		return nil
	}
	c.base.cpu = &now
	p := (now.busy - prev.busy) / dt * 100
	return ptr(round(math.Min(math.Max(p, 0), 100), 2))
}

// readFileNr reads the open and maximum file handles of the host.
func readFileNr(path string) (open, maxFds float64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	f := bytes.Fields(b)
	if len(f) != 3 {
		return 0, 0, false
	}
	var v [3]float64
	for i := range f {
		n, err := strconv.ParseUint(string(f[i]), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		v[i] = float64(n)
	}
	// The second field ("free") is 0 on kernels since 2.6; subtracting
	// it keeps older ones right.
	return math.Max(v[0]-v[1], 0), v[2], true
}

// collectTCP counts the host's TCP connections (IPv4 and IPv6) by state.
func (c *Collector) collectTCP(ctx context.Context, m *structs.HostMetrics) {
	conns, err := gnet.ConnectionsWithoutUidsWithContext(ctx, "tcp")
	if err != nil {
		c.debug("tcp", err)
		return
	}
	var est, listen, tw, cw float64
	for _, conn := range conns {
		switch conn.Status {
		case "ESTABLISHED":
			est++
		case "LISTEN":
			listen++
		case "TIME_WAIT":
			tw++
		case "CLOSE_WAIT":
			cw++
		}
	}
	m.TCPEstablished, m.TCPListen, m.TCPTimeWait, m.TCPCloseWait = &est, &listen, &tw, &cw
	m.TCPTotal = ptr(float64(len(conns)))
}

// procInfo is a process as read, before it is ranked.
type procInfo struct {
	structs.ProcessInfo
	rss uint64
}

// topProcesses reads every process, counts them by state and ranks them by
// CPU and by memory. A process's CPU% is its CPU time since the previous
// reading over the time between the readings (100 = one CPU, as top(1)).
// A process born since the previous reading is measured over the same
// window, so every process of a list is ranked over one window. Only
// without any previous reading (or for a process that could not be read
// then) is a process's lifetime average used: the one figure available
// that is not made up.
func (c *Collector) topProcesses(ctx context.Context) *structs.TopProcesses {
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		c.debug("processes", err)
		return nil
	}
	now := time.Now()
	prev, prevAt := c.base.procs, c.base.procAt
	next := make(map[int32]procSample, len(pids))
	list := make([]procInfo, 0, len(pids))
	var stats structs.ProcessStats
	for _, pid := range pids {
		if ctx.Err() != nil {
			return nil
		}
		p := &process.Process{Pid: pid}
		created, err := p.CreateTimeWithContext(ctx)
		if err != nil {
			continue // gone since the listing
		}
		times, err := p.TimesWithContext(ctx)
		if err != nil {
			continue
		}
		threads, err := p.NumThreadsWithContext(ctx) // reads status: name and state too
		if err != nil {
			continue
		}
		name, _ := p.NameWithContext(ctx)
		status, _ := p.StatusWithContext(ctx)
		memInfo, err := p.MemoryInfoWithContext(ctx)
		if err != nil {
			continue
		}
		used := times.User + times.System
		next[pid] = procSample{cpu: used, created: created}
		before, seen := prev[pid]
		pct := procPercent(used, created, before, seen, prevAt, now)
		state := ""
		if len(status) > 0 {
			state = status[0]
		}
		switch state {
		case process.Running:
			stats.Running++
		case process.Sleep, process.Idle, process.Blocked:
			// As top(1): interruptible, idle kernel threads and
			// uninterruptible (D) all sleep.
			stats.Sleeping++
		case process.Stop:
			stats.Stopped++
		case process.Zombie:
			stats.Zombie++
		}
		stats.Total++
		if state == "" {
			state = "unknown"
		}
		list = append(list, procInfo{ProcessInfo: structs.ProcessInfo{PID: float64(pid), Name: name, State: state,
			CPUPercent: round(math.Max(pct, 0), 2), MemoryMb: round(float64(memInfo.RSS)/mb, 2),
			Threads: float64(threads)}, rss: memInfo.RSS})
	}
	c.base.procs, c.base.procAt = next, now
	n := c.cfg.TopProcesses
	byCPU := slices.Clone(list)
	slices.SortFunc(byCPU, func(a, b procInfo) int {
		return cmp.Or(cmp.Compare(b.CPUPercent, a.CPUPercent), cmp.Compare(b.rss, a.rss), cmp.Compare(a.PID, b.PID))
	})
	slices.SortFunc(list, func(a, b procInfo) int {
		return cmp.Or(cmp.Compare(b.rss, a.rss), cmp.Compare(b.CPUPercent, a.CPUPercent), cmp.Compare(a.PID, b.PID))
	})
	return &structs.TopProcesses{ByCPU: top(byCPU, n), ByMemory: top(list, n), Stats: stats}
}

// procPercent is the CPU% rule of topProcesses for a process that has
// used cpu seconds, was created at created (unix ms) and was read as before
// (if seen) at prevAt (zero: no previous reading).
func procPercent(used float64, created int64, before procSample, seen bool, prevAt, now time.Time) float64 {
	window := now.Sub(prevAt).Seconds()
	var pct float64
	switch {
	case prevAt.IsZero() || window <= 0:
		// No previous reading: lifetime average below.
	case seen && before.created == created:
		pct = (used - before.cpu) / window * 100
		return math.Max(pct, 0)
	case created >= prevAt.UnixMilli():
		return used / window * 100
	}
	if life := now.Sub(time.UnixMilli(created)).Seconds(); life > 0 {
		pct = used / life * 100
	}
	return math.Max(pct, 0)
}

// top is the first n of a ranked list, never nil (the spec requires both
// lists).
func top(list []procInfo, n int) []structs.ProcessInfo {
	out := make([]structs.ProcessInfo, 0, min(n, len(list)))
	for _, p := range list[:min(n, len(list))] {
		out = append(out, p.ProcessInfo)
	}
	return out
}

// round rounds v to d decimals: more digits than the readings have would
// only grow the payload.
func round(v float64, d int) float64 {
	p := math.Pow(10, float64(d))
	return math.Round(v*p) / p
}
