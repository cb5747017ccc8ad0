// Package monitor streams an agent's own logs (GET /v1/agent/monitor): a
// Monitor registers a sink on the agent's root InterceptLogger at its own
// level and format, and hands the formatted lines to one reader. Logging
// never waits for that reader: lines that do not fit the buffer are
// dropped and counted, and a warning line says how many once there is
// room again.
package monitor

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// BufferLines is how many lines a Monitor holds for a slow reader before
// it drops.
const BufferLines = 512

// dropCheckInterval is how often a Monitor tries to report drops.
const dropCheckInterval = 250 * time.Millisecond

// active counts the monitors attached to a logger in this process.
var active atomic.Int64

// Active is the number of monitors running in this process (each holds a
// sink on a logger until it is stopped).
func Active() int64 { return active.Load() }

// Monitor is one log stream. It is safe for concurrent use.
type Monitor struct {
	logger hclog.InterceptLogger
	sink   hclog.SinkAdapter
	json   bool

	logCh   chan []byte
	dropped atomic.Int64

	stopOnce sync.Once
	doneCh   chan struct{}
}

// New starts a monitor of logger at level, in hclog's JSON format when
// json is set. Stop it when the reader goes away.
func New(logger hclog.InterceptLogger, level hclog.Level, json bool) *Monitor {
	m := &Monitor{
		logger: logger,
		json:   json,
		logCh:  make(chan []byte, BufferLines),
		doneCh: make(chan struct{}),
	}
	m.sink = hclog.NewSinkAdapter(&hclog.LoggerOptions{
		Level:      level,
		JSONFormat: json,
		Output:     (*sinkWriter)(m),
	})
	logger.RegisterSink(m.sink)
	active.Add(1)
	go m.reportDrops()
	return m
}

// Logs is the stream of formatted lines (each ends with a newline).
func (m *Monitor) Logs() <-chan []byte { return m.logCh }

// Stop detaches the monitor from the logger. Lines still buffered stay
// readable from Logs.
func (m *Monitor) Stop() {
	m.stopOnce.Do(func() {
		m.logger.DeregisterSink(m.sink)
		active.Add(-1)
		close(m.doneCh)
	})
}

// Dropped is the number of lines dropped and not yet reported.
func (m *Monitor) Dropped() int64 { return m.dropped.Load() }

// sinkWriter is the sink's output. hclog calls it with the logger's lock
// held, once per line: it must never block and never log.
type sinkWriter Monitor

func (w *sinkWriter) Write(p []byte) (int, error) {
	line := make([]byte, len(p))
	copy(line, p)
	select {
	case w.logCh <- line:
	default:
		w.dropped.Add(1)
	}
	return len(p), nil
}

// reportDrops puts a warning line into the stream whenever lines were
// dropped and there is room for it.
func (m *Monitor) reportDrops() {
	t := time.NewTicker(dropCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-m.doneCh:
			return
		case <-t.C:
		}
		n := m.dropped.Load()
		if n == 0 {
			continue
		}
		// Counted as reported before the line can be read, so that a
		// reader of the warning never sees the count it reports; put
		// back when there is no room for the line after all.
		m.dropped.Add(-n)
		select {
		case m.logCh <- m.dropLine(n):
		default:
			m.dropped.Add(n)
		}
	}
}

// dropLine is the warning about n dropped lines, in the stream's format.
func (m *Monitor) dropLine(n int64) []byte {
	msg := fmt.Sprintf("Monitor dropped %d logs during monitor request", n)
	now := time.Now()
	if m.json {
		b, _ := json.Marshal(map[string]string{
			"@level": "warn", "@message": msg, "@module": "monitor",
			"@timestamp": now.Format("2006-01-02T15:04:05.000000Z07:00"),
		})
		return append(b, '\n')
	}
	return []byte(now.Format("2006-01-02T15:04:05.000Z0700") + " [WARN]  " + msg + "\n")
}

// Batch appends to first whatever further lines are already waiting, up
// to max bytes, so that a burst of lines travels as one message.
func Batch(first []byte, logs <-chan []byte, max int) []byte {
	out := first
	for len(out) < max {
		select {
		case line := <-logs:
			out = append(out, line...)
		default:
			return out
		}
	}
	return out
}

// ParseLevel reads a log_level: trace, debug, info, warn, error or off in
// any case ("" is info; off streams only heartbeats, as in Nomad). The
// error is Nomad's message.
func ParseLevel(s string) (hclog.Level, error) {
	if s == "" {
		return hclog.Info, nil
	}
	l := hclog.LevelFromString(s)
	if l == hclog.NoLevel {
		return hclog.NoLevel, fmt.Errorf("Unknown log level: %s", s)
	}
	return l, nil
}
