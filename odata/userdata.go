package odata

import (
	"context"
	"strconv"
	"time"

	"github.com/personium-go/personium/internal/metastore"
)

// UserDataParent is the document Parent of the user data of the OData
// collection whose node ID is col (its schema uses col itself), so that
// an entity type called "Property" cannot meet the schema's Property.
func UserDataParent(col string) string { return col + "/data" }

// userKindPrefix prefixes the document kind of user data: the entity
// type's document ID follows, which a rename does not change.
const userKindPrefix = "UD:"

// UserDataSchema builds the schema of the user data from the user schema
// that sp (a SchemaProvider) holds: one open entity type per EntityType,
// keyed by __id, with its declared properties of simple types and their
// defaults. Complex-typed and List properties are not declared yet (their
// values are refused as dynamic properties), nor are navigation
// properties (AssociationEnds cannot be linked yet).
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
	for _, p := range props {
		et := byName[str(p.Props[refEntityType])]
		typ := str(p.Props["Type"])
		if et == nil || !simpleTypes[typ] || p.Props["CollectionKind"] == "List" {
			continue
		}
		nullable, _ := p.Props["Nullable"].(bool)
		pr := &Property{Name: str(p.Props["Name"]), Type: typ, Nullable: nullable}
		if dv, ok := p.Props["DefaultValue"].(string); ok {
			setDefault(pr, dv)
		}
		et.Props = append(et.Props, pr)
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
func DataProvider(store metastore.Store, schema *Schema, cell, col string, now func() time.Time, newID func() string) *DocProvider {
	return &DocProvider{Store: store, Schema: schema, Cell: cell, Parent: UserDataParent(col), Now: now, NewID: newID}
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
