package auth

// Transcell tokens (reference §4.3): a SAML 2.0 Assertion with an enveloped
// XML-DSig signature by the issuing unit's key, sent as unpadded base64url.
// The element structure follows personium-lib-common
// io/personium/common/auth/token/TransCellAccessToken.java (toSamlString,
// parse) so that Java units and this one accept each other's tokens:
//
//	<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID=".." Version="2.0" IssueInstant="..">
//	  <Issuer>{issuer cell URL}</Issuer>
//	  <Subject><NameID>{subject}</NameID>
//	    <SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
//	      <SubjectConfirmationData NotOnOrAfter=".." Recipient="{target}__token"/></SubjectConfirmation></Subject>
//	  <Conditions><AudienceRestriction><Audience>{target}</Audience><Audience>{schema}</Audience></AudienceRestriction></Conditions>
//	  <AuthnStatement AuthnInstant=".."><AuthnContext><AuthnContextClassRef>
//	    urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</AuthnContextClassRef></AuthnContext></AuthnStatement>
//	  <AttributeStatement>
//	    <Attribute Name="Roles" NameFormat="urn:x-personium:xmlns"><AttributeValue>{role URL}</AttributeValue>…</Attribute>
//	    <Attribute Name="Scopes"><AttributeValue>{scope}</AttributeValue>…</Attribute></AttributeStatement>
//	  <Signature xmlns="http://www.w3.org/2000/09/xmldsig#">…</Signature>
//	</Assertion>
//
// Like Java, the second Audience carries the schema (empty when there is
// none), the Scopes attribute has no NameFormat (Java sets the Roles one
// twice), and the Signature is the last child of the Assertion: inclusive
// C14N 1.0, RSA-SHA256, one Reference URI="" (the whole document) with the
// enveloped-signature transform and a SHA-256 digest, and KeyInfo/X509Data
// holding X509SubjectName and X509Certificate. Times are written in UTC with
// milliseconds (Java writes its local offset; both parse as ISO 8601).
// Both directions were checked against the JDK's javax.xml.crypto, the API
// and parameters Personium signs and verifies with.

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/personium-go/personium/internal/perr"
)

// TransCellToken is the content of a transcell token.
type TransCellToken struct {
	ID      string // assertion ID; SignTransCell makes a UUID when empty
	Issuer  string // issuing cell URL (ends in /)
	Subject string // subject URL, "{CellURL}#{account}" (or a cell URL for app/cell subjects)
	Target  string // audience: the target cell (or unit) URL, ends in /
	Schema  string // app schema (client_id) the token carries, "" if none
	// Roles are role URLs of the issuer cell the subject holds. Java units
	// only accept role class URLs, "{cell or box schema URL}__role/__/{name}"
	// (Role.createFromRoleClassUrl), and refuse the token otherwise.
	Roles    []string
	Scopes   []string // granted scopes, may be empty
	IssuedAt time.Time
	Expires  time.Time // NotOnOrAfter
}

// Limits and fixed values of transcell tokens.
const (
	// MaxTransCellTokenSize bounds the decoded XML of a token.
	MaxTransCellTokenSize = 64 << 10
	// TransCellClockSkew is how far in the future IssueInstant may lie.
	TransCellClockSkew = 3 * time.Minute
	// transCellDefaultLife applies when a token has no NotOnOrAfter (as in Java).
	transCellDefaultLife = time.Hour

	nsSAML      = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsPersonium = "urn:x-personium:xmlns"
	cmBearer    = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	acPassword  = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	digestSHA2  = "http://www.w3.org/2001/04/xmlenc#sha256"
	samlTime    = "2006-01-02T15:04:05.000Z07:00"
)

// Accepted signature and digest algorithms: RSA with SHA-2. Java accepts
// RSA-SHA1 too; we do not.
var (
	okSignatureMethods = map[string]bool{dsig.RSASHA256SignatureMethod: true,
		dsig.RSASHA384SignatureMethod: true, dsig.RSASHA512SignatureMethod: true}
	okDigestMethods = map[string]bool{digestSHA2: true,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": true, "http://www.w3.org/2001/04/xmlenc#sha512": true}
)

// SignTransCell returns the token as Personium sends it: base64url (no
// padding) of the signed SAML Assertion XML. Issuer, Subject and Target are
// required and Expires must follow IssuedAt. rand gives the assertion ID
// when t.ID is empty (t is not modified).
func (k *UnitKey) SignTransCell(t *TransCellToken, rand io.Reader) (string, error) {
	if t.Issuer == "" || t.Subject == "" || t.Target == "" || !t.Expires.After(t.IssuedAt) {
		return "", errors.New("auth: transcell token needs issuer, subject, target and a lifetime")
	}
	id := t.ID
	if id == "" {
		var err error
		if id, err = newUUID(rand); err != nil {
			return "", err
		}
	}
	a := assertionElement(t, id)
	if err := k.signEnveloped(a, rand); err != nil {
		return "", err
	}
	b, err := serialize(a)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// assertionElement builds the unsigned Assertion in Java's element order.
func assertionElement(t *TransCellToken, id string) *etree.Element {
	issued := t.IssuedAt.UTC().Format(samlTime)
	a := etree.NewElement("Assertion")
	a.CreateAttr("xmlns", nsSAML)
	a.CreateAttr("ID", id)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", issued)
	a.CreateElement("Issuer").SetText(t.Issuer)

	sub := a.CreateElement("Subject")
	sub.CreateElement("NameID").SetText(t.Subject)
	sc := sub.CreateElement("SubjectConfirmation")
	sc.CreateAttr("Method", cmBearer)
	scd := sc.CreateElement("SubjectConfirmationData")
	scd.CreateAttr("NotOnOrAfter", t.Expires.UTC().Format(samlTime))
	scd.CreateAttr("Recipient", t.Target+"__token")

	ar := a.CreateElement("Conditions").CreateElement("AudienceRestriction")
	ar.CreateElement("Audience").SetText(t.Target)
	ar.CreateElement("Audience").SetText(t.Schema)

	as := a.CreateElement("AuthnStatement")
	as.CreateAttr("AuthnInstant", issued)
	as.CreateElement("AuthnContext").CreateElement("AuthnContextClassRef").SetText(acPassword)

	st := a.CreateElement("AttributeStatement")
	roles := st.CreateElement("Attribute")
	roles.CreateAttr("Name", "Roles")
	roles.CreateAttr("NameFormat", nsPersonium)
	for _, r := range t.Roles {
		roles.CreateElement("AttributeValue").SetText(r)
	}
	scopes := st.CreateElement("Attribute")
	scopes.CreateAttr("Name", "Scopes")
	for _, s := range t.Scopes {
		scopes.CreateElement("AttributeValue").SetText(s)
	}
	return a
}

// signEnveloped appends the enveloped Signature to a. The digest is over
// a without the signature and the signature over SignedInfo in place, both
// canonicalized with inclusive C14N 1.0 as Java's XMLSignatureFactory does.
// goxmldsig's own signer would add an explicit C14N Transform, point the
// Reference at "#ID" and omit X509SubjectName; Java verifies either form.
func (k *UnitKey) signEnveloped(a *etree.Element, rand io.Reader) error {
	c14n := dsig.MakeC14N10RecCanonicalizer()
	body, err := c14n.Canonicalize(a)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(body)

	sig := a.CreateElement(dsig.SignatureTag)
	sig.CreateAttr("xmlns", dsig.Namespace)
	si := sig.CreateElement(dsig.SignedInfoTag)
	si.CreateElement(dsig.CanonicalizationMethodTag).CreateAttr(dsig.AlgorithmAttr, c14n.Algorithm().String())
	si.CreateElement(dsig.SignatureMethodTag).CreateAttr(dsig.AlgorithmAttr, dsig.RSASHA256SignatureMethod)
	ref := si.CreateElement(dsig.ReferenceTag)
	ref.CreateAttr(dsig.URIAttr, "")
	ref.CreateElement(dsig.TransformsTag).CreateElement(dsig.TransformTag).
		CreateAttr(dsig.AlgorithmAttr, dsig.EnvelopedSignatureAltorithmId.String())
	ref.CreateElement(dsig.DigestMethodTag).CreateAttr(dsig.AlgorithmAttr, digestSHA2)
	ref.CreateElement(dsig.DigestValueTag).SetText(base64.StdEncoding.EncodeToString(digest[:]))

	signedInfo, err := c14n.Canonicalize(si)
	if err != nil {
		return err
	}
	h := sha256.Sum256(signedInfo)
	value, err := rsa.SignPKCS1v15(rand, k.Key, crypto.SHA256, h[:])
	if err != nil {
		return fmt.Errorf("auth: signing transcell token: %w", err)
	}
	sig.CreateElement(dsig.SignatureValueTag).SetText(base64.StdEncoding.EncodeToString(value))
	xd := sig.CreateElement(dsig.KeyInfoTag).CreateElement(dsig.X509DataTag)
	xd.CreateElement("X509SubjectName").SetText(k.Cert.Subject.String())
	xd.CreateElement(dsig.X509CertificateTag).SetText(base64.StdEncoding.EncodeToString(k.CertDER))
	return nil
}

// serialize writes el without XML declaration (as Java's nodeToString) and
// in canonical escaping.
func serialize(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el)
	doc.WriteSettings = etree.WriteSettings{CanonicalAttrVal: true, CanonicalEndTags: true, CanonicalText: true}
	return doc.WriteToBytes()
}

// newUUID returns a random (version 4) UUID, the form of Java's assertion IDs.
func newUUID(rand io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("auth: assertion ID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

// ParseTransCell decodes and verifies a token: well-formed XML without DTD
// or comments, at most MaxTransCellTokenSize bytes; exactly one enveloped
// signature, a child of the Assertion, whose Reference covers the whole
// Assertion, by the certificate in its KeyInfo, which trust must hold (or
// which must chain to a certificate trust holds) and whose names must cover
// the issuer's host; not expired at now (NotOnOrAfter) and IssueInstant no
// more than TransCellClockSkew in the future. It does not check Target: the
// caller compares it with the receiving cell (PR400-AN-0012 at __token).
// The content returned is read
// from the bytes the signature was verified over, never from the input
// document, so nothing outside the signed element can be smuggled in.
//
// Errors, as Personium's AccessContext reports them: PR401-AU-0006 when the
// token cannot be decoded or parsed or has no signature, PR401-AU-0008 when
// the signature or certificate is wrong or untrusted, PR401-AU-0002 when
// expired or not yet valid. (The token endpoint maps these to PR400-AN-0009,
// -0011 and -0010.) Where Java reads the content before checking the
// signature, we verify first: malformed content under a bad signature is
// PR401-AU-0008 here.
func ParseTransCell(token string, trust *TrustStore, now time.Time) (*TransCellToken, error) {
	const op = "auth.ParseTransCell"
	parseErr := func(err error) error { return perr.New("PR401-AU-0006").WithOp(op).WithCause(err) }
	dsigErr := func(err error) error { return perr.New("PR401-AU-0008").WithOp(op).WithCause(err) }

	root, err := readAssertion(token)
	if err != nil {
		return nil, parseErr(err)
	}
	sig, err := findSignature(root)
	if sig == nil {
		return nil, parseErr(err)
	}
	if err != nil {
		return nil, dsigErr(err)
	}
	cert, err := signingCert(root, sig)
	if err != nil {
		return nil, dsigErr(err)
	}
	if err := trust.trusts(cert, now); err != nil {
		return nil, dsigErr(fmt.Errorf("untrusted certificate %q: %w", cert.Subject, err))
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vc.Clock = dsig.NewFakeClockAt(now)
	signed, err := vc.Validate(root)
	if err != nil {
		return nil, dsigErr(err)
	}
	t, err := tokenOf(signed)
	if err != nil {
		return nil, parseErr(err)
	}
	host, err := urlHost(t.Issuer)
	if err != nil {
		return nil, parseErr(fmt.Errorf("issuer %q: %w", t.Issuer, err))
	}
	if !certCoversHost(cert, host) {
		return nil, dsigErr(fmt.Errorf("certificate %q does not cover issuer host %q", cert.Subject, host))
	}
	if !now.Before(t.Expires) {
		return nil, perr.New("PR401-AU-0002").WithOp(op).WithCause(fmt.Errorf("expired at %s", t.Expires))
	}
	if t.IssuedAt.After(now.Add(TransCellClockSkew)) {
		return nil, perr.New("PR401-AU-0002").WithOp(op).WithCause(fmt.Errorf("issued in the future, at %s", t.IssuedAt))
	}
	return t, nil
}

// readAssertion decodes the token and parses its XML, refusing DTDs,
// entities, comments, CDATA and processing instructions (Java emits none).
func readAssertion(token string) (*etree.Element, error) {
	if len(token) > base64.RawURLEncoding.EncodedLen(MaxTransCellTokenSize)+2 {
		return nil, errors.New("token too large")
	}
	// Java's decoder takes either alphabet and padding.
	s := strings.TrimRight(token, "=")
	if strings.ContainsAny(s, "+/") {
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 || len(raw) > MaxTransCellTokenSize {
		return nil, fmt.Errorf("token of %d bytes", len(raw))
	}
	if strings.Contains(string(raw), "<!") || strings.Contains(string(raw[1:]), "<?") {
		return nil, errors.New("DTD, comment, CDATA or processing instruction in token")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, err
	}
	var root *etree.Element
	for i, tok := range doc.Child {
		switch tok := tok.(type) {
		case *etree.Element:
			if root != nil {
				return nil, errors.New("more than one root element")
			}
			root = tok
		case *etree.ProcInst:
			if i != 0 || tok.Target != "xml" {
				return nil, errors.New("processing instruction in token")
			}
		case *etree.CharData:
			if strings.TrimSpace(tok.Data) != "" {
				return nil, errors.New("text outside the root element")
			}
		default:
			return nil, fmt.Errorf("unexpected %T in token", tok)
		}
	}
	if root == nil || root.Tag != "Assertion" || root.NamespaceURI() != nsSAML {
		return nil, errors.New("root element is not a SAML 2.0 Assertion")
	}
	return root, nil
}

// findSignature returns the one Signature of the document, which must be a
// child of the root (an enveloped signature, where Java puts it). It
// returns a nil element when there is none; an element and an error when
// there are several or it is elsewhere (signature wrapping).
func findSignature(root *etree.Element) (*etree.Element, error) {
	var sigs []*etree.Element
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		for _, c := range el.ChildElements() {
			if c.Tag == dsig.SignatureTag {
				sigs = append(sigs, c)
			}
			walk(c)
		}
	}
	walk(root)
	switch {
	case len(sigs) == 0:
		return nil, errors.New("no Signature element")
	case len(sigs) > 1:
		return sigs[0], errors.New("more than one Signature element")
	case sigs[0].Parent() != root || sigs[0].NamespaceURI() != dsig.Namespace:
		return sigs[0], errors.New("Signature is not an XML-DSig child of the Assertion")
	}
	return sigs[0], nil
}

// signingCert checks the shape and algorithms of the signature and returns
// the (not yet trusted) certificate of its KeyInfo. goxmldsig then verifies
// SignedInfo and the Reference against exactly this certificate.
func signingCert(root, sig *etree.Element) (*x509.Certificate, error) {
	var err error
	get := func(el *etree.Element, tags ...string) *etree.Element { // single XML-DSig descendants
		for _, tag := range tags {
			if err == nil {
				el, err = only(el, dsig.Namespace, tag)
			}
		}
		return el
	}
	sm := get(sig, dsig.SignedInfoTag, dsig.SignatureMethodTag)
	ref := get(sig, dsig.SignedInfoTag, dsig.ReferenceTag)
	dm := get(ref, dsig.DigestMethodTag)
	sv := get(sig, dsig.SignatureValueTag)
	xd := get(sig, dsig.KeyInfoTag, dsig.X509DataTag)
	ce := get(xd, dsig.X509CertificateTag)
	if err != nil {
		return nil, err
	}
	if alg := sm.SelectAttrValue(dsig.AlgorithmAttr, ""); !okSignatureMethods[alg] {
		return nil, fmt.Errorf("signature method %q not accepted", alg)
	}
	if alg := dm.SelectAttrValue(dsig.AlgorithmAttr, ""); !okDigestMethods[alg] {
		return nil, fmt.Errorf("digest method %q not accepted", alg)
	}
	if uri := ref.SelectAttrValue(dsig.URIAttr, ""); uri != "" && uri != "#"+root.SelectAttrValue(dsig.DefaultIdAttr, "") {
		return nil, fmt.Errorf("reference %q is not to the Assertion", uri)
	}
	// The rest of Signature is not signed: allow nothing but what Java
	// writes, each value in one form only, so that any change is refused.
	for _, c := range []struct {
		el   *etree.Element
		tags []string
	}{
		{sig, []string{dsig.SignedInfoTag, dsig.SignatureValueTag, dsig.KeyInfoTag}},
		{xd.Parent(), []string{dsig.X509DataTag}},
		{xd, []string{"X509SubjectName", dsig.X509CertificateTag}},
	} {
		if err := onlyChildren(c.el, c.tags...); err != nil {
			return nil, err
		}
	}
	if _, err := strictBase64(sv); err != nil {
		return nil, fmt.Errorf("SignatureValue: %w", err)
	}
	der, err := strictBase64(ce)
	if err != nil {
		return nil, fmt.Errorf("X509Certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if names := kids(xd, dsig.Namespace, "X509SubjectName"); len(names) > 1 ||
		len(names) == 1 && subjectCN(names[0].Text()) != cert.Subject.CommonName {
		return nil, errors.New("X509SubjectName does not name the certificate's CN")
	}
	return cert, nil
}

// onlyChildren refuses children of el other than XML-DSig elements named
// in tags and white space.
func onlyChildren(el *etree.Element, tags ...string) error {
	for _, tok := range el.Child {
		switch tok := tok.(type) {
		case *etree.Element:
			if !slices.Contains(tags, tok.Tag) || tok.NamespaceURI() != dsig.Namespace {
				return fmt.Errorf("unexpected %s in %s", tok.Tag, el.Tag)
			}
		case *etree.CharData:
			if strings.TrimSpace(tok.Data) != "" {
				return fmt.Errorf("text in %s", el.Tag)
			}
		default:
			return fmt.Errorf("unexpected %T in %s", tok, el.Tag)
		}
	}
	return nil
}

// strictBase64 decodes the base64 text of el, ignoring line breaks and
// refusing non-canonical encodings (non-zero padding bits).
func strictBase64(el *etree.Element) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(strings.Join(strings.Fields(el.Text()), ""))
	if err == nil && len(b) == 0 {
		err = errors.New("empty")
	}
	return b, err
}

// subjectCN returns the CN of an RFC 2253 X509SubjectName. Java writes
// getSubjectX500Principal().getName(), whose order and string encodings Go
// does not reproduce, so only the CN, which Personium checks against the
// issuer host, must agree with the certificate.
func subjectCN(dn string) string {
	for _, rdn := range strings.Split(dn, ",") {
		if k, v, ok := strings.Cut(rdn, "="); ok && k == "CN" { // getName() writes upper case
			return v
		}
	}
	return ""
}

// tokenOf reads the token out of a verified Assertion.
func tokenOf(a *etree.Element) (*TransCellToken, error) {
	t := TransCellToken{ID: a.SelectAttrValue("ID", "")}
	var err error
	text := func(tags ...string) string { // text of a single SAML descendant
		el := a
		for _, tag := range tags {
			if err == nil {
				el, err = only(el, nsSAML, tag)
			}
		}
		var s string
		if err == nil {
			s, err = leafText(el)
		}
		return s
	}
	t.Issuer, t.Subject = text("Issuer"), text("Subject", "NameID")
	if err != nil {
		return nil, err
	}
	if t.IssuedAt, err = time.Parse(time.RFC3339, a.SelectAttrValue("IssueInstant", "")); err != nil {
		return nil, fmt.Errorf("IssueInstant: %w", err)
	}
	// Without NotOnOrAfter Java assumes the default lifetime. (Java units
	// of 2016 wrote an empty SubjectConfirmation; today's fail on it.)
	t.Expires = t.IssuedAt.Add(transCellDefaultLife)
	for _, sc := range kids(kids(a, nsSAML, "Subject")[0], nsSAML, "SubjectConfirmation") {
		for _, scd := range kids(sc, nsSAML, "SubjectConfirmationData") {
			if s := scd.SelectAttrValue("NotOnOrAfter", ""); s != "" {
				if t.Expires, err = time.Parse(time.RFC3339, s); err != nil {
					return nil, fmt.Errorf("NotOnOrAfter: %w", err)
				}
			}
		}
	}
	var auds []*etree.Element
	if cond := kids(a, nsSAML, "Conditions"); len(cond) == 1 {
		if ar := kids(cond[0], nsSAML, "AudienceRestriction"); len(ar) == 1 {
			auds = kids(ar[0], nsSAML, "Audience")
		}
	}
	if len(auds) == 0 {
		return nil, errors.New("no Conditions/AudienceRestriction/Audience")
	}
	if t.Target, err = leafText(auds[0]); err != nil {
		return nil, err
	}
	if len(auds) > 1 { // Java's second Audience is the schema
		if t.Schema, err = leafText(auds[1]); err != nil {
			return nil, err
		}
	}
	for _, st := range kids(a, nsSAML, "AttributeStatement") {
		for _, at := range kids(st, nsSAML, "Attribute") {
			var dst *[]string
			switch at.SelectAttrValue("Name", "") {
			case "Roles":
				dst = &t.Roles
			case "Scopes":
				dst = &t.Scopes
			default:
				continue
			}
			for _, v := range kids(at, nsSAML, "AttributeValue") {
				s, err := leafText(v)
				if err != nil {
					return nil, err
				}
				*dst = append(*dst, s)
			}
		}
	}
	return &t, nil
}

// kids returns the child elements of el named tag in namespace ns.
func kids(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

// only returns the single child of el named tag in namespace ns.
func only(el *etree.Element, ns, tag string) (*etree.Element, error) {
	k := kids(el, ns, tag)
	if len(k) != 1 {
		return nil, fmt.Errorf("%s has %d %s elements, want 1", el.Tag, len(k), tag)
	}
	return k[0], nil
}

// leafText returns the text of an element that has no child elements.
func leafText(el *etree.Element) (string, error) {
	if len(el.ChildElements()) != 0 {
		return "", fmt.Errorf("%s has child elements", el.Tag)
	}
	return el.Text(), nil
}

// IsTransCellToken reports cheaply whether a token string looks like a
// transcell token: base64 of XML ("<" encodes to a leading "P") without a
// local-token prefix such as "AR~".
func IsTransCellToken(s string) bool {
	if len(s) < 4 || s[0] != 'P' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}
