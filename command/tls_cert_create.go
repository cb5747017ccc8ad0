package command

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// TLSCertCreateCommand writes a server, client or CLI certificate signed
// by the CA.
type TLSCertCreateCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *TLSCertCreateCommand) Name() string { return "tls cert create" }

// Synopsis returns the one-line summary of the command.
func (c *TLSCertCreateCommand) Synopsis() string { return "Create a new certificate" }

// Help returns the command's usage text.
func (c *TLSCertCreateCommand) Help() string {
	return `Usage: nomadlike tls cert create -server|-client|-cli [options]

  Writes a certificate and key (ECDSA P-256) signed by the CA to
  <region>-<role>-nomadlike.pem and <region>-<role>-nomadlike-key.pem in the
  working directory; existing files are never overwritten.

  Servers get the names server.<region>.nomadlike and localhost and the
  address 127.0.0.1; clients get client.<region>.nomadlike, localhost and
  127.0.0.1; the CLI gets cli.<region>.nomadlike and localhost. With
  verify_server_hostname only a server certificate can act as a server.

Options:

  -server, -client, -cli
    The kind of certificate (exactly one).

  -region=<name>
    The region the certificate is for. Default = global.

  -additional-dnsname=<name>
    A further DNS name; may be repeated.

  -additional-ipaddress=<ip>
    A further IP address; may be repeated.

  -ca=<path>, -key=<path>
    The CA's certificate and key. Default = ` + caCertFile + ` and
    ` + caKeyFile + `.

  -days=<int>
    How long the certificate is valid. Default = 365.`
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Run runs the command.
func (c *TLSCertCreateCommand) Run(args []string) int {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	server := fs.Bool("server", false, "")
	client := fs.Bool("client", false, "")
	cli := fs.Bool("cli", false, "")
	region := fs.String("region", "global", "")
	caPath := fs.String("ca", caCertFile, "")
	keyPath := fs.String("key", caKeyFile, "")
	days := fs.Int("days", 365, "")
	var dns, ips stringList
	fs.Var(&dns, "additional-dnsname", "")
	fs.Var(&ips, "additional-ipaddress", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	var roles []string
	for role, set := range map[string]bool{tlsutil.RoleServer: *server, tlsutil.RoleClient: *client, tlsutil.RoleCLI: *cli} {
		if set {
			roles = append(roles, role)
		}
	}
	if len(roles) != 1 {
		return c.usageError(c.Help(), "Exactly one of -server, -client or -cli is required")
	}
	if *region == "" || strings.ContainsAny(*region, ". ") {
		return c.usageError(c.Help(), fmt.Sprintf("-region %q must be non-empty without dots or spaces", *region))
	}
	if *days < 1 {
		return c.usageError(c.Help(), "-days must be 1 or more")
	}
	caCert, err := os.ReadFile(*caPath)
	if err != nil {
		return c.errorf("reading CA certificate", err)
	}
	caKey, err := os.ReadFile(*keyPath)
	if err != nil {
		return c.errorf("reading CA key", err)
	}
	cert, key, err := tlsutil.GenerateCert(tlsutil.CertOptions{
		Role: roles[0], Region: *region, Days: *days, AdditionalDNSNames: dns, AdditionalIPs: ips,
	}, caCert, caKey)
	if err != nil {
		return c.errorf("generating certificate", err)
	}
	base := fmt.Sprintf("%s-%s-nomadlike", *region, roles[0])
	if err := writeNew([][2]string{{base + ".pem", string(cert)}, {base + "-key.pem", string(key)}}); err != nil {
		return c.errorf("writing certificate", err)
	}
	c.Ui.Output("==> Using CA file " + *caPath + " and CA key " + *keyPath)
	c.Ui.Output("==> Certificate saved to: " + base + ".pem")
	c.Ui.Output("==> Certificate key saved to: " + base + "-key.pem")
	return 0
}
