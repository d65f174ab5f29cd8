package odata

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// UserDataParent is the document Parent of the user data of the OData
// collection whose node ID is col (its schema uses col itself), so that
// an entity type called "Property" cannot meet the schema's Property.
func UserDataParent(col string) string { return col + "/data" }

// userKindPrefix prefixes the document kind of user data: the entity
// type's document ID follows, which a rename does not change.
const userKindPrefix = "UD."

// UserDataSchema builds the schema of the user data from the user schema
// that sp (a SchemaProvider) holds: one open entity type per EntityType,
// keyed by __id, with its properties (declared, and dynamic ones
// registered from earlier data) and their defaults, and
// one navigation property per association (linked pair of
// AssociationEnds); complex-typed properties carry their members, List
// properties take JSON arrays.
func UserDataSchema(ctx context.Context, sp *DocProvider) (*Schema, error) {
	types, _, err := sp.List(ctx, sp.Schema.Type(SetEntityType), &ListRequest{Limit: -1})
	if err != nil {
		return nil, err
	}
	props, _, err := sp.List(ctx, sp.Schema.Type(SetProperty), &ListRequest{Limit: -1})
	if err != nil {
		return nil, err
	}
	s := &Schema{Namespace: "UserData", Container: "UserData"}
	byName := map[string]*EntityType{}
	for _, t := range types {
		name := str(t.Props["Name"])
		et := &EntityType{Name: name, Keys: []string{MemberID}, HasID: true, Open: true, Kind: userKindPrefix + t.ID}
		byName[name] = et
		s.Types = append(s.Types, et)
	}
	assocs, err := userAssociations(ctx, sp)
	if err != nil {
		return nil, err
	}
	for _, a := range assocs {
		ta, tb := byName[a.typeA], byName[a.typeB]
		if ta == nil || tb == nil {
			continue
		}
		ta.Nav = append(ta.Nav, &NavProp{Name: "_" + a.typeB, Target: a.typeB, Many: a.multB == "*", FromMany: a.multA == "*", Assoc: a.name})
		if ta != tb {
			tb.Nav = append(tb.Nav, &NavProp{Name: "_" + a.typeA, Target: a.typeA, Many: a.multA == "*", FromMany: a.multB == "*", Assoc: a.name})
		}
	}
	ctps, _, err := sp.List(ctx, sp.Schema.Type(SetComplexTypeProperty), &ListRequest{Limit: -1})
	if err != nil {
		return nil, err
	}
	members := map[string][]*Entity{}
	for _, c := range ctps {
		ct := str(c.Props[refComplexType])
		members[ct] = append(members[ct], c)
	}
	var property func(p *Entity, depth int) *Property
	property = func(p *Entity, depth int) *Property {
		typ := str(p.Props["Type"])
		nullable, _ := p.Props["Nullable"].(bool)
		pr := &Property{Name: str(p.Props["Name"]), Type: typ, Nullable: nullable, List: p.Props["CollectionKind"] == "List"}
		if !simpleTypes[typ] {
			pr.Complex = []*Property{}
			if depth < MaxComplexDepth+1 { // the schema hooks keep nesting shallower; this guards cycles
				for _, m := range members[typ] {
					pr.Complex = append(pr.Complex, property(m, depth+1))
				}
			}
			return pr
		}
		if dv, ok := p.Props["DefaultValue"].(string); ok && !pr.List {
			setDefault(pr, dv)
		}
		return pr
	}
	for _, p := range props {
		if et := byName[str(p.Props[refEntityType])]; et != nil {
			et.Props = append(et.Props, property(p, 1))
		}
	}
	return s, nil
}

// setDefault turns a stored DefaultValue (checked by checkDefault) into
// the property's default.
func setDefault(p *Property, dv string) {
	switch p.Type {
	case EdmString:
		p.Default = dv
	case EdmBoolean:
		p.Default = dv == "true"
	case EdmInt32:
		n, _ := strconv.ParseInt(dv, 10, 32)
		p.Default = n
	case EdmSingle, EdmDouble:
		f, _ := strconv.ParseFloat(dv, 64)
		p.Default = f
	case EdmDateTime:
		if dv == "SYSUTCDATETIME()" {
			p.DefaultFunc = func() any { return time.Now().UnixMilli() }
			return
		}
		if m := dateDefaultRE.FindStringSubmatch(dv); m != nil {
			ms, _ := strconv.ParseInt(m[1], 10, 64)
			p.Default = ms
		}
	}
}

// DataProvider returns the provider of the user data of the OData
// collection col in cell, over schema (from UserDataSchema).
func DataProvider(store metastore.Store, schema *Schema, sp *DocProvider, now func() time.Time, newID func() string) *DocProvider {
	p := &DocProvider{Store: store, Schema: schema, Cell: sp.Cell, Parent: UserDataParent(sp.Parent), Now: now, NewID: newID}
	p.Hooks = dataHooks(p, sp)
	return p
}

type dynamicKey struct{}

// registerDynamic returns the operations that register, in the user
// schema sp holds, the members of e that its type does not declare
// (Personium registers them as Property rows with IsDeclared false:
// Edm.Double for numbers, Edm.Boolean for booleans, Edm.String
// otherwise), in the same batch as the write of e.
func registerDynamic(ctx context.Context, sp *DocProvider, e *Entity) ([]metastore.Op, error) {
	var ops []metastore.Op
	pt := sp.Schema.Type(SetProperty)
	// The new dynamic properties count against the entity type's limit
	// together with those it has (Personium PropertyLimitChecker).
	fresh := 0
	for name, v := range e.Props {
		if !isReserved(name) && e.Type.Prop(name) == nil && v != nil {
			fresh++
		}
	}
	if fresh > 0 && len(e.Type.Props)+fresh > MaxProperties {
		return nil, perr.New("PR400-OD-0032")
	}
	for name, v := range e.Props {
		if isReserved(name) || e.Type.Prop(name) != nil || v == nil {
			continue
		}
		typ := EdmString
		switch v.(type) {
		case bool:
			typ = EdmBoolean
		case int64, float64:
			typ = EdmDouble
		}
		more, _, err := sp.createOps(context.WithValue(ctx, dynamicKey{}, true), pt, map[string]any{
			"Name": name, refEntityType: e.Type.Name, "Type": typ, "Nullable": true, "IsDeclared": false,
			"CollectionKind": "None", "IsKey": false})
		if err != nil {
			return nil, err
		}
		for _, op := range more {
			if !pendingCreate(ctx, op.Doc) {
				ops = append(ops, op)
			}
		}
	}
	if len(ops) > 0 && sp.Bump != nil {
		op, err := sp.Bump(ctx)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// hasData reports whether the entity type with document ID typeID holds
// user data in the collection col.
func hasData(ctx context.Context, store metastore.Store, cell, col, typeID string) (bool, error) {
	res, err := store.Query(ctx, &metastore.Query{Kind: userKindPrefix + typeID, Cell: cell, Parent: UserDataParent(col), Limit: 1})
	if err != nil {
		return false, err
	}
	return len(res.Docs) > 0, nil
}

// userAssoc is one association of the user schema: a linked pair of
// AssociationEnds, A being the end whose name sorts first.
type userAssoc struct {
	name         string // "TA-TB-assoc"
	endA, endB   string // end names
	typeA, typeB string // entity type names
	multA, multB string
}

// userAssociations lists the associations of the user schema sp holds.
func userAssociations(ctx context.Context, sp *DocProvider) ([]userAssoc, error) {
	t := sp.Schema.Type(SetAssociationEnd)
	ends, _, err := sp.List(ctx, t, &ListRequest{Limit: -1})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []userAssoc
	for _, e := range ends {
		ps, _, err := sp.related(ctx, e, t.NavProp("_AssociationEnd"), &ListRequest{Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 || seen[e.ID] {
			continue
		}
		a, b := e, ps[0]
		seen[a.ID], seen[b.ID] = true, true
		if ka, kb := str(a.Props["Name"])+"\x00"+str(a.Props[refEntityType]), str(b.Props["Name"])+"\x00"+str(b.Props[refEntityType]); kb < ka {
			a, b = b, a
		}
		ua := userAssoc{endA: str(a.Props["Name"]), endB: str(b.Props["Name"]), typeA: str(a.Props[refEntityType]),
			typeB: str(b.Props[refEntityType]), multA: str(a.Props["Multiplicity"]), multB: str(b.Props["Multiplicity"])}
		ua.name = ua.typeA + "-" + ua.typeB + "-assoc"
		out = append(out, ua)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// dataHooks register undeclared members in the user schema (see
// registerDynamic) and enforce the multiplicity of user-data navigation:
// a link through a to-one navigation property (or one whose reverse is
// to-one) is refused while one exists (PR409-OD-0002).
func dataHooks(p, sp *DocProvider) map[string]*Hooks {
	hooks := map[string]*Hooks{}
	for _, t := range p.Schema.Types {
		hooks[t.Name] = &Hooks{Extra: func(ctx context.Context, old, e *Entity) ([]metastore.Op, error) {
			if e == nil {
				// The one side of a 1:N or 0..1:N association is not
				// deleted while entities of the many side are linked to
				// it; the links of every other association (N:N, the
				// many side of 1:N, 1:1) are deleted along with the
				// entity (Personium EsODataProducer.deleteEntity,
				// findMultiPoint; UserDataLinkTest "link済みのユーザデータを
				// 削除できること/できないこと").
				for _, n := range old.Type.Nav {
					if !n.Many || n.FromMany {
						continue
					}
					if rel, _, err := p.related(ctx, old, n, &ListRequest{Limit: 1}); err != nil || len(rel) > 0 {
						if err == nil {
							err = perr.New("PR409-OD-0001")
						}
						return nil, err
					}
				}
				return nil, nil
			}
			return registerDynamic(ctx, sp, e)
		}, Link: func(ctx context.Context, src *Entity, n *NavProp, tgt *Entity) error {
			if !n.Many {
				if rel, _, err := p.related(ctx, src, n, &ListRequest{Limit: 1}); err != nil || len(rel) > 0 {
					if err == nil {
						err = perr.New("PR409-OD-0002")
					}
					return err
				}
			}
			target := p.Schema.Type(n.Target)
			if back := target.NavProp("_" + src.Type.Name); back != nil && !back.Many && back.Assoc == n.Assoc && target != src.Type {
				if rel, _, err := p.related(ctx, tgt, back, &ListRequest{Limit: 1}); err != nil || len(rel) > 0 {
					if err == nil {
						err = perr.New("PR409-OD-0002")
					}
					return err
				}
			}
			return nil
		}}
	}
	return hooks
}
