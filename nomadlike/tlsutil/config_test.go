package tlsutil

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// configurators writes a CA and one certificate per role and returns a
// configurator per role with verify_server_hostname set as given.
func configurators(t *testing.T, verify bool) map[string]*Configurator {
	t.Helper()
	dir := t.TempDir()
	caCert, caKey, err := GenerateCA(CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, caCert, 0o600)
	out := map[string]*Configurator{}
	for _, role := range []string{RoleServer, RoleClient, RoleCLI} {
		cert, key, err := GenerateCert(CertOptions{Role: role}, caCert, caKey)
		if err != nil {
			t.Fatal(err)
		}
		cf, kf := filepath.Join(dir, role+".pem"), filepath.Join(dir, role+"-key.pem")
		os.WriteFile(cf, cert, 0o600)
		os.WriteFile(kf, key, 0o600)
		c, err := NewConfigurator(Config{EnableRPC: true, CAFile: ca, CertFile: cf, KeyFile: kf, VerifyServerHostname: verify})
		if err != nil {
			t.Fatal(err)
		}
		out[role] = c
	}
	return out
}

// handshake runs both sides over a pipe and returns whether the listener
// saw a server certificate and the dialer's error.
func handshake(dialer, listener *Configurator) (bool, error) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srv := tls.Server(b, listener.IncomingRPC())
	done := make(chan bool, 1)
	go func() {
		if srv.Handshake() != nil {
			done <- false
			return
		}
		done <- listener.IsServerPeer(srv.ConnectionState())
		srv.Read(make([]byte, 1)) // let the client finish reading
	}()
	cl := tls.Client(a, dialer.OutgoingRPC())
	err := cl.Handshake()
	if err != nil {
		a.Close()
	}
	isServer := <-done
	return isServer, err
}

// TestConfigurator_ServerNames: with verify_server_hostname a dialer
// accepts only a server certificate of the region; without it any
// certificate of the CA, as Nomad does. The listener can tell a server's
// certificate from a client's.
func TestConfigurator_ServerNames(t *testing.T) {
	strict := configurators(t, true)
	if isServer, err := handshake(strict[RoleClient], strict[RoleServer]); err != nil || isServer {
		t.Fatalf("client dialling a server: %v (server peer %v)", err, isServer)
	}
	if isServer, err := handshake(strict[RoleServer], strict[RoleServer]); err != nil || !isServer {
		t.Fatalf("server dialling a server: %v (server peer %v)", err, isServer)
	}
	if _, err := handshake(strict[RoleServer], strict[RoleClient]); err == nil || !strings.Contains(err.Error(), "server.global.nomadlike") {
		t.Fatalf("a client certificate served as a server: %v", err)
	}
	lax := configurators(t, false)
	if _, err := handshake(lax[RoleServer], lax[RoleClient]); err != nil {
		t.Fatalf("without verify_server_hostname the CA's certificate is enough: %v", err)
	}
	// Another CA is refused either way.
	if _, err := handshake(lax[RoleServer], strict[RoleServer]); err == nil {
		t.Fatal("a certificate of another CA was accepted")
	}
}

// TestNewConfigurator_Errors: every bad input names what is wrong.
func TestNewConfigurator_Errors(t *testing.T) {
	c := configurators(t, true)[RoleServer].Config()
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"no files":    {func(c *Config) { c.CAFile = "" }, "ca_file, cert_file and key_file are all required"},
		"min version": {func(c *Config) { c.MinVersion = "ssl3" }, `tls_min_version "ssl3"`},
		"missing key": {func(c *Config) { c.KeyFile += ".nope" }, "cert_file/key_file"},
		"ca is a key": {func(c *Config) { c.CAFile = c.KeyFile }, "no PEM certificate"},
	} {
		cc := c
		tc.edit(&cc)
		if _, err := NewConfigurator(cc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, _, err := GenerateCert(CertOptions{Role: "admin"}, nil, nil); err == nil || !strings.Contains(err.Error(), "unknown certificate role") {
		t.Error("unknown role accepted")
	}
}
