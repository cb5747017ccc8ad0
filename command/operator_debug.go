package command

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/api"
)

// OperatorDebugCommand gathers the support bundles of many agents into one
// archive, as `nomad operator debug` does.
type OperatorDebugCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorDebugCommand) Name() string { return "operator debug" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorDebugCommand) Synopsis() string {
	return "Gather support bundles from servers and client nodes into one archive"
}

// Help returns the command's usage text.
func (c *OperatorDebugCommand) Help() string {
	return `Usage: nomadlike operator debug [options]

  Collects the support bundle (GET /-/support: metadata, configuration,
  metrics, metrics instances and targets, the logs and a CPU profile over
  -duration, heap, goroutine, mutex and block profiles, secrets scrubbed) of
  every server and of the chosen client nodes, all at once and through the
  agent at -address (the servers route each request to its target, as for
  operator pprof), and writes them into one zip archive: each target's
  entries under server/<name>/ or client/<node ID>/, and the error of a
  target that could not answer in its error.txt. Needs agent:write when ACLs
  are on; with ACLs off each target must run with enable_debug.

` + generalOptionsUsage() + `

Debug Options:

  -duration=<duration>
    The window of each bundle's logs and CPU profile, 1s to 30s.
    Default = 30s

  -server-id=<id>
    A server to collect from: a name, a server ID, "leader", or "all".
    Repeatable. Default = all

  -node-id=<id>
    A client node to collect from: its ID (or a unique prefix), or "all"
    for every node up to -max-nodes. Repeatable. Default = none

  -max-nodes=<n>
    How many nodes -node-id=all takes at most. Default = 10

  -output=<file>
    The archive to write. Default = nomadlike-debug-<UTC time>.zip`
}

// debugTarget is one agent to collect from.
type debugTarget struct {
	kind, id string // "server" or "client"; its name or node ID
}

// Run runs the command.
func (c *OperatorDebugCommand) Run(args []string) int {
	var servers, nodes stringSliceFlag
	var duration time.Duration
	var maxNodes int
	var output string
	fs := c.FlagSet(c.Name())
	fs.DurationVar(&duration, "duration", 30*time.Second, "")
	fs.Var(&servers, "server-id", "")
	fs.Var(&nodes, "node-id", "")
	fs.IntVar(&maxNodes, "max-nodes", 10, "")
	fs.StringVar(&output, "output", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	if duration < time.Second || duration > 30*time.Second || duration%time.Second != 0 {
		return c.usageError(c.Help(), fmt.Sprintf("-duration must be whole seconds from 1s to 30s, got %s", duration))
	}
	if len(servers) == 0 {
		servers = stringSliceFlag{"all"}
	}
	if output == "" {
		output = "nomadlike-debug-" + time.Now().UTC().Format("2006-01-02-150405") + ".zip"
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	targets, err := debugTargets(client, servers, nodes, maxNodes)
	if err != nil {
		return c.errorf("choosing the agents to collect from", err)
	}
	if len(targets) == 0 {
		c.Ui.Error("No agent to collect from")
		return 1
	}
	c.Ui.Output(fmt.Sprintf("Collecting %s of support data from %d agent(s) through %s...", duration, len(targets), client.Address()))

	// Every bundle is taken at once: their windows are the same span.
	bundles := make([][]byte, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	var outMu sync.Mutex
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			opts := api.SupportOptions{Duration: duration}
			if t.kind == "server" {
				opts.ServerID = t.id
			} else {
				opts.NodeID = t.id
			}
			bundles[i], errs[i] = client.Agent().SupportBundle(opts, nil)
			outMu.Lock()
			defer outMu.Unlock()
			if errs[i] != nil {
				c.Ui.Error(fmt.Sprintf("  %s %s: failed: %v", t.kind, t.id, errs[i]))
			} else {
				c.Ui.Output(fmt.Sprintf("  %s %s: %d KiB", t.kind, t.id, (len(bundles[i])+1023)/1024))
			}
		}()
	}
	wg.Wait()

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	failed := 0
	for i, t := range targets {
		dir := t.kind + "/" + t.id + "/"
		if errs[i] == nil {
			errs[i] = copyZip(zw, dir, bundles[i])
		}
		if errs[i] != nil {
			failed++
			w, err := zw.Create(dir + "error.txt")
			if err != nil {
				return c.errorf("writing the archive", err)
			}
			fmt.Fprintln(w, errs[i])
		}
	}
	if err := zw.Close(); err != nil {
		return c.errorf("writing the archive", err)
	}
	if err := os.WriteFile(output, buf.Bytes(), 0o600); err != nil {
		return c.errorf("writing the archive", err)
	}
	c.Ui.Output(fmt.Sprintf("Wrote %s: %d of %d agent(s)", output, len(targets)-failed, len(targets)))
	if failed == len(targets) {
		return 1
	}
	return 0
}

// debugTargets resolves -server-id and -node-id: "all" servers are the
// gossip pool's live members, "all" nodes the first maxNodes nodes, a
// node prefix the one node it names.
func debugTargets(client *api.Client, servers, nodes []string, maxNodes int) ([]debugTarget, error) {
	var out []debugTarget
	add := func(kind, id string) {
		t := debugTarget{kind, id}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, s := range servers {
		if s != "all" {
			add("server", s)
			continue
		}
		members, err := client.Agent().Members()
		if err != nil {
			return nil, err
		}
		for _, m := range members.Members {
			if m.Status == "alive" {
				add("server", m.Name)
			}
		}
	}
	if len(nodes) == 0 {
		return out, nil
	}
	list, _, err := client.Nodes().List(nil)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n == "all" {
			for i, node := range list {
				if i >= maxNodes {
					break
				}
				add("client", node.ID)
			}
			continue
		}
		var match []string
		for _, node := range list {
			if strings.HasPrefix(node.ID, n) {
				match = append(match, node.ID)
			}
		}
		switch len(match) {
		case 0:
			return nil, fmt.Errorf("no node with ID %q", n)
		case 1:
			add("client", match[0])
		default:
			return nil, fmt.Errorf("node ID prefix %q matches %d nodes; give more of it", n, len(match))
		}
	}
	return out, nil
}

// copyZip copies every entry of the zip b into zw under dir.
func copyZip(zw *zip.Writer, dir string, b []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return fmt.Errorf("the answer is not a zip: %w", err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		w, err := zw.Create(dir + f.Name)
		if err == nil {
			_, err = io.Copy(w, rc)
		}
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
