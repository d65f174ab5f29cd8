package odata

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func pqValues(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatalf("ParseQuery(%q): %v", q, err)
	}
	return v
}

func TestParseQueryOptions(t *testing.T) {
	filter := func(s string) FilterExpr {
		e, err := ParseFilter(s)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	tests := []struct {
		query  string
		lim    Limits
		single bool
		want   QueryOptions
	}{
		{"", Limits{}, false, QueryOptions{Top: 25, Format: "json"}},
		{"", DefaultLimits, true, QueryOptions{Top: 25, Format: "json"}},
		{"$top=0", Limits{}, false, QueryOptions{Top: 0, Format: "json"}},
		{"$top=10000&$skip=100000", Limits{}, false, QueryOptions{Top: 10000, Skip: 100000, Format: "json"}},
		{"$top=%2B7&$skip=0", Limits{}, false, QueryOptions{Top: 7, Format: "json"}},
		{"$top=50", Limits{DefaultTop: 10, MaxTop: 50}, false, QueryOptions{Top: 50, Format: "json"}},
		{"", Limits{DefaultTop: 10}, false, QueryOptions{Top: 10, Format: "json"}},
		{"$filter=Name+eq+'a'", Limits{}, false,
			QueryOptions{Filter: filter("Name eq 'a'"), Top: 25, Format: "json"}},
		{"$filter=" + url.QueryEscape("_Box.Name eq null and startswith(Name,'x')"), Limits{}, false,
			QueryOptions{Filter: filter("_Box.Name eq null and startswith(Name,'x')"), Top: 25, Format: "json"}},
		{"$orderby=Name desc,Age", Limits{}, false,
			QueryOptions{OrderBy: []OrderItem{{"Name", true}, {"Age", false}}, Top: 25, Format: "json"}},
		{"$select=*", Limits{}, false, QueryOptions{Top: 25, Format: "json"}},
		{"$select=Name,Age,_Box.Name", Limits{}, false,
			QueryOptions{Select: []string{"Name", "Age", "_Box.Name"}, Top: 25, Format: "json"}},
		{"$select= Name , __id ", Limits{}, false,
			QueryOptions{Select: []string{"Name", "__id"}, Top: 25, Format: "json"}},
		{"$expand=_Box", Limits{}, false, QueryOptions{Expand: []string{"_Box"}, Top: 25, Format: "json"}},
		{"$expand=_Box,_Role&$top=100", Limits{}, false,
			QueryOptions{Expand: []string{"_Box", "_Role"}, Top: 100, Format: "json"}},
		{"$expand=", Limits{}, false, QueryOptions{Top: 25, Format: "json"}},
		{"$expand=_A,_B,_C,_D,_E,_F,_G,_H,_I,_J", Limits{}, true,
			QueryOptions{Expand: strings.Split("_A,_B,_C,_D,_E,_F,_G,_H,_I,_J", ","), Top: 25, Format: "json"}},
		{"$inlinecount=allpages", Limits{}, false, QueryOptions{InlineCount: true, Top: 25, Format: "json"}},
		{"$inlinecount=none", Limits{}, false, QueryOptions{Top: 25, Format: "json"}},
		{"q=" + url.QueryEscape("taro 太郎"), Limits{}, false, QueryOptions{Q: "taro 太郎", Top: 25, Format: "json"}},
		{"q=" + strings.Repeat("x", 255), Limits{}, false, QueryOptions{Q: strings.Repeat("x", 255), Top: 25, Format: "json"}},
		{"$format=atom", Limits{}, false, QueryOptions{Top: 25, Format: "atom"}},
		{"$format=json", Limits{}, true, QueryOptions{Top: 25, Format: "json"}},
		{"$top=5&$top=abc", Limits{}, false, QueryOptions{Top: 5, Format: "json"}}, // first value counts
		{"$skiptoken=x&$callback=f&other=1", Limits{}, false, QueryOptions{Top: 25, Format: "json"}},
		// A single entity ignores list options, as Personium does.
		{"$top=abc&$skip=-1&$filter=(&$orderby=&$inlinecount=x&q=&$select=Name&$expand=_Box", Limits{}, true,
			QueryOptions{Select: []string{"Name"}, Expand: []string{"_Box"}, Top: 25, Format: "json"}},
	}
	for _, tt := range tests {
		got, err := ParseQueryOptions(pqValues(t, tt.query), tt.lim, tt.single)
		if err != nil {
			t.Errorf("ParseQueryOptions(%q, single=%v): %v", tt.query, tt.single, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("ParseQueryOptions(%q, single=%v) =\n %#v, want\n %#v", tt.query, tt.single, *got, tt.want)
		}
	}
}

func TestParseQueryOptionsErrors(t *testing.T) {
	tests := []struct {
		query  string
		single bool
		code   string
		params []any
	}{
		{"$top=abc", false, "PR400-OD-0036", []any{"$top"}},
		{"$top=", false, "PR400-OD-0036", []any{"$top"}},
		{"$top=1.5", false, "PR400-OD-0036", []any{"$top"}},
		{"$top=99999999999", false, "PR400-OD-0036", []any{"$top"}},
		{"$top=10001", false, "PR400-OD-0029", []any{"$top", "10001"}},
		{"$top=-1", false, "PR400-OD-0029", []any{"$top", "-1"}},
		{"$skip=x", false, "PR400-OD-0036", []any{"$skip"}},
		{"$skip=100001", false, "PR400-OD-0029", []any{"$skip", "100001"}},
		{"$skip=-5", false, "PR400-OD-0029", []any{"$skip", "-5"}},
		{"$filter=", false, "PR400-OD-0003", nil},
		{"$filter=Name+eq", false, "PR400-OD-0003", nil},
		{"$filter=not+Name+eq+'a'", false, "PR400-OD-0043", nil},
		{"$filter=endswith(Name,'a')", false, "PR400-OD-0044", nil},
		{"$select=", false, "PR400-OD-0017", nil},
		{"$select=Name,", false, "PR400-OD-0017", nil},
		{"$select=*,Name", false, "PR400-OD-0017", nil},
		{"$select=Name+eq+1", false, "PR400-OD-0017", nil},
		{"$select='Name'", true, "PR400-OD-0017", nil},
		{"$expand=Box", false, "PR400-OD-0026", nil},
		{"$expand=_Box,", false, "PR400-OD-0026", nil},
		{"$expand=_Box/_Cell", true, "PR400-OD-0026", nil},
		{"$expand=_A,_B,_C", false, "PR400-OD-0039", nil},
		{"$expand=_A,_B,_C,_D,_E,_F,_G,_H,_I,_J,_K", true, "PR400-OD-0039", nil},
		{"$inlinecount=AllPages", false, "PR400-OD-0013", []any{"AllPages"}},
		{"$inlinecount=", false, "PR400-OD-0013", []any{""}},
		{"$orderby=", false, "PR400-OD-0015", nil},
		{"$orderby=Name+DESC", false, "PR400-OD-0015", nil},
		{"q=", false, "PR400-OD-0029", []any{"q", ""}},
		{"q=" + strings.Repeat("x", 256), false, "PR400-OD-0029", []any{"q", strings.Repeat("x", 256)}},
		{"q=" + strings.Repeat("あ", 86), false, "PR400-OD-0029", nil}, // 258 bytes
		{"$top=101&$expand=_Box", false, "PR400-OD-0029", []any{"$top", "101"}},
		{"$format=xml", false, "PR400-OD-0005", []any{"xml"}},
		{"$format=JSON", true, "PR400-OD-0005", []any{"JSON"}},
		{"$format=", false, "PR400-OD-0005", []any{""}},
		// Personium's order: $top before $filter before $select … before $format.
		{"$filter=(&$top=x", false, "PR400-OD-0036", []any{"$top"}},
		{"$select=&$filter=(", false, "PR400-OD-0003", nil},
		{"$format=x&$orderby=", false, "PR400-OD-0015", nil},
	}
	for _, tt := range tests {
		o, err := ParseQueryOptions(pqValues(t, tt.query), DefaultLimits, tt.single)
		what := "ParseQueryOptions(" + tt.query + ")"
		if err == nil {
			t.Errorf("%s = %#v, want %s", what, o, tt.code)
			continue
		}
		pqCheckErr(t, what, err, tt.code, tt.params...)
	}
}

func TestParseOrderBy(t *testing.T) {
	tests := []struct {
		in   string
		want []OrderItem
	}{
		{"Name", []OrderItem{{"Name", false}}},
		{"Name asc", []OrderItem{{"Name", false}}},
		{"Name desc", []OrderItem{{"Name", true}}},
		{" Name  desc , Age asc,__published", []OrderItem{{"Name", true}, {"Age", false}, {"__published", false}}},
		{"_Box.Name desc,Name", []OrderItem{{"_Box.Name", true}, {"Name", false}}},
		{"asc", []OrderItem{{"asc", false}}},
		{"desc desc", []OrderItem{{"desc", true}}},
	}
	for _, tt := range tests {
		got, err := ParseOrderBy(tt.in)
		if err != nil {
			t.Errorf("ParseOrderBy(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOrderBy(%q) = %v, want %v", tt.in, got, tt.want)
		}
		again, err := ParseOrderBy(pqFormatOrderBy(got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("round trip of %q: %v, %v", tt.in, again, err)
		}
	}
	for _, in := range []string{
		"", " ", "Name,", ",Name", "Name,,Age", "Name desc desc", "Name DESC", "Name ascending",
		"'Name'", "1", "Name eq 1", "Name(", "startswith(Name,'a')", "Name desc Age", "Name;Age", "-Name",
	} {
		items, err := ParseOrderBy(in)
		if err == nil {
			t.Errorf("ParseOrderBy(%q) = %v, want error", in, items)
			continue
		}
		pqCheckErr(t, "ParseOrderBy("+in+")", err, "PR400-OD-0015")
	}
}

// pqFormatOrderBy renders items as a $orderby value.
func pqFormatOrderBy(items []OrderItem) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(it.Property)
		if it.Desc {
			b.WriteString(" desc")
		}
	}
	return b.String()
}

func FuzzOrderBy(f *testing.F) {
	for _, s := range []string{"Name", "Name desc,Age asc", " _Box.Name desc , __published ", "a,,b", "x DESC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := ParseOrderBy(s)
		if err != nil {
			pqRequireCode(t, "ParseOrderBy", err)
			return
		}
		for _, r := range pqFuzzResolvers {
			if _, err := CompileOrderBy(items, r); err != nil {
				pqRequireCode(t, "CompileOrderBy", err)
			}
		}
		text := pqFormatOrderBy(items)
		again, err := ParseOrderBy(text)
		if err != nil || !reflect.DeepEqual(again, items) {
			t.Fatalf("%q: canonical form %q: %v, %v", s, text, again, err)
		}
	})
}
