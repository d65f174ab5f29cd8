// Package elastic is the Elasticsearch metadata backend, for units that
// outgrow one machine: several `personium serve` processes share one
// Elasticsearch cluster through it.
//
// # Indices
//
// A store uses three indices named after its prefix (default "personium"):
//
//   - {prefix}-docs holds the documents, routed by cell so that a cell's
//     data stays on one shard (unit-level documents share one routing
//     value). The body is kept verbatim as an unindexed string; what
//     queries need is indexed beside it with a mapping that never grows:
//     every top-level body member becomes one nested entry {n: name,
//     t: type class, b|x|s: its value} (so member names, dots, leading
//     underscores and quotes included, are data and never mapping; a
//     member that is a number in one document and a string in another is
//     two type classes, not a mapping conflict), and every string, number
//     and boolean member's lower-cased text goes to a keyword array for
//     full-text search.
//   - {prefix}-claims makes IDs and natural keys unique. ES only
//     guarantees unique _ids per shard once documents are routed, and has
//     no unique constraint on other fields, so a document's ID and its
//     (kind, cell, parent, key) are each claimed by a small document whose
//     _id is derived from them, created with op_type=create before the
//     document is written. Claims are read only by realtime GETs.
//   - {prefix}-intents holds the intents of batches being written (see
//     intent.go).
//
// # Writes
//
// Apply reads the current state of the documents it touches (realtime
// GET), checks every op against it as the SQLite backend would inside a
// transaction, then writes in three steps: the claims it needs (a lost
// create race is Exist), the documents with if_seq_no/if_primary_term on
// every update and delete and a refresh (so that a query started after
// Apply returns sees the write, whichever process runs it), and finally
// the release of claims it freed. A concurrent change found in the second
// step undoes what the batch wrote and runs it again from the start, so a
// conditional update that lost its race ends as PreconditionFailed. A
// claim whose owner never appeared (a process died between the steps) is
// taken over once it is older than claimLease.
//
// A batch of several documents records its intent first (intent.go); if
// its process dies half-way, any process's janitor rolls it back.
//
// Limits, deliberately: a batch is all-or-nothing in its outcome, but not
// in visibility — a reader can glimpse a batch that is then undone
// (because a concurrent writer changed one of its documents, or its
// process died and it waits for the janitor). Strings are
// indexed by their first maxIndexed bytes: equality is exact at any length
// (a hash of the whole string is indexed too), but ranges, Contains and
// ordering between strings longer than that look at that prefix only.
// Numbers are indexed as float64 (integers beyond 2^53 compare
// approximately).
//
// # Errors
//
// Elasticsearch unreachable, overloaded or timing out is
// PR503-SV-0006 (Unavailable); requests recover by themselves once it
// answers again (nothing is cached that a failed request could corrupt).
package elastic

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

func init() {
	metastore.Register("elasticsearch", func(ctx context.Context, dsn string) (metastore.Store, error) {
		cfg, err := ParseDSN(dsn)
		if err != nil {
			return nil, err
		}
		return Open(ctx, cfg)
	})
}

// Config says where the cluster is and how to use it.
type Config struct {
	// URLs of cluster nodes (http or https; user:password@ for basic
	// authentication).
	URLs []string
	// Prefix names the store's indices: {Prefix}-docs, -claims and -intents.
	// Units sharing a cluster need different prefixes. Default "personium".
	Prefix string
	// Timeout bounds each request to Elasticsearch. Default 10 s.
	Timeout time.Duration
	// StartWait is how long Open waits for an unreachable cluster
	// (starting, or not up yet) before it gives up. Default 0: not at all.
	StartWait time.Duration
}

// ParseDSN reads the data source string `personium serve` passes:
// comma-separated URLs, the first of which may carry the query parameters
// prefix=, timeout= and wait= (Go durations: Config.Timeout and
// Config.StartWait, default 60 s here), e.g.
// "http://es1:9200,http://es2:9200?prefix=unit1&timeout=5s".
func ParseDSN(dsn string) (Config, error) {
	cfg := Config{StartWait: time.Minute}
	base, query, _ := strings.Cut(dsn, "?")
	for _, u := range strings.Split(base, ",") {
		u = strings.TrimSuffix(strings.TrimSpace(u), "/")
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return cfg, fmt.Errorf("elasticsearch: %q is not an http(s) URL", u)
		}
		cfg.URLs = append(cfg.URLs, u)
	}
	if len(cfg.URLs) == 0 {
		return cfg, errors.New("elasticsearch: no URL given (--es-url)")
	}
	vals, err := url.ParseQuery(query)
	if err != nil {
		return cfg, fmt.Errorf("elasticsearch: options %q: %v", query, err)
	}
	for k, v := range vals {
		switch k {
		case "prefix":
			cfg.Prefix = v[0]
		case "timeout":
			d, err := time.ParseDuration(v[0])
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("elasticsearch: timeout %q is not a positive duration", v[0])
			}
			cfg.Timeout = d
		case "wait":
			d, err := time.ParseDuration(v[0])
			if err != nil || d < 0 {
				return cfg, fmt.Errorf("elasticsearch: wait %q is not a duration", v[0])
			}
			cfg.StartWait = d
		default:
			return cfg, fmt.Errorf("elasticsearch: unknown option %q (have prefix, timeout, wait)", k)
		}
	}
	return cfg, nil
}

// validPrefix is what Elasticsearch accepts in index names, narrowed.
var validPrefix = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,99}$`)

// Store is the Elasticsearch backend. It is safe for concurrent use.
type Store struct {
	es      *elasticsearch.Client
	docs    string // index names
	claims  string
	intents string
	timeout time.Duration

	// cells remembers the cell of document IDs, so that Get can go
	// straight to the right shard; a hit is checked against the document
	// found, a miss or mismatch asks the ID's claim (the truth). keys
	// remembers the ID that holds a natural key (by claim _id) for
	// GetKey, checked the same way: the document with that ID has that
	// key, so it is the one (keys are unique).
	cells, keys memo

	// orphans are claims a batch may have written while the cluster did
	// not answer; the janitor removes them once it does (see sweep).
	refreshMu   sync.Mutex
	nextRefresh *refreshGroup // the refresh waiters join; not started
	refreshing  bool          // a caller is running refreshes

	// failpoint, set by tests only, makes Apply stop where a crash
	// would: "after-docs" (documents written, intent not dropped) or
	// "before-undo" (a failed batch not undone).
	failpoint string

	orphanMu sync.Mutex
	orphans  []orphan
	stop     chan struct{}
	stopped  chan struct{}
}

// Open connects to the cluster and creates the indices if they are missing.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "personium"
	}
	if !validPrefix.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("elasticsearch: index prefix %q: want lower-case letters, digits, '_', '-', '.'", cfg.Prefix)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	escfg := elasticsearch.Config{
		Addresses:    cfg.URLs,
		MaxRetries:   2,
		RetryBackoff: func(attempt int) time.Duration { return time.Duration(attempt) * 50 * time.Millisecond },
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
			ResponseHeaderTimeout: cfg.Timeout},
	}
	for _, u := range cfg.URLs { // user:password@ in a URL is basic authentication
		if pu, err := url.Parse(u); err == nil && pu.User != nil {
			escfg.Username = pu.User.Username()
			escfg.Password, _ = pu.User.Password()
		}
	}
	es, err := elasticsearch.NewClient(escfg)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	s := &Store{es: es, docs: cfg.Prefix + "-docs", claims: cfg.Prefix + "-claims", intents: cfg.Prefix + "-intents", timeout: cfg.Timeout,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	// A cluster that is starting (or not up yet) is waited for, up to
	// StartWait (no attempt outlasts it); any other failure ends Open at
	// once. The URLs are logged without their passwords.
	shown := make([]string, len(cfg.URLs))
	for i, u := range cfg.URLs {
		shown[i] = u
		if pu, err := url.Parse(u); err == nil {
			shown[i] = pu.Redacted()
		}
	}
	start := time.Now()
	deadline := start.Add(cfg.StartWait)
	var logged time.Time
	for attempt := 0; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if attempt > 0 || cfg.StartWait > 0 {
			actx, cancel = context.WithDeadline(ctx, deadline.Add(time.Second))
		}
		err = s.setUp(actx)
		cancel()
		if err == nil {
			break
		}
		if !perr.Is(err, perr.Unavailable) || time.Now().After(deadline) {
			s.es.Close(ctx)
			if perr.Is(err, perr.Unavailable) && cfg.StartWait > 0 {
				return nil, fmt.Errorf("elasticsearch at %s not reachable after waiting %v (wait= in --es-url): %w",
					strings.Join(shown, ","), time.Since(start).Round(time.Second), err)
			}
			return nil, err
		}
		if time.Since(logged) >= 10*time.Second {
			slog.Warn("elasticsearch not reachable yet; retrying", "urls", shown, "err", err,
				"giving up in", time.Until(deadline).Round(time.Second))
			logged = time.Now()
		}
		select {
		case <-ctx.Done():
			s.es.Close(ctx)
			return nil, err
		case <-time.After(time.Second):
		}
	}
	go s.janitor()
	return s, nil
}

// setUp makes the indices the store needs, unless they exist.
func (s *Store) setUp(ctx context.Context) error {
	if err := s.ensureIndex(ctx, s.docs, docsMapping); err != nil {
		return err
	}
	// Indices made before the window was raised get it now (a dynamic setting).
	settings := fmt.Sprintf(`{"index": {"max_result_window": %d}}`, window)
	if status, resp, err := s.do(ctx, http.MethodPut, "/"+s.docs+"/_settings", []byte(settings)); err != nil {
		return err
	} else if status != http.StatusOK {
		return esErr("settings of "+s.docs, status, resp)
	}
	if err := s.ensureIndex(ctx, s.claims, claimsMapping); err != nil {
		return err
	}
	return s.ensureIndex(ctx, s.intents, intentsMapping)
}

// layout versions the mappings below; an index made with another layout
// is refused rather than misread.
const layout = 3

// maxIndexed is how many bytes of a string member are indexed (Lucene
// refuses terms over 32,766 bytes); textChunk and textOverlap cut long
// values for full-text search.
const (
	maxIndexed  = 4000
	textChunk   = 1000
	textOverlap = 256
)

var docsMapping = fmt.Sprintf(`{
  "settings": {"index": {"mapping": {"nested_objects": {"limit": 20000}}, "max_result_window": %d}},
  "mappings": {
    "dynamic": "strict",
    "_meta": {"personium_layout": %d},
    "_source": {"excludes": ["f", "tx"]},
    "properties": {
      "id":  {"type": "keyword"},
      "k":   {"type": "keyword"},
      "c":   {"type": "keyword"},
      "p":   {"type": "keyword"},
      "key": {"type": "keyword"},
      "v":   {"type": "long"},
      "pub": {"type": "long"},
      "upd": {"type": "long"},
      "b":   {"type": "keyword", "index": false, "doc_values": false},
      "w":   {"type": "keyword", "index": false, "doc_values": false},
      "f": {"type": "nested", "properties": {
        "n": {"type": "keyword"},
        "t": {"type": "byte"},
        "b": {"type": "boolean"},
        "x": {"type": "double"},
        "s": {"type": "keyword"},
        "l": {"type": "boolean"},
        "h": {"type": "keyword"}
      }},
      "tx": {"type": "keyword"}
    }
  }
}`, window, layout)

var intentsMapping = fmt.Sprintf(`{
  "mappings": {
    "dynamic": "strict",
    "_meta": {"personium_layout": %d},
    "properties": {
      "ts":    {"type": "long"},
      "items": {"type": "keyword", "index": false, "doc_values": false}
    }
  }
}`, layout)

var claimsMapping = fmt.Sprintf(`{
  "mappings": {
    "dynamic": "strict",
    "_meta": {"personium_layout": %d},
    "properties": {
      "id":   {"type": "keyword", "index": false},
      "cell": {"type": "keyword", "index": false},
      "ts":   {"type": "long", "index": false}
    }
  }
}`, layout)

// ensureIndex creates index with body unless it exists; an existing index
// must have been made with this layout.
func (s *Store) ensureIndex(ctx context.Context, index, body string) error {
	status, resp, err := s.do(ctx, http.MethodPut, "/"+index, []byte(body))
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		return nil
	}
	if status != http.StatusBadRequest || !strings.Contains(string(resp), "resource_already_exists_exception") {
		return esErr("create index "+index, status, resp)
	}
	status, resp, err = s.do(ctx, http.MethodGet, "/"+index+"/_mapping", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return esErr("mapping of "+index, status, resp)
	}
	var m map[string]struct {
		Mappings struct {
			Meta struct {
				Layout int `json:"personium_layout"`
			} `json:"_meta"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal(resp, &m); err != nil {
		return perr.Errorf(perr.Internal, "elasticsearch: mapping of %s: %v", index, err)
	}
	for _, im := range m {
		if im.Mappings.Meta.Layout != layout {
			return fmt.Errorf("elasticsearch: index %s exists but was not made by this version of personium (layout %d, want %d); choose another prefix",
				index, im.Mappings.Meta.Layout, layout)
		}
	}
	return nil
}

// do sends one request and reads the whole answer. A transport failure,
// a timeout and the statuses of an overloaded or absent cluster are
// Unavailable (PR503-SV-0006); other statuses are the caller's to judge.
func (s *Store) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return 0, nil, perr.Errorf(perr.Internal, "elasticsearch: %v", err)
	}
	if body != nil {
		if strings.HasSuffix(strings.SplitN(path, "?", 2)[0], "/_bulk") {
			req.Header.Set("Content-Type", "application/x-ndjson")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	start := time.Now()
	res, err := s.es.Perform(req)
	if err != nil {
		slog.Debug("elasticsearch", "method", method, "path", path, "err", err, "took", time.Since(start))
		return 0, nil, unavailable(err)
	}
	defer func() {
		slog.Debug("elasticsearch", "method", method, "path", path, "status", res.StatusCode, "took", time.Since(start))
	}()
	defer res.Body.Close()
	resp, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	switch res.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return 0, nil, unavailable(fmt.Errorf("status %d: %s", res.StatusCode, clip(resp)))
	}
	return res.StatusCode, resp, nil
}

func unavailable(cause error) error {
	e := perr.New("PR503-SV-0006").WithCause(fmt.Errorf("elasticsearch: %w", cause))
	e.Kind = perr.Unavailable
	return e
}

// esErr describes an unexpected answer.
func esErr(what string, status int, resp []byte) error {
	kind := perr.Internal
	if status == http.StatusBadRequest {
		kind = perr.Invalid
	}
	return perr.Errorf(kind, "elasticsearch: %s: status %d: %s", what, status, clip(resp))
}

func clip(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

// routing is the shard routing value of a cell's documents.
func routing(cell string) string { return "c:" + cell }

// idClaim and keyClaim are the _ids of claims.
func idClaim(id string) string { return "i:" + id }

func keyClaim(kind, cell, parent, key string) string {
	h := sha256.New()
	for _, p := range []string{kind, cell, parent, key} {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write([]byte(p))
	}
	return "k:" + hex.EncodeToString(h.Sum(nil))
}

// claim is a claim document.
type claim struct {
	ID   string `json:"id"`   // owner document
	Cell string `json:"cell"` // its cell
	TS   int64  `json:"ts"`   // Unix ms when claimed
}

// source is a document as indexed.
type source struct {
	ID     string   `json:"id"`
	Kind   string   `json:"k"`
	Cell   string   `json:"c"`
	Parent string   `json:"p"`
	Key    string   `json:"key"`
	V      int64    `json:"v"`
	Pub    int64    `json:"pub"`
	Upd    int64    `json:"upd"`
	Body   string   `json:"b"`
	W      string   `json:"w,omitempty"` // the intent of the batch that wrote this version, if any
	F      []field  `json:"f,omitempty"`
	TX     []string `json:"tx,omitempty"`
}

func (src *source) doc() metastore.Doc {
	return metastore.Doc{ID: src.ID, Kind: src.Kind, Cell: src.Cell, Parent: src.Parent, Key: src.Key,
		Body: json.RawMessage(src.Body), Version: src.V, Published: src.Pub, Updated: src.Upd}
}

// hit is a found document with its concurrency token.
type hit struct {
	src       source
	seq, term int64
}

// getResp is the answer to GET /{index}/_doc/{id} and an mget item.
type getResp struct {
	ID     string          `json:"_id"`
	Found  bool            `json:"found"`
	Seq    int64           `json:"_seq_no"`
	Term   int64           `json:"_primary_term"`
	Source json.RawMessage `json:"_source"`
	Error  json.RawMessage `json:"error"`
}

// mget sends a realtime multi-get and returns the documents found.
func (s *Store) mget(ctx context.Context, path string, req any) ([]getResp, error) {
	body, _ := json.Marshal(req)
	status, resp, err := s.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, esErr("read", status, resp)
	}
	var r struct{ Docs []getResp }
	if err := json.Unmarshal(resp, &r); err != nil {
		return nil, perr.Errorf(perr.Internal, "elasticsearch: read: %v", err)
	}
	found := r.Docs[:0]
	for _, d := range r.Docs {
		if len(d.Error) > 0 {
			return nil, perr.Errorf(perr.Internal, "elasticsearch: read %s: %s", d.ID, clip(d.Error))
		}
		if d.Found {
			found = append(found, d)
		}
	}
	return found, nil
}

// mgetClaims reads claims by _id; absent ones are missing from the map.
func (s *Store) mgetClaims(ctx context.Context, ids []string) (map[string]claimHit, error) {
	out := map[string]claimHit{}
	if len(ids) == 0 {
		return out, nil
	}
	found, err := s.mget(ctx, "/"+s.claims+"/_mget?realtime=true", map[string]any{"ids": ids})
	if err != nil {
		return nil, err
	}
	for _, d := range found {
		var c claim
		if err := json.Unmarshal(d.Source, &c); err != nil {
			return nil, perr.Errorf(perr.Internal, "elasticsearch: claim %s: %v", d.ID, err)
		}
		out[d.ID] = claimHit{c: c, seq: d.Seq, term: d.Term}
	}
	return out, nil
}

type claimHit struct {
	c         claim
	seq, term int64
}

// mgetDocs reads documents by ID and cell (realtime).
func (s *Store) mgetDocs(ctx context.Context, want map[string]string) (map[string]hit, error) {
	out := map[string]hit{}
	if len(want) == 0 {
		return out, nil
	}
	type item struct {
		Index   string `json:"_index"`
		ID      string `json:"_id"`
		Routing string `json:"routing"`
	}
	var items []item
	for id, cell := range want {
		items = append(items, item{s.docs, id, routing(cell)})
	}
	found, err := s.mget(ctx, "/_mget?realtime=true", map[string]any{"docs": items})
	if err != nil {
		return nil, err
	}
	for _, d := range found {
		var h hit
		if err := json.Unmarshal(d.Source, &h.src); err != nil {
			return nil, perr.Errorf(perr.Internal, "elasticsearch: document %s: %v", d.ID, err)
		}
		if h.src.Cell != want[d.ID] {
			continue // the ID now lives in another cell (same shard)
		}
		h.seq, h.term = d.Seq, d.Term
		out[d.ID] = h
	}
	return out, nil
}

// current reads the documents with the given IDs as they are now: their
// ID claims say where they live. The returned claims are those read.
func (s *Store) current(ctx context.Context, ids []string) (map[string]hit, map[string]claimHit, error) {
	cids := make([]string, len(ids))
	for i, id := range ids {
		cids[i] = idClaim(id)
	}
	claims, err := s.mgetClaims(ctx, cids)
	if err != nil {
		return nil, nil, err
	}
	want := map[string]string{}
	for _, id := range ids {
		if c, ok := claims[idClaim(id)]; ok {
			want[id] = c.c.Cell
		}
	}
	docs, err := s.mgetDocs(ctx, want)
	if err != nil {
		return nil, nil, err
	}
	for id, h := range docs {
		s.rememberCell(id, h.src.Cell)
	}
	return docs, claims, nil
}

// memo is a bounded map of hints: what it says is checked against the
// document found, so a stale entry costs a lookup, never a wrong answer.
type memo struct {
	mu sync.Mutex
	m  map[string]string
}

func (m *memo) put(k, v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]string{}
	}
	if len(m.m) >= 200_000 {
		for k := range m.m { // drop about half, arbitrarily
			delete(m.m, k)
			if len(m.m) < 100_000 {
				break
			}
		}
	}
	m.m[k] = v
}

func (m *memo) get(k string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[k]
	return v, ok
}

func (s *Store) rememberCell(id, cell string) { s.cells.put(id, cell) }

func (s *Store) knownCell(id string) (string, bool) { return s.cells.get(id) }

// Get returns the document with the given ID.
func (s *Store) Get(ctx context.Context, id string) (*metastore.Doc, error) {
	if cell, ok := s.knownCell(id); ok {
		docs, err := s.mgetDocs(ctx, map[string]string{id: cell})
		if err != nil {
			return nil, err
		}
		if h, ok := docs[id]; ok {
			d := h.src.doc()
			return &d, nil
		}
	}
	docs, _, err := s.current(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	h, ok := docs[id]
	if !ok {
		return nil, perr.Errorf(perr.NotExist, "elasticsearch: no document %q", id)
	}
	d := h.src.doc()
	return &d, nil
}

// GetKey returns the document with the given natural key.
func (s *Store) GetKey(ctx context.Context, kind, cell, parent, key string) (*metastore.Doc, error) {
	cid := keyClaim(kind, cell, parent, key)
	holds := func(h hit, ok bool) bool {
		return ok && h.src.Kind == kind && h.src.Parent == parent && h.src.Key == key
	}
	if id, ok := s.keys.get(cid); ok {
		docs, err := s.mgetDocs(ctx, map[string]string{id: cell})
		if err != nil {
			return nil, err
		}
		if h, ok := docs[id]; holds(h, ok) {
			d := h.src.doc()
			return &d, nil
		}
	}
	claims, err := s.mgetClaims(ctx, []string{cid})
	if err != nil {
		return nil, err
	}
	notExist := perr.Errorf(perr.NotExist, "elasticsearch: no %s %q", kind, key)
	c, ok := claims[cid]
	if !ok {
		return nil, notExist
	}
	docs, err := s.mgetDocs(ctx, map[string]string{c.c.ID: cell})
	if err != nil {
		return nil, err
	}
	h, ok := docs[c.c.ID]
	if !holds(h, ok) {
		return nil, notExist // a claim being taken or left behind
	}
	s.rememberCell(h.src.ID, cell)
	s.keys.put(cid, h.src.ID)
	d := h.src.doc()
	return &d, nil
}

// Close releases the client's idle connections.
func (s *Store) Close() error {
	close(s.stop)
	<-s.stopped
	return s.es.Close(context.Background())
}

// EnsureIndex makes metastore.Indexer true: every body member is always
// indexed (in the nested field f) and so is every document's text, so
// there is nothing to build; fields are only checked.
func (s *Store) EnsureIndex(ctx context.Context, kind string, fields ...metastore.Field) error {
	if kind == "" {
		return perr.Errorf(perr.Invalid, "elasticsearch: EnsureIndex without a kind")
	}
	for _, f := range fields {
		if f == "" {
			return perr.Errorf(perr.Invalid, "elasticsearch: EnsureIndex of an empty field name")
		}
	}
	return nil
}

// Refresh makes every document write so far searchable (writes already
// are when Apply returns). Claims are only ever read by realtime GETs.
func (s *Store) Refresh(ctx context.Context) error {
	status, resp, err := s.do(ctx, http.MethodPost, "/"+s.docs+"/_refresh", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return esErr("refresh", status, resp)
	}
	return nil
}

// DropIndices deletes the store's indices, for tests and `personium`
// tools that start over. The store is unusable afterwards.
func (s *Store) DropIndices(ctx context.Context) error {
	status, resp, err := s.do(ctx, http.MethodDelete, "/"+s.docs+","+s.claims+","+s.intents+"?ignore_unavailable=true", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return esErr("delete indices", status, resp)
	}
	return nil
}

var _ metastore.Indexer = (*Store)(nil)
