package metastore

import (
	"context"
	"sync"

	"github.com/personium-go/personium/internal/perr"
)

// Cache is a Store that remembers the answers of Get and GetKey,
// absent documents included, until the next write. It is for a store
// that only this process writes (the embedded SQLite store, whose data
// folder a running server locks): every write through the Cache
// (Apply, DeleteCell) forgets everything, so reads never see a state
// older than the last write this process made. Writers in other
// processes would go unnoticed; do not put a Cache in front of a shared
// backend (Elasticsearch).
//
// Queries are passed through uncached. Documents are copied in and out,
// so callers may change what they get.
type Cache struct {
	Store
	max int

	mu      sync.Mutex
	gen     uint64 // bumped by every write
	entries map[cacheKey]cacheEntry
}

type cacheKey struct {
	kind, cell, parent, key string // key is the ID when kind is ""
}

type cacheEntry struct {
	doc *Doc // nil: the document does not exist
}

// NewCache returns a Cache over s holding at most max entries (when
// full, it starts again empty).
func NewCache(s Store, max int) *Cache {
	return &Cache{Store: s, max: max, entries: map[cacheKey]cacheEntry{}}
}

func (c *Cache) lookup(k cacheKey) (doc *Doc, hit bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	return e.doc, ok, c.gen
}

// remember stores an answer read at generation gen, unless a write
// happened since: the answer may then be older than that write.
func (c *Cache) remember(k cacheKey, d *Doc, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[k] = cacheEntry{doc: d}
}

func (c *Cache) forget() {
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}

func copyDoc(d *Doc) *Doc {
	cp := *d
	cp.Body = append([]byte(nil), d.Body...)
	return &cp
}

func (c *Cache) read(ctx context.Context, k cacheKey, load func() (*Doc, error)) (*Doc, error) {
	d, hit, gen := c.lookup(k)
	if hit {
		if d == nil {
			return nil, perr.Errorf(perr.NotExist, "metastore: no document %s %q", k.kind, k.key)
		}
		return copyDoc(d), nil
	}
	d, err := load()
	switch {
	case err == nil:
		c.remember(k, copyDoc(d), gen)
	case perr.Is(err, perr.NotExist):
		c.remember(k, nil, gen)
	}
	return d, err
}

// Get implements Store.
func (c *Cache) Get(ctx context.Context, id string) (*Doc, error) {
	return c.read(ctx, cacheKey{key: id}, func() (*Doc, error) { return c.Store.Get(ctx, id) })
}

// GetKey implements Store.
func (c *Cache) GetKey(ctx context.Context, kind, cell, parent, key string) (*Doc, error) {
	return c.read(ctx, cacheKey{kind: kind, cell: cell, parent: parent, key: key},
		func() (*Doc, error) { return c.Store.GetKey(ctx, kind, cell, parent, key) })
}

// Apply implements Store; it forgets every cached answer once the write
// is done (or has failed: a failed batch may still have been applied
// by a backend that lost its connection on the way back).
func (c *Cache) Apply(ctx context.Context, ops ...Op) ([]Doc, error) {
	defer c.forget()
	return c.Store.Apply(ctx, ops...)
}

// DeleteCell implements Store.
func (c *Cache) DeleteCell(ctx context.Context, cell string) (int64, error) {
	defer c.forget()
	return c.Store.DeleteCell(ctx, cell)
}

// EnsureIndex passes the Indexer capability through.
func (c *Cache) EnsureIndex(ctx context.Context, kind string, fields ...Field) error {
	if ix, ok := c.Store.(Indexer); ok {
		return ix.EnsureIndex(ctx, kind, fields...)
	}
	return nil
}

// Explain passes the Explainer capability through.
func (c *Cache) Explain(ctx context.Context, q *Query) ([]string, error) {
	if ex, ok := c.Store.(Explainer); ok {
		return ex.Explain(ctx, q)
	}
	return nil, perr.Errorf(perr.Invalid, "metastore: the backend cannot explain queries")
}
