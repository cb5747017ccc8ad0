package command

import "github.com/hashicorp/cli"

// ACLTokenCommand is the parent of the acl token subcommands; it prints
// help.
type ACLTokenCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLTokenCommand) Name() string { return "acl token" }

// Synopsis returns the one-line summary of the command.
func (c *ACLTokenCommand) Synopsis() string { return "Interact with ACL tokens" }

// Help returns the command's usage text.
func (c *ACLTokenCommand) Help() string {
	return `Usage: nomadlike acl token <subcommand> [options] [args]

  This command groups subcommands for ACL tokens. A token has a public
  accessor ID, which names it, and a secret ID, which is the credential
  given with -token or NOMADLIKE_TOKEN. A client token is allowed what its
  policies grant; a management token is allowed everything.

  Create a client token:

      $ nomadlike acl token create -name=ci -policy=readonly -ttl=24h

  Show the token in use:

      $ nomadlike acl token self

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *ACLTokenCommand) Run(_ []string) int { return cli.RunResultHelp }
