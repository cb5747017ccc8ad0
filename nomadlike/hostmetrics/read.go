package hostmetrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/nomadlike/nomadlike/structs"
)

// MaxReadSamples bounds the samples a server answers one peer's select
// with: 2,000 nodes × one series × a day at 10 s is 17 M. A larger select
// fails on that peer, which the querying server reports as a warning.
const MaxReadSamples = 20_000_000

// PeerCall runs a read on one peer server (the HostMetrics.Read RPC).
type PeerCall func(ctx context.Context, args *structs.HostMetricsReadRequest, reply *structs.HostMetricsReadResponse) error

// Read answers a peer's read of this server's own series: a Prometheus
// remote-read query (matchers, time range, hints) for a select, or label
// names or values.
func (s *Store) Read(ctx context.Context, args *structs.HostMetricsReadRequest, reply *structs.HostMetricsReadResponse) error {
	var rr prompb.ReadRequest
	if err := rr.Unmarshal(args.ReadRequest); err != nil || len(rr.Queries) != 1 {
		return structs.NewErrCoded(http.StatusBadRequest, "host metrics read: want one remote-read query")
	}
	q := rr.Queries[0]
	ms, err := remote.FromLabelMatchers(q.Matchers)
	if err != nil {
		return structs.NewErrCoded(http.StatusBadRequest, "host metrics read: %v", err)
	}
	querier, err := s.db.Querier(q.StartTimestampMs, q.EndTimestampMs)
	if err != nil {
		return err
	}
	defer querier.Close()
	var ws annotations.Annotations
	switch args.Op {
	case structs.HostMetricsReadSelect:
		hints := &storage.SelectHints{Start: q.StartTimestampMs, End: q.EndTimestampMs}
		if h := q.Hints; h != nil {
			hints.Start, hints.End, hints.Step, hints.Func = h.StartMs, h.EndMs, h.StepMs, h.Func
			hints.Grouping, hints.By, hints.Range = h.Grouping, h.By, h.RangeMs
		}
		res, w, err := remote.ToQueryResult(querier.Select(ctx, false, hints, ms...), MaxReadSamples)
		if err != nil {
			return err
		}
		ws = w
		resp := prompb.ReadResponse{Results: []*prompb.QueryResult{res}}
		if reply.ReadResponse, err = resp.Marshal(); err != nil {
			return err
		}
	case structs.HostMetricsReadLabelNames:
		reply.Labels, ws, err = querier.LabelNames(ctx, &storage.LabelHints{Limit: args.Limit}, ms...)
	case structs.HostMetricsReadLabelValues:
		reply.Labels, ws, err = querier.LabelValues(ctx, args.LabelName, &storage.LabelHints{Limit: args.Limit}, ms...)
	default:
		return structs.NewErrCoded(http.StatusBadRequest, "host metrics read: unknown operation %q", args.Op)
	}
	if err != nil {
		return err
	}
	reply.Warnings = warningStrings(ws)
	return nil
}

func warningStrings(ws annotations.Annotations) []string {
	if len(ws) == 0 {
		return nil
	}
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Error())
	}
	return out
}

func fromWarnings(name string, ws []string) annotations.Annotations {
	var out annotations.Annotations
	for _, w := range ws {
		out = out.Add(fmt.Errorf("server %s: %s", name, w))
	}
	return out
}

// NewPeerQuerier is a storage.Querier over the series of the peer server
// name, read through call. Used as a secondary of storage.NewMergeQuerier,
// its failures become the query's warnings.
func NewPeerQuerier(name string, mint, maxt int64, call PeerCall) storage.Querier {
	return &peerQuerier{name: name, mint: mint, maxt: maxt, call: call}
}

type peerQuerier struct {
	name       string
	mint, maxt int64
	call       PeerCall
}

func (p *peerQuerier) request(op string, hints *storage.SelectHints, ms []*labels.Matcher) (*structs.HostMetricsReadRequest, error) {
	q, err := remote.ToQuery(p.mint, p.maxt, ms, hints)
	if err != nil {
		return nil, err
	}
	b, err := (&prompb.ReadRequest{Queries: []*prompb.Query{q}}).Marshal()
	if err != nil {
		return nil, err
	}
	return &structs.HostMetricsReadRequest{Op: op, ReadRequest: b}, nil
}

func (p *peerQuerier) fail(err error) error {
	return fmt.Errorf("server %s did not answer; its nodes' series are missing: %w", p.name, err)
}

func (p *peerQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if hints != nil && hints.Start == 0 && hints.End == 0 {
		hints = nil
	}
	args, err := p.request(structs.HostMetricsReadSelect, hints, ms)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	var reply structs.HostMetricsReadResponse
	if err := p.call(ctx, args, &reply); err != nil {
		return storage.ErrSeriesSet(p.fail(err))
	}
	var resp prompb.ReadResponse
	if err := resp.Unmarshal(reply.ReadResponse); err != nil || len(resp.Results) != 1 {
		return storage.ErrSeriesSet(p.fail(errors.New("malformed read response")))
	}
	return &warnedSeriesSet{SeriesSet: remote.FromQueryResult(sortSeries, resp.Results[0]), ws: fromWarnings(p.name, reply.Warnings)}
}

func (p *peerQuerier) labels(ctx context.Context, op, name string, hints *storage.LabelHints, ms []*labels.Matcher) ([]string, annotations.Annotations, error) {
	args, err := p.request(op, nil, ms)
	if err != nil {
		return nil, nil, err
	}
	args.LabelName = name
	if hints != nil {
		args.Limit = hints.Limit
	}
	var reply structs.HostMetricsReadResponse
	if err := p.call(ctx, args, &reply); err != nil {
		return nil, nil, p.fail(err)
	}
	return reply.Labels, fromWarnings(p.name, reply.Warnings), nil
}

func (p *peerQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return p.labels(ctx, structs.HostMetricsReadLabelValues, name, hints, ms)
}

func (p *peerQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return p.labels(ctx, structs.HostMetricsReadLabelNames, "", hints, ms)
}

func (p *peerQuerier) Close() error { return nil }

// warnedSeriesSet adds a peer's own warnings to its series.
type warnedSeriesSet struct {
	storage.SeriesSet
	ws annotations.Annotations
}

func (s *warnedSeriesSet) Warnings() annotations.Annotations {
	return s.ws.Merge(s.SeriesSet.Warnings())
}
