package metricsbench

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/nomadlike/nomadlike/agent/testcluster"
	"github.com/nomadlike/nomadlike/agent/testcluster/peers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testcluster.Cleanup()
	os.Exit(code)
}

// scrapeInterval is the interval of every collector: the Prometheus
// default and what fleets run.
const scrapeInterval = 15 * time.Second

// workload is what every collector is given.
type workload struct {
	targets, perTarget int
	intervals          int // measured scrape intervals
	syn                *peers.Synthetic
	sink               *peers.Sink
}

func (w *workload) series() int { return w.targets * w.perTarget }

func (w *workload) window() time.Duration { return time.Duration(w.intervals) * scrapeInterval }

// job is the scrape job, identical for every collector.
func (w *workload) job() peers.ScrapeConfig {
	return peers.ScrapeConfig{JobName: "synth", Targets: w.syn.Targets(), Interval: scrapeInterval, Timeout: 10 * time.Second}
}

// collector is a process under measurement.
type collector interface {
	PID() int
	Exited() bool
	LogTail(n int) string
}

// result is one collector's figures over the measured window.
type result struct {
	name    string
	series  int           // active series scraped (N*M)
	window  time.Duration // measured window
	cpu     time.Duration // CPU time in the window
	peakRSS uint64        // VmHWM at the end, bytes
	samples int64         // samples received by the sink in the window
	scrapes uint64        // scrapes of the targets in the window
	targets int
	sinkSer int // distinct series at the sink in the window
}

// cpuPer100kPerMin is CPU seconds per 100,000 active series per minute.
func (r result) cpuPer100kPerMin() float64 {
	return r.cpu.Seconds() / (float64(r.series) / 1e5) / (r.window.Minutes())
}

// rssPer100k is peak RSS in MiB per 100,000 active series.
func (r result) rssPer100k() float64 {
	return float64(r.peakRSS) / (1 << 20) / (float64(r.series) / 1e5)
}

func (r result) samplesPerSec() float64 { return float64(r.samples) / r.window.Seconds() }

// BenchmarkScrape runs Prometheus agent mode, vmagent and nomadlike in turn
// on the same targets and sink, and prints one table.
func BenchmarkScrape(b *testing.B) {
	w := &workload{
		targets:   peers.EnvInt(b, "METRICSBENCH_TARGETS", 100),
		intervals: peers.EnvInt(b, "METRICSBENCH_INTERVALS", 4),
	}
	series := peers.EnvInt(b, "METRICSBENCH_SERIES", 100000)
	if w.targets < 1 || series < w.targets || w.intervals < 1 {
		b.Fatalf("METRICSBENCH_SERIES=%d must be >= METRICSBENCH_TARGETS=%d >= 1, METRICSBENCH_INTERVALS=%d >= 1", series, w.targets, w.intervals)
	}
	w.perTarget = series / w.targets
	// The targets and the sink live in this process for every run.
	w.syn = peers.StartSynthetic(b, w.targets, w.perTarget)
	w.sink = peers.StartSink(b, peers.SinkOptions{})
	// Binaries first, so a missing package fails before any run.
	peers.RequireBinary(b, "prometheus", "prometheus")
	peers.RequireBinary(b, "vmagent", "victoria-metrics")

	fmt.Printf("metricsbench: %d targets x %d series = %d active series, scrape every %s, %s warm-up (2 rounds), %s measured\n",
		w.targets, w.perTarget, w.series(), scrapeInterval, 2*scrapeInterval, w.window())

	var results []result
	run := func(name string, start func(b *testing.B) collector) {
		b.Run(name, func(b *testing.B) {
			r := measure(b, w, name, start)
			results = append(results, r)
			b.ReportMetric(r.cpuPer100kPerMin(), "cpu-s/100k-series/min")
			b.ReportMetric(r.rssPer100k(), "peak-rss-MiB/100k-series")
			b.ReportMetric(r.samplesPerSec(), "samples/s")
		})
	}
	run("prometheus-agent", func(b *testing.B) collector {
		return peers.StartPrometheus(b, peers.PrometheusOptions{
			Agent:          true,
			ScrapeInterval: scrapeInterval,
			Scrape:         []peers.ScrapeConfig{w.job()},
			RemoteWrite:    []peers.RemoteWrite{{URL: w.sink.URL()}},
		})
	})
	run("vmagent", func(b *testing.B) collector {
		return peers.StartVMAgent(b, peers.VMAgentOptions{
			ScrapeInterval: scrapeInterval,
			Scrape:         []peers.ScrapeConfig{w.job()},
			RemoteWriteURL: w.sink.URL(),
		})
	})
	run("nomadlike", func(b *testing.B) collector { return startNomadlike(b, w) })

	printTable(os.Stdout, results)
}

// startNomadlike starts a one-server cluster and a client agent whose
// local metrics instance has the same scrape and remote_write config; only
// the client process is measured (the server is the fleet's, not the
// host's, cost).
func startNomadlike(b *testing.B, w *workload) collector {
	instance := peers.ScrapeRemoteWriteYAML([]peers.ScrapeConfig{w.job()}, []peers.RemoteWrite{{URL: w.sink.URL()}})
	hcl := fmt.Sprintf(`client {
  enabled = true
  metrics {
    scrape_interval = %q
    instance "bench" {
      config = <<EOT
%sEOT
    }
  }
}
`, scrapeInterval, instance)
	c := testcluster.New(b, testcluster.Options{Servers: 1})
	cfg := testcluster.WriteConfig(b, c.Dir, "metrics.hcl", hcl)
	cl := c.AddClient("bench-client", nil, "-config", cfg)
	return cl
}

// measure starts a collector, waits for 2 scrape rounds of every target
// and for data at the sink, then measures CPU, peak RSS and delivered
// samples over the window, and stops it.
func measure(b *testing.B, w *workload, name string, start func(*testing.B) collector) result {
	w.syn.ResetScrapes()
	w.sink.Reset()
	c := start(b)
	if s, ok := c.(interface{ Stop() }); ok {
		defer s.Stop()
	}
	// Warm-up: every target scraped twice (the first round is spread over
	// one interval) and remote_write flowing.
	deadline := time.Now().Add(3*scrapeInterval + time.Minute)
	for w.syn.MinScrapes() < 2 || w.sink.Stats().Samples == 0 {
		if c.Exited() {
			b.Fatalf("%s exited during warm-up; log:\n%s", name, c.LogTail(60))
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: warm-up not done by its deadline: least-scraped target %d scrapes (want 2), %d samples at the sink; log:\n%s",
				name, w.syn.MinScrapes(), w.sink.Stats().Samples, c.LogTail(60))
		}
		time.Sleep(100 * time.Millisecond)
	}

	pid := c.PID()
	before, err := peers.ReadProcStat(pid)
	if err != nil {
		b.Fatal(err)
	}
	scrapes0 := sum(w.syn.Scrapes())
	w.sink.Reset()
	t0 := time.Now()
	// The window is a measurement, not a synchronisation: it is timed.
	for remaining := w.window(); remaining > 0; remaining = w.window() - time.Since(t0) {
		if c.Exited() {
			b.Fatalf("%s exited during the measured window; log:\n%s", name, c.LogTail(60))
		}
		time.Sleep(min(remaining, time.Second))
	}
	after, err := peers.ReadProcStat(pid)
	elapsed := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	st := w.sink.Stats()
	r := result{
		name: name, series: w.series(), window: elapsed, cpu: after.CPU - before.CPU,
		peakRSS: after.HWM, samples: st.Samples, scrapes: sum(w.syn.Scrapes()) - scrapes0,
		targets: w.targets, sinkSer: st.Series,
	}
	fmt.Printf("metricsbench %s: CPU %.2fs in %s, peak RSS %.1f MiB (now %.1f), %d samples (%d series, %d requests, %d rejected) at the sink, %d scrapes (want ~%d)\n",
		name, r.cpu.Seconds(), elapsed.Round(time.Millisecond), float64(after.HWM)/(1<<20), float64(after.RSS)/(1<<20),
		st.Samples, st.Series, st.Requests, st.Rejected, r.scrapes, w.targets*w.intervals)
	return r
}

// printTable prints the results and their ratios to nomadlike's.
func printTable(out io.Writer, results []result) {
	var base *result
	for i := range results {
		if results[i].name == "nomadlike" {
			base = &results[i]
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "collector\tactive series\tCPU s /100k series /min\tpeak RSS MiB /100k series\tsamples/s delivered\tseries at sink\tscrapes\tCPU x nomadlike\tRSS x nomadlike\tsamples/s x nomadlike\t")
	for _, r := range results {
		ratios := "n/a\tn/a\tn/a"
		if base != nil {
			ratios = fmt.Sprintf("%s\t%s\t%s", ratio(r.cpuPer100kPerMin(), base.cpuPer100kPerMin()),
				ratio(r.rssPer100k(), base.rssPer100k()), ratio(r.samplesPerSec(), base.samplesPerSec()))
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.1f\t%.0f\t%d\t%d\t%s\t\n", r.name, r.series, r.cpuPer100kPerMin(), r.rssPer100k(),
			r.samplesPerSec(), r.sinkSer, r.scrapes, ratios)
	}
	tw.Flush()
	if base == nil {
		fmt.Fprintln(out, "(no nomadlike row: its run failed, so there are no ratios to it)")
	}
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func sum(xs []uint64) uint64 {
	var s uint64
	for _, x := range xs {
		s += x
	}
	return s
}

// TestPrintTable checks the per-100k and per-minute arithmetic and the
// ratios on made-up figures.
func TestPrintTable(t *testing.T) {
	rs := []result{
		{name: "prometheus-agent", series: 200000, window: 2 * time.Minute, cpu: 8 * time.Second, peakRSS: 400 << 20, samples: 1200, scrapes: 8, sinkSer: 10},
		{name: "nomadlike", series: 200000, window: 2 * time.Minute, cpu: 4 * time.Second, peakRSS: 200 << 20, samples: 600},
	}
	if got := rs[0].cpuPer100kPerMin(); got != 2 {
		t.Fatalf("cpu per 100k per min %v, want 2", got)
	}
	if got := rs[0].rssPer100k(); got != 200 {
		t.Fatalf("rss per 100k %v, want 200", got)
	}
	if got := rs[0].samplesPerSec(); got != 10 {
		t.Fatalf("samples/s %v, want 10", got)
	}
	var sb strings.Builder
	printTable(&sb, rs)
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", sb.String())
	}
	if f := strings.Fields(lines[1]); strings.Join(f[len(f)-3:], " ") != "2.00 2.00 2.00" {
		t.Fatalf("ratios in %q", lines[1])
	}
	if f := strings.Fields(lines[2]); strings.Join(f[len(f)-3:], " ") != "1.00 1.00 1.00" {
		t.Fatalf("nomadlike's own ratios in %q", lines[2])
	}
	sb.Reset()
	printTable(&sb, rs[:1])
	if !strings.Contains(sb.String(), "n/a") || !strings.Contains(sb.String(), "no nomadlike row") {
		t.Fatalf("table without nomadlike:\n%s", sb.String())
	}
}
