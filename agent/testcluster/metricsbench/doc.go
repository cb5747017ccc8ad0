// Package metricsbench compares metrics collectors on one workload: the
// same synthetic targets (peers.StartSynthetic), the same remote_write
// sink (peers.StartSink), the same scrape interval and measured window,
// run one after the other on the same machine. The collectors are
// Prometheus in agent mode, vmagent and a nomadlike client agent running
// one local metrics instance. `make bench` runs it; it prints figures and
// never asserts a speed. METRICSBENCH_SERIES (default 100000),
// METRICSBENCH_TARGETS (default 100) and METRICSBENCH_INTERVALS (measured
// scrape intervals, default 4) change the workload. See
// agent/testcluster/peers/DESIGN.md for what is measured and why it is
// fair.
package metricsbench
