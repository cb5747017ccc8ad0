// Package tlsutil builds the TLS configurations of agents (Nomad's tls{}
// stanza) and makes the certificates `nomadlike tls` writes. It imports
// only the standard library, so the CLI can use it without the server.
package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// Roles a certificate can name, as `server.<region>.nomadlike`.
const (
	RoleServer = "server"
	RoleClient = "client"
	RoleCLI    = "cli"
)

// RoleName is the DNS name that marks a certificate as the role's in a
// region, such as server.global.nomadlike.
func RoleName(role, region string) string { return role + "." + region + ".nomadlike" }

// Config is the runtime form of the tls{} stanza.
type Config struct {
	// EnableHTTP serves HTTPS; EnableRPC runs RPC and raft over TLS.
	EnableHTTP bool
	EnableRPC  bool
	// CAFile, CertFile and KeyFile are PEM files: the CA that signs every
	// agent's certificate, and this agent's certificate and key.
	CAFile   string
	CertFile string
	KeyFile  string
	// VerifyServerHostname makes dialers check that the peer presents
	// server.<region>.nomadlike, and servers accept raft and server-only
	// RPCs only from such certificates.
	VerifyServerHostname bool
	// VerifyHTTPSClient requires HTTPS callers to present a certificate
	// signed by the CA.
	VerifyHTTPSClient bool
	// MinVersion is "tls12" (default) or "tls13".
	MinVersion string
	// Region names the server certificates to expect.
	Region string
}

// Configurator holds the loaded CA and key pair and hands out the
// tls.Configs of each side. It is built at start, so a bad file fails the
// start rather than the first connection; Reload swaps the CA and key
// pair later (a rotated certificate), and every handshake after it uses
// the new ones: the tls.Configs read them per connection.
type Configurator struct {
	config     Config
	minVersion uint16
	keys       atomic.Pointer[keys]
}

// keys are the files' contents, replaced as one.
type keys struct {
	caPool *x509.CertPool
	cert   tls.Certificate
}

// ParseMinVersion maps tls_min_version to crypto/tls; "" is TLS 1.2.
func ParseMinVersion(v string) (uint16, error) {
	switch v {
	case "", "tls12":
		return tls.VersionTLS12, nil
	case "tls13":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("tls_min_version %q must be \"tls12\" or \"tls13\"", v)
}

// NewConfigurator loads and checks the files of c: the CA must parse, the
// key must match the certificate, and the certificate must be signed by
// the CA (a mismatch would otherwise show up as handshake failures on
// every peer).
func NewConfigurator(c Config) (*Configurator, error) {
	minVersion, err := ParseMinVersion(c.MinVersion)
	if err != nil {
		return nil, err
	}
	k, err := loadKeys(c.CAFile, c.CertFile, c.KeyFile)
	if err != nil {
		return nil, err
	}
	if c.Region == "" {
		c.Region = "global"
	}
	cfg := &Configurator{config: c, minVersion: minVersion}
	cfg.keys.Store(k)
	return cfg, nil
}

// Reload reads the CA, certificate and key again from these files (with
// NewConfigurator's checks); on an error the configurator keeps the ones
// it has. Connections already made keep theirs.
func (c *Configurator) Reload(caFile, certFile, keyFile string) error {
	k, err := loadKeys(caFile, certFile, keyFile)
	if err != nil {
		return err
	}
	c.keys.Store(k)
	return nil
}

func loadKeys(caFile, certFile, keyFile string) (*keys, error) {
	if caFile == "" || certFile == "" || keyFile == "" {
		return nil, errors.New("ca_file, cert_file and key_file are all required when http or rpc TLS is on")
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("cert_file/key_file: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("cert_file %s: %w", certFile, err)
	}
	cert.Leaf = leaf
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("cert_file %s is not signed by ca_file %s: %w", certFile, caFile, err)
	}
	return &keys{caPool: pool, cert: cert}, nil
}

// Config returns the settings the configurator was built from.
func (c *Configurator) Config() Config { return c.config }

// ServerName is the name every server certificate of the region carries.
func (c *Configurator) ServerName() string { return RoleName(RoleServer, c.config.Region) }

// perConnection is a listener's tls.Config whose certificate and CA are
// read at each handshake, so that a Reload applies to the next one.
func (c *Configurator) perConnection(build func(k *keys) *tls.Config) *tls.Config {
	return &tls.Config{
		MinVersion: c.minVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return build(c.keys.Load()), nil
		},
	}
}

// IncomingRPC is the RPC listener's side: every caller must present a
// certificate of the CA (Nomad requires client certificates on RPC too;
// it is what keeps a host without one from registering).
func (c *Configurator) IncomingRPC() *tls.Config {
	return c.perConnection(func(k *keys) *tls.Config {
		return &tls.Config{
			Certificates: []tls.Certificate{k.cert},
			ClientCAs:    k.caPool,
			ClientAuth:   tls.RequireAndVerifyClientCert,
			MinVersion:   c.minVersion,
		}
	})
}

// IncomingHTTP is the HTTPS listener's side.
func (c *Configurator) IncomingHTTP() *tls.Config {
	return c.perConnection(func(k *keys) *tls.Config {
		cfg := &tls.Config{
			Certificates: []tls.Certificate{k.cert},
			MinVersion:   c.minVersion,
		}
		if c.config.VerifyHTTPSClient {
			cfg.ClientCAs = k.caPool
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		return cfg
	})
}

// OutgoingRPC is a dialer's side (server to server, client to server,
// raft). The chain is always checked against the CA; the name only with
// verify_server_hostname, because servers are dialled by IP and their
// certificates need not list every address.
func (c *Configurator) OutgoingRPC() *tls.Config {
	name := ""
	if c.config.VerifyServerHostname {
		name = c.ServerName()
	}
	return &tls.Config{
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &c.keys.Load().cert, nil
		},
		MinVersion: c.minVersion,
		// Verification is done below, with or without a name.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyPeer(cs, c.keys.Load().caPool, name, x509.ExtKeyUsageServerAuth)
		},
	}
}

// verifyPeer checks the peer's chain against pool and, when name is set,
// that the leaf carries it.
func verifyPeer(cs tls.ConnectionState, pool *x509.CertPool, name string, usage x509.ExtKeyUsage) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tls: peer presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, ic := range cs.PeerCertificates[1:] {
		inter.AddCert(ic)
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: pool, Intermediates: inter, DNSName: name,
		KeyUsages: []x509.ExtKeyUsage{usage}, CurrentTime: time.Now(),
	})
	return err
}

// IsServerPeer tells whether the peer of an accepted connection presented
// a server certificate of this region. The chain was verified in the
// handshake; only the name is left to check.
func (c *Configurator) IsServerPeer(cs tls.ConnectionState) bool {
	if len(cs.PeerCertificates) == 0 {
		return false
	}
	return cs.PeerCertificates[0].VerifyHostname(c.ServerName()) == nil
}

// PeerNames lists the DNS names of the peer's leaf certificate, for logs.
func PeerNames(cs tls.ConnectionState) []string {
	if len(cs.PeerCertificates) == 0 {
		return nil
	}
	return cs.PeerCertificates[0].DNSNames
}

// decodePEM returns the DER bytes of the first PEM block of type typ.
func decodePEM(buf []byte, typ string) ([]byte, error) {
	for {
		var b *pem.Block
		b, buf = pem.Decode(buf)
		if b == nil {
			return nil, fmt.Errorf("no %s PEM block", typ)
		}
		if b.Type == typ {
			return b.Bytes, nil
		}
	}
}

// ipList parses addresses, refusing any that is not an IP.
func ipList(addrs []string) ([]net.IP, error) {
	var out []net.IP
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil {
			return nil, fmt.Errorf("%q is not an IP address", a)
		}
		out = append(out, ip)
	}
	return out, nil
}
