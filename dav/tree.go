package dav

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// KindNode is the document kind of WebDAV resources. A node's Parent is
// its collection's ID (the box root node's ID for the box's top level),
// its Key its name, its Cell the cell's ID. The box root node has the ID
// the unit chose for the box (Box.Root), no parent and that ID as its
// key; it is stored only once it has an ACL or properties of its own.
const KindNode = "DavNode"

// TypeFile is the node type of files; collections have a CollectionType.
const TypeFile = "dav.file"

// Limits of the tree (Personium's dav.childresource.maxcount and
// dav.depth.maxcount, reference §12).
const (
	MaxChildren   = 1024
	MaxDepthLevel = 50
	MaxNameBytes  = 256 // of a path segment, UTF-8 encoded
	// MaxDeadPropBytes bounds the dead properties of one resource.
	MaxDeadPropBytes = 1 << 20
)

// nodeBody is the JSON body of a node document.
type nodeBody struct {
	Type  string       `json:"type"`
	Box   string       `json:"box"`            // box root node ID, for box-wide queries
	CT    string       `json:"ct,omitempty"`   // files: Content-Type
	Size  int64        `json:"size,omitempty"` // files: length in bytes
	Ref   string       `json:"ref,omitempty"`  // files: Swarm reference in hex (with the key when encrypted)
	ACL   *acl.ACL     `json:"acl,omitempty"`
	Props []StoredProp `json:"props,omitempty"`
}

// StoredProp is a dead property as documents store it (JSON).
type StoredProp struct {
	Space string     `json:"s"`
	Local string     `json:"l"`
	XML   string     `json:"x"`
	Attr  []xml.Attr `json:"a,omitempty"`
}

// StoreProps converts ps to their stored form; together they may hold
// at most MaxDeadPropBytes.
func StoreProps(ps []Property) ([]StoredProp, error) {
	total := 0
	out := make([]StoredProp, len(ps))
	for i, p := range ps {
		total += len(p.InnerXML) + len(p.Name.Space) + len(p.Name.Local)
		out[i] = StoredProp{Space: p.Name.Space, Local: p.Name.Local, XML: string(p.InnerXML), Attr: p.Attr}
	}
	if total > MaxDeadPropBytes {
		return nil, perr.New(codeContent).WithCause(errTooManyProps)
	}
	return out, nil
}

// LoadProps converts stored properties back.
func LoadProps(ss []StoredProp) []Property {
	out := make([]Property, len(ss))
	for i, s := range ss {
		out[i] = Property{Name: xml.Name{Space: s.Space, Local: s.Local}, InnerXML: []byte(s.XML), Attr: s.Attr}
	}
	return out
}

// node is one resource as loaded from the store.
type node struct {
	doc  metastore.Doc
	body nodeBody
	// stored is false for the box root when it has no document yet.
	stored bool
}

func (n *node) isCol() bool  { return n.body.Type != TypeFile }
func (n *node) isFile() bool { return n.body.Type == TypeFile }
func (n *node) typ() string  { return n.body.Type }
func (n *node) id() string   { return n.doc.ID }
func (n *node) name() string { return n.doc.Key }
func (n *node) special() bool {
	return n.body.Type == string(CollectionOData) || n.body.Type == string(CollectionService) || n.body.Type == string(CollectionStream)
}

func (n *node) props() []Property { return LoadProps(n.body.Props) }

func (n *node) setProps(ps []Property) error {
	stored, err := StoreProps(ps)
	if err != nil {
		return err
	}
	n.body.Props = stored
	return nil
}

var errTooManyProps = perr.Errorf(perr.Invalid, "dav: dead properties of one resource exceed %d bytes", MaxDeadPropBytes)

func decodeNode(d *metastore.Doc) (*node, error) {
	n := &node{doc: *d, stored: true}
	if err := json.Unmarshal(d.Body, &n.body); err != nil {
		return nil, perr.New("PR500-DV-0002").WithCause(err)
	}
	return n, nil
}

func (n *node) encode() metastore.Doc {
	d := n.doc
	d.Body, _ = json.Marshal(n.body)
	return d
}

// tree reads and writes the nodes of one box.
type tree struct {
	store metastore.Store
	box   *Box
}

// root loads the box root node (synthesized when not stored).
func (t *tree) root(ctx context.Context) (*node, error) {
	d, err := t.store.Get(ctx, t.box.Root)
	switch {
	case err == nil:
		return decodeNode(d)
	case perr.Is(err, perr.NotExist):
		return &node{doc: metastore.Doc{ID: t.box.Root, Kind: KindNode, Cell: t.box.Cell, Key: t.box.Root,
			Published: t.box.Published, Updated: t.box.Updated, Version: 0},
			body: nodeBody{Type: string(CollectionPlain), Box: t.box.Root}}, nil
	}
	return nil, err
}

// child loads the child called name of collection parent; nil if absent.
func (t *tree) child(ctx context.Context, parent *node, name string) (*node, error) {
	d, err := t.store.GetKey(ctx, KindNode, t.box.Cell, parent.id(), name)
	if perr.Is(err, perr.NotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeNode(d)
}

// children lists the children of a collection, by name.
func (t *tree) children(ctx context.Context, parent *node) ([]*node, error) {
	res, err := t.store.Query(ctx, &metastore.Query{Kind: KindNode, Cell: t.box.Cell, Parent: parent.id(), Limit: -1})
	if err != nil {
		return nil, err
	}
	out := make([]*node, 0, len(res.Docs))
	for i := range res.Docs {
		n, err := decodeNode(&res.Docs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// countChildren counts the children of a collection.
func (t *tree) countChildren(ctx context.Context, parent *node) (int64, error) {
	res, err := t.store.Query(ctx, &metastore.Query{Kind: KindNode, Cell: t.box.Cell, Parent: parent.id(), Limit: 0, Count: true})
	if err != nil {
		return 0, err
	}
	return res.Count, nil
}

// subtree returns n and every node below it, parents before children.
func (t *tree) subtree(ctx context.Context, n *node) ([]*node, error) {
	out := []*node{n}
	for i := 0; i < len(out); i++ {
		if !out[i].isCol() {
			continue
		}
		kids, err := t.children(ctx, out[i])
		if err != nil {
			return nil, err
		}
		out = append(out, kids...)
	}
	return out, nil
}

// resolution is where a path leads.
type resolution struct {
	// ancestors are the collections from the box root down to the
	// target's parent (all existing); for the root itself, empty.
	ancestors []*node
	// target is the resource, nil if it does not exist.
	target *node
	// missing counts path segments below the deepest existing node that
	// are not the last one: a missing intermediate collection (0 when
	// the parent exists).
	missing int
	// name is the last segment ("" for the root).
	name string
	// under is set when a segment below an existing file or special
	// collection was reached: rest are the segments from there on.
	under *node
	rest  []string
}

// parent returns the target's parent collection (nil for the root).
func (r *resolution) parent() *node {
	if len(r.ancestors) == 0 {
		return nil
	}
	return r.ancestors[len(r.ancestors)-1]
}

// chain returns the ACLs that apply to the target, or to where it would
// be created: its own and its ancestors', nearest first.
//
// (inSource, below, says whether the target is a file directly in a
// service collection's __src.)
func (r *resolution) inSource() bool {
	n := len(r.ancestors)
	return r.missing == 0 && n >= 2 && r.ancestors[n-1].name() == SrcCollection &&
		r.ancestors[n-2].typ() == string(CollectionService)
}

func (r *resolution) chain() []*acl.ACL {
	var out []*acl.ACL
	if r.target != nil && r.target.body.ACL != nil {
		out = append(out, r.target.body.ACL)
	}
	for i := len(r.ancestors) - 1; i >= 0; i-- {
		if a := r.ancestors[i].body.ACL; a != nil {
			out = append(out, a)
		}
	}
	return out
}

// parentChain returns the ACLs that apply to the target's parent.
func (r *resolution) parentChain() []*acl.ACL {
	var out []*acl.ACL
	for i := len(r.ancestors) - 1; i >= 0; i-- {
		if a := r.ancestors[i].body.ACL; a != nil {
			out = append(out, a)
		}
	}
	return out
}

// resolve walks segs from the box root. A file or a special collection
// (OData, service, stream) met before the last segment stops the walk:
// under and rest say where (special collections route their insides
// elsewhere; below a file nothing exists). A service collection's
// "__src" is walked into, since it is a plain WebDAV collection.
func (t *tree) resolve(ctx context.Context, segs []string) (*resolution, error) {
	cur, err := t.root(ctx)
	if err != nil {
		return nil, err
	}
	res := &resolution{}
	if len(segs) == 0 {
		res.target = cur
		return res, nil
	}
	for i, s := range segs {
		if cur.isFile() || (cur.special() && !(cur.typ() == string(CollectionService) && s == SrcCollection)) {
			res.ancestors = append(res.ancestors, cur)
			res.under, res.rest, res.name = cur, segs[i:], segs[len(segs)-1]
			return res, nil
		}
		next, err := t.child(ctx, cur, s)
		if err != nil {
			return nil, err
		}
		res.ancestors = append(res.ancestors, cur)
		if next == nil {
			res.name = segs[len(segs)-1]
			res.missing = len(segs) - 1 - i
			return res, nil
		}
		cur = next
	}
	res.target = cur
	res.name = segs[len(segs)-1]
	return res, nil
}

// SrcCollection is the source collection of a service collection.
const SrcCollection = "__src"

// splitPath splits the escaped path below a box root into decoded
// segments, refusing what no resource name may be: encoded slashes and
// backslashes, "." and "..", control characters, invalid UTF-8, empty
// segments inside the path and over-long names (PR400-DV-0009 would
// misname the header; Personium answers PR403-DV-0004 for bad names).
// A trailing slash is allowed and reported.
func splitPath(escaped string) (segs []string, slash bool, err error) {
	escaped = strings.TrimPrefix(escaped, "/")
	if escaped == "" {
		return nil, true, nil
	}
	slash = strings.HasSuffix(escaped, "/")
	escaped = strings.TrimSuffix(escaped, "/")
	for _, raw := range strings.Split(escaped, "/") {
		s, uerr := url.PathUnescape(raw)
		if uerr != nil || !validName(s) {
			return nil, false, perr.New("PR403-DV-0004", raw)
		}
		segs = append(segs, s)
	}
	if len(segs) > MaxDepthLevel+1 {
		return nil, false, perr.New("PR400-DV-0008")
	}
	return segs, slash, nil
}

// validName reports whether s may name a resource.
func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > MaxNameBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// escapeSegment percent-encodes a name for an href.
func escapeSegment(s string) string {
	return url.PathEscape(s)
}

// RootACL returns the ACL set on the box root node root; nil if none.
func RootACL(ctx context.Context, store metastore.Store, root string) (*acl.ACL, error) {
	d, err := store.Get(ctx, root)
	if perr.Is(err, perr.NotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	n, err := decodeNode(d)
	if err != nil {
		return nil, err
	}
	return n.body.ACL, nil
}

// References calls fn with the content reference of every file in the
// cell with ID cellID, from one consistent query (paging could miss a
// file moved meanwhile, and the garbage collector must see them all).
func References(ctx context.Context, store metastore.Store, cellID string, fn func(ref string) error) error {
	res, err := store.Query(ctx, &metastore.Query{Kind: KindNode, Cell: cellID, AnyParent: true,
		Filter: metastore.Cmp{Field: "type", Op: metastore.Eq, Value: TypeFile}, Limit: -1})
	if err != nil {
		return err
	}
	for i := range res.Docs {
		var b nodeBody
		if err := json.Unmarshal(res.Docs[i].Body, &b); err != nil {
			return perr.New("PR500-DV-0002").WithCause(err)
		}
		if b.Ref == "" {
			continue
		}
		if err := fn(b.Ref); err != nil {
			return err
		}
	}
	return nil
}

// File is a file of a cell's boxes, for tools: the box root node ID,
// its path below the box root ("/a/b.txt") and its content reference.
type File struct {
	Root, Path, Ref string
	Size            int64
}

// Files calls fn with every file of the cell with ID cellID that has
// content, from one consistent query of the cell's nodes.
func Files(ctx context.Context, store metastore.Store, cellID string, fn func(File) error) error {
	res, err := store.Query(ctx, &metastore.Query{Kind: KindNode, Cell: cellID, AnyParent: true, Limit: -1})
	if err != nil {
		return err
	}
	byID := make(map[string]*metastore.Doc, len(res.Docs))
	for i := range res.Docs {
		byID[res.Docs[i].ID] = &res.Docs[i]
	}
	for i := range res.Docs {
		d := &res.Docs[i]
		var b nodeBody
		if err := json.Unmarshal(d.Body, &b); err != nil {
			return perr.New("PR500-DV-0002").WithCause(err)
		}
		if b.Type != TypeFile || b.Ref == "" {
			continue
		}
		path := "/" + d.Key
		parent := d.Parent
		for depth := 0; depth <= MaxDepthLevel; depth++ {
			p, ok := byID[parent]
			if !ok {
				break
			}
			path = "/" + p.Key + path
			parent = p.Parent
		}
		if err := fn(File{Root: parent, Path: path, Ref: b.Ref, Size: b.Size}); err != nil {
			return err
		}
	}
	return nil
}

// HasContents reports whether the box with root node root holds any
// resource.
func HasContents(ctx context.Context, store metastore.Store, cellID, root string) (bool, error) {
	res, err := store.Query(ctx, &metastore.Query{Kind: KindNode, Cell: cellID, Parent: root, Limit: 0, Count: true})
	if err != nil {
		return false, err
	}
	return res.Count > 0, nil
}

// EnsureIndexes asks the store (if it can) to index the node members
// the tree queries: the node type (garbage collection) and the box.
func EnsureIndexes(ctx context.Context, store metastore.Store) error {
	ix, ok := store.(metastore.Indexer)
	if !ok {
		return nil
	}
	return ix.EnsureIndex(ctx, KindNode, "type", "box")
}

// BoxNodes returns the IDs of every stored node of the box with root
// node root except the root itself, and of the documents its special
// collections hold (for deleting a whole box).
func BoxNodes(ctx context.Context, store metastore.Store, cellID, root string) ([]string, error) {
	res, err := store.Query(ctx, &metastore.Query{Kind: KindNode, Cell: cellID, AnyParent: true,
		Filter: metastore.Cmp{Field: "box", Op: metastore.Eq, Value: root}, Limit: -1})
	if err != nil {
		return nil, err
	}
	var ids []string
	var nodes []*node
	for i, d := range res.Docs {
		if d.ID != root {
			ids = append(ids, d.ID)
			if n, err := decodeNode(&res.Docs[i]); err == nil {
				nodes = append(nodes, n)
			}
		}
	}
	held, err := heldDocs(ctx, store, cellID, nodes)
	return append(ids, held...), err
}

// heldDocs returns the IDs of the documents special collections among
// nodes hold (an OData collection's schema and data): every kind whose
// Parent is the collection's node ID, or starts with it and a slash.
func heldDocs(ctx context.Context, store metastore.Store, cellID string, nodes []*node) ([]string, error) {
	ids, _, err := heldContent(ctx, store, cellID, nodes, nil)
	return ids, err
}

// heldContent is heldDocs, also counting the documents that are content:
// those whose kind is not in bookkeeping (such as a schema's version
// counter, which does not make a collection non-empty).
func heldContent(ctx context.Context, store metastore.Store, cellID string, nodes []*node, bookkeeping map[string]bool) ([]string, int, error) {
	var ids []string
	content := 0
	for _, n := range nodes {
		if !n.special() {
			continue
		}
		res, err := store.Query(ctx, &metastore.Query{AnyKind: true, Cell: cellID, AnyParent: true, Limit: -1,
			Filter: metastore.Or{metastore.Cmp{Field: metastore.FieldParent, Op: metastore.Eq, Value: n.id()},
				metastore.Prefix{Field: metastore.FieldParent, Value: n.id() + "/"}}})
		if err != nil {
			return nil, 0, err
		}
		for _, d := range res.Docs {
			if d.Kind == KindNode {
				continue // a service's __src and its files: in the subtree already
			}
			ids = append(ids, d.ID)
			if !bookkeeping[d.Kind] {
				content++
			}
		}
	}
	return ids, content, nil
}
