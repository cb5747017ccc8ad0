package nomadlike

import (
	"io"
	"net"
	"net/rpc"
	"sync"
	"time"

	msgpackrpc "github.com/hashicorp/net-rpc-msgpackrpc/v2"
	"github.com/hashicorp/yamux"

	"github.com/nomadlike/nomadlike/structs"
)

// Servers never dial clients. A client dials a server and keeps a yamux
// session to it (ConnPool); the server remembers the session a client's
// own registration or heartbeat arrived on and opens streams back over it
// to reach that node (Nomad's nodeConns). The client serves those streams
// like a tiny server: first byte 0x01 for net/rpc, 0x05 for a streaming
// RPC.

// NodeStreamServer serves the streams a server opens to a client node.
type NodeStreamServer interface {
	// ServeStream serves one stream, starting with its protocol byte.
	ServeStream(conn io.ReadWriteCloser)
}

// nodeConn is one way to reach a node: the session it registered on, or
// the client in this very process.
type nodeConn struct {
	session     *yamux.Session
	local       NodeStreamServer
	established time.Time
}

// nodeConns maps node IDs to their connections on this server.
type nodeConns struct {
	mu     sync.Mutex
	byNode map[string]*nodeConn
}

// SetLocalNode makes the client running in this process reachable as
// nodeID: its RPCs to the server are in-memory calls, so it has no
// session, and streams to it become in-memory pipes.
func (s *Server) SetLocalNode(nodeID string, srv NodeStreamServer) {
	s.nodeConns.set(nodeID, &nodeConn{local: srv, established: time.Now()})
}

func (c *nodeConns) set(nodeID string, nc *nodeConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byNode == nil {
		c.byNode = map[string]*nodeConn{}
	}
	if old, ok := c.byNode[nodeID]; ok && old.local != nil {
		return // the local client stays local
	}
	if old, ok := c.byNode[nodeID]; ok && old.session == nc.session {
		// A heartbeat on the same session: it is the node's most
		// recent path, which is what servers compare.
		old.established = nc.established
		return
	}
	c.byNode[nodeID] = nc
}

func (c *nodeConns) get(nodeID string) (*nodeConn, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	nc, ok := c.byNode[nodeID]
	if ok && nc.session != nil && nc.session.IsClosed() {
		delete(c.byNode, nodeID)
		return nil, false
	}
	return nc, ok
}

// removeSession forgets every node that was reached through session.
func (c *nodeConns) removeSession(session *yamux.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, nc := range c.byNode {
		if nc.session == session {
			delete(c.byNode, id)
		}
	}
}

// open opens a stream to the node.
func (nc *nodeConn) open() (io.ReadWriteCloser, error) {
	if nc.local != nil {
		caller, served := net.Pipe()
		go nc.local.ServeStream(served)
		return caller, nil
	}
	return nc.session.OpenStream()
}

// rpc calls a client RPC (ClientAgent.*) on the node.
func (nc *nodeConn) rpc(method string, args, reply any) error {
	conn, err := nc.open()
	if err != nil {
		return err
	}
	defer conn.Close()
	timeout := defaultRPCTimeout
	if b, ok := args.(blocker); ok {
		timeout += b.TimeToBlock()
	}
	setDeadline(conn, time.Now().Add(timeout))
	if _, err := conn.Write([]byte{rpcNomad}); err != nil {
		return err
	}
	cc := msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle)
	if _, err := callOnStream(cc, method, args, reply); err != nil {
		return structs.DecodeRPCError(err)
	}
	return nil
}

// streamingRPC opens a streaming RPC (ClientAgent.Monitor) to the node.
func (nc *nodeConn) streamingRPC(method string) (*StreamConn, error) {
	conn, err := nc.open()
	if err != nil {
		return nil, err
	}
	return startStreaming(conn, method, true)
}

// nodePath finds who can reach nodeID: this server (nc) or another server
// (addr). A request another server forwarded here is not forwarded again.
func (s *Server) nodePath(nodeID string, forwarded bool) (nc *nodeConn, addr string, err error) {
	node, err := s.fsm.State().NodeByID(nil, nodeID)
	if err != nil {
		return nil, "", err
	}
	if node == nil {
		return nil, "", structs.NewErrUnknownNode(nodeID)
	}
	if nc, ok := s.nodeConns.get(nodeID); ok {
		return nc, "", nil
	}
	if forwarded {
		return nil, "", structs.ErrNoNodeConn
	}
	// Ask the other servers at once: one that does not answer must not
	// hold up the others' answers.
	type answer struct {
		addr string
		resp structs.NodeConnQueryResponse
	}
	answers := make(chan answer)
	asked := 0
	for _, m := range s.members.list() {
		if !m.isServer || m.Status != statusAlive || m.region() != s.config.Region || m.Name == s.config.memberName() {
			continue
		}
		asked++
		go func() {
			var resp structs.NodeConnQueryResponse
			args := &structs.NodeSpecificRequest{NodeID: nodeID, QueryOptions: structs.QueryOptions{Region: s.config.Region}}
			if err := s.connPool.RPC(m.rpcAddr(), "Status.HasNodeConn", args, &resp); err != nil {
				s.logger.Debug("asking server for node connection failed", "server", m.Name, "error", err)
			}
			answers <- answer{m.rpcAddr(), resp}
		}()
	}
	var best structs.NodeConnQueryResponse
	for range asked {
		a := <-answers
		if a.resp.Connected && (addr == "" || a.resp.Established.After(best.Established)) {
			best, addr = a.resp, a.addr
		}
	}
	if addr == "" {
		return nil, "", structs.ErrNoNodeConn
	}
	return nil, addr, nil
}

// HasNodeConn tells whether this server can reach the node directly.
func (s *Status) HasNodeConn(args *structs.NodeSpecificRequest, reply *structs.NodeConnQueryResponse) error {
	if nc, ok := s.srv.nodeConns.get(args.NodeID); ok {
		reply.Connected, reply.Established = true, nc.established
	}
	return nil
}

// nodeConnCodec is the server codec of a stream of a client's session: it
// notes the nodes whose own (not forwarded) registration or heartbeat
// succeeded on it, so that the server can reach them over that session.
// net/rpc reads requests one after another, so the header and the body
// of one request meet in seq and the body's node in pending.
type nodeConnCodec struct {
	rpc.ServerCodec
	srv     *Server
	session *yamux.Session

	seq     uint64 // of the request being read
	mu      sync.Mutex
	pending map[uint64]string // seq → node ID
}

func (c *nodeConnCodec) ReadRequestHeader(r *rpc.Request) error {
	err := c.ServerCodec.ReadRequestHeader(r)
	c.seq = r.Seq
	return err
}

func (c *nodeConnCodec) ReadRequestBody(body any) error {
	err := c.ServerCodec.ReadRequestBody(body)
	if err != nil {
		return err
	}
	var nodeID string
	switch a := body.(type) {
	case *structs.NodeRegisterRequest:
		if !a.Forwarded && a.Node != nil {
			nodeID = a.Node.ID
		}
	case *structs.NodeUpdateStatusRequest:
		if !a.Forwarded {
			nodeID = a.NodeID
		}
	}
	if nodeID != "" {
		c.mu.Lock()
		if c.pending == nil {
			c.pending = map[uint64]string{}
		}
		c.pending[c.seq] = nodeID
		c.mu.Unlock()
	}
	return nil
}

func (c *nodeConnCodec) WriteResponse(r *rpc.Response, body any) error {
	c.mu.Lock()
	nodeID, ok := c.pending[r.Seq]
	delete(c.pending, r.Seq)
	c.mu.Unlock()
	if ok && r.Error == "" {
		c.srv.nodeConns.set(nodeID, &nodeConn{session: c.session, established: time.Now()})
	}
	return c.ServerCodec.WriteResponse(r, body)
}

// serveSessionRPC serves net/rpc on a stream of session, noting node
// connections.
func (s *Server) serveSessionRPC(stream io.ReadWriteCloser, session *yamux.Session, peer connPeer) {
	codec := msgpackrpc.NewCodecFromHandle(true, true, stream, structs.MsgpackHandle)
	s.rpcServer.ServeCodec(&nodeConnCodec{ServerCodec: s.guardCodec(codec, peer), srv: s, session: session})
}

// ServeNodeStream serves one stream a server opened to a client: net/rpc
// (ClientAgent.*) on rpcServer, or a streaming RPC that lookup finds.
func ServeNodeStream(conn io.ReadWriteCloser, rpcServer *RPCServer, lookup func(string) StreamingHandler) {
	buf := make([]byte, 1)
	if _, err := io.ReadFull(conn, buf); err != nil {
		conn.Close()
		return
	}
	switch buf[0] {
	case rpcNomad:
		rpcServer.ServeCodec(msgpackrpc.NewCodecFromHandle(true, true, conn, structs.MsgpackHandle))
	case rpcStreaming:
		ServeStreamingConn(conn, lookup)
	default:
		conn.Close()
	}
}
