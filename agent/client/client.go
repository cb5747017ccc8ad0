// Package client is the client-mode runtime of an agent: it keeps the
// node's identity in the data dir, registers the node with the servers,
// heartbeats within the TTL the leader hands out, and rotates to another
// server when one fails.
package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/agent/logs"
	instances "github.com/nomadlike/nomadlike/agent/metrics"
	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/structs"
)

// RPCHandler is an in-process server the client may call directly (an
// agent running -server -client).
type RPCHandler interface {
	RPC(method string, args, reply any) error
}

// Config configures a client.
type Config struct {
	// DataDir keeps the node ID and secret across restarts.
	DataDir    string
	NodeName   string
	Datacenter string
	Region     string
	// Meta is the operator's key/value pairs (-meta).
	Meta map[string]string
	// Servers are RPC addresses to start from; heartbeat answers add the
	// rest of the cluster's servers.
	Servers []string
	// HTTPAddr is the advertised address of the agent's HTTP API.
	HTTPAddr string
	// Attributes are added to the node's fingerprinted ones (the
	// integrations the agent serves).
	Attributes map[string]string
	// Token is the ACL secret sent with registration and heartbeats; it
	// needs node:write when ACLs are on. It is never logged.
	Token string
	// RPCHandler, when set, is used instead of the network.
	RPCHandler RPCHandler
	Logger     hclog.Logger
	// RetryInterval is the pause between failed registration or heartbeat
	// rounds (each round tries every known server once).
	RetryInterval time.Duration
	// PipelineFile receives the merged contents of the assigned
	// pipelines; ReloadURL is POSTed after it changed.
	PipelineFile string
	ReloadURL    string
	// ACLEnabled and EnableDebug decide, as on any agent, whether this
	// client answers host data and profile requests (node_rpc.go).
	ACLEnabled  bool
	EnableDebug bool
	// SupportBundle builds the agent's support bundle for
	// ClientAgent.Support (nil: the bundle is disabled).
	SupportBundle structs.SupportBundler
	// TLS, when set, is used to dial servers (tls { rpc = true }).
	TLS *tls.Config
	// Metrics runs the assigned configs, with LocalMetrics (the agent's
	// own instances) beside them; nil runs none. StatusInterval is how
	// often instance health is checked for changes to report.
	Metrics        MetricsRunner
	LocalMetrics   []instances.Spec
	StatusInterval time.Duration
	// HostMetrics, when set, collects spec 004's payload and pushes it
	// to the servers (host_metrics.go).
	HostMetrics *HostMetricsConfig
	// Logs runs the assigned logs_instance_configs, with LocalLogs (the
	// agent's own) beside them; nil runs none.
	Logs      LogsRunner
	LocalLogs []logs.Spec
}

// Client is a running client agent.
type Client struct {
	config *Config
	logger hclog.Logger
	pool   *nomadlike.ConnPool
	// node's ID and secret never change; its Meta changes on a reload,
	// under mu.
	node *structs.Node

	servers *serverList
	// rpcServer answers the RPCs servers send to this node (node_rpc.go).
	rpcServer *nomadlike.RPCServer

	mu            sync.Mutex
	registered    bool
	heartbeatTTL  time.Duration
	lastHeartbeat time.Time
	// heartbeatFailed: the last heartbeat round found no server to take
	// it (serverHealthy).
	heartbeatFailed bool

	// hostMetrics is nil when host metrics are off.
	hostMetrics *hostMetrics

	assignment assignmentState
	httpClient *http.Client

	// metricsMu serializes applies; metricsKey names what was applied,
	// assigned is the last assigned configs and local the agent's own
	// instances (config.LocalMetrics until a reload changes them).
	metricsMu      sync.Mutex
	metricsKey     string
	metricsApplied bool
	assigned       []*structs.AssignedConfig
	local          []instances.Spec
	// logsMu serializes logs applies, as metricsMu metrics ones (logs.go).
	logsMu       sync.Mutex
	logsKey      string
	logsApplied  bool
	assignedLogs []*structs.AssignedConfig
	localLogs    []logs.Spec
	// reportMu serializes reports; lastReport is the last one sent.
	reportMu   sync.Mutex
	lastReport *structs.NodeAssignment

	shutdownCh chan struct{}
	wg         sync.WaitGroup
	once       sync.Once
}

// NewClient loads (or creates) the node identity and starts registering
// and heartbeating in the background.
func NewClient(config *Config) (*Client, error) {
	if config.RetryInterval == 0 {
		config.RetryInterval = time.Second
	}
	c := &Client{
		config:     config,
		logger:     config.Logger.Named("client"),
		pool:       nomadlike.NewConnPool(),
		servers:    newServerList(config.Servers),
		httpClient: &http.Client{Timeout: reloadTimeout},
		local:      config.LocalMetrics,
		localLogs:  config.LocalLogs,
		shutdownCh: make(chan struct{}),
	}
	if config.TLS != nil {
		c.pool.SetTLSConfig(config.TLS)
	}
	id, err := c.persistentID("client-id")
	if err != nil {
		return nil, err
	}
	secret, err := c.persistentID("secret-id")
	if err != nil {
		return nil, err
	}
	c.node = &structs.Node{
		ID:         id,
		SecretID:   secret,
		Name:       config.NodeName,
		Datacenter: config.Datacenter,
		HTTPAddr:   config.HTTPAddr,
		Attributes: fingerprint(),
		Meta:       maps.Clone(config.Meta),
		Status:     structs.NodeStatusReady,
	}
	maps.Copy(c.node.Attributes, config.Attributes)
	if c.node.Meta == nil {
		c.node.Meta = map[string]string{}
	}
	c.loadAppliedHash()
	if config.HostMetrics != nil {
		if err := c.newHostMetrics(config.HostMetrics); err != nil {
			return nil, fmt.Errorf("host_metrics: %w", err)
		}
	}
	if err := c.setupNodeRPC(); err != nil {
		return nil, err
	}
	if c.hostMetrics != nil {
		c.runHostMetrics()
	}
	c.wg.Add(3)
	go func() { defer c.wg.Done(); c.run() }()
	go func() { defer c.wg.Done(); c.watchAssignment() }()
	go func() { defer c.wg.Done(); c.reportInstances() }()
	c.logger.Info("client started", "node_id", id, "name", config.NodeName, "servers", strings.Join(config.Servers, ","))
	return c, nil
}

// persistentID reads DataDir/client/<name>, generating a UUID on first use.
func (c *Client) persistentID(name string) (string, error) {
	path := filepath.Join(c.config.DataDir, "client", name)
	if buf, err := os.ReadFile(path); err == nil {
		id := strings.TrimSpace(string(buf))
		if _, err := uuid.Parse(id); err != nil {
			return "", fmt.Errorf("%s does not hold a UUID: %q", path, id)
		}
		return id, nil
	} else if !os.IsNotExist(err) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	id := uuid.NewString()
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", err
	}
	return id, nil
}

// fingerprint returns the node's attributes.
func fingerprint() map[string]string {
	hostname, _ := os.Hostname()
	return map[string]string{
		"collector.os":      runtime.GOOS,
		"collector.arch":    runtime.GOARCH,
		"hostname":          hostname,
		"cpu.numcores":      strconv.Itoa(runtime.NumCPU()),
		"nomadlike.version": structs.VersionString(),
	}
}

// NodeID is this client's node ID.
func (c *Client) NodeID() string { return c.node.ID }

// Node returns a copy of the node as registered.
func (c *Client) Node() *structs.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.node.Copy()
}

// Servers returns the servers the client knows, in the order it uses them.
func (c *Client) Servers() []string { return c.servers.all() }

// SetServers replaces the known servers.
func (c *Client) SetServers(addrs []string) error {
	if len(addrs) == 0 {
		return errors.New("missing server address")
	}
	c.servers.set(addrs)
	return nil
}

// Stats is the "client" section of /v1/agent/self.
func (c *Client) Stats() map[string]string {
	c.mu.Lock()
	last := "never"
	if !c.lastHeartbeat.IsZero() {
		last = time.Since(c.lastHeartbeat).String()
	}
	stats := map[string]string{
		"node_id":         c.node.ID,
		"known_servers":   strings.Join(c.servers.all(), ","),
		"num_allocations": "0",
		"last_heartbeat":  last,
		"heartbeat_ttl":   c.heartbeatTTL.String(),
		"registered":      strconv.FormatBool(c.registered),
	}
	c.mu.Unlock()
	c.hostMetricsStats(stats)
	return stats
}

// RPC calls a server: the in-process one if there is one, otherwise the
// known servers in turn until one answers. A server that cannot be
// reached moves to the back of the list.
func (c *Client) RPC(method string, args, reply any) error {
	// A write sent again to another server after a dropped connection
	// must be the same write: it gets its request ID before the first try.
	if w, ok := args.(structs.IdempotentWrite); ok {
		w.EnsureRequestID()
	}
	if c.config.RPCHandler != nil {
		return c.config.RPCHandler.RPC(method, args, reply)
	}
	return c.eachServer(func(addr string) error { return c.pool.RPC(addr, method, args, reply) })
}

// eachServer calls call with the known servers in turn until one answers
// (a network error is no answer); a server that cannot be reached moves
// to the back of the list.
func (c *Client) eachServer(call func(addr string) error) error {
	servers := c.servers.all()
	if len(servers) == 0 {
		return structs.ErrNoServers
	}
	var lastErr error
	for _, addr := range servers {
		err := call(addr)
		if err == nil || !nomadlike.IsNetworkError(err) {
			return err
		}
		c.logger.Debug("server unreachable, rotating", "server", addr, "error", err)
		c.servers.demote(addr)
		lastErr = err
	}
	return fmt.Errorf("no server answered: %w", lastErr)
}

// run registers, then heartbeats until shutdown.
func (c *Client) run() {
	for {
		var wait time.Duration
		if err := c.heartbeat(); err != nil {
			if errors.Is(err, structs.ErrPermissionDenied) || errors.Is(err, structs.ErrTokenNotFound) {
				// Say what would fix it, not only that it failed.
				c.logger.Warn("heartbeat failed: this client agent needs a token with node:write (client { token } or -token)", "error", err)
			} else {
				c.logger.Warn("heartbeat failed", "error", err)
			}
			wait = c.config.RetryInterval/2 + rand.N(c.config.RetryInterval)
		} else {
			c.mu.Lock()
			ttl := c.heartbeatTTL
			c.mu.Unlock()
			// Half the TTL leaves time to try every other server before
			// the leader's timer (TTL + grace) fires.
			wait = ttl/2 + rand.N(ttl/8+1)
		}
		select {
		case <-c.shutdownCh:
			return
		case <-time.After(wait):
		}
	}
}

// heartbeat registers the node if needed, otherwise updates its status.
func (c *Client) heartbeat() (err error) {
	// Nomad's client.update_status: how long the servers took to take the
	// heartbeat (or registration), and how often they did not.
	defer func(start time.Time) {
		metrics.MeasureSince([]string{"client", "heartbeat"}, start)
		if err != nil {
			metrics.IncrCounter([]string{"client", "heartbeat_error"}, 1)
		}
		c.mu.Lock()
		c.heartbeatFailed = err != nil
		c.mu.Unlock()
	}(time.Now())
	var resp structs.NodeUpdateResponse
	c.mu.Lock()
	registered := c.registered
	// Meta changes on a reload (reload.go), under mu.
	node := c.node.Copy()
	c.mu.Unlock()
	if !registered {
		err = c.RPC("Node.Register", &structs.NodeRegisterRequest{
			Node:         node,
			WriteRequest: structs.WriteRequest{Region: c.config.Region, AuthToken: c.config.Token},
		}, &resp)
	} else {
		err = c.RPC("Node.UpdateStatus", &structs.NodeUpdateStatusRequest{
			NodeID:       c.node.ID,
			SecretID:     c.node.SecretID,
			Status:       structs.NodeStatusReady,
			WriteRequest: structs.WriteRequest{Region: c.config.Region, AuthToken: c.config.Token},
		}, &resp)
		if errors.Is(err, structs.ErrUnknownNode) {
			// The servers lost or garbage-collected us: register again.
			c.mu.Lock()
			c.registered = false
			c.mu.Unlock()
			return err
		}
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	if !c.registered {
		c.logger.Info("node registered", "node_id", c.node.ID, "ttl", resp.HeartbeatTTL)
	}
	c.registered = true
	c.heartbeatTTL = resp.HeartbeatTTL
	c.lastHeartbeat = time.Now()
	c.mu.Unlock()
	if len(resp.Servers) > 0 && c.config.RPCHandler == nil {
		c.servers.learn(resp.Servers)
	}
	return nil
}

// Registered tells whether the node has registered since start.
func (c *Client) Registered() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.registered
}

// Shutdown stops heartbeating. The node stays registered; the leader marks
// it down when its TTL lapses, unless it comes back first.
func (c *Client) Shutdown() {
	c.once.Do(func() {
		close(c.shutdownCh)
		c.wg.Wait()
		c.pool.Shutdown()
	})
}
