package odata

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// Update replaces (merge=false) or merges (merge=true) the entity with key
// kp. ifMatch is the If-Match header ("" counts as *). Changing key
// properties renames the entity; references held by other entities follow.
func (p *DocProvider) Update(ctx context.Context, t *EntityType, kp KeyPredicate, props map[string]any, merge bool, ifMatch string) (*Entity, error) {
	if p.ReadOnly(t.Name) {
		return nil, perr.New("PR405-MC-0001")
	}
	old, err := p.Get(ctx, t, kp)
	if err != nil {
		return nil, err
	}
	if !MatchETag(ifMatch, old.ETag()) {
		return nil, perr.New("PR412-OD-0002")
	}
	next := make(map[string]any, len(old.Props))
	if merge {
		for k, v := range old.Props {
			next[k] = v
		}
	} else {
		applyDefaults(t, props)
		for k, v := range old.Props {
			if isReserved(k) && k != MemberID {
				next[k] = v // hidden server-side members survive a replace
			}
		}
	}
	for k, v := range props {
		if pr := t.Prop(k); merge && pr != nil && pr.Complex != nil && !pr.List {
			merged, err := mergeComplex(pr, old.Props[k], v)
			if err != nil {
				return nil, err
			}
			v = merged
		}
		next[k] = v
	}
	if t.HasID {
		next[MemberID] = old.Props[MemberID]
	}
	if err := checkRequired(t, next); err != nil {
		return nil, err
	}
	e := &Entity{Type: t, ID: old.ID, Props: next, Version: old.Version, Published: old.Published, Updated: p.now()}
	if e.Updated <= old.Updated {
		e.Updated = old.Updated + 1 // the ETag must change
	}
	ops, err := p.updateOps(ctx, old, e, true)
	if err != nil {
		return nil, err
	}
	return e, p.apply(ctx, e, ops)
}

// updateOps builds the batch of an update of old into e, including the
// renames of referencing entities and the type's hook operations. With
// checkRefs, the entities e refers to must exist (false when the target
// is created in the same batch).
func (p *DocProvider) updateOps(ctx context.Context, old, e *Entity, checkRefs bool) ([]metastore.Op, error) {
	h := p.hooks(e.Type)
	if h.Check != nil {
		if err := h.Check(ctx, old, e); err != nil {
			return nil, err
		}
	}
	if checkRefs {
		if err := p.checkRefs(ctx, e); err != nil {
			return nil, err
		}
	}
	ops := []metastore.Op{{Type: metastore.Update, Doc: p.doc(e), IfVersion: old.Version}}
	more, err := p.cascade(ctx, old, e)
	if err != nil {
		return nil, err
	}
	ops = append(ops, more...)
	if h.Extra != nil {
		extra, err := h.Extra(ctx, old, e)
		if err != nil {
			return nil, err
		}
		ops = append(ops, extra...)
	}
	return ops, nil
}

// cascade renames the references other entities hold to old when e's key
// differs from old's.
func (p *DocProvider) cascade(ctx context.Context, old, e *Entity) ([]metastore.Op, error) {
	if storeKey(old.Type, old.Props) == storeKey(e.Type, e.Props) {
		return nil, nil
	}
	var ops []metastore.Op
	for _, n := range old.Type.Nav {
		if len(n.RefProps) == 0 {
			continue
		}
		target := p.Schema.Type(n.Target)
		refs, _, err := p.List(ctx, target, &ListRequest{Filter: refFilter(n.RefProps, old.Props), Limit: -1})
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			next := copyProps(r.Props)
			for tp, own := range n.RefProps {
				next[tp] = e.Props[own]
			}
			re := &Entity{Type: target, ID: r.ID, Props: next, Version: r.Version, Published: r.Published, Updated: e.Updated}
			ops = append(ops, metastore.Op{Type: metastore.Update, Doc: p.doc(re), IfVersion: r.Version})
			more, err := p.cascade(ctx, r, re)
			if err != nil {
				return nil, err
			}
			ops = append(ops, more...)
		}
	}
	return ops, nil
}

func refFilter(refProps map[string]string, src map[string]any) metastore.Expr {
	var and metastore.And
	for tp, own := range refProps {
		and = append(and, metastore.Cmp{Field: tp, Op: metastore.Eq, Value: src[own]})
	}
	return and
}

func copyProps(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Delete removes the entity with key kp; PR409-OD-0001 while other
// entities are linked to it or reference it.
func (p *DocProvider) Delete(ctx context.Context, t *EntityType, kp KeyPredicate, ifMatch string) error {
	old, err := p.Get(ctx, t, kp)
	if err != nil {
		return err
	}
	if !MatchETag(ifMatch, old.ETag()) {
		return perr.New("PR412-OD-0002")
	}
	ops := []metastore.Op{{Type: metastore.Delete, Doc: metastore.Doc{ID: old.ID}, IfVersion: old.Version}}
	for _, n := range t.Nav {
		switch {
		case len(n.OwnRefProps) > 0:
			// This entity's own reference goes with it.
		case len(n.RefProps) > 0:
			// Entities that hold a reference to this one (a Box's roles)
			// keep it alive (Personium: PR409-OD-0001).
			rel, _, err := p.related(ctx, old, n, &ListRequest{Limit: 1, Filter: n.Blocking})
			if err != nil {
				return err
			}
			if len(rel) > 0 {
				return perr.New("PR409-OD-0001")
			}
		default:
			// N:N links are deleted along with the entity.
			links, err := p.linkDocs(ctx, old, n)
			if err != nil {
				return err
			}
			for _, d := range links {
				ops = append(ops, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: d.ID}})
			}
		}
	}
	if h := p.hooks(t); h.Extra != nil {
		more, err := h.Extra(ctx, old, nil)
		if err != nil {
			return err
		}
		ops = append(ops, more...)
	}
	return p.apply(ctx, nil, ops)
}

// linkDoc is the link document between entities a and b through assoc.
func (p *DocProvider) linkDoc(assoc string, a, b *Entity) metastore.Doc {
	ka, kb := a.Type.StoreKind()+":"+a.ID, b.Type.StoreKind()+":"+b.ID
	if kb < ka {
		ka, kb = kb, ka
	}
	body, _ := json.Marshal(map[string]string{"assoc": assoc, "a": ka, "b": kb})
	now := p.now()
	return metastore.Doc{ID: p.NewID(), Kind: KindLink, Cell: p.Cell, Parent: p.Parent,
		Key: assoc + "|" + ka + "|" + kb, Body: body, Published: now, Updated: now}
}

// related lists the entities reachable from src through n.
func (p *DocProvider) related(ctx context.Context, src *Entity, n *NavProp, lr *ListRequest) ([]*Entity, int64, error) {
	target := p.Schema.Type(n.Target)
	if target == nil {
		return nil, 0, perr.New("PR404-OD-0003")
	}
	sub := *lr
	switch {
	case len(n.RefProps) > 0:
		f := refFilter(n.RefProps, src.Props)
		if sub.Filter != nil {
			sub.Filter = metastore.And{f, sub.Filter}
		} else {
			sub.Filter = f
		}
		return p.List(ctx, target, &sub)
	case len(n.OwnRefProps) > 0:
		keys := map[string]any{}
		for own, tk := range n.OwnRefProps {
			keys[tk] = src.Props[own]
		}
		if keys[target.Keys[0]] == nil {
			return nil, 0, nil
		}
		e, err := p.getProps(ctx, target, keys)
		if perr.Is(err, perr.NotExist) {
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		return []*Entity{e}, 1, nil
	}
	me := src.Type.StoreKind() + ":" + src.ID
	docs, err := p.linkDocs(ctx, src, n)
	if err != nil {
		return nil, 0, err
	}
	ids := []string{}
	for _, d := range docs {
		var l struct{ A, B string }
		if json.Unmarshal(d.Body, &l) != nil {
			continue
		}
		other := l.A
		if other == me {
			other = l.B
		}
		if typ, id, ok := strings.Cut(other, ":"); ok && typ == target.StoreKind() {
			ids = append(ids, id)
		}
	}
	sub.IDs = ids
	return p.List(ctx, target, &sub)
}

// linkDocs returns the link documents of src through the N:N navigation property n.
func (p *DocProvider) linkDocs(ctx context.Context, src *Entity, n *NavProp) ([]metastore.Doc, error) {
	me := src.Type.StoreKind() + ":" + src.ID
	res, err := p.Store.Query(ctx, &metastore.Query{Kind: KindLink, Cell: p.Cell, Parent: p.Parent, Limit: -1,
		Filter: metastore.And{
			metastore.Cmp{Field: "assoc", Op: metastore.Eq, Value: n.Assoc},
			metastore.Or{metastore.Cmp{Field: "a", Op: metastore.Eq, Value: me}, metastore.Cmp{Field: "b", Op: metastore.Eq, Value: me}},
		}})
	if err != nil {
		return nil, err
	}
	return res.Docs, nil
}

// Related lists the entities related to the entity kp of t through nav.
func (p *DocProvider) Related(ctx context.Context, t *EntityType, kp KeyPredicate, n *NavProp, lr *ListRequest) ([]*Entity, int64, error) {
	src, err := p.Get(ctx, t, kp)
	if err != nil {
		return nil, 0, err
	}
	return p.related(ctx, src, n, lr)
}

// Link links the entity kp of t with the entity tkp of n's target.
func (p *DocProvider) Link(ctx context.Context, t *EntityType, kp KeyPredicate, n *NavProp, tkp KeyPredicate) error {
	src, err := p.Get(ctx, t, kp)
	if err != nil {
		return err
	}
	tgt, err := p.Get(ctx, p.Schema.Type(n.Target), tkp)
	if err != nil {
		if perr.Is(err, perr.NotExist) {
			// Personium EsODataProducer.createLink: the uri names nothing.
			return perr.New("PR400-OD-0006", "uri")
		}
		return err
	}
	if h := p.hooks(t); h.Link != nil {
		if err := h.Link(ctx, src, n, tgt); err != nil {
			return err
		}
	}
	ops, err := p.linkOps(ctx, src, n, tgt, false)
	if err != nil {
		return err
	}
	err = p.apply(ctx, nil, ops)
	if perr.CodeOf(err) == "PR409-OD-0003" {
		return perr.New("PR409-OD-0002")
	}
	return err
}

// linkOps builds the operations that link src through n to tgt; fresh
// tells that tgt is created in the same batch.
func (p *DocProvider) linkOps(ctx context.Context, src *Entity, n *NavProp, tgt *Entity, fresh bool) ([]metastore.Op, error) {
	setRef := func(holder *Entity, refs map[string]string, to *Entity) ([]metastore.Op, error) {
		// A nullable reference is linked once (409 while set); a required
		// one (ExtRole's relation) is re-pointed unless it already points there.
		next := copyProps(holder.Props)
		same := true
		for hp, tk := range refs {
			if holder.Props[hp] != to.Props[tk] {
				same = false
			}
			if p := holder.Type.Prop(hp); holder.Props[hp] != nil && p != nil && p.Nullable {
				return nil, perr.New("PR409-OD-0002")
			}
			next[hp] = to.Props[tk]
		}
		if same {
			return nil, perr.New("PR409-OD-0002")
		}
		e := &Entity{Type: holder.Type, ID: holder.ID, Props: next, Version: holder.Version, Published: holder.Published, Updated: p.now()}
		return p.updateOps(ctx, holder, e, !fresh)
	}
	switch {
	case len(n.RefProps) > 0:
		return setRef(tgt, n.RefProps, src)
	case len(n.OwnRefProps) > 0:
		return setRef(src, n.OwnRefProps, tgt)
	}
	return []metastore.Op{{Type: metastore.Create, Doc: p.linkDoc(n.Assoc, src, tgt)}}, nil
}

// Unlink removes the link between the entity kp of t and tkp of n's target.
func (p *DocProvider) Unlink(ctx context.Context, t *EntityType, kp KeyPredicate, n *NavProp, tkp KeyPredicate) error {
	src, err := p.Get(ctx, t, kp)
	if err != nil {
		return err
	}
	tgt, err := p.Get(ctx, p.Schema.Type(n.Target), tkp)
	if err != nil {
		return err
	}
	clearRef := func(holder *Entity, refs map[string]string, to *Entity) error {
		next := copyProps(holder.Props)
		for hp, tk := range refs {
			if holder.Props[hp] != to.Props[tk] && tk == to.Type.Keys[0] {
				return perr.New("PR404-OD-0000") // no such link (Personium OData.NOT_FOUND)
			}
			next[hp] = nil
		}
		if err := checkRequired(holder.Type, next); err != nil {
			return err // a required reference (ExtRole's relation) cannot be unlinked
		}
		e := &Entity{Type: holder.Type, ID: holder.ID, Props: next, Version: holder.Version, Published: holder.Published, Updated: p.now()}
		ops, err := p.updateOps(ctx, holder, e, true)
		if err != nil {
			return err
		}
		return p.apply(ctx, nil, ops)
	}
	switch {
	case len(n.RefProps) > 0:
		return clearRef(tgt, n.RefProps, src)
	case len(n.OwnRefProps) > 0:
		return clearRef(src, n.OwnRefProps, tgt)
	}
	l := p.linkDoc(n.Assoc, src, tgt)
	d, err := p.Store.GetKey(ctx, KindLink, p.Cell, p.Parent, l.Key)
	if err != nil {
		if perr.Is(err, perr.NotExist) {
			return perr.New("PR404-OD-0000") // no such link (Personium OData.NOT_FOUND)
		}
		return err
	}
	return p.apply(ctx, nil, []metastore.Op{{Type: metastore.Delete, Doc: metastore.Doc{ID: d.ID}}})
}

// CreateRelated creates an entity of n's target type and links it to the
// entity kp of t, in one atomic batch.
func (p *DocProvider) CreateRelated(ctx context.Context, t *EntityType, kp KeyPredicate, n *NavProp, props map[string]any) (*Entity, error) {
	src, err := p.Get(ctx, t, kp)
	if err != nil {
		return nil, err
	}
	target := p.Schema.Type(n.Target)
	if len(n.RefProps) > 0 {
		for tp, own := range n.RefProps {
			if v, ok := props[tp]; ok && v != nil && v != src.Props[own] {
				return nil, perr.New("PR400-OD-0006", tp)
			}
			props[tp] = src.Props[own]
		}
		return p.Create(ctx, target, props)
	}
	ops, e, err := p.createOps(ctx, target, props)
	if err != nil {
		return nil, err
	}
	if h := p.hooks(t); h.Link != nil {
		if err := h.Link(ctx, src, n, e); err != nil {
			return nil, err
		}
	}
	more, err := p.linkOps(ctx, src, n, e, true)
	if err != nil {
		return nil, err
	}
	return e, p.apply(ctx, e, append(ops, more...))
}

func splitComma(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
