package command

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/cli"
)

// AgentValidateCommand checks agent configuration files as `agent` would
// read them, without starting anything (Nomad's `nomad config validate`;
// nomadlike's `config` commands are the cluster's collector configs).
type AgentValidateCommand struct {
	Ui cli.Ui
}

// Name is the command's name.
func (c *AgentValidateCommand) Name() string { return "agent validate" }

// Synopsis is the one-line description.
func (c *AgentValidateCommand) Synopsis() string {
	return "Checks agent configuration files without starting an agent"
}

// Help is the usage text.
func (c *AgentValidateCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadlike agent validate [-dev] PATH...

  Reads each PATH (an HCL file, or a directory of *.hcl files) in order,
  merged over the defaults exactly as "nomadlike agent -config=PATH ..."
  would, and validates the result: syntax, unknown fields, types, and the
  rules the agent checks at start (a data dir, a role, ports, addresses,
  durations). Nothing is started, bound or created. Exit 0 when the
  configuration is valid, 1 otherwise.

  Settings the agent would take from flags are not seen: a file validated
  on its own must hold what the agent needs (data_dir, server or client).

Options:

  -dev    Merge over -dev's defaults instead of the agent's.
`)
}

// Run validates the files.
func (c *AgentValidateCommand) Run(args []string) int {
	fs := flag.NewFlagSet("agent validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dev := fs.Bool("dev", false, "")
	if err := fs.Parse(args); err != nil {
		c.Ui.Error(fmt.Sprintf("Error parsing flags: %s\n\n%s", err, c.Help()))
		return 1
	}
	paths := fs.Args()
	if len(paths) == 0 {
		c.Ui.Error("This command takes one or more arguments: <path>...\n\n" + c.Help())
		return 1
	}
	config, err := mergeConfig(*dev, paths, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error in agent configuration:\n%s", err))
		return 1
	}
	c.Ui.Output(fmt.Sprintf("Configuration is valid: %s, node %q, region %s, datacenter %s, data dir %s, ports http %d, rpc %d, serf %d",
		roles(config), *config.NodeName, *config.Region, *config.Datacenter, *config.DataDir,
		*config.Ports.HTTP, *config.Ports.RPC, *config.Ports.Serf))
	return 0
}
