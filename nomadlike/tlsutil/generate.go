package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CAOptions shape a new CA; zero values take `nomad tls ca create`'s
// defaults (5 years, "Nomadlike Agent CA").
type CAOptions struct {
	Days       int
	CommonName string
	Domain     string // permitted DNS domain; "" is "nomadlike"
}

// GenerateCA makes a self-signed ECDSA P-256 CA and returns its
// certificate and key, PEM-encoded.
func GenerateCA(o CAOptions) (certPEM, keyPEM []byte, err error) {
	if o.Days == 0 {
		o.Days = 1825
	}
	if o.CommonName == "" {
		o.CommonName = "Nomadlike Agent CA"
	}
	nk, err := newKeyed()
	if err != nil {
		return nil, nil, err
	}
	key, keyPEM, sn, id := nk.key, nk.pem, nk.serial, nk.id
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s %d", o.CommonName, sn.Uint64()%1000000), Organization: []string{"nomadlike"}},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().AddDate(0, 0, o.Days),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          id,
		AuthorityKeyId:        id,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// CertOptions shape an agent or CLI certificate.
type CertOptions struct {
	Role   string // RoleServer, RoleClient or RoleCLI
	Region string // "" is "global"
	Days   int    // 0 is 365
	// AdditionalDNSNames and AdditionalIPs are added to the SANs.
	AdditionalDNSNames []string
	AdditionalIPs      []string
}

// GenerateCert makes a certificate for o.Role signed by the CA, as
// `nomad tls cert create` does: servers and clients get
// <role>.<region>.nomadlike, localhost and 127.0.0.1 and may serve and
// dial; the CLI gets cli.<region>.nomadlike and localhost and only dials.
func GenerateCert(o CertOptions, caCertPEM, caKeyPEM []byte) (certPEM, keyPEM []byte, err error) {
	if o.Region == "" {
		o.Region = "global"
	}
	if o.Days == 0 {
		o.Days = 365
	}
	if o.Role != RoleServer && o.Role != RoleClient && o.Role != RoleCLI {
		return nil, nil, fmt.Errorf("unknown certificate role %q", o.Role)
	}
	ca, caKey, err := parseCA(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	ips, err := ipList(o.AdditionalIPs)
	if err != nil {
		return nil, nil, err
	}
	name := RoleName(o.Role, o.Region)
	dns := []string{name, "localhost"}
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	switch o.Role {
	case RoleServer, RoleClient:
		ips = append([]net.IP{net.ParseIP("127.0.0.1")}, ips...)
	case RoleCLI:
		usage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	default:
		return nil, nil, fmt.Errorf("unknown certificate role %q", o.Role)
	}
	dns = append(dns, o.AdditionalDNSNames...)
	nk, err := newKeyed()
	if err != nil {
		return nil, nil, err
	}
	key, keyPEM, sn, id := nk.key, nk.pem, nk.serial, nk.id
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().AddDate(0, 0, o.Days),
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           usage,
		DNSNames:              dns,
		IPAddresses:           ips,
		SubjectKeyId:          id,
		AuthorityKeyId:        ca.SubjectKeyId,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

func parseCA(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	der, err := decodePEM(certPEM, "CERTIFICATE")
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	if !ca.IsCA {
		return nil, nil, fmt.Errorf("CA certificate %q is not a CA", ca.Subject.CommonName)
	}
	kder, err := decodePEM(keyPEM, "EC PRIVATE KEY")
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kder)
	if err != nil {
		return nil, nil, fmt.Errorf("CA key: %w", err)
	}
	return ca, key, nil
}

// keyed is what a new certificate needs first: its key (and PEM), a
// serial number and the key's ID.
type keyed struct {
	key    *ecdsa.PrivateKey
	pem    []byte
	serial *big.Int
	id     []byte
}

func newKeyed() (*keyed, error) {
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	id, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	return &keyed{key: key, pem: keyPEM, serial: sn, id: id}, nil
}

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// keyID is the SHA-256 of the public key, truncated as RFC 5280 allows.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:20], nil
}
