package auth

// Hostile transcell tokens: tampering, signature wrapping, DTDs, and the
// fuzz target. Run the fuzzer with
//
//	go test ./internal/auth -run '^$' -fuzz FuzzParseTransCell -fuzztime 60s -parallel 1

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/personium-go/personium/internal/perr"
)

// TestTransCellFlippedByte changes every byte of a token's XML, and many
// characters of the token itself: nothing may be accepted.
func TestTransCellFlippedByte(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	tok, trust := mustSign(t, k, sampleToken()), trustOf(k)
	xml := []byte(decodeXML(t, tok))
	masks := []byte{0x01, 0x20}
	if testing.Short() {
		masks = masks[:1]
	}
	for _, m := range masks {
		for i := range xml {
			b := append([]byte(nil), xml...)
			b[i] ^= m
			if got, err := ParseTransCell(encodeXML(string(b)), trust, testNow); err == nil {
				t.Fatalf("byte %d (%q) ^ %#x accepted: %+v", i, xml[i], m, got)
			}
		}
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(tok); i += 3 {
		j := (strings.IndexByte(alphabet, tok[i]) + 1) % len(alphabet)
		if _, err := ParseTransCell(tok[:i]+alphabet[j:j+1]+tok[i+1:], trust, testNow); err == nil {
			t.Fatalf("token character %d changed and accepted", i)
		}
	}
}

// TestTransCellSignatureWrapping moves a genuine signature or signed
// assertion around a forged one.
func TestTransCellSignatureWrapping(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	trust := trustOf(k)
	readRoot := func(tok string) *etree.Element {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(decodeXML(t, tok)); err != nil {
			t.Fatal(err)
		}
		return doc.Root()
	}
	genuine := readRoot(mustSign(t, k, sampleToken()))
	forgedToken := sampleToken()
	forgedToken.Subject = "https://alice.unit-a.example/#mallory"
	forgedToken.Roles = []string{"https://alice.unit-a.example/__role/__/admin"}
	forged := func() *etree.Element { return assertionElement(forgedToken, sampleToken().ID) }
	sigOf := func(a *etree.Element) *etree.Element { return a.SelectElement("Signature").Copy() }

	attacks := map[string]*etree.Element{}
	// The signed assertion inside an element of a forged outer one.
	f := forged()
	f.CreateElement("Advice").AddChild(genuine.Copy())
	attacks["signed assertion in Advice"] = f
	// The signed assertion after the forged one's content, signature last.
	f = forged()
	f.AddChild(genuine.Copy())
	attacks["signed assertion as child"] = f
	// The genuine Signature pasted into the forged assertion.
	f = forged()
	f.AddChild(sigOf(genuine))
	attacks["copied signature"] = f
	// The genuine Signature, carrying the signed assertion in an Object.
	f = forged()
	s := sigOf(genuine)
	s.CreateElement("Object").AddChild(genuine.Copy())
	f.AddChild(s)
	attacks["signed assertion in ds:Object"] = f
	// Two signatures, the first one genuine.
	f = genuine.Copy()
	f.AddChild(sigOf(genuine))
	attacks["two signatures"] = f
	// A second Subject before the signed one.
	f = genuine.Copy()
	f.InsertChildAt(0, forged().SelectElement("Subject"))
	attacks["extra Subject"] = f
	// The genuine signature moved into the Subject.
	f = genuine.Copy()
	sg := f.SelectElement("Signature")
	f.RemoveChild(sg)
	f.SelectElement("Subject").AddChild(sg)
	attacks["signature moved"] = f

	for name, root := range attacks {
		b, err := serialize(root)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseTransCell(encodeXML(string(b)), trust, testNow)
		if err == nil {
			t.Errorf("%s: accepted %+v", name, got)
		} else if c := perr.CodeOf(err); c != "PR401-AU-0008" {
			t.Errorf("%s: %v, want PR401-AU-0008", name, err)
		}
	}
}

func TestTransCellRefusesDTDAndMalformed(t *testing.T) {
	k := testUnitKey(t, "unit-a.example")
	trust := trustOf(k)
	xml := decodeXML(t, mustSign(t, k, sampleToken()))
	doctype := `<!DOCTYPE Assertion [<!ENTITY x "https://alice.unit-a.example/">]>`
	laughs := `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>`
	for name, token := range map[string]string{
		"doctype before signed XML": encodeXML(doctype + xml),
		"entity in signed XML":      encodeXML(doctype + strings.Replace(xml, "<Issuer>https://alice.unit-a.example/", "<Issuer>&x;", 1)),
		"billion laughs":            encodeXML(laughs + `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion">&c;</Assertion>`),
		"external entity":           encodeXML(`<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion">&e;</Assertion>`),
		"comment":                   encodeXML(strings.Replace(xml, "<Subject>", "<!-- hi --><Subject>", 1)),
		"CDATA":                     encodeXML(strings.Replace(xml, "root<", "<![CDATA[root]]><", 1)),
		"processing instruction":    encodeXML(strings.Replace(xml, "<Subject>", "<?pi x?><Subject>", 1)),
		"undeclared entity":         encodeXML(strings.Replace(xml, "https://bob", "&bob;", 1)),
		"empty":                     "",
		"not base64":                "PEFz!!c3Nl",
		"not XML":                   encodeXML("hello"),
		"truncated XML":             encodeXML(xml[:len(xml)/2]),
		"other root":                encodeXML(strings.Replace(strings.Replace(xml, "<Assertion ", "<Response ", 1), "</Assertion>", "</Response>", 1)),
		"two roots":                 encodeXML(xml + xml),
		"text after root":           encodeXML(xml + "x"),
		"no signature":              encodeXML(xml[:strings.Index(xml, "<Signature ")] + "</Assertion>"),
		"too large":                 encodeXML(strings.Replace(xml, "<Issuer>", "<Issuer>"+strings.Repeat("x", MaxTransCellTokenSize), 1)),
		"too large padded":          strings.Repeat("P", 2*MaxTransCellTokenSize),
	} {
		got, err := ParseTransCell(token, trust, testNow)
		if err == nil {
			t.Errorf("%s: accepted %+v", name, got)
		} else if c := perr.CodeOf(err); c != "PR401-AU-0006" {
			t.Errorf("%s: %v, want PR401-AU-0006", name, err)
		}
	}
	// A validly signed assertion with broken content is a parse error too.
	tok := signXML(t, k, func(a *etree.Element) { a.RemoveChild(a.SelectElement("Issuer")) })
	_, err := ParseTransCell(tok, trust, testNow)
	wantCode(t, err, "PR401-AU-0006")
	// The padded standard-alphabet form that Java's decoder also takes is fine.
	std := base64.StdEncoding.EncodeToString([]byte(xml))
	if _, err := ParseTransCell(std, trust, testNow); err != nil {
		t.Errorf("standard base64: %v", err)
	}
}

// FuzzParseTransCell feeds arbitrary XML (or, with raw set, arbitrary token
// strings) to ParseTransCell. It must not panic, must fail with one of the
// token codes, and may only accept content that the test key signed.
func FuzzParseTransCell(f *testing.F) {
	k := testUnitKey(f, "unit-a.example")
	trust := trustOf(k)
	now := testNow.Add(time.Minute)
	minimal := &TransCellToken{ID: "m", Issuer: "https://unit-a.example/", Subject: "https://unit-a.example/",
		Target: "https://unit-a.example/x/", IssuedAt: testNow, Expires: testNow.Add(time.Hour)}
	var signed []*TransCellToken
	for _, tc := range []*TransCellToken{sampleToken(), minimal} {
		tok := mustSign(f, k, tc)
		got, err := ParseTransCell(tok, trust, now)
		if err != nil {
			f.Fatal(err)
		}
		signed = append(signed, got)
		f.Add([]byte(decodeXML(f, tok)), false)
		f.Add([]byte(tok), true)
	}
	f.Add([]byte(`<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/></Assertion>`), false)
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`), false)

	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		token := string(data)
		if !raw {
			token = base64.RawURLEncoding.EncodeToString(data)
		}
		got, err := ParseTransCell(token, trust, now)
		if err != nil {
			switch c := perr.CodeOf(err); c {
			case "PR401-AU-0006", "PR401-AU-0008", "PR401-AU-0002":
			default:
				t.Fatalf("error %v has code %q", err, c)
			}
			return
		}
		for _, s := range signed {
			if sameToken(got, s) {
				return
			}
		}
		t.Fatalf("accepted content that was never signed: %+v", got)
	})
}
