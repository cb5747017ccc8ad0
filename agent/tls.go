package agent

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// TLSConfig is the tls{} block, with Nomad's names and meanings.
type TLSConfig struct {
	// EnableHTTP serves the HTTP API over HTTPS only.
	EnableHTTP *bool `hcl:"http,optional"`
	// EnableRPC runs RPC and raft over TLS; plain connections are refused.
	EnableRPC *bool `hcl:"rpc,optional"`
	// CAFile, CertFile and KeyFile are PEM files (`nomadlike tls`).
	CAFile   *string `hcl:"ca_file,optional"`
	CertFile *string `hcl:"cert_file,optional"`
	KeyFile  *string `hcl:"key_file,optional"`
	// VerifyServerHostname checks server.<region>.nomadlike on servers'
	// certificates, so that a client certificate cannot act as a server.
	VerifyServerHostname *bool `hcl:"verify_server_hostname,optional"`
	// VerifyHTTPSClient requires HTTPS callers to present a certificate
	// of the CA.
	VerifyHTTPSClient *bool `hcl:"verify_https_client,optional"`
	// TLSMinVersion is "tls12" or "tls13".
	TLSMinVersion *string `hcl:"tls_min_version,optional"`
}

// tlsConfigurator loads the tls{} files; nil when neither HTTP nor RPC
// TLS is on.
func (c *Config) tlsConfigurator() (*tlsutil.Configurator, error) {
	t := c.TLS
	if !*t.EnableHTTP && !*t.EnableRPC {
		return nil, nil
	}
	return tlsutil.NewConfigurator(tlsutil.Config{
		EnableHTTP: *t.EnableHTTP, EnableRPC: *t.EnableRPC,
		CAFile: *t.CAFile, CertFile: *t.CertFile, KeyFile: *t.KeyFile,
		VerifyServerHostname: *t.VerifyServerHostname, VerifyHTTPSClient: *t.VerifyHTTPSClient,
		MinVersion: *t.TLSMinVersion, Region: *c.Region,
	})
}

// validateTLS loads the files now, so that a missing or mismatched file
// fails the start with its name rather than every later handshake.
func (c *Config) validateTLS(add func(string, ...any)) {
	if _, err := tlsutil.ParseMinVersion(*c.TLS.TLSMinVersion); err != nil {
		add("tls.%v", err)
		return
	}
	if _, err := c.tlsConfigurator(); err != nil {
		add("tls: %v", err)
	}
}

// setupTLS loads the tls{} files once for the whole agent: the HTTPS
// listener, the server's RPC and raft, and the client's dialer share one
// configurator, so that a reload's new certificate reaches all of them.
func (a *Agent) setupTLS() error {
	t, err := a.config.tlsConfigurator()
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	a.tls = t
	return nil
}

// rpcTLS is the configurator for RPC and raft, nil when RPC TLS is off.
func (a *Agent) rpcTLS() *tlsutil.Configurator {
	if !*a.config.TLS.EnableRPC {
		return nil
	}
	return a.tls
}

// tlsListener wraps the HTTP listener in TLS when tls.http is on. Go's
// server answers a plain HTTP request on it with 400 "Client sent an HTTP
// request to an HTTPS server", as Nomad's does.
func (a *Agent) tlsListener(ln net.Listener) net.Listener {
	if !*a.config.TLS.EnableHTTP {
		return ln
	}
	return tls.NewListener(ln, a.tls.IncomingHTTP())
}

// reloadTLS reads the certificate, key and CA of next's tls{} block again
// (a rotated certificate is usually rewritten under the same paths), for
// the handshakes from now on. Turning TLS on or off, or changing what is
// verified, needs a restart.
func (a *Agent) reloadTLS(next *Config) error {
	if a.tls == nil {
		return nil
	}
	t := next.TLS
	return a.tls.Reload(*t.CAFile, *t.CertFile, *t.KeyFile)
}

// tlsSelf is the tls{} block in /v1/agent/self, with Nomad's TLSConfig
// field names (paths only: nothing secret).
func (c *Config) tlsSelf() map[string]any {
	t := c.TLS
	return map[string]any{
		"EnableHTTP": *t.EnableHTTP, "EnableRPC": *t.EnableRPC,
		"CAFile": *t.CAFile, "CertFile": *t.CertFile, "KeyFile": *t.KeyFile,
		"VerifyServerHostname": *t.VerifyServerHostname, "VerifyHTTPSClient": *t.VerifyHTTPSClient,
		"TLSMinVersion": *t.TLSMinVersion,
	}
}
