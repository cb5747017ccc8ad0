// Package hostbench measures host metrics ingest on one server agent
// process (issue 14): realistic payloads (hostmetrics.RealisticPayload: 20
// containers, 10 processes per list, 5 checks of each kind) pushed with
// the agent tokens of simulated external nodes, as payloads per second at
// 16 and 64 concurrent requests against a do-nothing HTTP ceiling
// measured in the same run with the same client code and body; the
// server's CPU and RSS at the fleet's steady rate (every node once per
// push interval); and PromQL latency over an hour of history, backfilled
// through the ingest API with collectedAt.
//
// `make bench` runs it; it prints one table and never asserts a speed.
// HOSTBENCH_NODES (default 2000), HOSTBENCH_RUN (each ceiling and ingest
// run, default 5s), HOSTBENCH_STEADY (default 20s), HOSTBENCH_QUERIES
// (runs of each query, default 20), HOSTBENCH_BACKFILL_STEP (default: the
// smallest of 10s, 20s, 30s, 60s, ... whose backfill is projected to fit
// HOSTBENCH_BACKFILL_BUDGET, default 20m) change the workload, and
// HOSTBENCH_CPUPROFILE=FILE saves the server's CPU profile of the c=64
// ingest run.
package hostbench
