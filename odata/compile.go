package odata

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// PropertyResolver maps a property name used in a query to the store
// field that holds it and its EDM type: "Edm.String", "Edm.Int32",
// "Edm.Single", "Edm.Double", "Edm.Boolean" or "Edm.DateTime", or "" for
// an untyped (dynamic) property, which takes any scalar literal. ok is
// false for an unknown property.
type PropertyResolver func(name string) (field metastore.Field, edmType string, ok bool)

// Range of Edm.DateTime values, 1753-01-01T00:00:00.000 to
// 9999-12-31T23:59:59.999 UTC (ODataUtils.DATETIME_MIN/MAX).
const (
	minDateTimeMilli = -6847804800000
	maxDateTimeMilli = 253402300799999
)

var cmpOps = map[string]metastore.CmpOp{
	"eq": metastore.Eq, "ne": metastore.Ne,
	"lt": metastore.Lt, "le": metastore.Le, "gt": metastore.Gt, "ge": metastore.Ge,
}

// mirrorOp turns "literal op property" into "property mirrorOp[op] literal".
var mirrorOp = map[metastore.CmpOp]metastore.CmpOp{
	metastore.Eq: metastore.Eq, metastore.Ne: metastore.Ne,
	metastore.Lt: metastore.Gt, metastore.Gt: metastore.Lt,
	metastore.Le: metastore.Ge, metastore.Ge: metastore.Le,
}

// literalCoercers convert a non-null literal value for a property of each
// EDM type, following Personium's FilterConditionValidator. They return
// the store value, or the code of the error: PR400-OD-0046 if the literal
// type does not fit, PR400-OD-0047 if the value is out of the type's range.
var literalCoercers = map[string]func(v any) (any, string){
	EdmString: func(v any) (any, string) {
		if s, ok := v.(string); ok {
			return s, ""
		}
		return nil, codeOperandType
	},
	EdmBoolean: func(v any) (any, string) {
		if b, ok := v.(bool); ok {
			return b, ""
		}
		return nil, codeOperandType
	},
	EdmInt32: func(v any) (any, string) {
		n, ok := v.(int64)
		if !ok {
			return nil, codeOperandType
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, codeOperandRange
		}
		return n, ""
	},
	EdmSingle: func(v any) (any, string) {
		f, ok := numberValue(v)
		if !ok {
			return nil, codeOperandType
		}
		if !singleInRange(f) {
			return nil, codeOperandRange
		}
		return f, ""
	},
	EdmDouble: func(v any) (any, string) {
		if f, ok := numberValue(v); ok {
			return f, ""
		}
		return nil, codeOperandType
	},
	EdmDateTime: func(v any) (any, string) {
		var ms int64
		switch x := v.(type) {
		case int64:
			ms = x
		case DateTime:
			ms = x.UnixMilli
		default:
			return nil, codeOperandType
		}
		if ms < minDateTimeMilli || ms > maxDateTimeMilli {
			return nil, codeOperandRange
		}
		return ms, ""
	},
	"": func(v any) (any, string) { // untyped: any scalar, dates as Unix ms
		if d, ok := v.(DateTime); ok {
			return d.UnixMilli, ""
		}
		return v, ""
	},
}

func numberValue(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// singleInRange applies Personium's Edm.Single check: the value as Java
// prints a double must have at most 5 integer and 5 fraction digits (so
// also no exponent: |v| in [1e-3, 1e5) or 0).
func singleInRange(f float64) bool {
	a := math.Abs(f)
	if a == 0 {
		return true
	}
	if a < 1e-3 || a >= 1e7 {
		return false
	}
	ip, fp, _ := strings.Cut(strconv.FormatFloat(a, 'f', -1, 64), ".")
	return len(ip) <= 5 && len(fp) <= 5
}

// CompileFilter compiles a parsed $filter into a metastore expression.
// A nil e compiles to nil. Comparisons take one property and one literal,
// in either order; and/or chains become n-ary And/Or. Errors, as in
// Personium's EsQueryHandler and FilterConditionValidator:
//
//	PR400-OD-0003  a comparison or function argument that is not a property
//	               where one is needed; lt/le/gt/ge against null or a
//	               boolean; a property of a type with no filter support
//	PR400-OD-0043  e is not a boolean expression
//	PR400-OD-0044  a function other than startswith and substringof
//	PR400-OD-0045  unknown property (resolve says !ok)
//	PR400-OD-0046  literal type does not fit the property type; Single (1f)
//	               and Decimal (1m) literals always; functions on
//	               non-string properties or with non-string arguments
//	PR400-OD-0047  value out of range (Int32, Single, DateTime 1753–9999)
//	PR400-OD-0048  bad \u escape in a string literal
//
// Literals are coerced to the property type: Int32 takes integers; Single
// and Double integers or decimals (as float64); DateTime datetime
// literals or integers (Unix ms, int64); String strings; Boolean booleans;
// every type takes null with eq and ne. String literals are then
// unescaped as JavaScript strings (\n, \', \\, \uXXXX…), as Personium does.
func CompileFilter(e FilterExpr, resolve PropertyResolver) (metastore.Expr, error) {
	if e == nil {
		return nil, nil
	}
	if !isBoolExpr(e) {
		return nil, perr.New(codeUnsupportedOp)
	}
	return compileBool(e, resolve)
}

func compileBool(e FilterExpr, resolve PropertyResolver) (metastore.Expr, error) {
	switch x := e.(type) {
	case *BinaryExpr:
		if x.Op == "and" || x.Op == "or" {
			return compileLogical(x, resolve)
		}
		if _, ok := cmpOps[x.Op]; ok {
			return compileCmp(x, resolve)
		}
		return nil, perr.New(codeUnsupportedOp)
	case *CallExpr:
		return compileCall(x, resolve)
	}
	return nil, perr.New(codeFilterParse)
}

// compileLogical flattens a chain of one logical operator, without
// recursing along the chain, and compiles its operands.
func compileLogical(x *BinaryExpr, resolve PropertyResolver) (metastore.Expr, error) {
	var operands []FilterExpr
	stack := []FilterExpr{x}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if b, ok := e.(*BinaryExpr); ok && b.Op == x.Op {
			stack = append(stack, b.R, b.L)
			continue
		}
		operands = append(operands, e)
	}
	out := make([]metastore.Expr, len(operands))
	for i, o := range operands {
		if !isBoolExpr(o) {
			return nil, perr.New(codeFilterParse)
		}
		c, err := compileBool(o, resolve)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	if x.Op == "and" {
		return metastore.And(out), nil
	}
	return metastore.Or(out), nil
}

func compileCmp(x *BinaryExpr, resolve PropertyResolver) (metastore.Expr, error) {
	op := cmpOps[x.Op]
	prop, pok := x.L.(*PropertyExpr)
	lit, lok := x.R.(*LiteralExpr)
	if !pok || !lok {
		// 'a' eq Name: mirror it.
		prop, pok = x.R.(*PropertyExpr)
		lit, lok = x.L.(*LiteralExpr)
		if !pok || !lok {
			return nil, perr.New(codeFilterParse)
		}
		op = mirrorOp[op]
	}
	field, typ, ok := resolve(prop.Name)
	if !ok {
		return nil, perr.New(codeUnknownProperty, prop.Name)
	}
	if op != metastore.Eq && op != metastore.Ne {
		if _, isBool := lit.Value.(bool); isBool || lit.Value == nil {
			return nil, perr.New(codeFilterParse)
		}
	}
	v, err := coerceLiteral(typ, lit, prop.Name)
	if err != nil {
		return nil, err
	}
	return metastore.Cmp{Field: field, Op: op, Value: v}, nil
}

// coerceLiteral converts lit for a property of type typ called name.
func coerceLiteral(typ string, lit *LiteralExpr, name string) (any, error) {
	coerce, ok := literalCoercers[typ]
	if !ok {
		return nil, perr.New(codeFilterParse)
	}
	if lit.Suffix != "" && lit.Suffix != "L" {
		return nil, perr.New(codeOperandType, name)
	}
	if lit.Value == nil {
		return nil, nil
	}
	v, code := coerce(lit.Value)
	if code != "" {
		return nil, perr.New(code, name)
	}
	if s, ok := v.(string); ok {
		u, err := unescapeJS(s)
		if err != nil {
			return nil, perr.New(codeOperandEscape, s).WithCause(err)
		}
		v = u
	}
	return v, nil
}

func compileCall(x *CallExpr, resolve PropertyResolver) (metastore.Expr, error) {
	arity, ok := filterFuncs[x.Func]
	if !ok {
		return nil, perr.New(codeUnsupportedFunc)
	}
	if len(x.Args) != arity {
		return nil, perr.New(codeFilterParse)
	}
	target, value := x.Args[0], x.Args[1] // startswith(property, prefix)
	if x.Func == "substringof" {
		target, value = value, target // substringof(substring, property)
	}
	prop, ok := target.(*PropertyExpr)
	if !ok {
		return nil, perr.New(codeFilterParse)
	}
	field, typ, ok := resolve(prop.Name)
	if !ok {
		return nil, perr.New(codeUnknownProperty, prop.Name)
	}
	lit, ok := value.(*LiteralExpr)
	var s string
	if ok {
		s, ok = lit.Value.(string)
	}
	if !ok || typ != EdmString && typ != "" {
		return nil, perr.New(codeOperandType, prop.Name)
	}
	u, err := unescapeJS(s)
	if err != nil {
		return nil, perr.New(codeOperandEscape, s).WithCause(err)
	}
	if x.Func == "startswith" {
		return metastore.Prefix{Field: field, Value: u}, nil
	}
	return metastore.Contains{Field: field, Value: u}, nil
}

// unescapeJS undoes JavaScript string escapes the way Apache commons-lang
// StringEscapeUtils.unescapeJavaScript does (Personium applies it to
// every string operand of $filter): \b \f \n \r \t \' \" \\ and \uXXXX
// (UTF-16, surrogate pairs joined); a backslash before any other
// character is dropped; a trailing backslash is kept. A \u without four
// hex digits is an error.
func unescapeJS(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	var units []uint16
	flush := func() {
		for _, r := range utf16.Decode(units) {
			b.WriteRune(r)
		}
		units = units[:0]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			flush()
			b.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			flush()
			b.WriteByte('\\')
			break
		}
		i++
		if s[i] == 'u' {
			if i+5 > len(s) {
				return "", &syntaxError{i - 1, `incomplete \u escape`}
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", &syntaxError{i - 1, `malformed \u escape`}
			}
			units = append(units, uint16(n))
			i += 4
			continue
		}
		flush()
		switch s[i] {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		default: // \\ \' \" and any other character stand for themselves
			b.WriteByte(s[i])
		}
	}
	flush()
	return b.String(), nil
}

// CompileOrderBy compiles $orderby items. As in Personium, items naming
// an unknown property are dropped rather than refused.
func CompileOrderBy(items []OrderItem, resolve PropertyResolver) ([]metastore.Order, error) {
	var out []metastore.Order
	for _, it := range items {
		field, _, ok := resolve(it.Property)
		if !ok {
			continue
		}
		out = append(out, metastore.Order{Field: field, Desc: it.Desc})
	}
	return out, nil
}
