package lock

import (
	"slices"
	"strconv"
	"strings"

	"github.com/personium-go/personium/internal/perr"
)

// NoLock is the state token no lock ever has (RFC 4918 §10.4.8): the
// condition (<DAV:no-lock>) never holds and (Not <DAV:no-lock>) always
// does.
const NoLock = "DAV:no-lock"

// If is a parsed If request header (RFC 4918 §10.4). It holds when any
// of its Lists holds. The zero If (no header) holds.
type If struct {
	Lists []List
}

// List is one parenthesised list of conditions: it holds when all of
// its Conds hold for the resource its Tag names.
type List struct {
	// Tag is the resource tag as written between < and > (an absolute
	// URI or an absolute path, possibly with a query), or "" for a list
	// of a No-tag-list production, which applies to the request URI.
	Tag   string
	Conds []Cond
}

// Cond is one condition: a state token (Token set) or an entity tag
// (ETag set), possibly negated.
type Cond struct {
	Not bool
	// Token is the state token without its angle brackets, e.g.
	// "urn:uuid:…" or NoLock; "" for an entity-tag condition.
	Token string
	// ETag is the entity tag as written between [ and ], quotes and any
	// W/ prefix included, e.g. `"abc"` or `W/"abc"`.
	ETag string
}

// ParseIf parses the value of an If header (RFC 4918 §10.4.2): either
// one or more No-tag-lists or one or more Tagged-lists, never both.
// Callers join several If header fields with a space. A malformed
// header is a *perr.E with code PR400-DV-0009 (Kind Invalid).
//
// State tokens must look like absolute URIs (a scheme, then ':');
// resource tags like absolute URIs or absolute paths. Neither is
// otherwise checked or unescaped.
func ParseIf(h string) (If, error) {
	p := ifParser{s: h}
	out, err := p.parse()
	if err != nil {
		return If{}, perr.New(CodeBadHeader, "If", h).WithOp("lock.ParseIf").WithCause(err)
	}
	return out, nil
}

// ifParser reads an If header left to right.
type ifParser struct {
	s   string
	pos int
}

type ifSyntaxError string

func (e ifSyntaxError) Error() string { return string(e) }

func (p *ifParser) fail(what string) error {
	return ifSyntaxError(what + " at offset " + strconv.Itoa(p.pos))
}

func (p *ifParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

func (p *ifParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *ifParser) parse() (If, error) {
	var out If
	p.space()
	if p.pos == len(p.s) {
		return If{}, p.fail("empty header")
	}
	tagged := p.peek() == '<'
	for p.space(); p.pos < len(p.s); p.space() {
		tag := ""
		switch c := p.peek(); {
		case c == '<' && tagged:
			t, err := p.angle()
			if err != nil {
				return If{}, err
			}
			if !isResourceTag(t) {
				return If{}, p.fail("resource tag is neither an absolute URI nor an absolute path")
			}
			tag = t
			p.space()
			if p.peek() != '(' {
				return If{}, p.fail("resource tag without a list")
			}
		case c == '<':
			return If{}, p.fail("resource tag after an untagged list")
		case c != '(':
			return If{}, p.fail("expected '('")
		}
		for p.peek() == '(' {
			conds, err := p.list()
			if err != nil {
				return If{}, err
			}
			out.Lists = append(out.Lists, List{Tag: tag, Conds: conds})
			p.space()
		}
	}
	return out, nil
}

// list reads "(" 1*Condition ")".
func (p *ifParser) list() ([]Cond, error) {
	p.pos++ // '('
	var conds []Cond
	for {
		p.space()
		if p.peek() == ')' {
			p.pos++
			if len(conds) == 0 {
				return nil, p.fail("empty list")
			}
			return conds, nil
		}
		var c Cond
		if len(p.s)-p.pos >= 3 && strings.EqualFold(p.s[p.pos:p.pos+3], "not") {
			c.Not = true
			p.pos += 3
			p.space()
		}
		switch p.peek() {
		case '<':
			t, err := p.angle()
			if err != nil {
				return nil, err
			}
			if !hasScheme(t) {
				return nil, p.fail("state token is not an absolute URI")
			}
			c.Token = t
		case '[':
			e, err := p.etag()
			if err != nil {
				return nil, err
			}
			c.ETag = e
		default:
			return nil, p.fail("expected a state token or an entity tag")
		}
		conds = append(conds, c)
	}
}

// angle reads "<" text ">", where text is non-empty and has no white
// space, control character or angle bracket.
func (p *ifParser) angle() (string, error) {
	p.pos++ // '<'
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '>':
			if p.pos == start {
				return "", p.fail("empty <>")
			}
			p.pos++
			return p.s[start : p.pos-1], nil
		case c <= ' ' || c == 0x7f || c == '<':
			return "", p.fail("bad character in <…>")
		}
		p.pos++
	}
	return "", p.fail("unterminated <")
}

// etag reads "[" ["W/"] quoted-string "]", white space allowed inside
// the brackets, and returns the entity tag.
func (p *ifParser) etag() (string, error) {
	p.pos++ // '['
	p.space()
	start := p.pos
	if strings.HasPrefix(p.s[p.pos:], "W/") {
		p.pos += 2
	}
	if p.peek() != '"' {
		return "", p.fail("entity tag without a quoted string")
	}
	p.pos++
	for {
		if p.pos >= len(p.s) {
			return "", p.fail("unterminated entity tag")
		}
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			e := p.s[start:p.pos]
			p.space()
			if p.peek() != ']' {
				return "", p.fail("expected ']'")
			}
			p.pos++
			return e, nil
		case c == '\\':
			p.pos++
			if p.pos >= len(p.s) || (p.s[p.pos] < ' ' && p.s[p.pos] != '\t') || p.s[p.pos] == 0x7f {
				return "", p.fail("bad escape in entity tag")
			}
		case c < ' ' && c != '\t', c == 0x7f:
			return "", p.fail("control character in entity tag")
		}
		p.pos++
	}
}

// hasScheme reports whether s starts with a URI scheme and a colon
// (RFC 3986 §3.1), as an absolute URI does.
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return true
		default:
			return false
		}
	}
	return false
}

func isResourceTag(s string) bool {
	return strings.HasPrefix(s, "/") || hasScheme(s)
}

// Eval evaluates the header (RFC 4918 §10.4.2–§10.4.4). res tells the
// current state of the resource a list applies to: its entity tag as
// sent in an ETag header ("" if it has none or does not exist) and the
// tokens of the locks that cover it now. It is called with a List's Tag
// as written ("" for untagged lists, meaning the request URI; resolving
// absolute URIs and paths is the caller's job), at most once per
// distinct tag.
//
// A state-token condition holds when tokens contains the token (never
// for NoLock); an entity-tag condition when the resource has an entity
// tag equal to it, W/ prefixes ignored (weak comparison). Not negates.
// The zero If holds.
func (h If) Eval(res func(tag string) (etag string, tokens []string)) bool {
	if len(h.Lists) == 0 {
		return true
	}
	type state struct {
		etag   string
		tokens []string
	}
	seen := make(map[string]state, 1)
	for _, l := range h.Lists {
		st, ok := seen[l.Tag]
		if !ok {
			st.etag, st.tokens = res(l.Tag)
			seen[l.Tag] = st
		}
		if l.holds(st.etag, st.tokens) {
			return true
		}
	}
	return false
}

func (l List) holds(etag string, tokens []string) bool {
	for _, c := range l.Conds {
		var m bool
		if c.Token != "" {
			m = c.Token != NoLock && slices.Contains(tokens, c.Token)
		} else {
			m = etag != "" && strings.TrimPrefix(c.ETag, "W/") == strings.TrimPrefix(etag, "W/")
		}
		if m == c.Not {
			return false
		}
	}
	return true
}

// Tokens returns the state tokens the header submits (RFC 4918 §10.4.1):
// every token in a condition without Not, NoLock excepted, once each, in
// order of appearance. A write to a locked resource needs one of these
// to be the token of a lock that covers it.
func (h If) Tokens() []string {
	var out []string
	for _, l := range h.Lists {
		for _, c := range l.Conds {
			if c.Token != "" && !c.Not && c.Token != NoLock && !slices.Contains(out, c.Token) {
				out = append(out, c.Token)
			}
		}
	}
	return out
}

// ParseLockToken parses the value of a Lock-Token request header
// (RFC 4918 §10.5): a Coded-URL, "<" absolute-URI ">", possibly
// surrounded by white space. It returns the token without the angle
// brackets; a malformed value is a *perr.E with code PR400-DV-0009.
func ParseLockToken(h string) (string, error) {
	p := ifParser{s: h}
	p.space()
	var tok string
	var err error
	if p.peek() != '<' {
		err = p.fail("expected '<'")
	} else if tok, err = p.angle(); err == nil {
		p.space()
		switch {
		case !hasScheme(tok):
			err = p.fail("lock token is not an absolute URI")
		case p.pos != len(p.s):
			err = p.fail("text after the lock token")
		}
	}
	if err != nil {
		return "", perr.New(CodeBadHeader, "Lock-Token", h).WithOp("lock.ParseLockToken").WithCause(err)
	}
	return tok, nil
}

// String writes h back as an If header value, in a canonical form
// (single spaces, "Not" capitalised) that ParseIf reads as h.
func (h If) String() string {
	var b strings.Builder
	tag := ""
	for i, l := range h.Lists {
		if i > 0 {
			b.WriteByte(' ')
		}
		if l.Tag != "" && (i == 0 || l.Tag != tag) {
			b.WriteString("<" + l.Tag + "> ")
		}
		tag = l.Tag
		b.WriteByte('(')
		for j, c := range l.Conds {
			if j > 0 {
				b.WriteByte(' ')
			}
			if c.Not {
				b.WriteString("Not ")
			}
			if c.Token != "" {
				b.WriteString("<" + c.Token + ">")
			} else {
				b.WriteString("[" + c.ETag + "]")
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}
