package odata

import (
	"strings"

	"github.com/personium-go/personium/internal/perr"
)

// KeyPart is one value of an entity key predicate. Name is "" for the
// single unnamed form ('v'). Value is a string, int64, float64, bool or
// DateTime, or nil for a named null (Name='r',_Box.Name=null).
type KeyPart struct {
	Name  string
	Value any
}

// KeyPredicate is a parsed entity key: one unnamed part, or one or more
// named parts in the order written (reference §3.3).
type KeyPredicate []KeyPart

// Get returns the value of the part called name; the unnamed part of a
// single-value key is found under "".
func (k KeyPredicate) Get(name string) (v any, present bool) {
	for _, p := range k {
		if p.Name == name {
			return p.Value, true
		}
	}
	return nil, false
}

// String renders k as the text between the parentheses of a key, the
// form ParseKey reads: 'a' or Name='r',_Box.Name=null.
func (k KeyPredicate) String() string {
	var b strings.Builder
	for i, p := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		if p.Name != "" {
			b.WriteString(p.Name)
			b.WriteByte('=')
		}
		b.WriteString(formatFilterLiteral(p.Value, ""))
	}
	return b.String()
}

// ParseKey parses the text inside the parentheses of an entity key:
//
//	'abc'   'it''s'   123   Name='r',_Box.Name=null
//	ExtRole='https://x/__role/__/r',_Relation.Name='rel',_Relation._Box.Name=null
//
// Values are string, integer (optionally with the L suffix), decimal,
// boolean, datetime'…'/datetimeoffset'…' or (named parts only) null
// literals; whitespace around tokens is ignored. Any malformed key, an
// unnamed null, a name given twice or a mix of named and unnamed parts
// is PR400-OD-0004. Whether the parts fit the entity type is the
// caller's business.
func ParseKey(s string) (KeyPredicate, error) {
	toks, err := lexQuery(s)
	if err != nil {
		return nil, perr.New(codeKeyParse).WithCause(err)
	}
	fail := func(pos int, msg string) (KeyPredicate, error) {
		return nil, perr.New(codeKeyParse).WithCause(&syntaxError{pos, msg})
	}
	if len(toks) == 0 {
		return fail(0, "empty key")
	}
	if len(toks) == 1 {
		v, ok := keyValue(toks[0])
		if !ok || v == nil {
			return fail(toks[0].pos, "key value must be a non-null literal")
		}
		return KeyPredicate{{Value: v}}, nil
	}
	var k KeyPredicate
	for i := 0; i < len(toks); i += 4 {
		// name = value [,]
		if i+2 >= len(toks) || toks[i].kind != tokWord || toks[i+1].kind != tokEquals {
			return fail(toks[i].pos, "expected Name=value")
		}
		name := toks[i].text
		v, ok := keyValue(toks[i+2])
		if !ok {
			return fail(toks[i+2].pos, "key value must be a literal")
		}
		if _, dup := k.Get(name); dup {
			return fail(toks[i].pos, "key property "+name+" given twice")
		}
		k = append(k, KeyPart{Name: name, Value: v})
		if i+3 < len(toks) && (toks[i+3].kind != tokComma || i+4 == len(toks)) {
			return fail(toks[i+3].pos, "expected , between key parts")
		}
	}
	return k, nil
}

// keyValue returns the value of a literal token.
func keyValue(t token) (any, bool) {
	switch t.kind {
	case tokString, tokDateTime:
		return t.val, true
	case tokNumber:
		return t.val, t.suffix == "" || t.suffix == "L"
	case tokWord:
		switch t.text {
		case "null":
			return nil, true
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return nil, false
}
