package odata

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/perr"
)

// pqCheckErr fails unless err carries code (and, if params is non-nil,
// those message parameters).
func pqCheckErr(t *testing.T, what string, err error, code string, params ...any) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, code)
		return
	}
	if got := perr.CodeOf(err); got != code {
		t.Errorf("%s: code %s (%v), want %s", what, got, err, code)
		return
	}
	if params != nil {
		var e *perr.E
		if !errors.As(err, &e) || !reflect.DeepEqual(e.Params, params) {
			t.Errorf("%s: params %#v, want %#v", what, e.Params, params)
		}
	}
}

func pqMs(y int, mo time.Month, d, h, mi, s, ms int) int64 {
	return time.Date(y, mo, d, h, mi, s, ms*1e6, time.UTC).UnixMilli()
}

func pqProp(n string) *PropertyExpr { return &PropertyExpr{Name: n} }
func pqLit(v any) *LiteralExpr      { return &LiteralExpr{Value: v} }
func pqBin(op string, l, r FilterExpr) *BinaryExpr {
	return &BinaryExpr{Op: op, L: l, R: r}
}

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in    string
		want  FilterExpr
		canon string // String() of the result; "" means in
	}{
		{"Name eq 'a'", pqBin("eq", pqProp("Name"), pqLit("a")), ""},
		{"  Name   eq\t'a'  ", pqBin("eq", pqProp("Name"), pqLit("a")), "Name eq 'a'"},
		{"Name eq 'it''s'", pqBin("eq", pqProp("Name"), pqLit("it's")), ""},
		{"Name eq ''", pqBin("eq", pqProp("Name"), pqLit("")), ""},
		{"Name eq ''''", pqBin("eq", pqProp("Name"), pqLit("'")), ""},
		{"Name ne 'a b'", pqBin("ne", pqProp("Name"), pqLit("a b")), ""},
		{"_Box.Name eq null", pqBin("eq", pqProp("_Box.Name"), pqLit(nil)), ""},
		{"_Relation._Box.Name eq 'b'", pqBin("eq", pqProp("_Relation._Box.Name"), pqLit("b")), ""},
		{"__published gt 0", pqBin("gt", pqProp("__published"), pqLit(int64(0))), ""},
		{"my-prop le 1", pqBin("le", pqProp("my-prop"), pqLit(int64(1))), ""},
		{"datetime eq 1", pqBin("eq", pqProp("datetime"), pqLit(int64(1))), ""},
		{"Age ge -5", pqBin("ge", pqProp("Age"), pqLit(int64(-5))), ""},
		{"Age lt 2147483648", pqBin("lt", pqProp("Age"), pqLit(int64(2147483648))), ""},
		{"Age eq 5L", pqBin("eq", pqProp("Age"), &LiteralExpr{Value: int64(5), Suffix: "L"}), ""},
		{"Score eq 1.5", pqBin("eq", pqProp("Score"), pqLit(1.5)), ""},
		{"Score eq -1.25", pqBin("eq", pqProp("Score"), pqLit(-1.25)), ""},
		{"Score eq 1E+10", pqBin("eq", pqProp("Score"), pqLit(1e10)), "Score eq 1e+10"},
		{"Score eq 1.2e-3", pqBin("eq", pqProp("Score"), pqLit(1.2e-3)), "Score eq 0.0012"},
		{"Score eq 1.0", pqBin("eq", pqProp("Score"), pqLit(1.0)), ""},
		{"Score eq 2f", pqBin("eq", pqProp("Score"), &LiteralExpr{Value: 2.0, Suffix: "f"}), ""},
		{"Score eq 2.5m", pqBin("eq", pqProp("Score"), &LiteralExpr{Value: 2.5, Suffix: "m"}), ""},
		{"Score eq 2M", pqBin("eq", pqProp("Score"), &LiteralExpr{Value: 2.0, Suffix: "M"}), ""},
		{"Flag eq true", pqBin("eq", pqProp("Flag"), pqLit(true)), ""},
		{"Flag ne false", pqBin("ne", pqProp("Flag"), pqLit(false)), ""},
		{"'a' eq Name", pqBin("eq", pqLit("a"), pqProp("Name")), ""},
		{"10 lt Age", pqBin("lt", pqLit(int64(10)), pqProp("Age")), ""},
		{"Born eq datetime'2017-12-15T09:39:10'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 9, 39, 10, 0)})),
			"Born eq datetime'2017-12-15T09:39:10.000'"},
		{"Born eq datetime'2017-12-15T09:39'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 9, 39, 0, 0)})),
			"Born eq datetime'2017-12-15T09:39:00.000'"},
		{"Born eq datetime'2017-12-15t09:39:10.5'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 9, 39, 10, 500)})),
			"Born eq datetime'2017-12-15T09:39:10.500'"},
		{"Born eq datetime'2017-12-15T09:39:10.123456789'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 9, 39, 10, 123)})),
			"Born eq datetime'2017-12-15T09:39:10.123'"},
		{"Born eq datetime'1600-02-29T00:00:00'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(1600, 2, 29, 0, 0, 0, 0)})),
			"Born eq datetime'1600-02-29T00:00:00.000'"},
		{"Born eq datetimeoffset'2017-12-15T09:39:10+09:00'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 0, 39, 10, 0), Offset: true})),
			"Born eq datetimeoffset'2017-12-15T00:39:10.000Z'"},
		{"Born eq datetimeoffset'2017-12-15T09:39:10-05:30'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 15, 9, 10, 0), Offset: true})),
			"Born eq datetimeoffset'2017-12-15T15:09:10.000Z'"},
		{"Born eq datetimeoffset'2017-12-15T09:39:10Z'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 9, 39, 10, 0), Offset: true})),
			"Born eq datetimeoffset'2017-12-15T09:39:10.000Z'"},
		{"Born eq datetimeoffset'2017-12-15T09:39:10'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 9, 39, 10, 0), Offset: true})),
			"Born eq datetimeoffset'2017-12-15T09:39:10.000Z'"},
		{"Born eq datetimeoffset'2017-12-15T09:39:10+05:30:15'",
			pqBin("eq", pqProp("Born"), pqLit(DateTime{UnixMilli: pqMs(2017, 12, 15, 4, 8, 55, 0), Offset: true})),
			"Born eq datetimeoffset'2017-12-15T04:08:55.000Z'"},
		{"startswith(Name,'ab')", &CallExpr{Func: "startswith", Args: []FilterExpr{pqProp("Name"), pqLit("ab")}}, ""},
		{"startswith ( Name , 'ab' )", &CallExpr{Func: "startswith", Args: []FilterExpr{pqProp("Name"), pqLit("ab")}},
			"startswith(Name,'ab')"},
		{"substringof('ab',Name)", &CallExpr{Func: "substringof", Args: []FilterExpr{pqLit("ab"), pqProp("Name")}}, ""},
		// and binds tighter than or; both are left-associative.
		{"a eq 1 and b eq 2 or c eq 3",
			pqBin("or", pqBin("and", pqBin("eq", pqProp("a"), pqLit(int64(1))), pqBin("eq", pqProp("b"), pqLit(int64(2)))),
				pqBin("eq", pqProp("c"), pqLit(int64(3)))), ""},
		{"a eq 1 or b eq 2 and c eq 3",
			pqBin("or", pqBin("eq", pqProp("a"), pqLit(int64(1))),
				pqBin("and", pqBin("eq", pqProp("b"), pqLit(int64(2))), pqBin("eq", pqProp("c"), pqLit(int64(3))))), ""},
		{"(a eq 1 or b eq 2) and c eq 3",
			pqBin("and", pqBin("or", pqBin("eq", pqProp("a"), pqLit(int64(1))), pqBin("eq", pqProp("b"), pqLit(int64(2)))),
				pqBin("eq", pqProp("c"), pqLit(int64(3)))), ""},
		{"a eq 1 or (b eq 2 or c eq 3)",
			pqBin("or", pqBin("eq", pqProp("a"), pqLit(int64(1))),
				pqBin("or", pqBin("eq", pqProp("b"), pqLit(int64(2))), pqBin("eq", pqProp("c"), pqLit(int64(3))))), ""},
		{"((a eq 1) or b eq 2) or c eq 3",
			pqBin("or", pqBin("or", pqBin("eq", pqProp("a"), pqLit(int64(1))), pqBin("eq", pqProp("b"), pqLit(int64(2)))),
				pqBin("eq", pqProp("c"), pqLit(int64(3)))), "a eq 1 or b eq 2 or c eq 3"},
		{"startswith(Name,'a') and substringof('b',Name) or Age gt 1",
			pqBin("or", pqBin("and",
				&CallExpr{Func: "startswith", Args: []FilterExpr{pqProp("Name"), pqLit("a")}},
				&CallExpr{Func: "substringof", Args: []FilterExpr{pqLit("b"), pqProp("Name")}}),
				pqBin("gt", pqProp("Age"), pqLit(int64(1)))), ""},
		// Parses; CompileFilter refuses it (PR400-OD-0003), as Personium does.
		{"startswith(Name,'a') eq true",
			pqBin("eq", &CallExpr{Func: "startswith", Args: []FilterExpr{pqProp("Name"), pqLit("a")}}, pqLit(true)), ""},
		{"(a eq 1) eq true", pqBin("eq", pqBin("eq", pqProp("a"), pqLit(int64(1))), pqLit(true)), ""},
		{strings.Repeat("(", MaxFilterDepth) + "a eq 1" + strings.Repeat(")", MaxFilterDepth),
			pqBin("eq", pqProp("a"), pqLit(int64(1))), "a eq 1"},
	}
	for _, tt := range tests {
		got, err := ParseFilter(tt.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFilter(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		canon := tt.canon
		if canon == "" {
			canon = tt.in
		}
		if s := got.String(); s != canon {
			t.Errorf("ParseFilter(%q).String() = %q, want %q", tt.in, s, canon)
		}
		again, err := ParseFilter(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("round trip of %q via %q: %#v, %v", tt.in, got.String(), again, err)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	const (
		syntax = "PR400-OD-0003"
		op     = "PR400-OD-0043"
		fn     = "PR400-OD-0044"
	)
	tests := []struct{ in, code string }{
		{"", syntax},
		{"   ", syntax},
		{"Name eq", syntax},
		{"Name eq 'a", syntax},
		{"Name eq 'a''", syntax},
		{"Name eq 'a' and", syntax},
		{"Name eq 'a' or", syntax},
		{"and Name eq 'a'", syntax},
		{"(Name eq 'a'", syntax},
		{"Name eq 'a')", syntax},
		{"()", syntax},
		{"Name eq 'a' Name", syntax},
		{"Name 'a'", syntax},
		{"Name EQ 'a'", syntax}, // operators are lower case
		{"Name eq'a'", syntax},  // whitespace required, as in Personium
		{"Name eq 'a' eq 'b'", syntax},
		{"Name eq 'a' and Age", syntax},
		{"Age or Name eq 'a'", syntax},
		{"Name eq 'a' , Age eq 1", syntax},
		{"Name eq 1.5d", syntax},
		{"Name eq 1.", syntax},
		{"Name eq .5", syntax},
		{"Name eq 1.5L", syntax},
		{"Name eq 1e5f", syntax},
		{"Name eq 1abc", syntax},
		{"Name eq 1.2.3", syntax},
		{"Name eq 99999999999999999999", syntax},
		{"Name eq 1e999", syntax},
		{"Name eq @x", syntax},
		{"Name eq \"a\"", syntax},
		{"Name = 'a'", syntax},
		{"a. eq 1", syntax},
		{"a..b eq 1", syntax},
		{"Born eq datetime'2017-02-29T00:00'", syntax},
		{"Born eq datetime'2017-12-15T09:39:10Z'", syntax},
		{"Born eq datetime'2017-12-15 09:39:10'", syntax},
		{"Born eq datetime'2017-12-15'", syntax},
		{"Born eq datetime'2017-12-15T24:00'", syntax},
		{"Born eq datetime'2017-12-15T09:60'", syntax},
		{"Born eq datetime'2017-12-15T09:39:10.'", syntax},
		{"Born eq datetime'2017-12-15T09:39:10.1234567890'", syntax},
		{"Born eq datetime'17-12-15T09:39'", syntax},
		{"Born eq datetime '2017-12-15T09:39'", syntax},
		{"Born eq datetimeoffset'2017-12-15T09:39+19:00'", syntax},
		{"Born eq datetimeoffset'2017-12-15T09:39+0900'", syntax},
		{"Born eq datetimeoffset'2017-12-15T09:39+09:60'", syntax},
		{"Born eq datetimeoffset'2017-12-15T09:39+09:00:60'", syntax},
		{"Born eq datetimeoffset'2017-12-15T09:39+09:00Z'", syntax},
		{"Born eq datetime'2017-12-15T09:39:1'", syntax},
		{"Born eq datetimeoffset'0000-01-01T00:00+01:00'", syntax}, // before year 0 in UTC
		{"Id eq guid'12345678-aaaa-bbbb-cccc-ddddeeeeffff'", syntax},
		{"Bin eq X'00'", syntax},
		{"T eq time'PT1H'", syntax},
		{"foo(Name) eq 1", syntax},
		{"startswith(Name)", syntax},
		{"startswith(Name,'a','b')", syntax},
		{"startswith(Name 'a')", syntax},
		{"startswith(Name,'a'", syntax},
		{"substringof('a')", syntax},
		{strings.Repeat("(", MaxFilterDepth+1) + "a eq 1" + strings.Repeat(")", MaxFilterDepth+1), syntax},
		{strings.Repeat("startswith(", MaxFilterDepth+1), syntax},
		{"Name eq '" + strings.Repeat("x", MaxFilterBytes) + "'", syntax},

		{"not Name eq 'a'", op},
		{"not(Name eq 'a')", op},
		{"Age add 1 eq 2", op},
		{"Age eq 1 add 2", op},
		{"Age sub 1 eq 2", op},
		{"Age mul 2 eq 4", op},
		{"Age div 2 eq 1", op},
		{"Age mod 2 eq 0", op},
		{"Tags has 'a'", op},
		{"Name in ('a','b')", op},
		{"Age eq -Age", op},
		{"-Age eq 1", op},
		{"Name", op},
		{"'a'", op},
		{"(Name)", op},
		{"true", op},

		{"endswith(Name,'a')", fn},
		{"indexof(Name,'a') eq 1", fn},
		{"replace(Name,'a','b') eq 'c'", fn},
		{"length(Name) eq 1", fn},
		{"tolower(Name) eq 'a'", fn},
		{"toupper(Name) eq 'A'", fn},
		{"trim(Name) eq 'a'", fn},
		{"substring(Name,1) eq 'a'", fn},
		{"concat(Name,'a') eq 'ba'", fn},
		{"year(Born) eq 2000", fn},
		{"month(Born) eq 1", fn},
		{"day(Born) eq 1", fn},
		{"hour(Born) eq 1", fn},
		{"minute(Born) eq 1", fn},
		{"second(Born) eq 1", fn},
		{"round(Score) eq 1", fn},
		{"floor(Score) eq 1", fn},
		{"ceiling(Score) eq 1", fn},
		{"isof(Name,'Edm.String')", fn},
		{"cast(Age,'Edm.String') eq '1'", fn},
		{"contains(Name,'a')", fn},
		{"Name eq 'a' and endswith(Name,'a')", fn},
	}
	for _, tt := range tests {
		e, err := ParseFilter(tt.in)
		what := "ParseFilter(" + pqAbbrev(tt.in) + ")"
		if err == nil {
			t.Errorf("%s = %v, want error %s", what, e, tt.code)
			continue
		}
		pqCheckErr(t, what, err, tt.code)
	}
}

func pqAbbrev(s string) string {
	if len(s) > 60 {
		return strconv.Quote(s[:60]) + "…"
	}
	return strconv.Quote(s)
}

func TestDateTimeString(t *testing.T) {
	for _, d := range []DateTime{
		{UnixMilli: 0},
		{UnixMilli: -1},
		{UnixMilli: minDateTimeMilli},
		{UnixMilli: maxDateTimeMilli, Offset: true},
		{UnixMilli: pqMs(0, 1, 1, 0, 0, 0, 0)},
	} {
		e, err := ParseFilter("x eq " + d.String())
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		if got := e.(*BinaryExpr).R.(*LiteralExpr).Value; got != d {
			t.Errorf("%s parsed as %v", d, got)
		}
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"Name eq 'a'", "Name eq 'it''s' and Age gt 10 or Flag eq true", "(a eq 1 or b eq 2) and c ne null",
		"startswith(Name,'ab')", "substringof('x',_Box.Name)", "Born ge datetime'2017-12-15T09:39:10.123'",
		"Born lt datetimeoffset'2017-12-15T09:39:10+09:00'", "Score eq -1.5E+10 or Score eq 2f or x eq 3m",
		"Age eq 5L", "'a' eq Name", "not x eq 1", "endswith(a,'b')", "a add 1 eq 2", `Name eq '\u3042\n'`,
		"((((a eq 1))))", "a eq 1 and (b eq 2 or (c eq 3 and d eq 4))", "x eq -9223372036854775808",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if err != nil {
			pqRequireCode(t, "ParseFilter", err)
			return
		}
		for _, r := range pqFuzzResolvers {
			if _, err := CompileFilter(e, r); err != nil {
				pqRequireCode(t, "CompileFilter", err)
			}
		}
		text := e.String()
		if len(text) > MaxFilterBytes {
			return // canonical literals can be longer than the input
		}
		again, err := ParseFilter(text)
		if err != nil {
			t.Fatalf("%q: canonical form %q does not parse: %v", s, text, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("%q: canonical form %q parses differently: %#v vs %#v", s, text, again, e)
		}
		if again.String() != text {
			t.Fatalf("%q: canonical form not stable: %q vs %q", s, again.String(), text)
		}
	})
}

func TestFilterErrorDetail(t *testing.T) {
	_, err := ParseFilter("Name eq 'a' $")
	if err == nil || !strings.Contains(err.Error(), "at offset 12") {
		t.Errorf("error %v does not locate the problem", err)
	}
}
