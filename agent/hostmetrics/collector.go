package hostmetrics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadlike/nomadlike/structs"
)

// Collector builds spec 004's payload. Host figures, processes and
// containers are read on each Collect; health checks run in the
// background on their own intervals (from Start) and Collect reports the
// latest result of each.
type Collector struct {
	cfg    Config
	logger hclog.Logger
	docker *docker
	checks []*checkRunner

	// mu serialises Collect: the baseline is read and replaced as one.
	mu   sync.Mutex
	base baseline
	// dockerDown remembers that the daemon was unreachable, so that is
	// logged once per outage, not once per interval.
	dockerDown bool

	resMu   sync.Mutex
	results []checkResult // by check, zero until it first ran

	// runMu guards the checks' goroutines: ctx is Start's (nil before
	// it), cancel ends the goroutines of the checks of now, wg waits for
	// them; stopped is set by Stop.
	runMu   sync.Mutex
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
}

// New checks cfg and fills its defaults. A ca_file that cannot be read is
// an error here, not a failing check later.
func New(cfg Config, logger hclog.Logger) (*Collector, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	cfg = cfg.withDefaults()
	c := &Collector{cfg: cfg, logger: logger.Named("host_metrics"), docker: newDocker(cfg.DockerSocket),
		results: make([]checkResult, len(cfg.Checks))}
	var errs []error
	for _, ch := range cfg.Checks {
		r, err := newCheckRunner(ch)
		errs = append(errs, err)
		c.checks = append(c.checks, r)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Start takes the CPU baseline, so the first Collect after it reports CPU
// percentages, and starts the health checks (each runs at once, then on
// its interval) until ctx ends or Stop. A second Start does nothing.
func (c *Collector) Start(ctx context.Context) {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if c.ctx != nil || c.stopped {
		return
	}
	c.mu.Lock()
	c.cpuPercent(ctx)
	c.topProcesses(ctx)
	c.mu.Unlock()
	c.ctx = ctx
	c.startChecksLocked()
}

// startChecksLocked starts a goroutine per check; runMu is held.
func (c *Collector) startChecksLocked() {
	ctx, cancel := context.WithCancel(c.ctx)
	c.cancel = cancel
	for i, r := range c.checks {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.runCheck(ctx, i, r)
		}()
	}
}

// Stop stops the checks and waits for them. Collect still works after it,
// with the checks' last results.
func (c *Collector) Stop() {
	c.runMu.Lock()
	c.stopped = true
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	c.runMu.Unlock()
	c.docker.close()
}

// SetChecks replaces the health checks (an agent's reload): a check that
// is not valid leaves the running ones as they are. The new checks run
// at once; until each has, a check that is the same as before keeps its
// last result in the payload, and a removed one is gone from it.
func (c *Collector) SetChecks(checks []Check) error {
	checks = checksWithDefaults(checks, c.cfg.Interval)
	runners := make([]*checkRunner, 0, len(checks))
	var errs []error
	for _, ch := range checks {
		r, err := newCheckRunner(ch)
		errs = append(errs, err)
		runners = append(runners, r)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.runMu.Lock()
	defer c.runMu.Unlock()
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
	}
	results := make([]checkResult, len(runners))
	c.resMu.Lock()
	for i, r := range runners {
		for j, old := range c.checks {
			if old.check == r.check {
				results[i] = c.results[j]
				break
			}
		}
	}
	c.checks, c.results = runners, results
	c.resMu.Unlock()
	if c.ctx != nil && !c.stopped {
		c.startChecksLocked()
	}
	return nil
}

func (c *Collector) runCheck(ctx context.Context, i int, r *checkRunner) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res := r.run(ctx)
		if ctx.Err() != nil {
			return // cut short by the stop, not the check's own failure
		}
		c.resMu.Lock()
		c.results[i] = res
		c.resMu.Unlock()
		t.Reset(r.check.Interval)
	}
}

// Collect builds one payload. Figures it cannot read are left out; a
// percentage without a previous reading is left out (see Start). Safe for
// concurrent use; calls are serialised.
func (c *Collector) Collect(ctx context.Context) *structs.HostMetrics {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := &structs.HostMetrics{}
	c.collectHost(ctx, m)
	m.TopProcesses = c.topProcesses(ctx)
	c.collectDocker(ctx, m)
	c.resMu.Lock()
	for _, r := range c.results {
		switch {
		case r.http != nil:
			m.ServiceHealthChecks = append(m.ServiceHealthChecks, *r.http)
		case r.tcp != nil:
			m.TCPCheckResults = append(m.TCPCheckResults, *r.tcp)
		case r.cert != nil:
			m.CertCheckResults = append(m.CertCheckResults, *r.cert)
		}
	}
	c.resMu.Unlock()
	if c.cfg.ServerHealthy != nil {
		m.ServerHealthy = ptr(c.cfg.ServerHealthy())
	}
	m.AgentVersion = optional(c.cfg.AgentVersion)
	m.CollectedAt = ptr(formatTime(time.Now()))
	return m
}

func (c *Collector) collectDocker(ctx context.Context, m *structs.HostMetrics) {
	infos, services, err := c.docker.containers(ctx, c.cfg.MaxContainers)
	switch {
	case err != nil && unreachable(err):
		if !c.dockerDown {
			c.logger.Debug("docker engine not reachable; no containers reported", "socket", c.cfg.DockerSocket, "error", err)
		}
		c.dockerDown = true
		return
	case err != nil:
		c.logger.Warn("docker engine", "socket", c.cfg.DockerSocket, "error", err)
	}
	c.dockerDown = false
	m.Containers, m.Services = infos, services
}

// debug logs a figure that could not be read (a platform without it, a
// /proc that is not mounted): it is left out of the payload.
func (c *Collector) debug(what string, err error) {
	if err != nil {
		c.logger.Debug("figure left out", "figure", what, "error", err)
	}
}
