package odata

import (
	"bytes"
	"context"
	"github.com/personium-go/personium/internal/metastore"
	"net/http"
	"strconv"

	"github.com/personium-go/personium/internal/perr"
)

// list answers GET on an entity set, or on a navigation property of the
// entity kp when nav is set.
func (s *Service) list(w http.ResponseWriter, r *http.Request, t *EntityType, kp KeyPredicate, nav *NavProp) error {
	target := t
	if nav != nil {
		target = s.Schema.Type(nav.Target)
	}
	o, err := ParseQueryOptions(r.URL.Query(), s.Limits, false)
	if err != nil {
		return err
	}
	lr, err := listRequest(target, o)
	if err != nil {
		return err
	}
	sel, err := selectionFor(target, o.Select)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var ents []*Entity
	var count int64
	if nav != nil {
		ents, count, err = s.Provider.Related(ctx, t, kp, nav, lr)
	} else {
		ents, count, err = s.Provider.List(ctx, target, lr)
	}
	if err != nil {
		return err
	}
	expanded, err := s.expand(ctx, target, ents, o.Expand, s.Limits.MaxExpandList, 100)
	if err != nil {
		return err
	}
	wr := s.writer()
	s.writeCollection(w, len(ents), count, o.InlineCount, func(b *bytes.Buffer, i int) {
		wr.writeEntity(b, ents[i], sel, expanded[i])
	})
	return nil
}

// writeCollection writes {"d":{"results":[…],"__count":"n"}} with n items
// rendered by item; __count only when inline is set.
func (s *Service) writeCollection(w http.ResponseWriter, n int, count int64, inline bool, item func(b *bytes.Buffer, i int)) {
	var b bytes.Buffer
	b.WriteString(`{"d":{"results":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		item(&b, i)
	}
	b.WriteByte(']')
	if inline {
		b.WriteString(`,"__count":"` + strconv.FormatInt(count, 10) + `"`)
	}
	b.WriteString("}}")
	s.writeJSON(w, http.StatusOK, &b)
}

// expand loads the related entities of each entity for the $expand names.
func (s *Service) expand(ctx context.Context, t *EntityType, ents []*Entity, names []string, maxNav, maxRows int) ([]map[string][]*Entity, error) {
	out := make([]map[string][]*Entity, len(ents))
	if len(names) == 0 {
		return out, nil
	}
	if maxNav > 0 && len(names) > maxNav {
		return nil, perr.New("PR400-OD-0039")
	}
	navs := make([]*NavProp, len(names))
	for i, n := range names {
		if navs[i] = t.NavProp(n); navs[i] == nil {
			return nil, perr.New("PR400-OD-0026")
		}
	}
	for i, e := range ents {
		out[i] = map[string][]*Entity{}
		for _, n := range navs {
			// Newest first (apiref 405: expanded entities in descending
			// order of their creation).
			rel, _, err := s.Provider.Related(ctx, t, keyPredicateOf(e), n, &ListRequest{Limit: maxRows,
				Order: []metastore.Order{{Field: metastore.FieldPublished, Desc: true}}})
			if err != nil {
				return nil, err
			}
			out[i][n.Name] = rel
		}
	}
	return out, nil
}

// keyPredicateOf is the named key predicate of e.
func keyPredicateOf(e *Entity) KeyPredicate {
	kp := make(KeyPredicate, len(e.Type.Keys))
	for i, k := range e.Type.Keys {
		kp[i] = KeyPart{Name: k, Value: e.Props[k]}
	}
	return kp
}

func (s *Service) get(w http.ResponseWriter, r *http.Request, t *EntityType, kp KeyPredicate) error {
	o, err := ParseQueryOptions(r.URL.Query(), s.Limits, true)
	if err != nil {
		return err
	}
	sel, err := selectionFor(t, o.Select)
	if err != nil {
		return err
	}
	e, err := s.Provider.Get(r.Context(), t, kp)
	if err != nil {
		return err
	}
	etag := e.ETag()
	w.Header().Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && MatchETag(inm, etag) {
		w.Header().Set("DataServiceVersion", "2.0")
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	expanded, err := s.expand(r.Context(), t, []*Entity{e}, o.Expand, s.Limits.MaxExpandSingle, 1000)
	if err != nil {
		return err
	}
	s.writeEntity(w, http.StatusOK, e, sel, expanded[0])
	return nil
}

func (s *Service) writeEntity(w http.ResponseWriter, status int, e *Entity, sel selection, expanded map[string][]*Entity) {
	var b bytes.Buffer
	b.WriteString(`{"d":{"results":`)
	s.writer().writeEntity(&b, e, sel, expanded)
	b.WriteString("}}")
	w.Header().Set("ETag", e.ETag())
	s.writeJSON(w, status, &b)
}

// WriteCreated answers 201 with e and its Location, as a create does:
// for entities created by endpoints other than the Service's own.
func (s *Service) WriteCreated(w http.ResponseWriter, e *Entity) {
	w.Header().Set("Location", s.writer().entityURI(e))
	s.writeEntity(w, http.StatusCreated, e, nil, nil)
}

// create answers POST on a set, or on a navigation property of kp.
func (s *Service) create(w http.ResponseWriter, r *http.Request, t *EntityType, kp KeyPredicate, nav *NavProp) error {
	target := t
	if nav != nil {
		target = s.Schema.Type(nav.Target)
	}
	data, err := readBody(r.Body)
	if err != nil {
		return err
	}
	props, err := decodeEntity(target, data)
	if err != nil {
		return err
	}
	var e *Entity
	if nav != nil {
		e, err = s.Provider.CreateRelated(r.Context(), t, kp, nav, props)
	} else {
		e, err = s.Provider.Create(r.Context(), t, props)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.writer().entityURI(e))
	s.writeEntity(w, http.StatusCreated, e, nil, nil)
	return nil
}

func (s *Service) update(w http.ResponseWriter, r *http.Request, t *EntityType, kp KeyPredicate, merge bool) error {
	data, err := readBody(r.Body)
	if err != nil {
		return err
	}
	props, err := decodeEntityMode(t, data, merge)
	if err != nil {
		return err
	}
	e, err := s.Provider.Update(r.Context(), t, kp, props, merge, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", e.ETag())
	noContent(w)
	return nil
}

// links answers $links requests.
func (s *Service) links(w http.ResponseWriter, r *http.Request, t *EntityType, res *resource, nav *NavProp) error {
	ctx := r.Context()
	target := s.Schema.Type(nav.Target)
	switch {
	case r.Method == http.MethodDelete && res.hasNav:
		if err := s.Provider.Unlink(ctx, t, res.key, nav, res.navKey); err != nil {
			return err
		}
		noContent(w)
		return nil
	case res.hasNav && r.Method == http.MethodPost:
		return perr.New("PR400-OD-0010") // Personium ODataLinksResource
	case res.hasNav && r.Method == http.MethodPut:
		return perr.New("PR501-MC-0001") // updating a link: not in Personium either
	case res.hasNav:
		return perr.New("PR405-MC-0001")
	case r.Method == http.MethodPut || r.Method == http.MethodDelete:
		return perr.New("PR400-OD-0011")
	case r.Method == http.MethodPost:
		data, err := readBody(r.Body)
		if err != nil {
			return err
		}
		m, err := decodeObject(data)
		if err != nil {
			return err
		}
		uri, ok := m["uri"].(string)
		if !ok || len(m) != 1 {
			return perr.New("PR400-OD-0006", "uri")
		}
		set, tkp, err := parseEntityURI(uri, s.Base)
		if err != nil {
			return err
		}
		if set != target.Name {
			return perr.New("PR400-OD-0006", "uri")
		}
		if err := s.Provider.Link(ctx, t, res.key, nav, tkp); err != nil {
			return err
		}
		noContent(w)
		return nil
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		o, err := ParseQueryOptions(r.URL.Query(), s.Limits, false)
		if err != nil {
			return err
		}
		ents, count, err := s.Provider.Related(ctx, t, res.key, nav, &ListRequest{Skip: o.Skip, Limit: o.Top, Count: o.InlineCount})
		if err != nil {
			return err
		}
		wr := s.writer()
		s.writeCollection(w, len(ents), count, o.InlineCount, func(b *bytes.Buffer, i int) {
			b.WriteString(`{"uri":`)
			writeString(b, wr.entityURI(ents[i]))
			b.WriteByte('}')
		})
		return nil
	}
	return perr.New("PR405-MC-0001")
}
