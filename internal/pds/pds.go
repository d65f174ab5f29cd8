// Package pds holds the shared vocabulary of personium-go: the names of
// cells, boxes and paths, the principals that ask for things and the
// privileges they ask with. It is a leaf: it imports nothing from the
// project, and every other package may import it.
//
// The types are distinct string types so that a box name cannot be passed
// where a cell name is expected.
package pds

import "regexp"

// CellName is the name of a cell on a unit, e.g. "alice"
// (pattern ^[a-z0-9][a-z0-9-]{0,127}$, reference §1.1).
type CellName string

// BoxName is the name of a box inside a cell. The main box is MainBox.
type BoxName string

// MainBox is the name of the box every cell has and that has no schema.
const MainBox BoxName = "__"

// Path is a slash-separated path below a box root, without a leading slash.
type Path string

// Privilege is a cell- or box-level privilege name as it appears in ACL
// XML, without namespace: "root", "auth-read", "read", "write-content"…
type Privilege string

// PrincipalKind tells what kind of caller a request carries.
type PrincipalKind int

// The kinds of caller, from least to most powerful at unit level.
const (
	Anonymous  PrincipalKind = iota // no Authorization header
	UnitMaster                      // the unit master token, without X-Personium-Unit-User
	UnitUser                        // a unit user (subject = owner URL)
	Account                         // a resident account of a cell
	Visitor                         // a visitor from another cell
	UnitAdmin                       // a unit user token carrying the UnitAdmin role: the master's powers
)

// HasUnitPowers reports whether p may do everything on the unit: the
// master token, or a unit administrator.
func (p Principal) HasUnitPowers() bool { return p.Kind == UnitMaster || p.Kind == UnitAdmin }

// Principal is who is asking. The zero value is an anonymous caller.
type Principal struct {
	Kind PrincipalKind
	// Subject is the subject URL: "{CellURL}#{account}" for accounts and
	// visitors, the owner URL for unit users, "" otherwise.
	Subject string
	// Cell is the cell the principal's token is valid for, "" for unit-level principals.
	Cell CellName
	// Roles are role instance URLs the principal holds in Cell.
	Roles []string
	// Schema is the app schema the token was issued for ("" if none);
	// it ends in "#c" for confidential clients.
	Schema string
	// Scope restricts what the token may do ("root" or none: no restriction
	// beyond the roles; otherwise cell privilege names).
	Scope []string
	// UnitRole is the contents role of a unit user or unit admin
	// (UnitRoleReader, UnitRoleAdmin, or ""): without one, a unit user
	// manages the cells it owns but does not see into them.
	UnitRole string
}

// The roles of an issuer cell's main box that open the contents of
// cells to unit users (Personium AccessContext).
const (
	UnitRoleReader = "CellContentsReader" // read everything in the cells it may manage
	UnitRoleAdmin  = "CellContentsAdmin"  // do everything in them
)

var (
	cellNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,127}$`)
)

// ValidCellName reports whether s is a syntactically valid cell name.
func ValidCellName(s string) bool { return cellNameRE.MatchString(s) }
