package acl

import "github.com/personium-go/personium/internal/pds"

// Level tells which privilege lattice applies: the ACL of a cell root
// (CellLevel) or of a box, collection or file (BoxLevel).
type Level int

// The two levels.
const (
	CellLevel Level = iota
	BoxLevel
)

func (l Level) String() string {
	switch l {
	case CellLevel:
		return "cell"
	case BoxLevel:
		return "box"
	}
	return "level(?)"
}

// XML namespaces of ACL documents.
const (
	NSDAV       = "DAV:"
	NSPersonium = "urn:x-personium:xmlns"
	nsXML       = "http://www.w3.org/XML/1998/namespace"
)

// Cell-level privileges (Personium auth/CellPrivilege.java), all in the
// urn:x-personium:xmlns namespace.
const (
	CellRoot        pds.Privilege = "root"
	CellAuth        pds.Privilege = "auth"
	CellAuthRead    pds.Privilege = "auth-read"
	CellMessage     pds.Privilege = "message"
	CellMessageRead pds.Privilege = "message-read"
	CellEvent       pds.Privilege = "event"
	CellEventRead   pds.Privilege = "event-read"
	CellLog         pds.Privilege = "log"
	CellLogRead     pds.Privilege = "log-read"
	CellSocial      pds.Privilege = "social"
	CellSocialRead  pds.Privilege = "social-read"
	CellBox         pds.Privilege = "box"
	CellBoxRead     pds.Privilege = "box-read"
	CellBoxInstall  pds.Privilege = "box-install"
	CellACL         pds.Privilege = "acl"
	CellACLRead     pds.Privilege = "acl-read"
	CellPropfind    pds.Privilege = "propfind"
	CellRule        pds.Privilege = "rule"
	CellRuleRead    pds.Privilege = "rule-read"
	CellSign        pds.Privilege = "sign"
)

// Box-level privileges (Personium auth/BoxPrivilege.java), in the DAV:
// namespace except Exec, StreamSend and StreamReceive.
const (
	All             pds.Privilege = "all"
	Read            pds.Privilege = "read"
	ReadProperties  pds.Privilege = "read-properties"
	ReadACL         pds.Privilege = "read-acl"
	Write           pds.Privilege = "write"
	WriteContent    pds.Privilege = "write-content"
	Bind            pds.Privilege = "bind"
	Unbind          pds.Privilege = "unbind"
	WriteProperties pds.Privilege = "write-properties"
	WriteACL        pds.Privilege = "write-acl"
	Exec            pds.Privilege = "exec"
	AlterSchema     pds.Privilege = "alter-schema"
	StreamSend      pds.Privilege = "stream-send"
	StreamReceive   pds.Privilege = "stream-receive"
)

// privilegeDef is one row of the lattice: a privilege, the privilege
// directly above it ("" for the top), the lattice it belongs to and the
// namespace its XML element is in.
type privilegeDef struct {
	name   pds.Privilege
	parent pds.Privilege
	level  Level
	ns     string
}

// lattice is the privilege hierarchy as data. The two Personium lattices
// are one tree: BoxPrivilege "all" has CellPrivilege "root" as its parent,
// so a cell-level root holder has every box privilege. Parents come
// before children. Names are unique across both levels.
var lattice = [...]privilegeDef{
	{CellRoot, "", CellLevel, NSPersonium},
	{CellAuth, CellRoot, CellLevel, NSPersonium},
	{CellAuthRead, CellAuth, CellLevel, NSPersonium},
	{CellMessage, CellRoot, CellLevel, NSPersonium},
	{CellMessageRead, CellMessage, CellLevel, NSPersonium},
	{CellEvent, CellRoot, CellLevel, NSPersonium},
	{CellEventRead, CellEvent, CellLevel, NSPersonium},
	{CellLog, CellRoot, CellLevel, NSPersonium},
	{CellLogRead, CellLog, CellLevel, NSPersonium},
	{CellSocial, CellRoot, CellLevel, NSPersonium},
	{CellSocialRead, CellSocial, CellLevel, NSPersonium},
	{CellBox, CellRoot, CellLevel, NSPersonium},
	{CellBoxRead, CellBox, CellLevel, NSPersonium},
	{CellBoxInstall, CellBox, CellLevel, NSPersonium},
	{CellACL, CellRoot, CellLevel, NSPersonium},
	{CellACLRead, CellACL, CellLevel, NSPersonium},
	{CellPropfind, CellRoot, CellLevel, NSPersonium},
	{CellRule, CellRoot, CellLevel, NSPersonium},
	{CellRuleRead, CellRule, CellLevel, NSPersonium},
	{CellSign, CellRoot, CellLevel, NSPersonium},

	{All, CellRoot, BoxLevel, NSDAV},
	{Read, All, BoxLevel, NSDAV},
	{ReadProperties, Read, BoxLevel, NSDAV},
	{ReadACL, All, BoxLevel, NSDAV},
	{Write, All, BoxLevel, NSDAV},
	{WriteContent, Write, BoxLevel, NSDAV},
	{Bind, Write, BoxLevel, NSDAV},
	{Unbind, Write, BoxLevel, NSDAV},
	{WriteProperties, Write, BoxLevel, NSDAV},
	{WriteACL, All, BoxLevel, NSDAV},
	{Exec, All, BoxLevel, NSPersonium},
	{AlterSchema, All, BoxLevel, NSDAV}, // D:, as model/jaxb/Privilege.java parses it
	{StreamSend, All, BoxLevel, NSPersonium},
	{StreamReceive, All, BoxLevel, NSPersonium},
}

// maxChain bounds the length of a privilege's ancestor chain (itself
// included): write-content → write → all → root.
const maxChain = 4

// Tables derived from lattice once; never modified afterwards.
var (
	privIndex = map[pds.Privilege]int{}
	// up[i] is the index of lattice[i].parent, -1 for the top.
	up [len(lattice)]int
	// below[i] has bit j set when lattice[j] is lattice[i] or a descendant.
	below [len(lattice)]uint64
)

func init() {
	for i, d := range lattice {
		privIndex[d.name] = i
	}
	for i, d := range lattice {
		up[i] = -1
		if d.parent != "" {
			up[i] = privIndex[d.parent]
		}
	}
	for i, d := range lattice {
		depth := 0
		for j := i; j >= 0; j = up[j] {
			below[j] |= 1 << i
			depth++
		}
		if depth > maxChain {
			panic("acl: privilege chain of " + string(d.name) + " longer than maxChain")
		}
	}
}

// Valid reports whether p may be granted in an ACL at level. A box-level
// ACL takes box privileges only. A cell-level ACL takes cell privileges
// and, as in Personium (model/jaxb/Acl.java validateAcl), box privileges
// too: D:read granted on the cell grants read on every box.
func Valid(level Level, p pds.Privilege) bool {
	i, ok := privIndex[p]
	if !ok {
		return false
	}
	switch level {
	case CellLevel:
		return true
	case BoxLevel:
		return lattice[i].level == BoxLevel
	}
	return false
}

// LevelOf tells which lattice p belongs to; ok is false for an unknown
// privilege. Use it to tell cell privileges ("auth") from box ones ("read").
func LevelOf(p pds.Privilege) (level Level, ok bool) {
	i, ok := privIndex[p]
	if !ok {
		return 0, false
	}
	return lattice[i].level, true
}

// Namespace returns the XML namespace of p's element (NSDAV or
// NSPersonium), "" for an unknown privilege.
func Namespace(p pds.Privilege) string {
	if i, ok := privIndex[p]; ok {
		return lattice[i].ns
	}
	return ""
}

// Parent returns the privilege directly above p ("" for root or an
// unknown privilege).
func Parent(p pds.Privilege) pds.Privilege {
	if i, ok := privIndex[p]; ok {
		return lattice[i].parent
	}
	return ""
}

// Implies reports whether holding held grants want: held == want or held
// is an ancestor of want. want must be Valid at level; held may be any
// known privilege, since the ACLs of a box resource's chain end with the
// cell ACL, where root (the parent of box "all") may be granted.
// Unknown privileges imply nothing and are implied by nothing.
func Implies(level Level, held, want pds.Privilege) bool {
	if !Valid(level, want) {
		return false
	}
	h, ok := privIndex[held]
	if !ok {
		return false
	}
	return below[h]&(1<<privIndex[want]) != 0
}

// Expand returns every privilege valid at level that held implies, in
// lattice order, without duplicates. Unknown names are ignored. The result
// is what RFC 3744 DAV:current-user-privilege-set lists.
func Expand(level Level, held []pds.Privilege) []pds.Privilege {
	var set uint64
	for _, p := range held {
		if i, ok := privIndex[p]; ok {
			set |= below[i]
		}
	}
	var out []pds.Privilege
	for i, d := range lattice {
		if set&(1<<i) != 0 && Valid(level, d.name) {
			out = append(out, d.name)
		}
	}
	return out
}

// chain returns want and its ancestors, nearest first, in a fixed array
// so that Can does not allocate; n is how many are set, 0 if want is not
// Valid at level.
func chain(level Level, want pds.Privilege) (c [maxChain]pds.Privilege, n int) {
	if !Valid(level, want) {
		return c, 0
	}
	for i := privIndex[want]; i >= 0; i = up[i] {
		c[n] = lattice[i].name
		n++
	}
	return c, n
}

// IsRead reports whether p only reads (Personium's access type "read":
// the *-read cell privileges, propfind, and the box privileges read,
// read-properties and read-acl). Unit users holding the
// CellContentsReader role get exactly these.
func IsRead(p pds.Privilege) bool {
	switch p {
	case Read, ReadProperties, ReadACL, CellPropfind:
		return true
	}
	return Valid(CellLevel, p) && len(p) > 5 && p[len(p)-5:] == "-read"
}
