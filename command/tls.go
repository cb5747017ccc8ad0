package command

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/hashicorp/cli"
)

// TLSCommand is the parent of the tls subcommands; it prints help.
type TLSCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *TLSCommand) Name() string { return "tls" }

// Synopsis returns the one-line summary of the command.
func (c *TLSCommand) Synopsis() string { return "Generate self-signed TLS certificates for nomadlike" }

// Help returns the command's usage text.
func (c *TLSCommand) Help() string {
	return `Usage: nomadlike tls <subcommand> [options]

  Makes a private CA and the certificates of servers, clients and the CLI,
  as "nomad tls" does, without openssl. Files are written to the working
  directory and never overwritten.

      $ nomadlike tls ca create
      $ nomadlike tls cert create -server -region global
      $ nomadlike tls cert create -client
      $ nomadlike tls cert create -cli

  Please see the individual subcommand help for detailed usage information.`
}

// Run prints the help.
func (c *TLSCommand) Run(_ []string) int { return cli.RunResultHelp }

// TLSCACommand is the parent of "tls ca".
type TLSCACommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *TLSCACommand) Name() string { return "tls ca" }

// Synopsis returns the one-line summary of the command.
func (c *TLSCACommand) Synopsis() string { return "Helpers for managing certificate authorities" }

// Help returns the command's usage text.
func (c *TLSCACommand) Help() string {
	return `Usage: nomadlike tls ca <subcommand> [options]

  Create a CA for the cluster's certificates:

      $ nomadlike tls ca create`
}

// Run prints the help.
func (c *TLSCACommand) Run(_ []string) int { return cli.RunResultHelp }

// TLSCertCommand is the parent of "tls cert".
type TLSCertCommand struct {
	Meta
}

// Name returns the words that invoke the command.
func (c *TLSCertCommand) Name() string { return "tls cert" }

// Synopsis returns the one-line summary of the command.
func (c *TLSCertCommand) Synopsis() string { return "Helpers for managing certificates" }

// Help returns the command's usage text.
func (c *TLSCertCommand) Help() string {
	return `Usage: nomadlike tls cert <subcommand> [options]

  Create a certificate signed by the CA of the working directory:

      $ nomadlike tls cert create -server`
}

// Run prints the help.
func (c *TLSCertCommand) Run(_ []string) int { return cli.RunResultHelp }

// writeNew writes files (name → contents) only if none of them exists, so
// a second run never replaces a CA or key in use. Keys are 0600.
func writeNew(files [][2]string) error {
	var exist []string
	for _, f := range files {
		if _, err := os.Stat(f[0]); err == nil {
			exist = append(exist, f[0])
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if len(exist) > 0 {
		return fmt.Errorf("%s already exists; refusing to overwrite", strings.Join(exist, ", "))
	}
	for _, f := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f[0], "-key.pem") {
			mode = 0o600
		}
		// O_EXCL: a file created since the check above is not replaced.
		fh, err := os.OpenFile(f[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		if _, err := fh.WriteString(f[1]); err != nil {
			fh.Close()
			return err
		}
		if err := fh.Close(); err != nil {
			return err
		}
	}
	return nil
}
