package auth

// The unit's signing key. Personium signs transcell tokens with one X.509
// key pair per unit (TransCellAccessToken.configureX509 in
// personium-lib-common reads a PKCS#1 PEM key and a PEM certificate) and
// verifiers check that the certificate's CN is a suffix of the token
// issuer's host (X509KeySelector). We keep the same files in the data
// folder, so a key and certificate can be moved between a Java unit and
// this one.

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files of the unit key in the data folder.
const (
	UnitKeyFile  = "unit-key.pem"  // PKCS#1 "RSA PRIVATE KEY", as Personium's configureX509 reads it
	UnitCertFile = "unit-cert.pem" // self-signed "CERTIFICATE" for the unit URL's host
)

const (
	unitKeyBits  = 2048
	unitCertLife = 10 // years
	// unitCertBackdate lets units whose clocks lag ours accept a freshly
	// created certificate.
	unitCertBackdate = time.Hour
)

// UnitKey is the unit's signing key and its certificate. A UnitKey is
// immutable after LoadOrCreateUnitKey and safe for concurrent use.
type UnitKey struct {
	Key     *rsa.PrivateKey
	Cert    *x509.Certificate
	CertDER []byte
	KeyID   string // RFC 7638 JWK thumbprint of the public key
}

// LoadOrCreateUnitKey reads <dir>/unit-key.pem and <dir>/unit-cert.pem, or
// creates them (RSA 2048, self-signed X.509 valid 10 years for the unit
// URL's host, files 0600) using rand and now. A key without a certificate
// gets a new certificate; a certificate without a key is an error. A
// certificate whose names do not cover the unit URL's host is an error too:
// other units would refuse our tokens (delete unit-cert.pem to re-issue it
// for the same key).
//
// Since Go 1.26 crypto/rsa draws key material from the system generator and
// ignores rand (see testing/cryptotest.SetGlobalRandom); rand still gives the
// certificate serial number.
func LoadOrCreateUnitKey(dir, unitURL string, rand io.Reader, now time.Time) (*UnitKey, error) {
	host, err := urlHost(unitURL)
	if err != nil {
		return nil, fmt.Errorf("auth: unit URL %q: %w", unitURL, err)
	}
	return loadOrCreateUnitKey(dir, host, rand, now, 3)
}

func loadOrCreateUnitKey(dir, host string, rand io.Reader, now time.Time, tries int) (*UnitKey, error) {
	keyPath, certPath := filepath.Join(dir, UnitKeyFile), filepath.Join(dir, UnitCertFile)
	keyPEM, kerr := os.ReadFile(keyPath)
	certPEM, cerr := os.ReadFile(certPath)
	if kerr != nil && !errors.Is(kerr, fs.ErrNotExist) {
		return nil, kerr
	}
	if cerr != nil && !errors.Is(cerr, fs.ErrNotExist) {
		return nil, cerr
	}
	if kerr != nil && cerr == nil {
		return nil, fmt.Errorf("auth: %s exists but %s does not", certPath, keyPath)
	}
	if tries == 0 {
		return nil, fmt.Errorf("auth: %s: lost the race to create the unit key", dir)
	}

	var key *rsa.PrivateKey
	var err error
	if kerr == nil {
		if key, err = parseRSAKeyPEM(keyPEM); err != nil {
			return nil, fmt.Errorf("auth: %s: %w", keyPath, err)
		}
	} else {
		if key, err = rsa.GenerateKey(rand, unitKeyBits); err != nil {
			return nil, fmt.Errorf("auth: generating the unit key: %w", err)
		}
		der := x509.MarshalPKCS1PrivateKey(key)
		err := writeNewFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}))
		if errors.Is(err, fs.ErrExist) { // another process won the race
			return loadOrCreateUnitKey(dir, host, rand, now, tries-1)
		}
		if err != nil {
			return nil, err
		}
	}

	if cerr == nil {
		k, err := newUnitKey(key, certPEM)
		if err != nil {
			return nil, fmt.Errorf("auth: %s: %w", certPath, err)
		}
		if !certCoversHost(k.Cert, host) {
			return nil, fmt.Errorf("auth: %s is for %q, not the unit host %q; delete it to re-issue it",
				certPath, k.Cert.Subject.CommonName, host)
		}
		return k, nil
	}
	der, err := createUnitCert(key, host, rand, now)
	if err != nil {
		return nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeNewFile(certPath, certPEM); errors.Is(err, fs.ErrExist) {
		return loadOrCreateUnitKey(dir, host, rand, now, tries-1)
	} else if err != nil {
		return nil, err
	}
	return newUnitKey(key, certPEM)
}

// createUnitCert returns a self-signed certificate for host. It is a CA
// certificate so that Java units can list it as a root (Personium checks
// the token certificate's signature against its configured roots).
func createUnitCert(key *rsa.PrivateKey, host string, rand io.Reader, now time.Time) ([]byte, error) {
	serial := make([]byte, 16)
	if _, err := io.ReadFull(rand, serial); err != nil {
		return nil, fmt.Errorf("auth: certificate serial: %w", err)
	}
	serial[0] = serial[0]&0x7f | 0x40 // positive and non-zero
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               pkix.Name{CommonName: host},
		NotBefore:             now.Add(-unitCertBackdate).UTC(),
		NotAfter:              now.AddDate(unitCertLife, 0, 0).UTC(),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("auth: creating the unit certificate: %w", err)
	}
	return der, nil
}

// newUnitKey pairs key with the PEM certificate and checks that they match.
func newUnitKey(key *rsa.PrivateKey, certPEM []byte) (*UnitKey, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("certificate does not match the unit key")
	}
	return &UnitKey{Key: key, Cert: cert, CertDER: block.Bytes, KeyID: jwkThumbprint(&key.PublicKey)}, nil
}

// parseRSAKeyPEM reads a PKCS#1 ("RSA PRIVATE KEY", Personium's format) or
// PKCS#8 ("PRIVATE KEY") RSA key.
func parseRSAKeyPEM(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("%T is not an RSA key", k)
	}
	return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
}

// writeNewFile creates path with mode 0600; fs.ErrExist if it exists.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// urlHost returns the lower-case host name (no port) of an absolute URL.
func urlHost(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
		return "", errors.New("not an absolute http(s) URL")
	}
	return strings.ToLower(u.Hostname()), nil
}

// certCoversHost reports whether one of cert's names (CN, DNS or IP
// alternative names) is host or a parent domain of it. Personium accepts
// any CN that is a string suffix of the host (X509KeySelector), which
// would let "example.com" cover "badexample.com"; we require a label
// boundary.
func certCoversHost(cert *x509.Certificate, host string) bool {
	names := append([]string{cert.Subject.CommonName}, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n != "" && (host == n || strings.HasSuffix(host, "."+n) && net.ParseIP(host) == nil) {
			return true
		}
	}
	return false
}

// TrustStore decides which signing certificates are trusted: the unit's
// own, plus configured ones (other units' certificates or the root CAs
// that issued them, as in Java's X509KeySelector). A TrustStore must not be
// modified while tokens are being parsed with it.
type TrustStore struct {
	Certs []*x509.Certificate
}

// trusts reports an error unless cert is one of the trusted certificates
// or chains to one, and is valid at now.
func (ts *TrustStore) trusts(cert *x509.Certificate, now time.Time) error {
	if ts == nil || len(ts.Certs) == 0 {
		return errors.New("no trusted certificates")
	}
	for _, c := range ts.Certs {
		if c.Equal(cert) {
			if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
				return errors.New("certificate is not valid now")
			}
			return nil
		}
	}
	roots := x509.NewCertPool()
	for _, c := range ts.Certs {
		roots.AddCert(c)
	}
	_, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	return err
}

// jwk is one RSA JSON Web Key (RFC 7517, 7518 §6.3.1).
type jwk struct {
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func rsaJWKParams(pub *rsa.PublicKey) (n, e string) {
	enc := base64.RawURLEncoding
	return enc.EncodeToString(pub.N.Bytes()), enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
}

// jwkThumbprint is the RFC 7638 thumbprint: SHA-256 over the required
// members in lexicographic order, base64url.
func jwkThumbprint(pub *rsa.PublicKey) string {
	n, e := rsaJWKParams(pub)
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// JWKS returns the JSON Web Key Set of the key
// ({"keys":[{"kty":"RSA","alg":"RS256","use":"sig","kid":..,"n":..,"e":..}]}),
// the body of GET {cell}__certs.
func (k *UnitKey) JWKS() []byte {
	n, e := rsaJWKParams(&k.Key.PublicKey)
	set := struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{Kty: "RSA", Alg: "RS256", Use: "sig", Kid: k.KeyID, N: n, E: e}}}
	b, err := json.Marshal(set)
	if err != nil { // strings only: cannot happen
		panic(err)
	}
	return b
}
