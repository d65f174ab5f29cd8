package lock

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// Kind is the metastore document kind of locks (and of each box's epoch
// document; see the package comment).
const Kind = "DavLock"

const (
	fieldRoot = "root" // body member holding Lock.Root; indexed by EnsureIndexes
	epochKey  = "#epoch"
	// maxAttempts bounds the optimistic retries of one call. Each failed
	// attempt means another writer succeeded, so only a box under a
	// storm of LOCKs runs out (CodeBusy).
	maxAttempts = 64
)

// Manager keeps locks in a metastore. The zero value is not usable:
// Store is required; Now and NewToken default to time.Now and random
// "urn:uuid:" tokens. Its methods are safe for concurrent use, also by
// several processes sharing Store (see the package comment).
//
// Every method takes the cell ID and a box-scope ID (the box's ID): locks
// of one box never see those of another. Paths are paths inside the box
// and are cleaned with Clean.
type Manager struct {
	Store    metastore.Store
	Now      func() time.Time
	NewToken func() string // must return unique absolute URIs
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) newToken() string {
	if m.NewToken != nil {
		return m.NewToken()
	}
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go ≥ 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return "urn:uuid:" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// lockBody is the stored body of a lock document.
type lockBody struct {
	Root      string `json:"root"`
	Depth     int    `json:"depth"`
	Exclusive bool   `json:"exclusive"`
	Owner     string `json:"owner,omitempty"`
	Principal string `json:"principal,omitempty"`
	TimeoutMs int64  `json:"timeoutMs"`
	ExpiresMs int64  `json:"expiresMs"`
}

func lockID(token string) string { return "davlock:" + token }

func epochID(cell, box string) string { return "davlock-epoch:" + cell + ":" + box }

// decode reads a lock document; false for the epoch document and
// anything else that is not a lock.
func decode(d *metastore.Doc) (Lock, bool) {
	var b lockBody
	if d.Key == epochKey || json.Unmarshal(d.Body, &b) != nil || b.Root == "" {
		return Lock{}, false
	}
	l := Lock{
		Token:     d.Key,
		Root:      b.Root,
		Depth:     b.Depth,
		Exclusive: b.Exclusive,
		Principal: b.Principal,
		Timeout:   time.Duration(b.TimeoutMs) * time.Millisecond,
		Expires:   time.UnixMilli(b.ExpiresMs),
	}
	if b.Owner != "" {
		l.Owner = []byte(b.Owner)
	}
	return l, true
}

func (m *Manager) lockDoc(cell, box string, l Lock, now time.Time) metastore.Doc {
	body, _ := json.Marshal(lockBody{
		Root:      l.Root,
		Depth:     l.Depth,
		Exclusive: l.Exclusive,
		Owner:     string(l.Owner),
		Principal: l.Principal,
		TimeoutMs: l.Timeout.Milliseconds(),
		ExpiresMs: l.Expires.UnixMilli(),
	})
	return metastore.Doc{
		ID: lockID(l.Token), Kind: Kind, Cell: cell, Parent: box, Key: l.Token, Body: body,
		Published: now.UnixMilli(), Updated: now.UnixMilli(),
	}
}

func expired(l Lock, now time.Time) bool { return !now.Before(l.Expires) }

// retryable reports whether an Apply failed because another writer
// changed what this attempt read.
func retryable(err error) bool {
	return perr.Is(err, perr.PreconditionFailed) || perr.Is(err, perr.NotExist) || perr.Is(err, perr.Exist)
}

// EnsureIndexes creates the index lock queries use when the store is a
// metastore.Indexer; otherwise it does nothing. It is idempotent.
func (m *Manager) EnsureIndexes(ctx context.Context) error {
	if ix, ok := m.Store.(metastore.Indexer); ok {
		return ix.EnsureIndex(ctx, Kind, fieldRoot)
	}
	return nil
}

// Create grants l on the resource l.Root of the box, as a LOCK that
// creates a lock does (RFC 4918 §9.10). It sets l.Token (NewToken) and
// l.Expires; l.Timeout ≤ 0 means DefaultTimeout, and the timeout is
// clamped to [MinTimeout, MaxTimeout]. It returns the lock as granted.
//
// Errors: CodeBadDepth (400) if l.Depth is neither 0 nor Infinity;
// CodeLocked (423, Path = the other lock's root) if an unexpired lock
// conflicts — one on the same root, on an ancestor with depth infinity,
// or, when l.Depth is Infinity, below l.Root, where either lock is
// exclusive; CodeBusy (503) after too many concurrent changes; store
// errors.
func (m *Manager) Create(ctx context.Context, cell, box string, l Lock) (Lock, error) {
	const op = "lock.Create"
	if l.Depth != 0 && l.Depth != Infinity {
		return Lock{}, perr.New(CodeBadDepth, l.Depth).WithOp(op)
	}
	l.Root = Clean(l.Root)
	l.Timeout = clampTimeout(l.Timeout)
	l.Token = m.newToken()
	if len(l.Owner) == 0 {
		l.Owner = nil
	}
	// The epoch document comes with the locks, in the same query, so
	// that both are read from one state of the store (see Concurrency).
	var filter metastore.Expr = metastore.In{Field: fieldRoot, Values: rootValues(append(ancestors(l.Root), l.Root))}
	if l.Depth == Infinity {
		filter = metastore.Or{filter, belowFilter(l.Root)}
	}
	filter = metastore.Or{filter, metastore.Cmp{Field: metastore.FieldKey, Op: metastore.Eq, Value: epochKey}}
	for range maxAttempts {
		now := m.now()
		l.Expires = now.Add(l.Timeout)
		docs, err := m.query(ctx, cell, box, filter)
		if err != nil {
			return Lock{}, err
		}
		var epoch *metastore.Doc
		ops := make([]metastore.Op, 1, 2+len(docs))
		ops[0] = metastore.Op{Type: metastore.Create, Doc: m.lockDoc(cell, box, l, now)}
		for i := range docs {
			if docs[i].Key == epochKey {
				epoch = &docs[i]
				continue
			}
			o, ok := decode(&docs[i])
			if !ok {
				continue
			}
			if expired(o, now) {
				ops = append(ops, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: docs[i].ID}, IfVersion: docs[i].Version})
				continue
			}
			if (l.Exclusive || o.Exclusive) && (o.Covers(l.Root) || (l.Depth == Infinity && under(o.Root, l.Root))) {
				e := perr.New(CodeLocked, o.Root).WithOp(op)
				e.Path = o.Root
				return Lock{}, e
			}
		}
		ed := metastore.Doc{ID: epochID(cell, box), Kind: Kind, Cell: cell, Parent: box, Key: epochKey,
			Body: json.RawMessage(`{}`), Published: now.UnixMilli(), Updated: now.UnixMilli()}
		if epoch == nil {
			ops = append(ops, metastore.Op{Type: metastore.Create, Doc: ed})
		} else {
			ed.ID = epoch.ID
			ops = append(ops, metastore.Op{Type: metastore.Update, Doc: ed, IfVersion: epoch.Version})
		}
		_, err = m.Store.Apply(ctx, ops...)
		if err == nil {
			return l, nil
		}
		if !retryable(err) {
			return Lock{}, err
		}
	}
	return Lock{}, perr.New(CodeBusy).WithOp(op)
}

// Get returns the unexpired lock with token in the box; an error of
// Kind NotExist (no code) if there is none.
func (m *Manager) Get(ctx context.Context, cell, box, token string) (Lock, error) {
	_, l, err := m.get(ctx, cell, box, token, m.now())
	return l, err
}

// get reads the unexpired lock with token, deleting it if expired.
func (m *Manager) get(ctx context.Context, cell, box, token string, now time.Time) (*metastore.Doc, Lock, error) {
	d, err := m.Store.GetKey(ctx, Kind, cell, box, token)
	if err != nil {
		return nil, Lock{}, err
	}
	l, ok := decode(d)
	if !ok {
		return nil, Lock{}, perr.Errorf(perr.NotExist, "lock: no lock %q", token)
	}
	if expired(l, now) {
		m.sweep(ctx, []metastore.Doc{*d})
		return nil, Lock{}, perr.Errorf(perr.NotExist, "lock: lock %q expired", token)
	}
	return d, l, nil
}

// Refresh extends the lock with token to timeout from now (RFC 4918
// §9.10.2), clamped as in Create, and returns it. The lock must be
// unexpired and cover path (the request URI of the LOCK: its root or,
// for depth infinity, a resource below it).
//
// Errors: CodeNoLock (412) if no such lock covers path; CodeBusy (503);
// store errors.
func (m *Manager) Refresh(ctx context.Context, cell, box, token, path string, timeout time.Duration) (Lock, error) {
	const op = "lock.Refresh"
	path = Clean(path)
	noLock := func(cause error) (Lock, error) {
		return Lock{}, perr.New(CodeNoLock, token, path).WithOp(op).WithCause(cause)
	}
	for range maxAttempts {
		now := m.now()
		d, l, err := m.get(ctx, cell, box, token, now)
		switch {
		case perr.Is(err, perr.NotExist):
			return noLock(err)
		case err != nil:
			return Lock{}, err
		case !l.Covers(path):
			return noLock(nil)
		}
		l.Timeout = clampTimeout(timeout)
		l.Expires = now.Add(l.Timeout)
		nd := m.lockDoc(cell, box, l, now)
		nd.Published = d.Published
		_, err = m.Store.Apply(ctx, metastore.Op{Type: metastore.Update, Doc: nd, IfVersion: d.Version})
		switch {
		case err == nil:
			return l, nil
		case perr.Is(err, perr.NotExist):
			return noLock(err)
		case !perr.Is(err, perr.PreconditionFailed):
			return Lock{}, err
		}
	}
	return Lock{}, perr.New(CodeBusy).WithOp(op)
}

// Unlock removes the lock with token (RFC 4918 §9.11). The lock must be
// unexpired and cover path, the request URI of the UNLOCK.
//
// Errors: CodeTokenMismatch (409) if no such lock covers path; store
// errors.
func (m *Manager) Unlock(ctx context.Context, cell, box, token, path string) error {
	const op = "lock.Unlock"
	path = Clean(path)
	d, l, err := m.get(ctx, cell, box, token, m.now())
	if err == nil && !l.Covers(path) {
		err = perr.Errorf(perr.NotExist, "lock: lock %q does not cover %s", token, path)
	}
	if err == nil {
		_, err = m.Store.Apply(ctx, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: d.ID}})
	}
	if perr.Is(err, perr.NotExist) {
		return perr.New(CodeTokenMismatch, token, path).WithOp(op).WithCause(err)
	}
	return err
}

// Covering returns the unexpired locks that apply to the resource at
// path: those rooted at it, and those with depth infinity rooted at an
// ancestor; sorted by root, then token. Errors are the store's.
func (m *Manager) Covering(ctx context.Context, cell, box, path string) ([]Lock, error) {
	path = Clean(path)
	f := metastore.In{Field: fieldRoot, Values: rootValues(append(ancestors(path), path))}
	return m.live(ctx, cell, box, f, func(l Lock) bool { return l.Covers(path) })
}

// Below returns the unexpired locks rooted strictly below path, sorted
// by root, then token: those a DELETE or MOVE of the collection at path
// must have tokens for, besides Covering's. Errors are the store's.
func (m *Manager) Below(ctx context.Context, cell, box, path string) ([]Lock, error) {
	path = Clean(path)
	return m.live(ctx, cell, box, belowFilter(path), func(l Lock) bool { return under(l.Root, path) })
}

// RemoveTree deletes every lock, expired or not, rooted at path or below
// it: a lock goes with its resource (after DELETE, or on the source of a
// MOVE, RFC 4918 §7.6, §9.9.4). Errors: CodeBusy (503); store errors.
func (m *Manager) RemoveTree(ctx context.Context, cell, box, path string) error {
	path = Clean(path)
	var f metastore.Expr = metastore.Or{metastore.Cmp{Field: fieldRoot, Op: metastore.Eq, Value: path}, belowFilter(path)}
	if path == "/" {
		f = belowFilter(path)
	}
	return m.remove(ctx, cell, box, f, "lock.RemoveTree")
}

// RemoveBox deletes every lock document of the box, the epoch document
// included: for when the box itself is deleted. Errors: CodeBusy (503);
// store errors.
func (m *Manager) RemoveBox(ctx context.Context, cell, box string) error {
	return m.remove(ctx, cell, box, nil, "lock.RemoveBox")
}

func (m *Manager) remove(ctx context.Context, cell, box string, f metastore.Expr, op string) error {
	for range maxAttempts {
		docs, err := m.query(ctx, cell, box, f)
		if err != nil || len(docs) == 0 {
			return err
		}
		ops := make([]metastore.Op, len(docs))
		for i, d := range docs {
			ops[i] = metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: d.ID}}
		}
		_, err = m.Store.Apply(ctx, ops...)
		if !perr.Is(err, perr.NotExist) { // NotExist: someone removed one first
			return err
		}
	}
	return perr.New(CodeBusy).WithOp(op)
}

// live returns the unexpired locks matching f and keep, sorted, and
// deletes the expired ones it meets.
func (m *Manager) live(ctx context.Context, cell, box string, f metastore.Expr, keep func(Lock) bool) ([]Lock, error) {
	docs, err := m.query(ctx, cell, box, f)
	if err != nil {
		return nil, err
	}
	now := m.now()
	var out []Lock
	var dead []metastore.Doc
	for i := range docs {
		l, ok := decode(&docs[i])
		switch {
		case !ok || !keep(l):
		case expired(l, now):
			dead = append(dead, docs[i])
		default:
			out = append(out, l)
		}
	}
	m.sweep(ctx, dead)
	slices.SortFunc(out, func(a, b Lock) int {
		return cmp.Or(cmp.Compare(a.Root, b.Root), cmp.Compare(a.Token, b.Token))
	})
	return out, nil
}

// sweep deletes expired lock documents if they have not changed since
// read (a Refresh may have revived one), best effort: a failure only
// leaves them for later.
func (m *Manager) sweep(ctx context.Context, docs []metastore.Doc) {
	if len(docs) == 0 {
		return
	}
	ops := make([]metastore.Op, len(docs))
	for i, d := range docs {
		ops[i] = metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: d.ID}, IfVersion: d.Version}
	}
	_, _ = m.Store.Apply(ctx, ops...)
}

func (m *Manager) query(ctx context.Context, cell, box string, f metastore.Expr) ([]metastore.Doc, error) {
	res, err := m.Store.Query(ctx, &metastore.Query{Kind: Kind, Cell: cell, Parent: box, Filter: f, Limit: -1})
	if err != nil {
		return nil, err
	}
	return res.Docs, nil
}

// belowFilter matches lock documents rooted strictly below the clean
// path p (and, for "/", at "/" too: callers filter with under).
func belowFilter(p string) metastore.Expr {
	if p == "/" {
		return metastore.Prefix{Field: fieldRoot, Value: "/"}
	}
	return metastore.Prefix{Field: fieldRoot, Value: p + "/"}
}

func rootValues(paths []string) []metastore.Value {
	vs := make([]metastore.Value, len(paths))
	for i, p := range paths {
		vs[i] = p
	}
	return vs
}
