// Package agent is the nomadlike process: configuration (HCL files and
// flags), startup and shutdown of the server and client parts, the HTTP
// API with every handler, and the client runtime (agent/client).
package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	sockaddr "github.com/hashicorp/go-sockaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"

	"github.com/nomadlike/nomadlike/agent/client"
	"github.com/nomadlike/nomadlike/agent/logs"
	"github.com/nomadlike/nomadlike/agent/metrics"
	"github.com/nomadlike/nomadlike/agent/promapi"
	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
	"github.com/nomadlike/nomadlike/structs"
)

// Agent is one running nomadlike agent.
type Agent struct {
	config *Config
	logger hclog.InterceptLogger

	server *nomadlike.Server
	client *client.Client
	http   *HTTPServer
	// metrics runs the client's metrics instances; nil without a client.
	metrics *metrics.Manager
	// logs runs the client's logs instances; nil on a server-only agent.
	logs *logs.Manager

	// advertise holds the resolved advertised addresses.
	advertise struct{ http, rpc, serf string }
	// devDataDir is removed at shutdown.
	devDataDir string
	// tokens caches tokens resolved through servers (client-only agents).
	tokens tokenCache
	// telemetry is the process's metrics sinks; gatherers are the extra
	// Prometheus gatherers of this agent (agent/telemetry.go).
	telemetry *processTelemetry
	gatherers agentGatherers

	// tls is the tls{} files' configurator, shared by every listener and
	// dialer of the agent; nil when TLS is off.
	tls *tlsutil.Configurator

	// hostMetricsReg holds the series of the host metrics store and of
	// the PromQL engine (servers); engine is that engine, one per process.
	hostMetricsReg *prometheus.Registry
	engineOnce     sync.Once
	engine         *promql.Engine

	// running is the configuration in effect: config with what reloads
	// applied (reload.go). config itself is what the agent started with.
	running atomic.Pointer[Config]
	// reloadMu serializes reloads; loader reads the files again.
	reloadMu sync.Mutex
	loader   ConfigLoader

	// integrations are the integrations this client agent serves; a
	// reload replaces them whole.
	integrations atomic.Pointer[[]runningIntegration]

	// started is when the agent started (uptime in support bundles).
	started time.Time

	shutdownOnce sync.Once
	shutdownCh   chan struct{}
}

// hostMetricsRegistry is the registry of the host metrics store and the
// PromQL engine, served with the agent's own metrics.
func (a *Agent) hostMetricsRegistry() *prometheus.Registry {
	if a.hostMetricsReg == nil {
		a.hostMetricsReg = prometheus.NewRegistry()
		a.AddMetricsGatherer(a.hostMetricsReg)
	}
	return a.hostMetricsReg
}

// promqlEngine is the process's PromQL engine: one, so that its metrics
// and its concurrency limit are the process's.
func (a *Agent) promqlEngine() *promql.Engine {
	a.engineOnce.Do(func() {
		a.engine = promapi.NewEngine(promapi.EngineOptions{Logger: a.logger.Named("promql"),
			Registerer: a.hostMetricsRegistry()})
	})
	return a.engine
}

// NewAgent starts an agent from a finalized, validated config: server
// first (so a local client can use it), then client, then HTTP.
func NewAgent(config *Config, logger hclog.InterceptLogger) (*Agent, error) {
	a := &Agent{config: config, logger: logger, started: time.Now(), shutdownCh: make(chan struct{})}
	if config.DevMode && *config.DataDir == "" {
		dir, err := os.MkdirTemp("", "nomadlike-dev-")
		if err != nil {
			return nil, err
		}
		a.devDataDir = dir
		config.DataDir = ptr(dir)
	}
	a.running.Store(config)
	if err := a.resolveAdvertise(); err != nil {
		a.cleanup()
		return nil, err
	}
	if err := a.setupTLS(); err != nil {
		a.cleanup()
		return nil, err
	}
	var err error
	if a.telemetry, err = setupTelemetry(config.Telemetry, logger); err != nil {
		a.cleanup()
		return nil, err
	}
	if *config.Server.Enabled {
		if err := a.setupServer(); err != nil {
			a.cleanup()
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	if *config.Client.Enabled {
		if err := a.setupClient(); err != nil {
			a.Shutdown()
			return nil, fmt.Errorf("client: %w", err)
		}
	}
	http, err := NewHTTPServer(a)
	if err != nil {
		a.Shutdown()
		return nil, err
	}
	a.http = http
	if *config.Server.Enabled {
		if err := a.join(); err != nil {
			a.Shutdown()
			return nil, err
		}
	}
	return a, nil
}

// resolveAdvertise picks the advertised address of each listener: the
// advertise{} value, else the bind address, else (binding 0.0.0.0) the
// host's private IP.
func (a *Agent) resolveAdvertise() error {
	c := a.config
	pick := func(adv, bind string, port int) (string, error) {
		if adv != "" {
			host, p, err := splitHostPortDefault(adv, port)
			if err != nil {
				return "", err
			}
			return net.JoinHostPort(host, strconv.Itoa(p)), nil
		}
		if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
			return net.JoinHostPort(bind, strconv.Itoa(port)), nil
		}
		ip, err := sockaddr.GetPrivateIP()
		if err != nil || ip == "" {
			return "", fmt.Errorf("unable to pick an advertise address for %s; set -advertise", bind)
		}
		return net.JoinHostPort(ip, strconv.Itoa(port)), nil
	}
	var err error
	if a.advertise.http, err = pick(*c.AdvertiseAddrs.HTTP, a.bindAddr(c.Addresses.HTTP), *c.Ports.HTTP); err != nil {
		return err
	}
	if !*c.Server.Enabled {
		// A client-only agent listens on HTTP only.
		return nil
	}
	if a.advertise.rpc, err = pick(*c.AdvertiseAddrs.RPC, a.bindAddr(c.Addresses.RPC), *c.Ports.RPC); err != nil {
		return err
	}
	a.advertise.serf, err = pick(*c.AdvertiseAddrs.Serf, a.bindAddr(c.Addresses.Serf), *c.Ports.Serf)
	return err
}

// bindAddr is a listener's own address or the common bind_addr.
func (a *Agent) bindAddr(specific *string) string {
	if specific != nil && *specific != "" {
		return *specific
	}
	return *a.config.BindAddr
}

func mustDuration(s *string) time.Duration {
	d, _ := time.ParseDuration(*s)
	return d
}

// serverConfig converts the user config into the server's runtime config.
func (a *Agent) serverConfig() (*nomadlike.Config, error) {
	c := a.config
	sc := nomadlike.DefaultConfig()
	sc.NodeName = *c.NodeName
	sc.Region = *c.Region
	sc.Datacenter = *c.Datacenter
	sc.DataDir = *c.DataDir
	sc.DevMode = c.DevMode
	sc.BootstrapExpect = *c.Server.BootstrapExpect
	sc.Build = structs.VersionString()
	sc.Logger = a.logger
	sc.HTTPAdvertise = a.advertise.http

	rpcAddr, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(a.bindAddr(c.Addresses.RPC), strconv.Itoa(*c.Ports.RPC)))
	if err != nil {
		return nil, err
	}
	sc.RPCAddr = rpcAddr
	if sc.RPCAdvertise, err = net.ResolveTCPAddr("tcp", a.advertise.rpc); err != nil {
		return nil, err
	}

	sc.MemberlistConfig.BindAddr = a.bindAddr(c.Addresses.Serf)
	sc.MemberlistConfig.BindPort = *c.Ports.Serf
	serfHost, serfPort, _ := net.SplitHostPort(a.advertise.serf)
	sc.MemberlistConfig.AdvertiseAddr = serfHost
	sc.MemberlistConfig.AdvertisePort, _ = strconv.Atoi(serfPort)
	sc.MemberlistConfig.LogOutput = nil
	sc.MemberlistConfig.Logger = a.logger.Named("gossip").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})

	mult := time.Duration(*c.Server.RaftMultiplier)
	sc.RaftConfig.HeartbeatTimeout *= mult
	sc.RaftConfig.ElectionTimeout *= mult
	sc.RaftConfig.LeaderLeaseTimeout *= mult
	sc.RaftConfig.SnapshotThreshold = uint64(*c.Server.RaftSnapshotThreshold)
	sc.RaftConfig.SnapshotInterval = mustDuration(c.Server.RaftSnapshotInterval)
	sc.RaftConfig.TrailingLogs = uint64(*c.Server.RaftTrailingLogs)

	sc.HeartbeatGrace = mustDuration(c.Server.HeartbeatGrace)
	sc.MinHeartbeatTTL = mustDuration(c.Server.MinHeartbeatTTL)
	sc.MaxHeartbeatsPerSecond = *c.Server.MaxHeartbeatsPerSecond
	sc.FailoverHeartbeatTTL = mustDuration(c.Server.FailoverHeartbeatTTL)
	sc.DeadServerCleanupThreshold = mustDuration(c.Server.DeadServerCleanupThreshold)
	sc.ACLEnabled = *c.ACL.Enabled
	sc.EnableDebug = *c.EnableDebug
	sc.SupportBundle = a.supportBundler()
	sc.DangerousAllowReadingFiles = *c.Server.DangerousAllowReadingFiles
	sc.MaxContentsBytes = *c.Server.MaxContentsBytes
	sc.RevisionRetention = *c.Server.RevisionRetention
	sc.RaftLogStore = *c.Server.RaftLogStore.Backend
	sc.NumSchedulers = *c.Server.NumSchedulers
	sc.EnabledSchedulers = c.Server.EnabledSchedulers
	sc.HostMetrics = c.Server.HostMetrics.serverConfig()
	// The TSDB's, remote_write's and the PromQL engine's own series, on
	// /v1/metrics?format=prometheus.
	sc.HostMetrics.Registerer = a.hostMetricsRegistry()
	sc.NodeGCThreshold = mustDuration(c.Server.NodeGCThreshold)
	sc.StatsCollectionInterval = c.Telemetry.collectionInterval()
	c.Limits.applyToServer(sc)
	if err := c.Assistant.apply(sc); err != nil {
		return nil, err
	}
	if *c.Server.Encrypt != "" {
		key, err := decodeGossipKey(*c.Server.Encrypt)
		if err != nil {
			return nil, fmt.Errorf("server.encrypt: %w", err)
		}
		sc.MemberlistConfig.SecretKey = key
	}
	sc.TLS = a.rpcTLS()
	if c.serverHook != nil {
		c.serverHook(sc)
	}
	return sc, nil
}

func (a *Agent) setupServer() error {
	sc, err := a.serverConfig()
	if err != nil {
		return err
	}
	s, err := nomadlike.NewServer(sc)
	if err != nil {
		return err
	}
	a.server = s
	return nil
}

func (a *Agent) setupClient() error {
	c := a.config
	cc := &client.Config{
		DataDir:      *c.DataDir,
		NodeName:     *c.NodeName,
		Datacenter:   *c.Datacenter,
		Region:       *c.Region,
		Meta:         c.Client.Meta,
		Servers:      c.Client.Servers,
		HTTPAddr:     a.advertise.http,
		Token:        *c.Client.Token,
		Logger:       a.logger,
		PipelineFile: *c.Client.PipelineFile,
		ReloadURL:    *c.Client.ReloadURL,
	}
	cc.ACLEnabled, cc.EnableDebug = *c.ACL.Enabled, *c.EnableDebug
	cc.SupportBundle = a.supportBundler()
	if t := a.rpcTLS(); t != nil {
		cc.TLS = t.OutgoingRPC()
	}
	if err := a.setupIntegrations(); err != nil {
		return fmt.Errorf("integrations: %w", err)
	}
	cc.Attributes = integrationAttributes(a.runningIntegrations())
	if err := a.setupMetrics(cc); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if err := a.setupLogs(cc); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if hm := c.Client.HostMetrics; hm != nil && hm.Enabled != nil && *hm.Enabled {
		// The client fills in its own server health, Collect, Send and
		// logger.
		cc.HostMetrics = &client.HostMetricsConfig{
			Collector: hm.collectorConfig(structs.VersionString(), nil),
			Pusher:    hm.pusherConfig(nil, nil, nil),
		}
	}
	if a.server != nil {
		// A client beside a server talks to it in memory and lists it.
		cc.RPCHandler = a.server
		cc.Servers = slices.DeleteFunc(slices.Clone(cc.Servers), func(s string) bool { return s == a.server.RPCAddr() })
		cc.Servers = append([]string{a.server.RPCAddr()}, cc.Servers...)
	}
	cl, err := client.NewClient(cc)
	if err != nil {
		return err
	}
	a.client = cl
	if a.server != nil {
		// Its RPCs are in-memory calls: make it reachable by node_id.
		a.server.SetLocalNode(cl.NodeID(), cl)
	}
	return nil
}

// join joins start_join now (failing the start if none answers) and keeps
// retrying retry_join in the background.
func (a *Agent) join() error {
	sc := a.config.Server
	if len(sc.StartJoin) > 0 {
		n, err := a.server.Join(a.serfAddrs(sc.StartJoin))
		if n == 0 {
			return fmt.Errorf("failed to join any of %v: %v", sc.StartJoin, err)
		}
	}
	if len(sc.RetryJoin) > 0 {
		go a.retryJoin(a.serfAddrs(sc.RetryJoin))
	}
	return nil
}

// serfAddrs adds the default gossip port to addresses without one.
func (a *Agent) serfAddrs(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, addr := range addrs {
		host, port, err := splitHostPortDefault(addr, 4648)
		if err != nil {
			continue
		}
		out = append(out, net.JoinHostPort(host, strconv.Itoa(port)))
	}
	return out
}

func (a *Agent) retryJoin(addrs []string) {
	interval := mustDuration(a.config.Server.RetryInterval)
	max := *a.config.Server.RetryMaxAttempts
	for attempt := 1; ; attempt++ {
		n, err := a.server.Join(addrs)
		if n > 0 {
			a.logger.Info("retry join succeeded", "joined", n)
			return
		}
		a.logger.Warn("retry join failed", "attempt", attempt, "error", err)
		if max > 0 && attempt >= max {
			a.logger.Error("giving up retry join", "attempts", attempt)
			return
		}
		select {
		case <-a.shutdownCh:
			return
		case <-time.After(interval):
		}
	}
}

// RPC calls a server endpoint: the local server, else through the client.
func (a *Agent) RPC(method string, args, reply any) error {
	if a.server != nil {
		return a.server.RPC(method, args, reply)
	}
	if a.client != nil {
		return a.client.RPC(method, args, reply)
	}
	return errors.New("agent has neither server nor client")
}

// Server returns the agent's server, nil on a client-only agent.
func (a *Agent) Server() *nomadlike.Server { return a.server }

// Client returns the agent's client, nil on a server-only agent.
func (a *Agent) Client() *client.Client { return a.client }

// HTTPAddr is the address the HTTP API listens on.
func (a *Agent) HTTPAddr() string { return a.http.Addr() }

// Leave leaves the cluster gracefully (servers leave gossip and raft).
func (a *Agent) Leave() error {
	if a.server != nil {
		return a.server.Leave()
	}
	return nil
}

// Shutdown stops HTTP, then the client, then the server.
func (a *Agent) Shutdown() error {
	a.shutdownOnce.Do(func() {
		close(a.shutdownCh)
		if a.http != nil {
			a.http.Shutdown()
		}
		if a.client != nil {
			a.client.Shutdown()
		}
		if a.metrics != nil {
			// Each instance flushes its remote_write for up to its
			// remote_flush_deadline; WALs stay for the next start.
			if err := a.metrics.Close(); err != nil {
				a.logger.Warn("stopping metrics instances", "error", err)
			}
		}
		if a.logs != nil {
			// Each instance pushes what it read for up to 5 s and
			// saves its positions: a restart repeats no line.
			if err := a.logs.Close(); err != nil {
				a.logger.Warn("stopping logs instances", "error", err)
			}
		}
		if a.server != nil {
			a.server.Shutdown()
		}
		a.cleanup()
		a.logger.Info("agent shut down")
	})
	return nil
}

func (a *Agent) cleanup() {
	if a.devDataDir != "" {
		os.RemoveAll(a.devDataDir)
	}
}
