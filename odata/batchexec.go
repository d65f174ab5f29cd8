package odata

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// Changeset collects the writes of a $batch changeset: DocProvider
// writes made with a context carrying it are held back and applied
// together, all or nothing (Personium applies them one by one).
type Changeset struct {
	ops []metastore.Op
	// state is what ops make of the documents they touch, kept as ops
	// are added: each one's latest content (with the version the store
	// will give it), or nil when deleted; byKey finds them by natural key.
	state map[string]*metastore.Doc
	byKey map[docKey]string
}

// docKey is a document's natural key.
type docKey struct{ kind, cell, parent, key string }

type changesetKey struct{}

// add collects ops and brings the changeset's state up to date.
func (cs *Changeset) add(ops []metastore.Op) {
	if cs.state == nil {
		cs.state, cs.byKey = map[string]*metastore.Doc{}, map[docKey]string{}
	}
	cs.ops = append(cs.ops, ops...)
	for _, op := range ops {
		d := op.Doc
		switch op.Type {
		case metastore.Create:
			d.Version = 1
		case metastore.Update:
			if prev := cs.state[d.ID]; prev != nil {
				d.Version = prev.Version + 1
				if d.Published == 0 {
					d.Published = prev.Published
				}
			} else {
				d.Version = op.IfVersion + 1
			}
		case metastore.Delete:
			cs.state[d.ID] = nil
			continue
		}
		cs.state[d.ID] = &d
		cs.byKey[docKey{d.Kind, d.Cell, d.Parent, d.Key}] = d.ID
	}
}

// pendingCreate reports whether the changeset in ctx already makes a
// document with d's natural key (two entities of one changeset bringing
// the same new dynamic property register it once).
func pendingCreate(ctx context.Context, d metastore.Doc) bool {
	cs, ok := ctx.Value(changesetKey{}).(*Changeset)
	if !ok {
		return false
	}
	_, found := cs.pending(d.Kind, d.Cell, d.Parent, d.Key)
	return found
}

// pending finds the document of (kind, cell, parent, key) that the
// changeset makes or changes; a deleted or renamed one is not found here
// (pendingID tells of deletions).
func (cs *Changeset) pending(kind, cell, parent, key string) (*metastore.Doc, bool) {
	d := cs.state[cs.byKey[docKey{kind, cell, parent, key}]]
	if d == nil || d.Kind != kind || d.Cell != cell || d.Parent != parent || d.Key != key {
		return nil, false
	}
	return d, true
}

// pendingID is pending by document ID.
func (cs *Changeset) pendingID(id string) (d *metastore.Doc, found, gone bool) {
	x, ok := cs.state[id]
	return x, ok, ok && x == nil
}

// recorder is an http.ResponseWriter keeping what a part answers.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}

// serveBatch answers POST {service}$batch (reference §7.4): each GET is
// run on its own; each changeset's writes are run with their writes held
// back, then applied in one atomic batch. A changeset in which any
// request fails, or whose batch the store refuses, answers that one
// error for the whole changeset and leaves no trace. 202 Accepted, the
// response framed with the request's boundaries.
func (s *Service) serveBatch(w http.ResponseWriter, r *http.Request, store metastore.Store) error {
	b, err := ParseBatch(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		return err
	}
	var parts []BatchResponsePart
	for _, part := range b.Parts {
		if part.Single != nil {
			item := s.runPart(r, *part.Single, r.Context())
			parts = append(parts, BatchResponsePart{Single: &item})
			continue
		}
		cs := &Changeset{}
		ctx := context.WithValue(r.Context(), changesetKey{}, cs)
		var items []BatchResponseItem
		var failed *BatchResponseItem
		for _, req := range part.Changeset {
			item := s.runPart(r, req, ctx)
			if item.Status >= 400 {
				failed = &item
				break
			}
			items = append(items, item)
		}
		if failed == nil && len(cs.ops) > 0 {
			if _, err := store.Apply(r.Context(), cs.ops...); err != nil {
				item := errorItem(r, storeError(err))
				failed = &item
			}
		}
		if failed != nil {
			items = []BatchResponseItem{*failed}
		}
		parts = append(parts, BatchResponsePart{Changeset: items, Boundary: part.Boundary})
	}
	var out bytes.Buffer
	if err := WriteBatchResponse(&out, b.Boundary, parts); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "multipart/mixed; boundary="+b.Boundary)
	h.Set("DataServiceVersion", "2.0")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(out.Bytes())
	return nil
}

// storeError maps a write the store refused to Personium's codes (for
// DocProvider.apply and refused changesets).
func storeError(err error) error {
	switch {
	case perr.Is(err, perr.Exist):
		return perr.New("PR409-OD-0003").WithCause(err)
	case perr.Is(err, perr.PreconditionFailed):
		return perr.New("PR412-OD-0002").WithCause(err)
	case perr.Is(err, perr.NotExist):
		return perr.New("PR404-OD-0002").WithCause(err)
	}
	return err
}

// errorItem renders err as a part's answer.
func errorItem(r *http.Request, err error) BatchResponseItem {
	rec := &recorder{header: http.Header{}}
	perr.Write(rec, r, err)
	return BatchResponseItem{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
}

// runPart serves one request of a batch as if it came alone, with the
// caller's credentials and ctx.
func (s *Service) runPart(outer *http.Request, br BatchRequest, ctx context.Context) BatchResponseItem {
	path, query, _ := strings.Cut(br.Path, "?")
	u := *outer.URL
	u.RawQuery = query
	u.Path = strings.TrimSuffix(u.Path, "$batch") + path
	u.RawPath = ""
	req, _ := http.NewRequestWithContext(ctx, br.Method, u.String(), io.NopCloser(bytes.NewReader(br.Body)))
	if req == nil {
		return errorItem(outer, perr.New("PR400-OD-0034", "request line"))
	}
	req.URL = &u
	req.Header = http.Header{}
	for k, v := range br.Header {
		req.Header[k] = v
	}
	for _, k := range []string{"Authorization", "Accept-Language"} {
		if v := outer.Header.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	req.ContentLength = int64(len(br.Body))
	req.RemoteAddr = outer.RemoteAddr
	rec := &recorder{header: http.Header{}}
	decoded, err := url.PathUnescape(path)
	if err != nil {
		decoded = path
	}
	s.Serve(rec, req, decoded)
	if rec.status == 0 {
		rec.status = http.StatusNoContent
	}
	h := rec.header
	if h.Get("Content-Length") == "" && rec.body.Len() > 0 {
		h.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	}
	return BatchResponseItem{Status: rec.status, Header: h, Body: rec.body.Bytes()}
}
