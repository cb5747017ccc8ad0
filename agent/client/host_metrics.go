package client

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/nomadlike/nomadlike/agent/hostmetrics"
	"github.com/nomadlike/nomadlike/structs"
)

// HostMetricsConfig is what the agent decided from client { host_metrics
// {} }. The client fills in what only it knows: the collector's
// ServerHealthy and the pusher's Collect and Send.
type HostMetricsConfig struct {
	Collector hostmetrics.Config
	Pusher    hostmetrics.PusherConfig
}

// hostMetrics is the running collector and pusher.
type hostMetrics struct {
	collector *hostmetrics.Collector
	pusher    *hostmetrics.Pusher
}

// errNotRegistered is a retryable send failure: the servers do not know
// the node's secret yet (or lost the node and it is registering again).
var errNotRegistered = errors.New("node not registered yet")

// newHostMetrics builds the collector and pusher; nothing runs yet.
func (c *Client) newHostMetrics(cfg *HostMetricsConfig) error {
	cc := cfg.Collector
	cc.ServerHealthy = c.serverHealthy
	col, err := hostmetrics.New(cc, c.logger)
	if err != nil {
		return err
	}
	pc := cfg.Pusher
	pc.Collect, pc.Send = col.Collect, c.sendHostMetrics
	if pc.Logger == nil {
		pc.Logger = c.logger
	}
	c.hostMetrics = &hostMetrics{collector: col, pusher: hostmetrics.NewPusher(pc)}
	return nil
}

// runHostMetrics starts the collector now (its CPU baseline and health
// checks do not need the servers) and the pusher once the node is
// registered; both stop at Shutdown, which waits for them.
func (c *Client) runHostMetrics() {
	hm := c.hostMetrics
	ctx, cancel := context.WithCancel(context.Background())
	hm.collector.Start(ctx)
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		<-c.shutdownCh
		cancel()
	}()
	go func() {
		defer c.wg.Done()
		defer hm.collector.Stop()
		if c.waitRegistered() {
			hm.pusher.Run(ctx)
		}
	}()
}

// sendHostMetrics delivers one payload to a server (the pusher's Send).
// A refusal comes back as the *structs.IngestError the server answered,
// which the pusher drops when it is permanent; any other error (no
// server answered, a server's own failure) is retried later.
//
// Servers rotate as for every RPC: one that cannot be reached moves to
// the back. One that answers but cannot take metrics now (a 5xx refusal:
// no storage, overloaded) moves to the back too, so that the retry goes
// to another server instead of waiting for that one.
func (c *Client) sendHostMetrics(ctx context.Context, body []byte) error {
	if !c.Registered() {
		return errNotRegistered
	}
	req := &structs.HostMetricsIngestRequest{
		NodeID:     c.node.ID,
		SecretID:   c.node.SecretID,
		Payload:    body,
		ReceivedAt: time.Now(),
		RequestID:  uuid.NewString(),
		// Any server stores what it receives: metrics never go
		// through the leader.
		QueryOptions: structs.QueryOptions{Region: c.config.Region, AllowStale: true, AuthToken: c.config.Token},
	}
	req.SetContext(ctx)
	var resp structs.HostMetricsIngestResponse
	call := func(addr string) error {
		resp = structs.HostMetricsIngestResponse{}
		if err := c.pool.RPC(addr, "HostMetrics.Ingest", req, &resp); err != nil {
			return err
		}
		if r := resp.Rejected; r != nil && r.Status >= 500 {
			c.logger.Debug("server cannot take host metrics, rotating", "server", addr, "error", r)
			c.servers.demote(addr)
		}
		return nil
	}
	var err error
	if c.config.RPCHandler != nil {
		err = c.config.RPCHandler.RPC("HostMetrics.Ingest", req, &resp)
	} else {
		err = c.eachServer(call)
	}
	if err != nil {
		return err
	}
	if r := resp.Rejected; r != nil {
		return r
	}
	return nil
}

// serverHealthy is the collector's serverHealthy: the last heartbeat
// succeeded and is younger than the TTL. It only reads what the
// heartbeat loop recorded, so it never blocks on the network.
func (c *Client) serverHealthy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.registered && !c.heartbeatFailed && !c.lastHeartbeat.IsZero() &&
		time.Since(c.lastHeartbeat) <= c.heartbeatTTL
}

// hostMetricsStats adds the pusher's figures to stats, keys prefixed
// host_metrics_.
func (c *Client) hostMetricsStats(stats map[string]string) {
	hm := c.hostMetrics
	stats["host_metrics_enabled"] = strconv.FormatBool(hm != nil)
	if hm == nil {
		return
	}
	s := hm.pusher.Stats()
	stats["host_metrics_sent"] = strconv.FormatUint(s.Sent, 10)
	stats["host_metrics_dropped"] = strconv.FormatUint(s.Dropped, 10)
	stats["host_metrics_rejected"] = strconv.FormatUint(s.Rejected, 10)
	stats["host_metrics_buffered"] = strconv.Itoa(s.Pending)
	stats["host_metrics_last_error"] = s.LastError
	last := "never"
	if !s.LastSent.IsZero() {
		last = time.Since(s.LastSent).Round(time.Millisecond).String()
	}
	stats["host_metrics_last_sent"] = last
}
