package cell

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/metastore/sqlite"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// countingStore counts GetKey calls.
type countingStore struct {
	metastore.Store
	getKeys int
}

func (c *countingStore) GetKey(ctx context.Context, kind, cell, parent, key string) (*metastore.Doc, error) {
	c.getKeys++
	return c.Store.GetKey(ctx, kind, cell, parent, key)
}

func TestCellLookupsAreCachedAndForgotten(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cs := &countingStore{Store: s}
	m := NewManager(cs)
	ctx := context.Background()
	p := m.UnitProvider("", false)
	if _, err := p.Create(ctx, m.UnitSchema().Type("Cell"), map[string]any{"Name": "alice"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := m.Get(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if cs.getKeys != 1 {
		t.Fatalf("5 lookups of one cell read the store %d times", cs.getKeys)
	}
	if err := p.Delete(ctx, m.UnitSchema().Type("Cell"), odata.KeyPredicate{{Value: "alice"}}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "alice"); err == nil {
		t.Fatal("a deleted cell is still found")
	}
}

// Two managers over one store stand for two processes sharing it: with
// SharedStore, a cell one of them deleted is gone for the other at once,
// not after CellCacheTTL (its clock is stopped here).
func TestSharedStoreCellDeletedElsewhere(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	stopped := time.Now()
	here, there := NewManager(s), NewManager(s)
	here.Now, here.SharedStore = func() time.Time { return stopped }, true
	cellType := there.UnitSchema().Type("Cell")
	p := there.UnitProvider("", false)
	if _, err := p.Create(ctx, cellType, map[string]any{"Name": "alice"}); err != nil {
		t.Fatal(err)
	}
	old, err := here.Get(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(ctx, cellType, odata.KeyPredicate{{Value: "alice"}}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := here.Get(ctx, "alice"); !perr.Is(err, perr.NotExist) {
		t.Fatalf("a cell deleted by another process: Get = %v, want NotExist", err)
	}
	if _, err := p.Create(ctx, cellType, map[string]any{"Name": "alice"}); err != nil {
		t.Fatal(err)
	}
	c, err := here.Get(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == old.ID {
		t.Fatalf("a cell re-created by another process is still seen with its old ID %s", old.ID)
	}
}
