package lock

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/metastore/sqlite"
	"github.com/personium-go/personium/internal/perr"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func openStore(t *testing.T) metastore.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newManager returns a manager on store with a fake clock and tokens
// "urn:test:1", "urn:test:2"…
func newManager(t *testing.T, store metastore.Store) (*Manager, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	var n atomic.Int64
	m := &Manager{Store: store, Now: c.Now, NewToken: func() string { return fmt.Sprintf("urn:test:%d", n.Add(1)) }}
	if err := m.EnsureIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	return m, c
}

func wantErrCode(t *testing.T, err error, code string) {
	t.Helper()
	if perr.CodeOf(err) != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func roots(ls []Lock) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Root)
	}
	return out
}

// TestConflicts runs every pair of locks: existing × new, each
// exclusive or shared, depth 0 or infinity, with the new lock on the same
// resource, below the existing one, above it, or beside it.
func TestConflicts(t *testing.T) {
	m, _ := newManager(t, openStore(t))
	type rel struct {
		name     string
		old, new string
	}
	rels := []rel{
		{"same", "/a/b", "/a/b"},
		{"new-below", "/a", "/a/b/c"}, // the existing lock is on an ancestor
		{"new-above", "/a/b/c", "/a"}, // the existing lock is on a descendant
		{"sibling", "/a/b", "/a/bc"},
		{"root-above", "/x", "/"},
		{"root-below", "/", "/x"},
	}
	box := 0
	for _, r := range rels {
		for _, oldEx := range []bool{true, false} {
			for _, oldDepth := range []int{0, Infinity} {
				for _, newEx := range []bool{true, false} {
					for _, newDepth := range []int{0, Infinity} {
						overlap := r.old == r.new ||
							(Lock{Root: r.old, Depth: oldDepth}).Covers(r.new) ||
							(Lock{Root: r.new, Depth: newDepth}).Covers(r.old)
						want := overlap && (oldEx || newEx)
						name := fmt.Sprintf("%s/old=%s/new=%s", r.name, desc(oldEx, oldDepth), desc(newEx, newDepth))
						box++
						b := fmt.Sprint("box", box)
						_, err := m.Create(t.Context(), "cell", b, Lock{Root: r.old, Depth: oldDepth, Exclusive: oldEx})
						if err != nil {
							t.Fatalf("%s: first lock: %v", name, err)
						}
						_, err = m.Create(t.Context(), "cell", b, Lock{Root: r.new, Depth: newDepth, Exclusive: newEx})
						switch {
						case want && err == nil:
							t.Errorf("%s: conflicting lock granted", name)
						case want:
							if perr.CodeOf(err) != CodeLocked || !perr.Is(err, perr.Locked) {
								t.Errorf("%s: %v, want %s", name, err, CodeLocked)
							}
							var e *perr.E
							if errors.As(err, &e) && e.Path != r.old {
								t.Errorf("%s: error path %q, want %q", name, e.Path, r.old)
							}
						case err != nil:
							t.Errorf("%s: %v", name, err)
						}
						// Another box never conflicts.
						if _, err := m.Create(t.Context(), "cell", b+"-other", Lock{Root: r.new, Depth: newDepth, Exclusive: newEx}); err != nil {
							t.Errorf("%s: other box: %v", name, err)
						}
					}
				}
			}
		}
	}
}

func desc(ex bool, depth int) string {
	s := "shared"
	if ex {
		s = "excl"
	}
	if depth == Infinity {
		return s + "-inf"
	}
	return s + "-0"
}

func TestCreate(t *testing.T) {
	m, c := newManager(t, openStore(t))
	ctx := t.Context()
	l, err := m.Create(ctx, "c", "b", Lock{Root: "/a/b/", Depth: Infinity, Exclusive: true,
		Owner: []byte(`<D:href xmlns:D="DAV:">me</D:href>`), Principal: "https://u/cell/#me", Timeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := Lock{Token: "urn:test:1", Root: "/a/b", Depth: Infinity, Exclusive: true,
		Owner: []byte(`<D:href xmlns:D="DAV:">me</D:href>`), Principal: "https://u/cell/#me",
		Timeout: 90 * time.Second, Expires: c.Now().Add(90 * time.Second)}
	if !equalLock(l, want) {
		t.Errorf("Create = %+v, want %+v", l, want)
	}
	got, err := m.Get(ctx, "c", "b", l.Token)
	if err != nil || !equalLock(got, want) {
		t.Errorf("Get = %+v, %v; want %+v", got, err, want)
	}
	if _, err := m.Get(ctx, "c", "other", l.Token); !perr.Is(err, perr.NotExist) {
		t.Errorf("Get in another box: %v", err)
	}
	if _, err := m.Get(ctx, "c", "b", epochKey); !perr.Is(err, perr.NotExist) {
		t.Errorf("Get of the epoch document: %v", err)
	}
	// Timeouts are clamped.
	for in, want := range map[time.Duration]time.Duration{0: DefaultTimeout, -1: DefaultTimeout,
		time.Millisecond: MinTimeout, 1000 * time.Hour: MaxTimeout} {
		l, err := m.Create(ctx, "c", "b", Lock{Root: "/t", Timeout: in})
		if err != nil || l.Timeout != want {
			t.Errorf("Create with timeout %v: %v, %v; want %v", in, l.Timeout, err, want)
		}
	}
	_, err = m.Create(ctx, "c", "b", Lock{Root: "/d", Depth: 1})
	wantErrCode(t, err, CodeBadDepth)
}

func equalLock(a, b Lock) bool {
	return a.Token == b.Token && a.Root == b.Root && a.Depth == b.Depth && a.Exclusive == b.Exclusive &&
		string(a.Owner) == string(b.Owner) && a.Principal == b.Principal && a.Timeout == b.Timeout &&
		a.Expires.Equal(b.Expires)
}

func TestCoveringAndBelow(t *testing.T) {
	m, _ := newManager(t, openStore(t))
	ctx := t.Context()
	for _, l := range []Lock{
		{Root: "/", Depth: 0},
		{Root: "/a", Depth: Infinity},
		{Root: "/a/b", Depth: 0},
		{Root: "/a/b/c", Depth: Infinity},
		{Root: "/a/bc", Depth: 0},
		{Root: "/z", Depth: Infinity},
	} {
		if _, err := m.Create(ctx, "c", "b", l); err != nil {
			t.Fatal(err)
		}
	}
	for path, want := range map[string][]string{
		"/":          {"/"},
		"/a":         {"/a"},
		"/a/":        {"/a"},
		"/a/b":       {"/a", "/a/b"},
		"/a/b/c/d/e": {"/a", "/a/b/c"},
		"/a/bc":      {"/a", "/a/bc"},
		"/y":         nil,
		"/z/1":       {"/z"},
	} {
		got, err := m.Covering(ctx, "c", "b", path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(roots(got), want) {
			t.Errorf("Covering(%s) = %q, want %q", path, roots(got), want)
		}
	}
	for path, want := range map[string][]string{
		"/":      {"/a", "/a/b", "/a/b/c", "/a/bc", "/z"},
		"/a":     {"/a/b", "/a/b/c", "/a/bc"},
		"/a/b":   {"/a/b/c"},
		"/a/b/c": nil,
		"/q":     nil,
	} {
		got, err := m.Below(ctx, "c", "b", path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(roots(got), want) {
			t.Errorf("Below(%s) = %q, want %q", path, roots(got), want)
		}
	}
}

func TestExpiry(t *testing.T) {
	store := openStore(t)
	m, c := newManager(t, store)
	ctx := t.Context()
	l, err := m.Create(ctx, "c", "b", Lock{Root: "/a", Depth: Infinity, Exclusive: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(9 * time.Second)
	if _, err := m.Create(ctx, "c", "b", Lock{Root: "/a/x", Exclusive: true}); perr.CodeOf(err) != CodeLocked {
		t.Fatalf("lock before expiry: %v", err)
	}
	if got, _ := m.Covering(ctx, "c", "b", "/a/x"); len(got) != 1 {
		t.Fatalf("Covering before expiry: %v", got)
	}
	c.Add(time.Second) // expires exactly now
	if got, _ := m.Covering(ctx, "c", "b", "/a/x"); len(got) != 0 {
		t.Fatalf("Covering after expiry: %v", got)
	}
	// Covering deleted the expired lock.
	if _, err := store.GetKey(ctx, Kind, "c", "b", l.Token); !perr.Is(err, perr.NotExist) {
		t.Errorf("expired lock still stored: %v", err)
	}
	if _, err := m.Get(ctx, "c", "b", l.Token); !perr.Is(err, perr.NotExist) {
		t.Errorf("Get of expired lock: %v", err)
	}
	_, err = m.Refresh(ctx, "c", "b", l.Token, "/a", time.Minute)
	wantErrCode(t, err, CodeNoLock)
	wantErrCode(t, m.Unlock(ctx, "c", "b", l.Token, "/a"), CodeTokenMismatch)

	// An expired lock that nobody read does not block Create, which
	// deletes it.
	l2, err := m.Create(ctx, "c", "b", Lock{Root: "/a", Depth: Infinity, Exclusive: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(11 * time.Second)
	if _, err := m.Create(ctx, "c", "b", Lock{Root: "/a/b/c", Exclusive: true}); err != nil {
		t.Fatalf("lock after expiry: %v", err)
	}
	if _, err := store.GetKey(ctx, Kind, "c", "b", l2.Token); !perr.Is(err, perr.NotExist) {
		t.Errorf("expired lock still stored after Create: %v", err)
	}
	if got, _ := m.Below(ctx, "c", "b", "/"); len(got) != 1 || got[0].Root != "/a/b/c" {
		t.Errorf("Below after expiry: %v", got)
	}
}

func TestRefresh(t *testing.T) {
	m, c := newManager(t, openStore(t))
	ctx := t.Context()
	l, err := m.Create(ctx, "c", "b", Lock{Root: "/col", Depth: Infinity, Exclusive: true, Timeout: 10 * time.Second,
		Owner: []byte("me"), Principal: "p"})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(8 * time.Second)
	r, err := m.Refresh(ctx, "c", "b", l.Token, "/col/", 100*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := l
	want.Timeout, want.Expires = 100*time.Second, c.Now().Add(100*time.Second)
	if !equalLock(r, want) {
		t.Errorf("Refresh = %+v, want %+v", r, want)
	}
	c.Add(50 * time.Second) // past the first expiry
	if got, _ := m.Covering(ctx, "c", "b", "/col/x"); len(got) != 1 || !equalLock(got[0], want) {
		t.Errorf("Covering after refresh: %+v", got)
	}
	// Refresh through a member of the collection (litmus indirect_refresh).
	if _, err := m.Refresh(ctx, "c", "b", l.Token, "/col/x/y", 0); err != nil {
		t.Errorf("refresh through a member: %v", err)
	}
	for _, tc := range []struct{ token, path string }{
		{l.Token, "/other"}, {l.Token, "/"}, {"urn:test:nope", "/col"}, {epochKey, "/col"},
	} {
		_, err := m.Refresh(ctx, "c", "b", tc.token, tc.path, time.Minute)
		wantErrCode(t, err, CodeNoLock)
		if !perr.Is(err, perr.PreconditionFailed) {
			t.Errorf("Refresh(%s, %s): kind %v", tc.token, tc.path, perr.KindOf(err))
		}
	}
	// A depth-0 lock covers only its root.
	l0, _ := m.Create(ctx, "c", "b", Lock{Root: "/f", Timeout: time.Minute})
	_, err = m.Refresh(ctx, "c", "b", l0.Token, "/f/g", time.Minute)
	wantErrCode(t, err, CodeNoLock)
}

// TestRefreshRacesExpiry: a process that judges a lock expired and
// locks over it wins against a refresh arriving afterwards, which finds
// the lock gone.
func TestRefreshRacesExpiry(t *testing.T) {
	store := openStore(t)
	a, ca := newManager(t, store)
	b, cb := newManager(t, store)
	b.NewToken = func() string { return "urn:test:b" }
	ctx := t.Context()
	l, err := a.Create(ctx, "c", "b", Lock{Root: "/r", Exclusive: true, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cb.Add(11 * time.Second) // b's clock is ahead
	if _, err := b.Create(ctx, "c", "b", Lock{Root: "/r", Exclusive: true}); err != nil {
		t.Fatal(err)
	}
	ca.Add(5 * time.Second)
	_, err = a.Refresh(ctx, "c", "b", l.Token, "/r", time.Minute)
	wantErrCode(t, err, CodeNoLock)
}

func TestUnlock(t *testing.T) {
	m, _ := newManager(t, openStore(t))
	ctx := t.Context()
	col, _ := m.Create(ctx, "c", "b", Lock{Root: "/col", Depth: Infinity})
	f, _ := m.Create(ctx, "c", "b", Lock{Root: "/file"})
	for _, tc := range []struct{ token, path string }{
		{col.Token, "/file"}, {col.Token, "/"}, {f.Token, "/col"}, {f.Token, "/file/x"},
		{"urn:test:nope", "/file"}, {epochKey, "/"},
	} {
		err := m.Unlock(ctx, "c", "b", tc.token, tc.path)
		wantErrCode(t, err, CodeTokenMismatch)
		if !perr.Is(err, perr.Conflict) {
			t.Errorf("Unlock(%s, %s): kind %v", tc.token, tc.path, perr.KindOf(err))
		}
	}
	if err := m.Unlock(ctx, "c", "other-box", f.Token, "/file"); perr.CodeOf(err) != CodeTokenMismatch {
		t.Errorf("Unlock in another box: %v", err)
	}
	if err := m.Unlock(ctx, "c", "b", col.Token, "/col/member"); err != nil {
		t.Errorf("Unlock through a member: %v", err)
	}
	if err := m.Unlock(ctx, "c", "b", f.Token, "/file"); err != nil {
		t.Error(err)
	}
	if got, _ := m.Below(ctx, "c", "b", "/"); len(got) != 0 {
		t.Errorf("locks left: %+v", got)
	}
	wantErrCode(t, m.Unlock(ctx, "c", "b", f.Token, "/file"), CodeTokenMismatch)
	// The resource can be locked again.
	if _, err := m.Create(ctx, "c", "b", Lock{Root: "/file", Exclusive: true}); err != nil {
		t.Error(err)
	}
}

func TestRemoveTree(t *testing.T) {
	store := openStore(t)
	m, c := newManager(t, store)
	ctx := t.Context()
	for _, r := range []string{"/a", "/a/b", "/a/b/c", "/ab", "/x"} {
		if _, err := m.Create(ctx, "c", "b", Lock{Root: r, Timeout: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	expiredLock, _ := m.Create(ctx, "c", "b", Lock{Root: "/a/old", Timeout: time.Second})
	c.Add(2 * time.Second)
	if err := m.RemoveTree(ctx, "c", "b", "/a/"); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Below(ctx, "c", "b", "/")
	if want := []string{"/ab", "/x"}; !slices.Equal(roots(got), want) {
		t.Errorf("after RemoveTree(/a): %q, want %q", roots(got), want)
	}
	if _, err := store.GetKey(ctx, Kind, "c", "b", expiredLock.Token); !perr.Is(err, perr.NotExist) {
		t.Errorf("expired lock under the tree left: %v", err)
	}
	if err := m.RemoveTree(ctx, "c", "b", "/nothing"); err != nil {
		t.Error(err)
	}
	if _, err := m.Create(ctx, "c", "b", Lock{Root: "/", Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveTree(ctx, "c", "b", "/"); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Covering(ctx, "c", "b", "/"); len(got) != 0 {
		t.Errorf("after RemoveTree(/): %+v", got)
	}
	if got, _ := m.Below(ctx, "c", "b", "/"); len(got) != 0 {
		t.Errorf("after RemoveTree(/): %+v", got)
	}
	// RemoveBox also drops the epoch document.
	if _, err := m.Create(ctx, "c", "b", Lock{Root: "/k"}); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveBox(ctx, "c", "b"); err != nil {
		t.Fatal(err)
	}
	res, err := store.Query(ctx, &metastore.Query{Kind: Kind, Cell: "c", Parent: "b", Limit: -1})
	if err != nil || len(res.Docs) != 0 {
		t.Errorf("after RemoveBox: %d documents, %v", len(res.Docs), err)
	}
}

// TestConcurrentCreate: managers sharing a store (as processes would)
// race to lock a chain of nested collections with depth infinity, every
// pair of which conflicts: each round, exactly one wins.
func TestConcurrentCreate(t *testing.T) {
	store := openStore(t)
	const racers = 8
	var ms []*Manager
	for range racers {
		m, _ := newManager(t, store)
		ms = append(ms, m)
	}
	var n atomic.Int64
	for _, m := range ms {
		m.NewToken = func() string { return fmt.Sprintf("urn:test:%d", n.Add(1)) }
	}
	for round := range 10 {
		box := fmt.Sprint("box", round)
		var wg sync.WaitGroup
		var won atomic.Int32
		errs := make(chan error, racers)
		start := make(chan struct{})
		for i, m := range ms {
			wg.Go(func() {
				<-start
				root := "/"
				for j := range i {
					root = fmt.Sprintf("%s/%d", root, j)
				}
				_, err := m.Create(context.Background(), "c", box, Lock{Root: root, Depth: Infinity, Exclusive: true})
				switch {
				case err == nil:
					won.Add(1)
				case perr.CodeOf(err) != CodeLocked:
					errs <- err
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if n := won.Load(); n != 1 {
			t.Fatalf("round %d: %d conflicting locks granted", round, n)
		}
	}
}

// interposer runs before, once, at the start of the next Apply: another
// process's write landing between a read and the write that depends on
// it.
type interposer struct {
	metastore.Store
	before func()
}

func (s *interposer) Apply(ctx context.Context, ops ...metastore.Op) ([]metastore.Doc, error) {
	if f := s.before; f != nil {
		s.before = nil
		f()
	}
	return s.Store.Apply(ctx, ops...)
}

// TestInterleavedCreate: a conflicting lock on an ancestor or a
// descendant, granted by another process after Create has checked for
// conflicts and before it writes, makes Create fail, not grant both.
func TestInterleavedCreate(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, mine Lock
		existing    bool // the box already has its epoch document
	}{
		{"ancestor", Lock{Root: "/a", Depth: Infinity, Exclusive: true}, Lock{Root: "/a/b/c", Exclusive: true}, true},
		{"descendant", Lock{Root: "/a/b/c", Exclusive: true}, Lock{Root: "/a", Depth: Infinity}, true},
		{"same-root", Lock{Root: "/a", Exclusive: true}, Lock{Root: "/a", Exclusive: true}, true},
		{"first-lock-of-box", Lock{Root: "/a", Depth: Infinity}, Lock{Root: "/a/b", Exclusive: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := openStore(t)
			other, _ := newManager(t, store)
			other.NewToken = func() string { return "urn:test:other" }
			is := &interposer{Store: store}
			m, _ := newManager(t, is)
			ctx := t.Context()
			if tc.existing {
				l, err := m.Create(ctx, "c", "b", Lock{Root: "/unrelated"})
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Unlock(ctx, "c", "b", l.Token, l.Root); err != nil {
					t.Fatal(err)
				}
			}
			is.before = func() {
				if _, err := other.Create(ctx, "c", "b", tc.first); err != nil {
					t.Errorf("other process: %v", err)
				}
			}
			_, err := m.Create(ctx, "c", "b", tc.mine)
			wantErrCode(t, err, CodeLocked)
			if e, ok := errors.AsType[*perr.E](err); !ok || e.Path != tc.first.Root {
				t.Errorf("conflict reported on %v", err)
			}
		})
	}
}

// TestInterleavedRefresh: a refresh that loses a race with another
// refresh of the same lock tries again; with an unlock, it finds no lock.
func TestInterleavedRefresh(t *testing.T) {
	store := openStore(t)
	is := &interposer{Store: store}
	m, c := newManager(t, is)
	other := &Manager{Store: store, Now: c.Now}
	ctx := t.Context()
	l, err := m.Create(ctx, "c", "b", Lock{Root: "/a", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	is.before = func() {
		if _, err := other.Refresh(ctx, "c", "b", l.Token, "/a", time.Hour); err != nil {
			t.Error(err)
		}
	}
	r, err := m.Refresh(ctx, "c", "b", l.Token, "/a", 2*time.Minute)
	if err != nil || r.Timeout != 2*time.Minute {
		t.Fatalf("Refresh = %+v, %v", r, err)
	}
	is.before = func() {
		if err := other.Unlock(ctx, "c", "b", l.Token, "/a"); err != nil {
			t.Error(err)
		}
	}
	_, err = m.Refresh(ctx, "c", "b", l.Token, "/a", time.Minute)
	wantErrCode(t, err, CodeNoLock)
}

// searchLag is a store whose Get and GetKey see every write at once but
// whose Query answers once more from the state before the latest writes
// and only then catches up: Elasticsearch between a write and the
// refresh that makes it searchable, when a realtime GET already sees it.
type searchLag struct {
	metastore.Store                 // writes, Get and GetKey
	view            metastore.Store // what Query answers from
	t               *testing.T
	pending         [][]metastore.Op
}

func (s *searchLag) Apply(ctx context.Context, ops ...metastore.Op) ([]metastore.Doc, error) {
	docs, err := s.Store.Apply(ctx, ops...)
	if err == nil {
		s.pending = append(s.pending, ops)
	}
	return docs, err
}

func (s *searchLag) Query(ctx context.Context, q *metastore.Query) (*metastore.Result, error) {
	res, err := s.view.Query(ctx, q)
	for _, ops := range s.pending {
		if _, err := s.view.Apply(ctx, ops...); err != nil {
			s.t.Fatalf("replaying a batch on the view: %v", err)
		}
	}
	s.pending = nil
	return res, err
}

// TestCreateWithSearchLag: a lock another process has just granted is
// not yet searchable, but its epoch already reads as changed: Create must
// not take that epoch version for one that covers the locks it found.
func TestCreateWithSearchLag(t *testing.T) {
	store := &searchLag{Store: openStore(t), view: openStore(t), t: t}
	other, _ := newManager(t, store)
	other.NewToken = func() string { return "urn:test:other" }
	m, _ := newManager(t, store)
	ctx := t.Context()
	if _, err := other.Create(ctx, "c", "b", Lock{Root: "/a", Depth: Infinity, Exclusive: true}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Create(ctx, "c", "b", Lock{Root: "/a/b", Exclusive: true})
	wantErrCode(t, err, CodeLocked)
}
