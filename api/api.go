// Package api is the Go client for the nomadlike HTTP API.
//
// It follows the shape of Nomad's own api package: a Client built from a
// Config, one handle per resource (c.Agent(), c.Status(), c.Operator(),
// c.Nodes()), QueryOptions and WriteOptions on every call, and QueryMeta and
// WriteMeta parsed from the X-Nomad-* headers. It imports only the standard
// library, so any Go program can use it without pulling in the server.
package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultAddress is the agent address used when neither Config.Address
	// nor NOMADLIKE_ADDR is set.
	DefaultAddress = "http://127.0.0.1:4646"

	// AddressEnv names the environment variable read for the agent address.
	AddressEnv = "NOMADLIKE_ADDR"

	// TokenEnv names the environment variable read for the ACL token.
	TokenEnv = "NOMADLIKE_TOKEN"

	// TokenHeader is the request header that carries the ACL secret.
	TokenHeader = "X-Nomad-Token"

	// Environment variables of the TLS settings, Nomad's with our prefix.
	CACertEnv        = "NOMADLIKE_CACERT"
	ClientCertEnv    = "NOMADLIKE_CLIENT_CERT"
	ClientKeyEnv     = "NOMADLIKE_CLIENT_KEY"
	TLSServerNameEnv = "NOMADLIKE_TLS_SERVER_NAME"
	SkipVerifyEnv    = "NOMADLIKE_SKIP_VERIFY"
)

// Config configures a Client.
type Config struct {
	// Address of the agent, such as "http://127.0.0.1:4646". A bare
	// "host:port" is taken to mean http.
	Address string

	// Token is the ACL secret sent as X-Nomad-Token on every request
	// unless the call's options carry their own AuthToken.
	Token string

	// HttpClient performs the requests. nil means a fresh client with no
	// overall timeout, so that blocking queries can wait.
	HttpClient *http.Client

	// Headers are added to every request. They cannot override the token,
	// Accept-Encoding or Content-Type headers the client sets itself.
	Headers http.Header

	// WaitTime is the default wait of blocking queries, used when a call's
	// QueryOptions.WaitTime is zero.
	WaitTime time.Duration

	// TLSConfig is used for an https:// address when HttpClient is nil.
	TLSConfig *TLSConfig
}

// TLSConfig is how the client verifies the agent and identifies itself,
// with the names of Nomad's api.TLSConfig. Files are PEM.
type TLSConfig struct {
	// CACert is the CA file that signs the agents' certificates.
	CACert string
	// ClientCert and ClientKey are presented to agents that require
	// client certificates (verify_https_client).
	ClientCert string
	ClientKey  string
	// TLSServerName is the name to expect on the agent's certificate
	// instead of the address's host.
	TLSServerName string
	// Insecure skips the verification of the agent's certificate.
	Insecure bool
}

// DefaultConfig returns a Config filled from the environment: the address
// from NOMADLIKE_ADDR (default http://127.0.0.1:4646) and the token from
// NOMADLIKE_TOKEN.
func DefaultConfig() *Config {
	cfg := &Config{Address: DefaultAddress}
	if addr := strings.TrimSpace(os.Getenv(AddressEnv)); addr != "" {
		cfg.Address = addr
	}
	if token := strings.TrimSpace(os.Getenv(TokenEnv)); token != "" {
		cfg.Token = token
	}
	cfg.TLSConfig = &TLSConfig{
		CACert:        os.Getenv(CACertEnv),
		ClientCert:    os.Getenv(ClientCertEnv),
		ClientKey:     os.Getenv(ClientKeyEnv),
		TLSServerName: os.Getenv(TLSServerNameEnv),
	}
	if v := os.Getenv(SkipVerifyEnv); v != "" {
		cfg.TLSConfig.Insecure, _ = strconv.ParseBool(v)
	}
	return cfg
}

// tlsClientConfig builds the crypto/tls side of t.
func (t *TLSConfig) tlsClientConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: t.TLSServerName, InsecureSkipVerify: t.Insecure}
	if t.CACert != "" {
		pem, err := os.ReadFile(t.CACert)
		if err != nil {
			return nil, fmt.Errorf("reading CA cert: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA cert %s holds no PEM certificate", t.CACert)
		}
	}
	if t.ClientCert != "" || t.ClientKey != "" {
		if t.ClientCert == "" || t.ClientKey == "" {
			return nil, fmt.Errorf("client cert and client key must be given together")
		}
		cert, err := tls.LoadX509KeyPair(t.ClientCert, t.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("loading client cert: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Client talks to one nomadlike agent over HTTP. It is safe for concurrent
// use.
type Client struct {
	baseURL    *url.URL
	httpClient *http.Client
	headers    http.Header
	waitTime   time.Duration

	mu    sync.RWMutex
	token string
}

// NewClient returns a Client for config. A nil config means DefaultConfig().
// The config is copied; later changes to it do not affect the client.
func NewClient(config *Config) (*Client, error) {
	if config == nil {
		config = DefaultConfig()
	}
	addr := strings.TrimSpace(config.Address)
	if addr == "" {
		addr = DefaultAddress
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid address %q: %w", config.Address, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid address %q: unsupported scheme %q", config.Address, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid address %q: missing host", config.Address)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""

	hc := config.HttpClient
	if hc == nil {
		hc = &http.Client{}
		if u.Scheme == "https" && config.TLSConfig != nil {
			tc, err := config.TLSConfig.tlsClientConfig()
			if err != nil {
				return nil, err
			}
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.TLSClientConfig = tc
			hc.Transport = tr
		}
	}
	return &Client{
		baseURL:    u,
		httpClient: hc,
		headers:    config.Headers.Clone(),
		waitTime:   config.WaitTime,
		token:      config.Token,
	}, nil
}

// Address returns the normalized agent address, such as
// "http://127.0.0.1:4646".
func (c *Client) Address() string { return c.baseURL.String() }

// SetToken replaces the ACL token sent with requests that carry none of
// their own.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

// Token returns the client's current ACL token.
func (c *Client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// QueryOptions are the options of a read.
type QueryOptions struct {
	// AllowStale lets any server answer, not only the leader.
	AllowStale bool

	// RequireConsistent asks for a linearizable read explicitly
	// (?consistent). It is also what a read without AllowStale gets.
	RequireConsistent bool

	// WaitIndex makes the query block until the state index passes it.
	WaitIndex uint64

	// WaitTime bounds how long a blocking query waits.
	WaitTime time.Duration

	// Prefix filters list results by ID prefix.
	Prefix string

	// Params are extra URL query parameters, added as given.
	Params map[string]string

	// AuthToken overrides the client's token for this call.
	AuthToken string

	ctx context.Context
}

// WithContext returns a copy of o that uses ctx for the request.
func (o *QueryOptions) WithContext(ctx context.Context) *QueryOptions {
	o2 := new(QueryOptions)
	if o != nil {
		*o2 = *o
	}
	o2.ctx = ctx
	return o2
}

// Context returns the options' context, or context.Background().
func (o *QueryOptions) Context() context.Context {
	if o != nil && o.ctx != nil {
		return o.ctx
	}
	return context.Background()
}

// WriteOptions are the options of a write.
type WriteOptions struct {
	// AuthToken overrides the client's token for this call.
	AuthToken string

	// IdempotencyKey names the write: sent again with the same key (after
	// a timeout, a dropped connection, or a 503 "outcome unknown"), it is
	// answered with the first write's result instead of applied twice.
	IdempotencyKey string

	ctx context.Context
}

// WithContext returns a copy of o that uses ctx for the request.
func (o *WriteOptions) WithContext(ctx context.Context) *WriteOptions {
	o2 := new(WriteOptions)
	if o != nil {
		*o2 = *o
	}
	o2.ctx = ctx
	return o2
}

// Context returns the options' context, or context.Background().
func (o *WriteOptions) Context() context.Context {
	if o != nil && o.ctx != nil {
		return o.ctx
	}
	return context.Background()
}

// QueryMeta is what the server reports about a read.
type QueryMeta struct {
	// LastIndex is X-Nomad-Index: the index to wait on for the next
	// blocking query.
	LastIndex uint64

	// LastContact is X-Nomad-LastContact: how long ago the answering
	// server last heard from the leader.
	LastContact time.Duration

	// KnownLeader is X-Nomad-KnownLeader: whether a leader is known.
	KnownLeader bool

	// RequestTime is how long the round trip took.
	RequestTime time.Duration
}

// WriteMeta is what the server reports about a write.
type WriteMeta struct {
	// LastIndex is X-Nomad-Index: the Raft index of the write.
	LastIndex uint64

	// RequestTime is how long the round trip took.
	RequestTime time.Duration
}
