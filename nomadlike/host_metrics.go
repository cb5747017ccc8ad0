package nomadlike

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage"

	"github.com/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/hostmetrics"
	"github.com/nomadlike/nomadlike/structs"
)

// HostMetricsConfig is server { host_metrics {} }.
type HostMetricsConfig struct {
	// Retention is how long the series are kept (default 15 days).
	Retention time.Duration
	// RemoteWrite ships every ingested series to these stores.
	RemoteWrite []*promconfig.RemoteWriteConfig
	// Registerer receives the TSDB's and remote_write's own metrics; nil:
	// they are not exported.
	Registerer prometheus.Registerer
}

// peerReadTimeout bounds one peer's part of a query or of a latest-payload
// lookup: a server that does not answer in time is reported as a warning
// instead of holding the query up.
const peerReadTimeout = 10 * time.Second

func (s *Server) openHostMetrics() (*hostmetrics.Store, error) {
	c := s.config.HostMetrics
	return hostmetrics.OpenStore(hostmetrics.StoreConfig{
		Dir:         filepath.Join(s.config.DataDir, "host_metrics"),
		Retention:   c.Retention,
		RemoteWrite: c.RemoteWrite,
		Logger:      s.logger.Named("host_metrics"),
		Registerer:  c.Registerer,
	})
}

// ingestError is a refusal in spec 004's model.
func ingestError(status int, code, msg, hint string) *structs.IngestError {
	return &structs.IngestError{Status: status, Code: code, Message: msg, Hint: hint}
}

const mintTokenHint = "push with the node's agent token: a nomadlike client's node secret, or one made by `nomadlike node token create -name NODE`"

// hostMetricsNode is the node an agent token identifies. wantID, when not
// empty, is the node the caller says it pushes for: another node's token
// is refused.
func (s *Server) hostMetricsNode(secret, wantID string) (*structs.Node, *structs.IngestError) {
	if secret == "" {
		return nil, ingestError(http.StatusUnauthorized, structs.IngestUnauthorized,
			"missing bearer token", "send `Authorization: Bearer <agent token>`; "+mintTokenHint)
	}
	node, err := s.nodeBySecret(secret)
	if err == nil && node == nil && s.catchUpWithLeader() {
		// A node registered (or a token minted) through another server a
		// moment ago may not have reached this one yet.
		node, err = s.nodeBySecret(secret)
	}
	if err != nil {
		return nil, ingestError(http.StatusServiceUnavailable, structs.IngestServiceUnavailable, err.Error(), "retry shortly")
	}
	if node == nil {
		if s.KnownToken(secret) != nil {
			return nil, ingestError(http.StatusForbidden, structs.IngestForbiddenScope,
				"an ACL token may not push host metrics: it identifies no node", mintTokenHint)
		}
		return nil, ingestError(http.StatusUnauthorized, structs.IngestUnauthorized, "unknown agent token", mintTokenHint)
	}
	if wantID != "" && wantID != node.ID {
		return nil, ingestError(http.StatusForbidden, structs.IngestForbiddenScope,
			fmt.Sprintf("the token belongs to node %s, not to node %s", node.ID, wantID),
			"push each node's metrics with its own agent token")
	}
	return node, nil
}

// nodeBySecret finds the node whose secret is secret.
func (s *Server) nodeBySecret(secret string) (*structs.Node, error) {
	node, err := s.fsm.State().NodeBySecretID(nil, secret)
	if err != nil || node == nil {
		return nil, err
	}
	// The index matched on the secret's bytes; compare once more in
	// constant time so that the lookup's timing is all it could leak.
	if subtle.ConstantTimeCompare([]byte(node.SecretID), []byte(secret)) != 1 {
		return nil, nil
	}
	return node, nil
}

// peerServers are the other servers of this region: alive ones, which
// are asked, and those gossip marks failed (not left), which are not, but
// whose nodes' metrics are missing from every answer until they are back,
// so answers warn.
func (s *Server) peerServers() (alive, failed []*member) {
	for _, m := range s.members.list() {
		if !m.isServer || m.region() != s.config.Region || m.rpcAddr() == "" || m.rpcAddr() == s.RPCAddr() {
			continue
		}
		switch m.Status {
		case statusAlive:
			alive = append(alive, m)
		case statusFailed:
			failed = append(failed, m)
		}
	}
	return alive, failed
}

// errPeerFailed is a failed peer's part of an answer.
func errPeerFailed(m *member) error {
	return fmt.Errorf("gossip marks it failed since %s", m.Since.UTC().Format(time.RFC3339))
}

// peerRPC calls method on a peer server with the caller's token and a
// deadline.
func (s *Server) peerRPC(ctx context.Context, addr, method string, args interface {
	SetContext(context.Context)
}, reply any) error {
	ctx, cancel := context.WithTimeout(ctx, peerReadTimeout)
	defer cancel()
	args.SetContext(ctx)
	return s.connPool.RPC(addr, method, args, reply)
}

// HostMetricsQueryable is the fleet's host metrics for PromQL: this
// server's own TSDB merged with every alive peer's, read over RPC with
// token. A peer that fails or times out, or that gossip marks failed,
// leaves its nodes out of the answer with a warning; only this server's
// own storage failing fails the query. A token without node:read gets
// nothing, from this server as from its peers.
func (s *Server) HostMetricsQueryable(token string) storage.Queryable {
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		// As the peers do: whoever asks, the token decides.
		if err := s.authorize(token, acl.NodeRead); err != nil {
			return nil, err
		}
		local, err := s.hostMetrics.Querier(mint, maxt)
		if err != nil {
			return nil, err
		}
		alive, failed := s.peerServers()
		var peers []storage.Querier
		for _, m := range alive {
			addr := m.rpcAddr()
			peers = append(peers, hostmetrics.NewPeerQuerier(m.Name, mint, maxt,
				func(ctx context.Context, args *structs.HostMetricsReadRequest, reply *structs.HostMetricsReadResponse) error {
					args.AuthToken = token
					return s.peerRPC(ctx, addr, "HostMetrics.Read", args, reply)
				}))
		}
		for _, m := range failed {
			err := errPeerFailed(m)
			peers = append(peers, hostmetrics.NewPeerQuerier(m.Name, mint, maxt,
				func(context.Context, *structs.HostMetricsReadRequest, *structs.HostMetricsReadResponse) error {
					return err
				}))
		}
		if len(peers) == 0 {
			return local, nil
		}
		return storage.NewMergeQuerier([]storage.Querier{local}, peers, storage.ChainedSeriesMerge), nil
	})
}

// latestFromPeers asks every alive peer for nodeID's latest payload and
// keeps the newest; peers that do not answer, and failed ones, are named
// in the warnings.
func (s *Server) latestFromPeers(ctx context.Context, nodeID, token string) ([]*structs.HostMetricsLatest, []string) {
	peers, failed := s.peerServers()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		found    []*structs.HostMetricsLatest
		warnings []string
	)
	for _, m := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := &structs.HostMetricsLatestRequest{NodeID: nodeID, Local: true}
			args.AuthToken = token
			var reply structs.HostMetricsLatestResponse
			err := s.peerRPC(ctx, m.rpcAddr(), "HostMetrics.Latest", args, &reply)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("server %s did not answer: %v", m.Name, err))
				return
			}
			if reply.Latest != nil {
				found = append(found, reply.Latest)
			}
		}()
	}
	wg.Wait()
	for _, m := range failed {
		warnings = append(warnings, fmt.Sprintf("server %s did not answer: %v", m.Name, errPeerFailed(m)))
	}
	sort.Strings(warnings)
	return found, warnings
}

// HostMetricsSeries is the number of series in this server's own store.
func (s *Server) HostMetricsSeries() uint64 { return s.hostMetrics.DB().Head().NumSeries() }
