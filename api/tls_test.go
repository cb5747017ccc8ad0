package api

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestClient_TLS: an https address is verified with TLSConfig.CACert (or
// NOMADLIKE_CACERT), refused without it, and accepted with Insecure.
func TestClient_TLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`"127.0.0.1:4647"`))
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	leader := func(cfg *Config) error {
		c, err := NewClient(cfg)
		if err != nil {
			return err
		}
		_, err = c.Status().Leader()
		return err
	}
	if err := leader(&Config{Address: srv.URL, TLSConfig: &TLSConfig{CACert: ca}}); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	if err := leader(&Config{Address: srv.URL}); err == nil {
		t.Fatal("without the CA the certificate was trusted")
	}
	if err := leader(&Config{Address: srv.URL, TLSConfig: &TLSConfig{Insecure: true}}); err != nil {
		t.Fatalf("insecure: %v", err)
	}
	if err := leader(&Config{Address: srv.URL, TLSConfig: &TLSConfig{CACert: ca, ClientCert: ca}}); err == nil {
		t.Fatal("a client cert without its key was accepted")
	}

	t.Setenv(AddressEnv, srv.URL)
	t.Setenv(CACertEnv, ca)
	t.Setenv(TLSServerNameEnv, "example.com")
	cfg := DefaultConfig()
	if cfg.TLSConfig.CACert != ca || cfg.TLSConfig.TLSServerName != "example.com" {
		t.Fatalf("env: %+v", cfg.TLSConfig)
	}
	if err := leader(cfg); err != nil {
		t.Fatalf("from the environment: %v", err)
	}
	t.Setenv(SkipVerifyEnv, "true")
	if !DefaultConfig().TLSConfig.Insecure {
		t.Fatal("NOMADLIKE_SKIP_VERIFY=true not read")
	}
}
