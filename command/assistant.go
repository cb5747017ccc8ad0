package command

import "github.com/hashicorp/cli"

// AssistantCommand is the parent of the assistant subcommands; it prints
// help.
type AssistantCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *AssistantCommand) Name() string { return "assistant" }

// Synopsis returns the one-line summary of the command.
func (c *AssistantCommand) Synopsis() string { return "Ask the ops assistant about the fleet" }

// Help returns the command's usage text.
func (c *AssistantCommand) Help() string {
	return `Usage: nomadlike assistant <subcommand> [options] [args]

  The ops assistant answers questions about the cluster in plain words,
  from live state, with your token: it never shows what the token may not
  see, and it only proposes changes, which run when you confirm them.

  Ask a question and watch the answer being written:

      $ nomadlike assistant ask "which nodes are down?"

  Continue a chat, list your chats, show one, confirm a proposed change:

      $ nomadlike assistant ask -chat <id> "why doesn't web-1 get pipeline 2?"
      $ nomadlike assistant chats
      $ nomadlike assistant show <id>
      $ nomadlike assistant confirm <chat-id> <request-id>

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *AssistantCommand) Run(_ []string) int { return cli.RunResultHelp }
