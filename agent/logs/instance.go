package logs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

const (
	// readChunk is how much of a file one read takes.
	readChunk = 64 << 10
	// maxLineSize bounds a line held in memory; a longer one is sent in
	// parts of this size (Loki's own default limit is 256 KiB).
	maxLineSize = 256 << 10
	// drainIdle is how long a file that left its glob (rotated away or
	// deleted) is still read after its last new byte: a program writes
	// to the file it has open until it reopens its log.
	drainIdle = 5 * time.Second
	// flushTimeout bounds how long a stopping instance waits for the
	// push of what it has read; what is not pushed by then is read
	// again at the next start.
	flushTimeout = 5 * time.Second
	// entryQueue bounds the lines read ahead of the pusher.
	entryQueue = 1024
)

// entry is one line of a file.
type entry struct {
	file *tailFile
	gen  uint64 // the file's generation when read (truncation bumps it)
	ts   int64  // unix ns
	line string
	end  int64 // the offset just past the line
}

// target is one targetSpec and the files it tails.
type target struct {
	spec   targetSpec
	ready  atomic.Bool
	stored []position // the positions file's entries of this target, at start
	// files are owned by the reader loop; the API and the pusher read
	// them under instance.mu.
	files map[fileID]*tailFile
}

// tailFile is one file being tailed.
type tailFile struct {
	id     fileID
	target *target
	f      *os.File
	labels map[string]string

	// Owned by the reader loop.
	readOff  int64
	partial  []byte
	lastTS   int64
	leftAt   time.Time // when the file left its glob; zero while matched
	lastData time.Time

	// Under instance.mu.
	path  string
	gen   uint64
	acked int64
	fp    string
	fpLen int
}

// instance runs one logs instance: a reader loop that follows the files
// and a pusher that batches their lines to the clients.
type instance struct {
	cfg     *InstanceConfig
	hash    string
	posPath string
	logger  hclog.Logger
	targets []*target
	push    *pusher

	entries    chan entry
	stopCh     chan struct{}
	readerDone chan struct{}
	pusherDone chan struct{}
	ctx        context.Context
	cancel     context.CancelFunc

	mu     sync.Mutex
	byPath map[string]*tailFile // reader loop only
	saveMu sync.Mutex
}

func newInstance(cfg *InstanceConfig, hash, posPath string, logger hclog.Logger) (*instance, error) {
	stored, err := readPositions(posPath)
	if err != nil {
		return nil, err
	}
	push, err := newPusher(cfg, logger)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{cfg: cfg, hash: hash, posPath: posPath, logger: logger,
		push: push, entries: make(chan entry, entryQueue), stopCh: make(chan struct{}),
		readerDone: make(chan struct{}), pusherDone: make(chan struct{}), ctx: ctx, cancel: cancel,
		byPath: map[string]*tailFile{}}
	for _, ts := range targetsOf(cfg) {
		t := &target{spec: ts, files: map[fileID]*tailFile{}}
		for _, p := range stored {
			if p.Target == ts.key() {
				t.stored = append(t.stored, p)
			}
		}
		in.targets = append(in.targets, t)
	}
	return in, nil
}

func (in *instance) start() {
	go in.readLoop()
	go func() {
		defer close(in.pusherDone)
		in.push.run(in.ctx, in.entries, in.acked)
	}()
}

// stop ends the reader, lets the pusher send what was read (for at most
// flushTimeout), saves the positions and closes the files.
func (in *instance) stop() {
	close(in.stopCh)
	<-in.readerDone
	t := time.AfterFunc(flushTimeout, in.cancel)
	<-in.pusherDone
	t.Stop()
	in.cancel()
	if err := in.savePositions(); err != nil {
		in.logger.Error("saving the positions file", "path", in.posPath, "error", err)
	}
	for _, t := range in.targets {
		for _, tf := range t.files {
			tf.f.Close()
		}
	}
}

// readLoop follows the targets' files until stop: directory events say
// when to read or match the globs again; a glob whose directory cannot be
// watched is matched every sync_period.
func (in *instance) readLoop() {
	defer close(in.readerDone)
	defer close(in.entries)
	w, err := fsnotify.NewWatcher()
	if err != nil {
		in.logger.Error("no file events, matching globs every sync_period instead", "error", err)
	} else {
		defer w.Close()
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		events, errs = w.Events, w.Errors
	}
	poll := in.watch(w)
	in.sync()
	var pollC <-chan time.Time
	if poll {
		t := time.NewTicker(time.Duration(in.cfg.TargetConfig.SyncPeriod))
		defer t.Stop()
		pollC = t.C
	}
	// While a file that left its glob is open, a tick every second reads
	// it: nothing else tells of its writes. Armed once, not on every
	// event, so that a busy file cannot put it off.
	var drain <-chan time.Time
	for {
		if drain == nil && in.draining() {
			drain = time.After(time.Second)
		}
		select {
		case <-in.stopCh:
			return
		case ev := <-events:
			if tf := in.byPath[ev.Name]; tf != nil && ev.Op == fsnotify.Write {
				in.read(tf)
			} else if ev.Op != fsnotify.Chmod {
				in.sync()
			}
		case err := <-errs:
			// An overflowed event queue lost events: match everything.
			in.logger.Warn("file events", "error", err)
			in.sync()
		case <-pollC:
			in.watch(w)
			in.sync()
		case <-drain:
			drain = nil
			in.sync()
		}
	}
}

// watch adds a watch on each glob's directory; it says whether one of
// them could not be watched (a glob in the directory, or a directory not
// there yet).
func (in *instance) watch(w *fsnotify.Watcher) (poll bool) {
	if w == nil {
		return true
	}
	for _, t := range in.targets {
		dir := filepath.Dir(t.spec.glob)
		if hasMeta(dir) {
			poll = true
			continue
		}
		if err := w.Add(dir); err != nil {
			poll = true
		}
	}
	return poll
}

func hasMeta(path string) bool { return strings.ContainsAny(path, `*?[\`) }

// draining says whether a file that left its glob is still open.
func (in *instance) draining() bool {
	for _, t := range in.targets {
		for _, tf := range t.files {
			if !tf.leftAt.IsZero() {
				return true
			}
		}
	}
	return false
}

// sync matches the globs, opens the new files, notes the ones that left,
// reads everything, and closes what left and has been idle for
// drainIdle.
func (in *instance) sync() {
	now := time.Now()
	byPath := map[string]*tailFile{}
	for _, t := range in.targets {
		matches, _ := filepath.Glob(t.spec.glob)
		seen := map[fileID]bool{}
		for _, path := range matches {
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			id, ok := idOf(fi)
			if !ok || seen[id] {
				continue
			}
			seen[id] = true
			tf := t.files[id]
			if tf == nil {
				if tf = in.open(t, path, id); tf == nil {
					continue
				}
			}
			in.mu.Lock()
			tf.path = path
			in.mu.Unlock()
			tf.leftAt = time.Time{}
			byPath[path] = tf
		}
		for id, tf := range t.files {
			if !seen[id] && tf.leftAt.IsZero() {
				tf.leftAt, tf.lastData = now, now
			}
		}
		t.ready.Store(true)
	}
	in.byPath = byPath
	for _, t := range in.targets {
		for id, tf := range t.files {
			if !in.read(tf) {
				return
			}
			if !tf.leftAt.IsZero() && now.Sub(tf.lastData) >= drainIdle {
				in.logger.Debug("closing a file that left its glob", "path", tf.path)
				tf.f.Close()
				in.mu.Lock()
				delete(t.files, id)
				in.mu.Unlock()
			}
		}
	}
}

// open starts tailing a file newly matched, where the positions file left
// it.
func (in *instance) open(t *target, path string, id fileID) *tailFile {
	f, err := os.Open(path)
	if err != nil {
		in.logger.Warn("cannot open a matched file", "path", path, "error", err)
		return nil
	}
	fi, err := f.Stat()
	if got, ok := idOf(fi); err != nil || !ok || got != id {
		f.Close() // replaced between the match and the open: the next sync finds it
		return nil
	}
	off := resume(t.stored, t.spec.key(), id, f, fi.Size())
	labels := map[string]string{filenameLabel: path}
	for k, v := range t.spec.labels {
		labels[string(k)] = string(v)
	}
	tf := &tailFile{id: id, target: t, f: f, labels: labels, readOff: off, path: path, acked: off}
	in.mu.Lock()
	t.files[id] = tf
	in.mu.Unlock()
	in.logger.Debug("tailing", "path", path, "offset", off)
	return tf
}

// read sends every complete line of tf past its read offset; false when
// the instance stopped meanwhile.
func (in *instance) read(tf *tailFile) bool {
	fi, err := tf.f.Stat()
	if err != nil {
		return true
	}
	size := fi.Size()
	if size < tf.readOff {
		in.logger.Info("file truncated, reading it from its start", "path", tf.path, "size", size, "offset", tf.readOff)
		tf.readOff, tf.partial = 0, nil
		in.mu.Lock()
		tf.gen++
		tf.acked, tf.fp, tf.fpLen = 0, "", 0
		in.mu.Unlock()
	}
	in.mu.Lock()
	gen := tf.gen
	in.mu.Unlock()
	buf := make([]byte, readChunk)
	for tf.readOff < size {
		n, err := tf.f.ReadAt(buf[:min(int64(len(buf)), size-tf.readOff)], tf.readOff)
		if n == 0 {
			if err != nil {
				in.logger.Warn("reading", "path", tf.path, "error", err)
			}
			return true
		}
		chunk := buf[:n]
		base := tf.readOff
		tf.readOff += int64(n)
		tf.lastData = time.Now()
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				tf.partial = append(tf.partial, chunk...)
				if len(tf.partial) >= maxLineSize {
					if !in.emit(tf, gen, tf.partial[:maxLineSize], tf.readOff-int64(len(tf.partial)-maxLineSize)) {
						return false
					}
					tf.partial = append([]byte(nil), tf.partial[maxLineSize:]...)
				}
				break
			}
			line := chunk[:i]
			if len(tf.partial) > 0 {
				line = append(tf.partial, line...)
				tf.partial = tf.partial[:0]
			}
			end := base + int64(n-len(chunk)) + int64(i) + 1
			for len(line) > maxLineSize {
				if !in.emit(tf, gen, line[:maxLineSize], end-1-int64(len(line)-maxLineSize)) {
					return false
				}
				line = line[maxLineSize:]
			}
			if !in.emit(tf, gen, line, end) {
				return false
			}
			chunk = chunk[i+1:]
		}
	}
	return true
}

// emit queues one line, with a timestamp that never goes back within the
// file's stream (Loki refuses older entries within a stream).
func (in *instance) emit(tf *tailFile, gen uint64, line []byte, end int64) bool {
	ts := time.Now().UnixNano()
	if ts <= tf.lastTS {
		ts = tf.lastTS + 1
	}
	tf.lastTS = ts
	select {
	case in.entries <- entry{file: tf, gen: gen, ts: ts, line: string(line), end: end}:
		return true
	case <-in.stopCh:
		return false
	}
}

// acked records that every client took (or for good refused) the
// batch's lines, and saves the positions.
func (in *instance) acked(b *batch) {
	in.mu.Lock()
	for _, e := range b.entries {
		tf := e.file
		if e.gen == tf.gen && e.end > tf.acked {
			tf.acked = e.end
		}
	}
	in.mu.Unlock()
	if err := in.savePositions(); err != nil {
		in.logger.Error("saving the positions file", "path", in.posPath, "error", err)
	}
}

// savePositions writes every open file's acknowledged offset.
func (in *instance) savePositions() error {
	in.saveMu.Lock()
	defer in.saveMu.Unlock()
	var out []position
	in.mu.Lock()
	for _, t := range in.targets {
		for _, tf := range t.files {
			if n := int(min(tf.acked, fingerprintLen)); n > tf.fpLen {
				if fp, ok := fingerprint(tf.f, n); ok {
					tf.fp, tf.fpLen = fp, n
				}
			}
			out = append(out, position{Target: t.spec.key(), Path: tf.path, Dev: tf.id.dev, Ino: tf.id.ino,
				Offset: tf.acked, Fingerprint: tf.fp, FingerprintLen: tf.fpLen})
		}
	}
	in.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return out[i].Path < out[j].Path
	})
	return writePositions(in.posPath, out)
}

// Target is one logs target as /agent/api/v1/logs/targets shows it.
type Target struct {
	Instance         string            `json:"instance"`
	TargetGroup      string            `json:"target_group"`
	Type             string            `json:"type"`
	Labels           map[string]string `json:"labels"`
	DiscoveredLabels map[string]string `json:"discovered_labels"`
	Ready            bool              `json:"ready"`
	// Details are the target's files and the offset up to which their
	// lines were pushed.
	Details map[string]int64 `json:"details"`
}

func (in *instance) targetList() []Target {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Target, 0, len(in.targets))
	for _, t := range in.targets {
		tg := Target{Instance: in.cfg.Name, TargetGroup: t.spec.job, Type: "File", Ready: t.ready.Load(),
			Labels: map[string]string{}, DiscoveredLabels: map[string]string{}, Details: map[string]int64{}}
		for k, v := range t.spec.labels {
			tg.Labels[string(k)] = string(v)
		}
		for k, v := range t.spec.discovered {
			tg.DiscoveredLabels[k] = v
		}
		for _, tf := range t.files {
			tg.Details[tf.path] = tf.acked
		}
		out = append(out, tg)
	}
	return out
}

// streamLabels are a file's stream labels with a client's external
// labels under them.
func streamLabels(tf *tailFile, external map[string]string) map[string]string {
	out := make(map[string]string, len(tf.labels)+len(external))
	for k, v := range external {
		out[k] = v
	}
	for k, v := range tf.labels {
		out[k] = v
	}
	return out
}
