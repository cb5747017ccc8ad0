package command

import (
	"fmt"
	"os"

	"github.com/nomadlike/nomadlike/api"
)

// OperatorPprofCommand writes a runtime profile of an agent to a file.
type OperatorPprofCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *OperatorPprofCommand) Name() string { return "operator pprof" }

// Synopsis returns the one-line summary of the command.
func (c *OperatorPprofCommand) Synopsis() string {
	return "Write a runtime profile of an agent to a file"
}

// Help returns the command's usage text.
func (c *OperatorPprofCommand) Help() string {
	return `Usage: nomadlike operator pprof [options]

  Takes a runtime profile of the agent (or of the server or client node
  named with -server-id or -node-id) and writes it to a file that
  "go tool pprof" (or "go tool trace" for a trace) reads. Needs agent:write
  when ACLs are on; with ACLs off the profiled agent must run with
  enable_debug.

` + generalOptionsUsage() + `

Pprof Options:

  -profile=<name>
    cpu (a CPU profile of -seconds), trace (an execution trace of
    -seconds), cmdline, or a runtime profile: goroutine, heap, allocs,
    block, mutex, threadcreate. Default = cpu

  -seconds=<n>
    Length of a CPU profile or trace. Default = 1

  -debug=<n>
    0 writes the binary format; 1 or 2 write text (goroutine, heap, ...).

  -gc
    Collect garbage before a heap profile.

  -server-id=<id>
    The server to profile: "leader", a server name or a server ID.

  -node-id=<id>
    The client node to profile.

  -output=<file>
    Where to write the profile. Default = the profile's name in the
    current directory (profile, trace, goroutine, ...).`
}

// Run runs the command.
func (c *OperatorPprofCommand) Run(args []string) int {
	var name, output string
	var target targetFlags
	var seconds, debug int
	var gc bool
	fs := c.FlagSet(c.Name())
	fs.StringVar(&name, "profile", "cpu", "")
	fs.IntVar(&seconds, "seconds", 1, "")
	fs.IntVar(&debug, "debug", 0, "")
	fs.BoolVar(&gc, "gc", false, "")
	target.register(fs)
	fs.StringVar(&output, "output", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	if msg := target.usageError(); msg != "" {
		return c.usageError(c.Help(), msg)
	}
	if seconds < 1 {
		return c.usageError(c.Help(), "-seconds must be at least 1")
	}
	if name == "" {
		return c.usageError(c.Help(), "-profile must name a profile")
	}
	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	opts := api.PprofOptions{ServerID: target.serverID, NodeID: target.nodeID, Seconds: seconds, Debug: debug}
	if gc {
		opts.GC = 1
	}
	ag := client.Agent()
	var data []byte
	file := name
	switch name {
	case "cpu", "profile":
		file = "profile"
		data, err = ag.CPUProfile(opts, nil)
	case "trace":
		data, err = ag.Trace(opts, nil)
	case "cmdline":
		data, err = ag.Cmdline(opts, nil)
	default:
		data, err = ag.Lookup(name, opts, nil)
	}
	if err != nil {
		return c.errorf("taking the "+name+" profile", err)
	}
	if output == "" {
		output = file
	}
	if err := os.WriteFile(output, data, 0o644); err != nil {
		return c.errorf("writing the profile", err)
	}
	c.Ui.Output(fmt.Sprintf("Wrote %d bytes of %s profile to %s", len(data), name, output))
	return 0
}
