package dav

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
)

// Live properties this package serves besides those in xml.go.
var (
	PropCurrentUserPrivilegeSet = xml.Name{Space: NSDAV, Local: "current-user-privilege-set"}
	PropLockDiscovery           = xml.Name{Space: NSDAV, Local: "lockdiscovery"}
	PropSupportedLock           = xml.Name{Space: NSDAV, Local: "supportedlock"}

	attrXMLBase     = xml.Name{Space: nsXML, Local: "base"}
	attrSchemaAuthz = xml.Name{Space: NSPersonium, Local: "requireSchemaAuthz"}
)

// protected lists the live properties PROPPATCH may not change.
var protected = map[xml.Name]bool{
	PropResourceType: true, PropCreationDate: true, PropGetLastModified: true, PropGetContentLength: true,
	PropGetContentType: true, PropGetETag: true, PropACL: true, PropCurrentUserPrivilegeSet: true,
	PropLockDiscovery: true, PropSupportedLock: true,
}

// propfind answers PROPFIND with Depth 0 or 1. A missing Depth means
// infinity (RFC 4918 §9.1), which is refused with 403 and the
// propfind-finite-depth precondition, as RFC 4918 allows; Personium
// answers PR400-DV-0003 there.
func (q *request) propfind() error {
	depth := q.r.Header.Get("Depth")
	switch strings.ToLower(depth) {
	case "0", "1":
	case "infinity", "":
		return perr.New("PR403-DV-0001")
	default:
		return perr.New("PR400-DV-0003", depth)
	}
	res, n, err := q.existing(acl.ReadProperties)
	if err != nil {
		return err
	}
	chain := res.chain()
	req, err := ParsePropfind(q.r.Body)
	if err != nil {
		return err
	}
	locks, err := q.lockIndex(n.isCol() && depth == "1")
	if err != nil {
		return err
	}
	inherited := q.inheritedACLs(res)
	rs := []Response{q.propResponse(q.segs, n, chain, inherited, req, locks)}
	if depth == "1" && n.isCol() {
		kids, err := q.t.children(q.ctx, n)
		if err != nil {
			return err
		}
		var kidInherited []inheritedACL
		if n.body.ACL != nil {
			kidInherited = append(kidInherited, inheritedACL{acl: n.body.ACL, href: q.href(q.segs, true)})
		}
		kidInherited = append(kidInherited, inherited...)
		for _, k := range kids {
			segs := append(q.segs[:len(q.segs):len(q.segs)], k.name())
			kchain := chain
			if k.body.ACL != nil {
				kchain = append([]*acl.ACL{k.body.ACL}, chain...)
			}
			rs = append(rs, q.propResponse(segs, k, kchain, kidInherited, req, locks))
		}
	}
	return q.writeMultistatus(rs)
}

// inheritedACL is an ancestor's ACL and the ancestor's URL.
type inheritedACL struct {
	acl  *acl.ACL
	href string
}

// inheritedACLs lists the ACLs of the target's ancestors, nearest first.
func (q *request) inheritedACLs(res *resolution) []inheritedACL {
	var out []inheritedACL
	for i := len(res.ancestors) - 1; i >= 0; i-- {
		if a := res.ancestors[i].body.ACL; a != nil {
			out = append(out, inheritedACL{acl: a, href: q.href(q.segs[:i], true)})
		}
	}
	return out
}

// propResponse builds the response for one resource.
func (q *request) propResponse(segs []string, n *node, chain []*acl.ACL, inherited []inheritedACL, req *PropfindRequest, locks *lockIndex) Response {
	href := q.href(segs, n.isCol())
	props := q.liveProps(segs, n, chain, inherited, locks)
	props = append(props, n.props()...)
	return SelectProps(href, props, req)
}

// liveProps returns the live properties of n.
func (q *request) liveProps(segs []string, n *node, chain []*acl.ACL, inherited []inheritedACL, locks *lockIndex) []Property {
	props := []Property{
		TextProperty(PropCreationDate, CreationDate(time.UnixMilli(n.doc.Published))),
		TextProperty(PropGetLastModified, LiveDate(time.UnixMilli(n.doc.Updated))),
		ResourceTypeProp(CollectionType(n.typ()).ResourceType()...),
		TextProperty(PropGetETag, etag(n)),
	}
	if n.isFile() {
		props = append(props,
			TextProperty(PropGetContentLength, strconv.FormatInt(n.body.Size, 10)),
			TextProperty(PropGetContentType, n.body.CT))
	}
	if q.h.cfg.Locks != nil {
		props = append(props, SupportedLockProperty(), LockDiscoveryProperty(locks.covering(segs), q.lockHref))
	}
	if q.box.Access.Check(q.ctx, chain, acl.ReadACL) == nil {
		props = append(props, ACLProperty(n.body.ACL, q.box.RoleBase, inherited))
	}
	props = append(props, PrivilegeSet(q.box.Access.Privileges(q.ctx, chain)))
	return props
}

// SelectProps selects what a PROPFIND asked for: everything (allprop,
// with include), names only (propname), or the named properties, with
// 404 for those that do not exist.
func SelectProps(href string, props []Property, req *PropfindRequest) Response {
	switch {
	case req.PropName:
		names := make([]Property, len(props))
		for i, p := range props {
			names[i] = Property{Name: p.Name}
		}
		return Response{Href: href, Propstats: []Propstat{{Props: names, Status: http.StatusOK}}}
	case len(req.Prop) > 0:
		var found, missing []Property
		for _, name := range req.Prop {
			hit := false
			for _, p := range props {
				if p.Name == name {
					found, hit = append(found, p), true
					break
				}
			}
			if !hit {
				missing = append(missing, Property{Name: name})
			}
		}
		var ps []Propstat
		if len(found) > 0 {
			ps = append(ps, Propstat{Props: found, Status: http.StatusOK})
		}
		if len(missing) > 0 {
			ps = append(ps, Propstat{Props: missing, Status: http.StatusNotFound})
		}
		return Response{Href: href, Propstats: ps}
	}
	return Response{Href: href, Propstats: []Propstat{{Props: props, Status: http.StatusOK}}}
}

// ACLProperty renders the DAV:acl property as Personium shows it:
// xml:base (and p:requireSchemaAuthz) on the element, the resource's own
// ACEs, then each ancestor's ACEs marked with DAV:inherited (RFC 3744
// §5.5.1). Each ACE declares the namespaces it uses, so the value stands
// alone.
func ACLProperty(a *acl.ACL, base string, inherited []inheritedACL) Property {
	var inner strings.Builder
	inner.WriteString(aceXML(a, base, ""))
	for _, in := range inherited {
		inner.WriteString(aceXML(in.acl, base, in.href))
	}
	p := Property{Name: PropACL, InnerXML: []byte(inner.String()), Attr: []xml.Attr{{Name: attrXMLBase, Value: base}}}
	if a != nil && a.SchemaAuthz != acl.SchemaAuthzUnset {
		p.Attr = append(p.Attr, xml.Attr{Name: attrSchemaAuthz, Value: string(a.SchemaAuthz)})
	}
	return p
}

// aceXML returns the ACEs of a as self-contained XML; from, when set,
// marks them inherited from that URL.
func aceXML(a *acl.ACL, base, from string) string {
	if a == nil || len(a.ACEs) == 0 {
		return ""
	}
	full := string((&acl.ACL{ACEs: a.ACEs}).Marshal(base))
	i, j := strings.IndexByte(full, '>'), strings.LastIndex(full, "</D:acl>")
	if i < 0 || j <= i {
		return ""
	}
	inner := full[i+1 : j]
	inner = strings.ReplaceAll(inner, "<D:ace>", `<D:ace xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">`)
	if from != "" {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(from))
		inner = strings.ReplaceAll(inner, "</D:grant></D:ace>", "</D:grant><D:inherited><D:href>"+e.String()+"</D:href></D:inherited></D:ace>")
	}
	return inner
}

// PrivilegeSet is DAV:current-user-privilege-set (RFC 3744 §5.4).
func PrivilegeSet(privs []pds.Privilege) Property {
	var b strings.Builder
	for _, p := range privs {
		prefix := "D"
		switch acl.Namespace(p) {
		case NSPersonium:
			prefix = "p"
		case NSDAV:
		default:
			continue
		}
		b.WriteString(`<D:privilege xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><` + prefix + ":" + string(p) + "/></D:privilege>")
	}
	return Property{Name: PropCurrentUserPrivilegeSet, InnerXML: []byte(b.String())}
}

// proppatch answers PROPPATCH: dead properties, set and removed in
// document order, all or nothing (RFC 4918 §9.2). Live properties are
// protected: the whole patch fails, 403 for them and 424 for the rest.
func (q *request) proppatch() error {
	res, n, err := q.existing(acl.WriteProperties)
	if err != nil {
		return err
	}
	if _, err := q.preconditions(n); err != nil {
		return err
	}
	ops, err := ParseProppatch(q.r.Body)
	if err != nil {
		return err
	}
	if err := q.lockedForWrite(res, false); err != nil {
		return err
	}
	var ok, bad []Property
	for _, op := range ops {
		for _, p := range op.Props {
			if !op.Remove && p.Name == PropService && n.typ() == string(CollectionService) && q.h.cfg.CheckService != nil {
				if err := q.h.cfg.CheckService(q.ctx, q.box.Access, p); err != nil {
					return err
				}
			}
			switch {
			case protected[p.Name]:
				bad = append(bad, Property{Name: p.Name})
			case !op.Remove && !q.box.PlainClient:
				// Personium echoes what was set (apiref 308, 313);
				// plain WebDAV clients get RFC 4918's empty elements.
				ok = append(ok, Property{Name: p.Name, Attr: p.Attr, InnerXML: p.InnerXML})
			default:
				ok = append(ok, Property{Name: p.Name})
			}
		}
	}
	resp := Response{Href: q.href(q.segs, n.isCol())}
	if len(bad) > 0 {
		resp.Propstats = []Propstat{{Props: bad, Status: http.StatusForbidden,
			Error: []Property{{Name: xml.Name{Space: NSDAV, Local: "cannot-modify-protected-property"}}}}}
		if len(ok) > 0 {
			names := make([]Property, len(ok))
			for i := range ok {
				names[i] = Property{Name: ok[i].Name}
			}
			resp.Propstats = append(resp.Propstats, Propstat{Props: names, Status: http.StatusFailedDependency})
		}
		return q.writeMultistatus([]Response{resp})
	}
	if err := n.setProps(ApplyPatch(n.props(), ops)); err != nil {
		return err
	}
	n.doc.Updated = q.now()
	if _, err := q.commitNode(n); err != nil {
		return err
	}
	resp.Propstats = []Propstat{{Props: ok, Status: http.StatusOK}}
	return q.writeMultistatus([]Response{resp})
}

// ApplyPatch applies PROPPATCH operations to dead properties, in
// document order: a set replaces a property of the same name or is
// appended, a remove drops it (removing an absent property is no error).
func ApplyPatch(props []Property, ops []PatchOp) []Property {
	for _, op := range ops {
		for _, p := range op.Props {
			i := indexProp(props, p.Name)
			switch {
			case op.Remove && i >= 0:
				props = append(props[:i], props[i+1:]...)
			case op.Remove:
			case i >= 0:
				props[i] = p
			default:
				props = append(props, p)
			}
		}
	}
	return props
}

func indexProp(props []Property, n xml.Name) int {
	for i, p := range props {
		if p.Name == n {
			return i
		}
	}
	return -1
}

func (q *request) writeMultistatus(rs []Response) error {
	return ServeMultistatus(q.w, rs)
}

// ServeMultistatus answers 207 with rs. The body is rendered before
// anything is sent, so an error leaves w untouched for an error reply.
func ServeMultistatus(w http.ResponseWriter, rs []Response) error {
	var b bytes.Buffer
	if err := WriteMultistatus(&b, rs); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	_, _ = w.Write(b.Bytes())
	return nil
}

// aclMethod answers ACL: replace the resource's ACL (RFC 3744 §8.1 as
// Personium uses it; privilege write-acl).
func (q *request) aclMethod() error {
	res, n, err := q.existing(acl.WriteACL)
	if err != nil {
		return err
	}
	a, err := acl.Parse(q.r.Body, q.box.RoleBase, acl.BoxLevel)
	if err != nil {
		return err
	}
	if err := q.box.Access.CheckPrincipals(q.ctx, a); err != nil {
		return err
	}
	if err := q.lockedForWrite(res, false); err != nil {
		return err
	}
	if len(a.ACEs) == 0 && a.SchemaAuthz == acl.SchemaAuthzUnset {
		a = nil
	}
	n.body.ACL = a
	n.doc.Updated = q.now()
	if _, err := q.commitNode(n); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusOK)
	return nil
}
