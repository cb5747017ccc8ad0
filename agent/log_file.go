package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// defaultLogFileName is the file written when log_file names a directory
// (ends with a slash or is one), as Nomad writes nomad.log.
const defaultLogFileName = "nomadlike.log"

// LogFile is the agent's log_file: it rotates when the file passes
// log_rotate_bytes or is older than log_rotate_duration, renaming it to
// <name>-<unix nanoseconds><ext>, and keeps at most log_rotate_max_files
// of those archives (0 keeps all), as Nomad's log_file does.
type LogFile struct {
	mu       sync.Mutex
	path     string
	maxBytes int
	maxAge   time.Duration
	maxFiles int

	f       *os.File
	size    int
	created time.Time
}

// OpenLogFile opens c's log_file for the agent's logger; nil when none is
// set.
func OpenLogFile(c *Config) (*LogFile, error) {
	path := *c.LogFile
	if path == "" {
		return nil, nil
	}
	if st, err := os.Stat(path); strings.HasSuffix(path, string(os.PathSeparator)) || (err == nil && st.IsDir()) {
		path = filepath.Join(path, defaultLogFileName)
	}
	age, err := time.ParseDuration(*c.LogRotateDuration)
	if err != nil {
		return nil, fmt.Errorf("log_rotate_duration: %w", err)
	}
	l := &LogFile{path: path, maxBytes: *c.LogRotateBytes, maxAge: age, maxFiles: *c.LogRotateMaxFiles}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *LogFile) open() error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return fmt.Errorf("log_file: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("log_file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log_file: %w", err)
	}
	l.f, l.size, l.created = f, int(st.Size()), time.Now()
	return nil
}

// Write writes one log line, rotating first when it is time.
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && ((l.maxBytes > 0 && l.size+len(p) > l.maxBytes) ||
		(l.maxAge > 0 && time.Since(l.created) >= l.maxAge)) {
		if err := l.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := l.f.Write(p)
	l.size += n
	return n, err
}

// rotate archives the current file and opens a new one.
func (l *LogFile) rotate() error {
	l.f.Close()
	ext := filepath.Ext(l.path)
	archive := fmt.Sprintf("%s-%d%s", strings.TrimSuffix(l.path, ext), time.Now().UnixNano(), ext)
	if err := os.Rename(l.path, archive); err != nil {
		return fmt.Errorf("log_file: rotating: %w", err)
	}
	if err := l.open(); err != nil {
		return err
	}
	return l.prune()
}

// prune removes the oldest archives beyond maxFiles.
func (l *LogFile) prune() error {
	if l.maxFiles <= 0 {
		return nil
	}
	ext := filepath.Ext(l.path)
	archives, err := filepath.Glob(strings.TrimSuffix(l.path, ext) + "-*" + ext)
	if err != nil {
		return err
	}
	// Names differ only in the nanosecond stamp, all of the same width
	// for centuries: lexical order is age order.
	slices.Sort(archives)
	for len(archives) > l.maxFiles {
		if err := os.Remove(archives[0]); err != nil {
			return fmt.Errorf("log_file: pruning: %w", err)
		}
		archives = archives[1:]
	}
	return nil
}

// Close closes the file.
func (l *LogFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
