package command

import (
	"fmt"
	"io"
	"os"

	"github.com/nomadlike/nomadlike/api"
)

// ACLPolicyApplyCommand creates or replaces an ACL policy from a file.
type ACLPolicyApplyCommand struct {
	Meta

	// stdin is read for the path "-"; nil means os.Stdin.
	stdin io.Reader
}

// Name returns the words that invoke the command.
func (c *ACLPolicyApplyCommand) Name() string { return "acl policy apply" }

// Synopsis returns the one-line summary of the command.
func (c *ACLPolicyApplyCommand) Synopsis() string { return "Create or update an ACL policy" }

// Help returns the command's usage text.
func (c *ACLPolicyApplyCommand) Help() string {
	return `Usage: nomadlike acl policy apply [options] <name> <path>

  Creates the ACL policy <name>, or replaces it, with the rules (HCL or
  JSON) read from the file <path>, or from stdin when <path> is "-".
  Requires a management token.

` + generalOptionsUsage() + `

Apply Options:

  -description=<text>
    A description of the policy for operators. Replaces the stored one,
    so an update without -description clears it.`
}

// Run runs the command.
func (c *ACLPolicyApplyCommand) Run(args []string) int {
	var description string
	fs := c.FlagSet(c.Name())
	fs.StringVar(&description, "description", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 2 {
		return c.usageError(c.Help(), "This command takes two arguments: <name> and <path>")
	}
	name, path := fs.Arg(0), fs.Arg(1)
	if name == "" {
		return c.usageError(c.Help(), "The policy name must not be empty")
	}

	rules, err := c.readRules(path)
	if err != nil {
		return c.errorf("reading policy rules", err)
	}

	client, err := c.Client()
	if err != nil {
		return c.errorf("initializing client", err)
	}
	p := &api.ACLPolicy{Name: name, Description: description, Rules: rules}
	if _, err := client.ACLPolicies().Upsert(p, nil); err != nil {
		return c.errorf("writing ACL policy", err)
	}
	c.Ui.Output(fmt.Sprintf("Successfully wrote %q ACL policy!", name))
	return 0
}

// readRules returns the contents of path, or of stdin for "-".
func (c *ACLPolicyApplyCommand) readRules(path string) (string, error) {
	if path != "-" {
		b, err := os.ReadFile(path)
		return string(b), err
	}
	in := c.stdin
	if in == nil {
		in = os.Stdin
	}
	b, err := io.ReadAll(in)
	return string(b), err
}
