package unit

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// boxInfo is what the front knows of a box.
type boxInfo struct {
	name      string
	id        string // the Box entity's ID; "" for the main box
	schema    string
	published int64
	updated   int64
}

// boxOf looks up the box named in the route of r.
func (s *Server) boxOf(r *http.Request, c *cell.Cell) (*boxInfo, error) {
	return s.boxByName(r, c, mux.Vars(r)["box"])
}

// boxByName looks up the box called name in c.
func (s *Server) boxByName(r *http.Request, c *cell.Cell, name string) (*boxInfo, error) {
	if name == string(pds.MainBox) {
		return &boxInfo{name: name, published: c.Published, updated: c.Updated}, nil
	}
	if strings.HasPrefix(name, "__") {
		return nil, perr.New("PR404-MC-0001")
	}
	cs := s.cfg.Cells.CellSchema()
	b, err := s.cfg.Cells.CtlProvider(c).Get(r.Context(), cs.Type("Box"), odata.KeyPredicate{{Value: name}})
	if err != nil {
		if perr.Is(err, perr.NotExist) {
			err = perr.New("PR404-DV-0002", s.cellURL(c)+name)
		}
		return nil, err
	}
	schema, _ := b.Props["Schema"].(string)
	return &boxInfo{name: name, id: b.ID, schema: schema, published: b.Published, updated: b.Updated}, nil
}

// handleBox serves everything below {cell}{box}/: the WebDAV tree, with
// GET on the box root answering the box's metadata (reference §5.1).
func (s *Server) handleBox(w http.ResponseWriter, r *http.Request) {
	c, err := s.cellOf(r)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	b, err := s.boxOf(r, c)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	prefix := "/" + c.Name + "/" + b.name
	rest := strings.TrimPrefix(r.URL.EscapedPath(), prefix)
	root := rest == "" || rest == "/"
	if root && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		s.boxMetadata(w, r, c, b)
		return
	}
	if root && r.Method == http.MethodDelete {
		s.deleteBox(w, r, c, b)
		return
	}
	if s.cfg.DAV == nil {
		perr.Write(w, r, perr.New("PR404-MC-0001"))
		return
	}
	p, err := s.boxPrincipal(r, c, b.name, b.schema)
	var authErr error
	if err != nil {
		if perr.Public(err).Status() != http.StatusUnauthorized {
			s.writeError(w, r, s.cellURL(c), err)
			return
		}
		// A token that is not good (expired, for another cell…) is
		// answered only where anyone may not do the thing: the ACLs are
		// checked first, as Personium's DavRsCmp.checkAccessContext does,
		// so that public content stays readable.
		p, authErr = pds.Principal{}, err
	}
	boxURL := s.cellURL(c) + b.name + "/"
	s.cfg.DAV.ServeBox(w, r, &dav.Box{
		Cell:        c.ID,
		Root:        cell.BoxRoot(c.ID, b.id),
		URL:         boxURL,
		RoleBase:    s.cellURL(c) + "__role/" + b.name + "/",
		Published:   b.published,
		Updated:     b.updated,
		Access:      &boxAccess{s: s, p: p, c: c, box: b, authErr: authErr},
		Principal:   principalID(p),
		PlainClient: r.Context().Value(authStateKey{}) == authBasic,
		NoBasic:     b.schema != "",
	}, strings.TrimPrefix(rest, "/"))
}

// principalID identifies a caller for lock ownership.
func principalID(p pds.Principal) string {
	switch p.Kind {
	case pds.Anonymous:
		return ""
	case pds.UnitMaster:
		return "#master"
	case pds.UnitAdmin:
		return "#admin " + p.Subject
	case pds.UnitUser:
		return "#unituser " + p.Subject
	}
	return p.Subject
}

// boxMetadata answers GET {cell}{box} (privilege read on the box root).
func (s *Server) boxMetadata(w http.ResponseWriter, r *http.Request, c *cell.Cell, b *boxInfo) {
	p, err := s.boxPrincipal(r, c, b.name, b.schema)
	if err == nil {
		a := &boxAccess{s: s, p: p, c: c, box: b}
		var root *acl.ACL
		if s.cfg.DAV != nil {
			root, err = dav.RootACL(r.Context(), s.cfg.Cells.Store, cell.BoxRoot(c.ID, b.id))
		}
		if err == nil {
			err = a.Check(r.Context(), []*acl.ACL{root}, acl.Read)
		}
	}
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	var schema any
	if b.schema != "" {
		schema = b.schema
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"box": map[string]any{
			"name":         b.name,
			"url":          s.cellURL(c) + b.name + "/",
			"schema":       schema,
			"status":       "ready",
			"installed_at": timeString(b.published),
		},
		"cell": map[string]any{"name": c.Name, "url": s.cellURL(c)},
		"unit": map[string]any{"url": s.cfg.UnitURL, "path_based_cellurl_enabled": true},
	})
}

// boxAccess is dav.Access for one request: the caller's roles against
// the resource's ACLs and the cell's, p:requireSchemaAuthz against the
// token's schema (Personium AccessContext.checkSchemaAccess). The unit
// master, unit admins and the unit user owning the cell may do anything.
type boxAccess struct {
	s   *Server
	p   pds.Principal
	c   *cell.Cell
	box *boxInfo
	// authErr is why the request's credentials were not accepted; the
	// request then runs as anonymous and gets authErr where anonymous
	// may not act.
	authErr error

	cellACL *acl.ACL // loaded once
}

func (a *boxAccess) cellACLs(ctx context.Context) (*acl.ACL, error) {
	if a.cellACL == nil {
		ca, err := a.s.cfg.Cells.CellACL(ctx, a.c)
		if err != nil {
			return nil, err
		}
		a.cellACL = ca
	}
	return a.cellACL, nil
}

// Check implements dav.Access.
func (a *boxAccess) Check(ctx context.Context, chain []*acl.ACL, want pds.Privilege) error {
	switch {
	case contentsBypass(a.p, a.c, want):
		return nil
	case a.p.Kind == pds.UnitUser && !managesCell(a.p, a.c):
		return perr.New("PR403-AU-0003")
	case !managesCell(a.p, a.c): // unit managers skip the schema check (Personium)
		if err := a.schemaAccess(ctx, acl.EffectiveSchemaAuthz(chain...)); err != nil {
			return err
		}
	}
	ca, err := a.cellACLs(ctx)
	if err != nil {
		return err
	}
	if acl.Can(acl.BoxLevel, acl.Requester{Roles: a.p.Roles}, want, append(chain, ca)...) {
		return nil
	}
	if a.p.Kind == pds.Anonymous {
		return a.anonymousError(ctx)
	}
	return perr.New("PR403-AU-0002")
}

// anonymousError is the answer to an anonymous request that may not act:
// why its credentials failed, if it had some.
func (a *boxAccess) anonymousError(ctx context.Context) error {
	if a.authErr != nil {
		return a.authErr
	}
	return authError(ctx)
}

// schemaAccess enforces p:requireSchemaAuthz.
func (a *boxAccess) schemaAccess(ctx context.Context, level acl.SchemaAuthz) error {
	if level == acl.SchemaAuthzNone || level == acl.SchemaAuthzUnset {
		return nil
	}
	if a.p.Kind == pds.Anonymous {
		return a.anonymousError(ctx)
	}
	tokenSchema := strings.TrimSuffix(a.p.Schema, "#c")
	if a.box.schema != "" {
		switch {
		case a.p.Schema == "":
			return perr.New("PR403-AU-0004")
		case tokenSchema != a.box.schema:
			return perr.New("PR403-AU-0005")
		}
	}
	confidential := strings.HasSuffix(a.p.Schema, "#c")
	switch {
	case level == acl.SchemaAuthzPublic && a.p.Schema != "":
		return nil
	case level == acl.SchemaAuthzConfidential && confidential:
		return nil
	}
	return perr.New("PR403-AU-0006")
}

// Privileges implements dav.Access.
func (a *boxAccess) Privileges(ctx context.Context, chain []*acl.ACL) []pds.Privilege {
	var held []pds.Privilege
	if managesCell(a.p, a.c) || a.schemaAccess(ctx, acl.EffectiveSchemaAuthz(chain...)) == nil {
		ca, err := a.cellACLs(ctx)
		if err != nil {
			return nil
		}
		held = acl.Privileges(acl.Requester{Roles: a.p.Roles}, append(chain, ca)...)
	}
	var out []pds.Privilege
	for _, p := range acl.Expand(acl.BoxLevel, []pds.Privilege{acl.All}) {
		if contentsBypass(a.p, a.c, p) || acl.Can(acl.BoxLevel, acl.Requester{Roles: a.p.Roles}, p, &acl.ACL{ACEs: []acl.ACE{{All: true, Grant: held}}}) {
			out = append(out, p)
		}
	}
	return out
}

// CheckPrincipals implements dav.Access.
func (a *boxAccess) CheckPrincipals(ctx context.Context, x *acl.ACL) error {
	return a.s.cfg.Cells.CheckPrincipals(ctx, a.c, a.s.cellURL(a.c), x)
}

// deleteBox answers DELETE {cell}{box}: with X-Personium-Recursive: true,
// the box and everything in it, atomically (cell privilege box);
// without it 412, as in Personium. The main box cannot be deleted.
func (s *Server) deleteBox(w http.ResponseWriter, r *http.Request, c *cell.Cell, b *boxInfo) {
	p, err := s.cellPrincipal(r, c)
	if err == nil {
		err = s.cellPriv(r.Context(), c, p, "box")
	}
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	if b.id == "" {
		perr.Write(w, r, perr.New("PR405-MC-0001"))
		return
	}
	if r.Header.Get("X-Personium-Recursive") != "true" {
		perr.Write(w, r, perr.New("PR412-MC-0001", "X-Personium-Recursive"))
		return
	}
	ctx := cell.WithRecursiveBoxDelete(r.Context())
	cs := s.cfg.Cells.CellSchema()
	if err := s.cfg.Cells.CtlProvider(c).Delete(ctx, cs.Type("Box"), odata.KeyPredicate{{Value: b.name}}, ""); err != nil {
		perr.Write(w, r, err)
		return
	}
	if s.cfg.DAV != nil {
		s.cfg.DAV.BoxDeleted(r.Context(), c.ID, cell.BoxRoot(c.ID, b.id))
	}
	w.WriteHeader(http.StatusNoContent)
}
