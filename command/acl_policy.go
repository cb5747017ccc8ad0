package command

import "github.com/hashicorp/cli"

// ACLPolicyCommand is the parent of the acl policy subcommands; it prints
// help.
type ACLPolicyCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLPolicyCommand) Name() string { return "acl policy" }

// Synopsis returns the one-line summary of the command.
func (c *ACLPolicyCommand) Synopsis() string { return "Interact with ACL policies" }

// Help returns the command's usage text.
func (c *ACLPolicyCommand) Help() string {
	return `Usage: nomadlike acl policy <subcommand> [options] [args]

  This command groups subcommands for ACL policies: named sets of rules,
  written in HCL or JSON, that client tokens grant. Writing, listing and
  deleting policies needs a management token.

  Write a policy from a file:

      $ nomadlike acl policy apply -description="Read only" readonly readonly.hcl

  List the policies:

      $ nomadlike acl policy list

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *ACLPolicyCommand) Run(_ []string) int { return cli.RunResultHelp }
