package elastic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/personium-go/personium/internal/perr"
)

// A batch that writes several documents first records an intent: what it
// will write and what each document was before. Every version it writes
// carries the intent's ID (source.W). When the batch ends, whether it
// succeeded or was undone, it deletes the intent. An intent still there
// after intentAge belongs to a process that died in the middle of the
// batch: any process's janitor rolls it back (recoverIntents), putting
// back each document that still holds the batch's version, so that a
// batch is all-or-nothing even across a crash.
//
// intentAge exceeds applyTimeout (no live batch is that old) and is less
// than claimLease (the batch's claims still protect its names while it is
// rolled back).
const intentAge = 90 * time.Second

// intentItem is one document of an intent.
type intentItem struct {
	ID     string  `json:"id"`
	Cell   string  `json:"cell"`
	Action string  `json:"action"`        // create, index or delete, as in the batch's bulk
	Old    *source `json:"old,omitempty"` // the version before, for index and delete
}

// intentDoc is an intent as stored.
type intentDoc struct {
	TS    int64  `json:"ts"`
	Items string `json:"items"` // JSON of []intentItem
}

func newIntentID() string {
	var b [16]byte
	rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// writeIntent records the intent of the documents bulk b.
func (s *Store) writeIntent(ctx context.Context, id string, b *bulk) error {
	items := make([]intentItem, len(b.items))
	for i, it := range b.items {
		items[i] = intentItem{ID: it.id, Cell: cellOfRouting(it.routing), Action: it.action}
		if it.restore != nil {
			old := *it.restore
			old.F, old.TX = nil, nil
			items[i].Old = &old
		}
	}
	raw, _ := json.Marshal(items)
	var one bulk
	one.add(bulkItem{action: "create", index: s.intents, id: id}, map[string]any{},
		intentDoc{TS: time.Now().UnixMilli(), Items: string(raw)})
	out, err := s.bulkOnce(ctx, &one)
	if err != nil {
		return err
	}
	return out.check(nil)
}

// dropIntent deletes an intent whose batch is over.
func (s *Store) dropIntent(ctx context.Context, id string) error {
	var one bulk
	one.add(bulkItem{action: "delete", index: s.intents, id: id}, map[string]any{}, nil)
	out, err := s.bulkOnce(ctx, &one)
	if err != nil {
		return err
	}
	return out.check(nil)
}

func cellOfRouting(r string) string { return r[len("c:"):] }

// recoverIntents rolls back the batches whose intents are older than age
// and returns how many it finished.
func (s *Store) recoverIntents(ctx context.Context, age time.Duration) (int, error) {
	q := obj{"query": obj{"range": obj{"ts": obj{"lte": time.Now().Add(-age).UnixMilli()}}},
		"size": 100, "seq_no_primary_term": true}
	raw, _ := json.Marshal(q)
	// Intents are written without a refresh; make the old ones searchable.
	if status, resp, err := s.do(ctx, http.MethodPost, "/"+s.intents+"/_refresh", nil); err != nil {
		return 0, err
	} else if status != http.StatusOK {
		return 0, esErr("refresh intents", status, resp)
	}
	status, resp, err := s.do(ctx, http.MethodPost, "/"+s.intents+"/_search", raw)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, esErr("search intents", status, resp)
	}
	var r struct {
		Hits struct {
			Hits []struct {
				ID     string    `json:"_id"`
				Seq    int64     `json:"_seq_no"`
				Term   int64     `json:"_primary_term"`
				Source intentDoc `json:"_source"`
			}
		}
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		return 0, perr.Errorf(perr.Internal, "elasticsearch: intents: %v", err)
	}
	done := 0
	for _, h := range r.Hits.Hits {
		var items []intentItem
		if err := json.Unmarshal([]byte(h.Source.Items), &items); err != nil {
			return done, perr.Errorf(perr.Internal, "elasticsearch: intent %s: %v", h.ID, err)
		}
		if err := s.rollBack(ctx, h.ID, items); err != nil {
			return done, err
		}
		var one bulk
		one.del(s.intents, h.ID, "", h.Seq, h.Term)
		if _, err := s.bulkOnce(ctx, &one); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// rollBack puts back every document of intent id that still holds the
// version the batch wrote; a document changed since, or never written,
// is left as it is.
func (s *Store) rollBack(ctx context.Context, id string, items []intentItem) error {
	want := map[string]string{}
	for _, it := range items {
		want[it.ID] = it.Cell
	}
	cur, err := s.mgetDocs(ctx, want)
	if err != nil {
		return err
	}
	var b bulk
	for _, it := range items {
		h, found := cur[it.ID]
		r := routing(it.Cell)
		switch {
		case it.Action == "create" && found && h.src.W == id:
			b.del(s.docs, it.ID, r, h.seq, h.term)
		case it.Action == "index" && found && h.src.W == id:
			b.index(s.docs, it.ID, r, restored(it.Old), h.seq, h.term)
		case it.Action == "delete" && !found:
			b.create(s.docs, it.ID, r, restored(it.Old))
		}
	}
	if len(b.items) == 0 {
		return nil
	}
	out, err := s.bulk(ctx, &b, true)
	if err != nil {
		return err
	}
	for i, o := range out.items {
		// A conflict: the document changed meanwhile, and stays as it is now.
		if o.status >= 300 && o.status != http.StatusConflict {
			return perr.Errorf(perr.Internal, "elasticsearch: roll back %s: status %d: %s", b.items[i].id, o.status, o.reason)
		}
	}
	return nil
}

// restored is an old version as indexed again.
func restored(old *source) source {
	src := *old
	src.F, src.TX, _ = index([]byte(src.Body))
	src.TX = scoped(src.Kind, src.Cell, src.Parent, src.TX)
	return src
}
