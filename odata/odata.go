// Package odata implements the OData v2 protocol as Personium speaks it:
// URL, key and query-option syntax, the JSON "verbose" v2 format and EDMX,
// and a generic entity-set handler that every OData surface uses (the
// unit's Cell set, a cell's __ctl sets, and the user-data sets of OData
// service collections).
//
// The handler is protocol only. It talks to a Provider; DocProvider is
// the Provider over a metastore.Store, driven by a Schema plus per-type
// hooks, so that the control objects and user data share one engine.
package odata

import (
	"sort"
	"strings"

	"github.com/personium-go/personium/internal/metastore"
)

// EDM primitive type names.
const (
	EdmString   = "Edm.String"
	EdmBoolean  = "Edm.Boolean"
	EdmInt32    = "Edm.Int32"
	EdmSingle   = "Edm.Single"
	EdmDouble   = "Edm.Double"
	EdmDateTime = "Edm.DateTime"
)

// Reserved member names of every entity.
const (
	MemberID        = "__id"
	MemberPublished = "__published"
	MemberUpdated   = "__updated"
	MemberMetadata  = "__metadata"
)

// Property is a declared property of an entity type.
type Property struct {
	Name     string
	Type     string // an Edm* type
	Nullable bool
	// Default is the value used when a create or replace omits the
	// property (nil: null). DefaultFunc, if set, wins and computes it.
	Default     any
	DefaultFunc func() any
	// Validate, if set, checks a non-null value after type checking and
	// returns an error (normally a PR400 code) if it is not acceptable.
	Validate func(v any) error
	// MaxLength bounds strings, in bytes; 0: the default 51200.
	MaxLength int
	// Complex, for a property of a complex type (Type is then the complex
	// type's name), lists its members; nil for simple types.
	Complex []*Property
	// List makes the property a list of values of its type
	// (CollectionKind List).
	List bool
}

// NavProp is a navigation property: Name is "_" + the target type's name.
type NavProp struct {
	Name   string // e.g. "_Role"
	Target string // entity set the property leads to
	// Many tells whether the property leads to a collection.
	Many bool
	// Assoc names the association (link kind) in the store.
	Assoc string
	// FromMany tells, for user data, whether this type's end of the
	// association is "*" too (N:N or N:1 from here); only the one side
	// of a 1:N or 0..1:N keeps an entity from being deleted.
	FromMany bool
	// RefProps, for associations stored as properties of the other side
	// (Box–Role: the Role's "_Box.Name"), maps the target's properties to
	// this type's key properties: {"_Box.Name": "Name"}. Empty for
	// associations stored as link documents.
	RefProps map[string]string
	// OwnRefProps is the reverse of RefProps: this type holds the reference
	// (Role/_Box): {"_Box.Name": "Name"} maps own property to target key.
	OwnRefProps map[string]string
	// Blocking, with RefProps, selects the referring entities that keep
	// this one from being deleted (nil: all of them); the others are for
	// a Hooks.Extra to delete along.
	Blocking metastore.Expr
}

// EntityType describes one entity type and its entity set (one set per type).
type EntityType struct {
	Name  string // also the entity set name
	Keys  []string
	Props []*Property
	Nav   []*NavProp
	// Open types accept dynamic (undeclared) properties.
	Open bool
	// HasID tells whether entities carry an "__id" member (user data,
	// messages); for those the key is __id.
	HasID bool
	// Kind is the document kind entities are stored as; "" means Name.
	// User data uses a stable kind so that its type can be renamed.
	Kind string
}

// StoreKind is the document kind of t's entities.
func (t *EntityType) StoreKind() string {
	if t.Kind != "" {
		return t.Kind
	}
	return t.Name
}

// Prop returns the declared property called name, or nil.
func (t *EntityType) Prop(name string) *Property {
	for _, p := range t.Props {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// NavProp returns the navigation property called name, or nil.
func (t *EntityType) NavProp(name string) *NavProp {
	for _, n := range t.Nav {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// IsKey reports whether name is one of the key properties.
func (t *EntityType) IsKey(name string) bool {
	for _, k := range t.Keys {
		if k == name {
			return true
		}
	}
	return false
}

// Schema is an EDM schema: a namespace, its entity types and the
// associations between them (as navigation properties on both ends).
type Schema struct {
	Namespace string // e.g. "CellCtl", "UnitCtl", "UserData"
	Container string // entity container name
	Types     []*EntityType
}

// Type returns the entity type whose set is called name, or nil.
func (s *Schema) Type(name string) *EntityType {
	for _, t := range s.Types {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// SetNames returns the entity set names, sorted.
func (s *Schema) SetNames() []string {
	var n []string
	for _, t := range s.Types {
		n = append(n, t.Name)
	}
	sort.Strings(n)
	return n
}

// Entity is one entity as the handler sees it.
type Entity struct {
	Type      *EntityType
	ID        string         // store identifier (not exposed unless HasID)
	Props     map[string]any // declared and dynamic property values; keys as in the schema
	Version   int64
	Published int64 // Unix ms
	Updated   int64 // Unix ms
}

// ETag is the entity's weak entity tag, W/"version-updated".
func (e *Entity) ETag() string {
	return `W/"` + itoa(e.Version) + "-" + itoa(e.Updated) + `"`
}

// KeyString renders the entity's key in URL form: ('v') for single keys,
// (A='x',B=null) for compound keys.
func (e *Entity) KeyString() string {
	return KeyString(e.Type, e.Props)
}

// KeyString renders the key of an entity of type t with property values
// props, as it appears in URIs: string values are percent-encoded the way
// Personium does (ExtCell('https%3A%2F%2Fcell.example%2F')).
func KeyString(t *EntityType, props map[string]any) string {
	var b strings.Builder
	b.WriteByte('(')
	if len(t.Keys) == 1 {
		b.WriteString(uriLiteral(props[t.Keys[0]]))
	} else {
		for i, k := range t.Keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(uriLiteral(props[k]))
		}
	}
	b.WriteByte(')')
	return b.String()
}

// uriLiteral is FormatLiteral with the content of strings percent-encoded
// except for unreserved characters (RFC 3986) and the doubled quotes.
func uriLiteral(v any) string {
	s, ok := v.(string)
	if !ok {
		return FormatLiteral(v)
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			b.WriteString("''")
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// FormatLiteral renders a key value as an OData URI literal.
func FormatLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case int64:
		return itoa(x)
	case int:
		return itoa(int64(x))
	case float64:
		return formatFloat(x)
	}
	return "null"
}
