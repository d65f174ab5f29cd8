package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// Query runs q on a read connection. When q.Count is set and documents
// are wanted too, both statements run in one read transaction, so the
// count and the page come from the same snapshot.
//
// Errors: Invalid for a malformed query (no kind without AnyKind, an
// unknown column field, an unsupported literal type, an unknown Expr).
func (s *Store) Query(ctx context.Context, q *metastore.Query) (*metastore.Result, error) {
	drive, countDrive := s.textPlan(ctx, q)
	sel, count, args, err := compileQuery(q, drive)
	if err != nil {
		return nil, err
	}
	countArgs := args
	if countDrive && !drive && q.Count {
		if _, count, countArgs, err = compileQuery(q, true); err != nil {
			return nil, err
		}
	}
	if hint := s.indexHint(q); hint != "" {
		hs, hc := withIndex(sel, hint), withIndex(count, hint)
		res, err := s.query(ctx, q, hs, args, hc, countArgs)
		if err == nil || !strings.Contains(err.Error(), "no query solution") {
			return res, err
		}
	}
	return s.query(ctx, q, sel, args, count, countArgs)
}

// textDriveMax bounds the candidates of a full-text query that are read
// by rowid and sorted (see compileQuery); with more, the words are
// common, and walking the set in order stops early.
const textDriveMax = 5000

// textPlan says how the words of q.Text select documents: drive, through
// the full-text index (its kind has one, a word is long enough and the
// index has at most textDriveMax candidates), or else by a scan in
// order; countDrive, whether a count uses the index.
func (s *Store) textPlan(ctx context.Context, q *metastore.Query) (drive, countDrive bool) {
	if !s.textIndexed(q) {
		return false, false
	}
	m := trigramMatch(strings.Fields(strings.ToLower(q.Text)))
	if m == "" {
		return false, false
	}
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM (SELECT rowid FROM docs_text WHERE docs_text MATCH ? LIMIT ?)`,
		m, textDriveMax+1).Scan(&n)
	return err == nil && n <= textDriveMax, true
}

// withIndex adds "INDEXED BY name" to a statement of compileQuery.
func withIndex(stmt, name string) string {
	return strings.Replace(stmt, " FROM docs WHERE ", " FROM docs INDEXED BY "+name+" WHERE ", 1)
}

// indexHint names the field index a query should search: SQLite's
// statistics describe the whole docs table, not one kind, so as a kind
// grows the planner may keep preferring the list index and scan the
// whole set. When the filter constrains (at top level, or in a top-level
// And) a body member that has an index for the query's kind, that index
// is named with INDEXED BY. "" when there is none.
func (s *Store) indexHint(q *metastore.Query) string {
	if q.AnyKind || q.AnyParent || q.Filter == nil {
		return ""
	}
	terms := []metastore.Expr{q.Filter}
	if and, ok := q.Filter.(metastore.And); ok {
		terms = and
	}
	for _, t := range terms {
		var f string
		switch x := t.(type) {
		case metastore.Cmp:
			if x.Op != metastore.Ne && x.Value != nil {
				f = x.Field
			}
		case metastore.Prefix:
			f = x.Field
		case metastore.In:
			f = x.Field
		}
		if f == "" || strings.HasPrefix(f, "@") {
			continue
		}
		if name := indexName(q.Kind, f); s.hasIndex(name) {
			return name
		}
	}
	return ""
}

func (s *Store) query(ctx context.Context, q *metastore.Query, sel string, args []any, count string, countArgs []any) (*metastore.Result, error) {
	var err error
	res := &metastore.Result{}
	var tx *sql.Tx
	if q.Count && q.Limit != 0 {
		if tx, err = s.r.BeginTx(ctx, nil); err != nil {
			return nil, mapErr("query", err)
		}
		defer tx.Rollback() // read-only: nothing to commit
	}
	// prepared returns the cached statement for text, bound to tx when
	// there is one; nil to run text unprepared.
	prepared := func(text string) *sql.Stmt {
		st, err := s.readStmt(ctx, text)
		if err != nil || st == nil {
			return nil
		}
		if tx != nil {
			return tx.StmtContext(ctx, st)
		}
		return st
	}
	if q.Limit != 0 {
		limit := int64(q.Limit)
		if limit < 0 {
			limit = -1
		}
		var rows *sql.Rows
		var err error
		if st := prepared(sel); st != nil {
			rows, err = st.QueryContext(ctx, append(args, limit, max(q.Skip, 0))...)
		} else if tx != nil {
			rows, err = tx.QueryContext(ctx, sel, append(args, limit, max(q.Skip, 0))...)
		} else {
			rows, err = s.r.QueryContext(ctx, sel, append(args, limit, max(q.Skip, 0))...)
		}
		if err != nil {
			return nil, mapErr("query", err)
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDoc(rows)
			if err != nil {
				return nil, mapErr("query", err)
			}
			res.Docs = append(res.Docs, *d)
		}
		if err := rows.Err(); err != nil {
			return nil, mapErr("query", err)
		}
	}
	if q.Count {
		var row *sql.Row
		if st := prepared(count); st != nil {
			row = st.QueryRowContext(ctx, countArgs...)
		} else if tx != nil {
			row = tx.QueryRowContext(ctx, count, countArgs...)
		} else {
			row = s.r.QueryRowContext(ctx, count, countArgs...)
		}
		if err := row.Scan(&res.Count); err != nil {
			return nil, mapErr("count", err)
		}
	}
	return res, nil
}

// compileQuery returns the SELECT of q's documents (whose last two
// arguments, LIMIT and OFFSET, the caller appends), the SELECT of their
// count, and the arguments both share.
//
// textIndexed says that the words of q.Text select the candidates
// through the full-text index (docs_text; see textPlan), and the
// documents are read by rowid (NOT INDEXED), then sorted. Left to
// itself, SQLite prefers walking the whole listing index of the set in
// order, testing each entry against the candidates: fast for a common
// word and a small $top, but a scan for a rare one.
func compileQuery(q *metastore.Query, textIndexed bool) (sel, count string, args []any, err error) {
	where, args, err := compileWhere(q, textIndexed)
	if err != nil {
		return "", "", nil, err
	}
	if err := checkOrder(q.Order); err != nil {
		return "", "", nil, err
	}
	from := ` FROM docs WHERE `
	if strings.Contains(where, "docs_text") {
		from = ` FROM docs NOT INDEXED WHERE `
	}
	sel = `SELECT ` + docColumns + from + where + ` ORDER BY ` + compileOrder(q.Order, q.Filter) + ` LIMIT ? OFFSET ?`
	count = `SELECT count(*)` + from + where
	return sel, count, args, nil
}

// compileWhere turns the selection of q (kind, cell, parent, filter,
// text) into an SQL condition and its arguments. Every value is a bound
// argument except the kind, which is written as an SQL string literal
// (see kindIs); field names only appear inside JSON path string literals.
func compileWhere(q *metastore.Query, textIndexed bool) (string, []any, error) {
	if q == nil {
		return "", nil, perr.Errorf(perr.Invalid, "sqlite: nil query")
	}
	c := &compiler{}
	c.sql("cell = ?", q.Cell)
	if !q.AnyKind {
		if q.Kind == "" {
			return "", nil, perr.Errorf(perr.Invalid, "sqlite: query without a kind")
		}
		if strings.ContainsRune(q.Kind, 0) {
			return "", nil, perr.Errorf(perr.Invalid, "sqlite: kind with a NUL character")
		}
		c.sql(" AND " + kindIs(q.Kind))
	}
	if !q.AnyParent {
		c.sql(" AND parent = ?", q.Parent)
	}
	if q.Filter != nil {
		c.sql(" AND ")
		if err := c.expr(q.Filter); err != nil {
			return "", nil, err
		}
	}
	words := strings.Fields(strings.ToLower(q.Text))
	if textIndexed {
		if m := trigramMatch(words); m != "" {
			c.sql(" AND (rowid IN (SELECT rowid FROM docs_text WHERE docs_text MATCH ?)"+
				" OR rowid IN (SELECT doc FROM text_pending))", m)
		}
	}
	for _, w := range words {
		c.sql(" AND instr(search, ?) > 0", w)
	}
	return c.b.String(), c.args, nil
}

// trigramMatch returns the docs_text query that selects every document
// whose search text contains all words: an AND of trigrams taken from
// each word of three or more characters (every third one and the last,
// which cover the word; the index keeps no positions, so the instr
// conditions beside it check that the word really occurs). "" when no
// word is long enough: shorter words are matched by scanning.
func trigramMatch(words []string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, w := range words {
		r := []rune(w)
		if len(r) < 3 {
			continue
		}
		for i := 0; i+3 <= len(r); i += 3 {
			addTrigram(&b, seen, string(r[i:i+3]))
		}
		addTrigram(&b, seen, string(r[len(r)-3:]))
	}
	return b.String()
}

func addTrigram(b *strings.Builder, seen map[string]bool, t string) {
	if seen[t] {
		return
	}
	seen[t] = true
	if b.Len() > 0 {
		b.WriteString(" AND ")
	}
	b.WriteString(`"` + strings.ReplaceAll(t, `"`, `""`) + `"`)
}

// textIndexed says whether q's documents have a full-text index.
func (s *Store) textIndexed(q *metastore.Query) bool {
	return q.Text != "" && !q.AnyKind && s.hasTextIndex(q.Kind)
}

// compileOrder returns the ORDER BY list for orders: each body field as
// (type class, value), so that null < bool < number < string, then key
// and id. Without orders: published, key, id.
//
// Terms that filter fixes (see fixedBy) are left out: they cannot change
// the order, and SQLite only recognises such terms as constant for plain
// columns, so without them it can take the order from a field index.
func compileOrder(orders []metastore.Order, filter metastore.Expr) string {
	if len(orders) == 0 {
		return "published, key, id"
	}
	var b strings.Builder
	for _, o := range orders {
		dir := ""
		if o.Desc {
			dir = " DESC"
		}
		if col, ok := columns[o.Field]; ok {
			b.WriteString(col.name + dir + ", ")
			continue
		}
		if strings.HasPrefix(o.Field, "@") {
			continue // unknown column fields are rejected by checkOrder
		}
		class, value := fixedBy(filter, o.Field)
		if !class {
			b.WriteString(classExpr(o.Field) + dir + ", ")
		}
		if !value {
			b.WriteString(valueExpr(o.Field) + dir + ", ")
		}
	}
	b.WriteString("key, id")
	return b.String()
}

// fixedBy reports whether every document matching filter has the same
// type class of body member f, and the same value (equal values tie in
// the order, so 1 and 1.0 count as the same). Only conjuncts at the top
// of the filter are looked at.
func fixedBy(filter metastore.Expr, f metastore.Field) (class, value bool) {
	switch e := filter.(type) {
	case metastore.And:
		for _, x := range e {
			c, v := fixedBy(x, f)
			class, value = class || c, value || v
		}
	case metastore.Cmp:
		if e.Field != f || e.Op == metastore.Ne {
			return false, false
		}
		if _, err := literal(e.Value); err != nil {
			return false, false
		}
		// Eq nil fixes null; any other comparison fixes the type.
		return true, e.Op == metastore.Eq
	case metastore.Prefix:
		return e.Field == f, false
	case metastore.Contains:
		return e.Field == f, false
	case metastore.In:
		if e.Field != f || len(e.Values) == 0 {
			return false, false
		}
		groups, err := groupByClass(e.Values)
		return err == nil && len(groups) == 1, err == nil && len(e.Values) == 1
	}
	return false, false
}

// Type classes of values, in sort order. Arrays and objects (which no
// literal equals) sort after strings.
const (
	classNull = iota
	classBool
	classNumber
	classString
	classOther
)

// column describes a column field.
type column struct {
	name  string
	class int // type class of every value in the column
}

var columns = map[metastore.Field]column{
	metastore.FieldID:        {"id", classString},
	metastore.FieldKey:       {"key", classString},
	metastore.FieldParent:    {"parent", classString},
	metastore.FieldPublished: {"published", classNumber},
	metastore.FieldUpdated:   {"updated", classNumber},
}

// jsonPath is the SQL string literal of the JSON path of body member f:
// $."f" with f JSON-escaped (SQLite decodes escapes when it matches member
// names, so names with dots, quotes or backslashes are addressed exactly).
func jsonPath(f string) string {
	var b strings.Builder
	b.WriteString(`$."`)
	for _, r := range f {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return sqlString(b.String())
}

// sqlString quotes s as an SQL string literal.
// kindIs is the condition "kind = '<kind>'" with the kind as a literal.
// With a bound parameter instead, SQLite could not know at prepare time
// which of the per-kind partial indexes (WHERE kind = '…') apply, and
// re-prepares the statement every time the parameter is bound
// (sqlite3VdbeSetVarmask): parsing then costs more than the lookup.
func kindIs(kind string) string { return "kind = " + sqlString(kind) }

func sqlString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// valueExpr is the SQL value of body member f: NULL when missing or null,
// 0 or 1 for booleans, the number or the string, JSON text for arrays and
// objects. EnsureIndex indexes this very expression.
func valueExpr(f string) string {
	return "json_extract(body, " + jsonPath(f) + ")"
}

// classExpr is the type class of body member f (classNull…classOther).
// EnsureIndex indexes this very expression.
func classExpr(f string) string {
	return "(CASE json_type(body, " + jsonPath(f) + ") WHEN 'text' THEN 3 WHEN 'integer' THEN 2" +
		" WHEN 'real' THEN 2 WHEN 'true' THEN 1 WHEN 'false' THEN 1 WHEN 'array' THEN 4" +
		" WHEN 'object' THEN 4 ELSE 0 END)"
}

// indexName is a stable SQL identifier for the index of body member f of kind.
func indexName(kind, f string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + f))
	return "docs_field_" + hex.EncodeToString(h[:10])
}

// compiler accumulates an SQL condition and its arguments.
//
// Every condition it emits is two-valued (never SQL NULL), so NOT is
// exact negation: comparisons on a body value are guarded by a test of
// its type class, which is never NULL and implies a non-NULL value.
type compiler struct {
	b    strings.Builder
	args []any
}

func (c *compiler) sql(s string, args ...any) {
	c.b.WriteString(s)
	c.args = append(c.args, args...)
}

var cmpSQL = [...]string{metastore.Eq: "=", metastore.Ne: "<>", metastore.Lt: "<",
	metastore.Le: "<=", metastore.Gt: ">", metastore.Ge: ">="}

func (c *compiler) expr(e metastore.Expr) error {
	switch e := e.(type) {
	case nil:
		c.sql("1")
	case metastore.And:
		return c.list(e, " AND ", "1")
	case metastore.Or:
		return c.list(e, " OR ", "0")
	case metastore.Not:
		c.sql("NOT ")
		return c.list([]metastore.Expr{e.X}, "", "")
	case metastore.Cmp:
		if e.Op < metastore.Eq || e.Op > metastore.Ge {
			return perr.Errorf(perr.Invalid, "sqlite: unknown comparison operator %d", e.Op)
		}
		lit, err := literal(e.Value)
		if err != nil {
			return err
		}
		if e.Op == metastore.Ne {
			c.sql("NOT (")
			err := c.cmp(e.Field, metastore.Eq, lit)
			c.sql(")")
			return err
		}
		return c.cmp(e.Field, e.Op, lit)
	case metastore.In:
		return c.in(e)
	case metastore.Prefix:
		return c.str(e.Field, e.Value, true)
	case metastore.Contains:
		return c.str(e.Field, e.Value, false)
	default:
		return perr.Errorf(perr.Invalid, "sqlite: unsupported filter expression %T", e)
	}
	return nil
}

// list emits the operands joined by sep, in parentheses; empty if none.
func (c *compiler) list(xs []metastore.Expr, sep, empty string) error {
	if len(xs) == 0 {
		c.sql(empty)
		return nil
	}
	c.sql("(")
	for i, x := range xs {
		if i > 0 {
			c.sql(sep)
		}
		if err := c.expr(x); err != nil {
			return err
		}
	}
	c.sql(")")
	return nil
}

// lit is a normalised literal: its type class and SQL value (bools as 0/1).
type lit struct {
	class int
	v     any
}

func literal(v metastore.Value) (lit, error) {
	switch v := v.(type) {
	case nil:
		return lit{classNull, nil}, nil
	case string:
		return lit{classString, v}, nil
	case bool:
		if v {
			return lit{classBool, int64(1)}, nil
		}
		return lit{classBool, int64(0)}, nil
	case int64:
		return lit{classNumber, v}, nil
	case int:
		return lit{classNumber, int64(v)}, nil
	case int32:
		return lit{classNumber, int64(v)}, nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return lit{}, perr.Errorf(perr.Invalid, "sqlite: literal %v is not a JSON number", v)
		}
		return lit{classNumber, v}, nil
	case float32:
		return literal(float64(v))
	}
	return lit{}, perr.Errorf(perr.Invalid, "sqlite: unsupported literal type %T", v)
}

// cmp emits field op l, for op Eq, Lt, Le, Gt or Ge.
func (c *compiler) cmp(f metastore.Field, op metastore.CmpOp, l lit) error {
	col, isCol, err := field(f)
	if err != nil {
		return err
	}
	switch {
	case l.class == classNull && op == metastore.Eq && !isCol:
		c.sql(classExpr(f) + " = 0")
	case l.class == classNull, isCol && l.class != col.class:
		c.sql("0") // columns are never null; types differ; nothing is < null
	case isCol:
		c.sql(col.name+" "+cmpSQL[op]+" ?", l.v)
	default:
		c.sql(fmt.Sprintf("(%s = %d AND %s %s ?)", classExpr(f), l.class, valueExpr(f), cmpSQL[op]), l.v)
	}
	return nil
}

// in emits In as one IN list per type class of its values, ORed.
func (c *compiler) in(e metastore.In) error {
	col, isCol, err := field(e.Field)
	if err != nil {
		return err
	}
	groups, err := groupByClass(e.Values)
	if err != nil {
		return err
	}
	var terms []string
	var args []any
	for class := range classOther {
		vals := groups[class]
		switch {
		case vals == nil:
		case isCol && class != col.class: // also null: columns are never null
		case class == classNull:
			terms = append(terms, classExpr(e.Field)+" = 0")
		case isCol:
			terms = append(terms, col.name+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")")
			args = append(args, vals...)
		default:
			terms = append(terms, fmt.Sprintf("%s = %d AND %s IN (?%s)",
				classExpr(e.Field), class, valueExpr(e.Field), strings.Repeat(", ?", len(vals)-1)))
			args = append(args, vals...)
		}
	}
	switch len(terms) {
	case 0:
		c.sql("0")
	case 1: // no OR, so that an index on the field serves it
		c.sql("("+terms[0]+")", args...)
	default:
		c.sql("(("+strings.Join(terms, ") OR (")+"))", args...)
	}
	return nil
}

// groupByClass sorts the SQL values of literals by type class.
func groupByClass(values []metastore.Value) (map[int][]any, error) {
	groups := map[int][]any{}
	for _, v := range values {
		l, err := literal(v)
		if err != nil {
			return nil, err
		}
		groups[l.class] = append(groups[l.class], l.v)
	}
	return groups, nil
}

// str emits Prefix (prefix true) or Contains on f. A prefix is a range of
// the byte order, [p, p with its last byte incremented), which an index
// on the field serves.
func (c *compiler) str(f metastore.Field, s string, prefix bool) error {
	col, isCol, err := field(f)
	if err != nil {
		return err
	}
	if isCol && col.class != classString {
		c.sql("0")
		return nil
	}
	val, guard := col.name, "1"
	if !isCol {
		val, guard = valueExpr(f), fmt.Sprintf("%s = %d", classExpr(f), classString)
	}
	switch {
	case !prefix:
		c.sql("("+guard+" AND instr("+val+", ?) > 0)", s)
	case s == "":
		c.sql("(" + guard + ")")
	default:
		c.sql("("+guard+" AND "+val+" >= ?", s)
		if hi, ok := prefixEnd(s); ok {
			c.sql(" AND "+val+" < ?", hi)
		}
		c.sql(")")
	}
	return nil
}

// prefixEnd returns the least string greater than every string with
// prefix p in byte order, if there is one.
func prefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// field resolves f: a column (isCol) or a body member.
func field(f metastore.Field) (col column, isCol bool, err error) {
	if strings.HasPrefix(f, "@") {
		col, ok := columns[f]
		if !ok {
			return col, false, perr.Errorf(perr.Invalid, "sqlite: unknown column field %q", f)
		}
		return col, true, nil
	}
	return column{}, false, nil
}

// checkOrder rejects orders on unknown column fields.
func checkOrder(orders []metastore.Order) error {
	for _, o := range orders {
		if _, _, err := field(o.Field); err != nil {
			return err
		}
	}
	return nil
}
