// Package metastore defines the metadata store every piece of state lives
// in, and the backend-neutral query language it accepts.
//
// Everything (cells, boxes, accounts, roles, links, DAV nodes, OData schemas
// and user entities, messages, locks…) is a Doc: a JSON body plus a few
// columns the store indexes. A backend gives
//   - per-document atomic conditional writes (Op.IfVersion ⇒ version check),
//   - batches applied all-or-nothing (Apply),
//   - queries expressed as a Query (filter AST, order, paging, count, text).
//
// Backends register themselves by name (Register) and are opened with Open;
// only cmd/ and tests import them. Every backend passes metastoretest.Run.
//
// Errors: backends return *perr.E with Kind NotExist (no such document),
// Exist (duplicate ID or natural key), PreconditionFailed (version
// mismatch), Invalid (bad query), Unavailable (backend down).
package metastore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// Doc is one stored document.
//
// Uniqueness: ID is unique in the store; (Kind, Cell, Parent, Key) is unique too.
type Doc struct {
	ID     string // stable identifier chosen by the caller (e.g. a UUID); never changes
	Kind   string // e.g. "Cell", "Account", "Role", "Link", "DavNode", "UserData"
	Cell   string // ID of the owning cell; "" for unit-level documents
	Parent string // ID of the containing document (box, collection, entity type…); "" if none
	Key    string // natural key, unique within (Kind, Cell, Parent); may change (rename)
	// Body is a JSON object. Its top-level members are what Field names
	// address in queries.
	Body json.RawMessage
	// Version starts at 1 on create and is incremented by every update.
	// It is set by the store; callers' values are ignored on write.
	Version int64
	// Published and Updated are Unix milliseconds, set by the caller.
	Published int64
	Updated   int64
}

// OpType is the kind of a write operation.
type OpType uint8

// Write operations.
const (
	// Create inserts Doc; Exist if its ID or natural key is taken.
	Create OpType = iota + 1
	// Update replaces the document with Doc.ID (all fields but ID and
	// Published); NotExist if absent; PreconditionFailed if IfVersion != 0
	// and differs from the stored version; Exist if the new natural key is taken.
	Update
	// Delete removes the document with Doc.ID; NotExist if absent;
	// PreconditionFailed on IfVersion mismatch as for Update.
	Delete
)

// Op is one write in a batch.
type Op struct {
	Type      OpType
	Doc       Doc
	IfVersion int64 // 0: unconditional
}

// Store is the metadata store. Implementations are safe for concurrent use.
type Store interface {
	// Get returns the document with the given ID.
	Get(ctx context.Context, id string) (*Doc, error)
	// GetKey returns the document with the given natural key.
	GetKey(ctx context.Context, kind, cell, parent, key string) (*Doc, error)
	// Query returns the documents matching q, in q's order, and their
	// total count (ignoring Skip and Top) when q.Count is set.
	Query(ctx context.Context, q *Query) (*Result, error)
	// Apply performs ops atomically: either all succeed or none is
	// visible. It returns the documents as stored (with their new
	// versions), in the order of ops; deleted documents are returned as
	// they were before deletion.
	Apply(ctx context.Context, ops ...Op) ([]Doc, error)
	// DeleteCell removes every document whose Cell is cell (not the
	// unit-level document describing the cell itself) and returns how many.
	DeleteCell(ctx context.Context, cell string) (int64, error)
	// Close releases the store.
	Close() error
}

// Result is the answer to a Query.
type Result struct {
	Docs  []Doc
	Count int64 // total matches, set only when Query.Count is true
}

// Opener opens a backend from a data source string (a path for SQLite, a
// URL for Elasticsearch).
type Opener func(ctx context.Context, dsn string) (Store, error)

var (
	mu       sync.Mutex
	registry = map[string]Opener{}
)

// Register makes a backend available under name. It panics if name is
// already registered.
func Register(name string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("metastore: backend registered twice: " + name)
	}
	registry[name] = open
}

// Open opens the backend registered under name.
func Open(ctx context.Context, name, dsn string) (Store, error) {
	mu.Lock()
	open := registry[name]
	mu.Unlock()
	if open == nil {
		return nil, fmt.Errorf("metastore: unknown backend %q (have %v)", name, Backends())
	}
	return open(ctx, dsn)
}

// Backends lists the registered backend names, sorted.
func Backends() []string {
	mu.Lock()
	defer mu.Unlock()
	var names []string
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Indexer is an optional capability, found by type assertion: a backend
// that can index body members, so that filters and orders on them do not
// scan every document of a kind. EnsureIndex is idempotent and may be
// called at every start.
type Indexer interface {
	EnsureIndex(ctx context.Context, kind string, fields ...Field) error
}

// Explainer is an optional capability for tests: the backend's plan for
// a query, to check that it uses an index.
type Explainer interface {
	Explain(ctx context.Context, q *Query) ([]string, error)
}
