// Package profile takes the runtime profiles of GET /v1/agent/pprof/*:
// the command line, CPU profiles, execution traces and the named runtime
// profiles (goroutine, heap, ...), each with the HTTP headers Go's
// net/http/pprof answers with. Servers and clients call it when they are
// the target of a request, the agent when it answers for itself.
package profile

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// MaxSeconds bounds a CPU profile or trace: the profile runs in the
// server's memory (a trace of an hour is gigabytes) and holds the
// process's one CPU profiler meanwhile.
const MaxSeconds = 300

// Take runs the profile req asks for. Seconds of 0 or less is one second.
// An unknown profile is a 404, a profile of the same kind already running
// in this process a 409; the bad request type and a duration over
// MaxSeconds are 400s.
func Take(ctx context.Context, req *structs.AgentPprofRequest) ([]byte, map[string]string, error) {
	if req.Seconds > MaxSeconds {
		return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "seconds %d is more than the limit of %d", req.Seconds, MaxSeconds)
	}
	switch req.ReqType {
	case structs.PprofCmdline:
		return Cmdline()
	case structs.PprofCPU:
		return CPUProfile(ctx, req.Seconds)
	case structs.PprofTrace:
		return Trace(ctx, req.Seconds)
	case structs.PprofLookup:
		return Lookup(req.Profile, req.Debug, req.GC)
	}
	return nil, nil, structs.NewErrCoded(http.StatusBadRequest, "unknown pprof request type %q", req.ReqType)
}

// Cmdline is the process's arguments separated by NUL bytes.
func Cmdline() ([]byte, map[string]string, error) {
	return []byte(strings.Join(os.Args, "\x00")), map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Content-Type":           "text/plain; charset=utf-8",
	}, nil
}

// CPUProfile profiles the process for seconds (or until ctx ends).
func CPUProfile(ctx context.Context, seconds int) ([]byte, map[string]string, error) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		// The only failure is a profile already running.
		return nil, nil, structs.NewErrCoded(http.StatusConflict, "Could not enable CPU profiling: %v", err)
	}
	sleep(ctx, seconds)
	pprof.StopCPUProfile()
	return buf.Bytes(), binaryHeaders("profile"), nil
}

// Trace records an execution trace for seconds (or until ctx ends).
func Trace(ctx context.Context, seconds int) ([]byte, map[string]string, error) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		return nil, nil, structs.NewErrCoded(http.StatusConflict, "Could not enable tracing: %v", err)
	}
	sleep(ctx, seconds)
	trace.Stop()
	return buf.Bytes(), binaryHeaders("trace"), nil
}

// Lookup writes the named runtime profile: binary with debug 0, text
// otherwise. gc > 0 collects garbage first, so a heap profile is current.
func Lookup(name string, debug, gc int) ([]byte, map[string]string, error) {
	p := pprof.Lookup(name)
	if p == nil {
		return nil, nil, structs.NewErrCoded(http.StatusNotFound, "Pprof profile not found profile: %s", name)
	}
	if name == "heap" && gc > 0 {
		runtime.GC()
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, debug); err != nil {
		return nil, nil, fmt.Errorf("writing profile %s: %w", name, err)
	}
	headers := binaryHeaders(name)
	if debug != 0 {
		headers = map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Content-Type":           "text/plain; charset=utf-8",
		}
	}
	return buf.Bytes(), headers, nil
}

func binaryHeaders(filename string) map[string]string {
	return map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Content-Type":           "application/octet-stream",
		"Content-Disposition":    fmt.Sprintf("attachment; filename=%q", filename),
	}
}

func sleep(ctx context.Context, seconds int) {
	t := time.NewTimer(time.Duration(max(seconds, 1)) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
