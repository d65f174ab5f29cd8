package metastoretest

import (
	"fmt"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// testCRUD: create, read by ID and natural key, update, delete, and what
// each returns.
func testCRUD(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	d := mkdoc("id-1", "Box", "cell-1", "", "box1", `{"Name":"box1","Schema":"https://app/","n":1}`)
	d.Published, d.Updated = 1000, 1001
	d.Version = 42 // ignored on write
	got := mustCreate(t, s, d)
	want := d
	want.Version = 1
	sameDoc(t, "Create result", got[0], want)
	sameDoc(t, "Get after create", *mustGet(t, s, "id-1"), want)
	byKey, err := s.GetKey(ctx, "Box", "cell-1", "", "box1")
	if err != nil {
		t.Fatalf("GetKey: %v", err)
	}
	sameDoc(t, "GetKey after create", *byKey, want)

	// A unit-level document (cell "") with a parent.
	u := mkdoc("unit-1", "Cell", "", "unit", "cell-1", `{"Name":"cell-1"}`)
	mustCreate(t, s, u)
	if _, err := s.GetKey(ctx, "Cell", "", "unit", "cell-1"); err != nil {
		t.Errorf("GetKey of a unit-level document: %v", err)
	}

	// Update replaces everything but ID and Published; members left out
	// of the new body are gone.
	up := mkdoc("id-1", "Box", "cell-1", "", "box1", `{"Name":"box1","extra":"x"}`)
	up.Published, up.Updated = 5555, 2000
	got = mustApply(t, s, update(up, 0))
	want = up
	want.Version, want.Published = 2, 1000
	sameDoc(t, "Update result", got[0], want)
	sameDoc(t, "Get after update", *mustGet(t, s, "id-1"), want)
	res := mustQuery(t, s, &metastore.Query{Kind: "Box", Cell: "cell-1", Limit: -1,
		Filter: metastore.Cmp{Field: "Schema", Op: metastore.Eq, Value: nil}})
	wantOrder(t, "member removed by update is null", res.Docs, ids("id-1"))

	// Delete returns the document as it was.
	got = mustApply(t, s, del("id-1", 0))
	sameDoc(t, "Delete result", got[0], want)
	if _, err := s.Get(ctx, "id-1"); !perr.Is(err, perr.NotExist) {
		t.Errorf("Get after delete: %v, want NotExist", err)
	}
	if _, err := s.GetKey(ctx, "Box", "cell-1", "", "box1"); !perr.Is(err, perr.NotExist) {
		t.Errorf("GetKey after delete: %v, want NotExist", err)
	}
	// The natural key and the ID are free again.
	got = mustCreate(t, s, d)
	if got[0].Version != 1 {
		t.Errorf("re-created document has version %d, want 1", got[0].Version)
	}
	if r, err := s.Apply(ctx); err != nil || len(r) != 0 {
		t.Errorf("empty Apply = %v, %v; want no documents, no error", r, err)
	}
}

// testErrors: every documented error kind, and that failed writes change nothing.
func testErrors(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	a := mkdoc("a", "Role", "c", "box", "admin", `{"Name":"admin"}`)
	mustCreate(t, s, a)

	_, err := s.Get(ctx, "nope")
	wantKind(t, "Get missing", err, perr.NotExist)
	_, err = s.GetKey(ctx, "Role", "c", "box", "nope")
	wantKind(t, "GetKey missing", err, perr.NotExist)
	_, err = s.GetKey(ctx, "Role", "c", "other-box", "admin")
	wantKind(t, "GetKey with another parent", err, perr.NotExist)

	_, err = s.Apply(ctx, update(mkdoc("nope", "Role", "c", "box", "x", `{}`), 0))
	wantKind(t, "Update missing", err, perr.NotExist)
	_, err = s.Apply(ctx, update(mkdoc("nope", "Role", "c", "box", "x", `{}`), 3))
	wantKind(t, "conditional Update missing", err, perr.NotExist)
	_, err = s.Apply(ctx, del("nope", 0))
	wantKind(t, "Delete missing", err, perr.NotExist)
	_, err = s.Apply(ctx, del("nope", 1))
	wantKind(t, "conditional Delete missing", err, perr.NotExist)

	_, err = s.Apply(ctx, create(mkdoc("a", "Role", "c", "box", "other", `{}`)))
	wantKind(t, "Create with a taken ID", err, perr.Exist)
	_, err = s.Apply(ctx, create(mkdoc("a", "Account", "d", "", "x", `{}`)))
	wantKind(t, "Create with a taken ID of another kind and cell", err, perr.Exist)
	_, err = s.Apply(ctx, create(mkdoc("b", "Role", "c", "box", "admin", `{}`)))
	wantKind(t, "Create with a taken natural key", err, perr.Exist)
	if _, err := s.Get(ctx, "b"); !perr.Is(err, perr.NotExist) {
		t.Errorf("document of a failed Create exists: %v", err)
	}
	// The same key under another kind, cell or parent is a different natural key.
	mustCreate(t, s,
		mkdoc("k1", "Account", "c", "box", "admin", `{}`),
		mkdoc("k2", "Role", "d", "box", "admin", `{}`),
		mkdoc("k3", "Role", "c", "box2", "admin", `{}`),
		mkdoc("k4", "Role", "", "box", "admin", `{}`))

	changed := mkdoc("a", "Role", "c", "box", "admin", `{"Name":"changed"}`)
	_, err = s.Apply(ctx, update(changed, 2))
	wantKind(t, "Update with a wrong version", err, perr.PreconditionFailed)
	_, err = s.Apply(ctx, del("a", 7))
	wantKind(t, "Delete with a wrong version", err, perr.PreconditionFailed)
	got := mustGet(t, s, "a")
	sameDoc(t, "after failed conditional writes", *got, metastore.Doc{ID: "a", Kind: "Role", Cell: "c",
		Parent: "box", Key: "admin", Body: a.Body, Version: 1})

	// With the right version both succeed.
	if r := mustApply(t, s, update(changed, 1)); r[0].Version != 2 {
		t.Errorf("conditional Update gave version %d, want 2", r[0].Version)
	}
	mustApply(t, s, del("a", 2))
	_, err = s.Get(ctx, "a")
	wantKind(t, "Get after conditional Delete", err, perr.NotExist)
}

// testVersions: versions start at 1 and every update adds one; Get and
// Query report the stored version.
func testVersions(t *testing.T, s metastore.Store) {
	d := mkdoc("v", "Account", "c", "", "me", `{"n":0}`)
	if r := mustCreate(t, s, d); r[0].Version != 1 {
		t.Fatalf("Create gave version %d", r[0].Version)
	}
	for i := int64(1); i <= 5; i++ {
		d.Body = []byte(fmt.Sprintf(`{"n":%d}`, i))
		d.Version = 100 // ignored
		r := mustApply(t, s, update(d, 0))
		if r[0].Version != i+1 {
			t.Errorf("update %d gave version %d, want %d", i, r[0].Version, i+1)
		}
		if g := mustGet(t, s, "v"); g.Version != i+1 {
			t.Errorf("Get after update %d: version %d, want %d", i, g.Version, i+1)
		}
	}
	res := mustQuery(t, s, &metastore.Query{Kind: "Account", Cell: "c", Limit: 1})
	if len(res.Docs) != 1 || res.Docs[0].Version != 6 || !jsonEqual(res.Docs[0].Body, []byte(`{"n":5}`)) {
		t.Errorf("Query returned %+v, want version 6 with body n=5", res.Docs)
	}
}

// testBatch: a batch is all-or-nothing, and later ops see earlier ones.
func testBatch(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	x := mkdoc("x", "T", "c", "", "x", `{"v":"x1"}`)
	y := mkdoc("y", "T", "c", "", "y", `{"v":"y1"}`)
	mustCreate(t, s, x, y)

	// The third op fails: nothing of the first two remains.
	_, err := s.Apply(ctx,
		create(mkdoc("a", "T", "c", "", "a", `{}`)),
		create(mkdoc("b", "T", "c", "", "b", `{}`)),
		create(mkdoc("x", "T", "c", "", "x-again", `{}`)))
	wantKind(t, "batch with a duplicate ID third", err, perr.Exist)
	for _, id := range ids("a b") {
		if _, err := s.Get(ctx, id); !perr.Is(err, perr.NotExist) {
			t.Errorf("document %q of a failed batch: %v, want NotExist", id, err)
		}
	}
	if _, err := s.GetKey(ctx, "T", "c", "", "x-again"); !perr.Is(err, perr.NotExist) {
		t.Errorf("natural key of a failed batch: %v, want NotExist", err)
	}

	// Updates and deletes roll back too.
	x2 := x
	x2.Body = []byte(`{"v":"x2"}`)
	_, err = s.Apply(ctx, update(x2, 1), del("y", 0), update(mkdoc("nope", "T", "c", "", "n", `{}`), 0))
	wantKind(t, "batch with a missing update third", err, perr.NotExist)
	sameDoc(t, "x after failed batch", *mustGet(t, s, "x"), metastore.Doc{ID: "x", Kind: "T", Cell: "c", Key: "x",
		Body: x.Body, Version: 1})
	mustGet(t, s, "y")
	_, err = s.Apply(ctx, del("y", 0), create(mkdoc("c", "T", "c", "", "c", `{}`)), update(x2, 5))
	wantKind(t, "batch with a version mismatch third", err, perr.PreconditionFailed)
	mustGet(t, s, "y")
	if _, err := s.Get(ctx, "c"); !perr.Is(err, perr.NotExist) {
		t.Errorf("document of a failed batch: %v", err)
	}
	res := mustQuery(t, s, &metastore.Query{Kind: "T", Cell: "c", Count: true})
	if res.Count != 2 {
		t.Errorf("after failed batches: %d documents, want 2", res.Count)
	}

	// Within a batch each op sees the previous ones.
	z := mkdoc("z", "T", "c", "", "z", `{"n":1}`)
	z2, z3 := z, z
	z2.Body, z3.Body = []byte(`{"n":2}`), []byte(`{"n":3}`)
	r := mustApply(t, s, create(z), update(z2, 1), update(z3, 2))
	for i, want := range []int64{1, 2, 3} {
		if r[i].Version != want {
			t.Errorf("batch op %d: version %d, want %d", i+1, r[i].Version, want)
		}
	}
	if g := mustGet(t, s, "z"); g.Version != 3 || !jsonEqual(g.Body, z3.Body) {
		t.Errorf("after batch: %+v, want version 3 body %s", g, z3.Body)
	}
	// A key freed and taken again in one batch; an ID deleted and re-created.
	r = mustApply(t, s, del("x", 0), create(mkdoc("x2", "T", "c", "", "x", `{}`)),
		del("y", 0), create(mkdoc("y", "T", "c", "", "y-new", `{}`)))
	if r[0].ID != "x" || r[0].Key != "x" || !jsonEqual(r[0].Body, x.Body) || r[3].Version != 1 {
		t.Errorf("batch results %+v", r)
	}
	if d, err := s.GetKey(ctx, "T", "c", "", "x"); err != nil || d.ID != "x2" {
		t.Errorf("GetKey of a re-used key = %+v, %v; want x2", d, err)
	}
}

// testRename: Update may change the natural key and the parent (rename,
// move); Exist when the new key is taken.
func testRename(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	mustCreate(t, s,
		mkdoc("r1", "DavNode", "c", "dir1", "old.txt", `{"t":"file"}`),
		mkdoc("r2", "DavNode", "c", "dir1", "other.txt", `{"t":"file"}`))
	mustApply(t, s, update(mkdoc("r1", "DavNode", "c", "dir1", "new.txt", `{"t":"file"}`), 1))
	if d, err := s.GetKey(ctx, "DavNode", "c", "dir1", "new.txt"); err != nil || d.ID != "r1" || d.Version != 2 {
		t.Errorf("GetKey new name = %+v, %v; want r1 version 2", d, err)
	}
	_, err := s.GetKey(ctx, "DavNode", "c", "dir1", "old.txt")
	wantKind(t, "GetKey old name", err, perr.NotExist)

	_, err = s.Apply(ctx, update(mkdoc("r2", "DavNode", "c", "dir1", "new.txt", `{"t":"file"}`), 0))
	wantKind(t, "rename onto a taken key", err, perr.Exist)
	if d := mustGet(t, s, "r2"); d.Key != "other.txt" || d.Version != 1 {
		t.Errorf("after failed rename: %+v", d)
	}

	// Move to another parent keeping the name: a different natural key.
	mustApply(t, s, update(mkdoc("r2", "DavNode", "c", "dir2", "new.txt", `{"t":"file"}`), 1))
	if d, err := s.GetKey(ctx, "DavNode", "c", "dir2", "new.txt"); err != nil || d.ID != "r2" {
		t.Errorf("GetKey after move = %+v, %v; want r2", d, err)
	}
	res := mustQuery(t, s, &metastore.Query{Kind: "DavNode", Cell: "c", Parent: "dir1", Limit: -1})
	wantOrder(t, "children of dir1 after the move", res.Docs, ids("r1"))
}

// testInvalidWrites: malformed ops are Invalid and write nothing.
func testInvalidWrites(t *testing.T, s metastore.Store) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		op   metastore.Op
	}{
		{"body not JSON", create(mkdoc("i", "T", "c", "", "k", `{"a":`))},
		{"body an array", create(mkdoc("i", "T", "c", "", "k", `[1,2]`))},
		{"body a string", create(mkdoc("i", "T", "c", "", "k", `"x"`))},
		{"empty ID", create(mkdoc("", "T", "c", "", "k", `{}`))},
	} {
		_, err := s.Apply(ctx, create(mkdoc("ok", "T", "c", "", "ok", `{}`)), tc.op)
		wantKind(t, tc.name, err, perr.Invalid)
	}
	if _, err := s.Get(ctx, "ok"); !perr.Is(err, perr.NotExist) {
		t.Errorf("document of an invalid batch: %v, want NotExist", err)
	}
}
