package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
)

// Options configure a Manager.
type Options struct {
	// WALDir holds one directory per instance.
	WALDir string
	Global Global
	Logger hclog.Logger
	// HostNames are names of this host besides the OS's (the agent's node
	// name), for host_filter.
	HostNames []string
	// DrainPoll is how often a stopped instance checks whether its WAL
	// has been sent; 0 is one second.
	DrainPoll time.Duration
}

// Manager runs the metrics instances of one agent. Apply is called with
// the whole set each time (the assigned configs and the local ones); it
// starts, stops and hot-applies instances so that unchanged ones go on
// scraping untouched.
type Manager struct {
	opts   Options
	logger hclog.Logger

	// applyMu serializes Apply and Close; mu guards the maps, held only
	// briefly so that the API answers while an instance starts.
	applyMu sync.Mutex
	mu      sync.Mutex
	running map[string]*instance
	// draining are stopped instances whose WAL is still being sent.
	draining map[string]*instance
	// failed are configs that could not be started, with why.
	failed  map[string]failure
	applied bool
	closed  bool
	// orphansChecked is set once the WAL directory has been looked at
	// for instances left behind.
	orphansChecked bool
	wg             sync.WaitGroup
}

type failure struct {
	source string
	err    string
}

// New returns a manager; instances start with Apply.
func New(opts Options) (*Manager, error) {
	if opts.WALDir == "" {
		return nil, errors.New("metrics: no WAL directory")
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.DrainPoll <= 0 {
		opts.DrainPoll = time.Second
	}
	if err := os.MkdirAll(opts.WALDir, 0o700); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return &Manager{
		opts:     opts,
		logger:   opts.Logger,
		running:  map[string]*instance{},
		draining: map[string]*instance{},
		failed:   map[string]failure{},
	}, nil
}

// Apply makes the running instances those of specs. A spec that cannot
// be parsed or started is reported by Status (and in the returned
// error) and leaves the instance of that name as it was.
func (m *Manager) Apply(specs []Spec) error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	if m.closed {
		return errors.New("metrics: manager closed")
	}
	want := make(map[string]*parsed, len(specs))
	var errs []error
	failed := map[string]failure{}
	for _, s := range specs {
		if _, dup := want[s.Name]; dup {
			errs = append(errs, fmt.Errorf("instance %q: given twice (a local instance and an assigned config may not share a name)", s.Name))
			failed[s.Name] = failure{source: s.Source, err: "given twice"}
			continue
		}
		p, err := parseSpec(s, m.opts.Global)
		if err != nil {
			errs = append(errs, err)
			failed[s.Name] = failure{source: s.Source, err: err.Error()}
			if in := m.get(s.Name); in != nil {
				// Keep running the last good config.
				want[s.Name] = in.cfg
			}
			continue
		}
		p.extraHostNames = m.opts.HostNames
		want[s.Name] = p
	}
	// Stop what is no longer wanted first: its WAL goes on draining.
	m.mu.Lock()
	var stop []*instance
	for name, in := range m.running {
		if want[name] == nil {
			stop = append(stop, in)
			delete(m.running, name)
		}
	}
	m.mu.Unlock()
	for _, in := range stop {
		m.startDrain(in)
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := m.ensure(want[name]); err != nil {
			errs = append(errs, err)
			failed[name] = failure{source: want[name].source, err: err.Error()}
		}
	}
	m.mu.Lock()
	m.failed = failed
	m.applied = true
	m.mu.Unlock()
	if !m.orphansChecked {
		m.orphansChecked = true
		m.drainOrphans(want)
	}
	return errors.Join(errs...)
}

// get returns the running instance of that name.
func (m *Manager) get(name string) *instance {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running[name]
}

// ensure runs cfg: unchanged, hot-applied, restarted (new WAL options),
// taken back from draining, or started.
func (m *Manager) ensure(cfg *parsed) error {
	if in := m.get(cfg.name); in != nil {
		switch {
		case in.cfg.hash == cfg.hash:
			return nil
		case in.cfg.wal == cfg.wal:
			if err := in.apply(cfg); err != nil {
				return fmt.Errorf("instance %q: %w", cfg.name, err)
			}
			m.logger.Info("metrics instance updated", "instance", cfg.name)
			return nil
		}
		m.mu.Lock()
		delete(m.running, cfg.name)
		m.mu.Unlock()
		in.stopScraping()
		if err := in.closeStorage(); err != nil {
			m.logger.Warn("closing metrics instance", "instance", cfg.name, "error", err)
		}
	}
	m.mu.Lock()
	d := m.draining[cfg.name]
	delete(m.draining, cfg.name)
	m.mu.Unlock()
	if d != nil {
		// Assigned back before its WAL was sent: stop the drain and
		// run it again on the same WAL.
		d.stopDrain()
		if d.cfg.wal == cfg.wal {
			if err := d.apply(cfg); err == nil {
				ref := &scrapeManagerRef{}
				if err := d.startScraping(ref); err == nil {
					m.mu.Lock()
					m.running[cfg.name] = d
					m.mu.Unlock()
					return nil
				}
			}
		}
		if err := d.closeStorage(); err != nil {
			m.logger.Warn("closing metrics instance", "instance", cfg.name, "error", err)
		}
	}
	in, err := m.start(cfg, true)
	if err != nil {
		return fmt.Errorf("instance %q: %w", cfg.name, err)
	}
	m.mu.Lock()
	m.running[cfg.name] = in
	m.mu.Unlock()
	m.logger.Info("metrics instance started", "instance", cfg.name, "source", cfg.source,
		"scrape_configs", len(cfg.prom.ScrapeConfigs), "remote_write", len(cfg.prom.RemoteWriteConfigs))
	return nil
}

// start opens an instance's WAL and remote_write and, when scrape is
// true, starts scraping.
func (m *Manager) start(cfg *parsed, scrape bool) (*instance, error) {
	dir := instanceDir(m.opts.WALDir, cfg.name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := writeSpec(dir, cfg.yaml); err != nil {
		return nil, err
	}
	in := &instance{
		name:   cfg.name,
		dir:    dir,
		logger: m.logger.Named("metrics").With("instance", cfg.name),
		reg:    prometheus.NewRegistry(),
		cfg:    cfg,
	}
	ref := &scrapeManagerRef{}
	if err := in.openStorage(ref); err != nil {
		return nil, err
	}
	if scrape {
		if err := in.startScraping(ref); err != nil {
			in.closeStorage()
			return nil, err
		}
	}
	return in, nil
}

// startDrain stops scraping and keeps the instance's remote_write going
// until its WAL is sent or max_wal_time passes; then the WAL is removed.
func (m *Manager) startDrain(in *instance) {
	in.stopScraping()
	m.logger.Info("metrics instance stopped; sending what its WAL holds", "instance", in.name)
	m.mu.Lock()
	m.draining[in.name] = in
	m.mu.Unlock()
	in.drainStop = make(chan struct{})
	in.drainDone = make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(in.drainDone)
		deadline := time.Now().Add(in.cfg.wal.MaxWALTime)
		t := time.NewTicker(m.opts.DrainPoll)
		defer t.Stop()
		for {
			select {
			case <-in.drainStop:
				return
			case <-t.C:
			}
			sent := in.drained()
			if !sent && time.Now().Before(deadline) {
				continue
			}
			m.mu.Lock()
			if m.draining[in.name] != in {
				m.mu.Unlock()
				return
			}
			delete(m.draining, in.name)
			m.mu.Unlock()
			if err := in.closeStorage(); err != nil {
				m.logger.Warn("closing metrics instance", "instance", in.name, "error", err)
			}
			if !sent {
				m.logger.Warn("metrics instance WAL not sent within max_wal_time; removing it", "instance", in.name)
			}
			if err := os.RemoveAll(in.dir); err != nil {
				m.logger.Warn("removing metrics WAL", "dir", in.dir, "error", err)
			} else {
				m.logger.Info("metrics instance WAL sent and removed", "instance", in.name)
			}
			return
		}
	}()
}

// stopDrain ends a drain without closing the instance.
func (in *instance) stopDrain() {
	close(in.drainStop)
	<-in.drainDone
}

// drainOrphans drains WAL directories of instances that are not wanted
// now (unassigned while the agent was down), with the config kept beside
// them.
func (m *Manager) drainOrphans(want map[string]*parsed) {
	entries, err := os.ReadDir(m.opts.WALDir)
	if err != nil {
		m.logger.Warn("listing metrics WAL directory", "error", err)
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name, err := url.PathUnescape(e.Name())
		if err != nil || want[name] != nil {
			continue
		}
		dir := filepath.Join(m.opts.WALDir, e.Name())
		text, err := os.ReadFile(filepath.Join(dir, specFile))
		if err != nil {
			m.logger.Warn("metrics WAL without its config; leaving it", "dir", dir, "error", err)
			continue
		}
		cfg, err := parseSpec(Spec{Name: name, YAML: text, Source: "orphan"}, m.opts.Global)
		if err != nil {
			m.logger.Warn("metrics WAL with a config that no longer parses; leaving it", "dir", dir, "error", err)
			continue
		}
		in, err := m.start(cfg, false)
		if err != nil {
			m.logger.Warn("opening a left-behind metrics WAL", "dir", dir, "error", err)
			continue
		}
		m.startDrain(in)
	}
}

// Close stops every instance, flushing remote_write for up to each
// instance's remote_flush_deadline. WALs are kept for the next start.
func (m *Manager) Close() error {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var all []*instance
	for _, in := range m.running {
		all = append(all, in)
	}
	var drains []*instance
	for _, in := range m.draining {
		drains = append(drains, in)
	}
	m.running, m.draining = map[string]*instance{}, map[string]*instance{}
	m.mu.Unlock()
	for _, in := range drains {
		in.stopDrain()
	}
	all = append(all, drains...)
	var wg sync.WaitGroup
	errs := make([]error, len(all))
	for i, in := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stopScraping()
			errs[i] = in.closeStorage()
		}()
	}
	wg.Wait()
	m.wg.Wait()
	return errors.Join(errs...)
}

// Ready tells whether the manager has applied its first set.
func (m *Manager) Ready() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied
}

// Instances are the names of the running instances, sorted.
func (m *Manager) Instances() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.running))
	for name := range m.running {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// WriteHandler is the remote_write receiver of a running instance.
func (m *Manager) WriteHandler(name string) (http.Handler, bool) {
	in := m.get(name)
	if in == nil {
		return nil, false
	}
	return in.write, true
}

// Target is one scrape target, with Grafana Agent's fields.
type Target struct {
	Instance         string            `json:"instance"`
	TargetGroup      string            `json:"target_group"`
	Endpoint         string            `json:"endpoint"`
	State            string            `json:"state"`
	Labels           map[string]string `json:"labels"`
	DiscoveredLabels map[string]string `json:"discovered_labels"`
	LastScrape       time.Time         `json:"last_scrape"`
	ScrapeDurationMS int64             `json:"scrape_duration_ms"`
	ScrapeError      string            `json:"scrape_error"`
}

// Targets are the active targets of every running instance, sorted by
// instance, target group, job and instance label.
func (m *Manager) Targets() []Target {
	m.mu.Lock()
	ins := make([]*instance, 0, len(m.running))
	for _, in := range m.running {
		ins = append(ins, in)
	}
	m.mu.Unlock()
	out := []Target{}
	lb := labels.NewBuilder(labels.EmptyLabels())
	for _, in := range ins {
		sm := in.scrapeManager()
		if sm == nil {
			continue
		}
		for group, ts := range sm.TargetsActive() {
			for _, t := range ts {
				out = append(out, targetOf(in.name, group, t, lb))
			}
		}
	}
	slices.SortFunc(out, func(a, b Target) int {
		return cmp.Or(strings.Compare(a.Instance, b.Instance), strings.Compare(a.TargetGroup, b.TargetGroup),
			strings.Compare(a.Labels["job"], b.Labels["job"]), strings.Compare(a.Labels["instance"], b.Labels["instance"]))
	})
	return out
}

func targetOf(instance, group string, t *scrape.Target, lb *labels.Builder) Target {
	var errText string
	if err := t.LastError(); err != nil {
		errText = err.Error()
	}
	return Target{
		Instance:         instance,
		TargetGroup:      group,
		Endpoint:         t.URL().String(),
		State:            string(t.Health()),
		Labels:           t.Labels(lb).Map(),
		DiscoveredLabels: t.DiscoveredLabels(lb).Map(),
		LastScrape:       t.LastScrape(),
		ScrapeDurationMS: t.LastScrapeDuration().Milliseconds(),
		ScrapeError:      errText,
	}
}

// scrapeManager is the instance's scrape manager, nil when not scraping.
func (in *instance) scrapeManager() *scrape.Manager {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.scrape
}

// InstanceStatus is what an agent reports of one instance.
type InstanceStatus struct {
	Name   string
	Source string
	// State is running, draining (stopped, sending its WAL) or failed.
	State          string
	Error          string
	TargetsUp      int
	TargetsDown    int
	TargetsUnknown int
	// LastError is the scrape error of a down target, for a first look.
	LastError string
}

// Status reports every instance: running, draining and failed.
func (m *Manager) Status() []InstanceStatus {
	m.mu.Lock()
	var out []InstanceStatus
	running := make(map[string]*instance, len(m.running))
	for name, in := range m.running {
		running[name] = in
	}
	for name, in := range m.draining {
		if running[name] == nil {
			out = append(out, InstanceStatus{Name: name, Source: in.cfg.source, State: "draining"})
		}
	}
	for name, f := range m.failed {
		if running[name] == nil {
			out = append(out, InstanceStatus{Name: name, Source: f.source, State: "failed", Error: f.err})
		}
	}
	failed := m.failed
	m.mu.Unlock()
	for name, in := range running {
		st := InstanceStatus{Name: name, Source: in.cfg.source, State: "running", Error: failed[name].err}
		if sm := in.scrapeManager(); sm != nil {
			for _, ts := range sm.TargetsActive() {
				for _, t := range ts {
					switch t.Health() {
					case scrape.HealthGood:
						st.TargetsUp++
					case scrape.HealthBad:
						st.TargetsDown++
						if st.LastError == "" && t.LastError() != nil {
							st.LastError = t.URL().String() + ": " + t.LastError().Error()
						}
					default:
						st.TargetsUnknown++
					}
				}
			}
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b InstanceStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Gather implements prometheus.Gatherer: the Prometheus packages' own
// series of every instance (scrapes, WAL, remote_write), labelled with
// instance_name.
func (m *Manager) Gather() ([]*dto.MetricFamily, error) {
	m.mu.Lock()
	gs := make(prometheus.Gatherers, 0, len(m.running)+len(m.draining))
	for _, in := range m.running {
		gs = append(gs, in.reg)
	}
	for _, in := range m.draining {
		gs = append(gs, in.reg)
	}
	m.mu.Unlock()
	return gs.Gather()
}

// escapeName makes an instance name a single directory name.
func escapeName(name string) string {
	return url.PathEscape(name)
}
