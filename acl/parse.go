package acl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
)

// Limits on ACL bodies. Personium has none; these keep a hostile body
// from costing more than a few milliseconds.
const (
	MaxACLBytes = 64 << 10 // larger bodies: PR413-MC-0001
	MaxACEs     = 512      // more ACEs: PR400-DV-0006
	maxDepth    = 32       // deeper element nesting: PR400-DV-0002
)

const op = "acl.Parse"

// Parse reads a Personium ACL body (<D:acl>…, reference §6.3) for a
// resource at level.
//
// Principal hrefs are resolved against the document's xml:base if it has
// one, else against defaultBase, the role base URL of the resource's box
// ("{Cell}__role/{box}/", or "{Cell}__role/__/" for the cell). Personium
// treats an href as absolute when xml:base is absent; resolving it
// against defaultBase accepts the same documents and a few more. Every
// href must resolve to a role URL {Cell}__role/{box}/{role} of the cell of
// defaultBase (scheme, host and path compared, the port ignored, as
// Personium's UriUtils.equalIgnoringPort does); ACE.Principal then holds
// it with defaultBase's scheme and authority. Whether the role exists is
// left to the caller. A non-empty xml:base must itself be an absolute
// http(s) URL. A cell-level ACL may grant box privileges (see Valid).
//
// The parser refuses DTDs and every other <!…> declaration, undeclared
// entities and bodies over MaxACLBytes, so entity expansion and external
// entities cannot happen. Unknown elements and attributes are ignored, as
// JAXB does in Personium, except inside D:principal and D:privilege.
// Errors are *perr.E; see the package comment for the codes.
func Parse(r io.Reader, defaultBase string, level Level) (*ACL, error) {
	cell, err := cellOf(defaultBase)
	if err != nil {
		return nil, &perr.E{Kind: perr.Invalid, Op: op, Path: defaultBase, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxACLBytes+1))
	if err != nil {
		return nil, perr.New("PR400-DV-0002").WithOp(op).WithCause(err)
	}
	if len(data) > MaxACLBytes {
		return nil, perr.New("PR413-MC-0001").WithOp(op)
	}
	p := &parser{d: xml.NewDecoder(bytes.NewReader(data))}
	p.d.Strict = true
	doc, err := p.document()
	if err != nil {
		return nil, perr.New("PR400-DV-0002").WithOp(op).WithCause(err)
	}
	return doc.validate(cell, level)
}

// invalid is Personium's XML_VALIDATE_ERROR with its cause text.
func invalid(format string, args ...any) error {
	return perr.New("PR400-DV-0006", fmt.Sprintf(format, args...)).WithOp(op)
}

// noRole is Personium's ROLE_NOT_FOUND as raised by roleResourceUrlToId.
func noRole(format string, args ...any) error {
	return perr.New("PR400-DV-0004").WithOp(op).WithCause(fmt.Errorf(format, args...))
}

// rawACL is the document as read, before validation, so that a malformed
// document is reported as such (PR400-DV-0002) even when an invalid ACE
// comes before the syntax error, as with JAXB.
type rawACL struct {
	base, schema       string
	hasBase, hasSchema bool
	aces               []rawACE // the first MaxACEs
	count              int      // D:ace elements seen
}

type rawACE struct {
	principals, grants int
	deny               bool
	hrefs              []string
	all, otherPrinc    bool
	privs              [][]xml.Name // child elements of each D:privilege
}

type parser struct {
	d     *xml.Decoder
	depth int
}

// next returns the next token, refusing declarations and deep nesting.
func (p *parser) next() (xml.Token, error) {
	t, err := p.d.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t.(type) {
	case xml.Directive:
		return nil, errors.New("DTDs and <! declarations are not allowed")
	case xml.StartElement:
		p.depth++
		if p.depth > maxDepth {
			return nil, errors.New("elements nested too deeply")
		}
	case xml.EndElement:
		p.depth--
	}
	return t, nil
}

// children reads the content of the element just started, calling elem
// for each child element (elem must consume it) and text for character
// data, until the element's end.
func (p *parser) children(elem func(xml.StartElement) error, text func(string)) error {
	for {
		t, err := p.next()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if elem == nil {
				err = p.skip()
			} else {
				err = elem(t)
			}
			if err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		case xml.CharData:
			if text != nil {
				text(string(t))
			}
		}
	}
}

func (p *parser) skip() error { return p.children(nil, nil) }

func isDAV(n xml.Name, local string) bool { return n.Space == NSDAV && n.Local == local }

func (p *parser) document() (*rawACL, error) {
	doc := &rawACL{}
	root := false
	for {
		t, err := p.d.Token()
		if err == io.EOF && root {
			return doc, nil
		}
		if err != nil {
			if err == io.EOF {
				err = errors.New("no root element")
			}
			return nil, err
		}
		switch t := t.(type) {
		case xml.Directive:
			return nil, errors.New("DTDs and <! declarations are not allowed")
		case xml.StartElement:
			if root {
				return nil, errors.New("content after the root element")
			}
			if !isDAV(t.Name, "acl") {
				return nil, fmt.Errorf("root element is {%s}%s, not {DAV:}acl", t.Name.Space, t.Name.Local)
			}
			root = true
			p.depth = 1
			if err := p.acl(doc, t); err != nil {
				return nil, err
			}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("text outside the root element")
			}
		}
	}
}

func (p *parser) acl(doc *rawACL, start xml.StartElement) error {
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == nsXML && a.Name.Local == "base":
			doc.base, doc.hasBase = a.Value, true
		case a.Name.Space == NSPersonium && a.Name.Local == "requireSchemaAuthz":
			doc.schema, doc.hasSchema = a.Value, true
		}
	}
	return p.children(func(e xml.StartElement) error {
		if !isDAV(e.Name, "ace") {
			return p.skip()
		}
		if doc.count++; doc.count > MaxACEs {
			return p.skip() // counted, not kept; validate reports it
		}
		doc.aces = append(doc.aces, rawACE{})
		return p.ace(&doc.aces[len(doc.aces)-1])
	}, nil)
}

func (p *parser) ace(ace *rawACE) error {
	return p.children(func(e xml.StartElement) error {
		switch {
		case isDAV(e.Name, "principal"):
			ace.principals++
			return p.principal(ace)
		case isDAV(e.Name, "grant"):
			ace.grants++
			return p.grant(ace)
		case isDAV(e.Name, "deny"):
			ace.deny = true
		}
		return p.skip() // D:inherited, D:protected and unknown elements
	}, nil)
}

func (p *parser) principal(ace *rawACE) error {
	return p.children(func(e xml.StartElement) error {
		switch {
		case isDAV(e.Name, "href"):
			var b strings.Builder
			err := p.children(func(xml.StartElement) error {
				return errors.New("element inside D:href")
			}, func(s string) { b.WriteString(s) })
			ace.hrefs = append(ace.hrefs, strings.TrimSpace(b.String()))
			return err
		case isDAV(e.Name, "all"):
			ace.all = true
		default:
			ace.otherPrinc = true // D:authenticated, D:self, D:property…
		}
		return p.skip()
	}, nil)
}

func (p *parser) grant(ace *rawACE) error {
	return p.children(func(e xml.StartElement) error {
		if !isDAV(e.Name, "privilege") {
			return p.skip()
		}
		var names []xml.Name
		err := p.children(func(e xml.StartElement) error {
			names = append(names, e.Name)
			return p.skip()
		}, nil)
		ace.privs = append(ace.privs, names)
		return err
	}, nil)
}

// validate checks the document in the order of Personium's
// Acl.validateAcl, then resolves the principals.
func (doc *rawACL) validate(cell *cellURL, level Level) (*ACL, error) {
	out := &ACL{SchemaAuthz: SchemaAuthz(doc.schema)}
	if doc.hasSchema {
		switch out.SchemaAuthz {
		case SchemaAuthzNone, SchemaAuthzPublic, SchemaAuthzConfidential:
		default:
			return nil, invalid("Value [%s] for requireSchemaAuthz is invalid", doc.schema)
		}
	}
	if doc.count > MaxACEs {
		return nil, invalid("Number of ace exceeds the limit [%d]", MaxACEs)
	}
	for i := range doc.aces {
		if err := doc.aces[i].check(level); err != nil {
			return nil, err
		}
	}
	base := cell.base
	if doc.base != "" {
		out.Base = doc.base
		b, err := url.Parse(doc.base)
		if err != nil || !httpURL(b) {
			return nil, noRole("xml:base [%s] is not an absolute http(s) URL", doc.base)
		}
		base = b
	}
	out.ACEs = make([]ACE, 0, len(doc.aces))
	for _, r := range doc.aces {
		ace := ACE{All: r.all, Grant: make([]pds.Privilege, 0, len(r.privs))}
		for _, names := range r.privs {
			ace.Grant = append(ace.Grant, pds.Privilege(names[0].Local))
		}
		if !r.all {
			u, err := cell.role(base, r.hrefs[0])
			if err != nil {
				return nil, err
			}
			ace.Principal = u
		}
		out.ACEs = append(out.ACEs, ace)
	}
	return out, nil
}

func (r *rawACE) check(level Level) error {
	switch {
	case r.grants == 0:
		return invalid("Can not read grant")
	case r.deny:
		return invalid("deny is not supported")
	case r.principals == 0:
		return invalid("Can not read principal")
	case r.grants > 1:
		return invalid("More than one grant in ace")
	case r.principals > 1:
		return invalid("More than one principal in ace")
	case len(r.privs) == 0:
		return invalid("Can not read privilege")
	}
	for _, names := range r.privs {
		if len(names) == 0 {
			return invalid("Privilege is empty")
		}
		if len(names) > 1 {
			return invalid("More than one element in privilege")
		}
		n := names[0]
		pr := pds.Privilege(n.Local)
		if Namespace(pr) != n.Space || !Valid(level, pr) {
			return invalid("[{%s}%s] that can not be set in privilege", n.Space, n.Local)
		}
	}
	switch {
	case r.otherPrinc || (!r.all && len(r.hrefs) == 0):
		return invalid("Principal is neither href nor all")
	case r.all && len(r.hrefs) > 0:
		return invalid("Principal has both href and all")
	case len(r.hrefs) > 1:
		return invalid("More than one href in principal")
	case !r.all && r.hrefs[0] == "":
		return invalid("href in principal is empty")
	}
	return nil
}

// cellURL is the cell a resource belongs to, split for comparisons.
type cellURL struct {
	base   *url.URL // defaultBase, parsed
	scheme string
	host   string // as in defaultBase, port included
	path   string // escaped, ends in "/"
}

// cellOf finds the cell of a role base URL: the part before its last
// "/__role/" (Personium's role URL pattern "(.+/)__role/([^/]+)/(.+)"), or
// the whole URL if it has none.
func cellOf(defaultBase string) (*cellURL, error) {
	u, err := url.Parse(defaultBase)
	if err != nil {
		return nil, err
	}
	if !httpURL(u) {
		return nil, fmt.Errorf("default base %q is not an absolute http(s) URL", defaultBase)
	}
	p := u.EscapedPath()
	if i := strings.LastIndex(p, "/__role/"); i >= 0 {
		p = p[:i+1]
	} else if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return &cellURL{base: u, scheme: u.Scheme, host: u.Host, path: p}, nil
}

func httpURL(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Opaque == ""
}

// role resolves href against base and checks that it names a role of
// the cell; it returns the role URL with the cell's scheme and authority.
func (c *cellURL) role(base *url.URL, href string) (string, error) {
	ref, err := url.Parse(href)
	if err != nil {
		return "", noRole("principal href [%s]: %v", href, err)
	}
	u := base.ResolveReference(ref)
	if !httpURL(u) || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", noRole("principal href [%s] is not a role URL", href)
	}
	if u.Scheme != c.scheme || !strings.EqualFold(u.Hostname(), c.base.Hostname()) {
		return "", noRole("principal href [%s] is a role of another cell", href)
	}
	prefix := c.path + "__role/"
	p := u.EscapedPath()
	if !strings.HasPrefix(p, prefix) {
		if strings.Contains(p, "/__role/") {
			return "", noRole("principal href [%s] is a role of another cell", href)
		}
		return "", noRole("principal href [%s] is not a role URL", href)
	}
	box, name, ok := strings.Cut(p[len(prefix):], "/")
	if !ok || box == "" || name == "" || strings.Contains(name, "/") {
		return "", noRole("principal href [%s] is not a role URL", href)
	}
	return c.scheme + "://" + c.host + prefix + box + "/" + name, nil
}
