package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/metastore/metastoretest"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	metastoretest.Run(t, func(t *testing.T) metastore.Store { return newStore(t) })
}

// TestCachedConformance: the read cache in front of the store keeps
// every promise of the store (its writes go through the cache).
func TestCachedConformance(t *testing.T) {
	metastoretest.Run(t, func(t *testing.T) metastore.Store { return metastore.NewCache(newStore(t), 1000) })
}

// explain returns the EXPLAIN QUERY PLAN lines of q's document and count
// statements.
func explain(t *testing.T, s *Store, q *metastore.Query) (sel, count []string) {
	t.Helper()
	selSQL, countSQL, args, err := compileQuery(q, false)
	if err != nil {
		t.Fatal(err)
	}
	// A connection that has run a statement since the last schema change:
	// EXPLAIN alone does not notice a stale schema (a real statement
	// would, and re-prepare).
	conn, err := s.r.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(t.Context(), `SELECT count(*) FROM docs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	plan := func(sqlText string, args ...any) []string {
		rows, err := conn.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+sqlText, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, detail)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return lines
	}
	return plan(selSQL, append(args, 25, 0)...), plan(countSQL, args...)
}

// TestIndexPlans checks that SQLite uses the indexes EnsureIndex creates
// (and the built-in ones) rather than scanning the docs table.
func TestIndexPlans(t *testing.T) {
	s := newStore(t)
	defer s.Close()
	ctx := t.Context()
	var ops []metastore.Op
	for i := range 200 {
		ops = append(ops, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{
			ID: fmt.Sprintf("p%d", i), Kind: "Person", Cell: "c", Parent: "set", Key: fmt.Sprintf("k%d", i),
			Body: []byte(fmt.Sprintf(`{"Name":"name%03d","Age":%d}`, i, i%90))}})
	}
	if _, err := s.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	// Indexes made over existing data (EnsureIndex also refreshes the
	// planner statistics).
	if err := s.EnsureIndex(ctx, "Person", "Name", "Age"); err != nil {
		t.Fatal(err)
	}
	byName := []metastore.Order{{Field: "Name"}}
	for _, tc := range []struct {
		name  string
		q     metastore.Query
		index string // the index the documents query must search
		sort  bool   // whether a full sort is acceptable
	}{
		{"eq + order", metastore.Query{Filter: metastore.Cmp{Field: "Name", Op: metastore.Eq, Value: "name007"}, Order: byName}, "docs_field_", false},
		{"prefix + order", metastore.Query{Filter: metastore.Prefix{Field: "Name", Value: "name1"}, Order: byName}, "docs_field_", false},
		{"prefix + order desc", metastore.Query{Filter: metastore.Prefix{Field: "Name", Value: "name1"}, Order: []metastore.Order{{Field: "Name", Desc: true}}}, "docs_field_", false},
		{"range", metastore.Query{Filter: metastore.And{
			metastore.Cmp{Field: "Age", Op: metastore.Ge, Value: int64(10)},
			metastore.Cmp{Field: "Age", Op: metastore.Lt, Value: int64(20)}}}, "docs_field_", true},
		{"in", metastore.Query{Filter: metastore.In{Field: "Age", Values: []any{int64(1), int64(2)}}}, "docs_field_", true},
		{"order only", metastore.Query{Order: byName}, "docs_field_", false},
		{"default order", metastore.Query{}, "docs_list", false},
	} {
		q := tc.q
		q.Kind, q.Cell, q.Parent, q.Limit = "Person", "c", "set", 25
		sel, count := explain(t, s, &q)
		for _, p := range [][]string{sel, count} {
			for _, line := range p {
				if line == "SCAN docs" {
					t.Errorf("%s: full scan of docs: %q", tc.name, p)
				}
			}
		}
		if !strings.Contains(strings.Join(sel, "\n"), "USING INDEX "+tc.index) {
			t.Errorf("%s: plan does not use %s: %q", tc.name, tc.index, sel)
		}
		if !tc.sort && slices.Contains(sel, "USE TEMP B-TREE FOR ORDER BY") {
			t.Errorf("%s: plan sorts every match: %q", tc.name, sel)
		}
		t.Logf("%s: %q; count: %q", tc.name, sel, count)
	}
}

// TestRegisteredAndOddPath opens the store through the registry, at a
// path with characters that mean something in a URI.
func TestRegisteredAndOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%20d é", "meta.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := metastore.Open(t.Context(), "sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Apply(t.Context(), metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: "x", Kind: "K"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at %q: %v", path, err)
	}
}

// TestPrefixRange checks the byte-range form of Prefix where incrementing
// the last byte leaves valid UTF-8 ("¿" is C2 BF; "À" is C3 80).
func TestPrefixRange(t *testing.T) {
	s := newStore(t)
	defer s.Close()
	var ops []metastore.Op
	for i, v := range []string{"¿", "¿x", "À", "¾", "\x7f", "\x7fz", "\u0080"} {
		body, _ := json.Marshal(map[string]string{"v": v})
		ops = append(ops, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: fmt.Sprint(i), Kind: "K", Key: fmt.Sprint(i),
			Body: body}})
	}
	if _, err := s.Apply(t.Context(), ops...); err != nil {
		t.Fatal(err)
	}
	for prefix, want := range map[string]string{"¿": "0 1", "\x7f": "4 5", "À": "2", "\u0080": "6"} {
		res, err := s.Query(t.Context(), &metastore.Query{Kind: "K", Limit: -1, Filter: metastore.Prefix{Field: "v", Value: prefix}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range res.Docs {
			got = append(got, d.ID)
		}
		slices.Sort(got)
		if strings.Join(got, " ") != want {
			t.Errorf("prefix %q: %q, want %q", prefix, got, want)
		}
	}
}
