package unit

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// serveSpecial serves what lies inside an OData service collection {od}
// (reference §7): the service document (GET {od}), the user schema's
// EDMX (GET {od}$metadata), the schema itself as OData entities
// ({od}$metadata/…: read needs box privilege read, changes need
// alter-schema) and the user data sets ({od}{EntityType}…: read needs
// read, changes write).
func (s *Server) serveSpecial(w http.ResponseWriter, r *http.Request, sp *dav.Special) {
	if err := s.special(w, r, sp); err != nil {
		realm := strings.TrimSuffix(sp.Box.URL, "/")
		realm = realm[:strings.LastIndex(realm, "/")+1]
		s.writeError(w, r, realm, err)
	}
}

func (s *Server) special(w http.ResponseWriter, r *http.Request, sp *dav.Special) error {
	if sp.Type == dav.CollectionService {
		return s.serveService(w, r, sp)
	}
	ctx := r.Context()
	check := func(want pds.Privilege) error { return sp.Box.Access.Check(ctx, sp.Chain, want) }
	provider := odata.SchemaProvider(s.cfg.Cells.Store, sp.Box.Cell, sp.Node, time.Now, s.cfg.Cells.NewID)
	switch {
	case sp.Path == "" || sp.Path == "/":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return perr.New("PR405-MC-0001")
		}
		if err := check(acl.Read); err != nil {
			return err
		}
		sets, err := odata.UserSets(ctx, provider)
		if err != nil {
			return err
		}
		return writeServiceDocument(w, r, sp.URL, sets)
	case sp.Path == "$metadata" || (sp.Path == "$metadata/" && r.Method == http.MethodGet):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return perr.New("PR405-MC-0001")
		}
		if err := check(acl.Read); err != nil {
			return err
		}
		if r.URL.Query().Get("$format") == "atomsvc" || strings.Contains(r.Header.Get("Accept"), "application/atomsvc+xml") {
			return writeServiceDocument(w, r, sp.URL+"$metadata/", odata.MetaSchema().SetNames())
		}
		var b bytes.Buffer
		if err := odata.WriteUserMetadata(ctx, provider, &b); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/xml;charset=utf-8")
		w.Header().Set("DataServiceVersion", "1.0")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.Bytes())
		return nil
	case strings.HasPrefix(sp.Path, "$metadata/"):
		rest := strings.TrimPrefix(sp.Path, "$metadata/")
		if r.Method == "MERGE" {
			// Personium answers MERGE on these sets as not implemented.
			for _, set := range []string{odata.SetProperty, odata.SetComplexTypeProperty, odata.SetComplexType} {
				if strings.HasPrefix(rest, set+"(") {
					return perr.New("PR501-MC-0001")
				}
			}
		}
		svc := &odata.Service{
			Schema: odata.MetaSchema(), Provider: provider, Base: sp.URL + "$metadata/", Limits: odata.DefaultLimits,
			Authorize: func(ctx context.Context, set string, write bool) error {
				if write {
					return check(acl.AlterSchema)
				}
				return check(acl.Read)
			},
		}
		svc.Serve(w, r, strings.TrimPrefix(sp.Path, "$metadata/"))
		return nil
	}
	schema, err := odata.UserDataSchema(ctx, provider)
	if err != nil {
		return err
	}
	svc := &odata.Service{
		Schema:   schema,
		Provider: odata.DataProvider(s.cfg.Cells.Store, schema, provider, time.Now, s.cfg.Cells.NewID),
		Base:     sp.URL, Limits: odata.DefaultLimits,
		Authorize: func(ctx context.Context, set string, write bool) error {
			if write {
				return check(acl.Write)
			}
			return check(acl.Read)
		},
		Batch: s.cfg.Cells.Store,
	}
	svc.Serve(w, r, sp.Path)
	return nil
}

// writeServiceDocument writes an OData service document listing sets:
// JSON ({"d":{"EntitySets":[…]}}) when JSON is asked for, AtomPub XML
// otherwise, as Personium's odata4j writers do.
func writeServiceDocument(w http.ResponseWriter, r *http.Request, base string, sets []string) error {
	if r.URL.Query().Get("$format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		if sets == nil {
			sets = []string{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"d": map[string]any{"EntitySets": sets}})
		return nil
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><service xmlns="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom" xml:base="`)
	_ = xml.EscapeText(&b, []byte(base))
	b.WriteString(`"><workspace><atom:title>Default</atom:title>`)
	for _, name := range sets {
		b.WriteString(`<collection href="`)
		_ = xml.EscapeText(&b, []byte(name))
		b.WriteString(`"><atom:title>`)
		_ = xml.EscapeText(&b, []byte(name))
		b.WriteString(`</atom:title></collection>`)
	}
	b.WriteString(`</workspace></service>`)
	w.Header().Set("Content-Type", "application/xml;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}
