package odata

// The $filter language (OData v2 URL conventions §4.5 as Personium
// supports it, reference §7.3): a lexer shared with the key, $orderby,
// $select and $expand parsers, the filter AST and a recursive-descent
// parser for it.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/personium-go/personium/internal/perr"
)

// Personium message codes used by the query parsers and the filter
// compiler (personium-core PersoniumCoreException.OData).
const (
	codeFilterParse     = "PR400-OD-0003" // FILTER_PARSE_ERROR
	codeKeyParse        = "PR400-OD-0004" // ENTITY_KEY_PARSE_ERROR
	codeFormatInvalid   = "PR400-OD-0005" // FORMAT_INVALID_ERROR {0}=value
	codeInlineCount     = "PR400-OD-0013" // INLINECOUNT_PARSE_ERROR {0}=value
	codeOrderByParse    = "PR400-OD-0015" // ORDERBY_PARSE_ERROR
	codeSelectParse     = "PR400-OD-0017" // SELECT_PARSE_ERROR
	codeExpandParse     = "PR400-OD-0026" // EXPAND_PARSE_ERROR
	codeQueryInvalid    = "PR400-OD-0029" // QUERY_INVALID_ERROR {0}=option {1}=value
	codeQueryParseParam = "PR400-OD-0036" // QUERY_PARSE_ERROR_WITH_PARAM {0}=option
	codeExpandTooMany   = "PR400-OD-0039" // EXPAND_COUNT_LIMITATION_EXCEEDED
	codeUnsupportedOp   = "PR400-OD-0043" // UNSUPPORTED_QUERY_OPERATOR
	codeUnsupportedFunc = "PR400-OD-0044" // UNSUPPORTED_QUERY_FUNCTION
	codeUnknownProperty = "PR400-OD-0045" // UNKNOWN_QUERY_KEY {0}=property
	codeOperandType     = "PR400-OD-0046" // OPERATOR_AND_OPERAND_TYPE_MISMATCHED {0}=property
	codeOperandRange    = "PR400-OD-0047" // UNSUPPORTED_OPERAND_FORMAT {0}=property
	codeOperandEscape   = "PR400-OD-0048" // OPERATOR_AND_OPERAND_UNABLE_TO_UNESCAPE {0}=value
)

// Bounds on $filter, so that hostile input costs linear time and bounded
// stack. Longer or deeper filters are parse errors (PR400-OD-0003).
const (
	MaxFilterBytes = 64 << 10 // bytes of $filter text
	MaxFilterDepth = 100      // nesting of parentheses and function calls
)

// FilterExpr is a parsed $filter expression: a *BinaryExpr, *CallExpr,
// *PropertyExpr or *LiteralExpr. String renders it as $filter text that
// ParseFilter turns back into an equal expression.
type FilterExpr interface {
	String() string
	isFilterExpr()
}

// BinaryExpr is a logical ("and", "or") or comparison ("eq", "ne", "lt",
// "le", "gt", "ge") operator applied to two operands.
type BinaryExpr struct {
	Op   string
	L, R FilterExpr
}

// CallExpr is a call of a supported function: "startswith" (property,
// prefix) or "substringof" (substring, property), each with two arguments.
type CallExpr struct {
	Func string
	Args []FilterExpr
}

// PropertyExpr names a property. Names may contain dots ("_Box.Name").
type PropertyExpr struct {
	Name string
}

// LiteralExpr is a literal. Value is nil, a string, an int64, a float64,
// a bool or a DateTime. Suffix is the type suffix the number was written
// with: "" or "L" (Edm.Int64; an int64 Value), "f" (Edm.Single) or "m"/"M"
// (Edm.Decimal) (a float64 Value). Personium parses Single and Decimal
// literals but accepts them for no property type (PR400-OD-0046).
type LiteralExpr struct {
	Value  any
	Suffix string
}

// DateTime is a datetime'…' or datetimeoffset'…' literal.
type DateTime struct {
	UnixMilli int64 // the instant, in Unix milliseconds; datetime'…' is UTC
	Offset    bool  // written as datetimeoffset'…'
}

func (*BinaryExpr) isFilterExpr()   {}
func (*CallExpr) isFilterExpr()     {}
func (*PropertyExpr) isFilterExpr() {}
func (*LiteralExpr) isFilterExpr()  {}

// Precedence of the filter operators, lowest first.
const (
	precOr = iota + 1
	precAnd
	precCmp
	precPrimary
)

// filterOps maps each supported binary operator to its precedence.
var filterOps = map[string]int{
	"or": precOr, "and": precAnd,
	"eq": precCmp, "ne": precCmp, "lt": precCmp, "le": precCmp, "gt": precCmp, "ge": precCmp,
}

// unsupportedOps are the OData operators Personium rejects with
// PR400-OD-0043 (arithmetic, and the v4 has/in); "not" and unary minus
// are rejected likewise.
var unsupportedOps = map[string]bool{
	"add": true, "sub": true, "mul": true, "div": true, "mod": true, "has": true, "in": true,
}

// filterFuncs are the supported functions and their arity.
var filterFuncs = map[string]int{"startswith": 2, "substringof": 2}

// unsupportedFuncs are the OData v2 (and common v4) functions Personium
// rejects with PR400-OD-0044. Any other name followed by "(" is a syntax
// error, as in Personium.
var unsupportedFuncs = map[string]bool{
	"endswith": true, "indexof": true, "replace": true, "tolower": true, "toupper": true,
	"trim": true, "substring": true, "concat": true, "length": true, "year": true,
	"month": true, "day": true, "hour": true, "minute": true, "second": true,
	"round": true, "floor": true, "ceiling": true, "cast": true, "isof": true,
	"contains": true, "now": true, "date": true, "time": true, "fractionalseconds": true,
	"totaloffsetminutes": true, "totalseconds": true, "maxdatetime": true,
	"mindatetime": true, "matchespattern": true,
}

func precOf(e FilterExpr) int {
	if b, ok := e.(*BinaryExpr); ok {
		if p := filterOps[b.Op]; p != 0 {
			return p
		}
	}
	return precPrimary
}

func (e *BinaryExpr) String() string {
	p := precOf(e)
	var b strings.Builder
	// Logical operators are left-associative: a left operand of the same
	// precedence needs no parentheses. Comparisons do not chain.
	writeOperand(&b, e.L, precOf(e.L) < p || (p == precCmp && precOf(e.L) == p))
	b.WriteByte(' ')
	b.WriteString(e.Op)
	b.WriteByte(' ')
	writeOperand(&b, e.R, precOf(e.R) <= p)
	return b.String()
}

func writeOperand(b *strings.Builder, e FilterExpr, paren bool) {
	s := "null"
	if e != nil {
		s = e.String()
	}
	if paren {
		b.WriteByte('(')
		b.WriteString(s)
		b.WriteByte(')')
	} else {
		b.WriteString(s)
	}
}

func (e *CallExpr) String() string {
	var b strings.Builder
	b.WriteString(e.Func)
	b.WriteByte('(')
	for i, a := range e.Args {
		if i > 0 {
			b.WriteByte(',')
		}
		writeOperand(&b, a, false)
	}
	b.WriteByte(')')
	return b.String()
}

func (e *PropertyExpr) String() string { return e.Name }

func (e *LiteralExpr) String() string { return formatFilterLiteral(e.Value, e.Suffix) }

// String renders d as a datetime'…' (UTC) or datetimeoffset'…Z' literal.
func (d DateTime) String() string {
	s := time.UnixMilli(d.UnixMilli).UTC().Format("2006-01-02T15:04:05.000")
	if d.Offset {
		return "datetimeoffset'" + s + "Z'"
	}
	return "datetime'" + s + "'"
}

// formatFilterLiteral renders a literal value in URL syntax.
func formatFilterLiteral(v any, suffix string) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10) + suffix
	case int:
		return strconv.Itoa(x) + suffix
	case float64:
		if suffix != "" {
			// Suffixed numbers take no exponent.
			return strconv.FormatFloat(x, 'f', -1, 64) + suffix
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEIN") { // not Inf or NaN either
			s += ".0" // keep it a double, not an integer
		}
		return s
	case DateTime:
		return x.String()
	}
	return formatFilterLiteral(fmt.Sprint(v), "")
}

// syntaxError describes where a query string failed to parse. It is the
// cause of the coded errors the parsers return.
type syntaxError struct {
	Pos int
	Msg string
}

func (e *syntaxError) Error() string { return "at offset " + strconv.Itoa(e.Pos) + ": " + e.Msg }

// ---- lexer ----

type tokKind uint8

const (
	tokEOF      tokKind = iota
	tokWord             // identifier or keyword; text holds it
	tokString           // quoted string; val holds the unquoted text
	tokNumber           // val holds an int64 or float64; suffix the type suffix
	tokDateTime         // val holds a DateTime
	tokOpen             // (
	tokClose            // )
	tokComma            // ,
	tokEquals           // = (keys only)
	tokMinus            // - not starting a number (negation)
)

type token struct {
	kind   tokKind
	pos    int
	text   string
	val    any
	suffix string
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigitByte(c byte) bool { return '0' <= c && c <= '9' }

// wordStart and wordPart classify identifier runes: a letter or '_' to
// start, then letters, digits, '_', '-' and '.' (Personium property names
// are [A-Za-z0-9][A-Za-z0-9-_]*; dots join "_Box.Name").
func wordStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func wordPart(r rune) bool {
	return r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// lexQuery splits s into tokens.
func lexQuery(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isSpaceByte(c):
			i++
		case c == '(':
			toks = append(toks, token{kind: tokOpen, pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokClose, pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tokComma, pos: i})
			i++
		case c == '=':
			toks = append(toks, token{kind: tokEquals, pos: i})
			i++
		case c == '\'':
			v, n, err := lexQuoted(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, pos: i, val: v})
			i = n
		case isDigitByte(c) || c == '-' && i+1 < len(s) && isDigitByte(s[i+1]):
			t, n, err := lexNumber(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = n
		case c == '-':
			toks = append(toks, token{kind: tokMinus, pos: i})
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !wordStart(r) || r == utf8.RuneError {
				return nil, &syntaxError{i, fmt.Sprintf("unexpected character %q", r)}
			}
			start := i
			i += size
			for i < len(s) {
				r, size := utf8.DecodeRuneInString(s[i:])
				if r == utf8.RuneError || !wordPart(r) {
					break
				}
				i += size
			}
			w := s[start:i]
			if strings.HasSuffix(w, ".") || strings.Contains(w, "..") {
				return nil, &syntaxError{start, "malformed name " + strconv.Quote(w)}
			}
			if i < len(s) && s[i] == '\'' {
				t, n, err := lexTypedLiteral(s, start, w, i)
				if err != nil {
					return nil, err
				}
				toks = append(toks, t)
				i = n
				continue
			}
			toks = append(toks, token{kind: tokWord, pos: start, text: w})
		}
	}
	return toks, nil
}

// lexQuoted reads the quoted string whose opening quote is s[i], where
// two quotes in a row stand for one, and returns its text and the offset
// after it.
func lexQuoted(s string, i int) (string, int, error) {
	start := i
	i++
	var b strings.Builder
	from := i
	for {
		j := strings.IndexByte(s[i:], '\'')
		if j < 0 {
			return "", 0, &syntaxError{start, "unterminated string"}
		}
		i += j
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteString(s[from : i+1])
			i += 2
			from = i
			continue
		}
		if b.Len() == 0 {
			return s[from:i], i + 1, nil
		}
		b.WriteString(s[from:i])
		return b.String(), i + 1, nil
	}
}

// lexNumber reads -?digits[.digits][(e|E)[+-]digits] with an optional
// suffix L (integers), f, m or M (no exponent).
func lexNumber(s string, i int) (token, int, error) {
	start := i
	if s[i] == '-' {
		i++
	}
	for i < len(s) && isDigitByte(s[i]) {
		i++
	}
	isFloat, hasExp := false, false
	if i+1 < len(s) && s[i] == '.' && isDigitByte(s[i+1]) {
		isFloat = true
		i++
		for i < len(s) && isDigitByte(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		k := i + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigitByte(s[k]) {
			isFloat, hasExp = true, true
			i = k
			for i < len(s) && isDigitByte(s[i]) {
				i++
			}
		}
	}
	text := s[start:i]
	suffix := ""
	if i < len(s) && !hasExp {
		switch c := s[i]; {
		case c == 'L' && !isFloat, c == 'f', c == 'm', c == 'M':
			suffix = string(c)
			i++
		}
	}
	if i < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[i:]); r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return token{}, 0, &syntaxError{start, "malformed number"}
		}
	}
	t := token{kind: tokNumber, pos: start, text: s[start:i], suffix: suffix}
	if !isFloat && (suffix == "" || suffix == "L") {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return token{}, 0, &syntaxError{start, "integer out of range"}
		}
		t.val = n
		return t, i, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return token{}, 0, &syntaxError{start, "number out of range"}
	}
	t.val = f
	return t, i, nil
}

// lexTypedLiteral reads word'…' at s[start:], the quote being at s[q].
func lexTypedLiteral(s string, start int, word string, q int) (token, int, error) {
	text, n, err := lexQuoted(s, q)
	if err != nil {
		return token{}, 0, err
	}
	var offset bool
	switch word {
	case "datetime":
	case "datetimeoffset":
		offset = true
	default:
		return token{}, 0, &syntaxError{start, "unsupported literal type " + strconv.Quote(word)}
	}
	ms, ok := parseISODateTime(text, offset)
	if !ok {
		return token{}, 0, &syntaxError{start, "malformed " + word + " literal"}
	}
	return token{kind: tokDateTime, pos: start, val: DateTime{UnixMilli: ms, Offset: offset}}, n, nil
}

// parseISODateTime parses yyyy-MM-ddTHH:mm[:ss[.f{1,9}]] as UTC (Java's
// ISO_LOCAL_DATE_TIME, strict), and, if withOffset, an optional Z or
// ±HH:MM[:SS] offset after it (ISO_DATE_TIME). The instant, truncated to
// milliseconds, must fall in the years 0000–9999 UTC.
func parseISODateTime(s string, withOffset bool) (int64, bool) {
	num := func(i, n int) (int, bool) {
		if i+n > len(s) {
			return 0, false
		}
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if !isDigitByte(c) {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	at := func(i int, c byte) bool { return i < len(s) && (s[i] == c || c == 'T' && s[i] == 't') }
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && at(4, '-') && at(7, '-') && at(10, 'T') && at(13, ':')) {
		return 0, false
	}
	i := 16
	sec, nano := 0, 0
	if at(i, ':') {
		var ok bool
		if sec, ok = num(i+1, 2); !ok {
			return 0, false
		}
		i += 3
		if at(i, '.') {
			i++
			digits := 0
			for i < len(s) && isDigitByte(s[i]) {
				if digits == 9 {
					return 0, false
				}
				nano = nano*10 + int(s[i]-'0')
				digits++
				i++
			}
			if digits == 0 {
				return 0, false
			}
			for ; digits < 9; digits++ {
				nano *= 10
			}
		}
	}
	off := 0
	if withOffset && i < len(s) {
		switch s[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			oh, ok1 := num(i+1, 2)
			om, ok2 := num(i+4, 2)
			if !ok1 || !ok2 || !at(i+3, ':') || om > 59 {
				return 0, false
			}
			os := 0
			n := i + 6
			if at(n, ':') {
				var ok bool
				if os, ok = num(n+1, 2); !ok || os > 59 {
					return 0, false
				}
				n += 3
			}
			off = oh*3600 + om*60 + os
			if off > 18*3600 {
				return 0, false
			}
			if s[i] == '-' {
				off = -off
			}
			i = n
		}
	}
	if i != len(s) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nano, time.UTC)
	if t.Day() != d { // day beyond the month's end
		return 0, false
	}
	t = t.Add(-time.Duration(off) * time.Second)
	ms := t.UnixMilli()
	if u := time.UnixMilli(ms).UTC(); u.Year() < 0 || u.Year() > 9999 {
		return 0, false
	}
	return ms, true
}

// ---- parser ----

// ParseFilter parses a $filter value. Errors carry Personium codes:
// PR400-OD-0003 for syntax errors (and for text over MaxFilterBytes or
// nesting over MaxFilterDepth), PR400-OD-0043 for unsupported operators
// (not, add, sub, mul, div, mod, has, in, unary minus, and a filter that
// is not a boolean expression), PR400-OD-0044 for unsupported functions.
// Property names and literal types are checked by CompileFilter.
func ParseFilter(s string) (FilterExpr, error) {
	if len(s) > MaxFilterBytes {
		return nil, filterSyntax(0, "filter too long")
	}
	toks, err := lexQuery(s)
	if err != nil {
		return nil, perr.New(codeFilterParse).WithCause(err)
	}
	p := &filterParser{toks: toks, end: len(s)}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t)
	}
	if !isBoolExpr(e) {
		return nil, perr.New(codeUnsupportedOp).WithCause(&syntaxError{0, "not a boolean expression"})
	}
	return e, nil
}

func filterSyntax(pos int, msg string) error {
	return perr.New(codeFilterParse).WithCause(&syntaxError{pos, msg})
}

// isBoolExpr reports whether e yields a boolean: a logical or comparison
// operator or a function call.
func isBoolExpr(e FilterExpr) bool {
	switch x := e.(type) {
	case *BinaryExpr:
		return filterOps[x.Op] != 0
	case *CallExpr:
		return true
	}
	return false
}

type filterParser struct {
	toks  []token
	i     int
	end   int // length of the input, the position of EOF
	depth int
}

func (p *filterParser) peek() token {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return token{kind: tokEOF, pos: p.end}
}

func (p *filterParser) next() token {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

// unexpected is the error for token t where it cannot stand.
func (p *filterParser) unexpected(t token) error {
	switch {
	case t.kind == tokWord && unsupportedOps[t.text], t.kind == tokMinus:
		return perr.New(codeUnsupportedOp).WithCause(&syntaxError{t.pos, "unsupported operator " + tokenText(t)})
	case t.kind == tokEOF:
		return filterSyntax(t.pos, "unexpected end of filter")
	}
	return filterSyntax(t.pos, "unexpected "+tokenText(t))
}

func tokenText(t token) string {
	switch t.kind {
	case tokWord:
		return strconv.Quote(t.text)
	case tokString:
		return "string"
	case tokNumber:
		return "number " + t.text
	case tokDateTime:
		return "datetime"
	case tokOpen:
		return `"("`
	case tokClose:
		return `")"`
	case tokComma:
		return `","`
	case tokEquals:
		return `"="`
	case tokMinus:
		return `"-"`
	}
	return "end"
}

// parseOr parses and-expressions joined by "or".
func (p *filterParser) parseOr() (FilterExpr, error) {
	return p.parseLogical("or", precOr)
}

// parseLogical parses a chain of operands of op (left-associative), each
// operand being the next tighter level.
func (p *filterParser) parseLogical(op string, prec int) (FilterExpr, error) {
	operand := p.parseAnd
	if prec == precAnd {
		operand = p.parseCmp
	}
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tokWord || t.text != op {
			return l, nil
		}
		p.next()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		if !isBoolExpr(l) || !isBoolExpr(r) {
			return nil, filterSyntax(t.pos, "operands of "+op+" must be boolean")
		}
		l = &BinaryExpr{Op: op, L: l, R: r}
	}
}

func (p *filterParser) parseAnd() (FilterExpr, error) {
	return p.parseLogical("and", precAnd)
}

// parseCmp parses primary [cmp-op primary]; comparisons do not chain.
func (p *filterParser) parseCmp() (FilterExpr, error) {
	l, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind == tokWord && filterOps[t.text] == precCmp {
		p.next()
		r, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		if t2 := p.peek(); t2.kind == tokWord && filterOps[t2.text] == precCmp {
			return nil, filterSyntax(t2.pos, "comparisons do not chain")
		}
		return &BinaryExpr{Op: t.text, L: l, R: r}, nil
	}
	if t.kind == tokMinus || t.kind == tokWord && unsupportedOps[t.text] {
		return nil, p.unexpected(t)
	}
	return l, nil
}

func (p *filterParser) enter(pos int) error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return filterSyntax(pos, "filter nested too deeply")
	}
	return nil
}

func (p *filterParser) parsePrimary() (FilterExpr, error) {
	t := p.next()
	switch t.kind {
	case tokOpen:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokClose {
			return nil, p.unexpected(c)
		}
		p.depth--
		return e, nil
	case tokString, tokNumber, tokDateTime:
		return &LiteralExpr{Value: t.val, Suffix: t.suffix}, nil
	case tokWord:
		switch t.text {
		case "null":
			return &LiteralExpr{}, nil
		case "true":
			return &LiteralExpr{Value: true}, nil
		case "false":
			return &LiteralExpr{Value: false}, nil
		case "not":
			return nil, perr.New(codeUnsupportedOp).WithCause(&syntaxError{t.pos, `unsupported operator "not"`})
		}
		if p.peek().kind == tokOpen {
			return p.parseCall(t)
		}
		return &PropertyExpr{Name: t.text}, nil
	}
	return nil, p.unexpected(t)
}

// parseCall parses name(args…), p being at the "(".
func (p *filterParser) parseCall(name token) (FilterExpr, error) {
	arity, ok := filterFuncs[name.text]
	if !ok {
		if unsupportedFuncs[name.text] {
			return nil, perr.New(codeUnsupportedFunc).WithCause(&syntaxError{name.pos, "unsupported function " + strconv.Quote(name.text)})
		}
		return nil, filterSyntax(name.pos, "unknown function "+strconv.Quote(name.text))
	}
	open := p.next()
	if err := p.enter(open.pos); err != nil {
		return nil, err
	}
	c := &CallExpr{Func: name.text}
	for {
		a, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, a)
		t := p.next()
		if t.kind == tokClose {
			break
		}
		if t.kind != tokComma {
			return nil, p.unexpected(t)
		}
	}
	p.depth--
	if len(c.Args) != arity {
		return nil, filterSyntax(name.pos, fmt.Sprintf("%s takes %d arguments", name.text, arity))
	}
	return c, nil
}
