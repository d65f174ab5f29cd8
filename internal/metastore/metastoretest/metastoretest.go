// Package metastoretest is the conformance suite of metastore backends.
//
// Every backend's test calls Run with a function that makes a new, empty
// store; the suite checks the contract written in package metastore:
// writes and their error kinds, versions, batch atomicity, the exact
// semantics of every filter operator (nulls, mixed types), ordering and
// collation, paging and counts, full-text search, concurrency, DeleteCell
// and the optional Indexer capability. External backends (Elasticsearch)
// run it unchanged, skipping in their own test when not configured.
//
// The suite assumes read-your-writes: a query started after Apply returned
// sees its effects.
package metastoretest

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// Run runs the conformance suite, one subtest per area. newStore is
// called once per subtest and must return a new, empty store; Run closes
// it when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) metastore.Store) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, metastore.Store)
	}{
		{"CRUD", testCRUD},
		{"Errors", testErrors},
		{"Versions", testVersions},
		{"Batch", testBatch},
		{"Rename", testRename},
		{"InvalidWrites", testInvalidWrites},
		{"Filter", testFilter},
		{"FilterColumns", testFilterColumns},
		{"FilterFieldNames", testFilterFieldNames},
		{"InvalidQueries", testInvalidQueries},
		{"Order", testOrder},
		{"DefaultOrder", testDefaultOrder},
		{"Paging", testPaging},
		{"Scope", testScope},
		{"Text", testText},
		{"TextIndexed", testTextIndexed},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ConditionalRace", testConditionalRace},
		{"DeleteCell", testDeleteCell},
		{"Indexer", testIndexer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.run(t, s)
		})
	}
}

// mkdoc builds a document; body is JSON text.
func mkdoc(id, kind, cell, parent, key, body string) metastore.Doc {
	return metastore.Doc{ID: id, Kind: kind, Cell: cell, Parent: parent, Key: key, Body: json.RawMessage(body)}
}

func create(d metastore.Doc) metastore.Op { return metastore.Op{Type: metastore.Create, Doc: d} }

func update(d metastore.Doc, ifVersion int64) metastore.Op {
	return metastore.Op{Type: metastore.Update, Doc: d, IfVersion: ifVersion}
}

func del(id string, ifVersion int64) metastore.Op {
	return metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: id}, IfVersion: ifVersion}
}

// mustApply applies ops and fails the test on error.
func mustApply(t *testing.T, s metastore.Store, ops ...metastore.Op) []metastore.Doc {
	t.Helper()
	docs, err := s.Apply(t.Context(), ops...)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if len(docs) != len(ops) {
		t.Fatalf("Apply returned %d docs for %d ops", len(docs), len(ops))
	}
	return docs
}

// mustCreate creates docs, one batch.
func mustCreate(t *testing.T, s metastore.Store, docs ...metastore.Doc) []metastore.Doc {
	t.Helper()
	ops := make([]metastore.Op, len(docs))
	for i, d := range docs {
		ops[i] = create(d)
	}
	return mustApply(t, s, ops...)
}

func mustGet(t *testing.T, s metastore.Store, id string) *metastore.Doc {
	t.Helper()
	d, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", id, err)
	}
	return d
}

func mustQuery(t *testing.T, s metastore.Store, q *metastore.Query) *metastore.Result {
	t.Helper()
	res, err := s.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", *q, err)
	}
	return res
}

// wantKind checks that err is a *perr.E of the given kind.
func wantKind(t *testing.T, what string, err error, kind perr.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want kind %q", what, kind)
		return
	}
	if got := perr.KindOf(err); got != kind {
		t.Errorf("%s: error %v has kind %q, want %q", what, err, got, kind)
	}
}

// sameDoc checks that got has every field of want, bodies compared as
// JSON values (a backend may re-encode them).
func sameDoc(t *testing.T, what string, got, want metastore.Doc) {
	t.Helper()
	gb, wb := got.Body, want.Body
	got.Body, want.Body = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	if !jsonEqual(gb, wb) {
		t.Errorf("%s: body %s, want %s", what, gb, wb)
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if len(a) == 0 {
		a = []byte("{}")
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func docIDs(docs []metastore.Doc) []string {
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids
}

// wantOrder checks the IDs of docs, in order.
func wantOrder(t *testing.T, what string, docs []metastore.Doc, want []string) {
	t.Helper()
	got := docIDs(docs)
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// wantSet checks the IDs of docs, in any order.
func wantSet(t *testing.T, what string, docs []metastore.Doc, want []string) {
	t.Helper()
	got := slices.Sorted(slices.Values(docIDs(docs)))
	want = slices.Sorted(slices.Values(want))
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// ids splits a space-separated list of IDs.
func ids(s string) []string { return strings.Fields(s) }
