package dav

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// destination parses the Destination header: an absolute URL (or an
// absolute path) inside the same box.
func (q *request) destination() ([]string, error) {
	raw := q.r.Header.Get("Destination")
	if raw == "" {
		return nil, perr.New("PR400-DV-0010", "Destination")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		return nil, perr.New("PR400-DV-0009", "Destination", raw)
	}
	bu, err := url.Parse(q.box.URL)
	if err != nil {
		return nil, err
	}
	if !q.sameServer(u, bu) {
		return nil, perr.New("PR400-DV-0009", "Destination", raw)
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), bu.EscapedPath())
	if !ok {
		if u.EscapedPath()+"/" == bu.EscapedPath() {
			return nil, perr.New("PR400-DV-0015")
		}
		return nil, perr.New("PR400-DV-0009", "Destination", raw)
	}
	segs, _, err := splitPath(rest)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, perr.New("PR400-DV-0015")
	}
	return segs, nil
}

// overwrite parses the Overwrite header; def applies when it is absent.
func (q *request) overwrite(def bool) (bool, error) {
	switch v := q.r.Header.Get("Overwrite"); v {
	case "":
		return def, nil
	case "T", "t":
		return true, nil
	case "F", "f":
		return false, nil
	default:
		return false, perr.New("PR400-DV-0009", "Overwrite", v)
	}
}

func hasPrefix(segs, prefix []string) bool {
	if len(prefix) > len(segs) {
		return false
	}
	for i := range prefix {
		if segs[i] != prefix[i] {
			return false
		}
	}
	return true
}

// copyMove answers MOVE (Personium: Overwrite defaults to F, Depth must
// be infinity) and COPY (RFC 4918 §9.8: Overwrite defaults to T, Depth
// 0 or infinity). Moving onto an existing resource with Overwrite: T
// replaces it, collections included (RFC 4918 §9.9.4).
func (q *request) copyMove(move bool) error {
	if len(q.segs) == 0 {
		return perr.New("PR400-DV-0015")
	}
	depth := strings.ToLower(q.r.Header.Get("Depth"))
	switch {
	case depth == "" || depth == "infinity":
	case depth == "0" && !move:
	default:
		return perr.New("PR400-DV-0009", "Depth", q.r.Header.Get("Depth"))
	}
	over, err := q.overwrite(!move)
	if err != nil {
		return err
	}
	dsegs, err := q.destination()
	if err != nil {
		return err
	}
	src, err := q.resolveTarget()
	if err != nil {
		return err
	}
	n := src.target
	if n == nil {
		return perr.New("PR404-DV-0001", q.r.URL.Path)
	}
	if hasPrefix(dsegs, q.segs) {
		return perr.New("PR403-DV-0005", q.r.Header.Get("Destination"))
	}
	if move && n.name() == SrcCollection && len(src.ancestors) > 0 && src.parent().typ() == string(CollectionService) {
		return perr.New("PR400-DV-0011")
	}
	dst, err := q.t.resolve(q.ctx, dsegs)
	if err != nil {
		return err
	}
	if dst.under != nil {
		switch {
		case dst.under.isFile():
			return perr.New("PR400-DV-0014")
		case dst.under.typ() == string(CollectionOData):
			return perr.New("PR400-DV-0013")
		default:
			return perr.New("PR400-DV-0016")
		}
	}
	if dst.missing > 0 {
		return perr.New("PR409-DV-0001", q.url(dsegs[:len(dsegs)-1], true))
	}
	dparent := dst.parent()
	if n.special() || n.isCol() {
		if dparent.name() == SrcCollection && len(dst.ancestors) > 1 && dst.ancestors[len(dst.ancestors)-2].typ() == string(CollectionService) {
			return perr.New("PR400-DV-0018")
		}
	}
	if n.special() {
		for _, a := range dst.ancestors {
			if a.special() {
				return perr.New("PR400-DV-0018")
			}
		}
	}
	if move {
		err = q.check(src.parentChain(), acl.Unbind)
	} else {
		err = q.check(src.chain(), acl.Read)
	}
	if err == nil {
		err = q.check(dst.parentChain(), acl.Bind)
	}
	if err == nil && dst.target != nil {
		err = q.check(dst.parentChain(), acl.Unbind)
	}
	if err != nil {
		return err
	}
	if _, err := q.preconditions(n); err != nil {
		return err
	}
	if dst.target != nil {
		if !over {
			return perr.New("PR412-DV-0002")
		}
		if dst.target.name() == SrcCollection && len(dst.ancestors) > 0 && dparent.typ() == string(CollectionService) {
			return perr.New("PR400-DV-0017")
		}
	}
	if move {
		if err := q.lockedForDelete(src); err != nil {
			return err
		}
	}
	if err := q.lockedAt(dst, dsegs); err != nil {
		return err
	}
	var ops []metastore.Op
	var replaced []*node
	if dst.target != nil {
		replaced, err = q.t.subtree(q.ctx, dst.target)
		if err != nil {
			return err
		}
		for _, d := range replaced {
			ops = append(ops, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: d.id()}})
		}
		ops[0].IfVersion = dst.target.doc.Version
		held, err := heldDocs(q.ctx, q.h.cfg.Meta, q.box.Cell, replaced)
		if err != nil {
			return err
		}
		for _, id := range held {
			ops = append(ops, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: id}})
		}
	} else if err := q.checkCapacityAt(dst, dsegs); err != nil {
		return err
	}
	now := q.now()
	if move {
		m := *n
		m.doc.Parent, m.doc.Key, m.doc.Updated = dparent.id(), dsegs[len(dsegs)-1], now
		ops = append(ops, metastore.Op{Type: metastore.Update, Doc: m.encode(), IfVersion: n.doc.Version})
	} else {
		cops, err := q.copyOps(n, dparent.id(), dsegs, depth == "0", now)
		if err != nil {
			return err
		}
		ops = append(ops, cops...)
	}
	docs, err := q.h.cfg.Meta.Apply(q.ctx, ops...)
	if err != nil {
		if perr.Is(err, perr.PreconditionFailed) || perr.Is(err, perr.NotExist) || perr.Is(err, perr.Exist) {
			return perr.New("PR503-DV-0001")
		}
		return err
	}
	// The moved resource's new ETag and its place (apiref 309), for 201
	// and 204 alike.
	if move {
		for i := range docs {
			if docs[i].ID == n.id() {
				if moved, err := decodeNode(&docs[i]); err == nil {
					q.w.Header().Set("ETag", etag(moved))
				}
			}
		}
		q.w.Header().Set("Location", q.href(dsegs, n.isCol()))
	}
	if move {
		q.dropLocks(q.segs)
	}
	if dst.target != nil {
		q.dropLocks(dsegs)
		for _, d := range replaced {
			if d.body.Ref != "" {
				q.released()
				break
			}
		}
		q.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	q.w.Header().Set("Location", q.href(dsegs, n.isCol()))
	q.w.WriteHeader(http.StatusCreated)
	return nil
}

// copyOps creates copies of n (and, unless shallow, everything below it)
// under the collection parentID, named after dsegs. Dead properties and
// content are copied (content by reference: chunks are shared); ACLs
// are not (RFC 3744 §7.3: the copy gets the destination's defaults).
func (q *request) copyOps(n *node, parentID string, dsegs []string, shallow bool, now int64) ([]metastore.Op, error) {
	nodes := []*node{n}
	if !shallow {
		var err error
		if nodes, err = q.t.subtree(q.ctx, n); err != nil {
			return nil, err
		}
	}
	ids := map[string]string{n.doc.Parent: parentID}
	depthOf := map[string]int{n.id(): len(dsegs)}
	ops := make([]metastore.Op, 0, len(nodes))
	for i, s := range nodes {
		c := *s
		c.doc.ID = q.h.cfg.NewID()
		ids[s.id()] = c.doc.ID
		c.doc.Parent = ids[s.doc.Parent]
		if i == 0 {
			c.doc.Key = dsegs[len(dsegs)-1]
		} else {
			depthOf[s.id()] = depthOf[s.doc.Parent] + 1
			if depthOf[s.id()] > MaxDepthLevel {
				return nil, perr.New("PR400-DV-0008")
			}
		}
		c.doc.Published, c.doc.Updated = now, now
		c.body.ACL = nil
		ops = append(ops, metastore.Op{Type: metastore.Create, Doc: c.encode()})
	}
	return ops, nil
}

// checkCapacityAt enforces the limits for a new resource at dsegs.
func (q *request) checkCapacityAt(res *resolution, dsegs []string) error {
	if len(dsegs) > MaxDepthLevel {
		return perr.New("PR400-DV-0008")
	}
	n, err := q.t.countChildren(q.ctx, res.parent())
	if err != nil {
		return err
	}
	if n >= MaxChildren {
		return perr.New("PR400-DV-0007")
	}
	return nil
}

// sameServer reports whether u (from a Destination or If header) names
// this server: no host, or the unit URL's host, or the Host the request
// was sent to (a unit behind a proxy is reached under several names).
func (q *request) sameServer(u, box *url.URL) bool {
	return u.Host == "" || strings.EqualFold(u.Host, box.Host) || strings.EqualFold(u.Host, q.r.Host)
}
