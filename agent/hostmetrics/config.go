// Package hostmetrics collects spec 004's host-metrics payload on a client
// agent (host figures, processes, Docker containers, health checks) and
// pushes it to the servers through a bounded queue that survives outages.
package hostmetrics

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"
)

// Defaults of Config and Check, also the HCL block's defaults.
const (
	DefaultInterval      = 10 * time.Second
	DefaultDiskPath      = "/"
	DefaultDockerSocket  = "/var/run/docker.sock"
	DefaultTopProcesses  = 10
	DefaultCheckTimeout  = 5 * time.Second
	DefaultMaxContainers = 500
	// HostContainerName is a check's containerName when it names neither
	// a container nor itself: the spec requires one, and a host-level
	// check belongs to no container.
	HostContainerName = "host"
)

// Check kinds.
const (
	CheckHTTP = "http"
	CheckTCP  = "tcp"
	CheckTLS  = "tls"
)

// Config is what a Collector collects. The zero value of each field is
// its default, so the agent passes only what the operator set.
type Config struct {
	// Interval is the collection interval; health checks without their
	// own interval run this often.
	Interval time.Duration
	// DiskPath is the filesystem whose usage is reported.
	DiskPath string
	// DockerSocket is the Docker Engine API's unix socket. A socket that
	// is missing or refuses leaves containers[] and services[] empty.
	DockerSocket string
	// TopProcesses is how many processes each top list holds.
	TopProcesses int
	// MaxContainers bounds containers[] (and the per-container calls).
	MaxContainers int
	// Checks are the health checks, each run on its own interval.
	Checks []Check
	// AgentVersion is reported as agentVersion ("" leaves it out).
	AgentVersion string
	// ServerHealthy reports serverHealthy (nil leaves it out). It is
	// called on every Collect, so it must not block.
	ServerHealthy func() bool
}

// Check is one health check.
type Check struct {
	// Kind is CheckHTTP, CheckTCP or CheckTLS.
	Kind string
	// Name identifies the check (tcp/tls results carry it); optional.
	Name string
	// Container is the container the check is about (containerName).
	Container string
	// URL is what an http check GETs.
	URL string
	// Host and Port are what tcp and tls checks connect to.
	Host string
	Port int
	// ServerName is the TLS server name (SNI and verification); default
	// Host. Used by tls checks and https URLs.
	ServerName string
	// CAFile is a PEM bundle trusted besides the system roots.
	CAFile string
	// InsecureSkipVerify still reports the certificate, but does not
	// fail the check on an untrusted chain or a name mismatch.
	InsecureSkipVerify bool
	// Interval (default: Config.Interval) and Timeout (default 5s).
	Interval time.Duration
	Timeout  time.Duration
	// ExpectStatus is the status an http check wants; 0 accepts any 2xx.
	ExpectStatus int
}

// containerName is the spec's required containerName of a check's result.
func (c *Check) containerName() string {
	switch {
	case c.Container != "":
		return c.Container
	case c.Name != "":
		return c.Name
	}
	return HostContainerName
}

// withDefaults fills the zero fields; it does not validate.
func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.DiskPath == "" {
		c.DiskPath = DefaultDiskPath
	}
	if c.DockerSocket == "" {
		c.DockerSocket = DefaultDockerSocket
	}
	if c.TopProcesses <= 0 {
		c.TopProcesses = DefaultTopProcesses
	}
	if c.MaxContainers <= 0 {
		c.MaxContainers = DefaultMaxContainers
	}
	c.Checks = checksWithDefaults(c.Checks, c.Interval)
	return c
}

// checksWithDefaults is checks (copied) with their zero intervals and
// timeouts filled; interval is the collection interval.
func checksWithDefaults(in []Check, interval time.Duration) []Check {
	checks := make([]Check, len(in))
	for i, ch := range in {
		if ch.Interval <= 0 {
			ch.Interval = interval
		}
		if ch.Timeout <= 0 {
			ch.Timeout = DefaultCheckTimeout
		}
		checks[i] = ch
	}
	return checks
}

// validate reports the first problem of a check, naming it; the agent's
// HCL validation reports them all earlier, so this guards library users.
func (c *Check) validate() error {
	where := fmt.Sprintf("check %q (%s)", c.Name, c.Kind)
	switch c.Kind {
	case CheckHTTP:
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s: url %q must be an http(s) URL", where, c.URL)
		}
		if c.ExpectStatus != 0 && (c.ExpectStatus < 100 || c.ExpectStatus > 599) {
			return fmt.Errorf("%s: expect_status %d is not an HTTP status", where, c.ExpectStatus)
		}
	case CheckTCP, CheckTLS:
		if c.Host == "" {
			return fmt.Errorf("%s: needs a host", where)
		}
		if c.Port < 1 || c.Port > 65535 {
			return fmt.Errorf("%s: port %d must be between 1 and 65535", where, c.Port)
		}
	default:
		return fmt.Errorf("%s: unknown kind %q (want http, tcp or tls)", where, c.Kind)
	}
	return nil
}

// address is host:port of a tcp or tls check.
func (c *Check) address() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// roots is the pool a TLS peer is verified against: the system roots
// plus CAFile.
func (c *Check) roots() (*x509.CertPool, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("check %q: ca_file: %w", c.Name, err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("check %q: ca_file %s holds no PEM certificate", c.Name, c.CAFile)
		}
	}
	return roots, nil
}

// serverName is the name a TLS peer's certificate must carry.
func (c *Check) serverName() string {
	if c.ServerName != "" {
		return c.ServerName
	}
	if c.Kind == CheckHTTP {
		if u, err := url.Parse(c.URL); err == nil {
			return u.Hostname()
		}
	}
	return c.Host
}
