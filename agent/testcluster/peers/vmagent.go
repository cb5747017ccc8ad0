package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// VMAgentOptions shape a vmagent process.
type VMAgentOptions struct {
	// ScrapeInterval is the global scrape_interval (default 15s).
	ScrapeInterval time.Duration
	Scrape         []ScrapeConfig
	// RemoteWriteURL is where vmagent sends what it scrapes.
	RemoteWriteURL string
	// Args are more command-line flags.
	Args []string
}

// VMAgent is a vmagent process (from the victoria-metrics Debian package)
// on 127.0.0.1:Port.
type VMAgent struct {
	*Process
	Port       int
	Dir        string
	ConfigFile string
}

// StartVMAgent starts vmagent, waits until /health answers, and stops it at
// test cleanup. vmagent reads scrape_configs from a Prometheus-format file
// but takes its remote_write targets as flags (a remote_write section in
// the file is an error under its default strict parsing).
func StartVMAgent(t testing.TB, opts VMAgentOptions) *VMAgent {
	t.Helper()
	bin := RequireBinary(t, "vmagent", "victoria-metrics")
	if opts.RemoteWriteURL == "" {
		t.Fatal("StartVMAgent: RemoteWriteURL is required")
	}
	dir := t.TempDir()
	v := &VMAgent{Port: testutil.FreePorts(t, 1)[0], Dir: dir, ConfigFile: filepath.Join(dir, "scrape.yml")}
	cfg := PrometheusOptions{ScrapeInterval: opts.ScrapeInterval, Scrape: opts.Scrape}.YAML()
	if err := os.WriteFile(v.ConfigFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{
		"-httpListenAddr=127.0.0.1:" + strconv.Itoa(v.Port),
		"-promscrape.config=" + v.ConfigFile,
		"-remoteWrite.url=" + opts.RemoteWriteURL,
		// Its on-disk buffer for when the remote is down, like
		// Prometheus' WAL: in the test's dir, not the working directory.
		"-remoteWrite.tmpDataPath=" + filepath.Join(dir, "remotewrite-data"),
		"-loggerLevel=INFO",
	}
	args = append(args, opts.Args...)
	v.Process = newProcess(t, dir, "vmagent", bin, args...)
	v.logOnFailure()
	v.Start()
	return v
}

// URL is the HTTP base address (/metrics, /targets, /health).
func (v *VMAgent) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", v.Port) }

// Start starts the process (again after Stop or Kill, same port and
// buffer dir) and waits until /health answers.
func (v *VMAgent) Start() {
	v.t.Helper()
	v.start()
	v.waitReady(v.URL()+"/health", 60*time.Second)
}
