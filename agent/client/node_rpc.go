package client

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike"
	"github.com/nomadlike/nomadlike/nomadlike/host"
	"github.com/nomadlike/nomadlike/nomadlike/monitor"
	"github.com/nomadlike/nomadlike/nomadlike/profile"
	"github.com/nomadlike/nomadlike/structs"
)

// A client answers a few RPCs of its own, on the streams servers open over
// the sessions it dialled (see nomadlike/node_conns.go): its host data,
// profiles, and its logs as a streaming RPC. The server that opens the
// stream has checked the caller's token already (a client cannot resolve
// tokens itself without asking a server); with ACLs off the client
// applies its own enable_debug to host data and profiles, as Nomad's
// client does.

// ClientAgent is the net/rpc endpoint servers call on a client.
type ClientAgent struct {
	c *Client
}

// setupNodeRPC makes the client answer the streams servers open to it.
func (c *Client) setupNodeRPC() error {
	c.rpcServer = nomadlike.NewRPCServer(c.logger.Named("rpc"))
	if err := c.rpcServer.RegisterName("ClientAgent", &ClientAgent{c: c}); err != nil {
		return err
	}
	c.pool.SetStreamHandler(c.ServeStream)
	return nil
}

// ServeStream serves one stream a server opened to this client. It is
// also how a server in the same process reaches its local client.
func (c *Client) ServeStream(conn io.ReadWriteCloser) {
	nomadlike.ServeNodeStream(conn, c.rpcServer, func(method string) nomadlike.StreamingHandler {
		if method == "ClientAgent.Monitor" {
			return c.monitor
		}
		return nil
	})
}

// debugAllowed is the client's own rule for host data and profiles.
func (c *Client) debugAllowed() error {
	if c.config.ACLEnabled || c.config.EnableDebug {
		return nil
	}
	return structs.ErrPermissionDenied
}

// Host returns this node's host data.
func (e *ClientAgent) Host(args *structs.HostDataRequest, reply *structs.HostDataResponse) error {
	if err := e.c.debugAllowed(); err != nil {
		return err
	}
	reply.AgentID = e.c.node.ID
	reply.HostData = host.Data()
	return nil
}

// Profile takes a runtime profile of this client's process.
func (e *ClientAgent) Profile(args *structs.AgentPprofRequest, reply *structs.AgentPprofResponse) error {
	if err := e.c.debugAllowed(); err != nil {
		return err
	}
	payload, headers, err := profile.Take(context.Background(), args)
	if err != nil {
		return err
	}
	reply.AgentID, reply.Payload, reply.HTTPHeaders = e.c.node.ID, payload, headers
	return nil
}

// Support builds this client agent's support bundle.
func (e *ClientAgent) Support(args *structs.SupportBundleRequest, reply *structs.SupportBundleResponse) error {
	if err := e.c.debugAllowed(); err != nil {
		return err
	}
	if e.c.config.SupportBundle == nil {
		return structs.ErrSupportDisabled
	}
	b, err := e.c.config.SupportBundle(context.Background(), time.Duration(args.Seconds)*time.Second)
	if err != nil {
		return err
	}
	reply.AgentID, reply.Payload = e.c.node.ID, b
	return nil
}

// monitor is the streaming RPC ClientAgent.Monitor: this client's logs.
func (c *Client) monitor(conn *nomadlike.StreamConn) {
	var args structs.MonitorRequest
	if err := conn.Decode(&args); err != nil {
		return
	}
	level, err := monitor.ParseLevel(args.LogLevel)
	if err != nil {
		conn.SendError(structs.NewErrCoded(http.StatusBadRequest, "%s", err.Error()))
		return
	}
	nomadlike.ServeMonitor(conn, c.config.Logger, level, args.LogJSON)
}

// StreamingRPC opens a streaming RPC to a server: the in-process one if
// there is one, otherwise the known servers in turn.
func (c *Client) StreamingRPC(method string) (*nomadlike.StreamConn, error) {
	if s, ok := c.config.RPCHandler.(interface {
		StreamingRPC(string) (*nomadlike.StreamConn, error)
	}); ok {
		return s.StreamingRPC(method)
	}
	var sc *nomadlike.StreamConn
	err := c.eachServer(func(addr string) error {
		var err error
		sc, err = c.pool.StreamingRPC(addr, method)
		return err
	})
	return sc, err
}
