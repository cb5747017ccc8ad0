package nomadlike

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// heartbeats holds the leader's per-node TTL timers. A timer that fires
// marks its node down through raft. Only the leader has timers; a new
// leader starts one per live node with FailoverHeartbeatTTL.
type heartbeats struct {
	s      *Server
	mu     sync.Mutex
	timers map[string]*time.Timer
}

func newHeartbeats(s *Server) *heartbeats {
	return &heartbeats{s: s, timers: map[string]*time.Timer{}}
}

// initialize starts a timer for every node that is not down. External
// nodes get none: they never heartbeat, and stay ready.
func (h *heartbeats) initialize() {
	nodes, err := h.s.fsm.State().Nodes(nil, "")
	if err != nil {
		h.s.logger.Error("heartbeat init: listing nodes failed", "error", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range nodes {
		if n.Status == structs.NodeStatusDown || n.External {
			continue
		}
		h.resetLocked(n.ID, h.s.config.FailoverHeartbeatTTL)
	}
}

// reset (re)arms a node's timer and returns the TTL the node is given.
// The TTL grows with the number of nodes so that the leader sees at most
// MaxHeartbeatsPerSecond heartbeats per second, and is staggered so that
// nodes that registered together do not heartbeat together.
func (h *heartbeats) reset(nodeID string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	ttl := rateScaledInterval(h.s.config.MaxHeartbeatsPerSecond, h.s.config.MinHeartbeatTTL, len(h.timers))
	ttl += rand.N(ttl/4 + 1)
	h.resetLocked(nodeID, ttl+h.s.config.HeartbeatGrace)
	return ttl
}

func (h *heartbeats) resetLocked(nodeID string, d time.Duration) {
	if t, ok := h.timers[nodeID]; ok {
		t.Reset(d)
		return
	}
	h.timers[nodeID] = time.AfterFunc(d, func() { h.expire(nodeID) })
}

// clear stops a node's timer.
func (h *heartbeats) clear(nodeID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.timers[nodeID]; ok {
		t.Stop()
		delete(h.timers, nodeID)
	}
}

// clearAll stops every timer (leadership lost or shutdown).
func (h *heartbeats) clearAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, t := range h.timers {
		t.Stop()
		delete(h.timers, id)
	}
}

// expire marks a node down after its TTL lapsed.
func (h *heartbeats) expire(nodeID string) {
	h.mu.Lock()
	delete(h.timers, nodeID)
	h.mu.Unlock()
	if !h.s.IsLeader() {
		return
	}
	// A timer armed for an external node (a heartbeat sent with its
	// secret) must not mark it down.
	if n, err := h.s.fsm.State().NodeByID(nil, nodeID); err == nil && n != nil && n.External {
		return
	}
	h.s.logger.Warn("node TTL expired, marking down", "node_id", nodeID)
	req := &structs.NodeUpdateStatusRequest{
		NodeID:            nodeID,
		Status:            structs.NodeStatusDown,
		StatusDescription: structs.NodeStatusDescription(structs.NodeStatusDown),
		UpdatedAt:         time.Now().Unix(),
	}
	if _, _, err := h.s.raftApply(structs.NodeUpdateStatusRequestType, req); err != nil {
		h.s.logger.Error("marking node down failed", "node_id", nodeID, "error", err)
	}
}

// rateScaledInterval is the interval at which n nodes together send at
// most rate heartbeats per second, never below min.
func rateScaledInterval(rate float64, min time.Duration, n int) time.Duration {
	if rate <= 0 {
		return min
	}
	interval := time.Duration(float64(time.Second) * float64(n) / rate)
	if interval < min {
		return min
	}
	return interval
}
