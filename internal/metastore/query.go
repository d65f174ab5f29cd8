package metastore

// Query selects documents. Protocol layers (OData $filter, DAV listings…)
// compile their own syntax into a Query; backends compile a Query into
// theirs (SQL, Elasticsearch DSL). No layer builds backend query strings.
type Query struct {
	Kind      string // required unless AnyKind
	AnyKind   bool   // match documents of every kind (export, cell-wide scans)
	Cell      string // exact match; "" selects unit-level documents
	Parent    string // exact match unless AnyParent
	AnyParent bool
	Filter    Expr // nil: everything
	// Text is a full-text search: whitespace-separated words, all of which
	// must occur (case-insensitively, as substrings, so CJK text matches
	// partially) in some string, number or boolean member of the body.
	Text  string
	Order []Order // then, always, by Key and ID, so paging is stable
	Skip  int
	Limit int  // maximum number of documents returned; < 0: no limit; 0: none
	Count bool // also compute the total number of matches
}

// Field names a top-level member of Doc.Body, or one of the document
// columns below. Body member names never start with '@'.
type Field = string

// Column fields.
const (
	FieldID        Field = "@id"
	FieldKey       Field = "@key"
	FieldParent    Field = "@parent"
	FieldPublished Field = "@published" // Unix ms
	FieldUpdated   Field = "@updated"   // Unix ms
)

// FieldText, given to Indexer.EnsureIndex, asks for a full-text index of
// the kind's documents, so that Query.Text need not scan them. It is not
// a field of documents and cannot be filtered or ordered on.
const FieldText Field = "@text"

// Value is a literal in a filter: nil, string, int64, float64 or bool.
// (Dates are compared as Unix milliseconds, int64.)
type Value = any

// Expr is a boolean filter expression. The implementations are And, Or,
// Not, Cmp, Prefix, Contains and In.
//
// Semantics every backend must follow (metastoretest checks them):
//   - A missing member and a JSON null are the same: null.
//   - Cmp Eq nil matches null; Ne nil matches non-null.
//   - Values of different types are never equal (the string "1" is not the
//     number 1, true is not 1); int64 and float64 compare numerically.
//   - Lt/Le/Gt/Ge hold only between two non-null values of the same type
//     (number, string or bool; false < true). Strings compare by bytes.
//   - Ne is the negation of Eq (so null ne 'x' holds).
//   - Prefix and Contains hold only for string members, case-sensitively.
type Expr interface{ isExpr() }

// And holds when all of its operands hold. An empty And holds.
type And []Expr

// Or holds when any of its operands holds. An empty Or does not hold.
type Or []Expr

// Not negates X.
type Not struct{ X Expr }

// CmpOp is a comparison operator.
type CmpOp uint8

// Comparison operators.
const (
	Eq CmpOp = iota + 1
	Ne
	Lt
	Le
	Gt
	Ge
)

var opNames = [...]string{Eq: "eq", Ne: "ne", Lt: "lt", Le: "le", Gt: "gt", Ge: "ge"}

func (o CmpOp) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "op?"
}

// Cmp compares a field with a literal.
type Cmp struct {
	Field Field
	Op    CmpOp
	Value Value
}

// Prefix holds when Field is a string starting with Value.
type Prefix struct {
	Field Field
	Value string
}

// Contains holds when Field is a string containing Value.
type Contains struct {
	Field Field
	Value string
}

// In holds when Field equals one of Values (same rules as Eq).
type In struct {
	Field  Field
	Values []Value
}

func (And) isExpr()      {}
func (Or) isExpr()       {}
func (Not) isExpr()      {}
func (Cmp) isExpr()      {}
func (Prefix) isExpr()   {}
func (Contains) isExpr() {}
func (In) isExpr()       {}

// Order sorts by a field. Nulls sort before every value in ascending order
// (after in descending). Across types: null < bool < number < string.
type Order struct {
	Field Field
	Desc  bool
}
