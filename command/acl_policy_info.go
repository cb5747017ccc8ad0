package command

// ACLPolicyInfoCommand shows one ACL policy with its rules.
type ACLPolicyInfoCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLPolicyInfoCommand) Name() string { return "acl policy info" }

// Synopsis returns the one-line summary of the command.
func (c *ACLPolicyInfoCommand) Synopsis() string { return "Fetch info on an existing ACL policy" }

// Help returns the command's usage text.
func (c *ACLPolicyInfoCommand) Help() string {
	return `Usage: nomadlike acl policy info [options] <name>

  Shows the ACL policy <name>: its description, its Raft indexes and its
  rules. Requires a management token.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *ACLPolicyInfoCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		return c.usageError(c.Help(), "This command takes one argument: <name>")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	policy, _, err := client.ACLPolicies().Info(fs.Arg(0), nil)
	if err != nil {
		return c.errorf("fetching ACL policy", err)
	}
	if c.json {
		return c.outputJSON(policy)
	}
	c.Ui.Output(formatACLPolicy(policy))
	return 0
}
