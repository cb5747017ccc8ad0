package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/monitor"
	"github.com/nomadlike/nomadlike/structs"
)

// Framing of GET /v1/agent/monitor, Nomad's: log bytes travel in JSON
// frames of at most frameBytes, sent when that much is waiting or every
// frameInterval; a frame-less second gets an empty frame ({}), which keeps
// proxies from closing the connection and lets Nomad's client notice a
// stop request (it only looks between frames).
const (
	frameBytes        = 1024
	frameInterval     = 200 * time.Millisecond
	heartbeatInterval = time.Second
	// monitorStartTimeout bounds the wait for a remote agent to start its
	// stream (or refuse it).
	monitorStartTimeout = 10 * time.Second
)

// AgentMonitorRequest is GET /v1/agent/monitor: this agent's logs, or
// those of the server named by server_id or of the client node node_id,
// until the client goes away.
func (s *HTTPServer) AgentMonitorRequest(resp http.ResponseWriter, req *http.Request) (any, error) {
	if req.Method != http.MethodGet {
		return nil, errMethodNotAllowed
	}
	var args structs.MonitorRequest
	if err := s.parseQueryOptions(req, &args.QueryOptions); err != nil {
		return nil, err
	}
	q := req.URL.Query()
	args.LogLevel = q.Get("log_level")
	level, err := monitor.ParseLevel(args.LogLevel)
	if err != nil {
		return nil, structs.NewErrCoded(http.StatusBadRequest, "%s", err.Error())
	}
	if args.LogJSON, err = queryBool(q.Get("log_json")); err != nil {
		return nil, structs.NewErrCoded(http.StatusBadRequest, "Unknown option for log json: %v", err)
	}
	plain, err := queryBool(q.Get("plain"))
	if err != nil {
		return nil, structs.NewErrCoded(http.StatusBadRequest, "Unknown option for plain: %v", err)
	}
	args.ServerID, args.NodeID = q.Get("server_id"), q.Get("node_id")
	if args.ServerID != "" && args.NodeID != "" {
		return nil, structs.ErrDebugTwoTargets
	}

	ctx := req.Context()
	var logs <-chan []byte
	a := s.agent
	if a.answersItself(args.ServerID, args.NodeID) {
		m := monitor.New(a.logger, level, args.LogJSON)
		defer m.Stop()
		logs = m.Logs()
	} else {
		conn, err := a.streamingRPC("Agent.Monitor")
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		if logs, err = remoteLogs(ctx, conn, &args); err != nil {
			return nil, err
		}
	}

	if plain {
		resp.Header().Set("Content-Type", "text/plain")
	} else {
		resp.Header().Set("Content-Type", "application/json")
	}
	resp.WriteHeader(http.StatusOK)
	flush := func() { http.NewResponseController(resp).Flush() }
	flush()
	if plain {
		streamPlain(ctx, resp, flush, logs)
	} else {
		streamFrames(ctx, resp, flush, logs)
	}
	return nil, nil
}

// queryBool parses an optional boolean parameter ("" is false).
func queryBool(v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	return strconv.ParseBool(v)
}

// streamingRPC opens a streaming RPC to the local server, or through the
// client to one of its servers.
func (a *Agent) streamingRPC(method string) (*nomadlike.StreamConn, error) {
	if a.server != nil {
		return a.server.StreamingRPC(method)
	}
	return a.client.StreamingRPC(method)
}

// remoteLogs sends the monitor request on conn and waits for the target
// to start streaming (its refusal is returned as the error); the logs then
// arrive on the channel, which is closed when the stream ends.
func remoteLogs(ctx context.Context, conn *nomadlike.StreamConn, args *structs.MonitorRequest) (<-chan []byte, error) {
	conn.SetDeadline(time.Now().Add(monitorStartTimeout))
	if err := conn.Encode(args); err != nil {
		return nil, err
	}
	if _, err := conn.Recv(); err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	logs := make(chan []byte)
	go func() {
		defer close(logs)
		for {
			payload, err := conn.Recv()
			if err != nil {
				return
			}
			if len(payload) == 0 {
				continue
			}
			select {
			case logs <- payload:
			case <-ctx.Done():
				return
			}
		}
	}()
	return logs, nil
}

// streamPlain writes the log bytes as they come.
func streamPlain(ctx context.Context, w io.Writer, flush func(), logs <-chan []byte) {
	for {
		select {
		case <-ctx.Done():
			return
		case chunk, ok := <-logs:
			if !ok {
				return
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
			flush()
		}
	}
}

// streamFrames writes the log bytes as Nomad's StreamFrames, with
// heartbeats, until the client goes away or the logs end.
func streamFrames(ctx context.Context, w io.Writer, flush func(), logs <-chan []byte) {
	enc := json.NewEncoder(w)
	var pending []byte
	var offset int64
	tick := time.NewTicker(frameInterval)
	defer tick.Stop()
	heartbeat := time.NewTimer(heartbeatInterval)
	defer heartbeat.Stop()

	// send writes pending out in frames; all of it, or only whole frames.
	send := func(all bool) bool {
		sent := false
		for len(pending) >= frameBytes || (all && len(pending) > 0) {
			n := min(len(pending), frameBytes)
			offset += int64(n)
			frame := &structs.StreamFrame{Offset: offset, Data: pending[:n], FileEvent: "log"}
			if err := enc.Encode(frame); err != nil {
				return false
			}
			pending = pending[n:]
			sent = true
		}
		if sent {
			flush()
			heartbeat.Reset(heartbeatInterval)
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return
		case chunk, ok := <-logs:
			if !ok {
				send(true)
				return
			}
			pending = append(pending, chunk...)
			if !send(false) {
				return
			}
		case <-tick.C:
			if !send(true) {
				return
			}
		case <-heartbeat.C:
			if err := enc.Encode(&structs.StreamFrame{}); err != nil {
				return
			}
			flush()
			heartbeat.Reset(heartbeatInterval)
		}
	}
}
