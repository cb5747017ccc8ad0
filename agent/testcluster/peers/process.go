// Package peers runs the real programs nomadlike's metrics agent talks to
// and is compared with, for end-to-end tests and benchmarks: Prometheus
// (as a server with its remote-write receiver, or in agent mode),
// prometheus-node-exporter and vmagent, each from its Debian package, as
// child processes on random 127.0.0.1 ports with their own temp dirs. It
// also holds the in-process peers: a synthetic exporter with N targets of
// M realistic series, and a remote_write sink that counts what it is sent.
//
// It is test tooling: the nomadlike binary must never import it.
package peers

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireBinary returns the path of name, or fails the test (never skips:
// CI installs the packages) with the apt-get line that provides it.
func RequireBinary(t Fataler, name, aptPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (not in PATH); install it with: sudo apt-get install -y %s", name, aptPackage)
	}
	return p
}

// Fataler is the part of testing.TB RequireBinary uses.
type Fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Process is one child process that can be stopped and started again with
// the same command line (so on the same port and data dir). It dies with
// the test binary (PDEATHSIG) and is killed at test cleanup.
type Process struct {
	Name string
	Path string
	Args []string
	// Dir is the working directory (some programs write relative paths).
	Dir string

	t       testing.TB
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	// logged is set once the log tail is in the test's output.
	logged bool
}

// logOnFailure puts the log tail into the test's output at cleanup when
// the test failed and the tail is not there yet.
func (p *Process) logOnFailure() {
	p.t.Cleanup(func() {
		p.mu.Lock()
		logged := p.logged
		p.mu.Unlock()
		if p.t.Failed() && !logged {
			p.t.Logf("---- %s (last lines) ----\n%s", p.Name, p.LogTail(40))
		}
	})
}

// fatalWithLog fails the test with msg and the log tail.
func (p *Process) fatalWithLog(format string, args ...any) {
	p.t.Helper()
	p.mu.Lock()
	p.logged = true
	p.mu.Unlock()
	p.t.Fatalf("%s; %s log:\n%s", fmt.Sprintf(format, args...), p.Name, p.LogTail(40))
}

// newProcess prepares a process whose output goes to <dir>/<name>.log.
func newProcess(t testing.TB, dir, name, path string, args ...string) *Process {
	p := &Process{Name: name, Path: path, Args: args, Dir: dir, t: t,
		logPath: filepath.Join(dir, name+".log")}
	t.Cleanup(p.Kill)
	return p
}

// start launches the process; it fails the test if it is already running.
func (p *Process) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatalf("%s is already running", p.Name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(logf, "==== start %s %s %s\n", time.Now().Format(time.RFC3339Nano), p.Path, strings.Join(p.Args, " "))
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// The child dies with the test binary even when the test is killed
	// before its cleanups run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		p.t.Fatalf("starting %s: %v", p.Name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	p.cmd, p.exited = cmd, exited
}

// PID is the running process's ID (0 when stopped).
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running tells whether the process was started and not stopped.
func (p *Process) Running() bool { return p.PID() != 0 }

// Exited tells whether a started process ended on its own (a crash, a bad
// flag, a bad config file), as opposed to being stopped.
func (p *Process) Exited() bool {
	p.mu.Lock()
	exited, running := p.exited, p.cmd != nil
	p.mu.Unlock()
	if !running {
		return false
	}
	select {
	case <-exited:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits for the exit (SIGKILL after 30 s).
func (p *Process) Stop() { p.signal(syscall.SIGTERM) }

// Kill sends SIGKILL and waits for the exit.
func (p *Process) Kill() { p.signal(syscall.SIGKILL) }

func (p *Process) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Log is the process's output so far (every run, each after a ==== line).
func (p *Process) Log() string {
	buf, _ := os.ReadFile(p.logPath)
	return string(buf)
}

// LogTail is the last n lines of Log.
func (p *Process) LogTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitReady polls url until it answers 200, failing the test with the
// process's log tail when the deadline passes or the process exits.
func (p *Process) waitReady(url string, timeout time.Duration) {
	p.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if p.Exited() {
			p.fatalWithLog("%s exited before it was ready", p.Name)
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		last = err
		if time.Now().After(deadline) {
			p.fatalWithLog("%s not ready after %s: %v", p.Name, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ProcStat is a process's CPU time and memory from /proc.
type ProcStat struct {
	// CPU is utime+stime of the process plus cutime+cstime of its
	// children that it has waited for.
	CPU time.Duration
	// RSS is the resident set size now (VmRSS), HWM the peak (VmHWM).
	RSS, HWM uint64
}

// ReadProcStat reads /proc/<pid>/stat and /proc/<pid>/status.
func ReadProcStat(pid int) (ProcStat, error) {
	var st ProcStat
	buf, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted from the last ')'.
	s := string(buf)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return st, fmt.Errorf("/proc/%d/stat: no ')' in %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime..cstime are fields 14..17.
	if len(f) < 15 {
		return st, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var ticks uint64
	for _, field := range f[11:15] {
		v, err := strconv.ParseUint(field, 10, 64)
		if err != nil {
			return st, fmt.Errorf("/proc/%d/stat: %v", pid, err)
		}
		ticks += v
	}
	// USER_HZ is 100 on every Linux ABI Go supports.
	st.CPU = time.Duration(ticks) * (time.Second / 100)

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		fields := strings.Fields(val) // "1234 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return st, fmt.Errorf("/proc/%d/status: %q", pid, line)
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return st, err
		}
		if name == "VmRSS" {
			st.RSS = kb * 1024
		} else {
			st.HWM = kb * 1024
		}
	}
	if st.HWM == 0 {
		return st, errors.New("no VmHWM in /proc status (a zombie?)")
	}
	return st, nil
}
