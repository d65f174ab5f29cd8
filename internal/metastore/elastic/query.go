package elastic

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// obj is a piece of query DSL.
type obj = map[string]any

var (
	matchAll  = obj{"match_all": obj{}}
	matchNone = obj{"match_none": obj{}}
)

func boolQ(clause string, qs ...any) obj { return obj{"bool": obj{clause: qs}} }
func term(f string, v any) obj           { return obj{"term": obj{f: v}} }
func not(q obj) obj                      { return boolQ("must_not", q) }

// member is a condition on the nested entry of body member name.
func member(name string, conds ...any) obj {
	return obj{"nested": obj{"path": "f", "query": boolQ("filter", append([]any{term("f.n", name)}, conds...)...)}}
}

// columns maps column fields to indexed fields; numeric ones hold int64.
var columns = map[metastore.Field]struct {
	f       string
	numeric bool
}{
	metastore.FieldID:        {"id", false},
	metastore.FieldKey:       {"key", false},
	metastore.FieldParent:    {"p", false},
	metastore.FieldPublished: {"pub", true},
	metastore.FieldUpdated:   {"upd", true},
}

// compile turns a filter into an Elasticsearch query.
func compile(e metastore.Expr) (obj, error) {
	switch e := e.(type) {
	case nil:
		return matchAll, nil
	case metastore.And:
		if len(e) == 0 {
			return matchAll, nil
		}
		qs, err := compileAll(e)
		if err != nil {
			return nil, err
		}
		return boolQ("filter", qs...), nil
	case metastore.Or:
		if len(e) == 0 {
			return matchNone, nil
		}
		qs, err := compileAll(e)
		if err != nil {
			return nil, err
		}
		return obj{"bool": obj{"should": qs, "minimum_should_match": 1}}, nil
	case metastore.Not:
		q, err := compile(e.X)
		if err != nil {
			return nil, err
		}
		return not(q), nil
	case metastore.Cmp:
		return compileCmp(e.Field, e.Op, e.Value)
	case metastore.In:
		qs := make([]any, 0, len(e.Values))
		for _, v := range e.Values {
			q, err := compileCmp(e.Field, metastore.Eq, v)
			if err != nil {
				return nil, err
			}
			qs = append(qs, q)
		}
		if len(qs) == 0 {
			return matchNone, nil
		}
		return obj{"bool": obj{"should": qs, "minimum_should_match": 1}}, nil
	case metastore.Prefix:
		return compileString(e.Field, e.Value, false)
	case metastore.Contains:
		return compileString(e.Field, e.Value, true)
	}
	return nil, perr.Errorf(perr.Invalid, "elasticsearch: unknown filter expression %T", e)
}

func compileAll(es []metastore.Expr) ([]any, error) {
	qs := make([]any, len(es))
	for i, x := range es {
		q, err := compile(x)
		if err != nil {
			return nil, err
		}
		qs[i] = q
	}
	return qs, nil
}

// literal classifies a filter literal.
func literal(v metastore.Value) (class int, val any, err error) {
	switch v := v.(type) {
	case nil:
		return 0, nil, nil
	case bool:
		return classBool, v, nil
	case int64:
		return classNumber, float64(v), nil
	case int:
		return classNumber, float64(v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, nil, perr.Errorf(perr.Invalid, "elasticsearch: literal %v", v)
		}
		return classNumber, v, nil
	case string:
		return classString, v, nil
	}
	return 0, nil, perr.Errorf(perr.Invalid, "elasticsearch: unsupported literal %T", v)
}

func compileCmp(f metastore.Field, op metastore.CmpOp, v metastore.Value) (obj, error) {
	if op < metastore.Eq || op > metastore.Ge {
		return nil, perr.Errorf(perr.Invalid, "elasticsearch: unknown operator %d", op)
	}
	class, val, err := literal(v)
	if err != nil {
		return nil, err
	}
	if op == metastore.Ne {
		q, err := compileCmp(f, metastore.Eq, v)
		if err != nil {
			return nil, err
		}
		return not(q), nil
	}
	if strings.HasPrefix(f, "@") {
		col, ok := columns[f]
		if !ok {
			return nil, perr.Errorf(perr.Invalid, "elasticsearch: unknown column %q", f)
		}
		// Columns are never null; string columns hold strings, numeric ones numbers.
		if class == 0 || (class == classString) == col.numeric || class == classBool {
			return matchNone, nil
		}
		if op == metastore.Eq {
			return term(col.f, val), nil
		}
		return obj{"range": obj{col.f: obj{rangeOp(op): val}}}, nil
	}
	if f == "" {
		return nil, perr.Errorf(perr.Invalid, "elasticsearch: empty field name")
	}
	if class == 0 {
		if op == metastore.Eq {
			return not(member(f)), nil
		}
		return matchNone, nil // ordering against null never holds
	}
	switch class {
	case classBool:
		b := val.(bool)
		switch {
		case op == metastore.Eq:
			return member(f, term("f.b", b)), nil
		case op == metastore.Lt && b, op == metastore.Le && !b:
			return member(f, term("f.b", false)), nil
		case op == metastore.Gt && !b, op == metastore.Ge && b:
			return member(f, term("f.b", true)), nil
		case op == metastore.Le, op == metastore.Ge: // le true, ge false
			return member(f, term("f.t", classBool)), nil
		}
		return matchNone, nil // lt false, gt true
	case classNumber:
		if op == metastore.Eq {
			return member(f, term("f.x", val)), nil
		}
		return member(f, obj{"range": obj{"f.x": obj{rangeOp(op): val}}}), nil
	}
	s := val.(string)
	if op == metastore.Eq {
		if len(s) > maxIndexed {
			return member(f, term("f.h", hashString(s))), nil
		}
		q := member(f, term("f.s", s))
		if len(s) > maxIndexed-4 { // could be the indexed prefix of a longer string
			q = member(f, term("f.s", s), not(term("f.l", true)))
		}
		return q, nil
	}
	// Ranges on long strings compare their indexed prefix (see the package doc).
	return member(f, obj{"range": obj{"f.s": obj{rangeOp(op): truncate(s, maxIndexed)}}}), nil
}

func rangeOp(op metastore.CmpOp) string {
	switch op {
	case metastore.Lt:
		return "lt"
	case metastore.Le:
		return "lte"
	case metastore.Gt:
		return "gt"
	}
	return "gte"
}

// escapeWildcard quotes the wildcard characters of s.
func escapeWildcard(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)
	return r.Replace(s)
}

// compileString compiles Prefix (contains false) and Contains.
func compileString(f metastore.Field, v string, contains bool) (obj, error) {
	var target string
	if strings.HasPrefix(f, "@") {
		col, ok := columns[f]
		if !ok {
			return nil, perr.Errorf(perr.Invalid, "elasticsearch: unknown column %q", f)
		}
		if col.numeric {
			return matchNone, nil
		}
		target = col.f
	} else if f == "" {
		return nil, perr.Errorf(perr.Invalid, "elasticsearch: empty field name")
	} else {
		target = "f.s"
	}
	v = truncate(v, maxIndexed)
	var q obj
	switch {
	case v == "" && target == "f.s":
		q = term("f.t", classString)
	case v == "":
		q = matchAll
	case contains:
		q = obj{"wildcard": obj{target: obj{"value": "*" + escapeWildcard(v) + "*"}}}
	default:
		q = obj{"prefix": obj{target: obj{"value": v}}}
	}
	if target == "f.s" {
		return member(f, q), nil
	}
	return q, nil
}

// textQuery is Query.Text: every word a substring of one member's text.
// Terms carry the scope of their document (see scoped): a query of one
// kind under one parent names it, others match any scope.
func textQuery(q *metastore.Query) []any {
	scope := strings.Repeat("?", scopeLen) + ":"
	if !q.AnyKind && !q.AnyParent {
		scope = scopePrefix(q.Kind, q.Cell, q.Parent)
	}
	var qs []any
	for _, w := range strings.Fields(q.Text) {
		w = truncate(strings.ToLower(w), textOverlap)
		qs = append(qs, obj{"wildcard": obj{"tx": obj{"value": scope + "*" + escapeWildcard(w) + "*"}}})
	}
	return qs
}

// sortOf compiles the order of q, with the key and ID tie-breakers.
func sortOf(q *metastore.Query) ([]any, error) {
	var out []any
	order := q.Order
	if len(order) == 0 {
		order = []metastore.Order{{Field: metastore.FieldPublished}}
	}
	for _, o := range order {
		dir := "asc"
		missing := "_first"
		if o.Desc {
			dir, missing = "desc", "_last"
		}
		if strings.HasPrefix(o.Field, "@") {
			col, ok := columns[o.Field]
			if !ok {
				return nil, perr.Errorf(perr.Invalid, "elasticsearch: unknown column %q in order", o.Field)
			}
			out = append(out, obj{col.f: obj{"order": dir}})
			continue
		}
		if o.Field == "" {
			return nil, perr.Errorf(perr.Invalid, "elasticsearch: empty field name in order")
		}
		nested := obj{"path": "f", "filter": term("f.n", o.Field)}
		for _, sub := range []string{"f.t", "f.b", "f.x", "f.s"} {
			out = append(out, obj{sub: obj{"order": dir, "missing": missing, "nested": nested}})
		}
	}
	return append(out, obj{"key": obj{"order": "asc"}}, obj{"id": obj{"order": "asc"}}), nil
}

// page is the most documents one search_after page returns; window is
// the index's max_result_window, the deepest from+size one search may
// reach: a window within it is one search (OData's $skip ≤ 100,000 and
// $top ≤ 10,000 always are), deeper ones and whole scans go page by page
// with search_after (each page sorts the matches again, so a one-search
// window is much cheaper).
const (
	page   = 10_000
	window = 110_000
)

// Query runs q: a window within max_result_window in one search, others
// page by page with search_after; counts are exact.
func (s *Store) Query(ctx context.Context, q *metastore.Query) (*metastore.Result, error) {
	if q.Kind == "" && !q.AnyKind {
		return nil, perr.Errorf(perr.Invalid, "elasticsearch: query without a kind")
	}
	filter, err := compile(q.Filter)
	if err != nil {
		return nil, err
	}
	sort, err := sortOf(q)
	if err != nil {
		return nil, err
	}
	scope := []any{term("c", q.Cell), filter}
	if !q.AnyKind {
		scope = append(scope, term("k", q.Kind))
	}
	if !q.AnyParent {
		scope = append(scope, term("p", q.Parent))
	}
	scope = append(scope, textQuery(q)...)
	query := boolQ("filter", scope...)

	res := &metastore.Result{}
	skip, want := max(q.Skip, 0), q.Limit // want < 0: all
	path := "/" + s.docs + "/_search?routing=" + url.QueryEscape(routing(q.Cell))
	// One request when the window lies within `window`; else pages of
	// `page` documents from the start, with search_after, dropping the
	// first skip.
	single := want >= 0 && skip+want <= window
	var after []any
	for first := true; ; first = false {
		body := obj{"query": query, "sort": sort, "track_total_hits": q.Count && first}
		reqPath := path
		switch {
		case want == 0:
			body["size"] = 0
		case single:
			body["from"], body["size"] = skip, want
		default:
			body["size"] = page
			if skip >= page { // the whole page is skipped: only its last sort values are needed
				body["_source"] = false
				reqPath = path + "&filter_path=hits.total,hits.hits.sort"
			}
		}
		if after != nil {
			body["search_after"] = after
		}
		raw, _ := json.Marshal(body)
		status, resp, err := s.do(ctx, http.MethodPost, reqPath, raw)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, esErr("search", status, resp)
		}
		var r struct {
			Hits struct {
				Total struct{ Value int64 }
				Hits  []struct {
					Source json.RawMessage   `json:"_source"`
					Sort   []json.RawMessage `json:"sort"`
				}
			}
		}
		if err := json.Unmarshal(resp, &r); err != nil {
			return nil, perr.Errorf(perr.Internal, "elasticsearch: search answer: %v", err)
		}
		if first && q.Count {
			res.Count = r.Hits.Total.Value
		}
		hits := r.Hits.Hits
		if !single {
			drop := min(skip, len(hits))
			skip -= drop
			hits = hits[drop:]
		}
		for _, h := range hits {
			if want >= 0 && len(res.Docs) == want {
				break
			}
			var src source
			if err := json.Unmarshal(h.Source, &src); err != nil {
				return nil, perr.Errorf(perr.Internal, "elasticsearch: document: %v", err)
			}
			res.Docs = append(res.Docs, src.doc())
		}
		if want == 0 || single || len(r.Hits.Hits) < page || (want >= 0 && len(res.Docs) >= want) {
			return res, nil
		}
		last := r.Hits.Hits[len(r.Hits.Hits)-1].Sort
		after = make([]any, len(last))
		for i, v := range last {
			after[i] = v // raw JSON, so that long and double values go back exactly
		}
	}
}
