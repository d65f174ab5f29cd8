package unit

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
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
	metaService := func() *odata.Service {
		return &odata.Service{
			Schema: odata.MetaSchema(), Provider: provider, Base: sp.URL + "$metadata/", Limits: odata.DefaultLimits,
			Authorize: func(ctx context.Context, set string, write bool) error {
				if write {
					return check(acl.AlterSchema)
				}
				return check(acl.Read)
			},
		}
	}
	switch {
	case sp.Path == "$metadata" || (sp.Path == "$metadata/" && r.Method == http.MethodGet):
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return perr.New("PR405-MC-0001")
		}
		if err := check(acl.Read); err != nil {
			return err
		}
		if r.URL.Query().Get("$format") == "atomsvc" || strings.Contains(r.Header.Get("Accept"), "application/atomsvc+xml") {
			// The schema's own sets, as the service document of $metadata/.
			metaService().Serve(w, r, "")
			return nil
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
		metaService().Serve(w, r, rest)
		return nil
	}
	schema, err := s.userSchema(ctx, provider, sp.Box.Cell, sp.Node)
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
	// GET {od} is this service's service document.
	svc.Serve(w, r, strings.TrimPrefix(sp.Path, "/"))
	return nil
}

// schemaCache keeps the user schemas of OData collections, built from
// the schema documents, with the version they were built at (see
// odata.SchemaVersion): one document read tells whether a cached schema
// is still current, in this process and after changes made by others.
type schemaCache struct {
	mu sync.Mutex
	m  map[string]cachedSchema // by cell ID and collection node ID
}

type cachedSchema struct {
	version int64
	schema  *odata.Schema
	built   time.Time // for Config.SchemaCacheTTL
}

// maxCachedSchemas bounds the cache; when full it starts again empty.
const maxCachedSchemas = 1024

// userSchema returns the user schema of collection col, from the cache
// when it is current (and younger than Config.SchemaCacheTTL, if set).
// Schemas are shared between requests: read-only.
func (s *Server) userSchema(ctx context.Context, provider *odata.DocProvider, cell, col string) (*odata.Schema, error) {
	v, err := odata.SchemaVersion(ctx, s.cfg.Cells.Store, cell, col)
	if err != nil {
		return nil, err
	}
	key := cell + "/" + col
	s.schemas.mu.Lock()
	c, ok := s.schemas.m[key]
	s.schemas.mu.Unlock()
	if ok && c.version == v && (s.cfg.SchemaCacheTTL <= 0 || time.Since(c.built) < s.cfg.SchemaCacheTTL) {
		return c.schema, nil
	}
	built := time.Now()
	schema, err := odata.UserDataSchema(ctx, provider)
	if err != nil {
		return nil, err
	}
	s.schemas.mu.Lock()
	if s.schemas.m == nil || len(s.schemas.m) >= maxCachedSchemas {
		s.schemas.m = map[string]cachedSchema{}
	}
	s.schemas.m[key] = cachedSchema{version: v, schema: schema, built: built}
	s.schemas.mu.Unlock()
	return schema, nil
}
