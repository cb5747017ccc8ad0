package command

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nomadlike/nomadlike/api"
)

// MonitorCommand streams an agent's logs.
type MonitorCommand struct {
	Meta

	// stopCh, when set, ends the stream instead of a signal (tests).
	stopCh <-chan struct{}
}

// Name returns the words that invoke the command.
func (c *MonitorCommand) Name() string { return "monitor" }

// Synopsis returns the one-line summary of the command.
func (c *MonitorCommand) Synopsis() string { return "Stream the logs of an agent" }

// Help returns the command's usage text.
func (c *MonitorCommand) Help() string {
	return `Usage: nomadlike monitor [options]

  Streams the log lines of the agent (or of the server or client node
  named with -server-id or -node-id) until interrupted. The level and
  format are the stream's own, whatever the agent writes to its log.
  Needs agent:read when ACLs are on.

` + generalOptionsUsage() + `

Monitor Options:

  -log-level=<level>
    Lines at this level and above: trace, debug, info, warn or error.
    Default = info

  -json
    Stream the lines in hclog's JSON format.

  -server-id=<id>
    The server to stream from: "leader", a server name (server1.global)
    or a server ID.

  -node-id=<id>
    The client node to stream from.`
}

// Run runs the command.
func (c *MonitorCommand) Run(args []string) int {
	var level string
	var target targetFlags
	fs := c.FlagSet(c.Name())
	fs.StringVar(&level, "log-level", "info", "")
	target.register(fs)
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	if msg := target.usageError(); msg != "" {
		return c.usageError(c.Help(), msg)
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	params := map[string]string{"log_level": level}
	if c.json {
		params["log_json"] = "true"
	}
	if target.serverID != "" {
		params["server_id"] = target.serverID
	}
	if target.nodeID != "" {
		params["node_id"] = target.nodeID
	}

	stop := make(chan struct{})
	frames, errCh := client.Agent().Monitor(stop, &api.QueryOptions{Params: params})
	if frames == nil {
		return c.errorf("starting monitor", <-errCh)
	}
	interrupted := c.stopCh
	if interrupted == nil {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		ch := make(chan struct{})
		go func() { <-sig; close(ch) }()
		interrupted = ch
	}

	// Frames may cut lines; print whole lines only.
	var partial bytes.Buffer
	for {
		select {
		case <-interrupted:
			close(stop)
			c.flushLines(&partial, true)
			return 0
		case f, ok := <-frames:
			if !ok {
				c.flushLines(&partial, true)
				if err := <-errCh; err != nil && !errors.Is(err, io.EOF) {
					return c.errorf("streaming logs", err)
				}
				return 0
			}
			partial.Write(f.Data)
			c.flushLines(&partial, false)
		}
	}
}

// flushLines prints the complete lines of buf (all of it when all is set).
func (c *MonitorCommand) flushLines(buf *bytes.Buffer, all bool) {
	data := buf.String()
	end := strings.LastIndexByte(data, '\n')
	if all {
		end = len(data)
	}
	if end < 0 {
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(data[:end], "\n"), "\n") {
		if line != "" {
			c.Ui.Output(line)
		}
	}
	rest := ""
	if end < len(data) {
		rest = data[end+1:]
	}
	buf.Reset()
	buf.WriteString(rest)
}
