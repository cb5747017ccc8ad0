package command

import (
	"flag"
	"io"
	"os"
	"time"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/api"
)

// configKind is the -logs flag of the config subcommands: they address
// the logs_instance_configs (/agent/api/v1/logs/...) instead of the
// metrics ones.
type configKind struct{ logs bool }

func (k *configKind) register(fs *flag.FlagSet) { fs.BoolVar(&k.logs, "logs", false, "") }

// configs is the api handle on the chosen kind.
func (k *configKind) configs(c *api.Client) *api.Configs {
	if k.logs {
		return c.LogsConfigs()
	}
	return c.Configs()
}

const configKindUsage = `

Config Options:

  -logs
    A logs instance config (Promtail's clients and scrape_configs, run by
    the logs subsystem of the client it is assigned to) instead of a
    metrics one.`

// ConfigCommand is the parent of the config subcommands; it prints help.
type ConfigCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ConfigCommand) Name() string { return "config" }

// Synopsis returns the one-line summary of the command.
func (c *ConfigCommand) Synopsis() string { return "Interact with agent instance configs" }

// Help returns the command's usage text.
func (c *ConfigCommand) Help() string {
	return `Usage: nomadlike config <subcommand> [options] [args]

  This command groups subcommands for agent instance configs: named YAML
  metrics_instance_config documents that the servers keep and shard over
  the client agents (the Grafana Agent config management API).

  Write a config from a file:

      $ nomadlike config put node-exporter node-exporter.yaml

  Make the stored configs match a directory of YAML files:

      $ nomadlike config sync -dry-run ./configs
      $ nomadlike config sync ./configs

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *ConfigCommand) Run(_ []string) int { return cli.RunResultHelp }

// readFileOrStdin returns the contents of path, or of stdin (os.Stdin when
// nil) for "-".
func readFileOrStdin(path string, stdin io.Reader) (string, error) {
	if path != "-" {
		b, err := os.ReadFile(path)
		return string(b), err
	}
	if stdin == nil {
		stdin = os.Stdin
	}
	b, err := io.ReadAll(stdin)
	return string(b), err
}

// formatTime renders an optional timestamp as RFC 3339 in UTC, "<none>"
// when unset.
func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return t.UTC().Format(time.RFC3339)
}
