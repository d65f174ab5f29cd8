package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/personium-go/personium/internal/perr"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

var testKeys struct {
	sync.Mutex
	m map[string]*UnitKey
}

// testUnitKey returns a unit key for host, made once per test binary
// because RSA key generation is slow.
func testUnitKey(t testing.TB, host string) *UnitKey {
	t.Helper()
	testKeys.Lock()
	defer testKeys.Unlock()
	if k := testKeys.m[host]; k != nil {
		return k
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := createUnitCert(key, host, rand.Reader, testNow.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	k, err := newUnitKey(key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	if testKeys.m == nil {
		testKeys.m = map[string]*UnitKey{}
	}
	testKeys.m[host] = k
	return k
}

func trustOf(keys ...*UnitKey) *TrustStore {
	ts := &TrustStore{}
	for _, k := range keys {
		ts.Certs = append(ts.Certs, k.Cert)
	}
	return ts
}

// sampleToken is a token of alice at unit-a.example (a per-cell host)
// for bob at unit-b.example.
func sampleToken() *TransCellToken {
	return &TransCellToken{
		ID:       "8d6f0c1e-6f7a-4c1b-9a53-2f4b1d0e9c11",
		Issuer:   "https://alice.unit-a.example/",
		Subject:  "https://alice.unit-a.example/#me",
		Target:   "https://bob.unit-b.example/",
		Schema:   "https://app.example/",
		Roles:    []string{"https://alice.unit-a.example/__role/__/friend", "https://app.example/__role/__/a&b <c>"},
		Scopes:   []string{"root", "auth-read"},
		IssuedAt: testNow,
		Expires:  testNow.Add(time.Hour),
	}
}

func mustSign(t testing.TB, k *UnitKey, tc *TransCellToken) string {
	t.Helper()
	s, err := k.SignTransCell(tc, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signXML signs the sample assertion after edit changed it (the way a
// misbehaving or foreign issuer could), returning the token.
func signXML(t testing.TB, k *UnitKey, edit func(a *etree.Element)) string {
	t.Helper()
	a := assertionElement(sampleToken(), sampleToken().ID)
	edit(a)
	if err := k.signEnveloped(a, rand.Reader); err != nil {
		t.Fatal(err)
	}
	b, err := serialize(a)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeXML(t testing.TB, tok string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func encodeXML(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := perr.CodeOf(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func sameToken(a, b *TransCellToken) bool {
	return a.ID == b.ID && a.Issuer == b.Issuer && a.Subject == b.Subject && a.Target == b.Target &&
		a.Schema == b.Schema && slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Scopes, b.Scopes) &&
		a.IssuedAt.Equal(b.IssuedAt) && a.Expires.Equal(b.Expires)
}

func TestTransCellRoundTrip(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	minimal := &TransCellToken{Issuer: "https://unit-a.example/alice/", Subject: "https://unit-a.example/alice/",
		Target: "https://unit-a.example/bob/", IssuedAt: testNow.Add(1500 * time.Microsecond),
		Expires: testNow.Add(10 * time.Minute)}
	for name, in := range map[string]*TransCellToken{"full": sampleToken(), "minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			tok := mustSign(t, k, in)
			if !IsTransCellToken(tok) || strings.ContainsAny(tok, "=+/") {
				t.Errorf("token %.20q… is not unpadded base64url of XML", tok)
			}
			got, err := ParseTransCell(tok, trustOf(k), testNow.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			want := *in
			want.IssuedAt = in.IssuedAt.Truncate(time.Millisecond) // SAML times carry milliseconds
			if in.ID == "" {
				if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(got.ID) {
					t.Errorf("generated ID %q is not a UUID", got.ID)
				}
				want.ID = got.ID
			}
			if !sameToken(got, &want) {
				t.Errorf("got  %+v\nwant %+v", got, &want)
			}
		})
	}
}

func TestSignTransCellRefusesIncomplete(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	for _, edit := range []func(*TransCellToken){
		func(tc *TransCellToken) { tc.Issuer = "" },
		func(tc *TransCellToken) { tc.Subject = "" },
		func(tc *TransCellToken) { tc.Target = "" },
		func(tc *TransCellToken) { tc.Expires = tc.IssuedAt },
	} {
		tc := sampleToken()
		edit(tc)
		if _, err := k.SignTransCell(tc, rand.Reader); err == nil {
			t.Errorf("signed %+v", tc)
		}
	}
}

// TestTransCellJavaShape checks the elements and attributes that
// personium-lib-common's TransCellAccessToken writes and reads.
func TestTransCellJavaShape(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	xml := decodeXML(t, mustSign(t, k, sampleToken()))
	if !strings.HasPrefix(xml, `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" `) {
		t.Errorf("XML starts %.80q", xml)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		t.Fatal(err)
	}
	a := doc.Root()
	var order []string
	for _, c := range a.ChildElements() {
		order = append(order, c.Tag)
	}
	if want := []string{"Issuer", "Subject", "Conditions", "AuthnStatement", "AttributeStatement", "Signature"}; !slices.Equal(order, want) {
		t.Errorf("children %v, want %v", order, want)
	}
	for path, want := range map[string]string{
		"./Issuer":         "https://alice.unit-a.example/",
		"./Subject/NameID": "https://alice.unit-a.example/#me",
		"./Subject/SubjectConfirmation[@Method='urn:oasis:names:tc:SAML:2.0:cm:bearer']/SubjectConfirmationData[@Recipient='https://bob.unit-b.example/__token'][@NotOnOrAfter='2025-06-01T13:00:00.000Z']": "",
		"./Conditions/AudienceRestriction/Audience[1]":                                                                                       "https://bob.unit-b.example/",
		"./Conditions/AudienceRestriction/Audience[2]":                                                                                       "https://app.example/",
		"./AuthnStatement[@AuthnInstant='2025-06-01T12:00:00.000Z']/AuthnContext/AuthnContextClassRef":                                       acPassword,
		"./AttributeStatement/Attribute[@Name='Roles'][@NameFormat='urn:x-personium:xmlns']/AttributeValue[2]":                               "https://app.example/__role/__/a&b <c>",
		"./AttributeStatement/Attribute[@Name='Scopes']/AttributeValue[1]":                                                                   "root",
		"./Signature/SignedInfo/CanonicalizationMethod[@Algorithm='http://www.w3.org/TR/2001/REC-xml-c14n-20010315']":                        "",
		"./Signature/SignedInfo/SignatureMethod[@Algorithm='http://www.w3.org/2001/04/xmldsig-more#rsa-sha256']":                             "",
		"./Signature/SignedInfo/Reference[@URI='']/Transforms/Transform[@Algorithm='http://www.w3.org/2000/09/xmldsig#enveloped-signature']": "",
		"./Signature/SignedInfo/Reference/DigestMethod[@Algorithm='http://www.w3.org/2001/04/xmlenc#sha256']":                                "",
		"./Signature/KeyInfo/X509Data/X509SubjectName":                                                                                       "CN=unit-a.example",
		"./Signature/KeyInfo/X509Data/X509Certificate":                                                                                       base64.StdEncoding.EncodeToString(k.CertDER),
	} {
		el := a.FindElement(path)
		if el == nil {
			t.Errorf("no %s", path)
		} else if want != "" && el.Text() != want {
			t.Errorf("%s = %q, want %q", path, el.Text(), want)
		}
	}
	for attr, want := range map[string]string{"ID": sampleToken().ID, "Version": "2.0", "IssueInstant": "2025-06-01T12:00:00.000Z"} {
		if got := a.SelectAttrValue(attr, ""); got != want {
			t.Errorf("Assertion/@%s = %q, want %q", attr, got, want)
		}
	}
	if a.FindElement("./AttributeStatement/Attribute[@Name='Scopes'][@NameFormat]") != nil {
		t.Errorf("Scopes has a NameFormat; Java writes none")
	}
	if n := len(a.FindElements("./Signature/SignedInfo/Reference/Transforms/Transform")); n != 1 {
		t.Errorf("%d transforms, want only the enveloped one", n)
	}
}

func TestTransCellEmptySchemaIsEmptyAudience(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	tc := sampleToken()
	tc.Schema = ""
	xml := decodeXML(t, mustSign(t, k, tc))
	if !strings.Contains(xml, "<Audience></Audience>") {
		t.Errorf("no empty second Audience as Java writes: %s", xml)
	}
}

func TestTransCellTrust(t *testing.T) {
	a, b := testUnitKey(t, "unit-a.example"), testUnitKey(t, "unit-b.example")
	fromB := sampleToken()
	fromB.Issuer, fromB.Subject = "https://carol.unit-b.example/", "https://carol.unit-b.example/#x"
	tokB := mustSign(t, b, fromB)
	now := testNow.Add(time.Minute)

	_, err := ParseTransCell(tokB, trustOf(a), now)
	wantCode(t, err, "PR401-AU-0008")
	_, err = ParseTransCell(tokB, nil, now)
	wantCode(t, err, "PR401-AU-0008")
	_, err = ParseTransCell(tokB, &TrustStore{}, now)
	wantCode(t, err, "PR401-AU-0008")
	got, err := ParseTransCell(tokB, trustOf(a, b), now)
	if err != nil || got.Issuer != fromB.Issuer {
		t.Fatalf("B's token with B trusted: %v, %v", got, err)
	}

	// A trusted key must not speak for cells of another unit's host.
	for _, issuer := range []string{"https://carol.unit-b.example/", "https://evilunit-a.example/", "not a url"} {
		tc := sampleToken()
		tc.Issuer = issuer
		_, err := ParseTransCell(mustSign(t, a, tc), trustOf(a, b), now)
		if c := perr.CodeOf(err); c != "PR401-AU-0008" && c != "PR401-AU-0006" {
			t.Errorf("issuer %q signed by unit-a: %v", issuer, err)
		}
	}

	// A certificate expired at now is refused even though trusted.
	later := testNow.AddDate(11, 0, 0)
	tc := sampleToken()
	tc.IssuedAt, tc.Expires = later, later.Add(time.Hour)
	_, err = ParseTransCell(mustSign(t, a, tc), trustOf(a), later)
	wantCode(t, err, "PR401-AU-0008")
}

// TestTransCellChainsToTrustedCA covers Personium's model: units hold
// certificates issued by a CA and verifiers trust the CA.
func TestTransCellChainsToTrustedCA(t *testing.T) {
	caKey := testUnitKey(t, "ca.example").Key
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.AddDate(1, 0, 0), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey := testUnitKey(t, "unit-c.example").Key
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "unit-c.example"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	k := &UnitKey{Key: leafKey, Cert: leaf, CertDER: leafDER, KeyID: jwkThumbprint(&leafKey.PublicKey)}
	tc := sampleToken()
	tc.Issuer = "https://dave.unit-c.example/"
	tok := mustSign(t, k, tc)
	if _, err := ParseTransCell(tok, &TrustStore{Certs: []*x509.Certificate{ca}}, testNow); err != nil {
		t.Errorf("token from a CA-issued certificate, CA trusted: %v", err)
	}
	_, err = ParseTransCell(tok, trustOf(testUnitKey(t, "unit-a.example")), testNow)
	wantCode(t, err, "PR401-AU-0008")
}

func TestTransCellTimes(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	tok := mustSign(t, k, sampleToken()) // issued testNow, expires testNow+1h
	for _, c := range []struct {
		now  time.Time
		code string
	}{
		{testNow, ""},
		{testNow.Add(time.Hour - time.Millisecond), ""},
		{testNow.Add(time.Hour), "PR401-AU-0002"}, // NotOnOrAfter
		{testNow.Add(2 * time.Hour), "PR401-AU-0002"},
		{testNow.Add(-TransCellClockSkew), ""},                            // issued slightly in our future
		{testNow.Add(-TransCellClockSkew - time.Second), "PR401-AU-0002"}, // too far
	} {
		_, err := ParseTransCell(tok, trustOf(k), c.now)
		if c.code == "" && err != nil || c.code != "" && perr.CodeOf(err) != c.code {
			t.Errorf("at %s: %v, want %q", c.now, err, c.code)
		}
	}
	// Without NotOnOrAfter the token lives for Java's default hour.
	tok = signXML(t, k, func(a *etree.Element) {
		a.FindElement("./Subject/SubjectConfirmation/SubjectConfirmationData").RemoveAttr("NotOnOrAfter")
	})
	got, err := ParseTransCell(tok, trustOf(k), testNow)
	if err != nil || !got.Expires.Equal(testNow.Add(time.Hour)) {
		t.Errorf("no NotOnOrAfter: %+v, %v", got, err)
	}
}

// TestTransCellForeignSignatureForms accepts what other XML-DSig signers
// (goxmldsig here) write: a "ds:" prefix, Reference URI="#ID", exclusive
// C14N, an explicit C14N transform, no X509SubjectName; SHA-1 is refused.
func TestTransCellForeignSignatureForms(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	sign := func(c14n dsig.Canonicalizer, method string) string {
		ctx, err := dsig.NewSigningContext(k.Key, [][]byte{k.CertDER})
		if err != nil {
			t.Fatal(err)
		}
		ctx.Canonicalizer = c14n
		if err := ctx.SetSignatureMethod(method); err != nil {
			t.Fatal(err)
		}
		signed, err := ctx.SignEnveloped(assertionElement(sampleToken(), sampleToken().ID))
		if err != nil {
			t.Fatal(err)
		}
		b, err := serialize(signed)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for name, tok := range map[string]string{
		"exc-c14n": sign(dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(""), dsig.RSASHA256SignatureMethod),
		"c14n11":   sign(dsig.MakeC14N11Canonicalizer(), dsig.RSASHA512SignatureMethod),
		"c14n-1.0": sign(dsig.MakeC14N10RecCanonicalizer(), dsig.RSASHA384SignatureMethod),
	} {
		got, err := ParseTransCell(tok, trustOf(k), testNow)
		if err != nil || !sameToken(got, sampleToken()) {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
	_, err := ParseTransCell(sign(dsig.MakeC14N10RecCanonicalizer(), dsig.RSASHA1SignatureMethod), trustOf(k), testNow)
	wantCode(t, err, "PR401-AU-0008")
}

func TestIsTransCellToken(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	if tok := mustSign(t, k, sampleToken()); !IsTransCellToken(tok) {
		t.Error("own token not recognized")
	}
	for _, s := range []string{"", "AR~abcdef", "AV~PEFz", "RR~x", "GC~y", "PEF", "PEFz c3Nl", "master-token", "Bearer PEFz"} {
		if IsTransCellToken(s) {
			t.Errorf("IsTransCellToken(%q)", s)
		}
	}
}

func BenchmarkParseTransCell(b *testing.B) {
	k := testUnitKey(b, "unit-a.example")
	tok, trust := mustSign(b, k, sampleToken()), trustOf(k)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTransCell(tok, trust, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignTransCell(b *testing.B) {
	k := testUnitKey(b, "unit-a.example")
	tc := sampleToken()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.SignTransCell(tc, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}
