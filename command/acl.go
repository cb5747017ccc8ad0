package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/api"
)

// ACLCommand is the parent of the acl subcommands; it prints help.
type ACLCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *ACLCommand) Name() string { return "acl" }

// Synopsis returns the one-line summary of the command.
func (c *ACLCommand) Synopsis() string { return "Interact with ACL policies and tokens" }

// Help returns the command's usage text.
func (c *ACLCommand) Help() string {
	return `Usage: nomadlike acl <subcommand> [options] [args]

  This command groups subcommands for the ACL system: bootstrapping it,
  writing the policies that grant access and issuing the tokens that carry
  those policies.

  Bootstrap ACLs and get the first management token:

      $ nomadlike acl bootstrap

  Write a policy and issue a token for it:

      $ nomadlike acl policy apply readonly readonly.hcl
      $ nomadlike acl token create -name=ci -policy=readonly

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *ACLCommand) Run(_ []string) int { return cli.RunResultHelp }

// stringSliceFlag is a flag that may be given several times, each value
// appended in order.
type stringSliceFlag []string

// String returns the values joined by commas.
func (s *stringSliceFlag) String() string { return strings.Join(*s, ",") }

// Set appends one value.
func (s *stringSliceFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// checkTokenShape returns why a token of type typ with policies would be
// refused, or "" if it would not: the type must be client or management,
// a client token needs a policy and a management token takes none.
func checkTokenShape(typ string, policies []string) string {
	switch typ {
	case api.ACLClientToken:
		if len(policies) == 0 {
			return "Client tokens require at least one policy: give -policy=<name>"
		}
	case api.ACLManagementToken:
		if len(policies) != 0 {
			return "Management tokens cannot have policies: they are allowed everything"
		}
	default:
		return fmt.Sprintf("Invalid token type %q: must be %q or %q", typ, api.ACLClientToken, api.ACLManagementToken)
	}
	return ""
}

// formatACLToken renders a token in Nomad's key/value form. A management
// token's policies show as "n/a", since it is allowed everything anyway.
func formatACLToken(t *api.ACLToken) string {
	policies := "n/a"
	if t.Type != api.ACLManagementToken {
		policies = fmt.Sprintf("%v", t.Policies)
	}
	return formatKV([][2]string{
		{"Accessor ID", t.AccessorID},
		{"Secret ID", t.SecretID},
		{"Name", t.Name},
		{"Type", t.Type},
		{"Global", fmt.Sprintf("%t", t.Global)},
		{"Policies", policies},
		{"Create Time", t.CreateTime.String()},
		{"Expiry Time", expiryTimeString(t.ExpirationTime)},
		{"Create Index", fmt.Sprintf("%d", t.CreateIndex)},
		{"Modify Index", fmt.Sprintf("%d", t.ModifyIndex)},
	})
}

// expiryTimeString renders an optional expiry, "<none>" when unset.
func expiryTimeString(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return t.String()
}

// formatACLPolicy renders a policy: its fields as key/value pairs, then
// the rules, which may be long, last.
func formatACLPolicy(p *api.ACLPolicy) string {
	kv := formatKV([][2]string{
		{"Name", p.Name},
		{"Description", p.Description},
		{"CreateIndex", fmt.Sprintf("%d", p.CreateIndex)},
		{"ModifyIndex", fmt.Sprintf("%d", p.ModifyIndex)},
	})
	return kv + "\n\nRules\n\n" + strings.TrimRight(p.Rules, "\n")
}
