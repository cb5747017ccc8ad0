// Package nomadlike is the server: raft with a bolt log and file snapshots,
// memberlist gossip among servers, bootstrap-expect, the leader loop, the
// RPC listener (raft and RPC multiplexed on one port), forwarding to the
// leader, heartbeat timers, and the RPC endpoints per resource.
package nomadlike

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/fsm/stream"
	"github.com/nomadlike/nomadlike/nomadlike/connlimit"
	"github.com/nomadlike/nomadlike/nomadlike/hostmetrics"
	"github.com/nomadlike/nomadlike/nomadlike/validate"
	"github.com/nomadlike/nomadlike/structs"
)

// Server is one nomadlike server.
type Server struct {
	config *Config
	logger hclog.Logger

	fsm *fsm.FSM

	raft          *raft.Raft
	raftLayer     *RaftLayer
	raftStore     raftStore
	raftBackend   string // the raft log backend in use
	raftTransport *raft.NetworkTransport
	raftNotifyCh  chan bool

	rpcListener net.Listener
	// rpcConnLimit and rpcHandshakeTimeout (ns) are the limits { rpc_* }
	// in effect; SetRPCLimits changes them in a running server.
	rpcConnLimit        *connlimit.Limiter
	rpcHandshakeTimeout atomic.Int64
	rpcServer           *RPCServer
	connPool            *ConnPool

	memberlist *memberlist.Memberlist
	// gossipEncrypted is whether memberlist runs with a keyring.
	gossipEncrypted bool
	members         *memberTracker
	broadcasts      *memberlist.TransmitLimitedQueue
	// reconcileCh wakes the leader loop on membership changes.
	reconcileCh chan struct{}
	// snapshotCh wakes the gossip snapshot writer.
	snapshotCh chan struct{}
	// bootstrapLock serialises bootstrap attempts; bootstrapped is set
	// once raft has a configuration (bootstrapped here or joined).
	bootstrapLock sync.Mutex
	bootstrapped  bool

	heartbeats *heartbeats
	aclCache   aclCache

	// hostMetrics is the store of the host metrics pushed to this server.
	hostMetrics *hostmetrics.Store

	// evalBroker queues evaluations on the leader; workers run them.
	evalBroker *evalBroker
	workers    workerPool
	// leaderChangeCh is closed and replaced whenever leadership is
	// established or revoked, waking paused workers.
	leaderChangeMu sync.Mutex
	leaderChangeCh chan struct{}
	// raftLeaderCh is closed and replaced whenever raft reports another
	// leader (or none) on this server, waking forwarders (watchRaftLeader).
	raftLeaderMu sync.Mutex
	raftLeaderCh chan struct{}
	// feederDone is closed when the leader's eval feeder has stopped.
	feederDone chan struct{}
	// matcherCache holds the pipeline scheduler's parsed matchers.
	matcherCacheMu sync.Mutex
	matcherCache   map[*structs.Pipeline][]*validate.Matcher
	// streamingHandlers are the streaming RPCs (0x05) by method.
	streamingHandlers map[string]StreamingHandler
	// nodeConns reach client nodes over the sessions they dialled.
	nodeConns nodeConns

	// broker streams every apply's events to subscribers.
	broker     *stream.EventBroker
	stopBroker context.CancelFunc

	// leaderReady is set once this server's leadership is established
	// (its barrier has applied every earlier entry) and cleared when it is
	// lost. Requests routed to the leader wait for it, so a new leader
	// never answers from state older than what was acknowledged.
	leaderReady atomic.Bool
	// readRounds coalesce the leadership checks of linearizable reads.
	readRounds rounds
	// followerRounds coalesce a follower's read index questions.
	followerRounds rounds
	// appliedReports coalesce nodes' applied reports into raft entries.
	appliedReports reportBatches
	// blockingQueries counts the blocking queries running here.
	blockingQueries atomic.Int64
	// bootID names this process (gossip tag "boot"); executions record it.
	bootID string
	// executions are the assistant executions this server runs.
	executions executions

	shutdownLock sync.Mutex
	shutdown     bool
	shutdownCh   chan struct{}
	wg           sync.WaitGroup
}

// NewServer starts a server: it opens the raft stores under DataDir, binds
// the RPC port, starts raft and joins nothing yet (see Join).
func NewServer(config *Config) (*Server, error) {
	if config.DataDir == "" {
		return nil, errors.New("server requires a data dir")
	}
	if config.NodeName == "" {
		return nil, errors.New("server requires a node name")
	}
	s := &Server{
		config:      config,
		logger:      config.Logger.Named("server"),
		rpcServer:   NewRPCServer(config.Logger.Named("rpc")),
		connPool:    NewConnPool(),
		reconcileCh: make(chan struct{}, 1),
		snapshotCh:  make(chan struct{}, 1),
		shutdownCh:  make(chan struct{}),
		bootID:      uuid.NewString(),
	}
	s.heartbeats = newHeartbeats(s)
	s.evalBroker = newEvalBroker(config.EvalNackTimeout, config.EvalDeliveryLimit)
	s.leaderChangeCh = make(chan struct{})
	s.raftLeaderCh = make(chan struct{})
	if err := s.setupNodeID(); err != nil {
		return nil, err
	}
	var err error
	if s.fsm, err = fsm.New(config.Logger); err != nil {
		return nil, err
	}
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	s.stopBroker = stopBroker
	s.broker = stream.NewEventBroker(brokerCtx, stream.BrokerConfig{
		EventBufferSize: config.EventBufferSize, Logger: s.logger.Named("events"),
	})
	s.fsm.SetEventBroker(s.broker)
	if s.hostMetrics, err = s.openHostMetrics(); err != nil {
		return nil, err
	}
	if err := s.registerEndpoints(); err != nil {
		s.hostMetrics.Close()
		return nil, err
	}
	s.registerStreamingHandlers()
	if err := s.setupRPCListener(); err != nil {
		s.hostMetrics.Close()
		return nil, err
	}
	s.setupTLS()
	if err := s.setupRaft(); err != nil {
		s.rpcListener.Close()
		s.hostMetrics.Close()
		return nil, fmt.Errorf("raft setup failed: %w", err)
	}
	s.rpcConnLimit = connlimit.New(s.config.RPCMaxConnsPerClient)
	s.rpcHandshakeTimeout.Store(int64(s.config.RPCHandshakeTimeout))
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.listen() }()
	// Read the last run's gossip peers before gossip starts: once it has,
	// the snapshot writer may replace the file with this run's view.
	rejoin := s.readGossipSnapshot()
	if err := s.setupGossip(); err != nil {
		s.Shutdown()
		return nil, fmt.Errorf("gossip setup failed: %w", err)
	}
	s.wg.Add(7)
	go func() { defer s.wg.Done(); s.watchRaftLeader() }()
	go func() { defer s.wg.Done(); s.emitStats() }()
	go func() { defer s.wg.Done(); s.monitorLeadership() }()
	go func() { defer s.wg.Done(); s.maintainMembers() }()
	go func() { defer s.wg.Done(); s.bootstrapLoop() }()
	go func() { defer s.wg.Done(); s.writeGossipSnapshot() }()
	go func() { defer s.wg.Done(); s.rejoinFromSnapshot(rejoin) }()
	if _, err := s.SetSchedulerWorkerConfig(structs.SchedulerWorkerPoolArgs{
		NumSchedulers: config.NumSchedulers, EnabledSchedulers: config.EnabledSchedulers,
	}); err != nil {
		s.Shutdown()
		return nil, fmt.Errorf("scheduler workers: %w", err)
	}
	s.logger.Info("server started", "name", config.NodeName, "id", config.NodeID,
		"rpc", config.RPCAdvertise.String(), "bootstrap_expect", config.BootstrapExpect)
	return s, nil
}

// setupNodeID reads the server's raft ID from the data dir, generating and
// saving it on first start.
func (s *Server) setupNodeID() error {
	if s.config.NodeID != "" {
		return nil
	}
	path := filepath.Join(s.config.DataDir, "server", "node-id")
	if buf, err := os.ReadFile(path); err == nil {
		id := strings.TrimSpace(string(buf))
		if _, err := uuid.Parse(id); err != nil {
			return fmt.Errorf("node ID in %s is not a UUID: %q", path, id)
		}
		s.config.NodeID = id
		return nil
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("reading node ID: %w", err)
	}
	id := uuid.NewString()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return fmt.Errorf("writing node ID: %w", err)
	}
	s.config.NodeID = id
	return nil
}

func (s *Server) setupRPCListener() error {
	ln, err := net.ListenTCP("tcp", s.config.RPCAddr)
	if err != nil {
		return fmt.Errorf("rpc listener on %s: %w", s.config.RPCAddr, err)
	}
	if s.config.RPCAdvertise == nil {
		s.config.RPCAdvertise = ln.Addr().(*net.TCPAddr)
	}
	if s.config.RPCAdvertise.IP.IsUnspecified() {
		ln.Close()
		return fmt.Errorf("rpc advertise address %s is not routable; set advertise", s.config.RPCAdvertise)
	}
	s.rpcListener = ln
	s.raftLayer = NewRaftLayer(s.config.RPCAdvertise)
	return nil
}

func (s *Server) setupRaft() error {
	dir := filepath.Join(s.config.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	rlog := s.config.Logger.Named("raft")
	store, backend, err := openRaftStore(dir, s.config.RaftLogStore, rlog)
	if err != nil {
		return err
	}
	rlog.Info("raft log store opened", "backend", backend)
	s.raftStore, s.raftBackend = store, backend
	logs, err := raft.NewLogCache(512, store)
	if err != nil {
		return err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, rlog)
	if err != nil {
		return err
	}
	s.raftTransport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  s.raftLayer,
		MaxPool: 3,
		Timeout: 10 * time.Second,
		Logger:  rlog,
		// No pipelining: raft 1.7.3's pipeline can deadlock the
		// replication to a follower (and then raft's shutdown) when the
		// follower refuses an append while another is in flight; see
		// DESIGN.md "Raft replication without pipelining".
		MaxRPCsInFlight: 1,
	})

	rc := *s.config.RaftConfig
	rc.LocalID = raft.ServerID(s.config.NodeID)
	rc.Logger = rlog
	s.raftNotifyCh = make(chan bool, 10)
	rc.NotifyCh = s.raftNotifyCh

	hasState, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		return err
	}
	// A server with a log has been part of a cluster: it must never
	// bootstrap again, whatever bootstrap_expect says.
	s.bootstrapped = hasState

	s.raft, err = raft.NewRaft(&rc, s.fsm, logs, store, snaps, s.raftTransport)
	if err != nil {
		store.Close()
		return err
	}
	return nil
}

// IsLeader tells whether this server is the raft leader and has
// established its leadership.
func (s *Server) IsLeader() bool { return s.leaderReady.Load() && s.raft.State() == raft.Leader }

// Leader returns the leader's RPC address, or "" when there is none.
func (s *Server) Leader() string {
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// otherLeader is the leader's address when it is another server ("" when
// there is none, or it is this one).
func (s *Server) otherLeader() string {
	addr, id := s.raft.LeaderWithID()
	if id == raft.ServerID(s.config.NodeID) {
		return ""
	}
	return string(addr)
}

// leaderCh is closed at the next leadership change.
func (s *Server) leaderCh() <-chan struct{} {
	s.leaderChangeMu.Lock()
	defer s.leaderChangeMu.Unlock()
	return s.leaderChangeCh
}

// raftLeaderChanged is closed when raft next reports a leader change.
func (s *Server) raftLeaderChanged() <-chan struct{} {
	s.raftLeaderMu.Lock()
	defer s.raftLeaderMu.Unlock()
	return s.raftLeaderCh
}

// watchRaftLeader wakes the requests waiting for a leader (forward) as
// soon as raft on this server hears of a new one, instead of at their
// next poll.
func (s *Server) watchRaftLeader() {
	ch := make(chan raft.Observation, 8)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	s.raft.RegisterObserver(obs)
	defer s.raft.DeregisterObserver(obs)
	for {
		select {
		case <-ch:
			s.raftLeaderMu.Lock()
			close(s.raftLeaderCh)
			s.raftLeaderCh = make(chan struct{})
			s.raftLeaderMu.Unlock()
		case <-s.shutdownCh:
			return
		}
	}
}

func (s *Server) notifyLeaderChange() {
	s.leaderChangeMu.Lock()
	close(s.leaderChangeCh)
	s.leaderChangeCh = make(chan struct{})
	s.leaderChangeMu.Unlock()
}

// EventBroker is the broker every apply on this server publishes to.
func (s *Server) EventBroker() *stream.EventBroker { return s.broker }

// State returns the current state store (read-only use).
func (s *Server) State() *fsm.StateStore { return s.fsm.State() }

// Raft exposes raft for tests and stats.
func (s *Server) Raft() *raft.Raft { return s.raft }

// Config returns the server's runtime configuration.
func (s *Server) Config() *Config { return s.config }

// RaftLogStore is the raft log backend in use (LogStoreWAL or
// LogStoreBoltDB).
func (s *Server) RaftLogStore() string { return s.raftBackend }

// RPCAddr is the advertised RPC (and raft) address.
func (s *Server) RPCAddr() string { return s.config.RPCAdvertise.String() }

func (s *Server) isShutdown() bool {
	select {
	case <-s.shutdownCh:
		return true
	default:
		return false
	}
}

// transferLeadership hands a leader's leadership to its most up-to-date
// follower before it stops, so that a planned restart costs the others one
// election round trip instead of their randomized heartbeat timeout. Writes
// that arrive meanwhile get ErrLeadershipTransferInProgress, which
// forwarding retries on the next leader like a lost leadership.
func (s *Server) transferLeadership() {
	start := time.Now()
	switch done, err := s.handOffLeadership(); {
	case err != nil:
		s.logger.Warn("leadership transfer before shutdown failed: the others elect a leader after their heartbeat timeout", "error", err)
	case done:
		s.logger.Info("transferred leadership before shutdown", "took", time.Since(start))
	}
}

// handOffLeadership transfers leadership when this server is the leader
// of more than itself; done says whether it did.
func (s *Server) handOffLeadership() (done bool, err error) {
	if s.raft == nil || s.raft.State() != raft.Leader {
		return false, nil
	}
	others := 0
	if f := s.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			if srv.Suffrage == raft.Voter && srv.ID != raft.ServerID(s.config.NodeID) {
				others++
			}
		}
	}
	if others == 0 {
		return false, nil
	}
	if err := s.raft.LeadershipTransfer().Error(); err != nil {
		return false, err
	}
	return true, nil
}

// Leave leaves the cluster gracefully: the server gets itself removed
// from raft (a leader removes itself; a follower asks the leader), then
// gossips a leave intent and leaves the gossip pool, so every server lists
// it as left rather than failed.
func (s *Server) Leave() error {
	s.logger.Info("server starting leave")
	name := s.config.memberName()
	voters := 0
	if f := s.raft.GetConfiguration(); f.Error() == nil {
		for _, srv := range f.Configuration().Servers {
			if srv.Suffrage == raft.Voter {
				voters++
			}
		}
	}
	s.members.setLocalStatus(statusLeaving)
	removed := false
	if voters > 1 && s.raft.State() == raft.Leader {
		// Hand off first: a leader that removes itself steps down
		// without telling anyone, and the others wait out their
		// heartbeat timeout before electing.
		if done, err := s.handOffLeadership(); done {
			s.logger.Info("handed leadership off before leaving")
		} else {
			s.logger.Warn("leadership transfer before leave failed; removing ourself as leader", "error", err)
			if err := s.raft.RemoveServer(raft.ServerID(s.config.NodeID), 0, 0).Error(); err != nil {
				s.logger.Error("failed to remove ourself as raft peer", "error", err)
			}
			removed = true
		}
	}
	if voters > 1 && !removed {
		leader := s.otherLeader()
		for deadline := time.Now().Add(5 * time.Second); leader == "" && time.Now().Before(deadline); leader = s.otherLeader() {
			select { // the hand-off's election, if any
			case <-s.leaderCh():
			case <-time.After(100 * time.Millisecond):
			}
		}
		if leader != "" {
			var out struct{}
			if err := s.connPool.RPC(leader, "Status.Leave", &structs.ServerLeaveRequest{Member: name}, &out); err != nil {
				s.logger.Error("leader did not take our leave", "error", err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for s.inRaftConfig() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if sent, err := s.broadcastLeaveIntent(name); err == nil {
		select {
		case <-sent:
		case <-time.After(2 * time.Second):
		}
	}
	if err := s.memberlist.Leave(5 * time.Second); err != nil {
		s.logger.Error("failed to leave gossip pool", "error", err)
	}
	return nil
}

func (s *Server) inRaftConfig() bool {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, srv := range f.Configuration().Servers {
		if srv.ID == raft.ServerID(s.config.NodeID) {
			return true
		}
	}
	return false
}

// Shutdown stops the server without leaving: the cluster sees it as failed
// and it rejoins as the same member when restarted with its data dir. A
// leader first hands its leadership to a follower.
func (s *Server) Shutdown() error {
	s.shutdownLock.Lock()
	if s.shutdown {
		s.shutdownLock.Unlock()
		return nil
	}
	s.shutdownLock.Unlock()
	// Executions write how they ended while raft still runs.
	s.executions.stopAll(3 * time.Second)
	s.transferLeadership()
	s.shutdownLock.Lock()
	if s.shutdown {
		s.shutdownLock.Unlock()
		return nil
	}
	s.shutdown = true
	close(s.shutdownCh)
	s.shutdownLock.Unlock()
	s.logger.Info("shutting down server")

	if s.memberlist != nil {
		s.memberlist.Shutdown()
	}
	s.heartbeats.clearAll()
	s.evalBroker.SetEnabled(false)
	s.stopWorkers()
	if s.raft != nil {
		if err := s.raft.Shutdown().Error(); err != nil {
			s.logger.Error("raft shutdown failed", "error", err)
		}
		// Closing the transport closes the raft layer too, after marking
		// itself shut down so its accept loop exits quietly.
		s.raftTransport.Close()
		s.raftStore.Close()
	}
	if s.rpcListener != nil {
		s.rpcListener.Close()
	}
	s.connPool.Shutdown()
	s.wg.Wait()
	if err := s.hostMetrics.Close(); err != nil {
		s.logger.Error("closing host metrics store", "error", err)
	}
	// Ends every event subscription, so streaming handlers return.
	s.stopBroker()
	return nil
}
