package unit

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// Authorizer decides whether the principal of a request may use
// control objects. set is the entity set ("" for the service document
// and $metadata); c is nil at unit level. It returns a PR401/PR403 error
// to refuse.
type Authorizer interface {
	Authorize(ctx context.Context, p pds.Principal, c *cell.Cell, set string, write bool) error
}

// MasterOnly lets the unit master (and unit users it acts as) do
// everything and nobody else anything: the authorizer until tokens and
// ACLs exist.
type MasterOnly struct{}

// Authorize implements Authorizer.
// The schemas ($metadata) are public, as in Personium.
func (MasterOnly) Authorize(ctx context.Context, p pds.Principal, c *cell.Cell, set string, write bool) error {
	if set == "$metadata" && !write {
		return nil
	}
	switch p.Kind {
	case pds.UnitMaster, pds.UnitAdmin, pds.UnitUser:
		return nil
	case pds.Anonymous:
		return authError(ctx)
	}
	return perr.New("PR403-AU-0002")
}

// authError is the 401 error for a request that is not authenticated.
func authError(ctx context.Context) error {
	switch st, _ := ctx.Value(authStateKey{}).(authState); st {
	case authBadScheme:
		return perr.New("PR401-AU-0003")
	case authBadBasic:
		return perr.New("PR401-AU-0004")
	case authBasic:
		return perr.New("PR401-AU-0003") // Basic is for cells, never for unit control
	case authInvalid:
		return perr.New("PR401-AU-0006")
	}
	return perr.New("PR401-AU-0001")
}

// writeError writes err, adding WWW-Authenticate to 401 answers.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, realm string, err error) {
	if perr.Public(err).Status() == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
		w.Header().Add("WWW-Authenticate", `Basic realm="`+realm+`"`)
	}
	perr.Write(w, r, err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handleUnitRoot answers GET {unit}: the unit's metadata, no auth needed.
func (s *Server) handleUnitRoot(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		perr.Write(w, r, perr.New("PR405-MC-0001"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"unit": map[string]any{
		"url":                        s.cfg.UnitURL,
		"path_based_cellurl_enabled": true,
	}})
}

// handleStatus answers the health check {unit}__status.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if _, err := s.cfg.Cells.Store.Query(r.Context(), &metastore.Query{Kind: cell.KindCell}); err != nil {
		perr.Write(w, r, perr.New("PR503-SV-0001").WithCause(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": APIVersion})
}

// servicePath returns the decoded path below "…/__ctl/".
func servicePath(r *http.Request, prefix string) string {
	p := strings.TrimPrefix(r.URL.Path, prefix)
	return strings.TrimPrefix(p, "/")
}

// handleUnitCtl serves {unit}__ctl/: the Cell entity set.
func (s *Server) handleUnitCtl(w http.ResponseWriter, r *http.Request) {
	p, err := s.unitPrincipal(r)
	if err != nil {
		s.writeError(w, r, s.cfg.UnitURL, err)
		return
	}
	svc := &odata.Service{
		Schema:   s.cfg.Cells.UnitSchema(),
		Provider: s.cfg.Cells.UnitProvider(p.Subject, p.Kind == pds.UnitUser),
		Base:     s.cfg.UnitURL + "__ctl/",
		Limits:   odata.DefaultLimits,
		Authorize: func(ctx context.Context, set string, write bool) error {
			return s.authz.Authorize(ctx, p, nil, set, write)
		},
	}
	rw := &realmWriter{ResponseWriter: w, realm: s.cfg.UnitURL}
	svc.Serve(rw, r, servicePath(r, "/__ctl"))
}

// realmWriter adds WWW-Authenticate to 401 answers written by a protocol handler.
type realmWriter struct {
	http.ResponseWriter
	realm string
}

func (rw *realmWriter) WriteHeader(status int) {
	if status == http.StatusUnauthorized {
		h := rw.Header()
		h.Set("WWW-Authenticate", `Bearer realm="`+rw.realm+`"`)
		h.Add("WWW-Authenticate", `Basic realm="`+rw.realm+`"`)
	}
	rw.ResponseWriter.WriteHeader(status)
}

// cellOf loads the cell named in the route.
func (s *Server) cellOf(r *http.Request) (*cell.Cell, error) {
	name := mux.Vars(r)["cell"]
	if !pds.ValidCellName(name) {
		return nil, perr.New("PR404-DV-0003")
	}
	return s.cfg.Cells.Get(r.Context(), name)
}

func (s *Server) cellURL(c *cell.Cell) string { return s.cfg.UnitURL + c.Name + "/" }

// handleCellCtl serves {cell}__ctl/.
func (s *Server) handleCellCtl(w http.ResponseWriter, r *http.Request) {
	c, err := s.cellOf(r)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	p, err := s.cellPrincipal(r, c)
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	cred, has := r.Header[http.CanonicalHeaderKey("X-Personium-Credential")]
	ctx := r.Context()
	if has && len(cred) > 0 {
		ctx = cell.WithCredential(ctx, cred[0], true)
	}
	svc := &odata.Service{
		Schema:   s.cfg.Cells.CellSchema(),
		Provider: s.cfg.Cells.CtlProvider(c),
		Base:     s.cellURL(c) + "__ctl/",
		Limits:   odata.DefaultLimits,
		Authorize: func(ctx context.Context, set string, write bool) error {
			return s.authz.Authorize(ctx, p, c, set, write)
		},
	}
	rw := &realmWriter{ResponseWriter: w, realm: s.cellURL(c)}
	svc.Serve(rw, r.WithContext(ctx), servicePath(r, "/"+c.Name+"/__ctl"))
}

// handleCellRoot answers GET and DELETE on {cell}.
func (s *Server) handleCellRoot(w http.ResponseWriter, r *http.Request) {
	c, err := s.cellOf(r)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.cellMetadata(w, r, c)
	case "ACL", "PROPFIND", "PROPPATCH":
		p, err := s.cellPrincipal(r, c)
		if err != nil {
			s.writeError(w, r, s.cellURL(c), err)
			return
		}
		switch r.Method {
		case "ACL":
			s.setCellACL(w, r, c, p)
		case "PROPFIND":
			s.propfindCell(w, r, c, p)
		default:
			s.proppatchCell(w, r, c, p)
		}
	case http.MethodDelete:
		// The unit master, a unit admin, or the unit user owning the cell.
		p, err := s.unitPrincipal(r)
		if err != nil {
			s.writeError(w, r, s.cfg.UnitURL, err)
			return
		}
		target := c
		if p.Kind == pds.Anonymous {
			target = nil
		}
		if err := s.authz.Authorize(r.Context(), p, target, "Cell", true); err != nil {
			s.writeError(w, r, s.cfg.UnitURL, err)
			return
		}
		if r.Header.Get("X-Personium-Recursive") != "true" {
			perr.Write(w, r, perr.New("PR412-MC-0001", "X-Personium-Recursive"))
			return
		}
		if err := s.cfg.Cells.DeleteRecursive(r.Context(), c); err != nil {
			perr.Write(w, r, err)
			return
		}
		if s.cfg.DAV != nil {
			s.cfg.DAV.Released()
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		perr.Write(w, r, perr.New("PR405-MC-0001"))
	}
}

// cellMetadata writes the cell's metadata: XML for application/xml, an
// HTML page for browsers, JSON otherwise (reference §1.3).
func (s *Server) cellMetadata(w http.ResponseWriter, r *http.Request, c *cell.Cell) {
	url := s.cellURL(c)
	accept := r.Header.Get("Accept")
	switch {
	case strings.Contains(accept, "application/xml") && !strings.Contains(accept, "json"):
		var b strings.Builder
		b.WriteString(xml.Header)
		b.WriteString(`<cell xmlns="urn:x-personium:xmlns"><uuid>`)
		_ = xml.EscapeText(&b, []byte(c.ID))
		b.WriteString("</uuid><ctl>")
		_ = xml.EscapeText(&b, []byte(url+"__ctl/"))
		b.WriteString("</ctl></cell>")
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(b.String()))
	case strings.Contains(accept, "text/html") && !strings.Contains(accept, "json"):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + html.EscapeString(c.Name) +
			"</title></head><body><h1>" + html.EscapeString(c.Name) + "</h1><p>Personium cell at <a href=\"" +
			html.EscapeString(url) + "\">" + html.EscapeString(url) + "</a></p></body></html>"))
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"cell": map[string]any{"name": c.Name, "url": url},
			"unit": map[string]any{"url": s.cfg.UnitURL, "path_based_cellurl_enabled": true},
		})
	}
}

// timeString formats Unix milliseconds as Personium's JSON dates.
func timeString(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}
