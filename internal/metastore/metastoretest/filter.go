package metastoretest

import (
	"slices"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// typed is the filter and order data set: member v holds a value of every
// type (missing, null, booleans, integers, floats, strings that look like
// other types). Kind "T", cell "c", parent "p"; the key of each document
// is its ID; document i is published at 1000+i and updated at 2000-i.
var typed = []struct{ id, body string }{
	{"missing", `{"w": 1}`},
	{"null", `{"v": null, "w": 2}`},
	{"false", `{"v": false}`},
	{"true", `{"v": true}`},
	{"neg", `{"v": -3}`},
	{"i0", `{"v": 0, "_Box": {"Name": "nested"}}`},
	{"i1", `{"v": 1}`},
	{"f1", `{"v": 1.0}`},
	{"f15", `{"v": 1.5}`},
	{"i2", `{"v": 2, "w": 2}`},
	{"s_empty", `{"v": ""}`},
	{"s1", `{"v": "1"}`},
	{"sApple", `{"v": "Apple"}`},
	{"sBan", `{"v": "Banana", "w": "2", "it's": "x"}`},
	{"sapp", `{"v": "app", "a\"b": 1}`},
	{"sapple", `{"v": "apple"}`},
	{"sTrue", `{"v": "true"}`},
	{"sE", `{"v": "é", "_Box.Name": "box1"}`},
	{"sTokyo", `{"v": "東京都"}`},
}

// typedQuery selects the typed data set.
func typedQuery(f metastore.Expr) *metastore.Query {
	return &metastore.Query{Kind: "T", Cell: "c", Parent: "p", Filter: f, Limit: -1}
}

func createTyped(t *testing.T, s metastore.Store) {
	t.Helper()
	docs := make([]metastore.Doc, len(typed))
	for i, x := range typed {
		docs[i] = mkdoc(x.id, "T", "c", "p", x.id, x.body)
		docs[i].Published, docs[i].Updated = int64(1000+i), int64(2000-i)
	}
	mustCreate(t, s, docs...)
	// Noise the scope must exclude: same kind elsewhere, another kind here.
	mustCreate(t, s,
		mkdoc("other-cell", "T", "c2", "p", "x", `{"v": 1}`),
		mkdoc("other-parent", "T", "c", "p2", "x", `{"v": 1}`),
		mkdoc("other-kind", "U", "c", "p", "x", `{"v": 1}`))
}

// allTyped lists the IDs of the typed data set but those in except.
func allTyped(except string) []string {
	var out []string
	for _, x := range typed {
		if !slices.Contains(ids(except), x.id) {
			out = append(out, x.id)
		}
	}
	return out
}

const typedStrings = "s_empty s1 sApple sBan sapp sapple sTrue sE sTokyo"

type filterCase struct {
	name string
	f    metastore.Expr
	want []string
}

func eq(f string, v any) metastore.Cmp { return metastore.Cmp{Field: f, Op: metastore.Eq, Value: v} }
func ne(f string, v any) metastore.Cmp { return metastore.Cmp{Field: f, Op: metastore.Ne, Value: v} }
func lt(f string, v any) metastore.Cmp { return metastore.Cmp{Field: f, Op: metastore.Lt, Value: v} }
func le(f string, v any) metastore.Cmp { return metastore.Cmp{Field: f, Op: metastore.Le, Value: v} }
func gt(f string, v any) metastore.Cmp { return metastore.Cmp{Field: f, Op: metastore.Gt, Value: v} }
func ge(f string, v any) metastore.Cmp { return metastore.Cmp{Field: f, Op: metastore.Ge, Value: v} }

// bodyFilterCases are the filters on body members, with their exact result sets.
var bodyFilterCases = []filterCase{
	// Nulls: missing and null are the same.
	{"eq nil", eq("v", nil), ids("missing null")},
	{"ne nil", ne("v", nil), allTyped("missing null")},
	{"eq nil on a member no document has", eq("nope", nil), allTyped("")},
	{"lt nil", lt("v", nil), nil},
	{"ge nil", ge("v", nil), nil},
	// Numbers: int and float compare numerically, never equal other types.
	{"eq int 1", eq("v", int64(1)), ids("i1 f1")},
	{"eq float 1.0", eq("v", 1.0), ids("i1 f1")},
	{"eq 1.5", eq("v", 1.5), ids("f15")},
	{"eq 0 is not false", eq("v", int64(0)), ids("i0")},
	{"ne 1", ne("v", int64(1)), allTyped("i1 f1")},
	{"lt 1", lt("v", int64(1)), ids("neg i0")},
	{"le 1", le("v", int64(1)), ids("neg i0 i1 f1")},
	{"gt 1", gt("v", int64(1)), ids("f15 i2")},
	{"ge 1.5", ge("v", 1.5), ids("f15 i2")},
	{"lt 10 only numbers", lt("v", int64(10)), ids("neg i0 i1 f1 f15 i2")},
	{"gt -10 only numbers", gt("v", -10.0), ids("neg i0 i1 f1 f15 i2")},
	// Strings: by bytes, case-sensitive, never equal numbers or booleans.
	{"eq string 1", eq("v", "1"), ids("s1")},
	{"eq string true", eq("v", "true"), ids("sTrue")},
	{"eq Apple", eq("v", "Apple"), ids("sApple")},
	{"eq empty string", eq("v", ""), ids("s_empty")},
	{"ne Apple", ne("v", "Apple"), allTyped("sApple")},
	{"lt apple", lt("v", "apple"), ids("s_empty s1 sApple sBan sapp")},
	{"gt apple", gt("v", "apple"), ids("sTrue sE sTokyo")},
	{"ge app", ge("v", "app"), ids("sapp sapple sTrue sE sTokyo")},
	{"gt empty string", gt("v", ""), ids("s1 sApple sBan sapp sapple sTrue sE sTokyo")},
	{"ge empty string", ge("v", ""), ids(typedStrings)},
	{"le z excludes non-ASCII", le("v", "z"), ids("s_empty s1 sApple sBan sapp sapple sTrue")},
	// Booleans: false < true, never equal numbers or strings.
	{"eq true", eq("v", true), ids("true")},
	{"eq false", eq("v", false), ids("false")},
	{"ne true", ne("v", true), allTyped("true")},
	{"lt true", lt("v", true), ids("false")},
	{"gt false", gt("v", false), ids("true")},
	{"le false", le("v", false), ids("false")},
	{"ge false", ge("v", false), ids("false true")},
	// Prefix and Contains: strings only, case-sensitive.
	{"prefix app", metastore.Prefix{Field: "v", Value: "app"}, ids("sapp sapple")},
	{"prefix App", metastore.Prefix{Field: "v", Value: "App"}, ids("sApple")},
	{"prefix empty", metastore.Prefix{Field: "v", Value: ""}, ids(typedStrings)},
	{"prefix CJK", metastore.Prefix{Field: "v", Value: "東京"}, ids("sTokyo")},
	{"prefix 1 is not the number", metastore.Prefix{Field: "v", Value: "1"}, ids("s1")},
	{"prefix tru is not the boolean", metastore.Prefix{Field: "v", Value: "tru"}, ids("sTrue")},
	{"prefix longer than value", metastore.Prefix{Field: "v", Value: "apples"}, nil},
	{"contains pp", metastore.Contains{Field: "v", Value: "pp"}, ids("sApple sapp sapple")},
	{"contains PP", metastore.Contains{Field: "v", Value: "PP"}, nil},
	{"contains CJK", metastore.Contains{Field: "v", Value: "京"}, ids("sTokyo")},
	{"contains empty", metastore.Contains{Field: "v", Value: ""}, ids(typedStrings)},
	{"contains on a number", metastore.Contains{Field: "v", Value: "1"}, ids("s1")},
	// In: Eq on each value.
	{"in mixed", metastore.In{Field: "v", Values: []any{int64(1), "apple", nil}}, ids("i1 f1 sapple missing null")},
	{"in bool and number", metastore.In{Field: "v", Values: []any{true, 2.0}}, ids("true i2")},
	{"in empty", metastore.In{Field: "v"}, nil},
	// Not, And, Or.
	{"not eq 1", metastore.Not{X: eq("v", int64(1))}, allTyped("i1 f1")},
	{"not lt 1 includes nulls and other types", metastore.Not{X: lt("v", int64(1))}, allTyped("neg i0")},
	{"not prefix", metastore.Not{X: metastore.Prefix{Field: "v", Value: "app"}}, allTyped("sapp sapple")},
	{"not contains", metastore.Not{X: metastore.Contains{Field: "v", Value: "p"}}, allTyped("sApple sapp sapple")},
	{"not in", metastore.Not{X: metastore.In{Field: "v", Values: []any{nil, "1"}}}, allTyped("missing null s1")},
	{"not not", metastore.Not{X: metastore.Not{X: eq("v", true)}}, ids("true")},
	{"empty and", metastore.And{}, allTyped("")},
	{"empty or", metastore.Or{}, nil},
	{"not empty or", metastore.Not{X: metastore.Or{}}, allTyped("")},
	{"and range", metastore.And{ge("v", int64(0)), lt("v", int64(2))}, ids("i0 i1 f1 f15")},
	{"or across members", metastore.Or{eq("v", true), eq("v", "Banana"), eq("w", int64(2))}, ids("true sBan null i2")},
	{"and across members", metastore.And{eq("w", 2.0), ne("v", nil)}, ids("i2")},
	{"w eq string 2", eq("w", "2"), ids("sBan")},
	{"not or", metastore.Not{X: metastore.Or{eq("v", nil), metastore.Prefix{Field: "v", Value: "a"}}},
		allTyped("missing null sapp sapple")},
	{"and with not and or", metastore.And{ne("w", nil), metastore.Or{eq("v", nil), gt("v", int64(1))}},
		ids("missing null i2")},
}

// testFilter checks every operator on body members.
func testFilter(t *testing.T, s metastore.Store) {
	createTyped(t, s)
	checkFilters(t, s, bodyFilterCases)
}

func checkFilters(t *testing.T, s metastore.Store, cases []filterCase) {
	t.Helper()
	for _, tc := range cases {
		q := typedQuery(tc.f)
		q.Count = true
		res := mustQuery(t, s, q)
		wantSet(t, tc.name, res.Docs, tc.want)
		if res.Count != int64(len(tc.want)) {
			t.Errorf("%s: Count %d, want %d", tc.name, res.Count, len(tc.want))
		}
	}
}

// testFilterColumns checks filters on the column fields.
func testFilterColumns(t *testing.T, s metastore.Store) {
	createTyped(t, s)
	pfx := func(f, v string) metastore.Prefix { return metastore.Prefix{Field: f, Value: v} }
	checkFilters(t, s, []filterCase{
		{"@id eq", eq(metastore.FieldID, "i1"), ids("i1")},
		{"@id eq number", eq(metastore.FieldID, int64(1)), nil},
		{"@id ne number", ne(metastore.FieldID, int64(1)), allTyped("")},
		{"@id eq nil", eq(metastore.FieldID, nil), nil},
		{"@id ne nil", ne(metastore.FieldID, nil), allTyped("")},
		{"@id in", metastore.In{Field: metastore.FieldID, Values: []any{"i1", "i2", "nope", int64(5)}}, ids("i1 i2")},
		{"@key eq", eq(metastore.FieldKey, "sE"), ids("sE")},
		{"@key prefix", pfx(metastore.FieldKey, "sa"), ids("sapp sapple")},
		{"@key prefix s", pfx(metastore.FieldKey, "s"), ids(typedStrings)},
		{"@key contains", metastore.Contains{Field: metastore.FieldKey, Value: "pp"}, ids("sApple sapp sapple")},
		{"@key gt", gt(metastore.FieldKey, "s"), ids(typedStrings + " true")},
		{"@parent eq", eq(metastore.FieldParent, "p"), allTyped("")},
		{"@parent ne", ne(metastore.FieldParent, "p"), nil},
		{"@published ge", ge(metastore.FieldPublished, int64(1010)), ids(typedStrings)},
		{"@published eq float", eq(metastore.FieldPublished, 1003.0), ids("true")},
		{"@published eq string", eq(metastore.FieldPublished, "1003"), nil},
		{"@published lt nil", lt(metastore.FieldPublished, nil), nil},
		{"@published prefix", pfx(metastore.FieldPublished, "1"), nil},
		{"@updated gt", gt(metastore.FieldUpdated, int64(1995)), ids("missing null false true neg")},
		{"@updated and body", metastore.And{le(metastore.FieldUpdated, int64(1995)), eq("v", int64(1))}, ids("i1 f1")},
	})
	// @parent with AnyParent sees the other parent.
	res := mustQuery(t, s, &metastore.Query{Kind: "T", Cell: "c", AnyParent: true, Limit: -1,
		Filter: eq(metastore.FieldParent, "p2")})
	wantSet(t, "@parent eq p2 with AnyParent", res.Docs, ids("other-parent"))
}

// testFilterFieldNames: member names are taken literally, whatever they
// contain (dots, quotes); a dotted name is not a path into nested objects.
func testFilterFieldNames(t *testing.T, s metastore.Store) {
	createTyped(t, s)
	checkFilters(t, s, []filterCase{
		{"dotted name", eq("_Box.Name", "box1"), ids("sE")},
		{"dotted name is not a path", eq("_Box.Name", "nested"), nil},
		{"double quote in name", eq(`a"b`, int64(1)), ids("sapp")},
		{"single quote in name", eq("it's", "x"), ids("sBan")},
		{"injection attempt", eq(`v') OR 1=1 OR ('`, "x"), nil},
		{"injection attempt in a value", eq("v", `x' OR '1'='1`), nil},
	})
}

// testInvalidQueries: malformed queries are Invalid.
func testInvalidQueries(t *testing.T, s metastore.Store) {
	createTyped(t, s)
	for _, tc := range []struct {
		name string
		q    *metastore.Query
	}{
		{"no kind", &metastore.Query{Cell: "c", Limit: -1}},
		{"unknown column", typedQuery(eq("@nope", "x"))},
		{"unknown column in order", &metastore.Query{Kind: "T", Cell: "c", Limit: -1,
			Order: []metastore.Order{{Field: "@nope"}}}},
		{"unsupported literal", typedQuery(eq("v", struct{}{}))},
		{"unknown operator", typedQuery(metastore.Cmp{Field: "v", Op: 99, Value: "x"})},
	} {
		_, err := s.Query(t.Context(), tc.q)
		wantKind(t, tc.name, err, perr.Invalid)
	}
}
