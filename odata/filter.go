package odata

// The $filter language (OData v2 URL conventions §4.5 as Personium
// supports it, reference §7.3): a lexer shared with the key, $orderby,
// $select and $expand parsers, the filter AST and a recursive-descent
// parser for it.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

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
