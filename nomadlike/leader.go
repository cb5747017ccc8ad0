package nomadlike

import (
	"errors"
	"time"

	"github.com/hashicorp/raft"
)

// monitorLeadership runs the leader loop while this server leads.
func (s *Server) monitorLeadership() {
	var stopCh chan struct{}
	var done chan struct{}
	stop := func() {
		if stopCh != nil {
			close(stopCh)
			<-done
			stopCh = nil
		}
	}
	defer stop()
	for {
		select {
		case <-s.shutdownCh:
			return
		case isLeader := <-s.raftNotifyCh:
			if isLeader {
				if stopCh != nil {
					continue
				}
				stopCh, done = make(chan struct{}), make(chan struct{})
				go func(stopCh, done chan struct{}) {
					defer close(done)
					s.leaderLoop(stopCh)
				}(stopCh, done)
				s.logger.Info("cluster leadership acquired")
			} else if stopCh != nil {
				stop()
				s.logger.Info("cluster leadership lost")
			}
		}
	}
}

// leaderLoop establishes leadership once its barrier passes, then keeps
// the raft configuration in line with the gossip pool until leadership is
// lost.
func (s *Server) leaderLoop(stopCh chan struct{}) {
	established := false
	defer func() {
		if established {
			s.revokeLeadership()
		}
	}()
	ticker := time.NewTicker(s.config.ReconcileInterval)
	defer ticker.Stop()
	for {
		// The barrier makes sure every entry of earlier terms is applied
		// before this leader acts on the state.
		if !established {
			stopped, err := s.barrier(stopCh)
			if stopped {
				return
			}
			if err != nil {
				s.logger.Error("leader barrier failed", "error", err)
				select {
				case <-stopCh:
					return
				case <-time.After(100 * time.Millisecond):
					continue
				}
			}
			s.establishLeadership(stopCh)
			established = true
		}
		s.reconcile()
		select {
		case <-stopCh:
			return
		case <-s.shutdownCh:
			return
		case <-ticker.C:
		case <-s.reconcileCh:
		}
	}
}

// barrier waits for a raft barrier, or for stopCh or shutdown (stopped).
// A barrier that raft queued just before it shut down is never answered
// (its apply queue is buffered and not drained), so the wait must not
// depend on the future alone: a server's shutdown hung on it.
func (s *Server) barrier(stopCh chan struct{}) (stopped bool, err error) {
	errCh := make(chan error, 1)
	go func() { errCh <- s.raft.Barrier(time.Minute).Error() }()
	select {
	case err := <-errCh:
		return false, err
	case <-stopCh:
		return true, nil
	case <-s.shutdownCh:
		return true, nil
	}
}

// establishLeadership starts what only the leader runs: heartbeat
// timers, the evaluation broker and the feeder that fills it (which stops
// with stopCh).
func (s *Server) establishLeadership(stopCh chan struct{}) {
	s.heartbeats.initialize()
	s.leaderReady.Store(true)
	s.evalBroker.SetEnabled(true)
	s.feederDone = make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		s.evalFeeder(stopCh)
	}(s.feederDone)
	go s.reapExecutions(stopCh)
	s.notifyLeaderChange()
}

// revokeLeadership stops what only the leader runs.
func (s *Server) revokeLeadership() {
	s.leaderReady.Store(false)
	s.heartbeats.clearAll()
	s.evalBroker.SetEnabled(false)
	<-s.feederDone
	s.notifyLeaderChange()
}

// reconcile makes the raft configuration follow the gossip pool: alive
// servers become voters; servers that left (or were force-left) are
// removed; servers failed longer than the dead-server threshold are
// removed while quorum allows.
func (s *Server) reconcile() {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		s.logger.Error("failed to get raft configuration", "error", err)
		return
	}
	cfg := f.Configuration()
	inRaft := map[raft.ServerID]raft.Server{}
	voters := 0
	for _, srv := range cfg.Servers {
		inRaft[srv.ID] = srv
		if srv.Suffrage == raft.Voter {
			voters++
		}
	}
	members := s.members.list()
	var failed []*member
	for _, m := range members {
		if !m.isServer || m.region() != s.config.Region || m.id() == "" {
			continue
		}
		id := raft.ServerID(m.id())
		srv, known := inRaft[id]
		switch m.Status {
		case statusAlive:
			if !known || srv.Address != raft.ServerAddress(m.rpcAddr()) {
				s.addRaftPeer(m, cfg)
			}
		case statusLeft, statusLeaving:
			if known && id != raft.ServerID(s.config.NodeID) {
				s.removeRaftPeer(id, m.Name, m.Status)
			}
		case statusFailed:
			if known && id != raft.ServerID(s.config.NodeID) {
				failed = append(failed, m)
			}
		}
	}
	if s.config.DeadServerCleanupThreshold <= 0 {
		return
	}
	for _, m := range failed {
		if time.Since(m.Since) < s.config.DeadServerCleanupThreshold {
			continue
		}
		// Never remove so many that the rest could not form a quorum
		// with the failed ones coming back.
		if len(failed)*2 >= voters {
			s.logger.Warn("not removing dead servers: too many failed for quorum safety",
				"failed", len(failed), "voters", voters)
			return
		}
		s.removeRaftPeer(raft.ServerID(m.id()), m.Name, "failed longer than dead_server_cleanup")
		voters--
		failed = failed[1:]
	}
}

func (s *Server) addRaftPeer(m *member, cfg raft.Configuration) {
	addr := raft.ServerAddress(m.rpcAddr())
	id := raft.ServerID(m.id())
	// A server that came back with a new ID on an old address (wiped
	// data dir) replaces its old entry.
	for _, srv := range cfg.Servers {
		if srv.Address == addr && srv.ID != id {
			s.removeRaftPeer(srv.ID, string(srv.Address), "address reused by "+m.Name)
		}
	}
	if err := s.verifyServerPeer(string(addr)); err != nil {
		s.logger.Warn("tls: not adding server as raft voter: it did not present a server certificate",
			"name", m.Name, "addr", addr, "want", s.config.TLS.ServerName(), "error", err)
		return
	}
	s.logger.Info("adding server as raft voter", "name", m.Name, "id", id, "addr", addr)
	if err := s.raft.AddVoter(id, addr, 0, 0).Error(); err != nil {
		s.logger.Error("failed to add raft peer", "name", m.Name, "error", err)
	}
}

func (s *Server) removeRaftPeer(id raft.ServerID, name, why string) {
	s.logger.Info("removing server from raft", "name", name, "id", id, "reason", why)
	if err := s.raft.RemoveServer(id, 0, 0).Error(); err != nil && !errors.Is(err, raft.ErrNotLeader) {
		s.logger.Error("failed to remove raft peer", "name", name, "error", err)
	}
}

// bootstrapLoop retries bootstrap until raft has a configuration, since a
// peer's RPC may not answer at the moment its gossip join arrives.
func (s *Server) bootstrapLoop() {
	if s.config.BootstrapExpect == 0 {
		return
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		s.bootstrapLock.Lock()
		done := s.bootstrapped
		s.bootstrapLock.Unlock()
		if done {
			return
		}
		select {
		case <-s.shutdownCh:
			return
		case <-t.C:
			s.maybeBootstrap()
		}
	}
}
