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
	"time"

	memdb "github.com/hashicorp/go-memdb"
	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"
	"github.com/hashicorp/raft"
	"github.com/hashicorp/yamux"
	"golang.org/x/time/rate"

	"github.com/nomadlike/nomadlike/fsm"
	"github.com/nomadlike/nomadlike/nomadlike/connlimit"
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
	limiter := connlimit.New(s.config.RPCMaxConnsPerClient)
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
					"from", conn.RemoteAddr(), "limit", s.config.RPCMaxConnsPerClient)
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
	if d := s.config.RPCHandshakeTimeout; d > 0 {
		conn.SetReadDeadline(time.Now().Add(d))
	}
	if _, err := io.ReadFull(conn, buf); err != nil {
		conn.Close()
		return
	}
	conn.SetReadDeadline(time.Time{})
	switch buf[0] {
	case rpcNomad:
		s.serveRPC(conn)
	case rpcRaft:
		s.raftLayer.Handoff(conn)
	case rpcMultiplex:
		s.serveMultiplex(conn)
	case rpcStreaming:
		ServeStreamingConn(conn, s.streamingHandler)
	default:
		s.logger.Warn("unrecognized rpc byte", "byte", buf[0], "from", conn.RemoteAddr())
		conn.Close()
	}
}

// serveRPC serves net/rpc requests on conn until it closes.
func (s *Server) serveRPC(conn io.ReadWriteCloser) {
	codec := msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle)
	s.rpcServer.ServeCodec(codec)
}

func (s *Server) serveMultiplex(conn net.Conn) {
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
				s.serveSessionRPC(stream, session)
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
func (s *Server) RPC(method string, args, reply any) error {
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
func (s *Server) forward(method string, info structs.RPCInfo, args, reply any) (bool, error) {
	if info.IsRead() && info.AllowStaleRead() {
		return false, nil
	}
	deadline := time.Now().Add(s.config.RPCHoldTimeout)
	for {
		if s.isShutdown() {
			return true, structs.ErrShutdown
		}
		if s.IsLeader() {
			return false, nil
		}
		var err error
		// A leader still running its barrier waits like everyone else.
		if leader, _ := s.raft.LeaderWithID(); leader != "" && s.raft.State() != raft.Leader {
			info.SetForwarded(true)
			err = s.connPool.RPC(string(leader), method, args, reply)
			// Only a request that never left is safe to send again; a
			// leader that has not been elected yet is worth waiting for.
			var de *DialError
			if err == nil || !(errors.As(err, &de) || errors.Is(err, structs.ErrNoLeader)) {
				return true, err
			}
			// Not answered there: it may yet be served here, and its
			// reply must then be copied like any local one.
			info.SetForwarded(false)
		}
		if time.Now().After(deadline) {
			if err != nil {
				s.logger.Debug("forward to leader failed", "method", method, "error", err)
			}
			return true, structs.ErrNoLeader
		}
		// Elections take tens to hundreds of milliseconds: poll often.
		time.Sleep(25*time.Millisecond + rand.N(50*time.Millisecond))
	}
}

// raftApply writes one entry through raft and waits until this server has
// applied it. An error the FSM returned for the entry comes back as err.
func (s *Server) raftApply(t structs.MessageType, msg any) (any, uint64, error) {
	buf, err := structs.Encode(t, msg)
	if err != nil {
		return nil, 0, err
	}
	if len(buf) > raftWarnSize {
		s.logger.Warn("attempting to apply large raft entry", "type", t, "bytes", len(buf))
	}
	future := s.raft.Apply(buf, s.config.RaftTimeout)
	if err := future.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
			errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return nil, 0, structs.ErrNoLeader
		}
		if errors.Is(err, raft.ErrRaftShutdown) {
			return nil, 0, structs.ErrShutdown
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
// MinQueryIndex or the wait runs out.
func (s *Server) blockingRPC(opts *structs.QueryOptions, meta *structs.QueryMeta, fn queryFn) error {
	ctx := context.Background()
	if opts.MinQueryIndex > 0 {
		wait := opts.BlockingWait()
		wait += rand.N(wait / structs.JitterFraction)
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
	for {
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
			return nil
		}
		select {
		case <-s.shutdownCh:
			return structs.ErrShutdown
		default:
		}
		if err := ws.WatchCtx(ctx); err != nil {
			// Timed out: answer with what we have.
			return nil
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
