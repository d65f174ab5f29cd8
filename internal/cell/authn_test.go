package cell

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/metastore/sqlite"
	"github.com/personium-go/personium/internal/perr"
)

// beforeApply runs before, once, at the start of the next Apply: another
// process's write landing between a read and the write that depends on it.
type beforeApply struct {
	metastore.Store
	before func()
}

func (s *beforeApply) Apply(ctx context.Context, ops ...metastore.Op) ([]metastore.Doc, error) {
	if f := s.before; f != nil {
		s.before = nil
		f()
	}
	return s.Store.Apply(ctx, ops...)
}

// TestFailedAttemptsAllCounted: two processes sharing the store record
// failed password attempts on one account at the same moment; both
// count, so the account lock (LockCount) is not diluted by parallel
// guesses.
func TestFailedAttemptsAllCounted(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	inter := &beforeApply{Store: s}
	here, there := NewManager(inter), NewManager(s)
	here.Now, there.Now = clock, clock
	if _, err := here.UnitProvider("", false).Create(ctx, here.UnitSchema().Type("Cell"), map[string]any{"Name": "alice"}); err != nil {
		t.Fatal(err)
	}
	c, err := here.Get(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := here.CtlProvider(c).Create(WithCredential(ctx, "password1", true), here.CellSchema().Type("Account"),
		map[string]any{"Name": "me"}); err != nil {
		t.Fatal(err)
	}
	a := &Authn{Cells: here, UnitURL: "http://unit/", Now: clock}
	b := &Authn{Cells: there, UnitURL: "http://unit/", Now: clock}
	if _, err := a.checkPassword(ctx, c, "me", "wrong-1", ""); perr.CodeOf(err) != "PR400-AN-0017" {
		t.Fatalf("wrong password: %v", err)
	}
	now = now.Add(2 * validAuthnInterval)
	inter.before = func() {
		if _, err := b.checkPassword(ctx, c, "me", "wrong-2", ""); perr.CodeOf(err) != "PR400-AN-0017" {
			t.Errorf("wrong password in the other process: %v", err)
		}
	}
	if _, err := a.checkPassword(ctx, c, "me", "wrong-3", ""); perr.CodeOf(err) != "PR400-AN-0017" {
		t.Fatalf("wrong password: %v", err)
	}
	acc, err := a.account(ctx, c, "me")
	if err != nil {
		t.Fatal(err)
	}
	h, err := a.history(ctx, c, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Failed != 3 {
		t.Errorf("3 failed attempts, 2 of them at once in two processes: history counts %d", h.Failed)
	}
}
