package command

import (
	"flag"
	"io"

	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// Names of the CA files, as `nomad tls ca create` names its own.
const (
	caCertFile = "nomadlike-agent-ca.pem"
	caKeyFile  = "nomadlike-agent-ca-key.pem"
)

// TLSCACreateCommand writes a new CA into the working directory.
type TLSCACreateCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *TLSCACreateCommand) Name() string { return "tls ca create" }

// Synopsis returns the one-line summary of the command.
func (c *TLSCACreateCommand) Synopsis() string { return "Create a certificate authority for nomadlike" }

// Help returns the command's usage text.
func (c *TLSCACreateCommand) Help() string {
	return `Usage: nomadlike tls ca create [options]

  Writes a new self-signed CA (ECDSA P-256) to ` + caCertFile + ` and
  ` + caKeyFile + ` in the working directory. Existing files are never
  overwritten. Keep the key offline once the certificates are made.

Options:

  -days=<int>
    How long the CA is valid. Default = 1825 (5 years).

  -common-name=<name>
    The CA's common name. Default = "Nomadlike Agent CA".`
}

// Run runs the command.
func (c *TLSCACreateCommand) Run(args []string) int {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	days := fs.Int("days", 1825, "")
	cn := fs.String("common-name", "", "")
	if !c.parseFlags(fs, args, c.Help()) {
		return 1
	}
	if fs.NArg() != 0 {
		return c.usageError(c.Help(), "This command takes no arguments")
	}
	if *days < 1 {
		return c.usageError(c.Help(), "-days must be 1 or more")
	}
	cert, key, err := tlsutil.GenerateCA(tlsutil.CAOptions{Days: *days, CommonName: *cn})
	if err != nil {
		return c.errorf("generating CA", err)
	}
	if err := writeNew([][2]string{{caCertFile, string(cert)}, {caKeyFile, string(key)}}); err != nil {
		return c.errorf("writing CA", err)
	}
	c.Ui.Output("==> CA certificate saved to: " + caCertFile)
	c.Ui.Output("==> CA certificate key saved to: " + caKeyFile)
	return 0
}
