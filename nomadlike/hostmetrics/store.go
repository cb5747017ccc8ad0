package hostmetrics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/nomadlike/nomadlike/nomadlike/atomicfile"
	"github.com/nomadlike/nomadlike/nomadlike/hclogslog"
	"github.com/nomadlike/nomadlike/structs"
)

// Bounds of a payload's own time (collectedAt). A payload older than
// MaxPayloadAge is refused: it would fall out of the TSDB's out-of-order
// window, and an agent whose buffer held it that long has been cut off
// for long enough that its oldest readings are not worth a 400 on every
// push after. A payload from further than MaxClockSkew in the future comes
// from a host whose clock is wrong.
const (
	MaxPayloadAge = time.Hour
	MaxClockSkew  = 5 * time.Minute
)

// DefaultRetention is server { host_metrics { retention } }'s default.
const DefaultRetention = 15 * 24 * time.Hour

// latestFile keeps each node's latest payload across restarts.
const latestFile = "latest.json"

// latestFlushInterval is how often the latest payloads are written out;
// at most that much of them is lost when the server dies (the series are
// in the TSDB's WAL regardless).
const latestFlushInterval = time.Minute

// StoreConfig configures a server's host metrics store.
type StoreConfig struct {
	// Dir holds the TSDB and latest.json.
	Dir string
	// Retention is how long samples are kept.
	Retention time.Duration
	// RemoteWrite ships every appended sample to these stores, through
	// storage/remote's queues that tail the TSDB's WAL.
	RemoteWrite []*promconfig.RemoteWriteConfig
	Logger      hclog.Logger
	// Registerer receives the TSDB's and the queues' metrics; nil: a
	// private registry.
	Registerer prometheus.Registerer
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Store is one server's host metrics: the series of the payloads it
// received, in Prometheus' TSDB, and the latest payload of each node that
// pushed to it.
type Store struct {
	cfg     StoreConfig
	logger  hclog.Logger
	db      *tsdb.DB
	remote  *remote.Storage
	appends storage.Appendable

	mu     sync.Mutex
	latest map[string]*structs.HostMetricsLatest
	dirty  bool
	// written is, per node, what its newest payload wrote and when, for
	// the stale markers of the next (AppendPayloadAfter).
	written map[string]nodeWritten

	stop     chan struct{}
	done     chan struct{}
	closeErr error
	once     sync.Once
}

type nodeWritten struct {
	t      int64
	series Written
}

// OpenStore opens (or creates) the store under cfg.Dir.
func OpenStore(cfg StoreConfig) (*Store, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	slogger := hclogslog.New(cfg.Logger)
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = cfg.Retention.Milliseconds()
	opts.OutOfOrderTimeWindow = MaxPayloadAge.Milliseconds()
	db, err := tsdb.Open(cfg.Dir, slogger.With("component", "tsdb"), cfg.Registerer, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("opening host metrics TSDB %s: %w", cfg.Dir, err)
	}
	s := &Store{cfg: cfg, logger: cfg.Logger, db: db, appends: db,
		latest: map[string]*structs.HostMetricsLatest{}, written: map[string]nodeWritten{}, stop: make(chan struct{}), done: make(chan struct{})}
	if len(cfg.RemoteWrite) > 0 {
		// The queues tail the TSDB's own WAL (Prometheus' way): a sample
		// is shipped once it is durable here, and a restart resumes
		// from the WAL instead of losing what was queued in memory.
		s.remote = remote.NewStorage(slogger.With("component", "remote"), cfg.Registerer, db.StartTime, cfg.Dir, time.Minute, nil, false)
		pc := promconfig.DefaultConfig
		pc.RemoteWriteConfigs = cfg.RemoteWrite
		if err := s.remote.ApplyConfig(&pc); err != nil {
			s.remote.Close()
			db.Close()
			return nil, fmt.Errorf("host metrics remote_write: %w", err)
		}
		db.SetWriteNotified(s.remote)
		s.appends = storage.NewFanout(slogger, db, s.remote)
	}
	s.loadLatest()
	go s.flushLoop()
	return s, nil
}

// Ingest stores one validated payload of node nl (raw is kept as the
// node's latest: the caller must not change it after): its series at the
// payload's collectedAt (receivedAt when it has none), and the payload as
// the node's latest when it is the newest. It returns the number of
// samples appended; an error is a *structs.IngestError for a payload
// refused on its own (nothing stored), any other error a storage failure.
func (s *Store) Ingest(nl NodeLabels, p *structs.HostMetrics, raw []byte, receivedAt time.Time, server string) (int, error) {
	at := receivedAt
	if p.CollectedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *p.CollectedAt)
		if err != nil {
			return 0, &structs.IngestError{Status: http.StatusBadRequest, Code: structs.IngestValidationError,
				Field: "collectedAt", Message: fmt.Sprintf("collectedAt %q is not an RFC 3339 time", *p.CollectedAt),
				Hint: `use the form "2026-04-15T12:00:00Z"`}
		}
		at = t
	}
	now := s.cfg.Now()
	switch {
	case at.Before(now.Add(-MaxPayloadAge)):
		return 0, &structs.IngestError{Status: http.StatusBadRequest, Code: structs.IngestValidationError,
			Field:   "collectedAt",
			Message: fmt.Sprintf("collectedAt %s is more than %s in the past", at.UTC().Format(time.RFC3339), MaxPayloadAge),
			Hint:    "drop payloads older than an hour instead of sending them"}
	case at.After(now.Add(MaxClockSkew)):
		return 0, &structs.IngestError{Status: http.StatusBadRequest, Code: structs.IngestValidationError,
			Field:   "collectedAt",
			Message: fmt.Sprintf("collectedAt %s is more than %s in the future", at.UTC().Format(time.RFC3339), MaxClockSkew),
			Hint:    "check the host's clock (NTP)"}
	}
	t := at.UnixMilli()
	s.mu.Lock()
	w, ok := s.written[nl.NodeID]
	s.mu.Unlock()
	app := s.appends.Appender(context.Background())
	// An older payload (a backfill) marks nothing stale.
	n, written, err := AppendPayloadAfter(app, nl, p, t, w.series, ok && t > w.t)
	if err != nil && !sampleRefused(err) {
		app.Rollback()
		return 0, err
	}
	if err != nil {
		// Samples the TSDB refused on their own (the same payload pushed
		// twice at one timestamp, with another value): the rest stand.
		s.logger.Debug("host metrics samples refused", "node_id", nl.NodeID, "error", err)
	}
	if cerr := app.Commit(); cerr != nil {
		return 0, fmt.Errorf("committing host metrics: %w", cerr)
	}
	s.mu.Lock()
	if w, ok := s.written[nl.NodeID]; !ok || t >= w.t {
		s.written[nl.NodeID] = nodeWritten{t: t, series: written}
	}
	if old := s.latest[nl.NodeID]; old == nil || !old.CollectedAt.After(at) {
		s.latest[nl.NodeID] = &structs.HostMetricsLatest{NodeID: nl.NodeID, NodeName: nl.Node,
			CollectedAt: at.UTC(), ReceivedAt: receivedAt.UTC(), Server: server, Payload: raw}
		s.dirty = true
	}
	s.mu.Unlock()
	return n, nil
}

// Latest is the latest payload this server holds for nodeID, or nil. Its
func (s *Store) Latest(nodeID string) *structs.HostMetricsLatest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.latest[nodeID]; l != nil {
		c := *l
		return &c
	}
	return nil
}

// Querier reads this server's own series.
func (s *Store) Querier(mint, maxt int64) (storage.Querier, error) {
	return s.db.Querier(mint, maxt)
}

// DB is the TSDB (tests, stats).
func (s *Store) DB() *tsdb.DB { return s.db }

// Close flushes the latest payloads and closes the queues and the TSDB.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		var errs []error
		errs = append(errs, s.flushLatest())
		if s.remote != nil {
			errs = append(errs, s.remote.Close())
		}
		errs = append(errs, s.db.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Store) flushLoop() {
	defer close(s.done)
	t := time.NewTicker(latestFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.flushLatest(); err != nil {
				s.logger.Warn("writing latest host metrics", "error", err)
			}
		}
	}
}

// flushLatest writes latest.json when it changed, atomically: a crash
// leaves the old file or the new one.
func (s *Store) flushLatest() error {
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	cutoff := s.cfg.Now().Add(-s.cfg.Retention)
	out := make([]*structs.HostMetricsLatest, 0, len(s.latest))
	for id, l := range s.latest {
		if l.CollectedAt.Before(cutoff) {
			delete(s.latest, id)
			continue
		}
		out = append(out, l)
	}
	for id, w := range s.written {
		if w.t < cutoff.UnixMilli() {
			delete(s.written, id)
		}
	}
	s.dirty = false
	s.mu.Unlock()
	return atomicfile.WriteFunc(filepath.Join(s.cfg.Dir, latestFile), 0o600, func(w io.Writer) error {
		for _, l := range out {
			head, err := json.Marshal(latestHeader{l.NodeID, l.NodeName, l.CollectedAt, l.ReceivedAt, l.Server, len(l.Payload)})
			if err != nil {
				return err
			}
			for _, b := range [][]byte{head, newline, l.Payload, newline} {
				if _, err := w.Write(b); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

var newline = []byte("\n")

// latestHeader is the line before each payload in latest.json; the
// payload follows as the bytes it was sent as (PayloadBytes of them) and a
// newline, so it survives a restart byte for byte, without base64.
type latestHeader struct {
	NodeID       string
	NodeName     string
	CollectedAt  time.Time
	ReceivedAt   time.Time
	Server       string
	PayloadBytes int
}

// loadLatest reads latest.json; a missing or unreadable file only loses
// the latest payloads (the series are in the TSDB), so it is logged.
func (s *Store) loadLatest() {
	b, err := os.ReadFile(filepath.Join(s.cfg.Dir, latestFile))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.logger.Warn("reading latest host metrics", "error", err)
		}
		return
	}
	cutoff := s.cfg.Now().Add(-s.cfg.Retention)
	r := bufio.NewReader(bytes.NewReader(b))
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			return
		}
		var h latestHeader
		if err == nil {
			err = json.Unmarshal(line, &h)
		}
		if err == nil && (h.PayloadBytes < 0 || h.PayloadBytes > MaxBodyBytes) {
			err = fmt.Errorf("payload size %d out of bounds", h.PayloadBytes)
		}
		var payload []byte
		if err == nil {
			payload = make([]byte, h.PayloadBytes+1)
			_, err = io.ReadFull(r, payload)
		}
		if err == nil && payload[len(payload)-1] != '\n' {
			err = errors.New("payload not followed by a newline")
		}
		if err != nil {
			s.logger.Warn("latest host metrics file is corrupt; keeping what came before the fault", "error", err)
			return
		}
		if h.NodeID != "" && !h.CollectedAt.Before(cutoff) {
			s.latest[h.NodeID] = &structs.HostMetricsLatest{NodeID: h.NodeID, NodeName: h.NodeName,
				CollectedAt: h.CollectedAt, ReceivedAt: h.ReceivedAt, Server: h.Server, Payload: payload[:len(payload)-1]}
		}
	}
}
