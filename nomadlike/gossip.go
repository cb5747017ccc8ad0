package nomadlike

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/structs"
)

// Member statuses, as serf (and so Nomad) names them.
const (
	statusAlive   = "alive"
	statusLeaving = "leaving"
	statusLeft    = "left"
	statusFailed  = "failed"
)

// member is one server of the gossip pool as this server knows it.
// memberlist forgets dead nodes; the tracker keeps them as failed or left
// until they are reaped, as serf does.
type member struct {
	Name     string
	Addr     net.IP
	Port     uint16
	Tags     map[string]string
	Status   string
	Since    time.Time
	PMin     uint8
	PMax     uint8
	PCur     uint8
	DMin     uint8
	DMax     uint8
	DCur     uint8
	isServer bool
}

// server-facing views of the tags.
func (m *member) id() string      { return m.Tags["id"] }
func (m *member) rpcAddr() string { return m.Tags["rpc_addr"] }
func (m *member) region() string  { return m.Tags["region"] }

type memberTracker struct {
	mu      sync.Mutex
	local   string
	members map[string]*member
}

func newMemberTracker(local string) *memberTracker {
	return &memberTracker{local: local, members: map[string]*member{}}
}

func (t *memberTracker) update(n *memberlist.Node, status string) {
	tags, err := decodeTags(n.Meta)
	if err != nil {
		tags = map[string]string{}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := &member{
		Name: n.Name, Addr: n.Addr, Port: n.Port, Tags: tags, Status: status, Since: time.Now(),
		PMin: n.PMin, PMax: n.PMax, PCur: n.PCur, DMin: n.DMin, DMax: n.DMax, DCur: n.DCur,
		isServer: tags["role"] == "nomad",
	}
	if old, ok := t.members[n.Name]; ok && old.Status == status {
		m.Since = old.Since
	}
	t.members[n.Name] = m
}

func (t *memberTracker) setLocalStatus(status string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m, ok := t.members[t.local]; ok {
		m.Status = status
	}
}

// setStatus changes a known member's status; it reports whether it knew it.
func (t *memberTracker) setStatus(name, status string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.members[name]
	if ok && m.Status != status {
		m.Status = status
		m.Since = time.Now()
	}
	return ok
}

func (t *memberTracker) remove(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.members, name)
}

// list returns copies of all members sorted by name.
func (t *memberTracker) list() []*member {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*member, 0, len(t.members))
	for _, m := range t.members {
		c := *m
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (t *memberTracker) get(name string) (*member, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.members[name]
	if !ok {
		return nil, false
	}
	c := *m
	return &c, true
}

// gossipDelegate connects memberlist to the server.
type gossipDelegate struct {
	s    *Server
	meta []byte
}

func (d *gossipDelegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		panic(fmt.Sprintf("gossip tags are %d bytes, over memberlist's limit of %d", len(d.meta), limit))
	}
	return d.meta
}

// NotifyMsg receives user messages: leave intents.
func (d *gossipDelegate) NotifyMsg(buf []byte) {
	var intent leaveIntent
	if len(buf) == 0 || structs.Decode(buf, &intent) != nil {
		return
	}
	d.s.members.leaveIntent(intent.Node)
	d.s.triggerReconcile()
}

func (d *gossipDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.s.broadcasts.GetBroadcasts(overhead, limit)
}
func (d *gossipDelegate) LocalState(join bool) []byte            { return nil }
func (d *gossipDelegate) MergeRemoteState(buf []byte, join bool) {}

func (d *gossipDelegate) NotifyJoin(n *memberlist.Node) {
	d.s.members.update(n, statusAlive)
	d.s.logger.Info("member joined", "name", n.Name, "addr", n.Address())
	d.s.memberEvent()
}

func (d *gossipDelegate) NotifyLeave(n *memberlist.Node) {
	// memberlist hands over the node without its new state, so a
	// graceful leave is recognised by the leave intent that preceded it,
	// as serf does.
	status := statusFailed
	if m, ok := d.s.members.get(n.Name); ok && (m.Status == statusLeaving || m.Status == statusLeft) {
		status = statusLeft
	}
	d.s.members.update(n, status)
	d.s.logger.Info("member "+status, "name", n.Name)
	d.s.memberEvent()
}

func (d *gossipDelegate) NotifyUpdate(n *memberlist.Node) {
	d.s.members.update(n, statusAlive)
	d.s.memberEvent()
}

// leaveIntent is gossiped by a server about to leave gracefully, and by
// force-leave about a failed server: every server then marks the member
// leaving (if it still looks alive) or left (if it looks failed).
type leaveIntent struct {
	Node string
}

type leaveBroadcast struct {
	msg    []byte
	notify chan struct{}
}

func (b *leaveBroadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *leaveBroadcast) Message() []byte                       { return b.msg }
func (b *leaveBroadcast) Finished() {
	if b.notify != nil {
		close(b.notify)
	}
}

// broadcastLeaveIntent gossips a leave intent for name; the returned
// channel closes once it has been transmitted.
func (s *Server) broadcastLeaveIntent(name string) (<-chan struct{}, error) {
	msg, err := structs.Encode(0, &leaveIntent{Node: name})
	if err != nil {
		return nil, err
	}
	b := &leaveBroadcast{msg: msg[1:], notify: make(chan struct{})}
	s.broadcasts.QueueBroadcast(b)
	return b.notify, nil
}

// leaveIntent applies a leave intent to the tracker.
func (t *memberTracker) leaveIntent(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.members[name]
	if !ok {
		return
	}
	switch m.Status {
	case statusAlive:
		m.Status, m.Since = statusLeaving, time.Now()
	case statusFailed:
		m.Status, m.Since = statusLeft, time.Now()
	}
}

func (s *Server) tags() map[string]string {
	return map[string]string{
		"role":     "nomad",
		"region":   s.config.Region,
		"dc":       s.config.Datacenter,
		"build":    s.config.Build,
		"port":     strconv.Itoa(s.config.RPCAdvertise.Port),
		"rpc_addr": s.config.RPCAdvertise.String(),
		"id":       s.config.NodeID,
		// boot names this process: a server that restarted has a new one,
		// so the leader knows the executions it ran before are orphans.
		"boot":     s.bootID,
		"expect":   strconv.Itoa(s.config.BootstrapExpect),
		"raft_vsn": strconv.Itoa(int(s.config.RaftConfig.ProtocolVersion)),
		"vsn":      "1",
		"mvn":      "1",
	}
}

func encodeTags(tags map[string]string) ([]byte, error) {
	buf, err := structs.Encode(0, tags)
	if err != nil {
		return nil, err
	}
	return buf[1:], nil
}

func decodeTags(buf []byte) (map[string]string, error) {
	tags := map[string]string{}
	if len(buf) == 0 {
		return tags, nil
	}
	err := structs.Decode(buf, &tags)
	return tags, err
}

func (s *Server) setupGossip() error {
	meta, err := encodeTags(s.tags())
	if err != nil {
		return err
	}
	s.members = newMemberTracker(s.config.memberName())
	d := &gossipDelegate{s: s, meta: meta}
	mc := *s.config.MemberlistConfig
	mc.Name = s.config.memberName()
	mc.Delegate = d
	mc.Events = d
	s.broadcasts = &memberlist.TransmitLimitedQueue{
		NumNodes:       func() int { return s.memberlist.NumMembers() },
		RetransmitMult: mc.RetransmitMult,
	}
	ml, err := memberlist.Create(&mc)
	if err != nil {
		return err
	}
	s.memberlist = ml
	// memberlist builds the keyring from SecretKey in its own copy of the
	// config; ask that copy.
	s.gossipEncrypted = mc.EncryptionEnabled()
	if !s.gossipEncrypted && !s.config.DevMode {
		// The leader makes every alive server of the pool a raft voter:
		// the gossip key is what keeps a stranger out of the pool.
		s.logger.Warn("gossip is not encrypted: any host that reaches the gossip port can join the server pool and become a raft voter; set encrypt in the server block")
	}
	return nil
}

// Join joins the gossip pool through the given addresses (host:serf-port).
func (s *Server) Join(addrs []string) (int, error) {
	return s.memberlist.Join(addrs)
}

// memberEvent reacts to a change of the gossip pool.
func (s *Server) memberEvent() {
	s.triggerReconcile()
	select {
	case s.snapshotCh <- struct{}{}:
	default:
	}
}

func (s *Server) triggerReconcile() {
	select {
	case s.reconcileCh <- struct{}{}:
	default:
	}
}

// ForceLeave moves a failed member to left (gossiping the intent) so the
// leader removes it from raft. With prune it is also forgotten at once.
// token is the operator's, which the leader checks again (agent:write)
// when this server relays the force-leave to it.
func (s *Server) ForceLeave(name string, prune bool, token string) error {
	m, ok := s.members.get(name)
	if !ok {
		m, ok = s.members.get(name + "." + s.config.Region)
	}
	if !ok {
		return structs.NewErrCoded(http.StatusBadRequest, "no member named %q in the gossip pool", name)
	}
	if m.Status == statusAlive {
		// As serf: an alive member would refute the intent.
		s.logger.Warn("force-leave of an alive member has no effect", "name", m.Name)
		return nil
	}
	if m.Status == statusFailed {
		s.members.setStatus(m.Name, statusLeft)
		if _, err := s.broadcastLeaveIntent(m.Name); err != nil {
			return err
		}
	}
	if prune {
		s.members.remove(m.Name)
	}
	s.triggerReconcile()
	// The leader may be another server: ask it to reconcile now rather
	// than at its next interval.
	if !s.IsLeader() {
		if leader := s.Leader(); leader != "" {
			var out struct{}
			args := &structs.ServerLeaveRequest{Member: m.Name, Prune: prune, AuthToken: token}
			if err := s.connPool.RPC(leader, "Status.Leave", args, &out); err != nil {
				s.logger.Warn("leader did not take force-leave", "error", err)
			}
		}
	}
	return nil
}

// Members returns the gossip pool in the shape of /v1/agent/members.
func (s *Server) Members() *structs.ServerMembersResponse {
	out := &structs.ServerMembersResponse{
		ServerName:   s.config.NodeName,
		ServerRegion: s.config.Region,
		ServerDC:     s.config.Datacenter,
		Members:      []*structs.ServerMember{},
	}
	for _, m := range s.members.list() {
		out.Members = append(out.Members, m.apiMember())
	}
	return out
}

// LocalMember returns this server as a member.
func (s *Server) LocalMember() *structs.ServerMember {
	if m, ok := s.members.get(s.config.memberName()); ok {
		return m.apiMember()
	}
	return &structs.ServerMember{Name: s.config.memberName(), Tags: s.tags(), Status: statusAlive}
}

func (m *member) apiMember() *structs.ServerMember {
	addr := ""
	if m.Addr != nil {
		addr = m.Addr.String()
	}
	return &structs.ServerMember{
		Name: m.Name, Addr: addr, Port: m.Port, Tags: m.Tags, Status: m.Status,
		ProtocolMin: m.PMin, ProtocolMax: m.PMax, ProtocolCur: m.PCur,
		DelegateMin: m.DMin, DelegateMax: m.DMax, DelegateCur: m.DCur,
	}
}

// GossipStats are the "serf" section of /v1/agent/self.
func (s *Server) GossipStats() map[string]string {
	var failed, left int
	for _, m := range s.members.list() {
		switch m.Status {
		case statusFailed:
			failed++
		case statusLeft:
			left++
		}
	}
	return map[string]string{
		"members":      strconv.Itoa(s.memberlist.NumMembers()),
		"failed":       strconv.Itoa(failed),
		"left":         strconv.Itoa(left),
		"health_score": strconv.Itoa(s.memberlist.GetHealthScore()),
		"encrypted":    strconv.FormatBool(s.gossipEncrypted),
	}
}

// maintainMembers tries to rejoin failed members every ReconnectInterval
// and forgets members failed or left for longer than MemberReapTimeout.
func (s *Server) maintainMembers() {
	t := time.NewTicker(s.config.ReconnectInterval)
	defer t.Stop()
	for {
		select {
		case <-s.shutdownCh:
			return
		case <-t.C:
		}
		for _, m := range s.members.list() {
			if m.Status != statusFailed && m.Status != statusLeft {
				continue
			}
			if time.Since(m.Since) > s.config.MemberReapTimeout {
				s.logger.Info("reaping member", "name", m.Name, "status", m.Status)
				s.members.remove(m.Name)
				s.triggerReconcile()
				continue
			}
			if m.Status == statusFailed && m.Addr != nil {
				addr := net.JoinHostPort(m.Addr.String(), strconv.Itoa(int(m.Port)))
				if _, err := s.memberlist.Join([]string{addr}); err == nil {
					s.logger.Info("reconnected to failed member", "name", m.Name)
				}
			}
		}
	}
}

// maybeBootstrap bootstraps raft once BootstrapExpect servers of this
// region are alive in the gossip pool and none of them is already part of a
// cluster. Every one of them computes the same configuration.
func (s *Server) maybeBootstrap() {
	if s.config.BootstrapExpect == 0 {
		return
	}
	s.bootstrapLock.Lock()
	defer s.bootstrapLock.Unlock()
	if s.bootstrapped || s.isShutdown() {
		return
	}
	if f := s.raft.GetConfiguration(); f.Error() == nil && len(f.Configuration().Servers) > 0 {
		s.bootstrapped = true
		return
	}
	var servers []*member
	for _, m := range s.members.list() {
		if !m.isServer || m.Status != statusAlive || m.region() != s.config.Region {
			continue
		}
		if m.Tags["expect"] != strconv.Itoa(s.config.BootstrapExpect) {
			s.logger.Error("peer has a different bootstrap_expect; not bootstrapping",
				"peer", m.Name, "expect", m.Tags["expect"])
			return
		}
		servers = append(servers, m)
	}
	if len(servers) < s.config.BootstrapExpect {
		return
	}
	// A peer that already has raft peers belongs to a running cluster;
	// this server will be added to it by its leader instead.
	for _, m := range servers {
		if m.id() == s.config.NodeID {
			continue
		}
		var peers []string
		if err := s.connPool.RPC(m.rpcAddr(), "Status.Peers", &structs.GenericRequest{}, &peers); err != nil {
			s.logger.Debug("bootstrap: cannot ask peer for its peers yet", "peer", m.Name, "error", err)
			return
		}
		if len(peers) > 0 {
			s.logger.Info("existing raft peers found; not bootstrapping", "peer", m.Name)
			s.bootstrapped = true
			return
		}
	}
	var cfg raft.Configuration
	var names []string
	for _, m := range servers {
		cfg.Servers = append(cfg.Servers, raft.Server{
			Suffrage: raft.Voter,
			ID:       raft.ServerID(m.id()),
			Address:  raft.ServerAddress(m.rpcAddr()),
		})
		names = append(names, m.Name)
	}
	s.logger.Info("found expected number of peers, bootstrapping raft", "peers", strings.Join(names, ","))
	if err := s.raft.BootstrapCluster(cfg).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		s.logger.Error("raft bootstrap failed", "error", err)
		return
	}
	s.bootstrapped = true
}
