package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics/compat"

	"github.com/nomadlike/nomadlike/nomadlike/atomicfile"
	"github.com/nomadlike/nomadlike/structs"
)

// assignmentWait is how long one watch of the assignment blocks.
const assignmentWait = 5 * time.Minute

// reloadTimeout bounds one call of the reload URL.
const reloadTimeout = 10 * time.Second

// AssignmentStatus is what the client last applied, for its own API.
type AssignmentStatus struct {
	// Hash is the hash of the pipeline file's contents as written.
	Hash        string
	PipelineIDs []string
	Configs     []string
	Error       string
	AppliedAt   time.Time
}

// assignmentState is what the watcher last applied.
type assignmentState struct {
	mu     sync.Mutex
	status AssignmentStatus
}

// watchAssignment blocks on the node's assignment and applies every
// change: the merged pipelines are written to PipelineFile (a temporary
// file renamed over it, so a collector never reads half a file), the
// reload URL is called, and the result is reported to the servers. A
// failed write or reload is reported and tried again.
func (c *Client) watchAssignment() {
	var index uint64
	failures := 0
	for {
		if !c.waitRegistered() {
			return
		}
		var resp structs.NodeAssignmentResponse
		// The query blocks for minutes: run it aside so that shutdown
		// does not wait for it (it ends when the pool or the server
		// shuts down).
		done := make(chan error, 1)
		go func() {
			done <- c.RPC("Node.GetAssignment", &structs.NodeAssignmentRequest{
				NodeID: c.node.ID, SecretID: c.node.SecretID,
				QueryOptions: structs.QueryOptions{
					Region: c.config.Region, MinQueryIndex: index, MaxQueryTime: assignmentWait,
					AllowStale: true, AuthToken: c.config.Token,
				},
			}, &resp)
		}()
		var err error
		select {
		case <-c.shutdownCh:
			return
		case err = <-done:
		}
		if err == nil {
			switch {
			case resp.Index < index:
				// Another server, behind the last one: start over
				// rather than wait for it to pass an index it may
				// not reach for a while.
				index = 0
			default:
				index = resp.Index
			}
			err = c.applyAssignment(&resp)
		}
		if err != nil {
			if errors.Is(err, structs.ErrUnknownNode) {
				// Not registered (yet, or any more): wait for the
				// heartbeat loop to register again.
				c.mu.Lock()
				c.registered = false
				c.mu.Unlock()
			}
			failures++
			c.logger.Warn("assignment watch failed", "error", err)
			wait := min(time.Duration(failures)*c.config.RetryInterval, 30*time.Second)
			select {
			case <-c.shutdownCh:
				return
			case <-time.After(wait/2 + rand.N(wait/2+1)):
			}
			index = 0
			continue
		}
		failures = 0
	}
}

// waitRegistered waits until the node is registered; false at shutdown.
func (c *Client) waitRegistered() bool {
	for !c.Registered() {
		select {
		case <-c.shutdownCh:
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return true
}

// applyAssignment writes and reloads when the merged contents changed,
// and reports to the servers when what it reports changed. The error it
// returns is one of talking to the servers; a failed write or reload is
// reported to them, not returned.
func (c *Client) applyAssignment(resp *structs.NodeAssignmentResponse) error {
	content, hash := resp.Merged()
	st := &c.assignment
	st.mu.Lock()
	changed := st.status.Hash != hash || st.status.Error != ""
	st.mu.Unlock()
	var applyErr error
	if changed {
		start := time.Now()
		applyErr = c.writeAndReload(content)
		metrics.MeasureSince([]string{"client", "assignment", "apply"}, start)
		st.mu.Lock()
		st.status = AssignmentStatus{Hash: hash, PipelineIDs: resp.Assignment.PipelineIDs,
			Configs: resp.Assignment.Configs, AppliedAt: time.Now()}
		if applyErr != nil {
			st.status.Error = applyErr.Error()
			c.logger.Error("applying assignment failed", "hash", hash, "error", applyErr)
		} else {
			c.logger.Info("assignment applied", "pipelines", len(resp.Pipelines), "hash", hash)
		}
		st.mu.Unlock()
	}
	st.mu.Lock()
	st.status.Configs = resp.Assignment.Configs
	st.mu.Unlock()
	c.applyConfigs(resp.Configs)
	// The answer carries what the servers last took from this node: report
	// only when that differs (a report the answering server has not
	// applied yet is sent again and taken as a no-op by the leader).
	if err := c.reportApplied(resp.Assignment); err != nil {
		return err
	}
	if applyErr != nil {
		// Try again after a pause, even if nothing changes.
		return fmt.Errorf("will retry: %w", applyErr)
	}
	return nil
}

// writeAndReload replaces the pipeline file and calls the reload URL.
func (c *Client) writeAndReload(content string) error {
	if path := c.config.PipelineFile; path != "" {
		if err := writeFileAtomic(path, []byte(content)); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if u := c.config.ReloadURL; u != "" {
		ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		if err != nil {
			return fmt.Errorf("reload %s: %w", u, err)
		}
		resp, err := c.httpClient.Do(req)
		if err != nil {
			return fmt.Errorf("reload %s: %w", u, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("reload %s: %s: %s", u, resp.Status, body)
		}
	}
	return nil
}

// writeFileAtomic writes data so that readers see the old file or the
// new one.
func writeFileAtomic(path string, data []byte) error {
	return atomicfile.Write(path, data, 0o644)
}

// Assignment is what the client last applied.
func (c *Client) Assignment() AssignmentStatus {
	c.assignment.mu.Lock()
	defer c.assignment.mu.Unlock()
	return c.assignment.status
}

// loadAppliedHash starts from the pipeline file a previous run wrote: if
// it still holds what is assigned, a restarted client neither rewrites
// it nor reloads the collector.
func (c *Client) loadAppliedHash() {
	if c.config.PipelineFile == "" {
		return
	}
	buf, err := os.ReadFile(c.config.PipelineFile)
	if err != nil {
		return
	}
	sum := sha256.Sum256(buf)
	c.assignment.status.Hash = hex.EncodeToString(sum[:])
}
