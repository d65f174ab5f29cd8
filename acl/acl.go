// Package acl is Personium's access-control engine: it parses and writes
// the WebDAV ACL XML that Personium accepts on the ACL method and shows in
// PROPFIND (reference §6.3), holds the cell and box privilege lattices as
// data (§6.4) and answers whether a caller holding some roles may do
// something, given the ACLs that apply.
//
// The package is pure: it does no I/O beyond reading the io.Reader given
// to Parse, and imports no HTTP, database or clock. Finding which ACLs
// apply to a resource (the resource, each ancestor up to the box root and
// the cell), resolving a token to role URLs, checking that a role named in
// an ACL exists (PR400-DV-0004) and the unit-user bypass are the callers'
// job: the dav and unit packages call Parse on an ACL request, Marshal for
// PROPFIND, and Can for every request.
//
// Errors from Parse are *perr.E with Personium's codes:
//
//	PR400-DV-0002  the body is not well-formed XML, is not a DAV:acl
//	               document, or has a DTD or entity declarations (400)
//	PR400-DV-0006  the ACL is invalid: unknown privilege, deny, missing
//	               grant or principal, bad requireSchemaAuthz… (400)
//	PR400-DV-0004  a principal href is not a role URL of this cell (400)
//	PR413-MC-0001  the body is larger than MaxACLBytes (413)
//
// All values are plain data; the functions keep no state and are safe for
// concurrent use. An *ACL must not be modified while another goroutine
// reads it.
package acl

import "github.com/personium-go/personium/internal/pds"

// SchemaAuthz is the p:requireSchemaAuthz attribute of an ACL: which app
// authentication a token needs to use the resource (reference §6.3).
type SchemaAuthz string

// The values of p:requireSchemaAuthz.
const (
	SchemaAuthzUnset        SchemaAuthz = ""             // attribute absent: inherit
	SchemaAuthzNone         SchemaAuthz = "none"         // no schema authentication needed
	SchemaAuthzPublic       SchemaAuthz = "public"       // token must carry the box's schema
	SchemaAuthzConfidential SchemaAuthz = "confidential" // … from a confidential client (#c)
)

// ACE is one access control entry: a principal and what it is granted.
// Personium has no deny ACEs.
type ACE struct {
	// All is true for <D:all/>: every caller, anonymous included.
	All bool
	// Principal is the absolute role instance URL
	// ({Cell}__role/{box}/{role}, "__" for roles bound to no box) when
	// All is false.
	Principal string
	// Grant lists the privileges granted, as written (not expanded).
	Grant []pds.Privilege
}

// ACL is the access control list of one resource. The zero value and a
// nil *ACL are valid: they grant nothing and leave SchemaAuthz unset.
type ACL struct {
	// Base is the xml:base attribute as given (an absolute URL), "" if none.
	Base        string
	SchemaAuthz SchemaAuthz
	ACEs        []ACE
}

// Requester describes the caller for Can and Privileges.
type Requester struct {
	// Roles are the absolute role instance URLs the caller holds, as
	// produced from its token (reference §4.6). Nil for anonymous callers.
	Roles []string
}

// Can reports whether req holds want through any ACE of any of acls.
// Inheritance in Personium is additive, so pass the ACL of the resource
// and of each ancestor up to the box root (and the cell's ACL, whose root
// and box privileges reach into every box); their order does not matter.
// Nil ACLs are skipped. <D:all/> ACEs apply to everyone. want must be
// Valid at level, or Can reports false.
//
// Implication follows the lattice uniformly. Personium differs in one
// corner: p:root granted to <D:all/> on the cell does not reach box
// privileges there (AccessContext.hasSubjectPrivilegeForAcl special-cases
// root for role ACEs only); here it does, like root granted to a role.
//
// Can does not allocate; its cost is a few nanoseconds per ACE.
func Can(level Level, req Requester, want pds.Privilege, acls ...*ACL) bool {
	wanted, n := chain(level, want)
	if n == 0 {
		return false
	}
	filter := roleFilter(req.Roles)
	for _, a := range acls {
		if a == nil {
			continue
		}
		for i := range a.ACEs {
			ace := &a.ACEs[i]
			if !ace.All && !holds(req.Roles, filter, ace.Principal) {
				continue
			}
			for _, g := range ace.Grant {
				for _, w := range wanted[:n] {
					if g == w {
						return true
					}
				}
			}
		}
	}
	return false
}

// Privileges returns the privileges req is granted by acls, as written in
// the ACEs that apply to it (not expanded), without duplicates, in lattice
// order. Unknown names are dropped. Use Expand on the result for RFC 3744
// DAV:current-user-privilege-set.
func Privileges(req Requester, acls ...*ACL) []pds.Privilege {
	filter := roleFilter(req.Roles)
	var set uint64
	for _, a := range acls {
		if a == nil {
			continue
		}
		for i := range a.ACEs {
			ace := &a.ACEs[i]
			if !ace.All && !holds(req.Roles, filter, ace.Principal) {
				continue
			}
			for _, g := range ace.Grant {
				if j, ok := privIndex[g]; ok {
					set |= 1 << j
				}
			}
		}
	}
	var out []pds.Privilege
	for j, d := range lattice {
		if set&(1<<j) != 0 {
			out = append(out, d.name)
		}
	}
	return out
}

// EffectiveSchemaAuthz returns the p:requireSchemaAuthz that applies to a
// resource. acls[0] is the resource's ACL, then its parent's and so on up
// to the box (Personium DavRsCmp.getConfidentialLevel): the first explicit
// setting wins, so an explicit "none" stops inheritance; nil ACLs are
// skipped; unset everywhere means SchemaAuthzNone.
func EffectiveSchemaAuthz(acls ...*ACL) SchemaAuthz {
	for _, a := range acls {
		if a != nil && a.SchemaAuthz != SchemaAuthzUnset {
			return a.SchemaAuthz
		}
	}
	return SchemaAuthzNone
}

// roleFilter summarises a role list as a 64-bit set of roleBit values, so
// that Can rejects most ACEs naming other roles with one AND instead of
// string comparisons.
func roleFilter(roles []string) uint64 {
	var f uint64
	for _, r := range roles {
		f |= roleBit(r)
	}
	return f
}

// roleBit hashes a role URL to one of 64 bits, from its length and last
// two bytes: role URLs of one cell share long prefixes and differ at the
// end. Collisions only cost a string comparison.
func roleBit(s string) uint64 {
	n := len(s)
	h := uint(n) * 7
	if n > 0 {
		h += uint(s[n-1])
	}
	if n > 1 {
		h += uint(s[n-2]) * 3
	}
	return 1 << (h & 63)
}

// holds reports whether principal is one of roles; filter is roleFilter(roles).
func holds(roles []string, filter uint64, principal string) bool {
	if principal == "" || filter&roleBit(principal) == 0 {
		return false
	}
	for _, r := range roles {
		if r == principal {
			return true
		}
	}
	return false
}
