package odata

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// Provider is what a Service needs from storage. DocProvider implements it.
type Provider interface {
	Get(ctx context.Context, t *EntityType, kp KeyPredicate) (*Entity, error)
	List(ctx context.Context, t *EntityType, lr *ListRequest) ([]*Entity, int64, error)
	Create(ctx context.Context, t *EntityType, props map[string]any) (*Entity, error)
	Update(ctx context.Context, t *EntityType, kp KeyPredicate, props map[string]any, merge bool, ifMatch string) (*Entity, error)
	Delete(ctx context.Context, t *EntityType, kp KeyPredicate, ifMatch string) error
	Related(ctx context.Context, t *EntityType, kp KeyPredicate, n *NavProp, lr *ListRequest) ([]*Entity, int64, error)
	Link(ctx context.Context, t *EntityType, kp KeyPredicate, n *NavProp, tkp KeyPredicate) error
	Unlink(ctx context.Context, t *EntityType, kp KeyPredicate, n *NavProp, tkp KeyPredicate) error
	CreateRelated(ctx context.Context, t *EntityType, kp KeyPredicate, n *NavProp, props map[string]any) (*Entity, error)
}

var _ Provider = (*DocProvider)(nil)

// Service serves one OData service (a service root and its entity sets).
// A Service is cheap to build per request.
type Service struct {
	Schema   *Schema
	Provider Provider
	Base     string // service root URL, ending in "/"
	Limits   Limits
	// Authorize, if set, decides whether the caller may read (write=false)
	// or write the entity set; set is "" for the service document and
	// "$metadata" for the schema. It returns a PR401/PR403 error to refuse.
	Authorize func(ctx context.Context, set string, write bool) error
	// Batch, when set, enables POST {service}$batch: changesets' writes
	// are applied to this store in one atomic batch.
	Batch metastore.Store
}

// Serve answers the request r for path, the decoded path below the
// service root. Errors are written with perr.Write.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, path string) {
	if err := s.serve(w, r, path); err != nil {
		perr.Write(w, r, err)
	}
}

func (s *Service) authorize(ctx context.Context, set string, write bool) error {
	if s.Authorize == nil {
		return nil
	}
	return s.Authorize(ctx, set, write)
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request, path string) error {
	if path == "$batch" && s.Batch != nil {
		if r.Method != http.MethodPost {
			return perr.New("PR405-MC-0001")
		}
		if _, nested := r.Context().Value(changesetKey{}).(*Changeset); nested {
			return perr.New("PR400-OD-0022")
		}
		return s.serveBatch(w, r, s.Batch)
	}
	res, err := parseResource(path)
	if err != nil {
		return err
	}
	ctx := r.Context()
	m := r.Method
	if ro, ok := s.Provider.(interface{ ReadOnly(set string) bool }); ok && ro.ReadOnly(res.set) && res.nav == "" &&
		(m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch || m == "MERGE") {
		return perr.New("PR405-MC-0001")
	}
	if m == http.MethodOptions {
		// What may be done here, for a caller who may read it (Personium
		// answers OPTIONS of OData resources after a read check).
		set := res.set
		if set == "" && res.metadata {
			set = "$metadata"
		}
		if err := s.authorize(ctx, set, false); err != nil {
			return err
		}
		allow := AllowedMethods(path)
		w.Header().Set("Allow", allow)
		w.Header().Set("Access-Control-Allow-Methods", allow)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if res.set == "" {
		if m != http.MethodGet && m != http.MethodHead {
			return perr.New("PR405-MC-0001")
		}
		if res.metadata {
			if err := s.authorize(ctx, "$metadata", false); err != nil {
				return err
			}
			return s.writeMetadata(w, r)
		}
		if err := s.authorize(ctx, "", false); err != nil {
			return err
		}
		return s.writeServiceDocument(w, r)
	}
	t := s.Schema.Type(res.set)
	if t == nil {
		return perr.New("PR404-OD-0001")
	}
	write := m != http.MethodGet && m != http.MethodHead
	if err := s.authorize(ctx, t.Name, write); err != nil {
		return err
	}
	var nav *NavProp
	if res.nav != "" {
		if nav = t.NavProp(res.nav); nav == nil {
			if res.links {
				return perr.New("PR400-OD-0008")
			}
			return perr.New("PR404-OD-0003")
		}
		if write {
			// Writing a link or a related entity writes the other set too.
			if err := s.authorize(ctx, nav.Target, true); err != nil {
				return err
			}
		}
	}
	switch {
	case res.prop != "":
		return perr.New("PR404-MC-0001")
	case !res.hasKey:
		switch m {
		case http.MethodGet, http.MethodHead:
			return s.list(w, r, t, nil, nil)
		case http.MethodPost:
			return s.create(w, r, t, nil, nil)
		}
	case nav == nil:
		switch m {
		case http.MethodGet, http.MethodHead:
			return s.get(w, r, t, res.key)
		case http.MethodPut, "MERGE":
			return s.update(w, r, t, res.key, m == "MERGE")
		case http.MethodDelete:
			if err := s.Provider.Delete(ctx, t, res.key, r.Header.Get("If-Match")); err != nil {
				return err
			}
			noContent(w)
			return nil
		}
	case res.links:
		return s.links(w, r, t, res, nav)
	default:
		switch m {
		case http.MethodGet, http.MethodHead:
			return s.list(w, r, t, res.key, nav)
		case http.MethodPost:
			return s.create(w, r, t, res.key, nav)
		}
	}
	return perr.New("PR405-MC-0001")
}

// noContent ends a successful write without a body.
func noContent(w http.ResponseWriter) {
	w.Header().Set("DataServiceVersion", "2.0")
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) writeJSON(w http.ResponseWriter, status int, b *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("DataServiceVersion", "2.0")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (s *Service) writer() *entityWriter {
	return &entityWriter{base: s.Base, namespace: s.Schema.Namespace}
}

// resolver maps query property names of t to store fields and types.
func resolver(t *EntityType) PropertyResolver {
	return func(name string) (metastore.Field, string, bool) {
		switch name {
		case MemberPublished:
			return metastore.FieldPublished, EdmDateTime, true
		case MemberUpdated:
			return metastore.FieldUpdated, EdmDateTime, true
		case MemberID:
			if t.HasID {
				return MemberID, EdmString, true
			}
			return "", "", false
		}
		if p := t.Prop(name); p != nil {
			return name, p.Type, true
		}
		if t.Open && name != "" && name[0] != '_' && name[0] != '@' {
			return name, "", true
		}
		return "", "", false
	}
}

// listRequest compiles parsed options for t.
func listRequest(t *EntityType, o *QueryOptions) (*ListRequest, error) {
	lr := &ListRequest{Skip: o.Skip, Limit: o.Top, Count: o.InlineCount, Text: o.Q}
	res := resolver(t)
	if o.Filter != nil {
		f, err := CompileFilter(o.Filter, res)
		if err != nil {
			return nil, err
		}
		lr.Filter = f
	}
	if len(o.OrderBy) > 0 {
		ord, err := CompileOrderBy(o.OrderBy, res)
		if err != nil {
			return nil, err
		}
		lr.Order = ord
	}
	return lr, nil
}

// selectionFor validates $select against t.
func selectionFor(t *EntityType, names []string) (selection, error) {
	if names == nil {
		return nil, nil
	}
	sel := selection{}
	all := false
	for _, n := range names {
		if n == "*" {
			all = true
			continue
		}
		if nav, _, ok := strings.Cut(n, "/"); ok {
			if t.NavProp(nav) == nil {
				return nil, perr.New("PR400-OD-0017")
			}
			sel[n] = true
			continue
		}
		if t.Prop(n) == nil && t.NavProp(n) == nil && !t.Open && !isReserved(n) {
			return nil, perr.New("PR400-OD-0017")
		}
		sel[n] = true
	}
	if all {
		// * selects every property; items of expanded entities still count.
		for n := range sel {
			if !strings.Contains(n, "/") {
				delete(sel, n)
			}
		}
		sel["*"] = true
	}
	return sel, nil
}
