package hostmetrics

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// testCA is a CA the test makes, written to a PEM file.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject:   pkix.Name{CommonName: "Test CA", Organization: []string{"nomadlike"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, file: file}
}

// leaf issues a certificate for 127.0.0.1 and "localhost" valid in
// [notBefore, notAfter].
func (ca *testCA) leaf(t *testing.T, cn string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:   pkix.Name{CommonName: cn, Organization: []string{"checks"}},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsServer serves cert over HTTPS on 127.0.0.1.
func tlsServer(t *testing.T, cert tls.Certificate) (host string, port int) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return hostPort(t, srv.Listener.Addr().String())
}

func hostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// closedPort is a port on 127.0.0.1 nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port := hostPort(t, ln.Addr().String())
	ln.Close()
	return port
}

// collectChecks starts a collector with checks and returns the first
// payload that has a result of every check.
func collectChecks(t *testing.T, checks []Check) *structs.HostMetrics {
	t.Helper()
	c := newTestCollector(t, Config{Checks: checks})
	c.Start(context.Background())
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.resMu.Lock()
		n := 0
		for _, r := range c.results {
			if r.http != nil || r.tcp != nil || r.cert != nil {
				n++
			}
		}
		c.resMu.Unlock()
		if n == len(checks) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d checks ran", n, len(checks))
		}
		// Each check signals nothing, so poll; Collect's own work paces it.
		c.Collect(context.Background())
	}
	c.Stop()
	m := c.Collect(context.Background())
	roundTrip(t, m)
	return m
}

func TestHostMetrics_HTTPChecks(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	down := "http://127.0.0.1:" + strconv.Itoa(closedPort(t)) + "/health"
	m := collectChecks(t, []Check{
		{Kind: CheckHTTP, Name: "ok", Container: "web", URL: srv.URL + "/ok"},
		{Kind: CheckHTTP, URL: srv.URL + "/fail"},
		{Kind: CheckHTTP, Name: "want-500", URL: srv.URL + "/fail", ExpectStatus: 500},
		{Kind: CheckHTTP, Name: "redirect", URL: srv.URL + "/redirect"},
		{Kind: CheckHTTP, Name: "down", URL: down, Timeout: 2 * time.Second},
	})
	if len(m.ServiceHealthChecks) != 5 {
		t.Fatalf("%d http results, want 5: %+v", len(m.ServiceHealthChecks), m.ServiceHealthChecks)
	}
	want := []struct {
		container string
		success   bool
		status    float64 // 0: none
		errHas    string
	}{
		{"web", true, 200, ""},
		{HostContainerName, false, 500, "500"},
		{"want-500", true, 500, ""},
		{"redirect", false, 302, "302"}, // not followed
		{"down", false, 0, "refused"},
	}
	for i, w := range want {
		r := m.ServiceHealthChecks[i]
		if r.ContainerName != w.container || r.Success != w.success {
			t.Errorf("check %d: containerName %q success %v, want %q %v", i, r.ContainerName, r.Success, w.container, w.success)
		}
		if (w.status == 0) != (r.StatusCode == nil) || (r.StatusCode != nil && *r.StatusCode != w.status) {
			t.Errorf("check %d: statusCode %v, want %v", i, r.StatusCode, w.status)
		}
		if w.errHas == "" && r.Error != nil {
			t.Errorf("check %d: error %q on success", i, *r.Error)
		}
		if w.errHas != "" && (r.Error == nil || !strings.Contains(*r.Error, w.errHas)) {
			t.Errorf("check %d: error %v, want one containing %q", i, r.Error, w.errHas)
		}
		if r.DurationMs == nil || *r.DurationMs < 0 || r.CheckedAt == nil {
			t.Errorf("check %d: durationMs %v checkedAt %v", i, r.DurationMs, r.CheckedAt)
		}
		at, err := time.Parse(time.RFC3339, *r.CheckedAt)
		if err != nil || time.Since(at) > time.Minute || time.Since(at) < -time.Second {
			t.Errorf("check %d: checkedAt %q is not a recent time", i, *r.CheckedAt)
		}
	}
	if m.ServiceHealthChecks[4].HealthCheckURL != down {
		t.Errorf("healthCheckUrl %q, want %q", m.ServiceHealthChecks[4].HealthCheckURL, down)
	}
}

func TestHostMetrics_TCPChecks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port := hostPort(t, ln.Addr().String())
	m := collectChecks(t, []Check{
		{Kind: CheckTCP, Name: "db", Container: "postgres", Host: "127.0.0.1", Port: port},
		{Kind: CheckTCP, Host: "127.0.0.1", Port: closedPort(t)},
	})
	if len(m.TCPCheckResults) != 2 {
		t.Fatalf("tcp results %+v", m.TCPCheckResults)
	}
	up, down := m.TCPCheckResults[0], m.TCPCheckResults[1]
	if !up.Success || up.Error != nil || up.ContainerName != "postgres" || up.Name == nil || *up.Name != "db" ||
		up.Host != "127.0.0.1" || up.Port != float64(port) {
		t.Errorf("listening port: %+v", up)
	}
	if down.Success || down.Error == nil || !strings.Contains(*down.Error, "refused") ||
		down.ContainerName != HostContainerName || down.Name != nil {
		t.Errorf("closed port: %+v", down)
	}
}

func TestHostMetrics_TLSChecks(t *testing.T) {
	ca := newTestCA(t)
	now := time.Now()
	goodHost, goodPort := tlsServer(t, ca.leaf(t, "good.test", now.Add(-time.Hour), now.Add(20*24*time.Hour)))
	oldHost, oldPort := tlsServer(t, ca.leaf(t, "old.test", now.Add(-60*24*time.Hour), now.Add(-2*24*time.Hour)))
	m := collectChecks(t, []Check{
		{Kind: CheckTLS, Name: "trusted", Host: goodHost, Port: goodPort, CAFile: ca.file},
		{Kind: CheckTLS, Name: "untrusted", Host: goodHost, Port: goodPort},
		{Kind: CheckTLS, Name: "skip", Host: goodHost, Port: goodPort, InsecureSkipVerify: true},
		{Kind: CheckTLS, Name: "wrong-name", Host: goodHost, Port: goodPort, CAFile: ca.file, ServerName: "other.test"},
		{Kind: CheckTLS, Name: "expired", Host: oldHost, Port: oldPort, CAFile: ca.file},
		{Kind: CheckTLS, Name: "expired-skip", Host: oldHost, Port: oldPort, InsecureSkipVerify: true},
		{Kind: CheckTLS, Name: "down", Host: "127.0.0.1", Port: closedPort(t)},
		{Kind: CheckHTTP, Name: "https", URL: "https://" + net.JoinHostPort(goodHost, strconv.Itoa(goodPort)) + "/", CAFile: ca.file},
	})
	res := map[string]structs.CertCheckResult{}
	for _, r := range m.CertCheckResults {
		res[*r.Name] = r
	}
	if len(res) != 7 {
		t.Fatalf("cert results %+v", m.CertCheckResults)
	}
	wantSuccess := map[string]bool{"trusted": true, "untrusted": false, "skip": true, "wrong-name": false,
		"expired": false, "expired-skip": false, "down": false}
	wantErr := map[string]string{"untrusted": "unknown authority", "wrong-name": "other.test",
		"expired": "expired", "expired-skip": "expired", "down": "refused"}
	for name, r := range res {
		if r.Success != wantSuccess[name] {
			t.Errorf("%s: success %v, want %v (error %v)", name, r.Success, wantSuccess[name], r.Error)
		}
		if w := wantErr[name]; (w == "") != (r.Error == nil) || (w != "" && !strings.Contains(*r.Error, w)) {
			t.Errorf("%s: error %v, want one containing %q", name, r.Error, w)
		}
		if name == "down" {
			if r.ExpiresAt != nil || r.DaysUntilExpiry != nil || r.Issuer != nil {
				t.Errorf("down: certificate fields without a handshake: %+v", r)
			}
			continue
		}
		// Every handshake reports the certificate, verified or not.
		if r.Issuer == nil || *r.Issuer != "CN=Test CA,O=nomadlike" || r.Subject == nil || r.ExpiresAt == nil ||
			r.DaysUntilExpiry == nil {
			t.Errorf("%s: certificate not reported: %+v", name, r)
			continue
		}
		exp, err := time.Parse(time.RFC3339, *r.ExpiresAt)
		if err != nil || !strings.HasSuffix(*r.ExpiresAt, "Z") {
			t.Errorf("%s: expiresAt %q is not RFC 3339 UTC", name, *r.ExpiresAt)
		}
		if strings.HasPrefix(name, "expired") {
			if *r.DaysUntilExpiry != 0 || *r.Subject != "CN=old.test,O=checks" || time.Until(exp) > -47*time.Hour {
				t.Errorf("%s: days %v subject %q expiresAt %v", name, *r.DaysUntilExpiry, *r.Subject, exp)
			}
		} else if d := *r.DaysUntilExpiry; d < 19 || d > 20 || *r.Subject != "CN=good.test,O=checks" ||
			time.Until(exp) < 19*24*time.Hour {
			t.Errorf("%s: days %v subject %q expiresAt %v, want about 20 days", name, d, *r.Subject, exp)
		}
	}
	if len(m.ServiceHealthChecks) != 1 || !m.ServiceHealthChecks[0].Success {
		t.Errorf("https check trusting ca_file: %+v", m.ServiceHealthChecks)
	}
}

func TestHostMetrics_CheckConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		check Check
		want  string
	}{
		{Check{Kind: "icmp", Name: "x"}, "unknown kind"},
		{Check{Kind: CheckHTTP, URL: "ftp://x"}, "http(s) URL"},
		{Check{Kind: CheckHTTP, URL: "http://x", ExpectStatus: 42}, "expect_status"},
		{Check{Kind: CheckTCP, Port: 1}, "host"},
		{Check{Kind: CheckTLS, Host: "h", Port: 70000}, "port"},
		{Check{Kind: CheckTLS, Host: "h", Port: 443, CAFile: "/nonexistent/ca.pem"}, "ca_file"},
	} {
		_, err := New(Config{Checks: []Check{tc.check}}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.check, err, tc.want)
		}
	}
}

func TestHostMetrics_FormatTime(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2026, 4, 15, 12, 0, 0, 0, time.UTC):                             "2026-04-15T12:00:00Z",
		time.Date(2026, 4, 15, 12, 0, 0, 123456789, time.UTC):                     "2026-04-15T12:00:00.123Z",
		time.Date(2026, 4, 15, 14, 0, 0, 120000000, time.FixedZone("CEST", 7200)): "2026-04-15T12:00:00.12Z",
	} {
		if got := formatTime(in); got != want || !dateTime.MatchString(got) {
			t.Errorf("formatTime(%v) = %q, want %q", in, got, want)
		}
	}
}

// checkNames are the names of the tcp checks with a result, in order.
func checkNames(c *Collector) []string {
	c.resMu.Lock()
	defer c.resMu.Unlock()
	var out []string
	for _, r := range c.results {
		if r.tcp != nil && r.tcp.Name != nil {
			out = append(out, *r.tcp.Name)
		}
	}
	return out
}

func waitCheckNames(t *testing.T, c *Collector, want ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !slices.Equal(checkNames(c), want) {
		if time.Now().After(deadline) {
			t.Fatalf("checks with results %v, want %v", checkNames(c), want)
		}
		c.Collect(context.Background()) // paces the poll
	}
}

// TestHostMetrics_SetChecks: a reload's new checks replace the running
// ones; a check that stays keeps its result meanwhile, and an invalid
// list changes nothing.
func TestHostMetrics_SetChecks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port := hostPort(t, ln.Addr().String())
	a := Check{Kind: CheckTCP, Name: "a", Host: "127.0.0.1", Port: port, Interval: time.Hour}
	b := Check{Kind: CheckTCP, Name: "b", Host: "127.0.0.1", Port: port, Interval: time.Hour}
	c := newTestCollector(t, Config{Checks: []Check{a}})
	c.Start(context.Background())
	waitCheckNames(t, c, "a")

	if err := c.SetChecks([]Check{a, b}); err != nil {
		t.Fatal(err)
	}
	if got := checkNames(c); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("right after SetChecks: %v, want a's result kept", got)
	}
	waitCheckNames(t, c, "a", "b")

	if err := c.SetChecks([]Check{b, {Kind: CheckTCP, Name: "bad"}}); err == nil {
		t.Fatal("a tcp check without host and port was taken")
	}
	if got := checkNames(c); !slices.Equal(got, []string{"a", "b"}) || len(c.checks) != 2 {
		t.Fatalf("after a refused SetChecks: %v", got)
	}

	if err := c.SetChecks([]Check{b}); err != nil {
		t.Fatal(err)
	}
	if got := checkNames(c); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after removing a: %v", got)
	}
	m := c.Collect(context.Background())
	if len(m.TCPCheckResults) != 1 || *m.TCPCheckResults[0].Name != "b" {
		t.Fatalf("payload's tcp results %+v", m.TCPCheckResults)
	}
}
