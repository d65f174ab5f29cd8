package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// Apply performs ops in one write transaction (BEGIN IMMEDIATE on the
// single writer connection, so concurrent Applies queue up). Either all
// ops succeed and are committed, or the first failure is returned, its
// message naming the op's position, and nothing is written.
//
// Errors: Invalid (bad op: unknown type, empty ID or kind, body not a JSON
// object), NotExist, Exist, PreconditionFailed as documented on
// metastore.OpType; Unavailable when the context ends or the database is
// busy or closed.
func (s *Store) Apply(ctx context.Context, ops ...metastore.Op) ([]metastore.Doc, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	// Validate and build the search text before taking the write lock.
	prep := make([]prepared, len(ops))
	for i, op := range ops {
		p, err := prepare(op)
		if err != nil {
			return nil, opErr(i, op, err)
		}
		prep[i] = p
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr("begin", err)
	}
	defer tx.Rollback() // no-op after Commit

	var stmts [6]*sql.Stmt // tx-bound insert, update, del, version, current, textPending; made on first use
	stmt := func(i int, st *sql.Stmt) *sql.Stmt {
		if stmts[i] == nil {
			stmts[i] = tx.StmtContext(ctx, st)
		}
		return stmts[i]
	}

	// Writes of documents of text kinds are marked for the full-text
	// indexer (see indexText), in the same transaction.
	s.indexMu.RLock()
	textKinds := s.textKinds
	s.indexMu.RUnlock()
	marked := 0
	mark := func(rowid int64, fresh bool) error {
		marked++
		_, err := stmt(5, s.textPending).ExecContext(ctx, rowid, fresh)
		return err
	}
	out := make([]metastore.Doc, len(ops))
	for i, op := range ops {
		p := prep[i]
		d := op.Doc
		d.Body = p.body
		var rowid int64
		switch op.Type {
		case metastore.Create:
			var res sql.Result
			res, err = stmt(0, s.insert).ExecContext(ctx, d.ID, d.Kind, d.Cell, d.Parent, d.Key,
				p.bodyText, d.Published, d.Updated, p.search)
			if err == nil {
				rowid, err = res.LastInsertId()
			}
			d.Version = 1
		case metastore.Update:
			// Only a document leaving a text kind for another needs its old
			// kind read (its terms must go); into a text kind it is marked
			// below anyway.
			oldIndexed := false
			if len(textKinds) > 0 && !textKinds[d.Kind] {
				var oldKind string
				if err := stmt(4, s.current).QueryRowContext(ctx, d.ID).Scan(&rowid, &oldKind); err == nil {
					oldIndexed = textKinds[oldKind]
				}
			}
			err = stmt(1, s.update).QueryRowContext(ctx, d.Kind, d.Cell, d.Parent, d.Key, p.bodyText,
				d.Updated, p.search, d.ID, op.IfVersion).Scan(&d.Version, &d.Published, &rowid)
			if err == nil && oldIndexed && !textKinds[d.Kind] {
				err = mark(rowid, false)
			}
		case metastore.Delete:
			var old *metastore.Doc
			old, rowid, err = scanDeleted(stmt(2, s.del).QueryRowContext(ctx, d.ID, op.IfVersion))
			if old != nil {
				d = *old
				if textKinds[d.Kind] {
					err = mark(rowid, false)
				}
			}
		}
		if err == nil && op.Type != metastore.Delete && textKinds[d.Kind] {
			err = mark(rowid, op.Type == metastore.Create)
		}
		if errors.Is(err, sql.ErrNoRows) {
			// Update and Delete match nothing: tell a missing document
			// from a version mismatch.
			var v int64
			if verr := stmt(3, s.version).QueryRowContext(ctx, d.ID).Scan(&v); verr == nil {
				err = perr.Errorf(perr.PreconditionFailed, "version is %d, not %d", v, op.IfVersion)
			} else if !errors.Is(verr, sql.ErrNoRows) {
				err = verr
			}
		}
		if err != nil {
			return nil, opErr(i, op, err)
		}
		out[i] = d
	}
	if err := tx.Commit(); err != nil {
		return nil, mapErr("commit", err)
	}
	s.wrote(ctx, len(ops))
	if marked > 0 {
		s.pending.Add(int64(marked))
	}
	return out, nil
}

// scanDeleted reads the row a delete returned: docColumns and rowid.
func scanDeleted(row *sql.Row) (*metastore.Doc, int64, error) {
	var d metastore.Doc
	var body []byte
	var rowid int64
	if err := row.Scan(&d.ID, &d.Kind, &d.Cell, &d.Parent, &d.Key, &body, &d.Version, &d.Published, &d.Updated, &rowid); err != nil {
		return nil, 0, err
	}
	d.Body = body
	return &d, rowid, nil
}

// opErr names the failing op in err, keeping its Kind.
func opErr(i int, op metastore.Op, err error) error {
	return mapErr(fmt.Sprintf("op %d (%s %q)", i+1, opName(op.Type), op.Doc.ID), err)
}

func opName(t metastore.OpType) string {
	switch t {
	case metastore.Create:
		return "create"
	case metastore.Update:
		return "update"
	case metastore.Delete:
		return "delete"
	}
	return "op?"
}

// prepared is what an op writes besides the Doc's own fields.
type prepared struct {
	body     json.RawMessage // the body as returned ({} for an empty one)
	bodyText string          // the body as stored
	search   string          // the full-text column
}

var emptyBody = json.RawMessage(`{}`)

// prepare checks op and builds its body text and search text.
func prepare(op metastore.Op) (prepared, error) {
	var p prepared
	switch op.Type {
	case metastore.Create, metastore.Update, metastore.Delete:
	default:
		return p, perr.Errorf(perr.Invalid, "unknown op type %d", op.Type)
	}
	if op.Doc.ID == "" {
		return p, perr.Errorf(perr.Invalid, "empty document ID")
	}
	if op.IfVersion < 0 {
		return p, perr.Errorf(perr.Invalid, "negative IfVersion %d", op.IfVersion)
	}
	if op.Type == metastore.Delete {
		return p, nil
	}
	if op.Doc.Kind == "" {
		return p, perr.Errorf(perr.Invalid, "empty document kind")
	}
	p.body = op.Doc.Body
	if len(bytes.TrimSpace(p.body)) == 0 {
		p.body = emptyBody
	}
	search, err := searchText(p.body)
	if err != nil {
		return p, err
	}
	p.bodyText = string(p.body)
	p.search = search
	return p, nil
}

// searchText checks that body is one JSON object and returns the text
// full-text search scans: every top-level string, number (as written) and
// boolean value, lower-cased, one per line. A query word has no
// whitespace, so it can only match within one value.
func searchText(body []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	bad := func(err error) error {
		return perr.Errorf(perr.Invalid, "body is not a JSON object: %v", err)
	}
	if t, err := dec.Token(); err != nil {
		return "", bad(err)
	} else if t != json.Delim('{') {
		return "", bad(fmt.Errorf("starts with %v", t))
	}
	var b strings.Builder
	for dec.More() {
		if _, err := dec.Token(); err != nil { // member name
			return "", bad(err)
		}
		t, err := dec.Token()
		if err != nil {
			return "", bad(err)
		}
		switch v := t.(type) {
		case string:
			b.WriteString(strings.ToLower(v))
		case json.Number:
			b.WriteString(strings.ToLower(string(v)))
		case bool:
			if v {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
		case nil:
			continue
		case json.Delim: // nested object or array: not searched, skipped
			if err := metastore.SkipNested(dec); err != nil {
				return "", bad(err)
			}
			continue
		}
		b.WriteByte('\n')
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return "", bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", bad(errors.New("data after the object"))
	}
	return b.String(), nil
}
