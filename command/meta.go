package command

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/hashicorp/cli"

	"github.com/nomadlike/nomadlike/api"
)

// Meta is embedded in every command that talks to an agent. It holds the
// UI and the flags every such command shares: -address, -token and -json.
type Meta struct {
	// Ui is where the command writes its output (stdout) and errors
	// (stderr).
	Ui cli.Ui

	address string
	token   string
	json    bool
	// tls holds -ca-cert, -client-cert, -client-key, -tls-server-name and
	// -tls-skip-verify, defaulting to their NOMADLIKE_* variables.
	tls api.TLSConfig
}

// FlagSet returns a flag set for the named command with the shared flags
// registered. Parse errors are returned, not printed; commands report them
// with usageError.
func (m *Meta) FlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&m.address, "address", os.Getenv(api.AddressEnv), "")
	fs.StringVar(&m.token, "token", os.Getenv(api.TokenEnv), "")
	fs.BoolVar(&m.json, "json", false, "")
	env := api.DefaultConfig().TLSConfig
	fs.StringVar(&m.tls.CACert, "ca-cert", env.CACert, "")
	fs.StringVar(&m.tls.ClientCert, "client-cert", env.ClientCert, "")
	fs.StringVar(&m.tls.ClientKey, "client-key", env.ClientKey, "")
	fs.StringVar(&m.tls.TLSServerName, "tls-server-name", env.TLSServerName, "")
	fs.BoolVar(&m.tls.Insecure, "tls-skip-verify", env.Insecure, "")
	return fs
}

// Client returns an api client for the agent named by -address, using the
// token given by -token.
func (m *Meta) Client() (*api.Client, error) {
	cfg := api.DefaultConfig()
	if m.address != "" {
		cfg.Address = m.address
	}
	if m.token != "" {
		cfg.Token = m.token
	}
	tlsCfg := m.tls
	cfg.TLSConfig = &tlsCfg
	return api.NewClient(cfg)
}

// parseFlags parses args into fs. On failure it prints the error and the
// help text to stderr and returns false.
func (m *Meta) parseFlags(fs *flag.FlagSet, args []string, help string) bool {
	if err := fs.Parse(flagsFirst(fs, args)); err != nil {
		m.usageError(help, fmt.Sprintf("Error parsing arguments: %s", err))
		return false
	}
	return true
}

// usageError prints msg and the help text to stderr and returns exit code 1.
func (m *Meta) usageError(help, msg string) int {
	m.Ui.Error(msg)
	m.Ui.Error("")
	m.Ui.Error(strings.TrimSpace(help))
	return 1
}

// flagsFirst moves the flags of args in front of the positional
// arguments, so that `pipeline update 2 -enabled=false` means what it
// says: Go's flag package stops at the first argument that is not a flag.
// A flag that takes a value keeps the argument after it (unless written
// -flag=value); "--" ends the flags, and everything after it stays
// positional, as it is.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return append(flags, positional...)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// errorf prints "Error <doing>: <err>" to stderr and returns exit code 1.
// An answer that is not HTTP at all (the address names the RPC or gossip
// port) gets a line saying so, instead of a bare "EOF" or "connection
// reset".
func (m *Meta) errorf(doing string, err error) int {
	m.Ui.Error(fmt.Sprintf("Error %s: %s", doing, err))
	if notHTTP(err) {
		addr := m.address
		if addr == "" {
			addr = api.DefaultConfig().Address
		}
		m.Ui.Error(fmt.Sprintf("%s did not answer as an HTTP API: is it nomadlike's HTTP port? That is 4646 by default "+
			"(4647 is RPC, 4648 gossip); set -address or %s.", addr, api.AddressEnv))
	}
	return 1
}

// notHTTP tells whether err is what an HTTP client gets from a port that
// does not speak HTTP: an empty or garbled answer, or a reset.
func notHTTP(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	return strings.Contains(err.Error(), "malformed HTTP")
}

// outputJSON prints v as JSON indented by four spaces and returns the exit
// code.
func (m *Meta) outputJSON(v any) int {
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return m.errorf("formatting JSON", err)
	}
	m.Ui.Output(string(b))
	return 0
}

// generalOptionsUsage is the help text of the shared flags.
func generalOptionsUsage() string {
	return `General Options:

  -address=<addr>
    The address of the nomadlike agent. Overrides the NOMADLIKE_ADDR
    environment variable. Default = http://127.0.0.1:4646

  -token=<token>
    The ACL token (secret ID) to send. Overrides the NOMADLIKE_TOKEN
    environment variable.

  -json
    Print the API response as indented JSON instead of formatted text.

  -ca-cert=<path>
    CA certificate (PEM) to verify the agent's HTTPS certificate with.
    Overrides the NOMADLIKE_CACERT environment variable.

  -client-cert=<path>
  -client-key=<path>
    Certificate and key to present to an agent with verify_https_client.
    Override NOMADLIKE_CLIENT_CERT and NOMADLIKE_CLIENT_KEY.

  -tls-server-name=<name>
    Name to expect on the agent's certificate instead of the address's
    host. Overrides NOMADLIKE_TLS_SERVER_NAME.

  -tls-skip-verify
    Do not verify the agent's certificate (not recommended). Overrides
    NOMADLIKE_SKIP_VERIFY.`
}

// formatTable lays out a header and rows in aligned columns.
func formatTable(header []string, rows [][]string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	return trimLines(b.String())
}

// formatKV lays out key/value pairs as "key = value" with the "=" signs
// aligned.
func formatKV(pairs [][2]string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 8, 1, ' ', 0)
	for _, p := range pairs {
		fmt.Fprintf(tw, "%s\t= %s\n", p[0], p[1])
	}
	tw.Flush()
	return trimLines(b.String())
}

// trimLines removes the trailing spaces tabwriter leaves and the final
// newline, which Ui.Output adds back.
func trimLines(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// shortID returns the first 8 characters of a UUID unless verbose.
func shortID(id string, verbose bool) string {
	if verbose || len(id) <= 8 {
		return id
	}
	return id[:8]
}
