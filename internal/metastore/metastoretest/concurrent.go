package metastoretest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// testConcurrentCreates: 8 writers × 100 creates while readers count;
// every create lands, and a reader never sees the count go down.
func testConcurrentCreates(t *testing.T, s metastore.Store) {
	const writers, each = 8, 100
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+16)
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%03d", w, i)
				d := mkdoc(id, "T", "c", "", id, fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))
				if _, err := s.Apply(ctx, create(d)); err != nil {
					errs <- fmt.Errorf("create %s: %w", id, err)
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			last := int64(-1)
			for {
				select {
				case <-done:
					return
				default:
				}
				res, err := s.Query(ctx, &metastore.Query{Kind: "T", Cell: "c", Count: true, Limit: 1})
				if err != nil {
					errs <- fmt.Errorf("query during writes: %w", err)
					return
				}
				if res.Count < last || res.Count > writers*each {
					errs <- fmt.Errorf("count went from %d to %d", last, res.Count)
					return
				}
				last = res.Count
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res := mustQuery(t, s, &metastore.Query{Kind: "T", Cell: "c", Count: true, Limit: -1})
	if res.Count != writers*each || len(res.Docs) != writers*each {
		t.Fatalf("after concurrent creates: Count %d, %d docs; want %d", res.Count, len(res.Docs), writers*each)
	}
	for _, d := range res.Docs {
		if d.Version != 1 {
			t.Errorf("%s: version %d, want 1", d.ID, d.Version)
		}
	}

	// Racing creates of one natural key: exactly one wins each round.
	for round := range 10 {
		key := fmt.Sprintf("shared-%d", round)
		var won, lost int
		var mu sync.Mutex
		var race sync.WaitGroup
		for g := range 4 {
			race.Go(func() {
				_, err := s.Apply(ctx, create(mkdoc(fmt.Sprintf("%s-g%d", key, g), "T", "c", "", key, `{}`)))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case perr.Is(err, perr.Exist):
					lost++
				default:
					t.Errorf("racing create: %v", err)
				}
			})
		}
		race.Wait()
		if won != 1 || lost != 3 {
			t.Errorf("round %d: %d creates of one key won, %d lost; want 1 and 3", round, won, lost)
		}
	}
}

// testConditionalRace: two conditional updates of the same version race;
// exactly one wins, the other is PreconditionFailed.
func testConditionalRace(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	mustCreate(t, s, mkdoc("doc", "T", "c", "", "doc", `{"by":"nobody"}`))
	const rounds = 20
	for round := range rounds {
		version := int64(round + 1)
		results := make([]error, 2)
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Go(func() {
				d := mkdoc("doc", "T", "c", "", "doc", fmt.Sprintf(`{"by":"g%d","round":%d}`, g, round))
				_, results[g] = s.Apply(ctx, update(d, version))
			})
		}
		wg.Wait()
		winner := -1
		for g, err := range results {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: both conditional updates won", round)
				}
				winner = g
			case !perr.Is(err, perr.PreconditionFailed):
				t.Fatalf("round %d: losing update: %v, want PreconditionFailed", round, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no conditional update won: %v", round, results)
		}
		got := mustGet(t, s, "doc")
		want := fmt.Sprintf(`{"by":"g%d","round":%d}`, winner, round)
		if got.Version != version+1 || !jsonEqual(got.Body, []byte(want)) {
			t.Fatalf("round %d: stored version %d body %s; want version %d body %s",
				round, got.Version, got.Body, version+1, want)
		}
	}
}

// testDeleteCell: DeleteCell removes every document of the cell, of any
// kind and parent, and nothing else (not the cell's own unit-level document).
func testDeleteCell(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	mustCreate(t, s,
		mkdoc("cell-c1", "Cell", "", "", "c1", `{"Name":"c1"}`),
		mkdoc("cell-c2", "Cell", "", "", "c2", `{"Name":"c2"}`),
		mkdoc("c1-box", "Box", "c1", "", "box", `{}`),
		mkdoc("c1-acct", "Account", "c1", "", "me", `{}`),
		mkdoc("c1-role", "Role", "c1", "c1-box", "admin", `{}`),
		mkdoc("c1-node", "DavNode", "c1", "c1-box", "file.txt", `{}`),
		mkdoc("c1-node2", "DavNode", "c1", "c1-node", "sub", `{}`),
		mkdoc("c2-box", "Box", "c2", "", "box", `{}`),
		mkdoc("c2-acct", "Account", "c2", "", "me", `{}`),
		mkdoc("c2-node", "DavNode", "c2", "c2-box", "file.txt", `{}`))
	n, err := s.DeleteCell(ctx, "c1")
	if err != nil {
		t.Fatalf("DeleteCell: %v", err)
	}
	if n != 5 {
		t.Errorf("DeleteCell removed %d documents, want 5", n)
	}
	all := func(cell string) []metastore.Doc {
		return mustQuery(t, s, &metastore.Query{AnyKind: true, Cell: cell, AnyParent: true, Limit: -1}).Docs
	}
	wantSet(t, "cell c1 after DeleteCell", all("c1"), nil)
	wantSet(t, "cell c2 after DeleteCell c1", all("c2"), ids("c2-box c2-acct c2-node"))
	wantSet(t, "unit level after DeleteCell c1", all(""), ids("cell-c1 cell-c2"))
	for _, id := range ids("c1-box c1-acct c1-role c1-node c1-node2") {
		_, err := s.Get(ctx, id)
		wantKind(t, "Get "+id+" after DeleteCell", err, perr.NotExist)
	}
	// The natural keys are free again.
	mustCreate(t, s, mkdoc("c1-box-new", "Box", "c1", "", "box", `{}`))
	if n, err := s.DeleteCell(ctx, "c1"); err != nil || n != 1 {
		t.Errorf("second DeleteCell = %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteCell(ctx, "no-such-cell"); err != nil || n != 0 {
		t.Errorf("DeleteCell of an empty cell = %d, %v; want 0, nil", n, err)
	}
}

// testIndexer: when the store can index body members, indexes change no
// result, whether made before or after the data, and EnsureIndex is
// idempotent.
func testIndexer(t *testing.T, s metastore.Store) {
	ix, ok := s.(metastore.Indexer)
	if !ok {
		t.Skip("store does not implement metastore.Indexer")
	}
	ctx := t.Context()
	if err := ix.EnsureIndex(ctx, "T", "v"); err != nil {
		t.Fatalf("EnsureIndex before data: %v", err)
	}
	createTyped(t, s)
	for range 2 {
		if err := ix.EnsureIndex(ctx, "T", "v", "w", "_Box.Name", `a"b`, "it's", metastore.FieldKey); err != nil {
			t.Fatalf("EnsureIndex: %v", err)
		}
	}
	if err := ix.EnsureIndex(ctx, "U", "v"); err != nil {
		t.Fatalf("EnsureIndex of another kind: %v", err)
	}
	checkFilters(t, s, bodyFilterCases)
	checkOrders(t, s, orderCases)

	// The index follows updates and deletes.
	mustApply(t, s,
		update(mkdoc("i1", "T", "c", "p", "i1", `{"v":"now a string"}`), 1),
		del("sapp", 0))
	checkFilters(t, s, []filterCase{
		{"eq 1 after update", eq("v", int64(1)), ids("f1")},
		{"prefix after update", metastore.Prefix{Field: "v", Value: "now"}, ids("i1")},
		{"prefix after delete", metastore.Prefix{Field: "v", Value: "app"}, ids("sapple")},
	})
}
