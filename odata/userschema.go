package odata

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// The schema of an OData service collection's user data is managed as
// OData entities itself, under {od}$metadata/ (reference §7.1; Personium
// namespace ODataSvcSchema): EntityType, Property, ComplexType,
// ComplexTypeProperty and AssociationEnd. They are stored as documents
// of those kinds whose Parent is the collection's node ID, so that
// moving or renaming the collection carries its schema.

// Names of the schema-of-the-schema entity sets.
const (
	SetEntityType          = "EntityType"
	SetProperty            = "Property"
	SetComplexType         = "ComplexType"
	SetComplexTypeProperty = "ComplexTypeProperty"
	SetAssociationEnd      = "AssociationEnd"

	refEntityType  = "_EntityType.Name"
	refComplexType = "_ComplexType.Name"
)

// Limits of user schemas (personium-unit-config-default.properties).
const (
	MaxEntityTypes = 100 // per collection: PR400-OD-0033
	// MaxComplexDepth is how deep complex types nest below an entity
	// type: EntityType → ComplexType → ComplexType → ComplexType.
	MaxComplexDepth = 3
)

var (
	schemaNameRE   = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-_]{0,127}$`)
	multiplicities = map[string]bool{"0..1": true, "1": true, "*": true}
	collectionKind = map[string]bool{"None": true, "List": true}
	simpleTypes    = map[string]bool{EdmBoolean: true, EdmString: true, EdmInt32: true, EdmSingle: true, EdmDouble: true, EdmDateTime: true}
	singleRE       = regexp.MustCompile(`^-?[0-9]{1,5}\.[0-9]{1,5}$`)
	dateDefaultRE  = regexp.MustCompile(`^/Date\((-?[0-9]+)\)/$`)
)

func schemaName(field string) func(any) error {
	return func(v any) error {
		if s, _ := v.(string); !schemaNameRE.MatchString(s) {
			return perr.New("PR400-OD-0006", field)
		}
		return nil
	}
}

// MetaSchema returns the schema of {od}$metadata/ (namespace
// ODataSvcSchema). It is built once and shared: callers must not change it.
var MetaSchema = sync.OnceValue(metaSchema)

func metaSchema() *Schema {
	name := func() *Property {
		return &Property{Name: "Name", Type: EdmString, Validate: schemaName("Name")}
	}
	typed := func(ref string) []*Property {
		return []*Property{
			name(),
			{Name: ref, Type: EdmString, Validate: schemaName(ref)},
			{Name: "Type", Type: EdmString},
			{Name: "Nullable", Type: EdmBoolean, Default: true},
			{Name: "DefaultValue", Type: EdmString, Nullable: true},
			{Name: "CollectionKind", Type: EdmString, Nullable: true, Default: "None", Validate: func(v any) error {
				if s, _ := v.(string); !collectionKind[s] {
					return perr.New("PR400-OD-0006", "CollectionKind")
				}
				return nil
			}},
		}
	}
	property := typed(refEntityType)
	property = append(property,
		&Property{Name: "IsKey", Type: EdmBoolean, Default: false},
		&Property{Name: "UniqueKey", Type: EdmString, Nullable: true, Validate: schemaName("UniqueKey")},
		&Property{Name: "IsDeclared", Type: EdmBoolean, Nullable: true, Default: true})
	ownET := map[string]string{refEntityType: "Name"}
	ownCT := map[string]string{refComplexType: "Name"}
	return &Schema{Namespace: "ODataSvcSchema", Container: "ODataSvcSchema", Types: []*EntityType{
		{Name: SetEntityType, Keys: []string{"Name"}, Props: []*Property{name()}, Nav: []*NavProp{
			// Properties registered for dynamic values do not keep their
			// type: they go with it (entityTypeDelete).
			{Name: "_Property", Target: SetProperty, Many: true, RefProps: ownET,
				Blocking: metastore.Cmp{Field: "IsDeclared", Op: metastore.Ne, Value: false}},
			{Name: "_AssociationEnd", Target: SetAssociationEnd, Many: true, RefProps: ownET},
		}},
		{Name: SetProperty, Keys: []string{"Name", refEntityType}, Props: property, Nav: []*NavProp{
			{Name: "_EntityType", Target: SetEntityType, OwnRefProps: ownET},
		}},
		{Name: SetComplexType, Keys: []string{"Name"}, Props: []*Property{name()}, Nav: []*NavProp{
			{Name: "_ComplexTypeProperty", Target: SetComplexTypeProperty, Many: true, RefProps: ownCT},
		}},
		{Name: SetComplexTypeProperty, Keys: []string{"Name", refComplexType}, Props: typed(refComplexType), Nav: []*NavProp{
			{Name: "_ComplexType", Target: SetComplexType, OwnRefProps: ownCT},
		}},
		{Name: SetAssociationEnd, Keys: []string{"Name", refEntityType}, Props: []*Property{
			name(),
			{Name: refEntityType, Type: EdmString, Validate: schemaName(refEntityType)},
			{Name: "Multiplicity", Type: EdmString, Validate: func(v any) error {
				if s, _ := v.(string); !multiplicities[s] {
					return perr.New("PR400-OD-0006", "Multiplicity")
				}
				return nil
			}},
		}, Nav: []*NavProp{
			{Name: "_EntityType", Target: SetEntityType, OwnRefProps: ownET},
			{Name: "_AssociationEnd", Target: SetAssociationEnd, Assoc: assocEnds},
		}},
	}}
}

// assocEnds is the link kind pairing two AssociationEnds: the
// association between their entity types.
const assocEnds = "AssociationEnd-AssociationEnd"

// SchemaProvider returns the provider of {od}$metadata/ for the OData
// collection whose node ID is col in cell: the schema-of-the-schema's
// entity sets, with Personium's rules as hooks (reference §7.1).
func SchemaProvider(store metastore.Store, cell, col string, now func() time.Time, newID func() string) *DocProvider {
	p := &DocProvider{Store: store, Schema: MetaSchema(), Cell: cell, Parent: col, Now: now, NewID: newID}
	p.Bump = func(ctx context.Context) (metastore.Op, error) { return bumpSchema(ctx, store, cell, col) }
	us := &userSchema{p: p}
	p.Hooks = map[string]*Hooks{
		SetEntityType:          {Check: us.checkEntityType, Extra: us.entityTypeDelete},
		SetProperty:            {Check: us.checkProperty(SetProperty, refEntityType), Extra: us.propertyDelete},
		SetComplexType:         {Check: us.checkComplexType},
		SetComplexTypeProperty: {Check: us.checkProperty(SetComplexTypeProperty, refComplexType), Extra: us.complexPropertyDelete},
		SetAssociationEnd:      {Check: us.checkAssociationEnd, Link: us.linkEnds},
	}
	return p
}

type userSchema struct{ p *DocProvider }

// KindSchemaVersion is the kind of the one document per OData collection
// whose version counts the changes of the collection's user schema: every
// batch that changes the schema (including the registration of dynamic
// properties) updates it, so a cached schema is known to be current by
// reading one document (see SchemaVersion). It lives under the collection
// and is moved and deleted with it.
const KindSchemaVersion = "SchemaVersion"

func schemaVersionID(col string) string { return "schema-version-" + col }

func schemaVersionDoc(cell, col string) metastore.Doc {
	return metastore.Doc{ID: schemaVersionID(col), Kind: KindSchemaVersion, Cell: cell, Parent: col, Key: "schema", Body: []byte("{}")}
}

// SchemaVersion returns the version of the user schema of collection col
// in cell, creating its document on first use.
func SchemaVersion(ctx context.Context, store metastore.Store, cell, col string) (int64, error) {
	d, err := store.Get(ctx, schemaVersionID(col))
	if err == nil {
		return d.Version, nil
	}
	if !perr.Is(err, perr.NotExist) {
		return 0, err
	}
	docs, err := store.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: schemaVersionDoc(cell, col)})
	if perr.Is(err, perr.Exist) { // made meanwhile
		d, err := store.Get(ctx, schemaVersionID(col))
		if err != nil {
			return 0, err
		}
		return d.Version, nil
	}
	if err != nil {
		return 0, err
	}
	return docs[0].Version, nil
}

// bumpSchema is the operation that counts one more change of the schema.
func bumpSchema(ctx context.Context, store metastore.Store, cell, col string) (metastore.Op, error) {
	if _, err := store.Get(ctx, schemaVersionID(col)); perr.Is(err, perr.NotExist) {
		return metastore.Op{Type: metastore.Create, Doc: schemaVersionDoc(cell, col)}, nil
	} else if err != nil {
		return metastore.Op{}, err
	}
	return metastore.Op{Type: metastore.Update, Doc: schemaVersionDoc(cell, col)}, nil
}

func (us *userSchema) list(ctx context.Context, set string, f metastore.Expr) ([]*Entity, error) {
	ents, _, err := us.p.List(ctx, us.p.Schema.Type(set), &ListRequest{Filter: f, Limit: -1})
	return ents, err
}

func eq(field string, v any) metastore.Expr {
	return metastore.Cmp{Field: field, Op: metastore.Eq, Value: v}
}

func (us *userSchema) checkEntityType(ctx context.Context, old, e *Entity) error {
	if old != nil {
		return nil // a rename: properties and ends follow their type
	}
	ents, err := us.list(ctx, SetEntityType, nil)
	if err != nil {
		return err
	}
	if len(ents) >= MaxEntityTypes {
		return perr.New("PR400-OD-0033")
	}
	// The type's data gets a full-text index for q (its kind is new: if
	// the create fails after this, the index stays empty).
	if ix, ok := us.p.Store.(metastore.Indexer); ok {
		return ix.EnsureIndex(ctx, userKindPrefix+e.ID, metastore.FieldText)
	}
	return nil
}

// typeHasData reports whether the entity type called name holds data.
func (us *userSchema) typeHasData(ctx context.Context, name string) (bool, error) {
	ets, err := us.list(ctx, SetEntityType, eq("Name", name))
	if err != nil || len(ets) == 0 {
		return false, err
	}
	return hasData(ctx, us.p.Store, us.p.Cell, us.p.Parent, ets[0].ID)
}

// entityTypeDelete refuses to delete an entity type holding data, and
// deletes the properties registered for its dynamic values along with
// it (as Personium does).
func (us *userSchema) entityTypeDelete(ctx context.Context, old, e *Entity) ([]metastore.Op, error) {
	if e != nil {
		return nil, nil
	}
	if has, err := hasData(ctx, us.p.Store, us.p.Cell, us.p.Parent, old.ID); err != nil || has {
		if err == nil {
			err = perr.New("PR409-OD-0001")
		}
		return nil, err
	}
	dyn, err := us.list(ctx, SetProperty, metastore.And{eq(refEntityType, old.Props["Name"]), eq("IsDeclared", false)})
	if err != nil {
		return nil, err
	}
	var ops []metastore.Op
	for _, d := range dyn {
		ops = append(ops, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: d.ID}})
	}
	return ops, nil
}

// propertyDelete refuses to delete a property of an entity type that
// holds data; a rename carries the values (see renameValues).
func (us *userSchema) propertyDelete(ctx context.Context, old, e *Entity) ([]metastore.Op, error) {
	if e != nil {
		if old == nil || old.Props["Name"] == e.Props["Name"] {
			return nil, nil
		}
		return us.renameValues(ctx, str(e.Props[refEntityType]), str(old.Props["Name"]), str(e.Props["Name"]))
	}
	if has, err := us.typeHasData(ctx, str(old.Props[refEntityType])); err != nil || has {
		if err == nil {
			err = perr.New("PR409-OD-0001")
		}
		return nil, err
	}
	return nil, nil
}

// MaxRenameEntities bounds the data a property rename rewrites: values
// are stored under the property's name, so a rename rewrites every entity
// of the type in the rename's own atomic batch. Over it, the rename is
// refused (PR409-OD-0001) and the data left as it is.
const MaxRenameEntities = 100_000

// renameValues returns the updates that move the values of property from
// to member to in every entity of entityType.
func (us *userSchema) renameValues(ctx context.Context, entityType, from, to string) ([]metastore.Op, error) {
	ets, err := us.list(ctx, SetEntityType, eq("Name", entityType))
	if err != nil || len(ets) == 0 {
		return nil, err
	}
	res, err := us.p.Store.Query(ctx, &metastore.Query{Kind: userKindPrefix + ets[0].ID, Cell: us.p.Cell,
		Parent: UserDataParent(us.p.Parent), Filter: metastore.Cmp{Field: from, Op: metastore.Ne, Value: nil},
		Limit: MaxRenameEntities + 1})
	if err != nil {
		return nil, err
	}
	if len(res.Docs) > MaxRenameEntities {
		return nil, perr.New("PR409-OD-0001").WithCause(fmt.Errorf("renaming %s would rewrite over %d entities", from, MaxRenameEntities))
	}
	ops := make([]metastore.Op, 0, len(res.Docs))
	for _, d := range res.Docs {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(d.Body, &body); err != nil {
			return nil, perr.Errorf(perr.Internal, "entity %s: %v", d.ID, err)
		}
		v, has := body[from]
		if !has {
			continue
		}
		delete(body, from)
		body[to] = v
		nb, err := json.Marshal(body)
		if err != nil {
			return nil, perr.Errorf(perr.Internal, "entity %s: %v", d.ID, err)
		}
		d.Body = nb
		ops = append(ops, metastore.Op{Type: metastore.Update, Doc: d, IfVersion: d.Version})
	}
	return ops, nil
}

// complexHasData reports whether an entity type using the complex type
// ct, directly or through other complex types, holds data.
func (us *userSchema) complexHasData(ctx context.Context, ct string, seen map[string]bool) (bool, error) {
	if seen[ct] {
		return false, nil
	}
	seen[ct] = true
	props, err := us.list(ctx, SetProperty, eq("Type", ct))
	if err != nil {
		return false, err
	}
	for _, p := range props {
		if has, err := us.typeHasData(ctx, str(p.Props[refEntityType])); err != nil || has {
			return has, err
		}
	}
	outer, err := us.list(ctx, SetComplexTypeProperty, eq("Type", ct))
	if err != nil {
		return false, err
	}
	for _, c := range outer {
		if has, err := us.complexHasData(ctx, str(c.Props[refComplexType]), seen); err != nil || has {
			return has, err
		}
	}
	return false, nil
}

// complexPropertyDelete refuses to delete a member of a complex type in
// use by an entity type holding data.
func (us *userSchema) complexPropertyDelete(ctx context.Context, old, e *Entity) ([]metastore.Op, error) {
	if e != nil {
		return nil, nil
	}
	if has, err := us.complexHasData(ctx, str(old.Props[refComplexType]), map[string]bool{}); err != nil || has {
		if err == nil {
			err = perr.New("PR409-OD-0001")
		}
		return nil, err
	}
	return nil, nil
}

// checkComplexType refuses to rename a complex type that a property
// names as its Type (Type holds the name).
func (us *userSchema) checkComplexType(ctx context.Context, old, e *Entity) error {
	if old == nil || old.Props["Name"] == e.Props["Name"] {
		return nil
	}
	used, err := us.complexTypeUsed(ctx, old.Props["Name"].(string))
	if err != nil {
		return err
	}
	if used {
		return perr.New("PR409-OD-0001")
	}
	return nil
}

// ComplexTypeUsed reports whether a Property or ComplexTypeProperty of
// the schema has the complex type called name as its Type.
func (us *userSchema) complexTypeUsed(ctx context.Context, name string) (bool, error) {
	for _, set := range []string{SetProperty, SetComplexTypeProperty} {
		ents, err := us.list(ctx, set, eq("Type", name))
		if err != nil {
			return false, err
		}
		if len(ents) > 0 {
			return true, nil
		}
	}
	return false, nil
}

func (us *userSchema) checkAssociationEnd(ctx context.Context, old, e *Entity) error {
	if old == nil {
		return nil
	}
	for _, f := range []string{"Multiplicity", refEntityType} {
		if old.Props[f] != e.Props[f] {
			return perr.New("PR400-OD-0042", "AssociationEnd '"+f+"' change")
		}
	}
	return nil
}

// checkProperty validates a Property or ComplexTypeProperty: its Type (a
// simple type or a complex type of this collection), DefaultValue for
// that type, the nesting of complex types; on update only a rename and
// Edm.Int32 → Edm.Double may change (PR400-OD-0042).
func (us *userSchema) checkProperty(set, ref string) func(ctx context.Context, old, e *Entity) error {
	return func(ctx context.Context, old, e *Entity) error {
		typ, _ := e.Props["Type"].(string)
		if old != nil {
			if err := checkPropertyUpdate(set, ref, old, e); err != nil {
				return err
			}
			if set == SetProperty && old.Props["Name"] != e.Props["Name"] {
				// The values move with the name (propertyDelete); the new
				// name gets its index.
				return us.index(ctx, str(e.Props[ref]), str(e.Props["Name"]))
			}
			return nil
		}
		if set == SetComplexTypeProperty && e.Props["Nullable"] == false {
			if has, err := us.complexHasData(ctx, str(e.Props[ref]), map[string]bool{}); err != nil || has {
				if err == nil {
					err = perr.New("PR400-OD-0006", "Nullable")
				}
				return err
			}
		}
		if set == SetProperty && e.Props["Nullable"] == false {
			if has, err := us.typeHasData(ctx, str(e.Props[ref])); err != nil || has {
				if err == nil {
					err = perr.New("PR400-OD-0006", "Nullable")
				}
				return err
			}
		}
		if !simpleTypes[typ] {
			cts, err := us.list(ctx, SetComplexType, eq("Name", typ))
			if err != nil {
				return err
			}
			if len(cts) == 0 {
				return perr.New("PR400-OD-0006", "Type")
			}
			if e.Props["DefaultValue"] != nil {
				return perr.New("PR400-OD-0006", "DefaultValue")
			}
			if set == SetComplexTypeProperty {
				if err := us.checkNesting(ctx, e.Props[ref].(string), typ); err != nil {
					return err
				}
			}
		} else if dv, ok := e.Props["DefaultValue"].(string); ok {
			if err := checkDefault(typ, dv); err != nil {
				return err
			}
		}
		if set == SetProperty {
			if dynamic, _ := ctx.Value(dynamicKey{}).(bool); !dynamic {
				e.Props["IsDeclared"] = true // dynamic properties are registered by the server only
			}
			if err := us.checkPropertyCount(ctx, str(e.Props[ref])); err != nil {
				return err
			}
			if err := us.index(ctx, str(e.Props[ref]), str(e.Props["Name"])); err != nil {
				return err
			}
		}
		return nil
	}
}

// MaxProperties bounds the properties of one entity type, declared and
// dynamic (Personium box.odata.schema.MaxProperties): PR400-OD-0032.
const MaxProperties = 400

func (us *userSchema) checkPropertyCount(ctx context.Context, entityType string) error {
	_, n, err := us.p.List(ctx, us.p.Schema.Type(SetProperty), &ListRequest{Filter: eq(refEntityType, entityType), Limit: 0, Count: true})
	if err != nil {
		return err
	}
	if n >= MaxProperties {
		return perr.New("PR400-OD-0032")
	}
	return nil
}

// index asks the store (if it can) to index a declared property of an
// entity type's data, so that filters and orders on it do not scan.
func (us *userSchema) index(ctx context.Context, entityType, prop string) error {
	ix, ok := us.p.Store.(metastore.Indexer)
	if !ok {
		return nil
	}
	ets, err := us.list(ctx, SetEntityType, eq("Name", entityType))
	if err != nil || len(ets) == 0 {
		return err
	}
	return ix.EnsureIndex(ctx, userKindPrefix+ets[0].ID, prop)
}

func checkPropertyUpdate(set, ref string, old, e *Entity) error {
	for _, f := range []string{ref, "Type", "Nullable", "DefaultValue", "CollectionKind", "IsKey", "UniqueKey"} {
		o, n := old.Props[f], e.Props[f]
		if f == "IsKey" || f == "UniqueKey" {
			if set != SetProperty {
				continue
			}
		}
		if f == "Type" && o == EdmInt32 && n == EdmDouble {
			continue
		}
		if o != n {
			return perr.New("PR400-OD-0042", set+" '"+f+"' change from ["+str(o)+"] to ["+str(n)+"]")
		}
	}
	if set == SetProperty {
		e.Props["IsDeclared"] = old.Props["IsDeclared"]
	}
	return nil
}

func str(v any) string {
	if v == nil {
		return "null"
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return "?"
}

// checkNesting refuses a complex-typed property of type typ inside the
// complex type owner when it would make a cycle or nest complex types
// deeper than MaxComplexDepth.
func (us *userSchema) checkNesting(ctx context.Context, owner, typ string) error {
	if owner == typ {
		return perr.New("PR400-OD-0032")
	}
	// height of typ: the longest chain of complex types from it down.
	memo := map[string]int{}
	var height func(ct string, seen map[string]bool) (int, error)
	height = func(ct string, seen map[string]bool) (int, error) {
		if h, ok := memo[ct]; ok {
			return h, nil
		}
		if seen[ct] || ct == owner {
			return math.MaxInt32, nil // a cycle through owner
		}
		seen[ct] = true
		defer delete(seen, ct)
		props, err := us.list(ctx, SetComplexTypeProperty, eq(refComplexType, ct))
		if err != nil {
			return 0, err
		}
		h := 1
		for _, p := range props {
			t, _ := p.Props["Type"].(string)
			if simpleTypes[t] {
				continue
			}
			sub, err := height(t, seen)
			if err != nil {
				return 0, err
			}
			if sub != math.MaxInt32 {
				sub++
			}
			h = max(h, sub)
		}
		memo[ct] = h
		return h, nil
	}
	h, err := height(typ, map[string]bool{})
	if err != nil {
		return err
	}
	// owner sits at least at depth 1 below an entity type; typ one lower.
	if h == math.MaxInt32 || 1+h > MaxComplexDepth {
		return perr.New("PR400-OD-0032")
	}
	return nil
}

// checkDefault validates a DefaultValue for a simple type (Personium
// ODataSvcSchemaResource.validate).
func checkDefault(typ, dv string) error {
	bad := perr.New("PR400-OD-0006", "DefaultValue")
	switch typ {
	case EdmBoolean:
		if dv != "true" && dv != "false" {
			return bad
		}
	case EdmString:
		if len(dv) > MaxStringBytes {
			return bad
		}
	case EdmInt32:
		if _, err := strconv.ParseInt(dv, 10, 32); err != nil {
			return bad
		}
	case EdmSingle:
		f, err := strconv.ParseFloat(dv, 32)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || (strings.Contains(dv, ".") && !singleRE.MatchString(dv)) {
			return bad
		}
	case EdmDouble:
		f, err := strconv.ParseFloat(dv, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || (f != 0 && (math.Abs(f) < 2.23e-308 || math.Abs(f) > 1.79e308)) {
			return bad
		}
	case EdmDateTime:
		if dv == "SYSUTCDATETIME()" {
			return nil
		}
		m := dateDefaultRE.FindStringSubmatch(dv)
		if m == nil {
			return bad
		}
		ms, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || ms < -6847804800000 || ms > 253402300799999 {
			return bad
		}
	}
	return nil
}

// partner returns the AssociationEnd linked to end, nil if none.
func (us *userSchema) partner(ctx context.Context, end *Entity) (*Entity, error) {
	t := us.p.Schema.Type(SetAssociationEnd)
	ents, _, err := us.p.related(ctx, end, t.NavProp("_AssociationEnd"), &ListRequest{Limit: 2})
	if err != nil || len(ents) == 0 {
		return nil, err
	}
	return ents[0], nil
}

// linkEnds checks a link between two AssociationEnds (Personium
// UserSchemaODataProducer.checkAssociationEndToAssociationEndLink): each
// end belongs to one association (PR409-OD-0002), 1:1 is not allowed
// (PR400-OD-0031), and two entity types have one association at most
// (PR409-OD-0006).
func (us *userSchema) linkEnds(ctx context.Context, src *Entity, n *NavProp, tgt *Entity) error {
	for _, end := range []*Entity{src, tgt} {
		if p, err := us.partner(ctx, end); err != nil {
			return err
		} else if p != nil {
			return perr.New("PR409-OD-0002")
		}
	}
	if src.Props["Multiplicity"] == "1" && tgt.Props["Multiplicity"] == "1" {
		return perr.New("PR400-OD-0031")
	}
	ends, err := us.list(ctx, SetAssociationEnd, eq(refEntityType, src.Props[refEntityType]))
	if err != nil {
		return err
	}
	for _, e := range ends {
		p, err := us.partner(ctx, e)
		if err != nil {
			return err
		}
		if p != nil && p.Props[refEntityType] == tgt.Props[refEntityType] {
			return perr.New("PR409-OD-0006")
		}
	}
	return nil
}
