package hostmetrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/structs"
)

// NodeLabels identify the node a payload came from; every series carries
// them as node_id, node and datacenter.
type NodeLabels struct{ NodeID, Node, Datacenter string }

// MaxLabelValueBytes bounds a label value taken from a payload (a URL, an
// image, a certificate subject); a longer one is cut at a rune boundary.
// Values are part of every series' identity and of every index entry, and
// 256 bytes keeps all real names whole.
const MaxLabelValueBytes = 256

// Metric names, the reference table of DESIGN.md ("## Series").
const (
	MetricHostCPUUsageRatio         = "nomadlike_host_cpu_usage_ratio"
	MetricHostMemoryUsedBytes       = "nomadlike_host_memory_used_bytes"
	MetricHostMemoryTotalBytes      = "nomadlike_host_memory_total_bytes"
	MetricHostSwapUsedBytes         = "nomadlike_host_swap_used_bytes"
	MetricHostSwapTotalBytes        = "nomadlike_host_swap_total_bytes"
	MetricHostDiskUsedBytes         = "nomadlike_host_disk_used_bytes"
	MetricHostDiskTotalBytes        = "nomadlike_host_disk_total_bytes"
	MetricHostLoad1                 = "nomadlike_host_load1"
	MetricHostLoad5                 = "nomadlike_host_load5"
	MetricHostLoad15                = "nomadlike_host_load15"
	MetricHostUptimeSeconds         = "nomadlike_host_uptime_seconds"
	MetricHostOpenFDs               = "nomadlike_host_open_fds"
	MetricHostMaxFDs                = "nomadlike_host_max_fds"
	MetricHostTCPConnections        = "nomadlike_host_tcp_connections"
	MetricHostTCPConnectionsAll     = "nomadlike_host_tcp_connections_all"
	MetricHostServerHealthy         = "nomadlike_host_server_healthy"
	MetricAgentInfo                 = "nomadlike_agent_info"
	MetricHostLastPushTimestamp     = "nomadlike_host_last_push_timestamp_seconds"
	MetricContainerCPUUsageRatio    = "nomadlike_container_cpu_usage_ratio"
	MetricContainerMemoryUsedBytes  = "nomadlike_container_memory_used_bytes"
	MetricContainerMemoryLimitBytes = "nomadlike_container_memory_limit_bytes"
	MetricContainerNetworkReceive   = "nomadlike_container_network_receive_bytes_total"
	MetricContainerNetworkTransmit  = "nomadlike_container_network_transmit_bytes_total"
	MetricContainerBlockRead        = "nomadlike_container_block_read_bytes_total"
	MetricContainerBlockWrite       = "nomadlike_container_block_write_bytes_total"
	MetricContainerRestarts         = "nomadlike_container_restarts_total"
	MetricContainerState            = "nomadlike_container_state"
	MetricContainerInfo             = "nomadlike_container_info"
	MetricContainerCreatedTimestamp = "nomadlike_container_created_timestamp_seconds"
	MetricCheckHTTPSuccess          = "nomadlike_check_http_success"
	MetricCheckHTTPStatusCode       = "nomadlike_check_http_status_code"
	MetricCheckHTTPDurationSeconds  = "nomadlike_check_http_duration_seconds"
	MetricCheckHTTPCheckedTimestamp = "nomadlike_check_http_checked_timestamp_seconds"
	MetricCheckTCPSuccess           = "nomadlike_check_tcp_success"
	MetricCheckTCPDurationSeconds   = "nomadlike_check_tcp_duration_seconds"
	MetricCheckTLSSuccess           = "nomadlike_check_tls_success"
	MetricCheckTLSDurationSeconds   = "nomadlike_check_tls_duration_seconds"
	MetricCertExpiryTimestamp       = "nomadlike_cert_expiry_timestamp_seconds"
	MetricCertDaysUntilExpiry       = "nomadlike_cert_days_until_expiry"
	MetricCertInfo                  = "nomadlike_cert_info"
	MetricProcessCPUUsageRatio      = "nomadlike_process_cpu_usage_ratio"
	MetricProcessMemoryBytes        = "nomadlike_process_memory_bytes"
	MetricProcessThreads            = "nomadlike_process_threads"
	MetricHostProcesses             = "nomadlike_host_processes"
	MetricHostProcessesAll          = "nomadlike_host_processes_all"
)

const (
	mib = 1 << 20 // the spec's "Mb"
	gib = 1 << 30 // the spec's "Gb"
)

// AppendPayload appends every sample of p, all at timestamp t (ms), to app
// and returns how many it appended. A series the payload names twice (two
// services with one containerName) is appended once, with the last value.
//
// A sample the storage refuses on its own (out of order, too old, a
// different value at the same timestamp: a payload pushed again) does not
// stop the others; the first such error is returned, wrapped, after the
// rest are appended, and the appender is still fit to Commit. Any other
// error stops at once and the caller should Rollback.
func AppendPayload(app storage.Appender, nl NodeLabels, p *structs.HostMetrics, t int64) (int, error) {
	n, _, err := AppendPayloadAfter(app, nl, p, t, nil, false)
	return n, err
}

// Written is what one payload of a node wrote: each series' key (the hash
// of its labels) and reference in the storage, in the order the payload
// added them. Sixteen bytes a series, so a server keeps it for every node.
// A node's payloads have one shape from push to push, so the next
// payload's n-th series is nearly always this one's n-th: found by
// position, it costs no map operation (four per sample before: the
// duplicate check, the lookup, the new map's insert, the stale check).
type Written []WrittenSeries

// WrittenSeries is one series of Written.
type WrittenSeries struct {
	Key uint64
	Ref storage.SeriesRef
}

// AppendPayloadAfter appends p as AppendPayload does, given prev, what
// the node's previous payload wrote. Its references spare the storage the
// lookup of each series by its labels (the largest cost of an append, as
// for a scrape, whose cache this is). With markStale it then marks stale,
// at t, every series of prev that p no longer has: a container gone, a
// state or an issuer that changed, a process out of the top list.
// Prometheus' scrape does the same for a target's vanished series;
// without it PromQL would show the old series for its lookback (5
// minutes) beside the new one. The caller must ask for markStale only
// when t is after prev's time: a stale marker in the middle of a series'
// history would cut it. It returns what p wrote, to pass as prev with the
// node's next payload.
func AppendPayloadAfter(app storage.Appender, nl NodeLabels, p *structs.HostMetrics, t int64, prev Written, markStale bool) (int, Written, error) {
	w := writers.Get().(*seriesWriter)
	defer w.release()
	w.nodeID, w.node, w.datacenter = labelValue(nl.NodeID), labelValue(nl.Node), labelValue(nl.Datacenter)
	w.prev, w.inOrder = prev, true
	w.host(p, t)
	for i := range p.Services {
		w.service(&p.Services[i])
	}
	for i := range p.Containers {
		c := &p.Containers[i]
		w.add(MetricContainerInfo, 1, "container", c.Name, "image", c.Image, "state", c.State)
		w.add(MetricContainerCreatedTimestamp, c.Created, "container", c.Name)
	}
	for i := range p.ServiceHealthChecks {
		w.httpCheck(&p.ServiceHealthChecks[i])
	}
	for i := range p.TCPCheckResults {
		c := &p.TCPCheckResults[i]
		port := strconv.FormatFloat(c.Port, 'f', -1, 64)
		kv := [...]string{"container", c.ContainerName, "check", checkName(deref(c.Name), c.Host, port), "host", c.Host, "port", port}
		w.add(MetricCheckTCPSuccess, boolValue(c.Success), kv[:]...)
		w.add(MetricCheckTCPDurationSeconds, c.DurationMs/1e3, kv[:]...)
	}
	for i := range p.CertCheckResults {
		w.certCheck(&p.CertCheckResults[i])
	}
	if p.TopProcesses != nil {
		w.processes(p.TopProcesses)
	}

	n := 0
	var refused error
	written := make(Written, len(w.out))
	for i := range w.out {
		s := &w.out[i]
		h := s.h
		ref, err := app.Append(s.ref, s.ls, t, s.v)
		if err != nil && s.ls.IsEmpty() && !sampleRefused(err) {
			// The cached series is gone from the head (it went idle
			// and was collected): find or create it by its labels.
			s.ls = w.labels(s.name, w.kvs[s.kv0:s.kv1])
			ref, err = app.Append(0, s.ls, t, s.v)
		}
		if err != nil {
			if !sampleRefused(err) {
				return n, nil, fmt.Errorf("appending %s: %w", s.name, err)
			}
			if refused == nil {
				refused = fmt.Errorf("appending %s%v: %w", s.name, w.kvs[s.kv0:s.kv1], err)
			}
			written[i] = WrittenSeries{h, s.ref} // still the node's series: no stale marker
			continue
		}
		written[i] = WrittenSeries{h, ref}
		n++
	}
	if markStale {
		stale := math.Float64frombits(value.StaleNaN)
		// In order, the series after this payload's last are the gone
		// ones; otherwise seen has every series of this payload.
		gone := prev[min(len(prev), len(w.out)):]
		if !w.inOrder {
			gone = prev
		}
		for _, ps := range gone {
			if _, ok := w.seen[ps.Key]; !ok && ps.Ref != 0 {
				// A series the head has since dropped has no ref any
				// more; it needs no marker then, and the error says so.
				app.Append(ps.Ref, labels.EmptyLabels(), t, stale)
			}
		}
	}
	if refused != nil {
		return n, written, fmt.Errorf("%d of %d samples refused, the first: %w", len(w.out)-n, len(w.out), refused)
	}
	return n, written, nil
}

// sampleRefused tells the errors about one sample, after which the
// appender goes on, from those about the appender.
func sampleRefused(err error) bool {
	return errors.Is(err, storage.ErrOutOfOrderSample) || errors.Is(err, storage.ErrOutOfBounds) ||
		errors.Is(err, storage.ErrTooOldSample) || errors.Is(err, storage.ErrDuplicateSampleForTimestamp)
}

// sample is one sample of a payload: its series is ref, the node's
// previous payload's (ls empty), or else ls.
type sample struct {
	name string
	// kv0:kv1 are the sample's label pairs in seriesWriter.kvs.
	kv0, kv1 int
	ls       labels.Labels
	ref      storage.SeriesRef
	h        uint64 // the series' key (seriesWriter.key)
	v        float64
}

// seriesWriter gathers a payload's samples with their labels, deduplicated,
// before any reaches the appender.
type seriesWriter struct {
	nodeID, node, datacenter string

	b labels.ScratchBuilder
	d *xxhash.Digest
	// prev is what the node's previous payload wrote: a series found
	// there needs neither its labels built nor a lookup by them.
	prev Written
	// inOrder holds while every series so far is prev's at the same
	// position: none can then repeat an earlier one (prev's keys are
	// unique), and seen and prevAt are left unbuilt.
	inOrder bool
	seen    map[uint64]int // series key → index in out, once !inOrder
	prevAt  map[uint64]int // prev's key → index in prev, once !inOrder
	out     []sample
	kvs     []string // every sample's label pairs, one after another
}

// writers are reused: a realistic payload's ~330 samples, their index
// and scratch space are most of what an ingest would allocate otherwise.
var writers = sync.Pool{New: func() any {
	return &seriesWriter{b: labels.NewScratchBuilder(8), d: xxhash.New(),
		seen: make(map[uint64]int, 512), prevAt: make(map[uint64]int, 512),
		out: make([]sample, 0, 512), kvs: make([]string, 0, 2048)}
}}

// release empties w (dropping its references into the payload) and
// returns it to the pool; a writer grown by an outsized payload is left
// to the garbage collector.
func (w *seriesWriter) release() {
	if cap(w.out) > 4096 || cap(w.kvs) > 16384 {
		return
	}
	clear(w.out)
	w.out = w.out[:0]
	clear(w.kvs)
	w.kvs = w.kvs[:0]
	clear(w.seen)
	clear(w.prevAt)
	w.prev = nil
	writers.Put(w)
}

// add records one sample; kv are label name/value pairs. An empty value is
// left out, as Prometheus treats it as no label.
func (w *seriesWriter) add(name string, v float64, kv ...string) {
	h := w.key(name, kv)
	i := len(w.out)
	var ref storage.SeriesRef
	if w.inOrder && i < len(w.prev) && w.prev[i].Key == h {
		ref = w.prev[i].Ref
	} else {
		if w.inOrder {
			w.index()
		}
		if j, ok := w.seen[h]; ok {
			w.out[j].v = v
			return
		}
		w.seen[h] = i
		if j, ok := w.prevAt[h]; ok {
			ref = w.prev[j].Ref
		}
	}
	s := sample{name: name, kv0: len(w.kvs), h: h, v: v, ref: ref}
	w.kvs = append(w.kvs, kv...) // a copy: kv itself stays on the caller's stack
	s.kv1 = len(w.kvs)
	if s.ref == 0 {
		s.ls = w.labels(name, kv)
	}
	w.out = append(w.out, s)
}

// index leaves the in-order path: it builds seen from the series so far
// and prevAt from prev.
func (w *seriesWriter) index() {
	if !w.inOrder {
		return
	}
	w.inOrder = false
	for i := range w.out {
		w.seen[w.out[i].h] = i
	}
	for i, ps := range w.prev {
		w.prevAt[ps.Key] = i
	}
}

// key identifies a series of the node: a hash of its name and label pairs
// as given (every metric is added from one place, so its pairs always come
// in one order). A collision inside one node's ~330 series has odds of
// about 1 in 10^14 per payload; it would merge two series' samples.
func (w *seriesWriter) key(name string, kv []string) uint64 {
	w.d.Reset()
	w.d.WriteString(name)
	for i := 0; i+1 < len(kv); i += 2 {
		w.d.WriteString("\xff")
		w.d.WriteString(kv[i])
		w.d.WriteString("\xff")
		w.d.WriteString(labelValue(kv[i+1]))
	}
	return w.d.Sum64()
}

// labels builds a series' labels: the name, the node's labels and kv.
func (w *seriesWriter) labels(name string, kv []string) labels.Labels {
	w.b.Reset()
	w.b.Add(labels.MetricName, name)
	if w.nodeID != "" {
		w.b.Add("node_id", w.nodeID)
	}
	if w.node != "" {
		w.b.Add("node", w.node)
	}
	if w.datacenter != "" {
		w.b.Add("datacenter", w.datacenter)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if val := labelValue(kv[i+1]); val != "" {
			w.b.Add(kv[i], val)
		}
	}
	w.b.Sort()
	return w.b.Labels()
}

// addOpt records a sample of an optional figure, scaled to base units.
func (w *seriesWriter) addOpt(name string, v *float64, scale float64, kv ...string) {
	if v != nil {
		w.add(name, *v*scale, kv...)
	}
}

func (w *seriesWriter) host(p *structs.HostMetrics, t int64) {
	w.addOpt(MetricHostCPUUsageRatio, p.CPUPercent, 0.01)
	w.addOpt(MetricHostMemoryUsedBytes, p.MemoryUsedMb, mib)
	w.addOpt(MetricHostMemoryTotalBytes, p.MemoryTotalMb, mib)
	w.addOpt(MetricHostSwapUsedBytes, p.SwapUsedMb, mib)
	w.addOpt(MetricHostSwapTotalBytes, p.SwapTotalMb, mib)
	w.addOpt(MetricHostDiskUsedBytes, p.DiskUsedGb, gib)
	w.addOpt(MetricHostDiskTotalBytes, p.DiskTotalGb, gib)
	w.addOpt(MetricHostLoad1, p.LoadAvg1, 1)
	w.addOpt(MetricHostLoad5, p.LoadAvg5, 1)
	w.addOpt(MetricHostLoad15, p.LoadAvg15, 1)
	w.addOpt(MetricHostUptimeSeconds, p.Uptime, 1)
	w.addOpt(MetricHostOpenFDs, p.OpenFds, 1)
	w.addOpt(MetricHostMaxFDs, p.MaxFds, 1)
	w.addOpt(MetricHostTCPConnections, p.TCPEstablished, 1, "state", "established")
	w.addOpt(MetricHostTCPConnections, p.TCPListen, 1, "state", "listen")
	w.addOpt(MetricHostTCPConnections, p.TCPTimeWait, 1, "state", "time_wait")
	w.addOpt(MetricHostTCPConnections, p.TCPCloseWait, 1, "state", "close_wait")
	w.addOpt(MetricHostTCPConnectionsAll, p.TCPTotal, 1)
	if p.ServerHealthy != nil {
		w.add(MetricHostServerHealthy, boolValue(*p.ServerHealthy))
	}
	if p.AgentVersion != nil {
		w.add(MetricAgentInfo, 1, "version", *p.AgentVersion)
	}
	w.add(MetricHostLastPushTimestamp, float64(t)/1e3)
}

func (w *seriesWriter) service(s *structs.ServiceMetrics) {
	c := s.ContainerName
	w.addOpt(MetricContainerCPUUsageRatio, s.CPUPercent, 0.01, "container", c)
	w.addOpt(MetricContainerMemoryUsedBytes, s.MemoryUsedMb, mib, "container", c)
	w.addOpt(MetricContainerMemoryLimitBytes, s.MemoryLimitMb, mib, "container", c)
	w.addOpt(MetricContainerNetworkReceive, s.NetworkRxMb, mib, "container", c)
	w.addOpt(MetricContainerNetworkTransmit, s.NetworkTxMb, mib, "container", c)
	w.addOpt(MetricContainerBlockRead, s.BlockReadMb, mib, "container", c)
	w.addOpt(MetricContainerBlockWrite, s.BlockWriteMb, mib, "container", c)
	w.addOpt(MetricContainerRestarts, s.RestartCount, 1, "container", c)
	if s.State != nil || s.Health != nil {
		w.add(MetricContainerState, 1, "container", c, "state", deref(s.State), "health", deref(s.Health))
	}
}

func (w *seriesWriter) httpCheck(c *structs.ServiceHealthCheck) {
	kv := [...]string{"container", c.ContainerName, "url", c.HealthCheckURL}
	w.add(MetricCheckHTTPSuccess, boolValue(c.Success), kv[:]...)
	w.addOpt(MetricCheckHTTPStatusCode, c.StatusCode, 1, kv[:]...)
	w.addOpt(MetricCheckHTTPDurationSeconds, c.DurationMs, 1e-3, kv[:]...)
	if c.CheckedAt != nil {
		if ts, err := time.Parse(time.RFC3339Nano, *c.CheckedAt); err == nil {
			w.add(MetricCheckHTTPCheckedTimestamp, unixSeconds(ts), kv[:]...)
		}
	}
}

func (w *seriesWriter) certCheck(c *structs.CertCheckResult) {
	port := strconv.FormatFloat(c.Port, 'f', -1, 64)
	name := deref(c.Name)
	kv := [...]string{"container", c.ContainerName, "check", checkName(name, c.Host, port), "host", c.Host, "port", port}
	w.add(MetricCheckTLSSuccess, boolValue(c.Success), kv[:]...)
	w.add(MetricCheckTLSDurationSeconds, c.DurationMs/1e3, kv[:]...)
	if c.ExpiresAt != nil {
		if ts, err := time.Parse(time.RFC3339Nano, *c.ExpiresAt); err == nil {
			w.add(MetricCertExpiryTimestamp, unixSeconds(ts), kv[:]...)
		}
	}
	w.addOpt(MetricCertDaysUntilExpiry, c.DaysUntilExpiry, 1, kv[:]...)
	if c.Issuer != nil || c.Subject != nil {
		w.add(MetricCertInfo, 1, append(kv[:], "issuer", deref(c.Issuer), "subject", deref(c.Subject))...)
	}
}

// processes sums the top lists by process name: a PID is no label (every
// restart would be a new series), and several workers of one program are
// one figure. A process in both lists counts once.
func (w *seriesWriter) processes(tp *structs.TopProcesses) {
	type agg struct {
		name                 string
		cpu, memory, threads float64
	}
	var byName []agg
	index := make(map[string]int, len(tp.ByCPU))
	pids := make(map[float64]struct{}, len(tp.ByCPU)+len(tp.ByMemory))
	for _, list := range [2][]structs.ProcessInfo{tp.ByCPU, tp.ByMemory} {
		for i := range list {
			pr := &list[i]
			if _, dup := pids[pr.PID]; dup {
				continue
			}
			pids[pr.PID] = struct{}{}
			j, ok := index[pr.Name]
			if !ok {
				j = len(byName)
				index[pr.Name] = j
				byName = append(byName, agg{name: pr.Name})
			}
			byName[j].cpu += pr.CPUPercent
			byName[j].memory += pr.MemoryMb
			byName[j].threads += pr.Threads
		}
	}
	for _, a := range byName {
		w.add(MetricProcessCPUUsageRatio, a.cpu*0.01, "process", a.name)
		w.add(MetricProcessMemoryBytes, a.memory*mib, "process", a.name)
		w.add(MetricProcessThreads, a.threads, "process", a.name)
	}
	st := &tp.Stats
	w.add(MetricHostProcesses, st.Running, "state", "running")
	w.add(MetricHostProcesses, st.Sleeping, "state", "sleeping")
	w.add(MetricHostProcesses, st.Stopped, "state", "stopped")
	w.add(MetricHostProcesses, st.Zombie, "state", "zombie")
	w.add(MetricHostProcessesAll, st.Total)
}

// checkName is a TCP or TLS check's check label: its name, or host:port
// when it has none.
func checkName(name, host, port string) string {
	if name != "" {
		return name
	}
	return net.JoinHostPort(host, port)
}

// labelValue makes a payload string fit to be a label value: valid UTF-8,
// at most MaxLabelValueBytes.
func labelValue(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= MaxLabelValueBytes {
		return s
	}
	cut := MaxLabelValueBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func unixSeconds(ts time.Time) float64 {
	return float64(ts.Unix()) + float64(ts.Nanosecond())/1e9
}

// RealisticPayload is a payload the size and shape of a busy host's (20
// containers and services, 10 processes per top list, 5 checks of each
// kind; about 20 KB), the same for the same seed. Benchmarks and end-to-end
// tests push it.
func RealisticPayload(seed int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), 0x6e6f6d61646c696b))
	f := func(lo, hi float64) *float64 {
		v := lo + r.Float64()*(hi-lo)
		v = float64(int64(v*100)) / 100
		return &v
	}
	n := func(lo, hi int) *float64 {
		v := float64(lo + r.IntN(hi-lo+1))
		return &v
	}
	str := func(s string) *string { return &s }
	yes := true
	now := time.Date(2026, 4, 15, 12, 0, 0, 0, time.UTC).Add(time.Duration(seed) * 10 * time.Second)
	p := &structs.HostMetrics{
		CPUPercent: f(0, 100), MemoryUsedMb: f(2000, 30000), MemoryTotalMb: n(32768, 32768),
		SwapUsedMb: f(0, 512), SwapTotalMb: n(4096, 4096), DiskUsedGb: f(50, 400), DiskTotalGb: n(512, 512),
		LoadAvg1: f(0, 8), LoadAvg5: f(0, 8), LoadAvg15: f(0, 8), Uptime: n(1000, 9000000),
		OpenFds: n(1000, 20000), MaxFds: n(1048576, 1048576),
		TCPEstablished: n(10, 900), TCPListen: n(5, 40), TCPTimeWait: n(0, 300), TCPCloseWait: n(0, 10),
		TCPTotal: n(100, 1300), ServerHealthy: &yes, AgentVersion: str("1.4.2"),
		CollectedAt: str(now.Format(time.RFC3339)),
	}
	images := []string{"nginx:1.27-alpine", "postgres:17", "redis:7.4", "grafana/grafana:11.3.0", "ghcr.io/acme/api:2026.04.1"}
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("acme-%s-%d", []string{"web", "api", "worker", "db", "cache"}[i%5], i)
		img := images[i%len(images)]
		p.Services = append(p.Services, structs.ServiceMetrics{
			ContainerName: name, CPUPercent: f(0, 250), MemoryUsedMb: f(20, 4000), MemoryLimitMb: n(4096, 4096),
			NetworkRxMb: f(0, 90000), NetworkTxMb: f(0, 90000), BlockReadMb: f(0, 5000), BlockWriteMb: f(0, 5000),
			RestartCount: n(0, 3), State: str("running"), Health: str([]string{"healthy", "none", "starting"}[r.IntN(3)]),
		})
		created := float64(now.Unix() - int64(r.IntN(90*86400)))
		p.Containers = append(p.Containers, structs.ContainerInfo{
			ID:      fmt.Sprintf("%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()),
			Name:    name,
			Image:   img,
			ImageID: fmt.Sprintf("sha256:%016x%016x%016x%016x", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()),
			State:   "running", Status: fmt.Sprintf("Up %d hours (healthy)", 1+r.IntN(900)), Created: created,
			Ports: []structs.ContainerPort{
				{PrivatePort: float64(8000 + i), PublicPort: n(30000, 32000), Type: "tcp", IP: str("0.0.0.0")},
				{PrivatePort: 9100, Type: "tcp"},
			},
			Labels: map[string]string{
				"com.docker.compose.project": "acme",
				"com.docker.compose.service": name,
				"com.docker.compose.version": "2.29.7",
			},
			Mounts: []structs.ContainerMount{
				{Source: "/srv/acme/" + name + "/data", Destination: "/data", Mode: "rw", Type: "bind"},
			},
			NetworkMode: str("acme_default"),
		})
	}
	checked := str(now.Add(-2 * time.Second).Format(time.RFC3339))
	for i := 0; i < 5; i++ {
		name := p.Services[i].ContainerName
		p.ServiceHealthChecks = append(p.ServiceHealthChecks, structs.ServiceHealthCheck{
			ContainerName: name, HealthCheckURL: fmt.Sprintf("http://%s:%d/health", name, 8000+i),
			Success: i != 3, StatusCode: n(200, 200), DurationMs: f(1, 300), CheckedAt: checked,
		})
		p.TCPCheckResults = append(p.TCPCheckResults, structs.TCPCheckResult{
			ContainerName: name, Host: name, Port: float64(5432 + i), Name: str(name + "-tcp"),
			Success: true, DurationMs: *f(0.1, 20),
		})
		expires := now.Add(time.Duration(5+i*20) * 24 * time.Hour)
		p.CertCheckResults = append(p.CertCheckResults, structs.CertCheckResult{
			ContainerName: name, Host: fmt.Sprintf("%s.acme.example", name), Port: 443, Success: true,
			DurationMs: *f(10, 200), ExpiresAt: str(expires.Format(time.RFC3339)),
			DaysUntilExpiry: n(5+i*20, 5+i*20), Issuer: str("CN=R11,O=Let's Encrypt,C=US"),
			Subject: str(fmt.Sprintf("CN=%s.acme.example", name)),
		})
	}
	procs := []string{"postgres", "nginx", "node", "java", "redis-server", "dockerd", "containerd", "python3", "grafana", "nomadlike"}
	tp := &structs.TopProcesses{Stats: structs.ProcessStats{Total: 412, Running: 3, Sleeping: 405, Stopped: 0, Zombie: 4}}
	for i := 0; i < 10; i++ {
		tp.ByCPU = append(tp.ByCPU, structs.ProcessInfo{
			PID: float64(1000 + i*37), Name: procs[i], State: "R", CPUPercent: *f(1, 180), MemoryMb: *f(10, 2000), Threads: *n(1, 64),
		})
		tp.ByMemory = append(tp.ByMemory, structs.ProcessInfo{
			PID: float64(1000 + i*53), Name: procs[(i+3)%len(procs)], State: "S", CPUPercent: *f(0, 40), MemoryMb: *f(100, 8000), Threads: *n(1, 200),
		})
	}
	p.TopProcesses = tp
	b, _ := json.Marshal(p) // plain structs: no error is possible
	return b
}
