package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

func mapping(t *testing.T, s *Store) any {
	t.Helper()
	status, resp, err := s.do(context.Background(), http.MethodGet, "/"+s.docs+"/_mapping", nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("mapping: %d %v %s", status, err, resp)
	}
	var m map[string]any
	if err := json.Unmarshal(resp, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func create(t *testing.T, s *Store, docs ...metastore.Doc) {
	t.Helper()
	ops := make([]metastore.Op, len(docs))
	for i, d := range docs {
		ops[i] = metastore.Op{Type: metastore.Create, Doc: d}
	}
	if _, err := s.Apply(context.Background(), ops...); err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, s *Store, q *metastore.Query) []string {
	t.Helper()
	res, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	var ids []string
	for _, d := range res.Docs {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestBadInput: member names and values Elasticsearch would misread are
// data, never mapping; the mapping does not change whatever is written.
func TestBadInput(t *testing.T) {
	s := newTestStore(t)
	before := mapping(t, s)
	huge := strings.Repeat("é", 60_000) + "needle" // 120 kB, over Lucene's term limit
	huge2 := strings.Repeat("é", 60_000) + "other" // same indexed prefix as huge
	names := []string{".", "a.b", "a..b", ".a", "_id", "_source", "_routing", "__proto__", "f.n", "*", "a b",
		strings.Repeat("n", 5000), "日本語"}
	var docs []metastore.Doc
	for i, n := range names {
		body, _ := json.Marshal(map[string]any{n: i, "conflict": i})
		docs = append(docs, metastore.Doc{ID: fmt.Sprintf("n%02d", i), Kind: "T", Cell: "c", Key: fmt.Sprintf("n%02d", i), Body: body})
	}
	// The same member as a number, a string, a boolean, an object and an
	// array: a mapping conflict in a field-per-member design.
	for i, v := range []string{`"12"`, `true`, `{"x":1}`, `[1,2]`, `1e300`, `-0.5`} {
		docs = append(docs, metastore.Doc{ID: fmt.Sprintf("x%d", i), Kind: "T", Cell: "c", Key: fmt.Sprintf("x%d", i),
			Body: json.RawMessage(`{"conflict":` + v + `}`)})
	}
	hb, _ := json.Marshal(map[string]any{"s": huge, "big": strings.Repeat("x", 40_000)})
	hb2, _ := json.Marshal(map[string]any{"s": huge2})
	docs = append(docs, metastore.Doc{ID: "huge", Kind: "T", Cell: "c", Key: "huge", Body: hb},
		metastore.Doc{ID: "huge2", Kind: "T", Cell: "c", Key: "huge2", Body: hb2})
	create(t, s, docs...)

	for i, n := range names {
		got := query(t, s, &metastore.Query{Kind: "T", Cell: "c", Limit: -1,
			Filter: metastore.Cmp{Field: n, Op: metastore.Eq, Value: int64(i)}})
		if want := []string{fmt.Sprintf("n%02d", i)}; !slices.Equal(got, want) {
			t.Errorf("member %.20q eq %d: %v, want %v", n, i, got, want)
		}
	}
	for _, tc := range []struct {
		f    metastore.Expr
		want string
	}{
		{metastore.Cmp{Field: "conflict", Op: metastore.Eq, Value: "12"}, "x0"},
		{metastore.Cmp{Field: "conflict", Op: metastore.Eq, Value: int64(12)}, "n12"},
		{metastore.Cmp{Field: "conflict", Op: metastore.Eq, Value: true}, "x1"},
		{metastore.Cmp{Field: "conflict", Op: metastore.Gt, Value: int64(11)}, "n12 x4"},
		{metastore.Cmp{Field: "conflict", Op: metastore.Lt, Value: int64(0)}, "x5"},
		{metastore.And{metastore.Cmp{Field: "conflict", Op: metastore.Ne, Value: nil},
			metastore.Not{X: metastore.Cmp{Field: "conflict", Op: metastore.Ge, Value: int64(-1)}},
			metastore.Not{X: metastore.Cmp{Field: "conflict", Op: metastore.Ge, Value: ""}},
			metastore.Not{X: metastore.Cmp{Field: "conflict", Op: metastore.Ge, Value: false}}}, "x2 x3"},
		{metastore.Cmp{Field: "s", Op: metastore.Eq, Value: huge}, "huge"},
		{metastore.Cmp{Field: "s", Op: metastore.Eq, Value: huge2}, "huge2"},
		{metastore.Cmp{Field: "s", Op: metastore.Eq, Value: huge[:maxIndexed]}, ""},
		{metastore.And{metastore.Cmp{Field: "s", Op: metastore.Ne, Value: huge},
			metastore.Cmp{Field: "s", Op: metastore.Ne, Value: nil}}, "huge2"},
		{metastore.Prefix{Field: "s", Value: "éé"}, "huge huge2"},
	} {
		got := query(t, s, &metastore.Query{Kind: "T", Cell: "c", Limit: -1, Filter: tc.f,
			Order: []metastore.Order{{Field: metastore.FieldID}}})
		want := strings.Fields(tc.want)
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%+v: %v, want %v", tc.f, got, want)
		}
	}
	// Full text finds a word at the end of a long value.
	if got := query(t, s, &metastore.Query{Kind: "T", Cell: "c", Limit: -1, Text: "NEEDLE"}); !slices.Equal(got, []string{"huge"}) {
		t.Errorf("text at the end of a long value: %v", got)
	}
	if got := query(t, s, &metastore.Query{AnyKind: true, Cell: "c", AnyParent: true, Limit: -1, Text: "needle"}); !slices.Equal(got, []string{"huge"}) {
		t.Errorf("text in any kind and parent: %v", got)
	}
	if got := query(t, s, &metastore.Query{Kind: "T", Cell: "c", Parent: "elsewhere", Limit: -1, Text: "needle"}); len(got) != 0 {
		t.Errorf("text under another parent: %v", got)
	}
	// Bodies come back byte for byte.
	d, err := s.Get(context.Background(), "huge")
	if err != nil || string(d.Body) != string(hb) {
		t.Errorf("Get huge: %v, body intact %v", err, err == nil && string(d.Body) == string(hb))
	}
	// Ordering across the conflicting types: null < bool < number < string < other.
	got := query(t, s, &metastore.Query{Kind: "T", Cell: "c", Limit: -1,
		Filter: metastore.Prefix{Field: metastore.FieldID, Value: "x"}, Order: []metastore.Order{{Field: "conflict"}}})
	if want := []string{"x1", "x5", "x4", "x0", "x2", "x3"}; !slices.Equal(got, want) {
		t.Errorf("order across types: %v, want %v", got, want)
	}

	// Refused: a number out of range, nothing written.
	_, err = s.Apply(context.Background(),
		metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: "ok", Kind: "T", Cell: "c", Key: "ok", Body: []byte(`{}`)}},
		metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: "inf", Kind: "T", Cell: "c", Key: "inf", Body: []byte(`{"n":1e400}`)}})
	if !perr.Is(err, perr.Invalid) {
		t.Errorf("number out of range: %v, want Invalid", err)
	}
	// Too many members for the index: refused by Elasticsearch, reported
	// as Invalid, and the batch undone.
	var b strings.Builder
	b.WriteString("{")
	for i := range 21_000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"m%d":%d`, i, i)
	}
	b.WriteString("}")
	_, err = s.Apply(context.Background(),
		metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: "ok", Kind: "T", Cell: "c", Key: "ok", Body: []byte(`{}`)}},
		metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: "wide", Kind: "T", Cell: "c", Key: "wide", Body: []byte(b.String())}})
	if !perr.Is(err, perr.Invalid) {
		t.Errorf("21,000 members: %v, want Invalid", err)
	}
	for _, id := range []string{"ok", "inf", "wide"} {
		if _, err := s.Get(context.Background(), id); !perr.Is(err, perr.NotExist) {
			t.Errorf("%s after a refused batch: %v, want NotExist", id, err)
		}
		if _, err := s.GetKey(context.Background(), "T", "c", "", id); !perr.Is(err, perr.NotExist) {
			t.Errorf("key %s after a refused batch: %v, want NotExist", id, err)
		}
	}
	if after := mapping(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("the mapping changed:\nbefore %v\nafter  %v", before, after)
	}
}

// TestDeepPaging: windows beyond 10,000 matches (search_after), with null
// and mixed-type sort values, exact counts.
func TestDeepPaging(t *testing.T) {
	s := newTestStore(t)
	const n = 12_345
	var want []string // by v ascending: nulls, numbers, strings; ties by key
	var nulls, nums, strs []string
	var ops []metastore.Op
	for i := range n {
		id := fmt.Sprintf("d%05d", i)
		var body string
		switch i % 3 {
		case 0:
			body = `{}`
			nulls = append(nulls, id)
		case 1:
			body = fmt.Sprintf(`{"v":%d}`, i%7)
			nums = append(nums, id)
		default:
			body = fmt.Sprintf(`{"v":"s%d"}`, i%5)
			strs = append(strs, id)
		}
		ops = append(ops, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: id, Kind: "T", Cell: "c", Key: id, Body: []byte(body)}})
		if len(ops) == 2000 || i == n-1 {
			if _, err := s.Apply(context.Background(), ops...); err != nil {
				t.Fatal(err)
			}
			ops = nil
		}
	}
	slices.SortStableFunc(nums, func(a, b string) int { return val(a)%7 - val(b)%7 })
	slices.SortStableFunc(strs, func(a, b string) int { return val(a)%5 - val(b)%5 })
	want = append(append(append(want, nulls...), nums...), strs...)
	q := &metastore.Query{Kind: "T", Cell: "c", Limit: -1, Count: true, Order: []metastore.Order{{Field: "v"}}}
	res, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(res.Docs))
	for i, d := range res.Docs {
		got[i] = d.ID
	}
	if res.Count != n || !slices.Equal(got, want) {
		t.Fatalf("all %d by v: count %d, %d docs, equal %v", n, res.Count, len(got), slices.Equal(got, want))
	}
	// Windows within max_result_window are one search; a whole scan and
	// windows without a limit go page by page with search_after.
	for _, w := range [][2]int{{10_500, 100}, {9_990, 30}, {0, 10_001}, {12_300, 100}, {4_000, 8_000},
		{10_500, -1}, {3, -1}} {
		q := &metastore.Query{Kind: "T", Cell: "c", Skip: w[0], Limit: w[1], Order: []metastore.Order{{Field: "v", Desc: true}}}
		got := query(t, s, q)
		desc := descending(want)
		end := n
		if w[1] >= 0 {
			end = min(w[0]+w[1], n)
		}
		if !slices.Equal(got, desc[w[0]:end]) {
			t.Errorf("window %v desc: %d docs, first %v, want first %v", w, len(got), first(got), first(desc[w[0]:end]))
		}
	}
}

func val(id string) int {
	var i int
	fmt.Sscanf(id, "d%d", &i)
	return i
}

// descending is the order by v desc: strings, numbers, nulls, each group
// reversed by value but ties still by key ascending.
func descending(asc []string) []string {
	type g struct {
		class, v int
	}
	key := func(id string) g {
		i := val(id)
		switch i % 3 {
		case 0:
			return g{0, 0}
		case 1:
			return g{1, i % 7}
		}
		return g{2, i % 5}
	}
	out := slices.Clone(asc)
	slices.SortStableFunc(out, func(a, b string) int {
		ka, kb := key(a), key(b)
		if ka != kb {
			if ka.class != kb.class {
				return kb.class - ka.class
			}
			return kb.v - ka.v
		}
		return strings.Compare(a, b)
	})
	return out
}

func first(s []string) []string { return s[:min(3, len(s))] }
