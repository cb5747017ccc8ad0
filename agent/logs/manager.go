package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Options configure a Manager.
type Options struct {
	// PositionsDir holds each instance's positions file unless its
	// config names one.
	PositionsDir string
	Logger       hclog.Logger
}

// Manager runs the agent's logs instances.
type Manager struct {
	opts Options

	mu        sync.Mutex
	instances map[string]*instance
	closed    bool
}

// New returns a Manager running nothing.
func New(opts Options) (*Manager, error) {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(opts.PositionsDir, 0o700); err != nil {
		return nil, fmt.Errorf("logs positions directory: %w", err)
	}
	return &Manager{opts: opts, instances: map[string]*instance{}}, nil
}

// Apply makes the running instances exactly specs: it first reads every
// spec and changes nothing if one is wrong; then an instance whose config
// is unchanged keeps running, a changed one is stopped (its read lines
// pushed, its positions saved) and started again, a removed one stopped.
func (m *Manager) Apply(specs []Spec) error {
	type want struct {
		spec    Spec
		cfg     *InstanceConfig
		posPath string
		hash    string
	}
	wants := map[string]want{}
	files := map[string]string{}
	var errs []error
	for _, s := range specs {
		if _, dup := wants[s.Name]; dup {
			errs = append(errs, fmt.Errorf("logs instance %q: defined twice", s.Name))
			continue
		}
		cfg, err := ParseInstanceConfig(s.YAML, s.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pos := cfg.Positions.Filename
		if pos == "" {
			pos = filepath.Join(m.opts.PositionsDir, s.Name+".positions.json")
		}
		if other, ok := files[pos]; ok {
			errs = append(errs, fmt.Errorf("logs instances %q and %q: the same positions file %s", other, s.Name, pos))
		}
		files[pos] = s.Name
		wants[s.Name] = want{s, cfg, pos, specHash(s.YAML, pos)}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("logs: manager closed")
	}
	for name, in := range m.instances {
		w, ok := wants[name]
		if !ok || w.hash != in.hash {
			in.stop()
			delete(m.instances, name)
		}
	}
	names := make([]string, 0, len(wants))
	for name := range wants {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if m.instances[name] != nil {
			continue
		}
		w := wants[name]
		in, err := newInstance(w.cfg, w.hash, w.posPath, m.opts.Logger.Named("logs").With("instance", name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in.start()
		in.logger.Info("logs instance started", "source", w.spec.Source, "positions", w.posPath)
		m.instances[name] = in
	}
	return errors.Join(errs...)
}

// Instances are the running instances' names, sorted.
func (m *Manager) Instances() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.instances))
	for name := range m.instances {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Targets are every running instance's targets, by instance then in
// config order.
func (m *Manager) Targets() []Target {
	m.mu.Lock()
	ins := make([]*instance, 0, len(m.instances))
	for _, in := range m.instances {
		ins = append(ins, in)
	}
	m.mu.Unlock()
	sort.Slice(ins, func(i, j int) bool { return ins[i].cfg.Name < ins[j].cfg.Name })
	out := []Target{}
	for _, in := range ins {
		out = append(out, in.targetList()...)
	}
	return out
}

// Close stops every instance, each pushing what it read and saving its
// positions.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	var wg sync.WaitGroup
	for name, in := range m.instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.stop()
		}()
		delete(m.instances, name)
	}
	wg.Wait()
	return nil
}
