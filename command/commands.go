// Package command is the nomadlike command line: one file per command,
// each built on the api package only (except `agent`, which starts one).
package command

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/structs"
)

// Run runs the CLI with args (without the program name) and returns the
// process exit code.
func Run(args []string) int {
	ui := &cli.BasicUi{Reader: os.Stdin, Writer: os.Stdout, ErrorWriter: os.Stderr}
	return runCLI(args, ui, os.Stdout, os.Stderr)
}

// runCLI is Run with its writers made explicit, for tests. helpOut gets
// requested help and the version; errOut gets help shown for a mistake.
func runCLI(args []string, ui cli.Ui, helpOut, errOut io.Writer) int {
	commands := Commands(ui)
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && !knownCommand(commands, args[0]) {
		fmt.Fprintf(errOut, "Unknown command: %q\n\n", args[0])
	}
	c := &cli.CLI{
		Name: "nomadlike",
		// The same words as `nomadlike version`.
		Version:     "nomadlike v" + structs.VersionString(),
		Args:        args,
		Commands:    commands,
		HelpFunc:    cli.BasicHelpFunc("nomadlike"),
		HelpWriter:  helpOut,
		ErrorWriter: errOut,
		// Shell completion as Nomad's CLI has it: -autocomplete-install
		// adds `complete -C <binary> nomadlike` to the shell's rc file,
		// and the shell then runs the binary with COMP_LINE set.
		Autocomplete:          true,
		AutocompleteInstall:   "autocomplete-install",
		AutocompleteUninstall: "autocomplete-uninstall",
	}
	code, err := c.Run()
	if err != nil {
		fmt.Fprintf(errOut, "Error executing CLI: %s\n", err)
		return 1
	}
	return code
}

// knownCommand tells whether word starts some command.
func knownCommand(commands map[string]cli.CommandFactory, word string) bool {
	for name := range commands {
		if first, _, _ := strings.Cut(name, " "); first == word {
			return true
		}
	}
	return false
}

// Commands returns the factories of every command, keyed by the words that
// invoke them.
func Commands(ui cli.Ui) map[string]cli.CommandFactory {
	meta := Meta{Ui: ui}
	return map[string]cli.CommandFactory{
		"acl": func() (cli.Command, error) {
			return &ACLCommand{Meta: meta}, nil
		},
		"acl bootstrap": func() (cli.Command, error) {
			return &ACLBootstrapCommand{Meta: meta}, nil
		},
		"acl policy": func() (cli.Command, error) {
			return &ACLPolicyCommand{Meta: meta}, nil
		},
		"acl policy apply": func() (cli.Command, error) {
			return &ACLPolicyApplyCommand{Meta: meta}, nil
		},
		"acl policy delete": func() (cli.Command, error) {
			return &ACLPolicyDeleteCommand{Meta: meta}, nil
		},
		"acl policy info": func() (cli.Command, error) {
			return &ACLPolicyInfoCommand{Meta: meta}, nil
		},
		"acl policy list": func() (cli.Command, error) {
			return &ACLPolicyListCommand{Meta: meta}, nil
		},
		"acl token": func() (cli.Command, error) {
			return &ACLTokenCommand{Meta: meta}, nil
		},
		"acl token create": func() (cli.Command, error) {
			return &ACLTokenCreateCommand{Meta: meta}, nil
		},
		"acl token delete": func() (cli.Command, error) {
			return &ACLTokenDeleteCommand{Meta: meta}, nil
		},
		"acl token info": func() (cli.Command, error) {
			return &ACLTokenInfoCommand{Meta: meta}, nil
		},
		"acl token list": func() (cli.Command, error) {
			return &ACLTokenListCommand{Meta: meta}, nil
		},
		"acl token self": func() (cli.Command, error) {
			return &ACLTokenSelfCommand{Meta: meta}, nil
		},
		"acl token update": func() (cli.Command, error) {
			return &ACLTokenUpdateCommand{Meta: meta}, nil
		},
		"agent": func() (cli.Command, error) {
			return NewAgentCommand(ui), nil
		},
		"agent reload": func() (cli.Command, error) {
			return &AgentReloadCommand{Meta: meta}, nil
		},
		"agent validate": func() (cli.Command, error) {
			return &AgentValidateCommand{Ui: ui}, nil
		},
		"agent-info": func() (cli.Command, error) {
			return &AgentInfoCommand{Meta: meta}, nil
		},
		"logs": func() (cli.Command, error) {
			return &LogsCommand{Meta: meta}, nil
		},
		"integrations": func() (cli.Command, error) {
			return &IntegrationsCommand{Meta: meta}, nil
		},
		"config": func() (cli.Command, error) {
			return &ConfigCommand{Meta: meta}, nil
		},
		"config delete": func() (cli.Command, error) {
			return &ConfigDeleteCommand{Meta: meta}, nil
		},
		"config get": func() (cli.Command, error) {
			return &ConfigGetCommand{Meta: meta}, nil
		},
		"config list": func() (cli.Command, error) {
			return &ConfigListCommand{Meta: meta}, nil
		},
		"config put": func() (cli.Command, error) {
			return &ConfigPutCommand{Meta: meta}, nil
		},
		"config revisions": func() (cli.Command, error) {
			return &ConfigRevisionsCommand{Meta: meta}, nil
		},
		"config status": func() (cli.Command, error) {
			return &ConfigStatusCommand{Meta: meta}, nil
		},
		"config sync": func() (cli.Command, error) {
			return &ConfigSyncCommand{Meta: meta}, nil
		},
		"collector": func() (cli.Command, error) {
			return &CollectorCommand{Meta: meta}, nil
		},
		"collector list": func() (cli.Command, error) {
			return &CollectorListCommand{Meta: meta}, nil
		},
		"collector status": func() (cli.Command, error) {
			return &CollectorStatusCommand{Meta: meta}, nil
		},
		"assistant": func() (cli.Command, error) {
			return &AssistantCommand{Meta: meta}, nil
		},
		"assistant ask": func() (cli.Command, error) {
			return &AssistantAskCommand{Meta: meta}, nil
		},
		"assistant chats": func() (cli.Command, error) {
			return &AssistantChatsCommand{Meta: meta}, nil
		},
		"assistant confirm": func() (cli.Command, error) {
			return &AssistantConfirmCommand{Meta: meta}, nil
		},
		"assistant show": func() (cli.Command, error) {
			return &AssistantShowCommand{Meta: meta}, nil
		},
		"metrics": func() (cli.Command, error) {
			return &MetricsCommand{Meta: meta}, nil
		},
		"metrics query": func() (cli.Command, error) {
			return &MetricsQueryCommand{Meta: meta}, nil
		},
		"monitor": func() (cli.Command, error) {
			return &MonitorCommand{Meta: meta}, nil
		},
		"node": func() (cli.Command, error) {
			return &NodeCommand{Meta: meta}, nil
		},
		"node metrics": func() (cli.Command, error) {
			return &NodeMetricsCommand{Meta: meta}, nil
		},
		"node status": func() (cli.Command, error) {
			return &NodeStatusCommand{Meta: meta}, nil
		},
		"node token": func() (cli.Command, error) {
			return &NodeTokenCommand{Meta: meta}, nil
		},
		"node token create": func() (cli.Command, error) {
			return &NodeTokenCreateCommand{Meta: meta}, nil
		},
		"operator": func() (cli.Command, error) {
			return &OperatorCommand{Meta: meta}, nil
		},
		"tls": func() (cli.Command, error) {
			return &TLSCommand{Meta: meta}, nil
		},
		"tls ca": func() (cli.Command, error) {
			return &TLSCACommand{Meta: meta}, nil
		},
		"tls ca create": func() (cli.Command, error) {
			return &TLSCACreateCommand{Meta: meta}, nil
		},
		"tls cert": func() (cli.Command, error) {
			return &TLSCertCommand{Meta: meta}, nil
		},
		"tls cert create": func() (cli.Command, error) {
			return &TLSCertCreateCommand{Meta: meta}, nil
		},
		"operator debug": func() (cli.Command, error) {
			return &OperatorDebugCommand{Meta: meta}, nil
		},
		"operator gossip": func() (cli.Command, error) {
			return &OperatorGossipCommand{Meta: meta}, nil
		},
		"operator gossip keygen": func() (cli.Command, error) {
			return &OperatorGossipKeygenCommand{Meta: meta}, nil
		},
		"operator host": func() (cli.Command, error) {
			return &OperatorHostCommand{Meta: meta}, nil
		},
		"operator metrics": func() (cli.Command, error) {
			return &OperatorMetricsCommand{Meta: meta}, nil
		},
		"operator pprof": func() (cli.Command, error) {
			return &OperatorPprofCommand{Meta: meta}, nil
		},
		"operator raft": func() (cli.Command, error) {
			return &OperatorRaftCommand{Meta: meta}, nil
		},
		"operator raft list-peers": func() (cli.Command, error) {
			return &OperatorRaftListCommand{Meta: meta}, nil
		},
		"operator raft remove-peer": func() (cli.Command, error) {
			return &OperatorRaftRemoveCommand{Meta: meta}, nil
		},
		"operator snapshot": func() (cli.Command, error) {
			return &OperatorSnapshotCommand{Meta: meta}, nil
		},
		"operator snapshot save": func() (cli.Command, error) {
			return &OperatorSnapshotSaveCommand{Meta: meta}, nil
		},
		"operator snapshot restore": func() (cli.Command, error) {
			return &OperatorSnapshotRestoreCommand{Meta: meta}, nil
		},
		"operator snapshot inspect": func() (cli.Command, error) {
			return &OperatorSnapshotInspectCommand{Meta: meta}, nil
		},
		"pipeline": func() (cli.Command, error) {
			return &PipelineCommand{Meta: meta}, nil
		},
		"pipeline create": func() (cli.Command, error) {
			return &PipelineCreateCommand{Meta: meta}, nil
		},
		"pipeline delete": func() (cli.Command, error) {
			return &PipelineDeleteCommand{Meta: meta}, nil
		},
		"pipeline get": func() (cli.Command, error) {
			return &PipelineGetCommand{Meta: meta}, nil
		},
		"pipeline list": func() (cli.Command, error) {
			return &PipelineListCommand{Meta: meta}, nil
		},
		"pipeline revision": func() (cli.Command, error) {
			return &PipelineRevisionCommand{Meta: meta}, nil
		},
		"pipeline revisions": func() (cli.Command, error) {
			return &PipelineRevisionsCommand{Meta: meta}, nil
		},
		"pipeline update": func() (cli.Command, error) {
			return &PipelineUpdateCommand{Meta: meta}, nil
		},
		"pipeline upsert": func() (cli.Command, error) {
			return &PipelineUpsertCommand{Meta: meta}, nil
		},
		"server": func() (cli.Command, error) {
			return &ServerCommand{Meta: meta}, nil
		},
		"server force-leave": func() (cli.Command, error) {
			return &ServerForceLeaveCommand{Meta: meta}, nil
		},
		"server join": func() (cli.Command, error) {
			return &ServerJoinCommand{Meta: meta}, nil
		},
		"server members": func() (cli.Command, error) {
			return &ServerMembersCommand{Meta: meta}, nil
		},
		"server schedulers": func() (cli.Command, error) {
			return &ServerSchedulersCommand{Meta: meta}, nil
		},
		"version": func() (cli.Command, error) {
			return &VersionCommand{Ui: ui}, nil
		},
	}
}
