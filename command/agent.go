package command

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/nomadlike/nomadlike/structs"
)

// AgentCommand runs a nomadlike agent (server, client or both) until it is
// signalled.
type AgentCommand struct {
	Ui cli.Ui
	// ShutdownCh, when set, stops the agent as SIGTERM would (tests).
	ShutdownCh <-chan struct{}
}

// NewAgentCommand returns the `nomadlike agent` command.
func NewAgentCommand(ui cli.Ui) cli.Command { return &AgentCommand{Ui: ui} }

// Name is the command's name.
func (c *AgentCommand) Name() string { return "agent" }

// Synopsis is the one-line description.
func (c *AgentCommand) Synopsis() string { return "Runs a nomadlike agent" }

// Help is the usage text.
func (c *AgentCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadlike agent [options]

  Starts a nomadlike agent: a server (-server), a client (-client), or both.
  -dev runs one server and one client in this process on 127.0.0.1 with a
  temporary data dir. SIGHUP makes it read its -config files and flags
  again and apply what changed (see "nomadlike agent reload -h").

Options:

  -dev                   Single-node server+client with embedded defaults.
  -server                Run a server (raft + gossip).
  -client                Run a client (registers with servers, heartbeats).
  -bootstrap-expect=N    Bootstrap raft once N servers are in the gossip pool.
  -config=PATH           HCL file or directory of *.hcl files; repeatable.
  -data-dir=PATH         Where state is kept (required unless -dev).
  -node=NAME             Node name (default: hostname).
  -dc=NAME               Datacenter (default: dc1).
  -region=NAME           Region (default: global).
  -bind=IP               Address every listener binds (default: 0.0.0.0).
  -advertise=IP          Address advertised to other agents.
  -http-port, -rpc-port, -serf-port
                         Ports (defaults 4646, 4647, 4648).
  -servers=HOST:PORT,... Servers' RPC addresses for a client.
  -join=HOST:PORT        Gossip address to join at start (fails the start
                         if none answers); repeatable.
  -retry-join=HOST:PORT  Gossip address to join, retried until it works;
                         repeatable.
  -retry-interval=DUR    Pause between retry-join attempts (default 30s).
  -retry-max=N           Give up retry-join after N attempts (0: never).
  -meta=KEY=VALUE        Node metadata for a client; repeatable.
  -log-level=LEVEL       trace, debug, info, warn or error.
  -log-json              Log JSON lines.
  -log-file=<path>       Also write the log to this file (a directory gets nomadlike.log).
  -log-rotate-bytes=<n>  Rotate the log file past n bytes (default 0: no size limit).
  -log-rotate-duration=<d>
                         Rotate the log file when it is this old (default 24h).
  -log-rotate-max-files=<n>
                         Keep at most n rotated files (default 0: keep all).
  -enable-debug          Enable debug endpoints without ACLs.
  -config.enable-read-api
                         Serve the running configuration at GET /-/config.
  -disable-support-bundle
                         Answer GET /-/support with 403.
  -leave-on-interrupt    Leave the cluster gracefully on SIGINT.
  -leave-on-terminate    Leave the cluster gracefully on SIGTERM.
`)
}

// Run starts the agent and blocks until a signal stops it.
func (c *AgentCommand) Run(args []string) int {
	config, err := c.readConfig(args)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error in agent configuration:\n%s", err))
		return 1
	}
	var out io.Writer = os.Stdout
	logFile, err := agent.OpenLogFile(config)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error in agent configuration: %s", err))
		return 1
	}
	if logFile != nil {
		defer logFile.Close()
		out = io.MultiWriter(os.Stdout, logFile)
	}
	logger := agent.NewLogger(config, out)
	a, err := agent.NewAgent(config, logger)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error starting agent: %s", err))
		return 1
	}
	// SIGHUP and /-/reload read the same files and flags again.
	a.SetConfigLoader(func() (*agent.Config, error) { return c.readConfig(args) })
	c.Ui.Output(fmt.Sprintf("==> nomadlike agent started (%s)\n    Version: %s\n    Node: %s  Region: %s  DC: %s\n    HTTP: http://%s\n    Data dir: %s",
		roles(config), structs.VersionString(), *config.NodeName, *config.Region, *config.Datacenter,
		a.HTTPAddr(), *config.DataDir))
	return c.wait(a, config)
}

// readConfig merges defaults (or -dev defaults), config files and flags,
// then validates.
func (c *AgentCommand) readConfig(args []string) (*agent.Config, error) {
	// The flag package's own output would repeat the error Run prints.
	flags, paths, dev, err := agent.CommandConfig(args, io.Discard)
	if err != nil {
		return nil, err
	}
	return mergeConfig(dev, paths, flags)
}

// mergeConfig is the configuration an agent runs with: defaults (-dev's
// with dev), then each file or directory of paths in order, then flags
// (nil: none), validated.
func mergeConfig(dev bool, paths []string, flags *agent.Config) (*agent.Config, error) {
	config := agent.DefaultConfig()
	if dev {
		config = agent.DevConfig()
	}
	for _, p := range paths {
		fc, err := agent.LoadConfigFile(p)
		if err != nil {
			return nil, err
		}
		config.Merge(fc)
	}
	if flags != nil {
		config.Merge(flags)
	}
	if err := config.Validate(); err != nil {
		return nil, err
	}
	return config, nil
}

// roles names what config runs: "server", "client" or "server+client".
func roles(config *agent.Config) string {
	var r []string
	if *config.Server.Enabled {
		r = append(r, "server")
	}
	if *config.Client.Enabled {
		r = append(r, "client")
	}
	return strings.Join(r, "+")
}

// reload is SIGHUP's: the same as /-/reload, reported on the console.
func (c *AgentCommand) reload(a *agent.Agent) {
	c.Ui.Output("==> Caught SIGHUP, reloading configuration...")
	res, err := a.Reload()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("==> Reload failed, the running configuration is unchanged:\n%s", err))
		return
	}
	c.Ui.Output(reloadSummary(res))
}

// reloadSummary says what a reload applied and what waits for a restart.
func reloadSummary(res *agent.ReloadResult) string {
	applied := "nothing changed"
	if len(res.Applied) > 0 {
		applied = strings.Join(res.Applied, ", ")
	}
	out := "==> Configuration reloaded: " + applied
	if len(res.RestartRequired) > 0 {
		out += "\n    Changed but applied only at the next restart: " + strings.Join(res.RestartRequired, ", ")
	}
	return out
}

// wait blocks until SIGINT or SIGTERM, leaves the cluster if configured
// for that signal, and shuts down; SIGHUP reloads. A second signal forces the exit.
func (c *AgentCommand) wait(a *agent.Agent, config *agent.Config) int {
	sigCh := make(chan os.Signal, 4)
	signal.Notify(sigCh, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigCh)
	for {
		var sig os.Signal
		select {
		case sig = <-sigCh:
		case <-c.ShutdownCh:
			sig = syscall.SIGTERM
		}
		if sig == syscall.SIGHUP {
			c.reload(a)
			continue
		}
		c.Ui.Output(fmt.Sprintf("==> Caught signal: %v", sig))
		leave := (sig == os.Interrupt && *config.LeaveOnInt) || (sig == syscall.SIGTERM && *config.LeaveOnTerm)
		done := make(chan struct{})
		go func() {
			if leave {
				c.Ui.Output("==> Gracefully leaving the cluster...")
				a.Leave()
			}
			a.Shutdown()
			close(done)
		}()
		select {
		case <-done:
			return 0
		case <-sigCh:
			c.Ui.Error("==> Second signal: exiting without a clean shutdown")
			return 1
		}
	}
}
