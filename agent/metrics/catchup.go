package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/nomadlike/nomadlike/nomadlike/hclogslog"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/golang/snappy"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/record"
	"github.com/prometheus/prometheus/tsdb/wlog"
)

// sentFile records, per remote_write queue, the highest sample timestamp
// it has sent (ms): what a restarted agent need not send again.
const sentFile = "sent.json"

// catchupBatch is the most samples one catch-up request carries: a store
// rejects a whole request for one out-of-order sample, so they are small.
const catchupBatch = 500

// readSent reads sentFile; nil when there is none.
func readSent(dir string) map[string]int64 {
	buf, err := os.ReadFile(filepath.Join(dir, sentFile))
	if err != nil {
		return nil
	}
	var m map[string]int64
	if json.Unmarshal(buf, &m) != nil {
		return nil
	}
	return m
}

// queueSent reads each queue's highest sent timestamp (ms) from the
// instance's registry.
func (in *instance) queueSent() map[string]int64 {
	mfs, err := in.reg.Gather()
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	for _, mf := range mfs {
		if mf.GetName() != "prometheus_remote_storage_queue_highest_sent_timestamp_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "remote_name" && m.GetGauge().GetValue() > 0 {
					out[l.GetValue()] = int64(m.GetGauge().GetValue() * 1000)
				}
			}
		}
	}
	return out
}

// saveSent merges what the queues have sent into sentFile (a marker only
// moves forward).
func (in *instance) saveSent() {
	sent := in.queueSent()
	if len(sent) == 0 {
		return
	}
	old := readSent(in.dir)
	changed := false
	for name, ts := range sent {
		if ts > old[name] {
			if old == nil {
				old = map[string]int64{}
			}
			old[name], changed = ts, true
		}
	}
	if !changed {
		return
	}
	buf, _ := json.Marshal(old)
	tmp := filepath.Join(in.dir, sentFile+".tmp")
	if os.WriteFile(tmp, buf, 0o600) == nil {
		os.Rename(tmp, filepath.Join(in.dir, sentFile))
	}
}

// catchUp sends what the WAL holds past each queue's marker, from the
// segments a previous process wrote through the ones this one is writing,
// until it has reached the end; then it starts the remote_write queues.
// Prometheus' WAL watcher sends only samples newer than its own start, so
// without this what was unsent at a restart would stay on disk unsent;
// and the queues start only after it, so that no store gets a series'
// older samples after its newer ones.
func (in *instance) catchUp(ctx context.Context, cfg *parsed, sent map[string]int64, first int) {
	walDir := filepath.Join(in.dir, "wal")
	var clients []*catchupTarget
	for _, rw := range cfg.prom.RemoteWriteConfigs {
		c, err := remote.NewWriteClient("catchup-"+rw.Name, &remote.ClientConfig{
			URL: rw.URL, Timeout: rw.RemoteTimeout, HTTPClientConfig: rw.HTTPClientConfig,
			Headers: rw.Headers, RetryOnRateLimit: true, WriteProtoMsg: "prometheus.WriteRequest",
		})
		if err != nil {
			in.logger.Warn("catch-up: remote_write client", "remote_name", rw.Name, "error", err)
			continue
		}
		clients = append(clients, &catchupTarget{cfg: rw, client: c, after: sent[rw.Name]})
	}
	oldest := time.Now().Add(-cfg.wal.MaxWALTime).UnixMilli()
	series := map[chunks.HeadSeriesRef]labels.Labels{}
	var batch []record.RefSample
	dec := record.NewDecoder(labels.NewSymbolTable(), hclogslog.New(in.logger))
	total := 0
	flush := func() bool {
		for _, c := range clients {
			if err := c.send(ctx, in, series, batch, cfg.prom.GlobalConfig.ExternalLabels); err != nil {
				return false
			}
		}
		total += len(batch)
		batch = batch[:0]
		return true
	}
	// Series defined before the last checkpoint are only in it.
	if cp, _, err := wlog.LastCheckpoint(walDir); err == nil {
		if r, err := wlog.NewSegmentsReader(cp); err == nil {
			rd := wlog.NewReader(r)
			for rd.Next() {
				if rec := rd.Record(); dec.Type(rec) == record.Series {
					ss, _ := dec.Series(rec, nil)
					for _, s := range ss {
						series[s.Ref] = s.Labels
					}
				}
			}
			r.Close()
		}
	}
	// Read every segment from the first the previous process left,
	// through the ones this process writes, to the end of what is
	// written. There, send what is left, start the queues (they send
	// what comes after that moment), and read to the end once more for
	// what was appended meanwhile, up to that moment.
	started, stopAt := false, int64(0)
	for seg := first; ; seg++ {
		f, err := wlog.OpenReadSegment(wlog.SegmentName(walDir, seg))
		if err != nil {
			in.logger.Warn("catch-up: opening a WAL segment", "segment", seg, "error", err)
			if !started {
				in.startQueues()
			}
			return
		}
		lr := wlog.NewLiveReader(hclogslog.New(in.logger), nil, f)
		for {
			for lr.Next() {
				rec := lr.Record()
				switch dec.Type(rec) {
				case record.Series:
					ss, err := dec.Series(rec, nil)
					if err != nil {
						in.logger.Warn("catch-up: a series record does not decode", "error", err)
					}
					for _, s := range ss {
						series[s.Ref] = s.Labels.Copy()
					}
				case record.Samples, record.SamplesV2:
					smps, _ := dec.Samples(rec, nil)
					for _, s := range smps {
						if s.T < oldest || (started && s.T > stopAt) {
							continue
						}
						batch = append(batch, s)
						if len(batch) >= catchupBatch && !flush() {
							f.Close()
							return
						}
					}
				}
			}
			if err := lr.Err(); err != nil && !errors.Is(err, io.EOF) {
				in.logger.Warn("catch-up: reading the WAL", "segment", seg, "error", err)
			}
			if _, err := os.Stat(wlog.SegmentName(walDir, seg+1)); err == nil {
				break // a later segment exists: this one is complete
			}
			if len(batch) > 0 && !flush() {
				f.Close()
				return
			}
			if started {
				f.Close()
				in.logger.Info("caught up with the WAL after a restart", "samples", total)
				return
			}
			stopAt, started = in.startQueues(), true
		}
		f.Close()
	}
}

// startQueues starts the remote_write queues with the instance's current
// config and returns the time they start from (ms).
func (in *instance) startQueues() int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	now := time.Now().UnixMilli()
	if err := in.remote.ApplyConfig(in.cfg.prom); err != nil {
		in.logger.Error("starting remote_write after the catch-up", "error", err)
	}
	in.catchingUp = false
	return now
}

// catchupTarget sends catch-up batches to one remote_write endpoint.
type catchupTarget struct {
	cfg    *promconfig.RemoteWriteConfig
	client remote.WriteClient
	// after: samples up to it were sent before the restart.
	after int64
}

// send writes one batch, retrying with backoff until it is taken, the
// store refuses it for good (logged and dropped, as the queue does), or
// ctx ends (an error).
func (c *catchupTarget) send(ctx context.Context, in *instance, series map[chunks.HeadSeriesRef]labels.Labels,
	batch []record.RefSample, external labels.Labels) error {
	// Index of each series in req.Timeseries (appends move the slice).
	byRef := map[chunks.HeadSeriesRef]int{}
	var req prompb.WriteRequest
	lb := labels.NewBuilder(labels.EmptyLabels())
	for _, s := range batch {
		if s.T <= c.after {
			continue
		}
		i, ok := byRef[s.Ref]
		if !ok {
			ls, known := series[s.Ref]
			if !known {
				continue
			}
			lb.Reset(ls)
			external.Range(func(l labels.Label) {
				if lb.Get(l.Name) == "" {
					lb.Set(l.Name, l.Value)
				}
			})
			i = -1
			if relabel.ProcessBuilder(lb, c.cfg.WriteRelabelConfigs...) {
				var ts prompb.TimeSeries
				lb.Labels().Range(func(l labels.Label) {
					ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value})
				})
				req.Timeseries = append(req.Timeseries, ts)
				i = len(req.Timeseries) - 1
			}
			byRef[s.Ref] = i
		}
		if i >= 0 {
			req.Timeseries[i].Samples = append(req.Timeseries[i].Samples, prompb.Sample{Timestamp: s.T, Value: s.V})
		}
	}
	in.logger.Debug("catch-up: sending", "remote_name", c.cfg.Name, "batch", len(batch), "series", len(req.Timeseries), "after", c.after)
	if len(req.Timeseries) == 0 {
		return nil
	}
	raw, err := req.Marshal()
	if err != nil {
		return err
	}
	body := snappy.Encode(nil, raw)
	backoff := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		_, err := c.client.Store(ctx, body, attempt)
		var rec remote.RecoverableError
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &rec) || ctx.Err() != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			in.logger.Warn("catch-up: the store refused a batch; dropping it", "remote_name", c.cfg.Name, "error", err)
			return nil
		}
		in.logger.Debug("catch-up: send failed, retrying", "remote_name", c.cfg.Name, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff/2 + rand.N(backoff/2+1)):
		}
		backoff = min(2*backoff, time.Duration(c.cfg.QueueConfig.MaxBackoff))
		if backoff <= 0 {
			backoff = 5 * time.Second
		}
	}
}
