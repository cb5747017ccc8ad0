package peers

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/testutil"
)

// NodeExporterCollectors are the collectors StartNodeExporter enables: the
// host metrics every dashboard uses, all cheap /proc and /sys reads. The
// rest stay off because in a container they fail noisily (systemd, hwmon,
// rapl, thermal_zone without the files or the permissions), read
// host-specific files whose absence would make a test depend on the
// machine (textfile, filesystem mounts), or are slow (the scans of
// interrupts or of every process).
var NodeExporterCollectors = []string{
	"cpu", "meminfo", "loadavg", "stat", "time", "uname", "netdev", "diskstats", "vmstat", "filefd",
}

// NodeExporter is a prometheus-node-exporter process on 127.0.0.1:Port.
type NodeExporter struct {
	*Process
	Port int
}

// StartNodeExporter starts prometheus-node-exporter (from the Debian
// package) with NodeExporterCollectors, waits until /metrics answers, and
// stops it at test cleanup.
func StartNodeExporter(t testing.TB) *NodeExporter {
	t.Helper()
	bin := RequireBinary(t, "prometheus-node-exporter", "prometheus-node-exporter")
	dir := t.TempDir()
	n := &NodeExporter{Port: testutil.FreePorts(t, 1)[0]}
	args := []string{"--web.listen-address=" + n.Target(), "--collector.disable-defaults", "--log.level=warn"}
	for _, c := range NodeExporterCollectors {
		args = append(args, "--collector."+c)
	}
	n.Process = newProcess(t, dir, "node-exporter", bin, args...)
	n.logOnFailure()
	n.Start()
	return n
}

// Target is the host:port a scrape config names.
func (n *NodeExporter) Target() string { return "127.0.0.1:" + strconv.Itoa(n.Port) }

// URL is the metrics address.
func (n *NodeExporter) URL() string { return fmt.Sprintf("http://%s/metrics", n.Target()) }

// Start starts the process (again after Stop or Kill, on the same port)
// and waits until it serves metrics.
func (n *NodeExporter) Start() {
	n.t.Helper()
	n.start()
	n.waitReady(n.URL(), 30*time.Second)
}
