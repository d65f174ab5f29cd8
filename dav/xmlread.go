package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/personium-go/personium/internal/perr"
)

// Codes of the errors the parsers return; see the package comment.
const (
	codeParse    = "PR400-DV-0001" // PersoniumCoreException.Dav.XML_ERROR
	codeContent  = "PR400-DV-0002" // PersoniumCoreException.Dav.XML_CONTENT_ERROR
	codeTooLarge = "PR413-MC-0001" // request body is too large
)

// Namespaces with a fixed meaning.
const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// readBody reads a whole request body, refusing one over MaxXMLBytes. It
// drops a UTF-8 byte order mark and reports whether the body is empty
// (nothing but XML white space). A nil r is an empty body.
func readBody(op string, r io.Reader) ([]byte, bool, error) {
	if r == nil {
		return nil, true, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxXMLBytes+1))
	if err != nil {
		return nil, false, perr.New(codeParse).WithOp(op).WithCause(err)
	}
	if len(data) > MaxXMLBytes {
		return nil, false, perr.New(codeTooLarge).WithOp(op)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	return data, len(bytes.Trim(data, " \t\r\n")) == 0, nil
}

// binding is one namespace declaration in scope.
type binding struct {
	uri   string
	depth int // nesting level of the element that declared it (root = 1)
}

// nsDecl is a namespace declaration as written on an element.
type nsDecl struct {
	prefix string // "" for the default namespace
	uri    string
}

// attribute is an attribute other than a namespace declaration.
type attribute struct {
	name    xml.Name // resolved: Space is the namespace URI
	prefix  string
	value   string
	nsDepth int // depth of the declaration its prefix resolves to
}

// elem is a start tag with its names resolved.
type elem struct {
	name    xml.Name // resolved: Space is the namespace URI
	prefix  string
	nsDepth int // depth of the declaration its name resolves to (0: none)
	decls   []nsDecl
	attrs   []attribute
	lang    string // xml:lang in scope, this element's included
}

// endTag is the end of the element last started.
type endTag struct{}

// frame is an open element.
type frame struct {
	raw   xml.Name // as written: Space is the prefix
	decls []nsDecl
	lang  string
}

// reader reads a document token by token, resolving namespaces itself
// (encoding/xml leaves undeclared prefixes as they are) and enforcing
// the limits. Its errors are plain; the parsers attach the codes.
type reader struct {
	d      *xml.Decoder
	stack  []frame
	ns     map[string][]binding // prefix → declarations in scope, innermost last
	tokens int                  // raw tokens read
	props  int                  // property elements seen
	closed xml.Name             // raw name of the element last ended
}

// contentError marks errors that are content errors (PR400-DV-0002)
// rather than parse errors.
type contentError struct{ msg string }

func (e *contentError) Error() string { return e.msg }

func contentErrorf(format string, args ...any) error {
	return &contentError{fmt.Sprintf(format, args...)}
}

func newReader(data []byte) *reader {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	return &reader{d: d, ns: make(map[string][]binding)}
}

// next returns the next *elem, endTag or xml.CharData (a copy), skipping
// comments and processing instructions; io.EOF at the end of the
// document.
func (r *reader) next() (any, error) {
	for {
		t, err := r.d.RawToken()
		if err != nil {
			if err == io.EOF && len(r.stack) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		r.tokens++
		switch t := t.(type) {
		case xml.StartElement:
			return r.start(t)
		case xml.EndElement:
			return endTag{}, r.end(t)
		case xml.CharData:
			return t.Copy(), nil
		case xml.ProcInst:
			if strings.EqualFold(t.Target, "xml") && r.tokens > 1 {
				return nil, errors.New("XML declaration not at the start of the document")
			}
		case xml.Directive:
			return nil, errors.New("DTDs and other <! declarations are not allowed")
		}
	}
}

func (r *reader) lookup(prefix string) (binding, bool) {
	if bs := r.ns[prefix]; len(bs) > 0 {
		return bs[len(bs)-1], true
	}
	return binding{}, prefix == ""
}

func (r *reader) start(t xml.StartElement) (*elem, error) {
	if len(r.stack) >= MaxDepth {
		return nil, fmt.Errorf("elements nested deeper than %d", MaxDepth)
	}
	if err := checkName(t.Name); err != nil {
		return nil, err
	}
	if t.Name.Space == "xmlns" {
		return nil, fmt.Errorf("element <%s:%s> uses the xmlns prefix", t.Name.Space, t.Name.Local)
	}
	depth := len(r.stack) + 1
	e := &elem{prefix: t.Name.Space}
	var seen map[xml.Name]bool
	if len(t.Attr) > 1 {
		seen = make(map[xml.Name]bool, len(t.Attr))
	}
	// Declarations first: they apply to the element's own names.
	for _, a := range t.Attr {
		if err := checkName(a.Name); err != nil {
			return nil, err
		}
		if seen != nil {
			if seen[a.Name] {
				return nil, fmt.Errorf("attribute %s repeated", rawName(a.Name))
			}
			seen[a.Name] = true
		}
		var d nsDecl
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			d = nsDecl{"", a.Value}
			if a.Value == nsXML || a.Value == nsXMLNS {
				return nil, fmt.Errorf("default namespace %q is reserved", a.Value)
			}
		case a.Name.Space == "xmlns":
			d = nsDecl{a.Name.Local, a.Value}
			switch {
			case a.Value == "":
				return nil, fmt.Errorf("xmlns:%s=\"\" is not allowed", a.Name.Local)
			case a.Name.Local == "xmlns":
				return nil, errors.New("the xmlns prefix cannot be declared")
			case (a.Name.Local == "xml") != (a.Value == nsXML):
				return nil, fmt.Errorf("xmlns:%s=%q: the xml prefix and its namespace go together", a.Name.Local, a.Value)
			case a.Value == nsXMLNS:
				return nil, fmt.Errorf("namespace %q is reserved", a.Value)
			}
		default:
			continue
		}
		e.decls = append(e.decls, d)
	}
	for _, d := range e.decls {
		r.ns[d.prefix] = append(r.ns[d.prefix], binding{d.uri, depth})
	}
	lang := ""
	if len(r.stack) > 0 {
		lang = r.stack[len(r.stack)-1].lang
	}
	r.stack = append(r.stack, frame{raw: t.Name, decls: e.decls, lang: lang})

	e.name.Local = t.Name.Local
	if e.prefix == "xml" {
		e.name.Space = nsXML
	} else {
		b, ok := r.lookup(e.prefix)
		if !ok {
			return nil, fmt.Errorf("prefix %q of <%s> is not declared", e.prefix, rawName(t.Name))
		}
		e.name.Space, e.nsDepth = b.uri, b.depth
	}
	var expanded map[xml.Name]bool
	for _, a := range t.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		at := attribute{name: a.Name, prefix: a.Name.Space, value: a.Value}
		switch at.prefix {
		case "":
		case "xml":
			at.name.Space = nsXML
			if a.Name.Local == "lang" {
				r.stack[len(r.stack)-1].lang = a.Value
			}
		default:
			b, ok := r.lookup(at.prefix)
			if !ok {
				return nil, fmt.Errorf("prefix %q of attribute %s is not declared", at.prefix, rawName(a.Name))
			}
			at.name.Space, at.nsDepth = b.uri, b.depth
			if expanded == nil {
				expanded = make(map[xml.Name]bool)
			}
			if expanded[at.name] {
				return nil, fmt.Errorf("attribute {%s}%s repeated", at.name.Space, at.name.Local)
			}
			expanded[at.name] = true
		}
		e.attrs = append(e.attrs, at)
	}
	// An attribute without prefix and one with a prefix cannot collide;
	// two with prefixes bound to one namespace can (checked above).
	e.lang = r.stack[len(r.stack)-1].lang
	return e, nil
}

func (r *reader) end(t xml.EndElement) error {
	if len(r.stack) == 0 {
		return fmt.Errorf("unexpected end element </%s>", rawName(t.Name))
	}
	f := r.stack[len(r.stack)-1]
	if f.raw != t.Name {
		return fmt.Errorf("element <%s> closed by </%s>", rawName(f.raw), rawName(t.Name))
	}
	for _, d := range f.decls {
		bs := r.ns[d.prefix]
		r.ns[d.prefix] = bs[:len(bs)-1]
	}
	r.stack = r.stack[:len(r.stack)-1]
	r.closed = f.raw
	return nil
}

// checkName refuses names that are not namespace-well-formed, which
// encoding/xml lets through: it checks the whole name "p:l" only, and
// leaves the colon in Local for ":a" and "a:".
func checkName(n xml.Name) error {
	if !isNCName(n.Local) || (n.Space != "" && !isNCName(n.Space)) {
		return fmt.Errorf("name %q is not namespace-well-formed", rawName(n))
	}
	return nil
}

func rawName(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// root reads up to the root element and returns it.
func (r *reader) root() (*elem, error) {
	for {
		t, err := r.next()
		if err == io.EOF {
			return nil, errors.New("no root element")
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case *elem:
			return t, nil
		case xml.CharData:
			if len(bytes.Trim(t, " \t\r\n")) > 0 {
				return nil, errors.New("text before the root element")
			}
		}
	}
}

// finish reads what follows the root element: white space, comments and
// processing instructions only.
func (r *reader) finish() error {
	for {
		t, err := r.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case *elem:
			return errors.New("content after the root element")
		case xml.CharData:
			if len(bytes.Trim(t, " \t\r\n")) > 0 {
				return errors.New("text after the root element")
			}
		}
	}
}

// children reads the content of the element just started up to its end,
// calling child for each child element; child must consume the element
// (skip does). Text is ignored.
func (r *reader) children(child func(*elem) error) error {
	for {
		t, err := r.next()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case *elem:
			if err := child(t); err != nil {
				return err
			}
		case endTag:
			return nil
		}
	}
}

// skip consumes the element just started.
func (r *reader) skip(*elem) error { return r.children(r.skip) }

// property reads the property element e just started: its name, its
// attributes (with xml:lang in scope added) and, if withValue, its value.
func (r *reader) property(e *elem, withValue bool) (Property, error) {
	if r.props++; r.props > MaxProps {
		return Property{}, contentErrorf("more than %d properties", MaxProps)
	}
	p := Property{Name: e.name}
	if !withValue {
		return p, r.skip(e)
	}
	hasLang := false
	for _, a := range e.attrs {
		p.Attr = append(p.Attr, xml.Attr{Name: a.name, Value: a.value})
		hasLang = hasLang || a.name == xml.Name{Space: nsXML, Local: "lang"}
	}
	if !hasLang && e.lang != "" {
		p.Attr = append(p.Attr, xml.Attr{Name: xml.Name{Space: nsXML, Local: "lang"}, Value: e.lang})
	}
	v, err := r.value()
	if err != nil {
		return Property{}, err
	}
	p.InnerXML = v
	return p, nil
}

// value reads the content of the property element just started, up to
// its end, and returns it serialized and self-contained.
func (r *reader) value() ([]byte, error) {
	var out []byte
	for {
		t, err := r.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			out = appendEscaped(out, string(t), false)
		case endTag:
			return out, nil
		case *elem:
			if out, err = r.topElement(out, t); err != nil {
				return nil, err
			}
		}
		if len(out) > MaxPropBytes {
			return nil, contentErrorf("property value longer than %d bytes", MaxPropBytes)
		}
	}
}

// topElement appends the top-level value element top, just started, and
// its content to out. The prefixes its subtree takes from outside the
// value are declared on it.
func (r *reader) topElement(out []byte, top *elem) ([]byte, error) {
	topDepth := len(r.stack)
	need := map[string]string{}
	note := func(prefix, uri string, depth int) {
		if prefix == "xml" || depth >= topDepth || (prefix == "" && uri == "") {
			return
		}
		need[prefix] = uri
	}
	noteAll := func(e *elem) {
		note(e.prefix, e.name.Space, e.nsDepth)
		for _, a := range e.attrs {
			if a.prefix != "" {
				note(a.prefix, a.name.Space, a.nsDepth)
			}
		}
	}
	noteAll(top)

	var body []byte
	open := false // body ends with a start tag still missing its ">"
	level := 0
	for level >= 0 {
		t, err := r.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case *elem:
			if open {
				body = append(body, '>')
			}
			noteAll(t)
			body = appendStartTag(body, t, nil)
			open = true
			level++
		case endTag:
			if level > 0 {
				if open {
					body = append(body, "/>"...)
				} else {
					body = appendEndTag(body, r.closed)
				}
			}
			open = false
			level--
		case xml.CharData:
			if open {
				body = append(body, '>')
				open = false
			}
			body = appendEscaped(body, string(t), false)
		}
		if len(out)+len(body) > MaxPropBytes {
			return nil, contentErrorf("property value longer than %d bytes", MaxPropBytes)
		}
	}
	extra := make([]nsDecl, 0, len(need))
	for p, u := range need {
		extra = append(extra, nsDecl{p, u})
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].prefix < extra[j].prefix })
	out = appendStartTag(out, top, extra)
	if len(body) == 0 {
		return append(out, "/>"...), nil
	}
	out = append(out, '>')
	out = append(out, body...)
	return appendEndTag(out, xml.Name{Space: top.prefix, Local: top.name.Local}), nil
}
