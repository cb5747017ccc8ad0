package command

// ACLPolicyListCommand lists the ACL policies.
type ACLPolicyListCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLPolicyListCommand) Name() string { return "acl policy list" }

// Synopsis returns the one-line summary of the command.
func (c *ACLPolicyListCommand) Synopsis() string { return "List ACL policies" }

// Help returns the command's usage text.
func (c *ACLPolicyListCommand) Help() string {
	return `Usage: nomadlike acl policy list [options]

  Lists the ACL policies by name and description. Requires a management
  token.

` + generalOptionsUsage()
}

// Run runs the command.
func (c *ACLPolicyListCommand) Run(args []string) int {
	fs := c.FlagSet(c.Name())
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	policies, _, err := client.ACLPolicies().List(nil)
	if err != nil {
		return c.errorf("listing ACL policies", err)
	}
	if c.json {
		return c.outputJSON(policies)
	}
	if len(policies) == 0 {
		c.Ui.Output("No policies found")
		return 0
	}
	rows := make([][]string, 0, len(policies))
	for _, p := range policies {
		rows = append(rows, []string{p.Name, p.Description})
	}
	c.Ui.Output(formatTable([]string{"Name", "Description"}, rows))
	return 0
}
