package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/tlsutil"
)

// writeTestCerts writes a CA, a server certificate and a certificate of
// another CA into dir and returns their paths.
func writeTestCerts(t *testing.T, dir string) (ca, cert, key, foreignCert, foreignKey string) {
	t.Helper()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caPEM, caKey, err := tlsutil.GenerateCA(tlsutil.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, k, err := tlsutil.GenerateCert(tlsutil.CertOptions{Role: tlsutil.RoleServer}, caPEM, caKey)
	if err != nil {
		t.Fatal(err)
	}
	otherCA, otherKey, _ := tlsutil.GenerateCA(tlsutil.CAOptions{})
	fc, fk, err := tlsutil.GenerateCert(tlsutil.CertOptions{Role: tlsutil.RoleServer}, otherCA, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	write("ca-key.pem", caKey) // for newServerCert
	return write("ca.pem", caPEM), write("cert.pem", c), write("key.pem", k), write("fcert.pem", fc), write("fkey.pem", fk)
}

// newServerCert is another server certificate of writeTestCerts' CA in
// dir, as PEM.
func newServerCert(t *testing.T, dir string) (cert, key []byte) {
	t.Helper()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err = tlsutil.GenerateCert(tlsutil.CertOptions{Role: tlsutil.RoleServer}, caPEM, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestConfig_TLS: the tls{} block parses with Nomad's names, and its files
// are loaded at validation, so a missing, mismatched or foreign file fails
// the start naming the file.
func TestConfig_TLS(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key, fcert, fkey := writeTestCerts(t, dir)
	parsed, err := ParseConfig([]byte(`tls {
  http = true
  rpc = true
  ca_file = "`+ca+`"
  cert_file = "`+cert+`"
  key_file = "`+key+`"
  verify_server_hostname = true
  verify_https_client = true
  tls_min_version = "tls13"
}`), "tls.hcl")
	if err != nil {
		t.Fatal(err)
	}
	c := validServer()
	c.Merge(parsed)
	if err := c.Validate(); err != nil {
		t.Fatalf("valid tls block: %v", err)
	}
	if !*c.TLS.EnableHTTP || !*c.TLS.EnableRPC || !*c.TLS.VerifyServerHostname || !*c.TLS.VerifyHTTPSClient || *c.TLS.TLSMinVersion != "tls13" {
		t.Fatalf("parsed %+v", c.TLS)
	}

	cases := []struct {
		name string
		edit func(*TLSConfig)
		want []string
	}{
		{"missing ca", func(t *TLSConfig) { t.CAFile = ptr(filepath.Join(dir, "nope.pem")) }, []string{"tls: ca_file", "nope.pem"}},
		{"no cert", func(t *TLSConfig) { t.CertFile = ptr("") }, []string{"tls:", "cert_file"}},
		{"key of another cert", func(t *TLSConfig) { t.KeyFile = ptr(fkey) }, []string{"tls: cert_file/key_file"}},
		{"cert of another CA", func(t *TLSConfig) { t.CertFile, t.KeyFile = ptr(fcert), ptr(fkey) }, []string{"not signed by ca_file", fcert}},
		{"ca is not PEM", func(t *TLSConfig) { t.CAFile = ptr(key) }, []string{"tls: ca_file", "no PEM certificate"}},
		{"bad min version", func(t *TLSConfig) { t.TLSMinVersion = ptr("tls10") }, []string{"tls.tls_min_version", "tls10"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validServer()
			c.Merge(parsed)
			tc.edit(c.TLS)
			wantAll(t, c.Validate(), tc.want...)
		})
	}
	// Off by default: no files needed.
	if err := validServer().Validate(); err != nil {
		t.Fatal(err)
	}
}
