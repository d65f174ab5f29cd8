package odata

import (
	"hash/fnv"
	"reflect"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// pqSchema is the resolver the compile tests use.
func pqSchema(name string) (metastore.Field, string, bool) {
	types := map[string]string{
		"Name":      EdmString,
		"Age":       EdmInt32,
		"Score":     EdmDouble,
		"Ratio":     EdmSingle,
		"Flag":      EdmBoolean,
		"Born":      EdmDateTime,
		"Dyn":       "",
		"_Box.Name": EdmString,
		"Cx":        "UserData.Address", // a complex type
	}
	switch name {
	case MemberPublished:
		return metastore.FieldPublished, EdmDateTime, true
	case MemberID:
		return "__id", EdmString, true
	}
	typ, ok := types[name]
	return name, typ, ok
}

func TestCompileFilter(t *testing.T) {
	cmp := func(f string, op metastore.CmpOp, v any) metastore.Cmp {
		return metastore.Cmp{Field: f, Op: op, Value: v}
	}
	born := pqMs(2017, 12, 15, 9, 39, 10, 0)
	tests := []struct {
		in   string
		want metastore.Expr
	}{
		{"Name eq 'a'", cmp("Name", metastore.Eq, "a")},
		{"Name ne 'a'", cmp("Name", metastore.Ne, "a")},
		{"Name lt 'a'", cmp("Name", metastore.Lt, "a")},
		{"Name le 'a'", cmp("Name", metastore.Le, "a")},
		{"Name gt 'a'", cmp("Name", metastore.Gt, "a")},
		{"Name ge 'a'", cmp("Name", metastore.Ge, "a")},
		{"Name eq null", cmp("Name", metastore.Eq, nil)},
		{"Age ne null", cmp("Age", metastore.Ne, nil)},
		{"null eq Flag", cmp("Flag", metastore.Eq, nil)},
		// literal on the left: mirrored
		{"'a' eq Name", cmp("Name", metastore.Eq, "a")},
		{"'a' ne Name", cmp("Name", metastore.Ne, "a")},
		{"10 lt Age", cmp("Age", metastore.Gt, int64(10))},
		{"10 le Age", cmp("Age", metastore.Ge, int64(10))},
		{"10 gt Age", cmp("Age", metastore.Lt, int64(10))},
		{"10 ge Age", cmp("Age", metastore.Le, int64(10))},
		// coercion by type
		{"Age eq 5", cmp("Age", metastore.Eq, int64(5))},
		{"Age eq 5L", cmp("Age", metastore.Eq, int64(5))},
		{"Age eq 2147483647", cmp("Age", metastore.Eq, int64(2147483647))},
		{"Age eq -2147483648", cmp("Age", metastore.Eq, int64(-2147483648))},
		{"Score eq 1", cmp("Score", metastore.Eq, 1.0)},
		{"Score gt 1.5", cmp("Score", metastore.Gt, 1.5)},
		{"Score lt 1E+300", cmp("Score", metastore.Lt, 1e300)},
		{"Ratio eq 1", cmp("Ratio", metastore.Eq, 1.0)},
		{"Ratio eq 12345.12345", cmp("Ratio", metastore.Eq, 12345.12345)},
		{"Ratio eq -99999.5", cmp("Ratio", metastore.Eq, -99999.5)},
		{"Ratio eq 0.001", cmp("Ratio", metastore.Eq, 0.001)},
		{"Ratio eq 0", cmp("Ratio", metastore.Eq, 0.0)},
		{"Flag eq true", cmp("Flag", metastore.Eq, true)},
		{"Flag ne false", cmp("Flag", metastore.Ne, false)},
		{"Born eq datetime'2017-12-15T09:39:10'", cmp("Born", metastore.Eq, born)},
		{"Born lt datetimeoffset'2017-12-15T18:39:10+09:00'", cmp("Born", metastore.Lt, born)},
		{"Born ge 1513330750000", cmp("Born", metastore.Ge, int64(1513330750000))},
		{"Born ge datetime'1753-01-01T00:00'", cmp("Born", metastore.Ge, int64(minDateTimeMilli))},
		{"Born le datetime'9999-12-31T23:59:59.999'", cmp("Born", metastore.Le, int64(maxDateTimeMilli))},
		{"__published gt datetime'2017-12-15T09:39:10'", cmp(metastore.FieldPublished, metastore.Gt, born)},
		{"__id eq 'x'", cmp("__id", metastore.Eq, "x")},
		{"_Box.Name eq null", cmp("_Box.Name", metastore.Eq, nil)},
		{"_Box.Name eq 'box1'", cmp("_Box.Name", metastore.Eq, "box1")},
		// untyped (dynamic) properties take any scalar
		{"Dyn eq 'x'", cmp("Dyn", metastore.Eq, "x")},
		{"Dyn eq 1", cmp("Dyn", metastore.Eq, int64(1))},
		{"Dyn eq 1.5", cmp("Dyn", metastore.Eq, 1.5)},
		{"Dyn eq true", cmp("Dyn", metastore.Eq, true)},
		{"Dyn gt datetime'2017-12-15T09:39:10'", cmp("Dyn", metastore.Gt, born)},
		// JavaScript unescaping of string operands
		{`Name eq 'a\nb'`, cmp("Name", metastore.Eq, "a\nb")},
		{`Name eq 'tab\there'`, cmp("Name", metastore.Eq, "tab\there")},
		{`Name eq 'C:\\dir'`, cmp("Name", metastore.Eq, `C:\dir`)},
		{`Name eq 'q\''q\"'`, cmp("Name", metastore.Eq, `q'q"`)},
		{`Name eq '\x\/'`, cmp("Name", metastore.Eq, "x/")},
		{`Name eq 'end\'`, cmp("Name", metastore.Eq, `end\`)},
		{`Name eq '\u3042\u00e9'`, cmp("Name", metastore.Eq, "あé")},
		{`Name eq '\uD83D\uDE00!'`, cmp("Name", metastore.Eq, "😀!")},
		{`Name eq '\uD83D'`, cmp("Name", metastore.Eq, "\uFFFD")},
		{`Name eq '\b\f\r'`, cmp("Name", metastore.Eq, "\b\f\r")},
		// functions
		{"startswith(Name,'ab')", metastore.Prefix{Field: "Name", Value: "ab"}},
		{"startswith(Name,'')", metastore.Prefix{Field: "Name", Value: ""}},
		{"startswith(Dyn,'ab')", metastore.Prefix{Field: "Dyn", Value: "ab"}},
		{`startswith(Name,'a\tb')`, metastore.Prefix{Field: "Name", Value: "a\tb"}},
		{"substringof('ab',Name)", metastore.Contains{Field: "Name", Value: "ab"}},
		{"substringof('ab',_Box.Name)", metastore.Contains{Field: "_Box.Name", Value: "ab"}},
		// logical operators, flattened
		{"Name eq 'a' and Age eq 1", metastore.And{cmp("Name", metastore.Eq, "a"), cmp("Age", metastore.Eq, int64(1))}},
		{"Name eq 'a' or Age eq 1 or Flag eq true", metastore.Or{
			cmp("Name", metastore.Eq, "a"), cmp("Age", metastore.Eq, int64(1)), cmp("Flag", metastore.Eq, true)}},
		{"Name eq 'a' and (Age eq 1 and Flag eq true)", metastore.And{
			cmp("Name", metastore.Eq, "a"), cmp("Age", metastore.Eq, int64(1)), cmp("Flag", metastore.Eq, true)}},
		{"Name eq 'a' or Age eq 1 and Flag eq true", metastore.Or{
			cmp("Name", metastore.Eq, "a"),
			metastore.And{cmp("Age", metastore.Eq, int64(1)), cmp("Flag", metastore.Eq, true)}}},
		{"(Name eq 'a' or Age eq 1) and startswith(Name,'x')", metastore.And{
			metastore.Or{cmp("Name", metastore.Eq, "a"), cmp("Age", metastore.Eq, int64(1))},
			metastore.Prefix{Field: "Name", Value: "x"}}},
	}
	for _, tt := range tests {
		e, err := ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		got, err := CompileFilter(e, pqSchema)
		if err != nil {
			t.Errorf("CompileFilter(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("CompileFilter(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
	if got, err := CompileFilter(nil, pqSchema); got != nil || err != nil {
		t.Errorf("CompileFilter(nil) = %v, %v", got, err)
	}
}

func TestCompileFilterErrors(t *testing.T) {
	const (
		syntax   = "PR400-OD-0003"
		unknown  = "PR400-OD-0045"
		mismatch = "PR400-OD-0046"
		rng      = "PR400-OD-0047"
		escape   = "PR400-OD-0048"
	)
	tests := []struct {
		in     string
		code   string
		params []any
	}{
		{"Unknown eq 1", unknown, []any{"Unknown"}},
		{"'a' eq Unknown", unknown, []any{"Unknown"}},
		{"Unknown lt null", unknown, []any{"Unknown"}},
		{"startswith(Unknown,'a')", unknown, []any{"Unknown"}},
		{"substringof('a',Unknown)", unknown, []any{"Unknown"}},
		{"Name eq 'a' and Unknown eq 1", unknown, []any{"Unknown"}},

		{"Age eq 'a'", mismatch, []any{"Age"}},
		{"Age eq 1.5", mismatch, []any{"Age"}},
		{"Age eq true", mismatch, []any{"Age"}},
		{"Age eq datetime'2017-12-15T09:39:10'", mismatch, []any{"Age"}},
		{"Name eq 1", mismatch, []any{"Name"}},
		{"Name eq true", mismatch, []any{"Name"}},
		{"Name eq datetime'2017-12-15T09:39:10'", mismatch, []any{"Name"}},
		{"Flag eq 1", mismatch, []any{"Flag"}},
		{"Flag eq 'true'", mismatch, []any{"Flag"}},
		{"Score eq 'x'", mismatch, []any{"Score"}},
		{"Score eq true", mismatch, []any{"Score"}},
		{"Ratio eq 'x'", mismatch, []any{"Ratio"}},
		{"Born eq 'x'", mismatch, []any{"Born"}},
		{"Born eq 1.5", mismatch, []any{"Born"}},
		{"Born eq true", mismatch, []any{"Born"}},
		{"Age eq 1f", mismatch, []any{"Age"}},
		{"Score eq 1.5f", mismatch, []any{"Score"}},
		{"Score eq 1.5m", mismatch, []any{"Score"}},
		{"Ratio eq 2M", mismatch, []any{"Ratio"}},
		{"Dyn eq 2f", mismatch, []any{"Dyn"}},
		{"Name eq 2m", mismatch, []any{"Name"}},
		{"startswith(Age,'1')", mismatch, []any{"Age"}},
		{"startswith(Name,1)", mismatch, []any{"Name"}},
		{"startswith(Name,null)", mismatch, []any{"Name"}},
		{"startswith(Name,Name)", mismatch, []any{"Name"}},
		{"substringof(1,Name)", mismatch, []any{"Name"}},
		{"substringof('1',Born)", mismatch, []any{"Born"}},

		{"Age eq 2147483648", rng, []any{"Age"}},
		{"Age eq -2147483649", rng, []any{"Age"}},
		{"Ratio eq 123456", rng, []any{"Ratio"}},
		{"Ratio eq 100000.0", rng, []any{"Ratio"}},
		{"Ratio eq 0.123456", rng, []any{"Ratio"}},
		{"Ratio eq 0.0009", rng, []any{"Ratio"}},
		{"Ratio eq 1E+10", rng, []any{"Ratio"}},
		{"Born eq datetime'1752-12-31T23:59:59.999'", rng, []any{"Born"}},
		{"Born eq 253402300800000", rng, []any{"Born"}},
		{"Born eq -6847804800001", rng, []any{"Born"}},

		{"Age lt null", syntax, nil},
		{"null gt Age", syntax, nil},
		{"Flag gt true", syntax, nil},
		{"Flag le false", syntax, nil},
		{"Name eq Name", syntax, nil},
		{"'a' eq 'b'", syntax, nil},
		{"(Name eq 'a') eq true", syntax, nil},
		{"startswith(Name,'a') eq true", syntax, nil},
		{"startswith('a','b')", syntax, nil},
		{"substringof(Name,'a')", syntax, nil}, // the property is the second argument
		{"Cx eq 'a'", syntax, nil},

		{`Name eq '\u00zz'`, escape, []any{`\u00zz`}},
		{`Name eq 'ab\u12'`, escape, []any{`ab\u12`}},
		{`startswith(Name,'\u+123')`, escape, []any{`\u+123`}},
	}
	for _, tt := range tests {
		e, err := ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		got, err := CompileFilter(e, pqSchema)
		if err == nil {
			t.Errorf("CompileFilter(%q) = %#v, want %s", tt.in, got, tt.code)
			continue
		}
		pqCheckErr(t, "CompileFilter("+tt.in+")", err, tt.code, tt.params...)
	}

	// Hand-built expressions the parser does not produce.
	built := []struct {
		e    FilterExpr
		code string
	}{
		{pqProp("Name"), "PR400-OD-0043"},
		{pqLit(true), "PR400-OD-0043"},
		{&CallExpr{Func: "endswith", Args: []FilterExpr{pqProp("Name"), pqLit("a")}}, "PR400-OD-0044"},
		{&CallExpr{Func: "startswith", Args: []FilterExpr{pqProp("Name")}}, "PR400-OD-0003"},
		{&BinaryExpr{Op: "add", L: pqProp("Age"), R: pqLit(int64(1))}, "PR400-OD-0043"},
		{pqBin("and", pqBin("eq", pqProp("Age"), pqLit(int64(1))), pqProp("Flag")), "PR400-OD-0003"},
		{pqBin("or", nil, nil), "PR400-OD-0003"},
		{pqBin("eq", nil, pqLit(int64(1))), "PR400-OD-0003"},
	}
	for _, b := range built {
		_, err := CompileFilter(b.e, pqSchema)
		pqCheckErr(t, "CompileFilter(built "+b.e.String()+")", err, b.code)
	}
}

func TestCompileOrderBy(t *testing.T) {
	items, err := ParseOrderBy("Name desc, Unknown, __published, Age asc, _Box.Name")
	if err != nil {
		t.Fatal(err)
	}
	got, err := CompileOrderBy(items, pqSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := []metastore.Order{
		{Field: "Name", Desc: true},
		{Field: metastore.FieldPublished},
		{Field: "Age"},
		{Field: "_Box.Name"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CompileOrderBy = %#v, want %#v", got, want)
	}
	if got, err := CompileOrderBy(nil, pqSchema); got != nil || err != nil {
		t.Errorf("CompileOrderBy(nil) = %v, %v", got, err)
	}
}

func TestSingleInRange(t *testing.T) {
	for f, want := range map[float64]bool{
		0: true, 1: true, -1: true, 99999: true, 99999.99999: true, -12345.5: true,
		0.001: true, 0.00123: true, 100000: false, 0.000999: false, 1.123456: false,
		1e7: false, 1e-5: false,
	} {
		if got := singleInRange(f); got != want {
			t.Errorf("singleInRange(%v) = %v, want %v", f, got, want)
		}
	}
}

// pqFuzzResolvers give every name a type: untyped, each EDM type chosen by
// a hash of the name, an unsupported type, or unknown.
var pqFuzzResolvers = []PropertyResolver{
	func(name string) (metastore.Field, string, bool) { return name, "", true },
	func(name string) (metastore.Field, string, bool) {
		types := []string{EdmString, EdmBoolean, EdmInt32, EdmSingle, EdmDouble, EdmDateTime, "", "Custom.Type", "!"}
		h := fnv.New32a()
		h.Write([]byte(name))
		typ := types[h.Sum32()%uint32(len(types))]
		return name, typ, typ != "!"
	},
	func(string) (metastore.Field, string, bool) { return "", "", false },
}

func pqRequireCode(t *testing.T, what string, err error) {
	t.Helper()
	if perr.CodeOf(err) == "" {
		t.Fatalf("%s: error without a Personium code: %v", what, err)
	}
}
