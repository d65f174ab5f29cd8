package odata

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// KindLink is the document kind of N:N association links.
const KindLink = "Link"

// Hooks customise one entity type of a DocProvider.
type Hooks struct {
	// Check runs before a create (old nil) or an update; it may refuse
	// the write with an error or adjust e.Props.
	Check func(ctx context.Context, old, e *Entity) error
	// Extra adds store operations to the same atomic batch as a create
	// (old nil), update, or delete (e nil).
	Extra func(ctx context.Context, old, e *Entity) ([]metastore.Op, error)
	// Link, if set, runs before src (of this hook's type) is linked
	// through n to tgt, by $links or by a create through n; it may
	// refuse the link.
	Link func(ctx context.Context, src *Entity, n *NavProp, tgt *Entity) error
	// ReadOnly makes the set refuse creates and updates (405; a Service
	// answers so before anything else is looked at, as Personium's
	// checkNotAllowedMethod does); deletes and links stay allowed.
	ReadOnly bool
}

// ReadOnly reports whether set refuses creates and updates through a
// Service (Hooks.ReadOnly).
func (p *DocProvider) ReadOnly(set string) bool { return p.Hooks[set] != nil && p.Hooks[set].ReadOnly }

// DocProvider stores the entities of one OData service as metastore
// documents: kind = entity type name, Cell and Parent = the provider's
// scope, Key = the JSON array of the key property values. N:N links are
// documents of kind KindLink; 0..1:N associations are properties of the
// "many" side (Role."_Box.Name") and are renamed along with their target.
type DocProvider struct {
	Store  metastore.Store
	Schema *Schema
	Cell   string // scope: cell ID ("" for the unit)
	Parent string // scope: parent ID ("" for control objects)
	Now    func() time.Time
	NewID  func() string
	Hooks  map[string]*Hooks // by entity type name
	// Scope, if it has a filter for a type, limits what the provider sees
	// of that type: lists are filtered, other entities do not exist (a
	// unit user sees only the cells it owns).
	Scope map[string]metastore.Expr
	// Bump, if set, returns an operation added to every write batch of
	// the provider (the user schema's version, see SchemaVersion).
	Bump func(ctx context.Context) (metastore.Op, error)
}

// ListRequest is a compiled list query.
type ListRequest struct {
	Filter metastore.Expr
	Order  []metastore.Order
	Text   string
	Skip   int
	Limit  int
	Count  bool
	IDs    []string // restrict to these store IDs when non-nil
}

func (p *DocProvider) hooks(t *EntityType) *Hooks {
	if h := p.Hooks[t.Name]; h != nil {
		return h
	}
	return &Hooks{}
}

// storeKey is the natural key of an entity: the JSON array of its key values.
func storeKey(t *EntityType, props map[string]any) string {
	vals := make([]any, len(t.Keys))
	for i, k := range t.Keys {
		vals[i] = props[k]
	}
	b, _ := json.Marshal(vals)
	return string(b)
}

// KeyProps maps a key predicate onto the key properties of t. Omitted
// key properties of a compound key are null (Role('r') is the role r
// without a box).
func KeyProps(t *EntityType, kp KeyPredicate) (map[string]any, error) {
	m := make(map[string]any, len(t.Keys))
	for _, k := range t.Keys {
		m[k] = nil
	}
	if len(kp) == 1 && kp[0].Name == "" {
		m[t.Keys[0]] = kp[0].Value
	} else {
		for _, part := range kp {
			if part.Name == "" || !t.IsKey(part.Name) {
				return nil, perr.New("PR400-OD-0004")
			}
			m[part.Name] = part.Value
		}
	}
	if m[t.Keys[0]] == nil {
		return nil, perr.New("PR400-OD-0004")
	}
	// Key values must have the key property's type: Box(123) is no Box key.
	for _, k := range t.Keys {
		v := m[k]
		if v == nil {
			continue
		}
		p := t.Prop(k)
		typ := EdmString
		if p != nil {
			typ = p.Type
		}
		ok := false
		switch typ {
		case EdmString:
			_, ok = v.(string)
		case EdmBoolean:
			_, ok = v.(bool)
		case EdmInt32:
			_, ok = v.(int64)
		case EdmDouble, EdmSingle:
			switch v.(type) {
			case int64, float64:
				ok = true
			}
		}
		if !ok {
			return nil, perr.New("PR400-OD-0004")
		}
	}
	return m, nil
}

func (p *DocProvider) load(t *EntityType, d *metastore.Doc) (*Entity, error) {
	dec := json.NewDecoder(bytes.NewReader(d.Body))
	dec.UseNumber()
	var props map[string]any
	if err := dec.Decode(&props); err != nil {
		return nil, perr.Errorf(perr.Internal, "odata: corrupt document %s: %v", d.ID, err)
	}
	for k, v := range props {
		props[k] = fromStored(t.Prop(k), v)
	}
	return &Entity{Type: t, ID: d.ID, Props: props, Version: d.Version, Published: d.Published, Updated: d.Updated}, nil
}

func (p *DocProvider) doc(e *Entity) metastore.Doc {
	body, _ := json.Marshal(e.Props)
	return metastore.Doc{ID: e.ID, Kind: e.Type.StoreKind(), Cell: p.Cell, Parent: p.Parent,
		Key: storeKey(e.Type, e.Props), Body: body, Published: e.Published, Updated: e.Updated}
}

// Get returns the entity of type t with key kp (PR404-OD-0002 if none).
func (p *DocProvider) Get(ctx context.Context, t *EntityType, kp KeyPredicate) (*Entity, error) {
	keys, err := KeyProps(t, kp)
	if err != nil {
		return nil, err
	}
	return p.getProps(ctx, t, keys)
}

func (p *DocProvider) getProps(ctx context.Context, t *EntityType, keys map[string]any) (*Entity, error) {
	if scope := p.Scope[t.Name]; scope != nil {
		res, err := p.Store.Query(ctx, &metastore.Query{Kind: t.StoreKind(), Cell: p.Cell, Parent: p.Parent, Limit: 1,
			Filter: metastore.And{metastore.Cmp{Field: metastore.FieldKey, Op: metastore.Eq, Value: storeKey(t, keys)}, scope}})
		if err != nil {
			return nil, err
		}
		if len(res.Docs) == 0 {
			return nil, perr.New("PR404-OD-0002")
		}
		return p.load(t, &res.Docs[0])
	}
	d, err := p.getKey(ctx, t.StoreKind(), storeKey(t, keys))
	if err != nil {
		if perr.Is(err, perr.NotExist) {
			return nil, perr.New("PR404-OD-0002").WithCause(err)
		}
		return nil, err
	}
	return p.load(t, d)
}

// getKey reads the document of kind with natural key, as it stands after
// the writes a $batch changeset in ctx has collected so far: a later
// request of a changeset sees what earlier ones wrote (POST, then PUT of
// the same entity).
func (p *DocProvider) getKey(ctx context.Context, kind, key string) (*metastore.Doc, error) {
	cs, _ := ctx.Value(changesetKey{}).(*Changeset)
	if cs != nil {
		if d, found := cs.pending(kind, p.Cell, p.Parent, key); found {
			return d, nil
		}
	}
	d, err := p.Store.GetKey(ctx, kind, p.Cell, p.Parent, key)
	if err != nil || cs == nil {
		return d, err
	}
	if pd, found, gone := cs.pendingID(d.ID); found {
		if gone {
			return nil, perr.Errorf(perr.NotExist, "odata: deleted earlier in the changeset")
		}
		return pd, nil
	}
	return d, nil
}

// List returns the entities of t matching lr, and the total count if asked.
func (p *DocProvider) List(ctx context.Context, t *EntityType, lr *ListRequest) ([]*Entity, int64, error) {
	q := &metastore.Query{Kind: t.StoreKind(), Cell: p.Cell, Parent: p.Parent, Filter: lr.Filter,
		Order: lr.Order, Text: lr.Text, Skip: lr.Skip, Limit: lr.Limit, Count: lr.Count}
	if scope := p.Scope[t.Name]; scope != nil {
		if q.Filter == nil {
			q.Filter = scope
		} else {
			q.Filter = metastore.And{scope, q.Filter}
		}
	}
	if lr.IDs != nil {
		ids := make([]metastore.Value, len(lr.IDs))
		for i, id := range lr.IDs {
			ids[i] = id
		}
		in := metastore.In{Field: metastore.FieldID, Values: ids}
		if q.Filter == nil {
			q.Filter = in
		} else {
			q.Filter = metastore.And{in, q.Filter}
		}
	}
	res, err := p.Store.Query(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Entity, 0, len(res.Docs))
	for i := range res.Docs {
		e, err := p.load(t, &res.Docs[i])
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, res.Count, nil
}

// applyDefaults fills the properties a write omitted.
func applyDefaults(t *EntityType, props map[string]any) {
	for _, pr := range t.Props {
		if _, ok := props[pr.Name]; ok {
			continue
		}
		switch {
		case pr.DefaultFunc != nil:
			props[pr.Name] = pr.DefaultFunc()
		default:
			props[pr.Name] = pr.Default
		}
	}
}

// checkRequired refuses null values of non-nullable properties.
func checkRequired(t *EntityType, props map[string]any) error {
	for _, pr := range t.Props {
		if props[pr.Name] == nil && !pr.Nullable {
			return perr.New("PR400-OD-0009", pr.Name)
		}
	}
	return nil
}

// checkRefs verifies that the targets of own reference properties exist.
func (p *DocProvider) checkRefs(ctx context.Context, e *Entity) error {
	for _, n := range e.Type.Nav {
		if len(n.OwnRefProps) == 0 {
			continue
		}
		target := p.Schema.Type(n.Target)
		keys := map[string]any{}
		null := true
		for own, tk := range n.OwnRefProps {
			keys[tk] = e.Props[own]
			if tk == target.Keys[0] && e.Props[own] != nil {
				null = false
			}
		}
		if null {
			continue
		}
		if _, err := p.getProps(ctx, target, keys); err != nil {
			if perr.Is(err, perr.NotExist) {
				return perr.New("PR400-OD-0024", keys[target.Keys[0]])
			}
			return err
		}
	}
	return nil
}

func (p *DocProvider) now() int64 {
	if p.Now != nil {
		return p.Now().UnixMilli()
	}
	return time.Now().UnixMilli()
}

// Create stores a new entity of type t with props (already decoded).
func (p *DocProvider) Create(ctx context.Context, t *EntityType, props map[string]any) (*Entity, error) {
	ops, e, err := p.createOps(ctx, t, props)
	if err != nil {
		return nil, err
	}
	return e, p.apply(ctx, e, ops)
}

func (p *DocProvider) createOps(ctx context.Context, t *EntityType, props map[string]any) ([]metastore.Op, *Entity, error) {
	if p.ReadOnly(t.Name) {
		return nil, nil, perr.New("PR405-MC-0001")
	}
	if t.HasID {
		if _, ok := props[MemberID]; !ok {
			props[MemberID] = p.NewID()
		}
	}
	applyDefaults(t, props)
	if err := checkRequired(t, props); err != nil {
		return nil, nil, err
	}
	now := p.now()
	e := &Entity{Type: t, ID: p.NewID(), Props: props, Version: 1, Published: now, Updated: now}
	h := p.hooks(t)
	if h.Check != nil {
		if err := h.Check(ctx, nil, e); err != nil {
			return nil, nil, err
		}
	}
	if err := p.checkRefs(ctx, e); err != nil {
		return nil, nil, err
	}
	ops := []metastore.Op{{Type: metastore.Create, Doc: p.doc(e)}}
	if h.Extra != nil {
		more, err := h.Extra(ctx, nil, e)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, more...)
	}
	return ops, e, nil
}

// apply runs ops and maps store errors to Personium codes; e, if not nil,
// gets the stored version of the first op's document.
func (p *DocProvider) apply(ctx context.Context, e *Entity, ops []metastore.Op) error {
	if p.Bump != nil && len(ops) > 0 {
		op, err := p.Bump(ctx)
		if err != nil {
			return err
		}
		ops = append(ops[:len(ops):len(ops)], op)
	}
	if cs, ok := ctx.Value(changesetKey{}).(*Changeset); ok {
		// Inside a $batch changeset: collected, applied with the rest.
		cs.add(ops)
		if e != nil && len(ops) > 0 {
			if ops[0].Type == metastore.Create {
				e.Version = 1
			} else {
				e.Version = ops[0].IfVersion + 1
			}
		}
		return nil
	}
	docs, err := p.Store.Apply(ctx, ops...)
	if err != nil {
		return storeError(err)
	}
	if e != nil && len(docs) > 0 {
		e.Version = docs[0].Version
	}
	return nil
}

// MatchETag reports whether an If-Match header value matches etag.
// An empty header matches (Personium treats a missing If-Match as *).
func MatchETag(header, etag string) bool {
	if header == "" {
		return true
	}
	for _, part := range splitComma(header) {
		if part == "*" || part == etag || "W/"+part == etag || part == stripWeak(etag) {
			return true
		}
	}
	return false
}

func stripWeak(s string) string {
	if len(s) > 2 && s[:2] == "W/" {
		return s[2:]
	}
	return s
}
