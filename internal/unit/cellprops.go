package unit

import (
	"encoding/xml"
	"net/http"
	"time"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

var propCellStatus = xml.Name{Space: acl.NSPersonium, Local: "cellstatus"}

// propfindCell answers PROPFIND {cell} (privilege propfind): the cell's
// live and dead properties, its ACL for callers with acl-read, the
// caller's current-user-privilege-set (RFC 3744, Personium issue 46), and
// with Depth 1 its boxes (Personium issue 617).
func (s *Server) propfindCell(w http.ResponseWriter, r *http.Request, c *cell.Cell, p pds.Principal) {
	depth := r.Header.Get("Depth")
	switch depth {
	case "", "0", "1":
	case "infinity":
		perr.Write(w, r, perr.New("PR403-DV-0001"))
		return
	default:
		perr.Write(w, r, perr.New("PR400-DV-0003", depth))
		return
	}
	if err := s.cellPriv(r.Context(), c, p, "propfind"); err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	req, err := dav.ParsePropfind(r.Body)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	ctx := r.Context()
	props := []dav.Property{
		dav.TextProperty(dav.PropCreationDate, dav.CreationDate(time.UnixMilli(c.Published))),
		dav.TextProperty(dav.PropGetLastModified, dav.LiveDate(time.UnixMilli(c.Updated))),
		dav.ResourceTypeProp(xml.Name{Space: acl.NSDAV, Local: "collection"}),
		dav.TextProperty(propCellStatus, "normal"),
	}
	if z, ok := s.authz.(ACLAuthorizer); ok {
		if z.CellPrivilege(ctx, p, c, "acl-read") == nil {
			a, err := s.cfg.Cells.CellACL(ctx, c)
			if err != nil {
				perr.Write(w, r, err)
				return
			}
			props = append(props, dav.ACLProperty(a, s.cellURL(c)+"__role/__/", nil))
		}
		privs, err := z.CellPrivilegeSet(ctx, p, c)
		if err != nil {
			perr.Write(w, r, err)
			return
		}
		props = append(props, dav.PrivilegeSet(privs))
	}
	dead, err := s.cfg.Cells.CellProps(ctx, c)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	props = append(props, dead...)
	rs := []dav.Response{dav.SelectProps(s.cellURL(c), props, req)}
	if depth == "1" {
		boxes, _, err := s.cfg.Cells.CtlProvider(c).List(ctx, s.cfg.Cells.CellSchema().Type("Box"), &odata.ListRequest{Limit: -1})
		if err != nil {
			perr.Write(w, r, err)
			return
		}
		main := &odata.Entity{Props: map[string]any{"Name": string(pds.MainBox)}, Published: c.Published, Updated: c.Updated}
		for _, b := range append([]*odata.Entity{main}, boxes...) {
			bp := []dav.Property{
				dav.TextProperty(dav.PropCreationDate, dav.CreationDate(time.UnixMilli(b.Published))),
				dav.TextProperty(dav.PropGetLastModified, dav.LiveDate(time.UnixMilli(b.Updated))),
				dav.ResourceTypeProp(xml.Name{Space: acl.NSDAV, Local: "collection"}),
			}
			rs = append(rs, dav.SelectProps(s.cellURL(c)+b.Props["Name"].(string)+"/", bp, req))
		}
	}
	writeMultistatus(w, r, rs)
}

func writeMultistatus(w http.ResponseWriter, r *http.Request, rs []dav.Response) {
	if err := dav.ServeMultistatus(w, rs); err != nil {
		perr.Write(w, r, err)
	}
}

// proppatchCell answers PROPPATCH {cell}: dead properties of the cell,
// for the unit master, unit admins and the owning unit user only
// (reference §1.3). Live properties cannot be set: the whole patch fails
// (RFC 4918 §9.2: 403 for them, 424 for the rest).
func (s *Server) proppatchCell(w http.ResponseWriter, r *http.Request, c *cell.Cell, p pds.Principal) {
	if !p.HasUnitPowers() && !(p.Kind == pds.UnitUser && c.Owner != "" && c.Owner == p.Subject) {
		if p.Kind == pds.Anonymous {
			s.writeError(w, r, s.cellURL(c), authError(r.Context()))
			return
		}
		perr.Write(w, r, perr.New("PR403-AU-0001"))
		return
	}
	ops, err := dav.ParseProppatch(r.Body)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	var ok, protected []dav.Property
	for _, op := range ops {
		for _, pr := range op.Props {
			switch {
			case pr.Name.Space == acl.NSDAV || pr.Name == propCellStatus:
				protected = append(protected, dav.Property{Name: pr.Name})
			case !op.Remove:
				ok = append(ok, dav.Property{Name: pr.Name, Attr: pr.Attr, InnerXML: pr.InnerXML}) // echoed (apiref 291)
			default:
				ok = append(ok, dav.Property{Name: pr.Name})
			}
		}
	}
	resp := dav.Response{Href: s.cellURL(c)}
	if len(protected) > 0 {
		resp.Propstats = []dav.Propstat{{Props: protected, Status: http.StatusForbidden}}
		if len(ok) > 0 {
			names := make([]dav.Property, len(ok))
			for i := range ok {
				names[i] = dav.Property{Name: ok[i].Name}
			}
			resp.Propstats = append(resp.Propstats, dav.Propstat{Props: names, Status: http.StatusFailedDependency})
		}
		writeMultistatus(w, r, []dav.Response{resp})
		return
	}
	if err := s.cfg.Cells.PatchCellProps(r.Context(), c, ops); err != nil {
		perr.Write(w, r, err)
		return
	}
	resp.Propstats = []dav.Propstat{{Props: ok, Status: http.StatusOK}}
	writeMultistatus(w, r, []dav.Response{resp})
}
