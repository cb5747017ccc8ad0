package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// HostDataResponse is the answer of /v1/agent/host.
type HostDataResponse struct {
	// AgentID names the agent that answered: a server's gossip name
	// ("server1.global") or a client's node ID.
	AgentID string
	// HostData describes its host.
	HostData *HostData `json:",omitempty"`
}

// HostData describes the host an agent runs on, as Nomad reports it.
type HostData struct {
	// OS is uname's machine, node name, release, system and version.
	OS string
	// Network has one map of attributes per interface address.
	Network []map[string]string
	// ResolvConf is /etc/resolv.conf.
	ResolvConf string
	// Hosts is /etc/hosts.
	Hosts string
	// Environment is the agent's environment, secrets shown as
	// "<redacted>".
	Environment map[string]string
	// Disk is the size and use of each file system, by mount point.
	Disk map[string]DiskUsage
}

// DiskUsage is one file system's size and use, in MiB.
type DiskUsage struct {
	DiskMB int64
	UsedMB int64
}

// Host returns the host data of the agent, or of the server serverID
// ("leader", a server name or a server ID) or the client node nodeID.
func (a *Agent) Host(serverID, nodeID string, q *QueryOptions) (*HostDataResponse, error) {
	q = withParams(q)
	if serverID != "" {
		q.Params["server_id"] = serverID
	}
	if nodeID != "" {
		q.Params["node_id"] = nodeID
	}
	var out HostDataResponse
	if _, err := a.client.query("/v1/agent/host", &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}

// withParams returns a copy of q (or new options) with a Params map of its
// own, so the caller's options are not changed.
func withParams(q *QueryOptions) *QueryOptions {
	out := &QueryOptions{}
	if q != nil {
		*out = *q
	}
	params := make(map[string]string, len(out.Params)+4)
	for k, v := range out.Params {
		params[k] = v
	}
	out.Params = params
	return out
}

// StreamFrame is one frame of a log stream. Data holds the log bytes.
type StreamFrame struct {
	Offset    int64  `json:",omitempty"`
	Data      []byte `json:",omitempty"`
	File      string `json:",omitempty"`
	FileEvent string `json:",omitempty"`
}

// IsHeartbeat tells whether the frame is an empty keep-alive frame.
func (f *StreamFrame) IsHeartbeat() bool {
	return f.Offset == 0 && len(f.Data) == 0 && f.File == "" && f.FileEvent == ""
}

// Monitor streams the agent's logs (or those of the agent named by the
// "server_id" or "node_id" parameter of q.Params; "log_level" and
// "log_json" choose what and how). Frames arrive on the first channel,
// heartbeats left out; the stream ends when stopCh is closed or the agent
// goes away, and then the frame channel is closed and the reason, if it
// was not stopCh, arrives on the error channel. A refused request gives a
// nil frame channel and its error.
func (a *Agent) Monitor(stopCh <-chan struct{}, q *QueryOptions) (<-chan *StreamFrame, <-chan error) {
	errCh := make(chan error, 1)
	r, err := a.client.newRequest(http.MethodGet, "/v1/agent/monitor")
	if err != nil {
		errCh <- err
		return nil, errCh
	}
	r.setQueryOptions(q)
	ctx, cancel := context.WithCancel(r.ctx)
	r.ctx = ctx
	_, resp, err := requireOK(a.client.doRequest(r))
	if err != nil {
		cancel()
		errCh <- err
		return nil, errCh
	}
	// Stopping cancels the request, so a stop takes effect at once
	// rather than at the next frame.
	stopped := make(chan struct{})
	go func() {
		select {
		case <-stopCh:
			close(stopped)
			cancel()
		case <-ctx.Done():
		}
	}()
	frames := make(chan *StreamFrame, 10)
	go func() {
		defer cancel()
		defer resp.Body.Close()
		defer close(frames)
		dec := json.NewDecoder(resp.Body)
		for {
			var f StreamFrame
			if err := dec.Decode(&f); err != nil {
				select {
				case <-stopped:
				default:
					errCh <- err
				}
				return
			}
			if f.IsHeartbeat() {
				continue
			}
			select {
			case frames <- &f:
			case <-stopped:
				return
			}
		}
	}()
	return frames, errCh
}

// PprofOptions choose the target and shape of a profile.
type PprofOptions struct {
	// ServerID targets a server: "leader", a server name or a server ID.
	ServerID string
	// NodeID targets a client node.
	NodeID string
	// Seconds is the length of a CPU profile or trace (0 means 1).
	Seconds int
	// GC runs a garbage collection before a heap profile when > 0.
	GC int
	// Debug asks for text instead of the binary format when > 0.
	Debug int
}

// CPUProfile takes a CPU profile of opts.Seconds and returns it in the
// format go tool pprof reads.
func (a *Agent) CPUProfile(opts PprofOptions, q *QueryOptions) ([]byte, error) {
	return a.pprof("profile", opts, q)
}

// Trace records an execution trace of opts.Seconds (go tool trace).
func (a *Agent) Trace(opts PprofOptions, q *QueryOptions) ([]byte, error) {
	return a.pprof("trace", opts, q)
}

// Lookup returns a named runtime profile: goroutine, heap, allocs, block,
// mutex or threadcreate.
func (a *Agent) Lookup(profile string, opts PprofOptions, q *QueryOptions) ([]byte, error) {
	return a.pprof(profile, opts, q)
}

// Cmdline returns the agent's command line, arguments separated by NUL
// bytes.
func (a *Agent) Cmdline(opts PprofOptions, q *QueryOptions) ([]byte, error) {
	return a.pprof("cmdline", opts, q)
}

func (a *Agent) pprof(name string, opts PprofOptions, q *QueryOptions) ([]byte, error) {
	q = withParams(q)
	q.Params["seconds"] = strconv.Itoa(opts.Seconds)
	q.Params["debug"] = strconv.Itoa(opts.Debug)
	q.Params["gc"] = strconv.Itoa(opts.GC)
	q.Params["server_id"] = opts.ServerID
	q.Params["node_id"] = opts.NodeID
	return a.getBytes("/v1/agent/pprof/"+name, q)
}

// getBytes GETs path with q and returns the body of a 200 answer.
func (a *Agent) getBytes(path string, q *QueryOptions) ([]byte, error) {
	r, err := a.client.newRequest(http.MethodGet, path)
	if err != nil {
		return nil, err
	}
	r.setQueryOptions(q)
	_, resp, err := requireOK(a.client.doRequest(r))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// SupportOptions choose the target and window of a support bundle.
type SupportOptions struct {
	// ServerID targets a server: "leader", a server name or a server ID.
	ServerID string
	// NodeID targets a client node.
	NodeID string
	// Duration is the window for the logs and the CPU profile, in whole
	// seconds from 1 to 30 (0: the agent's default, 30 s).
	Duration time.Duration
}

// SupportBundle returns an agent's support bundle (GET /-/support, Grafana
// Agent's zip): metadata, its configuration (when its read API is on),
// metrics, metrics instances and targets, logs and profiles taken over
// opts.Duration, secrets scrubbed. It needs agent:write.
func (a *Agent) SupportBundle(opts SupportOptions, q *QueryOptions) ([]byte, error) {
	q = withParams(q)
	if opts.Duration > 0 {
		q.Params["duration"] = strconv.Itoa(int(opts.Duration / time.Second))
	}
	if opts.ServerID != "" {
		q.Params["server_id"] = opts.ServerID
	}
	if opts.NodeID != "" {
		q.Params["node_id"] = opts.NodeID
	}
	return a.getBytes("/-/support", q)
}
