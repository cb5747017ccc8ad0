package metrics

import (
	"context"
	"errors"
	"fmt"
	"github.com/nomadlike/nomadlike/nomadlike/hclogslog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb/agent"
	"github.com/prometheus/prometheus/tsdb/wlog"
)

// specFile is the instance config kept beside its WAL, so that a WAL
// left behind (the instance was unassigned while the agent was down) can
// still be sent with the remote_write it was written for.
const specFile = "instance.yaml"

// instance runs one metrics_instance_config the way Prometheus' agent
// mode runs its config: discovery → scrape manager → a fanout of the
// WAL-only tsdb/agent DB (which the remote_write queues tail) and the
// remote storage's timestamp tracker.
type instance struct {
	name   string
	dir    string
	logger hclog.Logger
	reg    *prometheus.Registry

	mu  sync.Mutex
	cfg *parsed

	remote  *remote.Storage
	db      *agent.DB
	storage storage.Storage
	write   http.Handler

	// Scraping; nil for an instance that only drains its WAL.
	discovery *discovery.Manager
	scrape    *scrape.Manager
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	// filter is read by filterGroups without in.mu, which a config
	// change holds while discovery may be waiting on filterGroups.
	filter atomic.Pointer[hostFilter]

	// catchingUp is set while a catch-up after a restart holds the
	// remote_write queues back (catchup.go); catchupCancel ends it and
	// catchupDone closes when it has.
	catchingUp    bool
	catchupCancel context.CancelFunc
	catchupDone   chan struct{}
	// sentStop ends the marker writer, sentDone closes after it.
	sentStop chan struct{}
	sentDone chan struct{}

	// drainStop ends a drain, drainDone closes when it has ended.
	drainStop chan struct{}
	drainDone chan struct{}
}

// scrapeManagerRef hands the remote storage the scrape manager once it
// exists (for metadata); remote.ReadyScrapeManager.
type scrapeManagerRef struct {
	mu sync.Mutex
	m  *scrape.Manager
}

func (r *scrapeManagerRef) Get() (*scrape.Manager, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		return nil, errors.New("scrape manager not ready")
	}
	return r.m, nil
}

func (r *scrapeManagerRef) set(m *scrape.Manager) {
	r.mu.Lock()
	r.m = m
	r.mu.Unlock()
}

// openStorage opens the WAL of dir and the remote_write queues that
// tail it, configured by cfg.
func (in *instance) openStorage(ref *scrapeManagerRef) error {
	slogger := hclogslog.New(in.logger)
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"instance_name": in.name}, in.reg)
	in.remote = remote.NewStorage(slogger.With("component", "remote"), wrapped,
		(*agent.DB)(nil).StartTime, in.dir, in.cfg.wal.RemoteFlushDeadline, ref, false)
	// A WAL written by a previous process: catch up from the markers of
	// what its queues had sent (none: from max_wal_time ago) before the
	// queues start.
	sent := readSent(in.dir)
	first, last, segErr := wlog.Segments(filepath.Join(in.dir, "wal"))
	catchUp := segErr == nil && last >= 0 && len(in.cfg.prom.RemoteWriteConfigs) > 0
	opts := agent.DefaultOptions()
	opts.TruncateFrequency = in.cfg.wal.TruncateFrequency
	opts.MinWALTime = in.cfg.wal.MinWALTime.Milliseconds()
	opts.MaxWALTime = in.cfg.wal.MaxWALTime.Milliseconds()
	db, err := agent.Open(slogger.With("component", "wal"), wrapped, in.remote, in.dir, opts)
	if err != nil {
		in.remote.Close()
		return fmt.Errorf("opening WAL %s: %w", in.dir, err)
	}
	in.db = db
	db.SetWriteNotified(in.remote)
	if !catchUp {
		if err := in.remote.ApplyConfig(in.cfg.prom); err != nil {
			db.Close()
			in.remote.Close()
			return fmt.Errorf("remote_write: %w", err)
		}
	}
	in.storage = storage.NewFanout(slogger, db, in.remote)
	if catchUp {
		ctx, cancel := context.WithCancel(context.Background())
		in.catchingUp, in.catchupCancel, in.catchupDone = true, cancel, make(chan struct{})
		go func() {
			defer close(in.catchupDone)
			in.catchUp(ctx, in.cfg, sent, first)
		}()
	}
	in.sentStop, in.sentDone = make(chan struct{}), make(chan struct{})
	go in.writeSentMarkers()
	in.write = remote.NewWriteHandler(slogger.With("component", "receiver"), wrapped, in.storage,
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, false, false)
	return nil
}

// startScraping starts discovery and the scrape manager.
func (in *instance) startScraping(ref *scrapeManagerRef) error {
	slogger := hclogslog.New(in.logger)
	wrapped := prometheus.WrapRegistererWith(prometheus.Labels{"instance_name": in.name}, in.reg)
	ctx, cancel := context.WithCancel(context.Background())
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(wrapped)
	if err != nil {
		cancel()
		return err
	}
	dm := discovery.NewManager(ctx, slogger.With("component", "discovery"), wrapped, sdMetrics, discovery.Name("scrape"))
	if dm == nil {
		cancel()
		return errors.New("creating the discovery manager failed")
	}
	sm, err := scrape.NewManager(&scrape.Options{}, slogger.With("component", "scrape"), nil, nil, in.storage, wrapped)
	if err != nil {
		cancel()
		return err
	}
	ref.set(sm)
	in.mu.Lock()
	in.discovery, in.scrape, in.cancel = dm, sm, cancel
	in.filter.Store(newHostFilter(in.cfg))
	err = in.applyScrape(in.cfg)
	in.mu.Unlock()
	if err != nil {
		cancel()
		sm.Stop()
		sm.UnregisterMetrics()
		in.mu.Lock()
		in.scrape, in.discovery = nil, nil
		in.mu.Unlock()
		return err
	}
	groups := make(chan map[string][]*targetgroup.Group)
	in.wg.Add(3)
	go func() {
		defer in.wg.Done()
		if err := dm.Run(); err != nil && !errors.Is(err, context.Canceled) {
			in.logger.Error("discovery stopped", "error", err)
		}
	}()
	go func() {
		defer in.wg.Done()
		in.filterGroups(ctx, dm.SyncCh(), groups)
	}()
	go func() {
		defer in.wg.Done()
		if err := sm.Run(groups); err != nil {
			in.logger.Error("scrape manager stopped", "error", err)
		}
	}()
	return nil
}

// filterGroups passes discovered groups to the scrape manager, through
// the host filter when the config asks for it.
func (in *instance) filterGroups(ctx context.Context, from <-chan map[string][]*targetgroup.Group, to chan<- map[string][]*targetgroup.Group) {
	for {
		select {
		case <-ctx.Done():
			return
		case tsets := <-from:
			if f := in.filter.Load(); f != nil {
				tsets = f.apply(tsets)
			}
			select {
			case to <- tsets:
			case <-ctx.Done():
				return
			}
		}
	}
}

// applyScrape hands cfg's scrape configs to discovery and scraping.
func (in *instance) applyScrape(cfg *parsed) error {
	if err := in.scrape.ApplyConfig(cfg.prom); err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	sd := make(map[string]discovery.Configs, len(cfg.prom.ScrapeConfigs))
	for _, sc := range cfg.prom.ScrapeConfigs {
		sd[sc.JobName] = sc.ServiceDiscoveryConfigs
	}
	if err := in.discovery.ApplyConfig(sd); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	return nil
}

// apply changes a running instance to cfg without restarting it: the
// WAL options are the same (the manager restarts it otherwise).
func (in *instance) apply(cfg *parsed) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.catchingUp {
		if err := in.remote.ApplyConfig(cfg.prom); err != nil {
			return fmt.Errorf("remote_write: %w", err)
		}
	}
	if in.scrape != nil {
		in.filter.Store(newHostFilter(cfg))
		if err := in.applyScrape(cfg); err != nil {
			return err
		}
	}
	in.cfg = cfg
	return writeSpec(in.dir, cfg.yaml)
}

// stopScraping stops discovery and the scrape manager; the storage goes on.
func (in *instance) stopScraping() {
	in.mu.Lock()
	sm, cancel := in.scrape, in.cancel
	in.scrape, in.discovery = nil, nil
	in.mu.Unlock()
	if sm == nil {
		return
	}
	sm.Stop()
	cancel()
	in.wg.Wait()
	sm.UnregisterMetrics()
}

// closeStorage stops the remote_write queues (each flushing for up to
// remote_flush_deadline) and closes the WAL.
func (in *instance) closeStorage() error {
	if in.catchupCancel != nil {
		in.catchupCancel()
		<-in.catchupDone
	}
	if in.sentStop != nil {
		close(in.sentStop)
		<-in.sentDone
	}
	var errs []error
	if in.storage != nil {
		// The fanout closes the DB and the remote storage.
		errs = append(errs, in.storage.Close())
	}
	// What the queues sent while flushing counts too.
	in.saveSent()
	return errors.Join(errs...)
}

// writeSentMarkers keeps sentFile current while the instance runs.
func (in *instance) writeSentMarkers() {
	defer close(in.sentDone)
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-in.sentStop:
			return
		case <-t.C:
			in.saveSent()
		}
	}
}

// drained tells whether every sample the instance appended has been
// sent by every remote_write queue: the highest timestamp appended is
// not above the lowest highest-sent one, and nothing is pending.
func (in *instance) drained() bool {
	if len(in.cfg.prom.RemoteWriteConfigs) == 0 {
		return true
	}
	in.mu.Lock()
	catchingUp := in.catchingUp
	in.mu.Unlock()
	if catchingUp {
		return false
	}
	var appended, pending float64
	sent := -1.0
	mfs, err := in.reg.Gather()
	if err != nil {
		return false
	}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "prometheus_remote_storage_highest_timestamp_in_seconds":
			for _, m := range mf.GetMetric() {
				appended = max(appended, m.GetGauge().GetValue())
			}
		case "prometheus_remote_storage_queue_highest_sent_timestamp_seconds":
			for _, m := range mf.GetMetric() {
				v := m.GetGauge().GetValue()
				if sent < 0 || v < sent {
					sent = v
				}
			}
		case "prometheus_remote_storage_samples_pending", "prometheus_remote_storage_histograms_pending":
			for _, m := range mf.GetMetric() {
				pending += m.GetGauge().GetValue()
			}
		}
	}
	if appended == 0 {
		return true
	}
	return sent >= appended && pending == 0
}

// instanceDir is where an instance's WAL lives under the WAL directory.
func instanceDir(walDir, name string) string {
	return filepath.Join(walDir, escapeName(name))
}

// writeSpec keeps the config beside the WAL (see specFile).
func writeSpec(dir string, yaml []byte) error {
	tmp := filepath.Join(dir, specFile+".tmp")
	if err := os.WriteFile(tmp, yaml, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, specFile))
}
