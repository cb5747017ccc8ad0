package command

import "fmt"

// ACLPolicyDeleteCommand deletes an ACL policy.
type ACLPolicyDeleteCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLPolicyDeleteCommand) Name() string { return "acl policy delete" }

// Synopsis returns the one-line summary of the command.
func (c *ACLPolicyDeleteCommand) Synopsis() string { return "Delete an existing ACL policy" }

// Help returns the command's usage text.
func (c *ACLPolicyDeleteCommand) Help() string {
	return `Usage: nomadlike acl policy delete [options] <name>

  Deletes the ACL policy <name>. Tokens that name it keep the name but no
  longer get its rules. Requires a management token.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *ACLPolicyDeleteCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <name>")
	}
	name := fs.Arg(0)

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	if _, err := client.ACLPolicies().Delete(name, nil); err != nil {
		return c.errorf("deleting ACL policy", err)
	}
	c.Ui.Output(fmt.Sprintf("Successfully deleted %q ACL policy!", name))
	return 0
}
