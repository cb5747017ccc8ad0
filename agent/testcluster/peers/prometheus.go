package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
	"go.yaml.in/yaml/v2"
)

// ScrapeConfig is one scrape job with static targets.
type ScrapeConfig struct {
	JobName string
	Targets []string
	// Interval and Timeout are the job's scrape_interval and
	// scrape_timeout (zero: the global ones).
	Interval, Timeout time.Duration
	// MetricsPath defaults to /metrics.
	MetricsPath string
	// Labels are added to every target's series.
	Labels map[string]string
}

// RemoteWrite is one remote_write endpoint.
type RemoteWrite struct {
	URL string
	// Queue is the queue_config map as Prometheus reads it (nil: the
	// sender's defaults), e.g. {"batch_send_deadline": "1s"}.
	Queue map[string]any
}

// ScrapeRemoteWriteYAML renders the scrape_configs and remote_write
// sections of a Prometheus config file: what a Prometheus, a Grafana
// Agent instance and a nomadlike metrics instance all read.
func ScrapeRemoteWriteYAML(scrape []ScrapeConfig, rw []RemoteWrite) string {
	return mustYAML(scrapeRemoteWrite(scrape, rw))
}

func scrapeRemoteWrite(scrape []ScrapeConfig, rw []RemoteWrite) yaml.MapSlice {
	var out yaml.MapSlice
	if len(scrape) > 0 {
		var jobs []yaml.MapSlice
		for _, s := range scrape {
			job := yaml.MapSlice{{Key: "job_name", Value: s.JobName}}
			if s.Interval > 0 {
				job = append(job, yaml.MapItem{Key: "scrape_interval", Value: s.Interval.String()})
			}
			if s.Timeout > 0 {
				job = append(job, yaml.MapItem{Key: "scrape_timeout", Value: s.Timeout.String()})
			}
			if s.MetricsPath != "" {
				job = append(job, yaml.MapItem{Key: "metrics_path", Value: s.MetricsPath})
			}
			static := yaml.MapSlice{{Key: "targets", Value: s.Targets}}
			if len(s.Labels) > 0 {
				static = append(static, yaml.MapItem{Key: "labels", Value: sortedMap(s.Labels)})
			}
			job = append(job, yaml.MapItem{Key: "static_configs", Value: []yaml.MapSlice{static}})
			jobs = append(jobs, job)
		}
		out = append(out, yaml.MapItem{Key: "scrape_configs", Value: jobs})
	}
	if len(rw) > 0 {
		var rws []yaml.MapSlice
		for _, r := range rw {
			item := yaml.MapSlice{{Key: "url", Value: r.URL}}
			if len(r.Queue) > 0 {
				item = append(item, yaml.MapItem{Key: "queue_config", Value: sortedMap(r.Queue)})
			}
			rws = append(rws, item)
		}
		out = append(out, yaml.MapItem{Key: "remote_write", Value: rws})
	}
	return out
}

func sortedMap[V any](m map[string]V) yaml.MapSlice {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(yaml.MapSlice, 0, len(keys))
	for _, k := range keys {
		out = append(out, yaml.MapItem{Key: k, Value: m[k]})
	}
	return out
}

func mustYAML(v any) string {
	buf, err := yaml.Marshal(v)
	if err != nil {
		panic(err) // only maps, slices and strings: cannot fail
	}
	return string(buf)
}

// PrometheusOptions shape a Prometheus process.
type PrometheusOptions struct {
	// Agent runs Prometheus in agent mode (--enable-feature=agent): it
	// scrapes and remote-writes from a WAL, and has no query API.
	Agent bool
	// ScrapeInterval is the global scrape_interval (default 15s).
	ScrapeInterval time.Duration
	// ExternalLabels are the global external_labels.
	ExternalLabels map[string]string
	Scrape         []ScrapeConfig
	RemoteWrite    []RemoteWrite
	// Config, when not empty, is the whole prometheus.yml, used instead of
	// what the fields above make.
	Config string
	// Args are more command-line flags.
	Args []string
}

// YAML is the prometheus.yml the options make.
func (o PrometheusOptions) YAML() string {
	if o.Config != "" {
		return o.Config
	}
	interval := o.ScrapeInterval
	if interval == 0 {
		interval = 15 * time.Second
	}
	// No evaluation_interval: nothing here evaluates rules, and vmagent
	// (strict by default) refuses the field.
	global := yaml.MapSlice{{Key: "scrape_interval", Value: interval.String()}}
	if len(o.ExternalLabels) > 0 {
		global = append(global, yaml.MapItem{Key: "external_labels", Value: sortedMap(o.ExternalLabels)})
	}
	out := yaml.MapSlice{{Key: "global", Value: global}}
	out = append(out, scrapeRemoteWrite(o.Scrape, o.RemoteWrite)...)
	return mustYAML(out)
}

// Prometheus is a prometheus process listening on 127.0.0.1:Port with its
// data in DataDir. Its embedded API queries it (not in agent mode).
type Prometheus struct {
	*Process
	*API
	Port       int
	Dir        string
	DataDir    string
	ConfigFile string
	Agent      bool
}

// StartPrometheus starts prometheus (from the Debian package) with the
// remote-write receiver on, waits until /-/ready answers, and stops it at
// test cleanup.
func StartPrometheus(t testing.TB, opts PrometheusOptions) *Prometheus {
	t.Helper()
	bin := RequireBinary(t, "prometheus", "prometheus")
	dir := t.TempDir()
	p := &Prometheus{
		Port: testutil.FreePorts(t, 1)[0], Dir: dir, DataDir: filepath.Join(dir, "data"),
		ConfigFile: filepath.Join(dir, "prometheus.yml"), Agent: opts.Agent,
	}
	if err := os.WriteFile(p.ConfigFile, []byte(opts.YAML()), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(p.Port)
	args := []string{
		"--config.file=" + p.ConfigFile,
		"--web.listen-address=" + listen,
		// Without it /api/v1/write is 404: tests push samples in, and a
		// nomadlike instance remote-writes to it.
		"--web.enable-remote-write-receiver",
		"--log.level=info",
	}
	if opts.Agent {
		args = append(args, "--enable-feature=agent", "--storage.agent.path="+p.DataDir)
	} else {
		args = append(args, "--storage.tsdb.path="+p.DataDir,
			// A test's data is minutes old at most; keep the head small.
			"--storage.tsdb.retention.time=1d")
	}
	args = append(args, opts.Args...)
	name := "prometheus"
	if opts.Agent {
		name = "prometheus-agent"
	}
	p.Process = newProcess(t, dir, name, bin, args...)
	p.API = NewAPI("http://" + listen)
	p.logOnFailure()
	p.Start()
	return p
}

// URL is the base address, http://127.0.0.1:Port.
func (p *Prometheus) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", p.Port) }

// RemoteWriteURL is the remote-write receiver's address.
func (p *Prometheus) RemoteWriteURL() string { return p.URL() + "/api/v1/write" }

// Start starts the process (again after Stop or Kill: same port, config
// and data dir) and waits until it is ready.
func (p *Prometheus) Start() {
	p.t.Helper()
	p.start()
	// Replaying a WAL after a restart takes a moment; a minute covers a
	// loaded 2-core machine.
	p.waitReady(p.URL()+"/-/ready", 60*time.Second)
}
