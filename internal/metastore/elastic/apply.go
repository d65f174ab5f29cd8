package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

const (
	// claimLease is how old a claim whose owner does not hold it must be
	// before another writer may take it over: longer than any Apply runs
	// (applyTimeout).
	claimLease   = 2 * time.Minute
	applyTimeout = time.Minute
	// maxAttempts bounds how often Apply starts over after losing a race
	// on one of its documents to a concurrent writer.
	maxAttempts = 50
)

// errRetry: a document changed between reading and writing it; the batch
// was undone and runs again from the start.
var errRetry = errors.New("elasticsearch: concurrent change, retry")

// errCrashed ends a batch where a test's failpoint says the process died.
var errCrashed = errors.New("elasticsearch: failpoint: the process died here")

// prepared is an op checked and indexed before anything is written.
type prepared struct {
	op metastore.Op
	f  []field
	tx []string
}

// Apply performs ops all-or-nothing (see the package documentation for
// how, and for what a concurrent reader may glimpse).
func (s *Store) Apply(ctx context.Context, ops ...metastore.Op) ([]metastore.Doc, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	prep := make([]prepared, len(ops))
	for i, op := range ops {
		p := prepared{op: op}
		switch {
		case op.Type < metastore.Create || op.Type > metastore.Delete:
			return nil, opErr(i, op, perr.Errorf(perr.Invalid, "unknown op type %d", op.Type))
		case op.Doc.ID == "":
			return nil, opErr(i, op, perr.Errorf(perr.Invalid, "empty document ID"))
		}
		if op.Type != metastore.Delete {
			if op.Doc.Kind == "" {
				return nil, opErr(i, op, perr.Errorf(perr.Invalid, "empty kind"))
			}
			var err error
			if p.f, p.tx, err = index(op.Doc.Body); err != nil {
				return nil, opErr(i, op, err)
			}
		}
		prep[i] = p
	}
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		docs, err := s.apply(ctx, prep)
		if !errors.Is(err, errRetry) {
			return docs, err
		}
		if attempt == maxAttempts {
			return nil, perr.New("PR503-DV-0001").WithCause(err)
		}
		select {
		case <-ctx.Done():
			return nil, unavailable(ctx.Err())
		case <-time.After(time.Duration(rand.Int64N(int64(attempt)*int64(5*time.Millisecond)) + 1)):
		}
	}
}

func opErr(i int, op metastore.Op, err error) error {
	var e *perr.E
	if errors.As(err, &e) {
		c := *e
		c.Err = fmt.Errorf("op %d (%s): %w", i+1, op.Doc.ID, e.Err)
		if e.Err == nil {
			c.Err = fmt.Errorf("op %d (%s)", i+1, op.Doc.ID)
		}
		return &c
	}
	return fmt.Errorf("op %d (%s): %w", i+1, op.Doc.ID, err)
}

// docState follows one document through a batch.
type docState struct {
	id              string
	existed, exists bool   // before the batch, after the ops so far
	old, cur        source // as before the batch, as now
	seq, term       int64  // of old
}

func newSource(d metastore.Doc, p prepared, version, published int64) source {
	return source{ID: d.ID, Kind: d.Kind, Cell: d.Cell, Parent: d.Parent, Key: d.Key, V: version,
		Pub: published, Upd: d.Updated, Body: string(d.Body), F: p.f, TX: scoped(d.Kind, d.Cell, d.Parent, p.tx)}
}

func (src *source) claimKey() string { return keyClaim(src.Kind, src.Cell, src.Parent, src.Key) }

// apply is one attempt of Apply.
func (s *Store) apply(ctx context.Context, prep []prepared) ([]metastore.Doc, error) {
	// Read what the batch starts from: every document whose first op is
	// not a Create (a Create's ID claim tells whether the ID is free).
	var order []string
	states := map[string]*docState{}
	var read []string
	for _, p := range prep {
		id := p.op.Doc.ID
		if states[id] == nil {
			states[id] = &docState{id: id}
			order = append(order, id)
			if p.op.Type != metastore.Create {
				read = append(read, id)
			}
		}
	}
	cur, idClaims, err := s.current(ctx, read)
	if err != nil {
		return nil, err
	}
	for id, h := range cur {
		st := states[id]
		st.existed, st.exists = true, true
		st.old, st.cur = h.src, h.src
		st.seq, st.term = h.seq, h.term
	}

	// Run the ops on that state.
	results := make([]metastore.Doc, len(prep))
	for i, p := range prep {
		op := p.op
		st := states[op.Doc.ID]
		switch op.Type {
		case metastore.Create:
			if st.exists {
				return nil, opErr(i, op, perr.Errorf(perr.Exist, "ID %q is taken", op.Doc.ID))
			}
			st.cur = newSource(op.Doc, p, 1, op.Doc.Published)
			st.exists = true
		case metastore.Update, metastore.Delete:
			if !st.exists {
				return nil, opErr(i, op, perr.Errorf(perr.NotExist, "no document %q", op.Doc.ID))
			}
			if op.IfVersion != 0 && op.IfVersion != st.cur.V {
				return nil, opErr(i, op, perr.Errorf(perr.PreconditionFailed, "version %d, not %d", st.cur.V, op.IfVersion))
			}
			if op.Type == metastore.Delete {
				results[i] = st.cur.doc()
				st.exists = false
				continue
			}
			if op.Doc.Cell != st.cur.Cell {
				return nil, opErr(i, op, perr.Errorf(perr.Invalid, "a document cannot move to another cell"))
			}
			st.cur = newSource(op.Doc, p, st.cur.V+1, st.cur.Pub)
		}
		results[i] = st.cur.doc()
	}

	// Natural keys before and after, among the documents touched.
	owner0, owner1 := map[string]string{}, map[string]string{}
	var freed []string // key claims to read: keys given up by renames and deletes
	for _, id := range order {
		st := states[id]
		if st.exists {
			k := st.cur.claimKey()
			if other, dup := owner1[k]; dup {
				return nil, perr.Errorf(perr.Exist, "elasticsearch: documents %q and %q have the same natural key %q", other, id, st.cur.Key)
			}
			owner1[k] = id
		}
		if st.existed {
			k := st.old.claimKey()
			owner0[k] = id
			if !st.exists || st.cur.claimKey() != k {
				freed = append(freed, k)
			}
		}
	}
	keyClaims, err := s.mgetClaims(ctx, freed)
	if err != nil {
		return nil, err
	}
	now := time.Now().UnixMilli()

	// Step 1: the claims this batch needs.
	var b1 bulk
	var release bulk // step 3
	for _, id := range order {
		st := states[id]
		switch {
		case !st.existed && st.exists:
			b1.claimCreate(s.claims, idClaim(id), claim{ID: id, Cell: st.cur.Cell, TS: now})
		case st.existed && !st.exists:
			if c, ok := idClaims[idClaim(id)]; ok {
				release.del(s.claims, idClaim(id), "", c.seq, c.term)
			}
		}
	}
	for _, id := range order {
		st := states[id]
		if !st.exists {
			continue
		}
		k := st.cur.claimKey()
		switch o0, had := owner0[k]; {
		case !had:
			b1.claimCreate(s.claims, k, claim{ID: id, Cell: st.cur.Cell, TS: now})
		case o0 != id: // freed by o0 and taken by id in this batch
			c, ok := keyClaims[k]
			if !ok {
				b1.claimCreate(s.claims, k, claim{ID: id, Cell: st.cur.Cell, TS: now})
			} else {
				b1.claimSet(s.claims, k, claim{ID: id, Cell: st.cur.Cell, TS: now}, c.seq, c.term, c.c)
			}
		}
	}
	for k, o0 := range owner0 {
		if _, kept := owner1[k]; kept {
			continue
		}
		if c, ok := keyClaims[k]; ok && c.c.ID == o0 {
			release.del(s.claims, k, "", c.seq, c.term)
		}
	}
	done1, err := s.runClaims(ctx, &b1)
	if err != nil {
		return nil, err
	}

	// Step 2: the documents, each conditional on what was read; several
	// under an intent (see intent.go), which every version written names.
	var intent string
	if writes := countWrites(states); writes > 1 {
		intent = newIntentID()
		for _, st := range states {
			st.cur.W = intent
		}
	}
	var b2 bulk
	for _, id := range order {
		st := states[id]
		r := routing(st.cur.Cell)
		switch {
		case st.existed && st.exists:
			b2.index(s.docs, id, r, st.cur, st.seq, st.term)
		case !st.existed && st.exists:
			b2.create(s.docs, id, r, st.cur)
		case st.existed && !st.exists:
			b2.del(s.docs, id, routing(st.old.Cell), st.seq, st.term)
		}
		if st.existed {
			b2.items[len(b2.items)-1].restore = &st.old
		}
	}
	if len(b2.items) > 0 {
		if intent != "" {
			if err := s.writeIntent(ctx, intent, &b2); err != nil {
				s.undo(ctx, b1.items, done1, false)
				return nil, err
			}
		}
		out, err := s.bulk(ctx, &b2, true)
		if out == nil && perr.Is(err, perr.Unavailable) {
			// Whether the documents were written is unknown (the cluster
			// may yet write them): their claims stay, for the janitor to
			// remove if the documents do not appear, and so does the
			// intent, for the janitor to roll back what appeared.
			s.orphaned(b1.items)
			return nil, err
		}
		if err == nil {
			err = out.check(func(it *bulkItem, status int, reason string) error {
				if status == http.StatusConflict && it.action == "create" {
					return perr.Errorf(perr.Exist, "elasticsearch: document %q exists", it.id)
				}
				return nil
			})
		}
		if err != nil {
			if s.failpoint == "before-undo" {
				return nil, errCrashed
			}
			undone := s.undo(ctx, b2.items, out, true)
			s.undo(ctx, b1.items, done1, false)
			if undone && intent != "" {
				s.dropIntent(context.WithoutCancel(ctx), intent) // else the janitor rolls back
			}
			return nil, err
		}
		if s.failpoint == "after-docs" {
			return nil, errCrashed
		}
		if intent != "" {
			if err := s.dropIntent(ctx, intent); err != nil {
				// Unknown outcome: the batch stands if the intent is
				// gone, else the janitor rolls it back.
				return nil, err
			}
		}
	}
	for _, id := range order {
		if st := states[id]; st.exists {
			s.rememberCell(id, st.cur.Cell)
		}
	}

	// Step 3: release what was given up. A failure here leaves claims
	// whose owners no longer hold them; they are taken over once stale.
	if len(release.items) > 0 {
		s.bulk(ctx, &release, false)
	}
	return results, nil
}

// runClaims writes step 1. A create that finds the claim taken takes it
// over if it is stale, else the batch fails with Exist; a conditional
// transfer that lost a race makes the batch start over. On failure what
// was written is undone.
func (s *Store) runClaims(ctx context.Context, b *bulk) (*bulkResult, error) {
	if len(b.items) == 0 {
		return &bulkResult{}, nil
	}
	out, err := s.bulk(ctx, b, false)
	if err != nil {
		// The cluster may still write them (a timeout does not cancel
		// the request there): the janitor removes them once it answers.
		s.orphaned(b.items)
		return nil, err
	}
	err = out.check(func(it *bulkItem, status int, reason string) error {
		if status != http.StatusConflict {
			return nil
		}
		if it.action != "create" {
			return errRetry
		}
		ok, seq, term, err := s.takeOver(ctx, it)
		if err != nil {
			return err
		}
		if !ok {
			if it.id[0] == 'i' {
				return perr.Errorf(perr.Exist, "elasticsearch: ID %q is taken", it.id[2:])
			}
			return perr.Errorf(perr.Exist, "elasticsearch: the natural key of %q is taken", it.claim.ID)
		}
		// Now ours: record it as written so that undo removes it.
		out.items[it.n] = bulkOutcome{status: http.StatusOK, seq: seq, term: term}
		return nil
	})
	if err != nil {
		s.undo(ctx, b.items, out, false)
		return nil, err
	}
	return out, nil
}

// takeOver replaces a stale claim: one whose owner does not hold it and
// that is older than claimLease.
func (s *Store) takeOver(ctx context.Context, it *bulkItem) (bool, int64, int64, error) {
	got, err := s.mgetClaims(ctx, []string{it.id})
	if err != nil {
		return false, 0, 0, err
	}
	c, ok := got[it.id]
	if !ok {
		return false, 0, 0, errRetry // released meanwhile: start over
	}
	if time.Since(time.UnixMilli(c.c.TS)) < claimLease {
		return false, 0, 0, nil
	}
	docs, err := s.mgetDocs(ctx, map[string]string{c.c.ID: c.c.Cell})
	if err != nil {
		return false, 0, 0, err
	}
	if h, ok := docs[c.c.ID]; ok && (it.id[0] == 'i' || h.src.claimKey() == it.id) {
		return false, 0, 0, nil // held
	}
	var one bulk
	one.claimSet(s.claims, it.id, *it.claim, c.seq, c.term, c.c)
	out, err := s.bulk(ctx, &one, false)
	if err != nil {
		return false, 0, 0, err
	}
	o := out.items[0]
	if o.status == http.StatusConflict {
		return false, 0, 0, errRetry
	}
	if o.status >= 300 {
		return false, 0, 0, perr.Errorf(perr.Internal, "elasticsearch: take over claim: %s", o.reason)
	}
	return true, o.seq, o.term, nil
}

// undo reverts the items of b that succeeded according to out: created
// documents and claims are deleted, replaced ones restored, deleted
// ones re-created. It tells whether all of that was done; if not, the
// batch's intent (if it has one) is left for the janitor to roll back.
func (s *Store) undo(ctx context.Context, items []bulkItem, out *bulkResult, refresh bool) bool {
	if out == nil {
		return false
	}
	ctx = context.WithoutCancel(ctx)
	var u bulk
	for i, it := range items {
		if i >= len(out.items) || out.items[i].status >= 300 {
			continue
		}
		o := out.items[i]
		switch {
		case it.action == "create" && it.claim != nil:
			u.del(it.index, it.id, "", o.seq, o.term)
		case it.claim != nil: // a transferred claim gets its old content back
			u.claimSet(it.index, it.id, it.oldClaim, o.seq, o.term, claim{})
		case it.action == "create":
			u.del(it.index, it.id, it.routing, o.seq, o.term)
		case it.action == "index":
			u.index(it.index, it.id, it.routing, restored(it.restore), o.seq, o.term)
		case it.action == "delete":
			u.create(it.index, it.id, it.routing, restored(it.restore))
		}
	}
	if len(u.items) == 0 {
		return true
	}
	out, err := s.bulk(ctx, &u, refresh)
	if err == nil {
		err = out.check(nil)
	}
	if err != nil {
		s.orphaned(items)
		return false
	}
	return true
}

// countWrites is how many documents a batch writes.
func countWrites(states map[string]*docState) int {
	n := 0
	for _, st := range states {
		if st.existed || st.exists {
			n++
		}
	}
	return n
}

// orphan is a claim written by a batch that failed.
type orphan struct {
	id    string // claim _id
	claim claim  // as the batch wrote it
	at    time.Time
}

// orphaned hands the claims a failed batch created to the janitor.
func (s *Store) orphaned(items []bulkItem) {
	s.orphanMu.Lock()
	defer s.orphanMu.Unlock()
	for _, it := range items {
		if it.claim != nil && it.action == "create" && len(s.orphans) < 100_000 {
			s.orphans = append(s.orphans, orphan{id: it.id, claim: *it.claim, at: time.Now()})
		}
	}
}

// janitor sweeps orphaned claims every second, and rolls back the
// batches of dead processes every ten, until Close.
func (s *Store) janitor() {
	defer close(s.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep(context.Background())
			if tick%10 == 0 {
				s.recoverIntents(context.Background(), intentAge)
			}
		}
	}
}

// sweep deletes the orphaned claims that are still as their batch wrote
// them and whose owner does not hold them, so that a name a failed
// request claimed is free again as soon as the cluster answers, rather
// than after claimLease. A claim not found may still be on its way (a
// cluster that stalled can apply a request long after the client gave
// up), so it is watched until claimLease, after which it is stale for
// every writer anyway. Claims it cannot check yet stay for the next
// sweep.
func (s *Store) sweep(ctx context.Context) {
	s.orphanMu.Lock()
	todo := s.orphans
	s.orphans = nil
	s.orphanMu.Unlock()
	if len(todo) == 0 {
		return
	}
	var keep []orphan
	defer func() {
		s.orphanMu.Lock()
		s.orphans = append(s.orphans, keep...)
		s.orphanMu.Unlock()
	}()
	ids := make([]string, len(todo))
	for i, o := range todo {
		ids[i] = o.id
	}
	claims, err := s.mgetClaims(ctx, ids)
	if err != nil {
		keep = todo
		return
	}
	owners := map[string]string{}
	for _, o := range todo {
		owners[o.claim.ID] = o.claim.Cell
	}
	docs, err := s.mgetDocs(ctx, owners)
	if err != nil {
		keep = todo
		return
	}
	var b bulk
	var dels []orphan
	for _, o := range todo {
		c, ok := claims[o.id]
		if !ok {
			if time.Since(o.at) < claimLease {
				keep = append(keep, o) // not written (yet)
			}
			continue
		}
		if c.c != o.claim {
			continue // not ours any more
		}
		if h, held := docs[o.claim.ID]; held && (o.id[0] == 'i' || h.src.claimKey() == o.id) {
			continue // the batch's documents were written after all: the claim is right
		}
		if time.Since(o.at) < 2*s.timeout {
			keep = append(keep, o) // its documents may still be on their way
			continue
		}
		b.del(s.claims, o.id, "", c.seq, c.term)
		dels = append(dels, o)
	}
	if len(b.items) == 0 {
		return
	}
	out, err := s.bulk(ctx, &b, false)
	if err != nil {
		keep = append(keep, dels...)
		return
	}
	for i, o := range out.items {
		// 404 and 409: gone or changed since it was read; anything else
		// is tried again.
		if o.status >= 300 && o.status != http.StatusNotFound && o.status != http.StatusConflict {
			keep = append(keep, dels[i])
		}
	}
}

// bulk is a _bulk request being built.
type bulk struct {
	buf   bytes.Buffer
	items []bulkItem
}

type bulkItem struct {
	n        int
	action   string // create, index, delete
	index    string
	id       string
	routing  string
	claim    *claim  // claims: the content written
	oldClaim claim   // a transferred claim's previous content
	restore  *source // documents: the previous version
}

func (b *bulk) add(it bulkItem, meta map[string]any, doc any) {
	it.n = len(b.items)
	meta["_index"], meta["_id"] = it.index, it.id
	if it.routing != "" {
		meta["routing"] = it.routing
	}
	line, _ := json.Marshal(map[string]any{it.action: meta})
	b.buf.Write(line)
	b.buf.WriteByte('\n')
	if doc != nil {
		line, _ = json.Marshal(doc)
		b.buf.Write(line)
		b.buf.WriteByte('\n')
	}
	b.items = append(b.items, it)
}

func (b *bulk) create(index, id, routing string, src source) {
	b.add(bulkItem{action: "create", index: index, id: id, routing: routing}, map[string]any{}, src)
}

func (b *bulk) index(index, id, routing string, src source, seq, term int64) {
	b.add(bulkItem{action: "index", index: index, id: id, routing: routing},
		map[string]any{"if_seq_no": seq, "if_primary_term": term}, src)
}

func (b *bulk) del(index, id, routing string, seq, term int64) {
	b.add(bulkItem{action: "delete", index: index, id: id, routing: routing},
		map[string]any{"if_seq_no": seq, "if_primary_term": term}, nil)
}

func (b *bulk) claimCreate(index, id string, c claim) {
	b.add(bulkItem{action: "create", index: index, id: id, claim: &c}, map[string]any{}, c)
}

func (b *bulk) claimSet(index, id string, c claim, seq, term int64, old claim) {
	b.add(bulkItem{action: "index", index: index, id: id, claim: &c, oldClaim: old},
		map[string]any{"if_seq_no": seq, "if_primary_term": term}, c)
}

type bulkOutcome struct {
	status    int
	seq, term int64
	reason    string
}

type bulkResult struct {
	items []bulkOutcome
	b     *bulk
}

// check calls judge (if any) on every failed item (status ≥ 300 but a
// delete's 404); judge may excuse it (nil) or give the batch's error. Failures it
// does not judge are Invalid (400: a document Elasticsearch cannot index)
// or Unavailable.
func (r *bulkResult) check(judge func(it *bulkItem, status int, reason string) error) error {
	for i, o := range r.items {
		if o.status < 300 {
			continue
		}
		it := &r.b.items[i]
		if judge != nil {
			if err := judge(it, o.status, o.reason); err != nil {
				return err
			}
		}
		if r.items[i].status < 300 { // judge made it a success
			continue
		}
		switch {
		case o.status == http.StatusConflict:
			return errRetry
		case o.status == http.StatusBadRequest:
			return perr.Errorf(perr.Invalid, "elasticsearch: document %q cannot be indexed: %s", it.id, o.reason)
		case o.status == http.StatusTooManyRequests || o.status >= 500:
			return unavailable(fmt.Errorf("%s %s: status %d: %s", it.action, it.id, o.status, o.reason))
		default:
			return perr.Errorf(perr.Internal, "elasticsearch: %s %s: status %d: %s", it.action, it.id, o.status, o.reason)
		}
	}
	return nil
}

// bulk sends b; refresh makes its documents searchable before it returns.
// A refresh that fails is returned with the (known) outcome of the items.
func (s *Store) bulk(ctx context.Context, b *bulk, refresh bool) (*bulkResult, error) {
	out, err := s.bulkOnce(ctx, b)
	if err == nil && refresh {
		err = s.refreshDocs(ctx)
	}
	return out, err
}

// refreshGroup is one refresh of the documents index that every Apply
// whose write completed before it started waits for: concurrent writers
// share refreshes (group commit) instead of queueing one each.
type refreshGroup struct {
	done chan struct{}
	err  error
}

// refreshDocs makes every document write completed so far searchable.
func (s *Store) refreshDocs(ctx context.Context) error {
	s.refreshMu.Lock()
	g := s.nextRefresh
	if g == nil {
		g = &refreshGroup{done: make(chan struct{})}
		s.nextRefresh = g
	}
	if !s.refreshing {
		s.refreshing = true
		go s.runRefreshes()
	}
	s.refreshMu.Unlock()
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return unavailable(ctx.Err())
	}
}

// runRefreshes refreshes until nobody waits for a refresh.
func (s *Store) runRefreshes() {
	for {
		s.refreshMu.Lock()
		g := s.nextRefresh
		s.nextRefresh = nil
		if g == nil {
			s.refreshing = false
			s.refreshMu.Unlock()
			return
		}
		s.refreshMu.Unlock()
		g.err = s.Refresh(context.Background())
		close(g.done)
	}
}

// bulkOnce sends b.
func (s *Store) bulkOnce(ctx context.Context, b *bulk) (*bulkResult, error) {
	status, resp, err := s.do(ctx, http.MethodPost, "/_bulk", b.buf.Bytes())
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, esErr("bulk", status, resp)
	}
	var r struct {
		Items []map[string]struct {
			Status int   `json:"status"`
			Seq    int64 `json:"_seq_no"`
			Term   int64 `json:"_primary_term"`
			Error  *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return nil, perr.Errorf(perr.Internal, "elasticsearch: bulk answer: %v", err)
	}
	if len(r.Items) != len(b.items) {
		return nil, perr.Errorf(perr.Internal, "elasticsearch: bulk answered %d items for %d", len(r.Items), len(b.items))
	}
	out := &bulkResult{b: b, items: make([]bulkOutcome, len(r.Items))}
	for i, m := range r.Items {
		for _, x := range m {
			o := bulkOutcome{status: x.Status, seq: x.Seq, term: x.Term}
			if x.Error != nil {
				o.reason = x.Error.Type + ": " + x.Error.Reason
			}
			if b.items[i].action == "delete" && x.Status == http.StatusNotFound {
				o.status = http.StatusOK // already gone
			}
			out.items[i] = o
		}
	}
	return out, nil
}

// DeleteCell removes every document of cell, with their claims, page by
// page (the test distribution of Elasticsearch has no delete-by-query).
func (s *Store) DeleteCell(ctx context.Context, cell string) (int64, error) {
	var n int64
	for {
		res, err := s.Query(ctx, &metastore.Query{AnyKind: true, Cell: cell, AnyParent: true, Limit: 5000,
			Order: []metastore.Order{{Field: metastore.FieldID}}})
		if err != nil {
			return n, err
		}
		if len(res.Docs) == 0 {
			return n, nil
		}
		var docs, claims bulk
		for _, d := range res.Docs {
			docs.add(bulkItem{action: "delete", index: s.docs, id: d.ID, routing: routing(cell)}, map[string]any{}, nil)
			claims.add(bulkItem{action: "delete", index: s.claims, id: idClaim(d.ID)}, map[string]any{}, nil)
			claims.add(bulkItem{action: "delete", index: s.claims, id: keyClaim(d.Kind, d.Cell, d.Parent, d.Key)},
				map[string]any{}, nil)
		}
		out, err := s.bulk(ctx, &docs, true)
		if err == nil {
			err = out.check(nil)
		}
		if err != nil {
			return n, err
		}
		n += int64(len(res.Docs))
		out, err = s.bulk(ctx, &claims, false)
		if err == nil {
			err = out.check(nil)
		}
		if err != nil {
			return n, err
		}
	}
}
