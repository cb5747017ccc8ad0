package nomadlike

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/structs"
)

// Worker statuses and workload statuses, with Nomad's names.
const (
	workerStarting = "Starting"
	workerStarted  = "Started"
	workerPaused   = "Paused"
	workerStopping = "Stopping"
	workerStopped  = "Stopped"

	workloadWaitingToDequeue = "WaitingToDequeue"
	workloadScheduling       = "Scheduling"
	workloadSubmitting       = "Submitting"
	workloadBackoff          = "Backoff"
	workloadPaused           = "Paused"
	workloadStopped          = "Stopped"
)

// worker dequeues evaluations of its enabled scheduler types from the
// leader's broker and runs them. Workers run on every server; only the
// leader's dequeue (the broker lives on the leader and scheduling is a
// fraction of a raft write), so followers' workers report Paused.
type worker struct {
	id       string
	srv      *Server
	logger   hclog.Logger
	types    []string
	started  time.Time
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	status   string
	workload string
}

func newWorker(s *Server, types []string) *worker {
	id := uuid.NewString()
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{
		id: id, srv: s, logger: s.logger.Named("worker").With("worker_id", id),
		types: slices.Clone(types), started: time.Now(), cancel: cancel, done: make(chan struct{}),
		status: workerStarting, workload: workloadPaused,
	}
	go w.run(ctx)
	return w
}

func (w *worker) set(status, workload string) {
	w.mu.Lock()
	w.status, w.workload = status, workload
	w.mu.Unlock()
}

// info is the worker as /v1/agent/schedulers shows it.
func (w *worker) info() structs.SchedulerWorkerInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	return structs.SchedulerWorkerInfo{
		ID: w.id, EnabledSchedulers: slices.Clone(w.types),
		Started: w.started.UTC().Format(time.RFC3339Nano), Status: w.status, WorkloadStatus: w.workload,
	}
}

// stop ends the worker after the evaluation it is running, if any.
func (w *worker) stop() {
	w.set(workerStopping, w.info().WorkloadStatus)
	w.cancel()
	<-w.done
}

func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	defer w.set(workerStopped, workloadStopped)
	backoff := 0
	for ctx.Err() == nil {
		// Take the channel before looking, so that a change in between
		// is not missed.
		changed := w.srv.leaderCh()
		if !w.srv.evalBroker.Enabled() {
			w.set(workerPaused, workloadPaused)
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			continue
		}
		w.set(workerStarted, workloadWaitingToDequeue)
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		d, err := w.srv.evalBroker.Dequeue(dctx, w.types)
		cancel()
		if err != nil {
			continue
		}
		eval := d.Eval
		if err := w.process(ctx, d); err != nil {
			w.logger.Warn("evaluation failed", "eval_id", eval.ID, "type", eval.Type, "error", err)
			if nerr := w.srv.evalBroker.Nack(eval.ID, d.Token); nerr != nil && !errors.Is(nerr, errUnknownDelivery) {
				w.logger.Error("evaluation dropped", "eval_id", eval.ID, "error", nerr)
			}
			backoff = min(backoff+1, 5)
			w.set(workerStarted, workloadBackoff)
			select {
			case <-ctx.Done():
			case <-time.After(time.Duration(backoff) * 200 * time.Millisecond):
			}
			continue
		}
		backoff = 0
		if err := w.srv.evalBroker.Ack(eval.ID, d.Token); err != nil {
			w.logger.Warn("evaluation ack failed", "eval_id", eval.ID, "error", err)
		}
	}
}

// process runs the evaluation's scheduler on the leader's own state, which
// already has the change that triggered it (the feeder read it there), so
// there is no index to wait for. While it runs it keeps the
// delivery alive; once the delivery is lost (timed out anyway, or the
// leadership is gone) the scheduler's context ends and it writes nothing
// more, so two workers never write for one key at once.
func (w *worker) process(parent context.Context, d *delivery) error {
	eval := d.Eval
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	go func() {
		t := time.NewTicker(w.srv.evalBroker.nackTimeout / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.Lost:
				cancel()
				return
			case <-t.C:
				if w.srv.evalBroker.Touch(eval.ID, d.Token) != nil {
					cancel()
					return
				}
			}
		}
	}()
	w.set(workerStarted, workloadScheduling)
	start := time.Now()
	submitting := func() error {
		w.set(workerStarted, workloadSubmitting)
		return ctx.Err()
	}
	var err error
	switch eval.Type {
	case structs.SchedulerPipeline:
		err = w.srv.schedulePipelines(eval, submitting)
	case structs.SchedulerConfig:
		err = w.srv.scheduleConfigs(eval, submitting)
	case structs.SchedulerCore:
		err = w.srv.runCore(eval, submitting)
	default:
		err = fmt.Errorf("unknown scheduler type %q", eval.Type)
	}
	metrics.MeasureSinceWithLabels(keyWorkerInvoke, start, schedulerLabel(eval.Type))
	outcome := "ack"
	if err != nil {
		outcome = "nack"
	}
	metrics.IncrCounterWithLabels(keyWorkerProcessed, 1,
		[]metrics.Label{{Name: "scheduler", Value: eval.Type}, {Name: "outcome", Value: outcome}})
	w.logger.Debug("evaluation processed", "eval_id", eval.ID, "type", eval.Type, "key", eval.Key,
		"triggered_by", eval.TriggeredBy, "state_index", eval.StateIndex, "nodes", len(eval.NodeIDs), "took", time.Since(start), "error", err)
	return err
}

// workerPool is a server's scheduler workers and their configuration,
// which /v1/agent/schedulers/config changes at run time.
type workerPool struct {
	mu      sync.Mutex
	args    structs.SchedulerWorkerPoolArgs
	workers []*worker
}

// MaxSchedulers bounds num_schedulers: 4 workers per CPU, and at least
// 256. Nomad sets no bound, and a million workers were a million
// goroutines that cost the leader its leadership; see DESIGN.md.
func MaxSchedulers() int { return max(256, 4*runtime.NumCPU()) }

// ValidateSchedulerWorkerPoolArgs checks a worker pool configuration as
// Nomad does: no negative size, known types only, _core always there; and
// no more workers than MaxSchedulers.
func ValidateSchedulerWorkerPoolArgs(args structs.SchedulerWorkerPoolArgs) error {
	if args.NumSchedulers < 0 {
		return fmt.Errorf("num_schedulers %d must be 0 or more", args.NumSchedulers)
	}
	if limit := MaxSchedulers(); args.NumSchedulers > limit {
		return fmt.Errorf("num_schedulers %d must be at most %d (4 per CPU, at least 256)", args.NumSchedulers, limit)
	}
	for _, t := range args.EnabledSchedulers {
		if !slices.Contains(structs.SchedulerTypes, t) {
			return fmt.Errorf("unknown scheduler %q: must be one of %v", t, structs.SchedulerTypes)
		}
	}
	if !slices.Contains(args.EnabledSchedulers, structs.SchedulerCore) {
		return fmt.Errorf("enabled_schedulers must contain %q", structs.SchedulerCore)
	}
	return nil
}

// SetSchedulerWorkerConfig replaces the worker pool: workers of the old
// configuration finish the evaluation they run and stop, then the new
// ones start. It returns the configuration in effect.
func (s *Server) SetSchedulerWorkerConfig(args structs.SchedulerWorkerPoolArgs) (structs.SchedulerWorkerPoolArgs, error) {
	if err := ValidateSchedulerWorkerPoolArgs(args); err != nil {
		return s.SchedulerWorkerConfig(), err
	}
	// Duplicates dropped, order kept (it is the operator's).
	var types []string
	for _, t := range args.EnabledSchedulers {
		if !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	args.EnabledSchedulers = types
	p := &s.workers
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.isShutdown() {
		return p.args, structs.ErrShutdown
	}
	if p.args.NumSchedulers == args.NumSchedulers && slices.Equal(p.args.EnabledSchedulers, args.EnabledSchedulers) {
		return args, nil // as Nomad: nothing to restart
	}
	p.stopLocked()
	for range args.NumSchedulers {
		p.workers = append(p.workers, newWorker(s, args.EnabledSchedulers))
	}
	s.logger.Info("scheduler workers configured", "num_schedulers", args.NumSchedulers,
		"enabled_schedulers", args.EnabledSchedulers)
	p.args = args
	return args, nil
}

// stopLocked stops every worker at once, each after the evaluation it
// runs, and waits for them.
func (p *workerPool) stopLocked() {
	var wg sync.WaitGroup
	for _, w := range p.workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.stop() }()
	}
	wg.Wait()
	p.workers = nil
}

// SchedulerWorkerConfig is the worker pool's configuration in effect.
func (s *Server) SchedulerWorkerConfig() structs.SchedulerWorkerPoolArgs {
	s.workers.mu.Lock()
	defer s.workers.mu.Unlock()
	a := s.workers.args
	a.EnabledSchedulers = slices.Clone(a.EnabledSchedulers)
	return a
}

// SchedulerWorkersInfo lists the workers.
func (s *Server) SchedulerWorkersInfo() []structs.SchedulerWorkerInfo {
	s.workers.mu.Lock()
	defer s.workers.mu.Unlock()
	out := make([]structs.SchedulerWorkerInfo, 0, len(s.workers.workers))
	for _, w := range s.workers.workers {
		out = append(out, w.info())
	}
	return out
}

// stopWorkers stops every worker (shutdown).
func (s *Server) stopWorkers() {
	s.workers.mu.Lock()
	defer s.workers.mu.Unlock()
	s.workers.stopLocked()
}
