package nomadlike

import (
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/assistant"
	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
	"github.com/nomadlike/nomadlike/structs"
)

// Config is the runtime configuration of a server. The agent builds it from
// what the user wrote (agent.Config); tests build it with TestServer.
type Config struct {
	// NodeName is this server's name; its gossip name is NodeName.Region.
	NodeName string
	// NodeID is the server's raft ID. When empty it is read from (or
	// generated into) DataDir/server/node-id, so it is stable across
	// restarts.
	NodeID string
	// Region and Datacenter the server belongs to.
	Region     string
	Datacenter string
	// DataDir holds the raft log, the stable store, snapshots and the node
	// ID. Required.
	DataDir string
	// DevMode marks a -dev agent (reported in stats only).
	DevMode bool

	// BootstrapExpect is how many servers must be seen in the gossip pool
	// before raft is bootstrapped. 0 disables automatic bootstrap (the
	// server then only joins an existing cluster).
	BootstrapExpect int

	// RPCAddr is where the RPC listener (raft and RPC on one port) binds.
	RPCAddr *net.TCPAddr
	// RPCAdvertise is the address other servers and clients use to reach
	// RPCAddr; it is also this server's raft address.
	RPCAdvertise *net.TCPAddr

	// HTTPAdvertise is the agent's advertised HTTP address, published in
	// gossip tags for tooling.
	HTTPAdvertise string

	// MemberlistConfig configures gossip; its bind and advertise fields are
	// set by the agent. Name and Delegate are set by the server.
	MemberlistConfig *memberlist.Config

	// RaftConfig tunes raft; LocalID and NotifyCh are set by the server.
	RaftConfig *raft.Config
	// RaftTimeout bounds a single raft apply.
	RaftTimeout time.Duration

	// Build is the version string published in gossip tags.
	Build string

	// HostMetrics configures the store of the host metrics nodes push
	// (spec 004): retention and remote_write.
	HostMetrics HostMetricsConfig

	// RPCHoldTimeout is how long a request waits for a leader (and retries
	// a leader that cannot be reached) before failing with "No cluster
	// leader". It covers an election.
	RPCHoldTimeout time.Duration

	// RPCMaxConnsPerClient caps the connections one IP address may hold
	// open to the RPC port (raft and gossip-free RPC alike); 0 disables
	// it. RPCHandshakeTimeout bounds the wait for a new connection's
	// first byte; 0 disables it. Nomad's limits, with its defaults.
	RPCMaxConnsPerClient int
	RPCHandshakeTimeout  time.Duration

	// ReconcileInterval is how often the leader re-reads the gossip pool
	// and fixes the raft configuration to match it, besides reacting to
	// each membership event.
	ReconcileInterval time.Duration
	// DeadServerCleanupThreshold is how long a server may stay failed in
	// the gossip pool before the leader removes it from raft on its own
	// (0 disables). Removal never breaks quorum.
	DeadServerCleanupThreshold time.Duration
	// MemberReapTimeout is how long failed and left members stay listed
	// before they are forgotten.
	MemberReapTimeout time.Duration
	// ReconnectInterval is how often a server tries to rejoin each failed
	// member, so a server restarted without join addresses is taken back
	// into the pool (memberlist alone never retries a dead node; serf
	// does this too).
	ReconnectInterval time.Duration

	// MinHeartbeatTTL is the shortest TTL handed to a client.
	MinHeartbeatTTL time.Duration
	// MaxHeartbeatsPerSecond spreads heartbeats: with many nodes the TTL
	// grows so that the leader sees at most this many per second.
	MaxHeartbeatsPerSecond float64
	// HeartbeatGrace is added to the TTL before a node is marked down,
	// to absorb network delay and clock jitter.
	HeartbeatGrace time.Duration
	// FailoverHeartbeatTTL is the TTL a new leader gives every node it
	// inherits, so clients have time to find it before being marked down.
	FailoverHeartbeatTTL time.Duration

	// ACLEnabled switches on token checks for every request.
	ACLEnabled bool
	// EnableDebug opens host data and profiles of this server to anyone
	// when ACLs are off (with ACLs on, tokens decide).
	EnableDebug bool
	// SupportBundle builds this agent's support bundle for Agent.Support
	// (nil: the bundle is disabled).
	SupportBundle structs.SupportBundler

	// DangerousAllowReadingFiles accepts agent instance configs that make
	// agents read credentials from their own files (off: such configs
	// are refused, as Grafana Agent's scraping service refuses them).
	DangerousAllowReadingFiles bool
	// MaxContentsBytes bounds a pipeline's contents and a config's YAML.
	MaxContentsBytes int
	// RevisionRetention keeps the last N revisions of each pipeline and
	// config (0: all); the _core scheduler enforces it.
	RevisionRetention int
	// RaftLogStore is the raft log backend for a new data dir:
	// LogStoreWAL or LogStoreBoltDB; empty (the default) picks raft-wal.
	// A data dir that already holds a raft store keeps the backend it
	// was created with.
	RaftLogStore string
	// NumSchedulers and EnabledSchedulers size and type the scheduler
	// worker pool at start (/v1/agent/schedulers/config changes them at
	// run time).
	NumSchedulers     int
	EnabledSchedulers []string
	// EvalNackTimeout is how long a worker may hold an evaluation before
	// the broker delivers it again; EvalDeliveryLimit is how often it is
	// delivered before it is dropped as failed.
	EvalNackTimeout   time.Duration
	EvalDeliveryLimit int
	// CoreInterval is how often the leader runs the _core scheduler.
	CoreInterval time.Duration
	// NodeGCThreshold is how long a node must be down before _core
	// deletes it (0: never).
	NodeGCThreshold time.Duration
	// ChatRetention is how long an assistant chat is kept after its last
	// change before _core deletes it (0: for ever).
	ChatRetention time.Duration
	// AssistantEngine answers assistant chats; nil: the built-in one.
	AssistantEngine assistant.Engine
	// EventBufferSize is how many applies' events the broker keeps for
	// subscribers that resume from an index.
	EventBufferSize int64
	// StatsCollectionInterval is how often the server samples its gauges
	// (eval broker, blocking queries) into go-metrics, as Nomad's
	// telemetry collection_interval.
	StatsCollectionInterval time.Duration

	// TLS, when set, runs RPC and raft over TLS (Nomad's tls { rpc = true
	// }): plain connections are refused, and every dial (raft, forwarding,
	// server to server) uses TLS.
	TLS *tlsutil.Configurator

	// Logger is the server's logger; LogOutput receives raft's and
	// memberlist's own output.
	Logger hclog.Logger
}

// DefaultConfig returns a configuration with production defaults and
// loopback addresses; callers set at least NodeName and DataDir.
func DefaultConfig() *Config {
	hostname, _ := os.Hostname()
	rc := raft.DefaultConfig()
	// A snapshot every 8192 entries keeps restarts fast while keeping the
	// snapshot cost rare; tests lower it to exercise snapshots.
	rc.SnapshotThreshold = 8192
	rc.SnapshotInterval = 120 * time.Second
	rc.ProtocolVersion = raft.ProtocolVersionMax
	// Raft timings for a LAN, under a third of hashicorp/raft's (1 s,
	// 1 s, 500 ms): a follower that has not heard from its leader for a
	// random 0.3-0.6 s campaigns, so a crashed leader is replaced in well
	// under a second. Heartbeats go every HeartbeatTimeout/10 (30 ms) on
	// their own connection, and BenchmarkSteadyLoadElections counts no
	// election in 10 minutes of writes saturating two cores (DESIGN.md).
	// raft_multiplier scales them for slower networks.
	rc.HeartbeatTimeout = 300 * time.Millisecond
	rc.ElectionTimeout = 300 * time.Millisecond
	rc.LeaderLeaseTimeout = 300 * time.Millisecond
	// Concurrent writers' entries go to disk and to followers in batches
	// of up to MaxAppendEntries: one fsync and one round trip for many
	// acknowledged writes.
	rc.BatchApplyCh = true

	mc := memberlist.DefaultLANConfig()
	mc.BindAddr = "127.0.0.1"
	mc.BindPort = 4648
	mc.LogOutput = io.Discard

	return &Config{
		NodeName:                   hostname,
		Region:                     "global",
		Datacenter:                 "dc1",
		RPCAddr:                    &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 4647},
		MemberlistConfig:           mc,
		RaftConfig:                 rc,
		RaftTimeout:                30 * time.Second,
		RPCHoldTimeout:             5 * time.Second,
		RPCMaxConnsPerClient:       100,
		RPCHandshakeTimeout:        5 * time.Second,
		ReconcileInterval:          60 * time.Second,
		DeadServerCleanupThreshold: 10 * time.Minute,
		MemberReapTimeout:          24 * time.Hour,
		ReconnectInterval:          10 * time.Second,
		MinHeartbeatTTL:            10 * time.Second,
		MaxHeartbeatsPerSecond:     50,
		HeartbeatGrace:             10 * time.Second,
		FailoverHeartbeatTTL:       5 * time.Minute,
		MaxContentsBytes:           1 << 20,
		EventBufferSize:            100,
		StatsCollectionInterval:    time.Second,
		NumSchedulers:              runtime.NumCPU(),
		EnabledSchedulers:          slices.Clone(structs.SchedulerTypes),
		EvalNackTimeout:            60 * time.Second,
		EvalDeliveryLimit:          3,
		CoreInterval:               5 * time.Minute,
		NodeGCThreshold:            24 * time.Hour,
		ChatRetention:              DefaultChatRetention,
		Logger:                     hclog.NewNullLogger(),
	}
}

// DefaultChatRetention is assistant { chat_retention }'s default.
const DefaultChatRetention = 30 * 24 * time.Hour

// memberName is the gossip name of a server: name.region, as Nomad's.
func (c *Config) memberName() string { return c.NodeName + "." + c.Region }
