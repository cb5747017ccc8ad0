package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	gometrics "github.com/hashicorp/go-metrics/compat"
	commoncfg "github.com/prometheus/common/config"
)

// userAgent is what the pushes say they are.
const userAgent = "nomadlike-logs"

// batch is the lines of one push, in the order they were read.
type batch struct {
	entries []entry
	bytes   int
}

func (b *batch) add(e entry) {
	b.entries = append(b.entries, e)
	b.bytes += len(e.line)
}

// pusher batches an instance's lines and pushes each batch to every
// client in turn; a batch is acknowledged (and the positions advance)
// once every client took it or refused it for good.
type pusher struct {
	instance  string
	clients   []*lokiClient
	batchWait time.Duration
	batchSize int
	logger    hclog.Logger
}

// lokiClient pushes to one Loki push URL.
type lokiClient struct {
	cfg  ClientConfig
	http *http.Client
}

func newPusher(cfg *InstanceConfig, logger hclog.Logger) (*pusher, error) {
	p := &pusher{instance: cfg.Name, logger: logger}
	for i, cc := range cfg.Clients {
		hc, err := commoncfg.NewClientFromConfig(cc.HTTP, "logs_"+cfg.Name)
		if err != nil {
			return nil, fmt.Errorf("logs instance %q: clients[%d]: %w", cfg.Name, i, err)
		}
		hc.Timeout = time.Duration(cc.Timeout)
		p.clients = append(p.clients, &lokiClient{cfg: cc, http: hc})
		// One batch goes to every client: the tightest settings win.
		if wait := time.Duration(cc.BatchWait); p.batchWait == 0 || wait < p.batchWait {
			p.batchWait = wait
		}
		if p.batchSize == 0 || cc.BatchSize < p.batchSize {
			p.batchSize = cc.BatchSize
		}
	}
	return p, nil
}

// run batches entries until the channel closes, then pushes what is left;
// ctx ends the pushes (a stopping instance's flush deadline).
func (p *pusher) run(ctx context.Context, entries <-chan entry, acked func(*batch)) {
	var b batch
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	send := func() bool {
		timer.Stop()
		if len(b.entries) == 0 {
			return true
		}
		if !p.send(ctx, &b) {
			return false
		}
		acked(&b)
		b = batch{}
		return true
	}
	for {
		select {
		case e, ok := <-entries:
			if !ok {
				send()
				return
			}
			if len(b.entries) == 0 {
				timer.Reset(p.batchWait)
			}
			b.add(e)
			if b.bytes >= p.batchSize && !send() {
				return
			}
		case <-timer.C:
			if !send() {
				return
			}
		}
	}
}

// send pushes b to every client; false when ctx ended first (b is then
// not acknowledged, and its lines are read again at the next start).
func (p *pusher) send(ctx context.Context, b *batch) bool {
	labels := []gometrics.Label{{Name: "instance", Value: p.instance}}
	for _, c := range p.clients {
		body, err := c.body(b)
		if err != nil {
			p.logger.Error("encoding a push", "error", err)
			return false
		}
		sent, err := c.push(ctx, body, p.logger)
		if err != nil {
			return false
		}
		key := "sent_entries"
		if !sent {
			key = "dropped_entries"
		}
		gometrics.IncrCounterWithLabels([]string{"client", "logs", key}, float32(len(b.entries)), labels)
	}
	gometrics.IncrCounterWithLabels([]string{"client", "logs", "sent_bytes"}, float32(b.bytes), labels)
	return true
}

// pushStream and pushRequest are Loki's JSON push body.
type pushStream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

type pushRequest struct {
	Streams []*pushStream `json:"streams"`
}

// body is b as Loki's JSON push body, one stream per file in the order
// the files first appear, each file's lines in order.
func (c *lokiClient) body(b *batch) ([]byte, error) {
	var req pushRequest
	byFile := map[*tailFile]*pushStream{}
	for _, e := range b.entries {
		s := byFile[e.file]
		if s == nil {
			s = &pushStream{Stream: streamLabels(e.file, c.cfg.ExternalLabels)}
			byFile[e.file] = s
			req.Streams = append(req.Streams, s)
		}
		s.Values = append(s.Values, [2]string{strconv.FormatInt(e.ts, 10), e.line})
	}
	return json.Marshal(req)
}

// push sends body until it is taken (true), refused for good (false: a
// 4xx but 429, or max_retries spent), or ctx ends (an error). A retry
// sends the same lines with the same timestamps, which Loki deduplicates
// should the failed attempt have been stored after all.
func (c *lokiClient) push(ctx context.Context, body []byte, logger hclog.Logger) (bool, error) {
	backoff := time.Duration(c.cfg.Backoff.MinPeriod)
	for attempt := 1; ; attempt++ {
		status, err := c.once(ctx, body)
		switch {
		case status/100 == 2:
			return true, nil
		case status/100 == 4 && status != http.StatusTooManyRequests:
			logger.Error("push refused, dropping the batch", "url", c.cfg.URL, "error", err)
			return false, nil
		case ctx.Err() != nil:
			return false, ctx.Err()
		case c.cfg.Backoff.MaxRetries > 0 && attempt >= c.cfg.Backoff.MaxRetries:
			logger.Error("push failed max_retries times, dropping the batch", "url", c.cfg.URL, "status", status, "error", err)
			return false, nil
		}
		logger.Warn("push failed, retrying", "url", c.cfg.URL, "status", status, "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Duration(c.cfg.Backoff.MaxPeriod))
	}
}

// once is one POST; status is 0 when no answer came.
func (c *lokiClient) once(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	if c.cfg.TenantID != "" {
		req.Header.Set("X-Scope-OrgID", c.cfg.TenantID)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return resp.StatusCode, nil
}
