package dav

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/personium-go/personium/internal/perr"
)

// Propstat is one propstat of a multistatus response: properties that
// share a status (RFC 4918 §14.22). Error holds precondition or
// postcondition elements (RFC 4918 §16), e.g. ValidResourceType.
type Propstat struct {
	Props               []Property
	Status              int
	Error               []Property
	ResponseDescription string
}

// Response is one response of a multistatus (RFC 4918 §14.24): either
// Propstats, or Status for href-only responses (e.g. 404), not both.
type Response struct {
	Href                string // already URL-escaped; only XML escaping is applied
	Propstats           []Propstat
	Status              int
	Error               []Property
	ResponseDescription string
}

// WriteMultistatus writes a 207 body:
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<multistatus xmlns="DAV:" xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">…
//
// as Personium writes it: DAV: is the default namespace, so that clients
// that look elements up by their bare names (getElementsByTagName("href"))
// find them. Each property element is written unprefixed if it is in
// DAV: and its InnerXML has no unprefixed element (which would otherwise
// fall into DAV:), else with the prefix D or p for those namespaces, no
// prefix for the empty namespace and ns0 (declared on the element) for
// any other, with xmlns="" where unprefixed elements inside must stay in
// no namespace; then its Attr, and its InnerXML verbatim (an empty
// element when InnerXML is empty). Status lines read "HTTP/1.1 200 OK".
// Everything is checked before the first byte is written: a property
// name that is not an XML name, an InnerXML that is not self-contained
// well-formed content, a status outside 100–599 or a response with both
// or neither of Propstats and Status is an error of Kind Internal.
// Characters XML cannot carry in hrefs and descriptions become U+FFFD.
func WriteMultistatus(w io.Writer, rs []Response) error {
	const op = "dav.WriteMultistatus"
	for i := range rs {
		if err := checkResponse(&rs[i]); err != nil {
			return &perr.E{Kind: perr.Internal, Op: op, Path: rs[i].Href, Err: err}
		}
	}
	b := make([]byte, 0, 4096)
	b = append(b, xml.Header...)
	b = append(b, `<multistatus xmlns="DAV:" xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">`...)
	bw := bufio.NewWriter(w)
	for i := range rs {
		b = appendResponse(b, &rs[i])
		if _, err := bw.Write(b); err != nil {
			return err
		}
		b = b[:0]
	}
	b = append(b, "</multistatus>\n"...)
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteMkcolResponse writes the body of a refused extended MKCOL
// (RFC 5689 §5.2): a D:mkcol-response with the propstats. Checks are
// those of WriteMultistatus.
func WriteMkcolResponse(w io.Writer, ps []Propstat) error {
	const op = "dav.WriteMkcolResponse"
	for i := range ps {
		if err := checkPropstat(&ps[i]); err != nil {
			return &perr.E{Kind: perr.Internal, Op: op, Err: err}
		}
	}
	b := append([]byte(xml.Header), `<mkcol-response xmlns="DAV:" xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">`...)
	for i := range ps {
		b = appendPropstat(b, &ps[i])
	}
	b = append(b, "</mkcol-response>\n"...)
	_, err := w.Write(b)
	return err
}

func checkResponse(r *Response) error {
	switch {
	case len(r.Propstats) > 0 && r.Status != 0:
		return errors.New("response with both propstats and a status")
	case len(r.Propstats) == 0:
		if err := checkStatus(r.Status); err != nil {
			return err
		}
	}
	for i := range r.Propstats {
		if err := checkPropstat(&r.Propstats[i]); err != nil {
			return err
		}
	}
	return checkProps(r.Error)
}

func checkPropstat(ps *Propstat) error {
	if err := checkStatus(ps.Status); err != nil {
		return err
	}
	if err := checkProps(ps.Props); err != nil {
		return err
	}
	return checkProps(ps.Error)
}

func checkStatus(s int) error {
	if s < 100 || s > 599 {
		return fmt.Errorf("status %d", s)
	}
	return nil
}

func checkProps(ps []Property) error {
	for i := range ps {
		if err := checkProperty(&ps[i]); err != nil {
			return err
		}
	}
	return nil
}

// checkProperty verifies what WriteMultistatus writes without escaping:
// names, and InnerXML as self-contained content.
func checkProperty(p *Property) error {
	if !isNCName(p.Name.Local) || p.Name.Space == nsXMLNS || !validChars(p.Name.Space) {
		return fmt.Errorf("property name {%s}%s", p.Name.Space, p.Name.Local)
	}
	seen := map[xml.Name]bool{}
	for _, a := range p.Attr {
		if !isNCName(a.Name.Local) || a.Name.Space == nsXMLNS || !validChars(a.Name.Space) ||
			(a.Name.Space == "" && a.Name.Local == "xmlns") || seen[a.Name] {
			return fmt.Errorf("attribute {%s}%s of property {%s}%s", a.Name.Space, a.Name.Local, p.Name.Space, p.Name.Local)
		}
		seen[a.Name] = true
	}
	if len(p.InnerXML) == 0 {
		return nil
	}
	if len(p.InnerXML) > MaxXMLBytes {
		return fmt.Errorf("value of {%s}%s longer than %d bytes", p.Name.Space, p.Name.Local, MaxXMLBytes)
	}
	doc := make([]byte, 0, len(p.InnerXML)+7)
	doc = append(append(append(doc, "<v>"...), p.InnerXML...), "</v>"...)
	r := newReader(doc)
	if _, err := r.root(); err != nil {
		return fmt.Errorf("value of {%s}%s: %w", p.Name.Space, p.Name.Local, err)
	}
	if err := r.skip(nil); err != nil {
		return fmt.Errorf("value of {%s}%s: %w", p.Name.Space, p.Name.Local, err)
	}
	if err := r.finish(); err != nil {
		return fmt.Errorf("value of {%s}%s: %w", p.Name.Space, p.Name.Local, err)
	}
	return nil
}

func appendResponse(b []byte, r *Response) []byte {
	b = append(b, "<response><href>"...)
	b = appendEscaped(b, r.Href, false)
	b = append(b, "</href>"...)
	if len(r.Propstats) == 0 {
		b = appendStatus(b, r.Status)
	}
	for i := range r.Propstats {
		b = appendPropstat(b, &r.Propstats[i])
	}
	b = appendError(b, r.Error)
	b = appendDescription(b, r.ResponseDescription)
	return append(b, "</response>\n"...)
}

func appendPropstat(b []byte, ps *Propstat) []byte {
	b = append(b, "<propstat><prop>"...)
	for i := range ps.Props {
		b = appendProperty(b, &ps.Props[i], true)
	}
	b = append(b, "</prop>"...)
	b = appendStatus(b, ps.Status)
	b = appendError(b, ps.Error)
	b = appendDescription(b, ps.ResponseDescription)
	return append(b, "</propstat>"...)
}

func appendStatus(b []byte, s int) []byte {
	b = append(b, "<status>HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(s), 10)
	b = append(b, ' ')
	b = appendEscaped(b, http.StatusText(s), false)
	return append(b, "</status>"...)
}

func appendError(b []byte, es []Property) []byte {
	if len(es) == 0 {
		return b
	}
	b = append(b, "<error>"...)
	for i := range es {
		b = appendProperty(b, &es[i], true)
	}
	return append(b, "</error>"...)
}

func appendDescription(b []byte, d string) []byte {
	if d == "" {
		return b
	}
	b = append(b, "<responsedescription>"...)
	b = appendEscaped(b, d, false)
	return append(b, "</responsedescription>"...)
}

// fixedPrefix gives the prefixes that need no declaration inside a
// multistatus or mkcol-response.
func fixedPrefix(space string) (string, bool) {
	switch space {
	case NSDAV:
		return "D", true
	case NSPersonium:
		return "p", true
	case nsXML:
		return "xml", true
	case "":
		return "", true
	}
	return "", false
}

// appendProperty writes a checked property element, for a context where
// DAV: is the default namespace if davDefault (WriteMultistatus), else
// where there is no default namespace; D and p are declared in both.
func appendProperty(b []byte, p *Property, davDefault bool) []byte {
	prefixes := map[string]string{} // namespace → prefix declared on the element
	var decls []nsDecl
	prefixOf := func(space string) string {
		if pf, ok := fixedPrefix(space); ok {
			return pf
		}
		if pf, ok := prefixes[space]; ok {
			return pf
		}
		pf := "ns" + strconv.Itoa(len(decls))
		prefixes[space] = pf
		decls = append(decls, nsDecl{pf, space})
		return pf
	}
	// The element's own prefix: DAV: is the default namespace of the
	// document, unless unprefixed elements inside must stay in no
	// namespace; then xmlns="" resets the default for them.
	inner := hasUnprefixedElement(p.InnerXML)
	var e elem
	switch {
	case !davDefault:
		e = elem{name: p.Name, prefix: prefixOf(p.Name.Space)}
	case p.Name.Space == NSDAV && !inner:
		e = elem{name: p.Name}
	case p.Name.Space == "":
		e = elem{name: p.Name}
		decls = append(decls, nsDecl{"", ""})
	default:
		e = elem{name: p.Name, prefix: prefixOf(p.Name.Space)}
		if inner {
			decls = append(decls, nsDecl{"", ""})
		}
	}
	for _, a := range p.Attr {
		pf := ""
		if a.Name.Space != "" {
			pf = prefixOf(a.Name.Space)
		}
		e.attrs = append(e.attrs, attribute{name: a.Name, prefix: pf, value: a.Value})
	}
	e.decls = decls
	b = appendStartTag(b, &e, nil)
	if len(p.InnerXML) == 0 {
		return append(b, "/>"...)
	}
	b = append(b, '>')
	b = append(b, p.InnerXML...)
	return appendEndTag(b, xml.Name{Space: e.prefix, Local: p.Name.Local})
}

// hasUnprefixedElement reports whether the well-formed content x has an
// element without a prefix.
func hasUnprefixedElement(x []byte) bool {
	for i := 0; i+1 < len(x); i++ {
		if x[i] != '<' {
			continue
		}
		switch x[i+1] {
		case '/', '!', '?':
			continue
		}
		j := i + 1
		for j < len(x) && x[j] != ':' && x[j] != '>' && x[j] != '/' && x[j] != ' ' && x[j] != '\t' && x[j] != '\n' && x[j] != '\r' {
			j++
		}
		if j >= len(x) || x[j] != ':' {
			return true
		}
	}
	return false
}

// appendStartTag writes "<prefix:local" with the declarations extra,
// then e's own declarations and attributes, without the closing ">".
func appendStartTag(b []byte, e *elem, extra []nsDecl) []byte {
	b = append(b, '<')
	b = appendRawName(b, e.prefix, e.name.Local)
	for _, ds := range [2][]nsDecl{extra, e.decls} {
		for _, d := range ds {
			b = append(b, " xmlns"...)
			if d.prefix != "" {
				b = append(b, ':')
				b = append(b, d.prefix...)
			}
			b = append(b, `="`...)
			b = appendEscaped(b, d.uri, true)
			b = append(b, '"')
		}
	}
	for _, a := range e.attrs {
		b = append(b, ' ')
		b = appendRawName(b, a.prefix, a.name.Local)
		b = append(b, `="`...)
		b = appendEscaped(b, a.value, true)
		b = append(b, '"')
	}
	return b
}

func appendEndTag(b []byte, raw xml.Name) []byte {
	b = append(b, "</"...)
	b = appendRawName(b, raw.Space, raw.Local)
	return append(b, '>')
}

func appendRawName(b []byte, prefix, local string) []byte {
	if prefix != "" {
		b = append(b, prefix...)
		b = append(b, ':')
	}
	return append(b, local...)
}

// appendEscaped appends s as character data, or as an attribute value
// (in double quotes) if attr. Characters XML 1.0 cannot carry, invalid
// UTF-8 included, become U+FFFD. CR (and in attributes TAB and LF) are
// written as references so that a parser gives them back unchanged.
func appendEscaped(b []byte, s string, attr bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '&':
				b = append(b, "&amp;"...)
			case c == '<':
				b = append(b, "&lt;"...)
			case c == '>':
				b = append(b, "&gt;"...)
			case c == '\r':
				b = append(b, "&#xD;"...)
			case attr && c == '"':
				b = append(b, "&quot;"...)
			case attr && c == '\n':
				b = append(b, "&#xA;"...)
			case attr && c == '\t':
				b = append(b, "&#x9;"...)
			case c < 0x20 && c != '\n' && c != '\t':
				b = append(b, "\uFFFD"...)
			default:
				b = append(b, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !xmlChar(r) {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
}

// xmlChar reports whether r is a Char of XML 1.0 (§2.2).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func validChars(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !xmlChar(r) {
			return false
		}
	}
	return true
}

// isNCName reports whether s is an XML name without a colon. It accepts
// the letters encoding/xml accepts.
func isNCName(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9' || r == 0xB7):
		case r >= 0xC0 && r != 0xD7 && r != 0xF7 && xmlChar(r) && isNameRune(r, i == 0):
		default:
			return false
		}
	}
	return true
}

// isNameRune checks a non-ASCII rune against XML 1.0 (fifth edition)
// NameStartChar / NameChar.
func isNameRune(r rune, first bool) bool {
	switch {
	case r >= 0xC0 && r <= 0x2FF, r >= 0x370 && r <= 0x37D, r >= 0x37F && r <= 0x1FFF,
		r >= 0x200C && r <= 0x200D, r >= 0x2070 && r <= 0x218F, r >= 0x2C00 && r <= 0x2FEF,
		r >= 0x3001 && r <= 0xD7FF, r >= 0xF900 && r <= 0xFDCF, r >= 0xFDF0 && r <= 0xFFFD,
		r >= 0x10000 && r <= 0xEFFFF:
		return true
	case !first && (r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040):
		return true
	}
	return false
}

// LiveDate formats t for DAV:getlastmodified: RFC 1123 in GMT, as HTTP
// dates are ("Mon, 02 Jan 2006 15:04:05 GMT").
func LiveDate(t time.Time) string {
	return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")
}

// CreationDate formats t for DAV:creationdate: RFC 3339 in UTC with
// milliseconds ("2006-01-02T15:04:05.000Z"). Personium writes the same
// instant in the server's zone as "2006-01-02T15:04:05.000+0000".
func CreationDate(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// TextProperty returns a property whose value is the text s, escaped.
func TextProperty(name xml.Name, s string) Property {
	return Property{Name: name, InnerXML: appendEscaped(nil, s, false)}
}

// ResourceTypeProp returns DAV:resourcetype with the given children, as
// self-contained empty elements: none for a file, CollectionType's
// ResourceType for collections.
func ResourceTypeProp(names ...xml.Name) Property {
	p := Property{Name: PropResourceType}
	for _, n := range names {
		e := elem{name: n}
		if pf, ok := fixedPrefix(n.Space); ok {
			e.prefix = pf
			if pf != "" && pf != "xml" {
				e.decls = []nsDecl{{pf, n.Space}}
			}
		} else {
			e.prefix = "ns0"
			e.decls = []nsDecl{{"ns0", n.Space}}
		}
		p.InnerXML = append(appendStartTag(p.InnerXML, &e, nil), "/>"...)
	}
	return p
}

// Text returns the value of p as text when it is character data only
// (no child elements); ok is false otherwise.
func (p Property) Text() (s string, ok bool) {
	d := xml.NewDecoder(io.MultiReader(
		strings.NewReader("<v>"), bytes.NewReader(p.InnerXML), strings.NewReader("</v>")))
	var b []byte
	for depth := 0; ; {
		t, err := d.Token()
		if err == io.EOF {
			return string(b), true
		}
		if err != nil {
			return "", false
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth++; depth > 1 {
				return "", false
			}
		case xml.CharData:
			b = append(b, t...)
		case xml.Directive:
			return "", false
		}
	}
}
