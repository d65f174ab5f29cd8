// Package sqlite is the embedded default metadata store: every document in
// one SQLite database file, through modernc.org/sqlite (pure Go, no cgo).
//
// It registers itself as backend "sqlite"; the data source string is the
// path of the database file, created if absent.
//
// Layout: one table, docs, with the document columns, the body as JSON
// text, and a lower-cased text column that full-text search scans (built
// in Go at write time, so Unicode case folding is Go's). Body members are
// read with json_extract/json_type; Indexer.EnsureIndex adds expression
// indexes built from exactly the expressions the query compiler emits, so
// SQLite matches them.
//
// Concurrency and durability: the database runs in WAL mode with
// synchronous=NORMAL. A committed Apply is in the WAL (in the OS page cache)
// before it returns, so it survives the process being killed; a power loss
// may lose the last transactions. Writes go through a single connection
// (BEGIN IMMEDIATE, one transaction at a time); reads use a pool of
// read-only connections and never wait for writers.
//
// Performance: filters and orders on indexed body members, and the
// default listing order, are served by indexes (see EnsureIndex); the
// planner statistics SQLite needs to choose well are refreshed as the
// database grows. Full-text search (substrings, so that CJK text matches
// without word boundaries) scans the kind's documents in the cell, unless
// the kind was given a full-text index (EnsureIndex with FieldText): an
// FTS5 trigram index of the search column, kept up to date in batches
// (see indexText), selects the candidates of words of three or more
// characters. Rowids of docs are the index's keys: the database must
// never be VACUUMed (which may renumber them) without rebuilding it.
//
// Reads map the database file (mmap_size 1 GiB): a scan then costs no
// system call per page; the mapped pages count in the process's RSS but
// are the kernel's page cache, not process memory.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

func init() {
	metastore.Register("sqlite", func(ctx context.Context, dsn string) (metastore.Store, error) {
		return Open(ctx, dsn)
	})
}

var (
	_ metastore.Store   = (*Store)(nil)
	_ metastore.Indexer = (*Store)(nil)
)

// Store is a metastore.Store on one SQLite file. It is safe for concurrent
// use by many goroutines, but only one process may open a file at a time
// (SQLite would serialise them; nothing here is designed for it).
type Store struct {
	w *sql.DB // the single writer connection
	r *sql.DB // read-only connections

	// Statements prepared on the writer connection, reused by every Apply.
	insert, update, del, version, current, textPending *sql.Stmt

	// written counts documents written since Open; when it reaches
	// nextOptimize, Apply refreshes the planner statistics.
	written, nextOptimize atomic.Int64

	// Field indexes that exist, by name (see indexHint), and the kinds
	// with a full-text index (see EnsureIndex).
	indexMu   sync.RWMutex
	indexes   map[string]bool
	textKinds map[string]bool

	// Read statements prepared on first use, by SQL text (Get, GetKey
	// and the shapes of the queries the server asks): preparing costs
	// more than running a point lookup.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	// The full-text indexer (see indexText): pending counts documents
	// marked since it last ran; stop ends it, done says it has ended.
	pending    atomic.Int64
	stop, done chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// maxStmts bounds the read statement cache; queries of other shapes run
// unprepared. Statements are never evicted, so none is closed in use.
const maxStmts = 512

// readStmt returns the prepared read statement for query, preparing it
// on first use; nil (run the query unprepared) when the cache is full.
func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	st, ok := s.stmts[query]
	full := len(s.stmts) >= maxStmts
	s.stmtMu.Unlock()
	if ok || full {
		return st, nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if prev, ok := s.stmts[query]; ok {
		st.Close()
		return prev, nil
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// queryRow runs a one-row read query, prepared when possible. It is
// for point lookups by a unique key, which take microseconds: they run
// without the caller's cancellation, whose set-up in the driver (a
// watcher per statement) costs more than the lookup itself.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = context.WithoutCancel(ctx)
	if st, err := s.readStmt(ctx, query); err == nil && st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.r.QueryRowContext(ctx, query, args...)
}

// schema is created on open. The unique index on the natural key leads
// with cell so that it also serves cell-wide scans (DeleteCell, AnyKind
// queries); uniqueness does not depend on column order. docs_list serves
// the default order (published, key, id) of a listing.
const schema = `
CREATE TABLE IF NOT EXISTS docs (
	id        TEXT PRIMARY KEY NOT NULL,
	kind      TEXT NOT NULL,
	cell      TEXT NOT NULL,
	parent    TEXT NOT NULL,
	key       TEXT NOT NULL,
	body      TEXT NOT NULL,
	version   INTEGER NOT NULL,
	published INTEGER NOT NULL,
	updated   INTEGER NOT NULL,
	search    TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS docs_natural_key ON docs(cell, kind, parent, key);
CREATE INDEX IF NOT EXISTS docs_list ON docs(cell, kind, parent, published, key, id);

CREATE TABLE IF NOT EXISTS text_kinds (kind TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS text_pending (doc INTEGER PRIMARY KEY, fresh INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_text USING fts5(search, content='', contentless_delete=1,
	tokenize='trigram', detail=none);
`

// docColumns are the columns scanned into a metastore.Doc, in scanDoc's order.
const docColumns = `id, kind, cell, parent, key, body, version, published, updated`

// Open opens or creates the database file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, perr.Errorf(perr.Invalid, "sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, perr.Errorf(perr.Invalid, "sqlite: database path %q: %w", path, err)
	}
	// A file: URI, so that '?' or '#' in the path cannot be read as
	// parameters; SQLite decodes the %-escapes.
	uri := (&url.URL{Scheme: "file", Path: abs}).String()
	const common = "_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=mmap_size(1073741824)"

	// The writer: BEGIN IMMEDIATE; a checkpoint every 8000 WAL pages
	// (32 MiB; the default 1000 costs ~15% of create throughput), the WAL
	// file truncated back to 64 MiB after one; statistics sampled from at
	// most 1000 rows per index.
	w, err := sql.Open("sqlite", uri+"?_txlock=immediate&_pragma=journal_mode(WAL)"+
		"&_pragma=wal_autocheckpoint(8000)&_pragma=journal_size_limit(67108864)"+
		"&_pragma=analysis_limit(1000)&_pragma=cache_size(-65536)&"+common)
	if err != nil {
		return nil, mapErr("open", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w}
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, mapErr("create schema", err)
	}
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.insert, `INSERT INTO docs (` + docColumns + `, search) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`},
		{&s.update, `UPDATE docs SET kind = ?1, cell = ?2, parent = ?3, key = ?4, body = ?5, version = version + 1,
			updated = ?6, search = ?7 WHERE id = ?8 AND (?9 = 0 OR version = ?9) RETURNING version, published, rowid`},
		{&s.del, `DELETE FROM docs WHERE id = ?1 AND (?2 = 0 OR version = ?2) RETURNING ` + docColumns + `, rowid`},
		{&s.version, `SELECT version FROM docs WHERE id = ?`},
		{&s.current, `SELECT rowid, kind FROM docs WHERE id = ?`},
		{&s.textPending, `INSERT OR IGNORE INTO text_pending (doc, fresh) VALUES (?, ?)`},
	} {
		if *p.stmt, err = w.PrepareContext(ctx, p.sql); err != nil {
			w.Close()
			return nil, mapErr("prepare", err)
		}
	}

	r, err := sql.Open("sqlite", uri+"?_pragma=query_only(1)&"+common)
	if err != nil {
		w.Close()
		return nil, mapErr("open", err)
	}
	n := max(4, 2*runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, mapErr("open", err)
	}
	s.r = r
	if err := s.loadIndexes(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	s.nextOptimize.Store(firstOptimize)
	s.optimize(ctx)
	s.pending.Store(1) // documents an earlier process left pending
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.textIndexer()
	return s, nil
}

// Statistics refreshes: after firstOptimize documents written, then
// every time the count has grown fourfold, at most every maxOptimizeGap.
const (
	firstOptimize  = 1000
	maxOptimizeGap = 200_000
)

// optimize lets SQLite refresh the planner statistics (sqlite_stat1) of
// tables and indexes that need it, reading at most analysis_limit rows
// per index. Without statistics SQLite may prefer an index that avoids a
// sort over a far more selective field index. Errors are ignored: the
// statistics only guide the planner.
func (s *Store) optimize(ctx context.Context) {
	s.w.ExecContext(ctx, `PRAGMA optimize=0x10002`)
}

// wrote records n written documents and refreshes the statistics when
// their count passes the next threshold.
func (s *Store) wrote(ctx context.Context, n int) {
	total := s.written.Add(int64(n))
	next := s.nextOptimize.Load()
	if total < next || !s.nextOptimize.CompareAndSwap(next, min(4*total, total+maxOptimizeGap)) {
		return
	}
	s.optimize(ctx)
}

// Close closes the database. Calls after the first return its result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			st.Close()
		}
		s.stmts = nil
		s.stmtMu.Unlock()
		rerr := s.r.Close()
		werr := s.w.Close() // closes the prepared statements too
		s.closeErr = errors.Join(werr, rerr)
	})
	return s.closeErr
}

// Get returns the document with the given ID; NotExist if there is none.
func (s *Store) Get(ctx context.Context, id string) (*metastore.Doc, error) {
	row := s.queryRow(ctx, `SELECT `+docColumns+` FROM docs WHERE id = ?`, id)
	d, err := scanDoc(row)
	if err != nil {
		return nil, mapErr("get "+id, err)
	}
	return d, nil
}

// GetKey returns the document with the given natural key; NotExist if there is none.
func (s *Store) GetKey(ctx context.Context, kind, cell, parent, key string) (*metastore.Doc, error) {
	if strings.ContainsRune(kind, 0) {
		return nil, perr.Errorf(perr.Invalid, "sqlite: kind with a NUL character")
	}
	row := s.queryRow(ctx, `SELECT `+docColumns+` FROM docs
		WHERE cell = ? AND `+kindIs(kind)+` AND parent = ? AND key = ?`, cell, parent, key)
	d, err := scanDoc(row)
	if err != nil {
		return nil, mapErr(fmt.Sprintf("get %s %q in cell %q parent %q", kind, key, cell, parent), err)
	}
	return d, nil
}

// DeleteCell removes every document of cell. The empty cell (unit-level
// documents) is refused with Invalid: deleting the unit is not a cell
// operation.
func (s *Store) DeleteCell(ctx context.Context, cell string) (int64, error) {
	if cell == "" {
		return 0, perr.Errorf(perr.Invalid, "sqlite: DeleteCell of the unit-level documents")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, mapErr("delete cell "+cell, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM docs_text WHERE rowid IN
		(SELECT rowid FROM docs WHERE cell = ? AND kind IN (SELECT kind FROM text_kinds))`, cell); err != nil {
		return 0, mapErr("delete cell "+cell, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM text_pending WHERE doc IN (SELECT rowid FROM docs WHERE cell = ?)`, cell); err != nil {
		return 0, mapErr("delete cell "+cell, err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM docs WHERE cell = ?`, cell)
	if err != nil {
		return 0, mapErr("delete cell "+cell, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, mapErr("delete cell "+cell, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, mapErr("delete cell "+cell, err)
	}
	return n, nil
}

// EnsureIndex creates, if absent, one index per body field for the
// documents of kind: on (cell, parent, type class, value, key, id) of the
// field, restricted to the kind (a partial index, so other kinds pay
// nothing). Filters that compare the field with a literal, Prefix on it,
// and orders by it then use the index when the query names the kind, the
// cell and the parent; an ascending order needs no sort at all. Column
// fields are already indexed and skipped.
//
// The kind appears in the index definition as a quoted SQL literal (DDL
// takes no parameters); queries bind it, and SQLite matches the partial
// index by re-preparing with the bound value.
func (s *Store) EnsureIndex(ctx context.Context, kind string, fields ...metastore.Field) error {
	if kind == "" || strings.ContainsRune(kind, 0) {
		return perr.Errorf(perr.Invalid, "sqlite: EnsureIndex with kind %q", kind)
	}
	created := false
	for _, f := range fields {
		if f == metastore.FieldText {
			if err := s.ensureTextIndex(ctx, kind); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(f, "@") {
			if _, ok := columns[f]; !ok {
				return perr.Errorf(perr.Invalid, "sqlite: unknown column field %q", f)
			}
			continue
		}
		if strings.ContainsRune(f, 0) {
			return perr.Errorf(perr.Invalid, "sqlite: field name %q with a NUL character", f)
		}
		// s.indexes knows the indexes at open and those made since; one
		// another process made meanwhile is kept by IF NOT EXISTS.
		name := indexName(kind, f)
		if s.hasIndex(name) {
			continue
		}
		ddl := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON docs(cell, parent, %s, %s, key, id) WHERE kind = %s`,
			name, classExpr(f), valueExpr(f), sqlString(kind))
		if _, err := s.w.ExecContext(ctx, ddl); err != nil {
			return mapErr("create index", err)
		}
		created = true
		s.indexMu.Lock()
		s.indexes[name] = true
		s.indexMu.Unlock()
	}
	if created {
		// A new index has no statistics while the others may have old
		// ones that make them look more selective than they are: sample
		// them all again (at most analysis_limit rows per index).
		s.w.ExecContext(ctx, `ANALYZE docs`)
		return nil
	}
	s.optimize(ctx)
	return nil
}

// scanDoc reads one row of docColumns.
func scanDoc(row interface{ Scan(...any) error }) (*metastore.Doc, error) {
	var d metastore.Doc
	var body []byte
	if err := row.Scan(&d.ID, &d.Kind, &d.Cell, &d.Parent, &d.Key, &body, &d.Version, &d.Published, &d.Updated); err != nil {
		return nil, err
	}
	d.Body = body
	return &d, nil
}

// mapErr translates a database error into a *perr.E (house style 9):
// no rows → NotExist, unique constraint → Exist, busy or closed →
// Unavailable, anything else → Internal. A *perr.E passes through.
func mapErr(op string, err error) error {
	var pe *perr.E
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return perr.Errorf(perr.NotExist, "sqlite: %s: no such document", op)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return perr.Errorf(perr.Unavailable, "sqlite: %s: %w", op, err)
	case errors.Is(err, sql.ErrConnDone), strings.Contains(err.Error(), "database is closed"):
		return perr.Errorf(perr.Unavailable, "sqlite: %s: %w", op, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return perr.Errorf(perr.Exist, "sqlite: %s: %w", op, err)
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED, code&0xff == sqlite3.SQLITE_INTERRUPT:
			return perr.Errorf(perr.Unavailable, "sqlite: %s: %w", op, err)
		}
	}
	return perr.Errorf(perr.Internal, "sqlite: %s: %w", op, err)
}

// Explain returns SQLite's query plan for the documents of q, one line
// per step (EXPLAIN QUERY PLAN), so that tests above the store can check
// that a query uses an index (metastore.Explainer).
func (s *Store) Explain(ctx context.Context, q *metastore.Query) ([]string, error) {
	drive, _ := s.textPlan(ctx, q)
	sel, _, args, err := compileQuery(q, drive)
	if err != nil {
		return nil, err
	}
	if hint := s.indexHint(q); hint != "" {
		sel = withIndex(sel, hint)
	}
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return nil, mapErr("explain", err)
	}
	defer conn.Close()
	var n int
	// A statement first, so that the connection sees the current schema.
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM docs WHERE 0`).Scan(&n); err != nil {
		return nil, mapErr("explain", err)
	}
	rows, err := conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+sel, append(args, int64(25), int64(0))...)
	if err != nil {
		return nil, mapErr("explain", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, mapErr("explain", err)
		}
		out = append(out, detail)
	}
	return out, rows.Err()
}

// loadIndexes learns which field indexes exist.
func (s *Store) loadIndexes(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'docs_field_%'`)
	if err != nil {
		return mapErr("open", err)
	}
	defer rows.Close()
	s.indexes = map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return mapErr("open", err)
		}
		s.indexes[name] = true
	}
	if err := rows.Err(); err != nil {
		return mapErr("open", err)
	}
	rows.Close()
	s.textKinds = map[string]bool{}
	kinds, err := s.r.QueryContext(ctx, `SELECT kind FROM text_kinds`)
	if err != nil {
		return mapErr("open", err)
	}
	defer kinds.Close()
	for kinds.Next() {
		var kind string
		if err := kinds.Scan(&kind); err != nil {
			return mapErr("open", err)
		}
		s.textKinds[kind] = true
	}
	return kinds.Err()
}

// ensureTextIndex registers kind for the full-text index and indexes
// its documents written so far, in one transaction; from then on Apply
// marks every write of the kind for the indexer. The set of
// text kinds changes while this holds the writer connection and the index
// lock, so an Apply (which looks at the set inside its transaction) never
// misses the index, and a query uses it only once the backfill is
// committed.
func (s *Store) ensureTextIndex(ctx context.Context, kind string) error {
	if s.hasTextIndex(kind) {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("text index", err)
	}
	defer tx.Rollback()
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.textKinds[kind] {
		return nil
	}
	res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO text_kinds (kind) VALUES (?)`, kind)
	if err != nil {
		return mapErr("text index", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO docs_text(rowid, search) SELECT rowid, search FROM docs WHERE kind = ?`, kind); err != nil {
			return mapErr("text index", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return mapErr("text index", err)
	}
	// A new map: Apply keeps the one it read for its whole transaction.
	kinds := make(map[string]bool, len(s.textKinds)+1)
	for k := range s.textKinds {
		kinds[k] = true
	}
	kinds[kind] = true
	s.textKinds = kinds
	return nil
}

// The full-text index is brought up to date in batches: FTS5 writes its
// pending terms out as a new segment at every commit (and statement
// savepoint), which made each single-document create three times as
// expensive. Apply only marks the documents of text kinds it writes
// (text_pending); queries match those by scanning them and the others
// through docs_text; the indexer moves marked documents into docs_text
// every textInterval, textBatch at a time.
const (
	textInterval = 200 * time.Millisecond
	textBatch    = 5000
)

func (s *Store) textIndexer() {
	defer close(s.done)
	t := time.NewTicker(textInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if s.pending.Swap(0) == 0 {
			continue
		}
		for {
			n, err := s.indexText(context.Background())
			if err != nil {
				s.pending.Add(1) // try again at the next tick
				break
			}
			if n < textBatch {
				break
			}
			select {
			case <-s.stop:
				return
			default:
			}
		}
	}
}

// indexText moves up to textBatch marked documents into docs_text in one
// transaction: their old terms out, the current ones of those that still
// exist (and are of a text kind) in. It returns how many it took.
// Documents created since the last run (fresh: their rowid was not in
// docs_text when they were marked) have no old terms to take out; a
// delete there would cost FTS5 a tombstone each.
func (s *Store) indexText(ctx context.Context) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var n int
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), max(doc) FROM
		(SELECT doc FROM text_pending ORDER BY doc LIMIT ?)`, textBatch).Scan(&n, &last); err != nil || n == 0 {
		return 0, err
	}
	for _, q := range []string{
		`DELETE FROM docs_text WHERE rowid IN (SELECT doc FROM text_pending WHERE doc <= ?1 AND NOT fresh)`,
		`INSERT INTO docs_text(rowid, search) SELECT d.rowid, d.search FROM text_pending p JOIN docs d ON d.rowid = p.doc
			WHERE p.doc <= ?1 AND d.kind IN (SELECT kind FROM text_kinds)`,
		`DELETE FROM text_pending WHERE doc <= ?1`,
	} {
		if _, err := tx.ExecContext(ctx, q, last.Int64); err != nil {
			return 0, err
		}
	}
	return n, tx.Commit()
}

func (s *Store) hasTextIndex(kind string) bool {
	s.indexMu.RLock()
	defer s.indexMu.RUnlock()
	return s.textKinds[kind]
}

func (s *Store) hasIndex(name string) bool {
	s.indexMu.RLock()
	defer s.indexMu.RUnlock()
	return s.indexes[name]
}
