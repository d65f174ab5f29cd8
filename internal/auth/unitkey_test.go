package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// noRand fails every read: loading existing key files must not need it.
type noRand struct{}

func (noRand) Read([]byte) (int, error) { return 0, errors.New("no randomness here") }

func TestLoadOrCreateUnitKey(t *testing.T) {
	dir := t.TempDir()
	k, err := LoadOrCreateUnitKey(dir, "https://Unit.Example.org:8443/", rand.Reader, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{UnitKeyFile, UnitCertFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, UnitKeyFile))
	if !strings.HasPrefix(string(b), "-----BEGIN RSA PRIVATE KEY-----") {
		t.Errorf("key file is not PKCS#1 PEM as Personium reads it")
	}
	c := k.Cert
	if c.Subject.CommonName != "unit.example.org" || len(c.DNSNames) != 1 || c.DNSNames[0] != "unit.example.org" {
		t.Errorf("certificate names %q %v", c.Subject.CommonName, c.DNSNames)
	}
	if k.Key.N.BitLen() != 2048 || !c.IsCA || c.NotBefore.After(testNow) || !c.NotAfter.Equal(testNow.AddDate(10, 0, 0)) {
		t.Errorf("key of %d bits, CA %v, valid %s to %s", k.Key.N.BitLen(), c.IsCA, c.NotBefore, c.NotAfter)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}

	again, err := LoadOrCreateUnitKey(dir, "https://unit.example.org:8443/", noRand{}, testNow.AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Key.Equal(k.Key) || string(again.CertDER) != string(k.CertDER) || again.KeyID != k.KeyID {
		t.Error("reloaded key differs")
	}

	// A cell host below the unit host is covered by the unit certificate.
	if _, err := LoadOrCreateUnitKey(dir, "https://cell.unit.example.org/", noRand{}, testNow); err != nil {
		t.Errorf("cell host: %v", err)
	}
	// Another host is not: the certificate must be re-issued.
	if _, err := LoadOrCreateUnitKey(dir, "https://other.example/", noRand{}, testNow); err == nil ||
		!strings.Contains(err.Error(), "delete") {
		t.Errorf("unit moved to another host: %v", err)
	}

	// A key without its certificate gets a new certificate.
	if err := os.Remove(filepath.Join(dir, UnitCertFile)); err != nil {
		t.Fatal(err)
	}
	moved, err := LoadOrCreateUnitKey(dir, "https://other.example/", rand.Reader, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !moved.Key.Equal(k.Key) || moved.Cert.Subject.CommonName != "other.example" {
		t.Errorf("re-issued certificate: key kept %v, CN %q", moved.Key.Equal(k.Key), moved.Cert.Subject.CommonName)
	}

	// A certificate without its key is an error, not a new key.
	if err := os.Remove(filepath.Join(dir, UnitKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateUnitKey(dir, "https://other.example/", rand.Reader, testNow); err == nil {
		t.Error("certificate without key accepted")
	}
}

func TestLoadOrCreateUnitKeyErrors(t *testing.T) {
	for _, u := range []string{"unit.example.org", "ftp://unit.example.org/", "https:///x", "::"} {
		if _, err := LoadOrCreateUnitKey(t.TempDir(), u, rand.Reader, testNow); err == nil {
			t.Errorf("unit URL %q accepted", u)
		}
	}
	if _, err := LoadOrCreateUnitKey(t.TempDir(), "https://u.example/", noRand{}, testNow); err == nil {
		t.Error("created a certificate without randomness")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, UnitKeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateUnitKey(dir, "https://u.example/", rand.Reader, testNow); err == nil {
		t.Error("garbage key file accepted")
	}
	// A certificate of another key is refused.
	other, err := LoadOrCreateUnitKey(t.TempDir(), "https://u.example/", rand.Reader, testNow)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	key := testUnitKey(t, "unit-a.example").Key
	writePEM(t, filepath.Join(dir, UnitKeyFile), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	writePEM(t, filepath.Join(dir, UnitCertFile), "CERTIFICATE", other.CertDER)
	if _, err := LoadOrCreateUnitKey(dir, "https://u.example/", rand.Reader, testNow); err == nil {
		t.Error("certificate of another key accepted")
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadUnitKeyPKCS8AndIP(t *testing.T) {
	dir := t.TempDir()
	key := testUnitKey(t, "unit-a.example").Key
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, UnitKeyFile), "PRIVATE KEY", der)
	k, err := LoadOrCreateUnitKey(dir, "http://127.0.0.1:9000/", rand.Reader, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Key.Equal(key) || len(k.Cert.IPAddresses) != 1 || !certCoversHost(k.Cert, "127.0.0.1") {
		t.Errorf("PKCS#8 key / IP certificate: %v %v", k.Key.Equal(key), k.Cert.IPAddresses)
	}
}

func TestCertCoversHost(t *testing.T) {
	cert := testUnitKey(t, "unit-a.example").Cert
	for host, want := range map[string]bool{
		"unit-a.example":           true,
		"alice.unit-a.example":     true,
		"a.b.unit-a.example":       true,
		"evilunit-a.example":       false, // Java's plain suffix match would take it
		"unit-a.example.evil.test": false,
		"unit-b.example":           false,
		"example":                  false,
	} {
		if got := certCoversHost(cert, host); got != want {
			t.Errorf("certCoversHost(%q) = %v", host, got)
		}
	}
}

func TestJWKS(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(k.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys", len(set.Keys))
	}
	j := set.Keys[0]
	if j["kty"] != "RSA" || j["alg"] != "RS256" || j["use"] != "sig" || j["kid"] != k.KeyID || k.KeyID == "" {
		t.Errorf("JWK %v", j)
	}
	n, err1 := base64.RawURLEncoding.DecodeString(j["n"])
	e, err2 := base64.RawURLEncoding.DecodeString(j["e"])
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if !pub.Equal(&k.Key.PublicKey) {
		t.Error("JWK n/e are not the unit key")
	}
}

// TestJWKThumbprint checks the example of RFC 7638 §3.1.
func TestJWKThumbprint(t *testing.T) {
	n, _ := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	if got, want := jwkThumbprint(pub), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("thumbprint %s, want %s", got, want)
	}
}
