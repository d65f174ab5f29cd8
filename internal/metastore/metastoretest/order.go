package metastoretest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
)

// typedAsc is the typed data set ordered by v ascending: null < bool <
// number < string, strings by bytes, ties (missing and null; 1 and 1.0)
// by key.
var typedAsc = ids("missing null false true neg i0 f1 i1 f15 i2 " +
	"s_empty s1 sApple sBan sapp sapple sTrue sE sTokyo")

// typedDesc is v descending: the reverse, but ties still by key ascending.
var typedDesc = ids("sTokyo sE sTrue sapple sapp sBan sApple s1 s_empty " +
	"i2 f15 f1 i1 i0 neg true false missing null")

type orderCase struct {
	name  string
	order []metastore.Order
	want  []string
}

var orderCases = []orderCase{
	{"v asc", []metastore.Order{{Field: "v"}}, typedAsc},
	{"v desc", []metastore.Order{{Field: "v", Desc: true}}, typedDesc},
	// w: 1 (missing), 2 (null, i2), "2" (sBan), else null; then v desc.
	{"w asc, v desc", []metastore.Order{{Field: "w"}, {Field: "v", Desc: true}},
		append(slices.DeleteFunc(slices.Clone(typedDesc), func(id string) bool {
			return slices.Contains(ids("missing null i2 sBan"), id)
		}), ids("missing i2 null sBan")...)},
	{"w desc, then key", []metastore.Order{{Field: "w", Desc: true}},
		append(ids("sBan i2 null missing"), allSortedBut("missing null i2 sBan")...)},
	{"@published desc", []metastore.Order{{Field: metastore.FieldPublished, Desc: true}}, reversed(allTyped(""))},
	{"@updated asc", []metastore.Order{{Field: metastore.FieldUpdated}}, reversed(allTyped(""))},
	{"@key", []metastore.Order{{Field: metastore.FieldKey}}, allSortedBut("")},
	{"@id desc", []metastore.Order{{Field: metastore.FieldID, Desc: true}}, reversed(allSortedBut(""))},
	{"member nobody has, then key", []metastore.Order{{Field: "nope", Desc: true}}, allSortedBut("")},
}

// allSortedBut is the typed IDs but those in except, sorted by bytes.
func allSortedBut(except string) []string {
	return slices.Sorted(slices.Values(allTyped(except)))
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

// testOrder checks ordering by body members (nulls, mixed types, desc,
// several keys) and by columns, and the key/ID tie-breakers.
func testOrder(t *testing.T, s metastore.Store) {
	createTyped(t, s)
	checkOrders(t, s, orderCases)

	// Ordering with a filter on the same member.
	q := typedQuery(metastore.Prefix{Field: "v", Value: "a"})
	q.Order = []metastore.Order{{Field: "v", Desc: true}}
	wantOrder(t, "prefix a, v desc", mustQuery(t, s, q).Docs, ids("sapple sapp"))

	// Ties broken by key, then by ID: same key, published and value
	// under two parents.
	mustCreate(t, s,
		mkdoc("tie-b", "Tie", "c", "p1", "k", `{"v":1}`),
		mkdoc("tie-a", "Tie", "c", "p2", "k", `{"v":1}`),
		mkdoc("tie-c", "Tie", "c", "p1", "j", `{"v":1}`))
	for _, o := range [][]metastore.Order{nil, {{Field: "v"}}, {{Field: "v", Desc: true}}, {{Field: metastore.FieldKey}}} {
		res := mustQuery(t, s, &metastore.Query{Kind: "Tie", Cell: "c", AnyParent: true, Limit: -1, Order: o})
		wantOrder(t, fmt.Sprintf("ties ordered by %v", o), res.Docs, ids("tie-c tie-a tie-b"))
	}
}

func checkOrders(t *testing.T, s metastore.Store, cases []orderCase) {
	t.Helper()
	for _, tc := range cases {
		q := typedQuery(nil)
		q.Order = tc.order
		wantOrder(t, tc.name, mustQuery(t, s, q).Docs, tc.want)
	}
}

// testDefaultOrder: without Order, documents come by Published, then Key,
// then ID.
func testDefaultOrder(t *testing.T, s metastore.Store) {
	docs := []metastore.Doc{
		mkdoc("a", "T", "c", "p", "b", `{}`),
		mkdoc("b", "T", "c", "p", "z", `{}`),
		mkdoc("c", "T", "c", "p", "a", `{}`),
		mkdoc("d", "T", "c", "q", "a", `{}`),
		mkdoc("e", "T", "c", "p", "0", `{}`),
	}
	for i, p := range []int64{20, 10, 20, 20, 30} {
		docs[i].Published = p
		docs[i].Updated = 100 - p
	}
	mustCreate(t, s, docs...)
	res := mustQuery(t, s, &metastore.Query{Kind: "T", Cell: "c", Parent: "p", Limit: -1})
	wantOrder(t, "default order", res.Docs, ids("b c a e"))
	res = mustQuery(t, s, &metastore.Query{Kind: "T", Cell: "c", AnyParent: true, Limit: -1})
	wantOrder(t, "default order across parents", res.Docs, ids("b c d a e"))
}

// testPaging: Skip and Limit select a window of the order; Count ignores them.
func testPaging(t *testing.T, s metastore.Store) {
	var docs []metastore.Doc
	var all []string
	for i := range 10 {
		id := fmt.Sprintf("d%02d", i)
		docs = append(docs, mkdoc(id, "T", "c", "", id, fmt.Sprintf(`{"n":%d,"even":%t}`, i, i%2 == 0)))
		all = append(all, id)
	}
	mustCreate(t, s, docs...)
	byKey := []metastore.Order{{Field: metastore.FieldKey}}
	for _, tc := range []struct {
		name        string
		skip, limit int
		filter      metastore.Expr
		want        []string
		count       int64
	}{
		{"first page", 0, 4, nil, all[:4], 10},
		{"middle page", 3, 4, nil, all[3:7], 10},
		{"last partial page", 8, 5, nil, all[8:], 10},
		{"skip past the end", 20, 5, nil, nil, 10},
		{"limit 0: none, but counted", 0, 0, nil, nil, 10},
		{"limit 0 with skip", 5, 0, nil, nil, 10},
		{"negative limit: all", 0, -1, nil, all, 10},
		{"negative limit with skip", 7, -1, nil, all[7:], 10},
		{"filtered page", 1, 2, eq("even", true), ids("d02 d04"), 5},
		{"filtered, nothing matches", 0, 10, eq("even", "true"), nil, 0},
	} {
		q := &metastore.Query{Kind: "T", Cell: "c", Skip: tc.skip, Limit: tc.limit, Filter: tc.filter,
			Order: byKey, Count: true}
		res := mustQuery(t, s, q)
		wantOrder(t, tc.name, res.Docs, tc.want)
		if res.Count != tc.count {
			t.Errorf("%s: Count %d, want %d", tc.name, res.Count, tc.count)
		}
	}
	res := mustQuery(t, s, &metastore.Query{Kind: "T", Cell: "c", Limit: 3, Order: byKey})
	if res.Count != 0 {
		t.Errorf("Count without Query.Count: %d, want 0", res.Count)
	}
	// Paging through with the default order visits every document once.
	var seen []string
	for skip := 0; ; skip += 3 {
		page := mustQuery(t, s, &metastore.Query{Kind: "T", Cell: "c", Skip: skip, Limit: 3}).Docs
		if len(page) == 0 {
			break
		}
		seen = append(seen, docIDs(page)...)
	}
	wantSet(t, "pages with the default order", docsOf(seen), all)
	if len(seen) != len(all) {
		t.Errorf("paging visited %d documents, want %d", len(seen), len(all))
	}
}

func docsOf(idList []string) []metastore.Doc {
	docs := make([]metastore.Doc, len(idList))
	for i, id := range idList {
		docs[i].ID = id
	}
	return docs
}

// testScope: Kind, Cell and Parent select exactly; AnyKind and AnyParent
// widen the selection.
func testScope(t *testing.T, s metastore.Store) {
	mustCreate(t, s,
		mkdoc("a1", "A", "c", "p1", "x", `{}`),
		mkdoc("a2", "A", "c", "p2", "x", `{}`),
		mkdoc("a3", "A", "c", "", "x", `{}`),
		mkdoc("b1", "B", "c", "p1", "x", `{}`),
		mkdoc("b2", "B", "c", "p2", "y", `{}`),
		mkdoc("d1", "A", "d", "p1", "x", `{}`),
		mkdoc("u1", "A", "", "p1", "x", `{}`),
		mkdoc("u2", "Cell", "", "", "c", `{}`))
	for _, tc := range []struct {
		name string
		q    metastore.Query
		want string
	}{
		{"kind cell parent", metastore.Query{Kind: "A", Cell: "c", Parent: "p1"}, "a1"},
		{"empty parent", metastore.Query{Kind: "A", Cell: "c"}, "a3"},
		{"AnyParent", metastore.Query{Kind: "A", Cell: "c", AnyParent: true}, "a1 a2 a3"},
		{"AnyKind", metastore.Query{AnyKind: true, Cell: "c", Parent: "p1"}, "a1 b1"},
		{"AnyKind AnyParent", metastore.Query{AnyKind: true, Cell: "c", AnyParent: true}, "a1 a2 a3 b1 b2"},
		{"unit level", metastore.Query{Kind: "A", Cell: "", Parent: "p1"}, "u1"},
		{"unit level, any kind and parent", metastore.Query{AnyKind: true, AnyParent: true}, "u1 u2"},
		{"other cell", metastore.Query{AnyKind: true, Cell: "d", AnyParent: true}, "d1"},
		{"no such cell", metastore.Query{AnyKind: true, Cell: "zzz", AnyParent: true}, ""},
		{"AnyKind with a filter", metastore.Query{AnyKind: true, Cell: "c", AnyParent: true,
			Filter: eq(metastore.FieldKey, "y")}, "b2"},
	} {
		q := tc.q
		q.Limit, q.Count = -1, true
		res := mustQuery(t, s, &q)
		wantSet(t, tc.name, res.Docs, ids(tc.want))
		if res.Count != int64(len(ids(tc.want))) {
			t.Errorf("%s: Count %d, want %d", tc.name, res.Count, len(ids(tc.want)))
		}
	}
}

// testText: full-text search; every word must occur, case-insensitively,
// as a substring of a string, number or boolean member.
func testText(t *testing.T, s metastore.Store) { checkText(t, s, "T", false) }

// testTextIndexed: the same with a full-text index (metastore.FieldText)
// asked for before some documents were written and after others, where
// the backend is an Indexer; and the index follows updates, deletes, kind
// changes and DeleteCell.
func testTextIndexed(t *testing.T, s metastore.Store) {
	ix, ok := s.(metastore.Indexer)
	if !ok {
		t.Skip("not an Indexer")
	}
	checkText(t, s, "TI", true)
	mustCreate(t, s, mkdoc("m1", "TM", "c", "", "m1", `{"title":"moved \"quoted\" text"}`))
	if err := ix.EnsureIndex(context.Background(), "TM", metastore.FieldText); err != nil {
		t.Fatal(err)
	}
	q := func(kind, cell, text string) []metastore.Doc {
		return mustQuery(t, s, &metastore.Query{Kind: kind, Cell: cell, Text: text, Limit: -1}).Docs
	}
	wantSet(t, "quoted word", q("TM", "c", `"quoted"`), ids("m1"))
	// A document moved from an indexed kind to another kind and back.
	mustApply(t, s, update(mkdoc("m1", "TX", "c", "", "m1", `{"title":"elsewhere now"}`), 1))
	wantSet(t, "moved out", q("TM", "c", "moved"), nil)
	wantSet(t, "found in its new kind", q("TX", "c", "elsewhere"), ids("m1"))
	mustApply(t, s, update(mkdoc("m1", "TM", "c", "", "m1", `{"title":"back again"}`), 2))
	wantSet(t, "moved back", q("TM", "c", "again"), ids("m1"))
	wantSet(t, "old text gone", q("TM", "c", "elsewhere"), nil)
	// Deleted documents are not found; their replacements are.
	mustApply(t, s, del("m1", 0))
	wantSet(t, "deleted", q("TM", "c", "again"), nil)
	mustCreate(t, s, mkdoc("m2", "TM", "c", "", "m2", `{"title":"again and again"}`),
		mkdoc("m3", "TM", "gone", "", "m3", `{"title":"again in a cell to delete"}`))
	wantSet(t, "replacement", q("TM", "c", "again"), ids("m2"))
	if _, err := s.DeleteCell(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	wantSet(t, "deleted cell", q("TM", "gone", "again"), nil)
	mustCreate(t, s, mkdoc("m3", "TM", "gone", "", "m3", `{"title":"a new life"}`))
	wantSet(t, "recreated", q("TM", "gone", "life"), ids("m3"))
	wantSet(t, "recreated, old text", q("TM", "gone", "again"), nil)
}

func checkText(t *testing.T, s metastore.Store, kind string, index bool) {
	ensure := func() {
		if index {
			if err := s.(metastore.Indexer).EnsureIndex(context.Background(), kind, metastore.FieldText); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustCreate(t, s,
		mkdoc("t1"+kind, kind, "c", "", "t1", `{"title":"Tokyo Tower","city":"東京都","height":333,"open":true}`),
		mkdoc("t2"+kind, kind, "c", "", "t2", `{"title":"Osaka Castle","city":"大阪市","height":55.6,"open":false}`))
	ensure() // the documents so far are indexed now, the others as they come
	mustCreate(t, s,
		mkdoc("t3"+kind, kind, "c", "", "t3", `{"name":"École Normale","note":"TOKYO branch","n":null}`),
		mkdoc("t4"+kind, kind, "c", "", "t4", `{}`),
		mkdoc("o1"+kind, kind, "other", "", "o1", `{"title":"Tokyo"}`))
	ensure() // again: nothing changes
	for _, tc := range []struct {
		text   string
		filter metastore.Expr
		want   string
	}{
		{"tokyo", nil, "t1 t3"},
		{"TOKYO tower", nil, "t1"},
		{"Tower TOKYO", nil, "t1"},
		{"  tokyo\t branch ", nil, "t3"},
		{"tower castle", nil, ""},
		{"東京", nil, "t1"},
		{"京都", nil, "t1"},
		{"東京都", nil, "t1"},
		{"大阪 osaka", nil, "t2"},
		{"333", nil, "t1"},
		{"33", nil, "t1"},
		{"55.6", nil, "t2"},
		{"true", nil, "t1"},
		{"école", nil, "t3"},
		{"ÉCOLE normale", nil, "t3"},
		{"ormal", nil, "t3"},
		{"towe", nil, "t1"},
		{"towerx", nil, ""},
		{"okyotow", nil, ""}, // not across members or words
		{"title", nil, ""},   // member names are not searched
		{"null", nil, ""},
		{`"tokyo"`, nil, ""},
		{"", nil, "t1 t2 t3 t4"},
		{"a", eq("open", false), "t2"},
		{"tokyo", metastore.Prefix{Field: "title", Value: "Tokyo"}, "t1"},
	} {
		res := mustQuery(t, s, &metastore.Query{Kind: kind, Cell: "c", Text: tc.text, Filter: tc.filter,
			Limit: -1, Count: true})
		var want []string
		for _, id := range ids(tc.want) {
			want = append(want, id+kind)
		}
		wantSet(t, fmt.Sprintf("text %q", tc.text), res.Docs, want)
		if res.Count != int64(len(want)) {
			t.Errorf("text %q: Count %d, want %d", tc.text, res.Count, len(want))
		}
	}
	// Updates are searched by their new text only.
	mustApply(t, s, update(mkdoc("t1"+kind, kind, "c", "", "t1", `{"title":"Skytree"}`), 1))
	res := mustQuery(t, s, &metastore.Query{Kind: kind, Cell: "c", Text: "tower", Limit: -1})
	wantSet(t, "old text after update", res.Docs, nil)
	res = mustQuery(t, s, &metastore.Query{Kind: kind, Cell: "c", Text: "SKY", Limit: -1})
	wantSet(t, "new text after update", res.Docs, []string{"t1" + kind})
}
