package hostmetrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/nomadlike/nomadlike/structs"
)

// maxCheckBody bounds what an http check reads of a body: only the status
// counts, and draining a little lets a server finish its write cleanly.
const maxCheckBody = 64 << 10

// checkResult is the latest result of one check: exactly one is set.
type checkResult struct {
	http *structs.ServiceHealthCheck
	tcp  *structs.TCPCheckResult
	cert *structs.CertCheckResult
}

// checkRunner runs one check; its fields are fixed at New.
type checkRunner struct {
	check  Check
	client *http.Client     // http checks
	roots  *x509.CertPool   // tls checks
	now    func() time.Time // the clock certificates are judged by
}

func newCheckRunner(c Check) (*checkRunner, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	r := &checkRunner{check: c, now: time.Now}
	switch c.Kind {
	case CheckHTTP:
		roots, err := c.roots()
		if err != nil {
			return nil, err
		}
		r.client = &http.Client{
			Transport: &http.Transport{
				Proxy:       http.ProxyFromEnvironment,
				DialContext: (&net.Dialer{Timeout: c.Timeout}).DialContext,
				TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: c.serverName(),
					InsecureSkipVerify: c.InsecureSkipVerify}, //nolint:gosec // the operator's choice
				// A fresh connection each time: a check measures what a
				// new client of the service would see.
				DisableKeepAlives:  true,
				DisableCompression: true,
			},
			// A redirect (to a login page, say) is the service's answer,
			// not a reason to judge a different URL.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	case CheckTLS:
		roots, err := c.roots()
		if err != nil {
			return nil, err
		}
		r.roots = roots
	}
	return r, nil
}

// run runs the check once, bounded by its timeout.
func (r *checkRunner) run(ctx context.Context) checkResult {
	ctx, cancel := context.WithTimeout(ctx, r.check.Timeout)
	defer cancel()
	switch r.check.Kind {
	case CheckHTTP:
		return checkResult{http: r.runHTTP(ctx)}
	case CheckTCP:
		return checkResult{tcp: r.runTCP(ctx)}
	default:
		return checkResult{cert: r.runTLS(ctx)}
	}
}

func (r *checkRunner) runHTTP(ctx context.Context) *structs.ServiceHealthCheck {
	c := &r.check
	start := time.Now()
	res := &structs.ServiceHealthCheck{ContainerName: c.containerName(), HealthCheckURL: c.URL,
		CheckedAt: ptr(formatTime(start))}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		res.Error = ptr(err.Error())
		return res
	}
	req.Header.Set("User-Agent", "nomadlike-hostmetrics")
	resp, err := r.client.Do(req)
	if err != nil {
		res.DurationMs = ptr(millis(time.Since(start)))
		res.Error = ptr(err.Error())
		return res
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxCheckBody))
	_ = resp.Body.Close()
	res.DurationMs = ptr(millis(time.Since(start)))
	res.StatusCode = ptr(float64(resp.StatusCode))
	if c.ExpectStatus != 0 {
		res.Success = resp.StatusCode == c.ExpectStatus
		if !res.Success {
			res.Error = ptr(fmt.Sprintf("status %d, want %d", resp.StatusCode, c.ExpectStatus))
		}
	} else {
		res.Success = resp.StatusCode >= 200 && resp.StatusCode < 300
		if !res.Success {
			res.Error = ptr(fmt.Sprintf("status %d, want 2xx", resp.StatusCode))
		}
	}
	return res
}

func (r *checkRunner) runTCP(ctx context.Context) *structs.TCPCheckResult {
	c := &r.check
	res := &structs.TCPCheckResult{ContainerName: c.containerName(), Host: c.Host, Port: float64(c.Port),
		Name: optional(c.Name)}
	start := time.Now()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.address())
	res.DurationMs = millis(time.Since(start))
	if err != nil {
		res.Error = ptr(err.Error())
		return res
	}
	_ = conn.Close()
	res.Success = true
	return res
}

func (r *checkRunner) runTLS(ctx context.Context) *structs.CertCheckResult {
	c := &r.check
	res := &structs.CertCheckResult{ContainerName: c.containerName(), Host: c.Host, Port: float64(c.Port),
		Name: optional(c.Name)}
	start := time.Now()
	d := tls.Dialer{Config: &tls.Config{ServerName: c.serverName(), InsecureSkipVerify: true}} //nolint:gosec // verified below
	conn, err := d.DialContext(ctx, "tcp", c.address())
	res.DurationMs = millis(time.Since(start))
	if err != nil {
		res.Error = ptr(err.Error())
		return res
	}
	state := conn.(*tls.Conn).ConnectionState()
	_ = conn.Close()
	if len(state.PeerCertificates) == 0 {
		res.Error = ptr("the server sent no certificate")
		return res
	}
	leaf := state.PeerCertificates[0]
	now := r.now()
	res.ExpiresAt = ptr(leaf.NotAfter.UTC().Format(time.RFC3339))
	// Whole days left, floored ("expires in 19 days" until 20 are left);
	// 0 once expired, because the spec's counts are non-negative: the
	// expiry shows in success, error and expiresAt.
	days := math.Floor(leaf.NotAfter.Sub(now).Hours() / 24)
	res.DaysUntilExpiry = ptr(math.Max(days, 0))
	res.Issuer = ptr(leaf.Issuer.String())
	res.Subject = ptr(leaf.Subject.String())
	var problem error
	switch {
	case now.After(leaf.NotAfter):
		problem = fmt.Errorf("certificate expired at %s", *res.ExpiresAt)
	case now.Before(leaf.NotBefore):
		problem = fmt.Errorf("certificate not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	case !c.InsecureSkipVerify:
		inter := x509.NewCertPool()
		for _, cert := range state.PeerCertificates[1:] {
			inter.AddCert(cert)
		}
		_, problem = leaf.Verify(x509.VerifyOptions{Roots: r.roots, Intermediates: inter,
			DNSName: c.serverName(), CurrentTime: now})
	}
	if problem != nil {
		var unknown x509.UnknownAuthorityError
		if errors.As(problem, &unknown) {
			problem = fmt.Errorf("certificate signed by an unknown authority (%s)", leaf.Issuer)
		}
		res.Error = ptr(problem.Error())
		return res
	}
	res.Success = true
	return res
}

// formatTime is the spec's date-time: RFC 3339 in UTC ("Z"), at most
// millisecond precision, trailing zeros of the fraction dropped.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.999Z07:00")
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func ptr[T any](v T) *T { return &v }

// optional is nil for "", so an unset name is left out.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
