package nomadlike

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/rpc"
	"reflect"
	"sync"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	metrics "github.com/hashicorp/go-metrics/compat"
	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"
	"github.com/hashicorp/raft"
	"github.com/hashicorp/yamux"
	"golang.org/x/time/rate"

	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/structs"
)

// raftWarnSize is the entry size above which raftApply warns: large entries
// slow replication for everyone.
const raftWarnSize = 1024 * 1024

// listen accepts connections on the RPC port until shutdown and routes each
// by its first byte.
// A connection over rpc_max_conns_per_client from its address is closed at
// once, with a warning at most once a second.
func (s *Server) listen() {
	limiter := s.rpcConnLimit
	warn := rate.Sometimes{Interval: time.Second}
	for {
		conn, err := s.rpcListener.Accept()
		if err != nil {
			if s.isShutdown() {
				return
			}
			s.logger.Error("rpc accept failed", "error", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		counted, err := limiter.Accept(conn)
		if err != nil {
			warn.Do(func() {
				s.logger.Warn("rejecting rpc connection: too many from its address",
					"from", conn.RemoteAddr(), "limit", limiter.Max())
			})
			conn.Close()
			continue
		}
		go s.handleConn(counted)
	}
}

func (s *Server) handleConn(conn net.Conn) {
	buf := make([]byte, 1)
	// rpc_handshake_timeout: a connection that never says what it is
	// must not hold a slot of its address's cap.
	if d := time.Duration(s.rpcHandshakeTimeout.Load()); d > 0 {
		conn.SetReadDeadline(time.Now().Add(d))
	}
	if _, err := io.ReadFull(conn, buf); err != nil {
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	if buf[0] == rpcTLS {
		s.handleTLSConn(conn)
		return
	}
	if s.refusePlain(conn, buf[0]) {
		return
	}
	s.routeConn(conn, buf[0], peerPlain)
}

// routeConn serves conn by its first byte b; peer is what its TLS
// handshake proved (tls.go).
func (s *Server) routeConn(conn net.Conn, b byte, peer connPeer) {
	switch b {
	case rpcNomad:
		s.serveRPC(conn, peer)
	case rpcRaft:
		if !s.refuseRaft(conn, peer) {
			s.raftLayer.Handoff(conn)
		}
	case rpcMultiplex:
		s.serveMultiplex(conn, peer)
	case rpcStreaming:
		ServeStreamingConn(conn, s.streamingHandler)
	default:
		s.logger.Warn("unrecognized rpc byte", "byte", b, "from", conn.RemoteAddr())
		conn.Close()
	}
}

// serveRPC serves net/rpc requests on conn until it closes.
func (s *Server) serveRPC(conn io.ReadWriteCloser, peer connPeer) {
	codec := msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle)
	s.rpcServer.ServeCodec(s.guardCodec(codec, peer))
}

func (s *Server) serveMultiplex(conn net.Conn, peer connPeer) {
	cfg := yamux.DefaultConfig()
	cfg.LogOutput = io.Discard
	session, err := yamux.Server(&coalescingConn{Conn: conn}, cfg)
	if err != nil {
		conn.Close()
		return
	}
	defer session.Close()
	// Nodes reached through this session are unreachable once it ends.
	defer s.nodeConns.removeSession(session)
	for {
		stream, err := session.Accept()
		if err != nil {
			return
		}
		go func() {
			buf := make([]byte, 1)
			if _, err := io.ReadFull(stream, buf); err != nil {
				stream.Close()
				return
			}
			switch buf[0] {
			case rpcNomad:
				s.serveSessionRPC(stream, session, peer)
			case rpcStreaming:
				ServeStreamingConn(stream, s.streamingHandler)
			default:
				stream.Close()
			}
		}()
	}
}

// RPC calls an endpoint of this server in memory, as if it came over the
// network; the agent's HTTP handlers use it. args are handed to the
// endpoint as they are (endpoints normalise them in place): build them for
// the call and do not read them afterwards. reply is the caller's own.
//
// A write this server applies as the leader may fail with its outcome
// unknown when the leadership moves during the write. It is then sent
// once more, as it was before the endpoint touched it and with the same
// request ID, through the new leader, whose FSM applies it or answers with
// the first apply's result. (Writes that arrive at a follower are resent
// by forward, before anything touched them.)
func (s *Server) RPC(method string, args, reply any) error {
	info, ok := args.(structs.RPCInfo)
	write, _ := args.(structs.IdempotentWrite)
	if !ok || info.IsRead() || write == nil || !s.IsLeader() {
		return s.rpcOnce(method, args, reply)
	}
	write.EnsureRequestID()
	pristine, err := structs.Encode(0, args)
	if err != nil {
		return err
	}
	err = s.rpcOnce(method, args, reply)
	unknown := errors.Is(err, structs.ErrWriteOutcomeUnknown)
	if !unknown && !errors.Is(err, structs.ErrNoLeader) {
		return err
	}
	again := reflect.New(reflect.TypeOf(args).Elem()).Interface()
	if derr := structs.Decode(pristine[1:], again); derr != nil {
		return err
	}
	err = s.rpcOnce(method, again, reply)
	if unknown && errors.Is(err, structs.ErrNoLeader) {
		return structs.ErrWriteOutcomeUnknown
	}
	return err
}

func (s *Server) rpcOnce(method string, args, reply any) error {
	codec := &inmemCodec{method: method, args: args, reply: reply}
	if err := s.rpcServer.ServeRequest(codec); err != nil {
		return err
	}
	return structs.DecodeRPCError(codec.err)
}

// inmemCodec is a one-shot rpc.ServerCodec.
type inmemCodec struct {
	method string
	args   any
	reply  any
	err    error
	// argv is the endpoint's copy of args, to see whether it forwarded.
	argv any
}

func (c *inmemCodec) ReadRequestHeader(req *rpc.Request) error {
	req.ServiceMethod = c.method
	return nil
}

// ReadRequestBody hands the caller's arguments over with a shallow copy
// (their strings and slices shared), not the msgpack round trip: the
// caller built them for this call and does not read them afterwards, and
// a deep copy of a 1 KiB pipeline per forwarded write is measurable. Replies
// are still copied, because they may point into the state store, which
// nobody outside it may modify.
func (c *inmemCodec) ReadRequestBody(args any) error {
	if args == nil {
		return nil
	}
	c.argv = args
	src, dst := reflect.ValueOf(c.args), reflect.ValueOf(args)
	if src.Type() == dst.Type() && src.Kind() == reflect.Pointer && !src.IsNil() {
		dst.Elem().Set(src.Elem())
		return nil
	}
	return copyValue(c.args, args)
}

// WriteResponse copies the reply into the caller's, unless the endpoint
// forwarded the call: then the reply was just decoded from the leader's
// answer, shares nothing with the state store, and is handed over as is.
func (c *inmemCodec) WriteResponse(resp *rpc.Response, reply any) error {
	if resp.Error != "" {
		c.err = errors.New(resp.Error)
		return nil
	}
	if info, ok := c.argv.(structs.RPCInfo); ok && info.IsForwarded() {
		src, dst := reflect.ValueOf(reply), reflect.ValueOf(c.reply)
		if src.Type() == dst.Type() && src.Kind() == reflect.Pointer && !dst.IsNil() {
			dst.Elem().Set(src.Elem())
			return nil
		}
	}
	return copyValue(reply, c.reply)
}

func (c *inmemCodec) Close() error { return nil }

// copyValue copies *src into *dst by a msgpack round trip, which is what
// the network path does too, so the copy shares no memory with src.
func copyValue(src, dst any) error {
	buf, err := structs.Encode(0, src)
	if err != nil {
		return err
	}
	return structs.Decode(buf[1:], dst)
}

// forward runs the request on the leader unless this server should answer
// it: stale reads are answered locally, everything else by the leader. It
// returns true when the request was forwarded (err is then its result).
//
// A read reaches the leader and is answered there only after the leader
// has confirmed that it still leads (readBarrier), so a deposed leader
// that has not noticed yet sends it on instead of answering from old
// state. A write is sent again, with the same request ID, when the leader
// could not say whether it applied it (it lost its leadership, or the
// connection dropped after sending): the FSM answers a repeat with the
// first apply's result, so the retry cannot apply it twice. What is still
// unknown at the deadline is ErrWriteOutcomeUnknown, never a guess.
func (s *Server) forward(method string, info structs.RPCInfo, args, reply any) (bool, error) {
	if info.IsRead() && info.AllowStaleRead() {
		return false, nil
	}
	write, _ := args.(structs.IdempotentWrite)
	if write != nil && !info.IsRead() {
		write.EnsureRequestID()
	}
	ctx := requestContext(args)
	deadline := time.Now().Add(s.config.RPCHoldTimeout)
	uncertain := false
	var err error
	for {
		if s.isShutdown() {
			return true, structs.ErrShutdown
		}
		// Taken before looking at the leader, so that a change after
		// the look wakes the wait below.
		changed, established := s.raftLeaderChanged(), s.leaderCh()
		if s.IsLeader() {
			if !info.IsRead() {
				return false, nil
			}
			if err = s.readBarrier(ctx); err == nil {
				return false, nil
			}
		} else if leader, _ := s.raft.LeaderWithID(); leader != "" && s.raft.State() != raft.Leader {
			if q, ok := info.(readIndexed); ok && followerReads[method] {
				if err = s.followerReadIndex(ctx); err == nil {
					q.SetReadIndexed()
					return false, nil
				}
				// Not known to be current: the leader answers instead.
			}
			// A leader still running its barrier waits like everyone else.
			info.SetForwarded(true)
			start := time.Now()
			err = s.connPool.RPC(string(leader), method, args, reply)
			metrics.MeasureSinceWithLabels(keyRPCForward, start, label("method", method))
			if err != nil {
				metrics.IncrCounterWithLabels(keyRPCForwardError, 1, label("method", method))
			}
			if err == nil || !s.mayResend(info, err, &uncertain) {
				return true, err
			}
			// Not answered there: it may yet be served here, and its
			// reply must then be copied like any local one.
			info.SetForwarded(false)
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		if time.Now().After(deadline) {
			if err != nil {
				s.logger.Debug("forward to leader failed", "method", method, "error", err)
			}
			if uncertain {
				return true, structs.ErrWriteOutcomeUnknown
			}
			return true, structs.ErrNoLeader
		}
		// Go again as soon as raft names a leader here, or this server
		// establishes its leadership; else poll, for what raft does not
		// report (a leader that is known but not answering yet).
		select {
		case <-changed:
		case <-established:
		case <-time.After(25*time.Millisecond + rand.N(50*time.Millisecond)):
		case <-ctx.Done():
		case <-s.shutdownCh:
		}
	}
}

// mayResend tells whether a forwarded request that failed with err may be
// sent again. A request that never left (a dial error), or that the leader
// refused before writing it (no leader), is always safe to resend; a write
// whose outcome is unknown is safe only because it carries a request ID,
// and marks the request uncertain. Anything else is the answer.
func (s *Server) mayResend(info structs.RPCInfo, err error, uncertain *bool) bool {
	var de *DialError
	if errors.As(err, &de) || errors.Is(err, structs.ErrNoLeader) {
		return true
	}
	if info.IsRead() {
		// A read changes nothing: sending it again is always safe.
		return IsNetworkError(err)
	}
	if errors.Is(err, structs.ErrWriteOutcomeUnknown) || IsNetworkError(err) {
		*uncertain = true
		return true
	}
	return false
}

// readIndexed is a read that a follower may answer after a read index.
type readIndexed interface{ SetReadIndexed() }

// requestContext is the context of a request that carries one.
func requestContext(args any) context.Context {
	if c, ok := args.(interface{ Context() context.Context }); ok {
		return c.Context()
	}
	return context.Background()
}

// raftApply writes one entry through raft and waits until this server has
// applied it. An error the FSM returned for the entry comes back as err.
// A write with a request ID carries it in the entry, so that the FSM
// applies it once however often it is sent.
//
// Errors say what is known of the entry: ErrNoLeader when it was never
// written to the log (this server is not the leader, or is handing
// leadership over), ErrWriteOutcomeUnknown when it was written but this
// server lost its leadership or stopped before it committed: another
// leader may still commit it.
func (s *Server) raftApply(t structs.MessageType, msg any) (any, uint64, error) {
	var buf []byte
	var err error
	if w, ok := msg.(structs.IdempotentWrite); ok && w.WriteRequestID() != "" {
		h := structs.RequestHeader{ID: w.WriteRequestID(), Time: time.Now().UTC()}
		buf, err = structs.EncodeRequest(t, h, msg)
	} else {
		buf, err = structs.Encode(t, msg)
	}
	if err != nil {
		return nil, 0, err
	}
	if len(buf) > raftWarnSize {
		s.logger.Warn("attempting to apply large raft entry", "type", t, "bytes", len(buf))
	}
	typeLabel := label("type", fsm.MessageTypeName(t))
	defer metrics.MeasureSinceWithLabels(keyRaftApply, time.Now(), typeLabel)
	future := s.raft.Apply(buf, s.config.RaftTimeout)
	if err := future.Error(); err != nil {
		metrics.IncrCounterWithLabels(keyRaftApplyError, 1, typeLabel)
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress),
			errors.Is(err, raft.ErrEnqueueTimeout):
			return nil, 0, structs.ErrNoLeader
		case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrRaftShutdown):
			s.logger.Warn("write outcome unknown", "type", t, "error", err)
			return nil, 0, structs.ErrWriteOutcomeUnknown
		}
		return nil, 0, fmt.Errorf("raft apply failed: %w", err)
	}
	resp := future.Response()
	if err, ok := resp.(error); ok && err != nil {
		return nil, future.Index(), err
	}
	return resp, future.Index(), nil
}

// queryFn runs a read on a state snapshot, adding what it reads to ws and
// setting the index it reflects in the response's QueryMeta.
type queryFn func(ws memdb.WatchSet, state *fsm.StateStore) error

// blockingRPC runs fn, and if the request is a blocking query
// (MinQueryIndex > 0) runs it again on every change until the index passes
// MinQueryIndex, the wait runs out, or the caller goes away. A
// linearizable read that waited confirms the leadership again before it
// answers: a leader deposed while the query blocked must not answer from
// the state it was left with.
func (s *Server) blockingRPC(opts *structs.QueryOptions, meta *structs.QueryMeta, fn queryFn) error {
	ctx := opts.Context()
	if opts.MinQueryIndex > 0 {
		s.blockingQueries.Add(1)
		defer s.blockingQueries.Add(-1)
		wait := opts.BlockingWait()
		if j := wait / structs.JitterFraction; j > 0 {
			wait += rand.N(j)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
		// Shutdown ends a blocked query at once.
		go func() {
			select {
			case <-s.shutdownCh:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	for waited := false; ; waited = true {
		s.setQueryMeta(meta)
		state := s.fsm.State()
		ws := memdb.NewWatchSet()
		ws.Add(state.AbandonCh())
		if err := fn(ws, state.Snapshot()); err != nil {
			return err
		}
		// Index 0 would make clients spin; nothing is older than 1.
		if meta.Index == 0 {
			meta.Index = 1
		}
		if opts.MinQueryIndex == 0 || meta.Index > opts.MinQueryIndex {
			return s.confirmRead(opts, waited)
		}
		select {
		case <-s.shutdownCh:
			return structs.ErrShutdown
		default:
		}
		if err := ws.WatchCtx(ctx); err != nil {
			if cerr := opts.Context().Err(); cerr != nil {
				return cerr // the caller is gone: nobody reads the answer
			}
			// Timed out: answer with what we have.
			return s.confirmRead(opts, true)
		}
	}
}

// BlockingQueries is the number of blocking queries running on this
// server (/v1/agent/self stats).
func (s *Server) BlockingQueries() int64 { return s.blockingQueries.Load() }

// confirmRead checks again that this server still leads before a
// linearizable read that waited answers.
func (s *Server) confirmRead(opts *structs.QueryOptions, waited bool) error {
	if !waited || opts.AllowStale || opts.ReadIndexed() {
		// A follower's state only moves forward from the read index it
		// waited for, so whatever it holds now was the cluster's state at
		// some moment after the read began; only a leader can be left
		// holding a state that the cluster has overtaken unnoticed.
		return nil
	}
	return s.readBarrier(opts.Context())
}

// rounds coalesce the checks of linearizable reads: one check serves
// every read that arrived before it started. A read that arrives while a
// check runs waits for the next one, because the running check may have
// been answered before the read arrived, and so proves nothing about the
// time of the read. On the leader a check is a raft.VerifyLeader round (a
// heartbeat to every follower, answered by a quorum); on a follower it is
// a read index asked of the leader (followerReadIndex).
type rounds struct {
	mu      sync.Mutex
	running bool
	next    *round
}

type round struct {
	done  chan struct{}
	index uint64
	err   error
}

// join waits for the result of a check that starts after the call: the
// one queued, or a new one that runs check.
func (r *rounds) join(ctx context.Context, shutdownCh <-chan struct{}, check func() (uint64, error)) (uint64, error) {
	r.mu.Lock()
	if r.next == nil {
		r.next = &round{done: make(chan struct{})}
	}
	rd := r.next
	if !r.running {
		r.running, r.next = true, nil
		go r.run(rd, check)
	}
	r.mu.Unlock()
	select {
	case <-rd.done:
		return rd.index, rd.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-shutdownCh:
		return 0, structs.ErrShutdown
	}
}

// run runs rd's check, then the rounds that queued meanwhile, one after
// another, until none is waiting.
func (r *rounds) run(rd *round, check func() (uint64, error)) {
	for {
		rd.index, rd.err = check()
		close(rd.done)
		r.mu.Lock()
		rd, r.next = r.next, nil
		if rd == nil {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
}

// readBarrier returns once this server has proven that it was the leader
// at some moment after the call began (ReadIndex, Raft thesis §6.4). Every
// write acknowledged before that moment has been applied here: this leader
// acknowledges a write only after applying it, and applied every earlier
// term's entries before it began to answer (leaderReady). A deposed leader
// that has not noticed yet fails the check and steps down.
func (s *Server) readBarrier(ctx context.Context) error {
	if !s.IsLeader() {
		return structs.ErrNoLeader
	}
	_, err := s.readRounds.join(ctx, s.shutdownCh, s.verifyLeader)
	return err
}

func (s *Server) verifyLeader() (uint64, error) {
	if err := s.raft.VerifyLeader().Error(); err != nil || !s.IsLeader() {
		return 0, structs.ErrNoLeader
	}
	return 0, nil
}

// followerReads are the linearizable reads a follower answers itself
// after followerReadIndex, instead of sending them to the leader: reads
// of the replicated state store and nothing else. A read missing here is
// forwarded, which is slower but never wrong; a read that needs the
// leader's own view (the raft configuration, the leader's applied index)
// must stay out.
var followerReads = map[string]bool{
	"Pipeline.Get": true, "Pipeline.List": true, "Pipeline.Revisions": true, "Pipeline.Revision": true,
	"Config.Get": true, "Config.List": true, "Config.Revisions": true, "Config.Status": true,
	"Node.GetNode": true, "Node.List": true, "Node.GetAssignment": true,
	"Collector.Get": true, "Collector.List": true, "Collector.GetConfig": true,
	"ACL.ListPolicies": true, "ACL.GetPolicy": true, "ACL.ListTokens": true, "ACL.GetToken": true,
}

// followerReadIndex makes a follower's next read linearizable (the read
// index of Raft thesis §6.4, as etcd serves reads on followers): it asks
// the leader for its applied index, which the leader gives only after
// proving that it still leads (Status.LatestIndex runs readBarrier), and
// waits until this server has applied as much. State read afterwards
// holds every write acknowledged before the read began. One question
// serves every read that arrived here before it was sent, so a follower
// under load sends the leader a few small RPCs instead of every read.
func (s *Server) followerReadIndex(ctx context.Context) error {
	want, err := s.followerRounds.join(ctx, s.shutdownCh, func() (uint64, error) {
		// The leader of the moment: a round may run well after the read
		// that started the rounds named one.
		leader, _ := s.raft.LeaderWithID()
		if leader == "" {
			return 0, structs.ErrNoLeader
		}
		var idx uint64
		args := &structs.GenericRequest{QueryOptions: structs.QueryOptions{Region: s.config.Region}}
		err := s.connPool.RPC(string(leader), "Status.LatestIndex", args, &idx)
		return idx, err
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.config.RPCHoldTimeout)
	defer cancel()
	for {
		state := s.fsm.State()
		ws := memdb.NewWatchSet()
		ws.Add(state.AbandonCh())
		have, err := state.LatestIndexWatch(ws)
		if err != nil {
			return err
		}
		if have >= want {
			return nil
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return err
		}
	}
}

// setQueryMeta fills the consistency fields of a read response.
func (s *Server) setQueryMeta(m *structs.QueryMeta) {
	if s.IsLeader() {
		m.LastContact = 0
		m.KnownLeader = true
		return
	}
	m.LastContact = time.Since(s.raft.LastContact())
	leader, _ := s.raft.LeaderWithID()
	m.KnownLeader = leader != ""
}

// SetRPCLimits changes limits { rpc_max_conns_per_client,
// rpc_handshake_timeout } of a running server (an agent reload): new
// connections get them; open ones keep what they were accepted with.
func (s *Server) SetRPCLimits(maxConnsPerClient int, handshakeTimeout time.Duration) {
	s.rpcConnLimit.SetMax(maxConnsPerClient)
	s.rpcHandshakeTimeout.Store(int64(handshakeTimeout))
}
