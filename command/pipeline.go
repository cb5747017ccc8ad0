package command

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/api"
)

// PipelineCommand is the parent of the pipeline subcommands; it prints
// help.
type PipelineCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *PipelineCommand) Name() string { return "pipeline" }

// Synopsis returns the one-line summary of the command.
func (c *PipelineCommand) Synopsis() string { return "Interact with configuration pipelines" }

// Help returns the command's usage text.
func (c *PipelineCommand) Help() string {
	return `Usage: nomadlike pipeline <subcommand> [options] [args]

  This command groups subcommands for configuration pipelines: named pieces
  of collector configuration that the servers assign to the client agents
  their matchers select (the Fleet Management pipeline API). Every change
  is kept as a revision.

  Create a pipeline for Linux hosts:

      $ nomadlike pipeline create -name=linux -file=linux.alloy \
          -matcher='collector.os=linux'

  List the pipelines and show the history of one:

      $ nomadlike pipeline list
      $ nomadlike pipeline revisions 7

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *PipelineCommand) Run(_ []string) int { return cli.RunResultHelp }

// pipelineFlagsUsage is the help text of the flags pipelineFlags
// registers.
const pipelineFlagsUsage = `  -name=<name>
    The pipeline's name, unique among pipelines.

  -file=<path>
    The file holding the pipeline's contents (Alloy syntax or OpenTelemetry
    Collector YAML), or "-" for stdin.

  -matcher=<matcher>
    A matcher selecting the collectors that get the pipeline, such as
    'collector.os=linux' or 'team!~"a|b"' (Alertmanager syntax). Repeat it
    for several; a collector must match all of them.

  -enabled=<bool>
    Whether collectors get the pipeline. Left to the server when not given.

  -config-type=<type>
    The contents' syntax: "alloy" or "otel".`

// pipelineFlags are the flags that describe a pipeline.
type pipelineFlags struct {
	name       string
	file       string
	matchers   stringSliceFlag
	enabled    boolPtrFlag
	configType string

	// set holds the names of the flags given, once parsed.
	set map[string]bool
}

// register adds the flags to fs.
func (pf *pipelineFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&pf.name, "name", "", "")
	fs.StringVar(&pf.file, "file", "", "")
	fs.Var(&pf.matchers, "matcher", "")
	fs.Var(&pf.enabled, "enabled", "")
	fs.StringVar(&pf.configType, "config-type", "", "")
}

// parsed records which flags of fs were given and checks their values; it
// returns a message for the user, or "".
func (pf *pipelineFlags) parsed(fs *flag.FlagSet) string {
	pf.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { pf.set[f.Name] = true })
	if pf.set["name"] && pf.name == "" {
		return "The pipeline name must not be empty"
	}
	if pf.set["file"] && pf.file == "" {
		return "The -file path must not be empty"
	}
	if pf.set["config-type"] {
		ct, ok := parseConfigType(pf.configType)
		if !ok {
			return fmt.Sprintf("Invalid -config-type %q: must be \"alloy\" or \"otel\"", pf.configType)
		}
		pf.configType = ct
	}
	return ""
}

// apply copies the flags given onto p, reading the -file contents.
func (pf *pipelineFlags) apply(p *api.Pipeline, stdin io.Reader) error {
	if pf.set["name"] {
		p.Name = pf.name
	}
	if pf.set["file"] {
		contents, err := readFileOrStdin(pf.file, stdin)
		if err != nil {
			return err
		}
		p.Contents = contents
	}
	if pf.set["matcher"] {
		p.Matchers = nil
		for _, m := range pf.matchers {
			if strings.TrimSpace(m) != "" {
				p.Matchers = append(p.Matchers, m)
			}
		}
	}
	if pf.set["enabled"] {
		p.Enabled = pf.enabled.v
	}
	if pf.set["config-type"] {
		p.ConfigType = pf.configType
	}
	return nil
}

// parseConfigType turns "alloy", "otel" or a full ConfigType name into
// the ConfigType constant.
func parseConfigType(s string) (string, bool) {
	switch strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "CONFIG_TYPE_") {
	case "ALLOY":
		return api.ConfigTypeAlloy, true
	case "OTEL":
		return api.ConfigTypeOTel, true
	}
	return "", false
}

// boolPtrFlag is a boolean flag that remembers whether it was given; -x
// alone means true.
type boolPtrFlag struct {
	v *bool
}

// String returns the value, or "" when unset.
func (b *boolPtrFlag) String() string {
	if b == nil || b.v == nil {
		return ""
	}
	return strconv.FormatBool(*b.v)
}

// Set parses one value.
func (b *boolPtrFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("must be true or false")
	}
	b.v = &v
	return nil
}

// IsBoolFlag lets the flag be given without a value.
func (b *boolPtrFlag) IsBoolFlag() bool { return true }

// orNone returns s, or "<none>" when s is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// formatEnabled renders an optional enabled flag.
func formatEnabled(b *bool) string {
	if b == nil {
		return "<none>"
	}
	return strconv.FormatBool(*b)
}

// formatConfigType renders a ConfigType as the -config-type value,
// "alloy" or "otel".
func formatConfigType(ct string) string {
	if ct == "" || ct == api.ConfigTypeUnspecified {
		return "<none>"
	}
	return strings.ToLower(strings.TrimPrefix(ct, "CONFIG_TYPE_"))
}

// formatMatchers renders a pipeline's matchers on one line.
func formatMatchers(ms []string) string {
	if len(ms) == 0 {
		return "<none>"
	}
	return strings.Join(ms, ", ")
}

// pipelineKV returns the key/value pairs of a pipeline, without its
// contents.
func pipelineKV(p *api.Pipeline) [][2]string {
	source := "<none>"
	if p.Source != nil {
		source = fmt.Sprintf("%s (namespace %s)", orNone(p.Source.Type), orNone(p.Source.Namespace))
	}
	metadata := "<none>"
	if len(p.Metadata) > 0 {
		b, _ := json.Marshal(p.Metadata)
		metadata = string(b)
	}
	return [][2]string{
		{"ID", orNone(p.ID)},
		{"Name", orNone(p.Name)},
		{"Enabled", formatEnabled(p.Enabled)},
		{"Config Type", formatConfigType(p.ConfigType)},
		{"Matchers", formatMatchers(p.Matchers)},
		{"Source", source},
		{"Metadata", metadata},
		{"Created At", formatTime(p.CreatedAt)},
		{"Updated At", formatTime(p.UpdatedAt)},
	}
}

// formatPipeline renders a pipeline as key/value pairs, then its contents,
// which may be long, last.
func formatPipeline(p *api.Pipeline) string {
	return formatKV(pipelineKV(p)) + formatContents(p.Contents)
}

// formatContents renders a "Contents" section, or nothing when empty.
func formatContents(contents string) string {
	if contents == "" {
		return ""
	}
	return "\n\nContents\n\n" + strings.TrimRight(contents, "\n")
}
