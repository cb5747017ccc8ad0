package validate

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// HTTPClientConfig mirrors prometheus/common's config.HTTPClientConfig, the
// block inlined into scrape_config and remote_write. Secrets are plain
// strings here; Scrubbed hides them on output.
type HTTPClientConfig struct {
	BasicAuth       *BasicAuth     `yaml:"basic_auth,omitempty"`
	Authorization   *Authorization `yaml:"authorization,omitempty"`
	OAuth2          *OAuth2        `yaml:"oauth2,omitempty"`
	BearerToken     string         `yaml:"bearer_token,omitempty"`
	BearerTokenFile string         `yaml:"bearer_token_file,omitempty"`
	TLSConfig       TLSConfig      `yaml:"tls_config,omitempty"`
	FollowRedirects bool           `yaml:"follow_redirects"`
	EnableHTTP2     bool           `yaml:"enable_http2"`
	ProxyConfig     `yaml:",inline"`
	HTTPHeaders     map[string]Header `yaml:"http_headers,omitempty"`
}

// BasicAuth mirrors config.BasicAuth.
type BasicAuth struct {
	Username     string `yaml:"username,omitempty"`
	UsernameFile string `yaml:"username_file,omitempty"`
	UsernameRef  string `yaml:"username_ref,omitempty"`
	Password     string `yaml:"password,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
	PasswordRef  string `yaml:"password_ref,omitempty"`
}

// Authorization mirrors config.Authorization.
type Authorization struct {
	Type            string `yaml:"type,omitempty"`
	Credentials     string `yaml:"credentials,omitempty"`
	CredentialsFile string `yaml:"credentials_file,omitempty"`
	CredentialsRef  string `yaml:"credentials_ref,omitempty"`
}

// OAuth2 mirrors config.OAuth2.
type OAuth2 struct {
	ClientID                 string                 `yaml:"client_id,omitempty"`
	ClientSecret             string                 `yaml:"client_secret,omitempty"`
	ClientSecretFile         string                 `yaml:"client_secret_file,omitempty"`
	ClientSecretRef          string                 `yaml:"client_secret_ref,omitempty"`
	ClientCertificateKeyID   string                 `yaml:"client_certificate_key_id,omitempty"`
	ClientCertificateKey     string                 `yaml:"client_certificate_key,omitempty"`
	ClientCertificateKeyFile string                 `yaml:"client_certificate_key_file,omitempty"`
	ClientCertificateKeyRef  string                 `yaml:"client_certificate_key_ref,omitempty"`
	GrantType                string                 `yaml:"grant_type,omitempty"`
	SignatureAlgorithm       string                 `yaml:"signature_algorithm,omitempty"`
	Iss                      string                 `yaml:"iss,omitempty"`
	Audience                 string                 `yaml:"audience,omitempty"`
	Claims                   map[string]interface{} `yaml:"claims,omitempty"`
	Scopes                   []string               `yaml:"scopes,omitempty"`
	TokenURL                 string                 `yaml:"token_url,omitempty"`
	EndpointParams           map[string]string      `yaml:"endpoint_params,omitempty"`
	TLSConfig                TLSConfig              `yaml:"tls_config,omitempty"`
	ProxyConfig              `yaml:",inline"`
}

// TLSConfig mirrors config.TLSConfig.
type TLSConfig struct {
	CA                 string `yaml:"ca,omitempty"`
	Cert               string `yaml:"cert,omitempty"`
	Key                string `yaml:"key,omitempty"`
	CAFile             string `yaml:"ca_file,omitempty"`
	CertFile           string `yaml:"cert_file,omitempty"`
	KeyFile            string `yaml:"key_file,omitempty"`
	CARef              string `yaml:"ca_ref,omitempty"`
	CertRef            string `yaml:"cert_ref,omitempty"`
	KeyRef             string `yaml:"key_ref,omitempty"`
	ServerName         string `yaml:"server_name,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	MinVersion         string `yaml:"min_version,omitempty"`
	MaxVersion         string `yaml:"max_version,omitempty"`
}

// ProxyConfig mirrors config.ProxyConfig.
type ProxyConfig struct {
	ProxyURL             string              `yaml:"proxy_url,omitempty"`
	NoProxy              string              `yaml:"no_proxy,omitempty"`
	ProxyFromEnvironment bool                `yaml:"proxy_from_environment,omitempty"`
	ProxyConnectHeader   map[string][]string `yaml:"proxy_connect_header,omitempty"`
}

// Header mirrors config.Header, one entry of http_headers.
type Header struct {
	Values  []string `yaml:"values,omitempty"`
	Secrets []string `yaml:"secrets,omitempty"`
	Files   []string `yaml:"files,omitempty"`
}

// defaultHTTPClientConfig is config.DefaultHTTPClientConfig.
func defaultHTTPClientConfig() HTTPClientConfig {
	return HTTPClientConfig{FollowRedirects: true, EnableHTTP2: true}
}

// tlsVersions are the accepted min_version and max_version values.
var tlsVersions = map[string]bool{"TLS10": true, "TLS11": true, "TLS12": true, "TLS13": true}

// check applies prometheus/common's HTTPClientConfig.Validate rules, with
// its messages. It normalizes an empty authorization type to "Bearer".
func (c *HTTPClientConfig) check() error {
	if err := c.checkBearer(); err != nil {
		return err
	}
	if err := c.BasicAuth.check(); err != nil {
		return err
	}
	if err := c.checkAuthorization(); err != nil {
		return err
	}
	if err := c.OAuth2.check(c.BasicAuth != nil); err != nil {
		return err
	}
	if err := c.TLSConfig.check(); err != nil {
		return err
	}
	return c.ProxyConfig.check()
}

// checkBearer rejects bearer tokens combined with other auth.
func (c *HTTPClientConfig) checkBearer() error {
	bearer := c.BearerToken != "" || c.BearerTokenFile != ""
	switch {
	case c.BearerToken != "" && c.BearerTokenFile != "":
		return errors.New("at most one of bearer_token & bearer_token_file must be configured")
	case bearer && (c.BasicAuth != nil || c.OAuth2 != nil):
		return errors.New("at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured")
	case bearer && c.Authorization != nil:
		return errors.New("authorization is not compatible with bearer_token & bearer_token_file")
	}
	return nil
}

// checkAuthorization validates the authorization block.
func (c *HTTPClientConfig) checkAuthorization() error {
	a := c.Authorization
	if a == nil {
		return nil
	}
	if countSet(a.Credentials, a.CredentialsFile, a.CredentialsRef) > 1 {
		return errors.New("at most one of authorization credentials & credentials_file must be configured")
	}
	a.Type = strings.TrimSpace(a.Type)
	if a.Type == "" {
		a.Type = "Bearer"
	}
	if strings.EqualFold(a.Type, "basic") {
		return errors.New(`authorization type cannot be set to "basic", use "basic_auth" instead`)
	}
	if c.BasicAuth != nil || c.OAuth2 != nil {
		return errors.New("at most one of basic_auth, oauth2 & authorization must be configured")
	}
	return nil
}

// check validates basic_auth; a nil block is fine.
func (b *BasicAuth) check() error {
	if b == nil {
		return nil
	}
	if countSet(b.Username, b.UsernameFile, b.UsernameRef) > 1 {
		return errors.New("at most one of basic_auth username, username_file & username_ref must be configured")
	}
	if countSet(b.Password, b.PasswordFile, b.PasswordRef) > 1 {
		return errors.New("at most one of basic_auth password, password_file & password_ref must be configured")
	}
	return nil
}

// check validates oauth2; a nil block is fine.
func (o *OAuth2) check(hasBasicAuth bool) error {
	if o == nil {
		return nil
	}
	switch {
	case hasBasicAuth:
		return errors.New("at most one of basic_auth, oauth2 & authorization must be configured")
	case o.ClientID == "":
		return errors.New("oauth2 client_id must be configured")
	case o.TokenURL == "":
		return errors.New("oauth2 token_url must be configured")
	case countSet(o.ClientSecret, o.ClientSecretFile, o.ClientSecretRef) > 1:
		return errors.New("at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured")
	case countSet(o.ClientCertificateKey, o.ClientCertificateKeyFile, o.ClientCertificateKeyRef) > 1:
		return errors.New("at most one of oauth2 client_certificate_key, client_certificate_key_file & client_certificate_key_ref must be configured")
	}
	if err := o.TLSConfig.check(); err != nil {
		return fmt.Errorf("oauth2: %w", err)
	}
	if err := o.ProxyConfig.check(); err != nil {
		return fmt.Errorf("oauth2: %w", err)
	}
	return nil
}

// check validates a tls_config block.
func (t *TLSConfig) check() error {
	switch {
	case countSet(t.CA, t.CAFile, t.CARef) > 1:
		return errors.New("at most one of ca, ca_file & ca_ref must be configured")
	case countSet(t.Cert, t.CertFile, t.CertRef) > 1:
		return errors.New("at most one of cert, cert_file & cert_ref must be configured")
	case countSet(t.Key, t.KeyFile, t.KeyRef) > 1:
		return errors.New("at most one of key, key_file & key_ref must be configured")
	}
	hasCert := countSet(t.Cert, t.CertFile, t.CertRef) > 0
	hasKey := countSet(t.Key, t.KeyFile, t.KeyRef) > 0
	switch {
	case hasCert && !hasKey:
		return errors.New("exactly one of key or key_file must be configured when a client certificate is configured")
	case hasKey && !hasCert:
		return errors.New("exactly one of cert or cert_file must be configured when a client key is configured")
	}
	if t.MinVersion != "" && !tlsVersions[t.MinVersion] {
		return fmt.Errorf("tls_config min_version: unknown TLS version: %s", t.MinVersion)
	}
	if t.MaxVersion != "" && !tlsVersions[t.MaxVersion] {
		return fmt.Errorf("tls_config max_version: unknown TLS version: %s", t.MaxVersion)
	}
	return nil
}

// check validates the proxy settings.
func (p *ProxyConfig) check() error {
	if p.ProxyURL != "" {
		if _, err := url.Parse(p.ProxyURL); err != nil {
			return fmt.Errorf("proxy_url: %w", err)
		}
	}
	switch {
	case p.ProxyFromEnvironment && p.ProxyURL != "":
		return errors.New("if proxy_from_environment is configured, proxy_url must not be configured")
	case p.ProxyFromEnvironment && p.NoProxy != "":
		return errors.New("if proxy_from_environment is configured, no_proxy must not be configured")
	case p.ProxyURL == "" && p.NoProxy != "":
		return errors.New("if no_proxy is configured, proxy_url must also be configured")
	case len(p.ProxyConnectHeader) > 0 && !p.ProxyFromEnvironment && p.ProxyURL == "":
		return errors.New("if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured")
	}
	return nil
}

// countSet counts the non-empty strings.
func countSet(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}
