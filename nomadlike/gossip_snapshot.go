package nomadlike

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// The gossip snapshot keeps the addresses of the other servers in the data
// dir, so a restarted server rejoins the pool by itself even when it has no
// join addresses (the seed of a cluster usually has none), as serf's
// snapshot does. Without it, a server restarted before the others noticed
// its death would be alive in their view but alone in its own until the
// next push-pull.

func (s *Server) gossipSnapshotPath() string {
	return filepath.Join(s.config.DataDir, "server", "gossip-peers.json")
}

// writeGossipSnapshot runs until shutdown, rewriting the snapshot after
// membership changes.
func (s *Server) writeGossipSnapshot() {
	var last []string
	for {
		select {
		case <-s.shutdownCh:
			return
		case <-s.snapshotCh:
		}
		var addrs []string
		for _, m := range s.members.list() {
			if m.isServer && m.Status == statusAlive && m.Name != s.config.memberName() && m.Addr != nil {
				addrs = append(addrs, net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port))))
			}
		}
		// Keep the last known peers when everyone else is down: those
		// are the addresses worth trying at the next start.
		if len(addrs) == 0 || slices.Equal(addrs, last) {
			continue
		}
		buf, _ := json.Marshal(addrs)
		tmp := s.gossipSnapshotPath() + ".tmp"
		if err := os.WriteFile(tmp, buf, 0o600); err == nil {
			if err := os.Rename(tmp, s.gossipSnapshotPath()); err != nil {
				s.logger.Warn("writing gossip snapshot failed", "error", err)
			}
		}
		last = addrs
	}
}

// readGossipSnapshot returns the gossip addresses saved by the last run.
func (s *Server) readGossipSnapshot() []string {
	buf, err := os.ReadFile(s.gossipSnapshotPath())
	if err != nil {
		return nil
	}
	var addrs []string
	if err := json.Unmarshal(buf, &addrs); err != nil {
		s.logger.Warn("ignoring unreadable gossip snapshot", "error", err)
		return nil
	}
	return addrs
}

// rejoinFromSnapshot joins the servers this server knew before it
// stopped, retrying for a while since they may be restarting too.
func (s *Server) rejoinFromSnapshot(addrs []string) {
	if len(addrs) == 0 {
		return
	}
	for attempt := 0; attempt < 60; attempt++ {
		if n, _ := s.memberlist.Join(addrs); n > 0 {
			s.logger.Info("rejoined gossip pool from snapshot", "joined", n)
			return
		}
		select {
		case <-s.shutdownCh:
			return
		case <-time.After(time.Second):
		}
	}
	s.logger.Warn("could not rejoin any server from the gossip snapshot", "addrs", addrs)
}
