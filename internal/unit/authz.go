package unit

import (
	"context"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
)

// ctlPrivileges says which cell privilege each control-object set needs
// to write and to read (reference §3.1; ExtCell and Relation are social,
// as in Personium's code).
var ctlPrivileges = map[string][2]pds.Privilege{
	"Account":         {"auth", "auth-read"},
	"Role":            {"auth", "auth-read"},
	"ExtRole":         {"auth", "auth-read"},
	"Relation":        {"social", "social-read"},
	"ExtCell":         {"social", "social-read"},
	"Box":             {"box", "box-read"},
	"Rule":            {"rule", "rule-read"},
	"ReceivedMessage": {"message", "message-read"},
	"SentMessage":     {"message", "message-read"},
}

// ACLAuthorizer decides with the cell's ACL: the unit master may do
// everything, a unit user everything in the cells it owns, and everyone
// else what the cell ACL grants the roles they hold (and <D:all/> grants
// anyone), limited by their token's scope.
type ACLAuthorizer struct {
	Cells *cell.Manager
}

// Authorize implements Authorizer.
func (z ACLAuthorizer) Authorize(ctx context.Context, p pds.Principal, c *cell.Cell, set string, write bool) error {
	if set == "$metadata" && !write {
		return nil
	}
	switch {
	case c == nil && (p.HasUnitPowers() || p.Kind == pds.UnitUser):
		// The unit's Cell set: a unit user sees the cells it owns.
		return nil
	case set == "Cell" && managesCell(p, c):
		// Managing a cell itself (deleting it) is the unit's business.
		return nil
	case p.Kind == pds.UnitUser && !managesCell(p, c):
		return perr.New("PR403-AU-0003")
	}
	if c == nil {
		if p.Kind == pds.Anonymous {
			return authError(ctx)
		}
		return perr.New("PR403-AU-0001")
	}
	if set == "" {
		return nil // the service document lists set names only
	}
	privs, ok := ctlPrivileges[set]
	if !ok {
		return perr.New("PR403-AU-0002")
	}
	want := privs[1]
	if write {
		want = privs[0]
	}
	return z.CellPrivilege(ctx, p, c, want)
}

// managesCell reports whether p manages cell c as the unit does: the
// unit master, a unit admin, or the unit user owning c (Personium
// AccessContext.isUnitUserToken()). Managing a cell (deleting it, its
// owner properties, its schema checks) is not seeing into it; see
// contentsBypass.
func managesCell(p pds.Principal, c *cell.Cell) bool {
	return p.HasUnitPowers() || (p.Kind == pds.UnitUser && c != nil && c.Owner != "" && c.Owner == p.Subject)
}

// contentsBypass reports whether p may use want on c's contents (control
// objects, boxes and their resources) without any ACL: the unit master
// always; a unit admin or the owning unit user only with the issuer's
// role CellContentsAdmin, or CellContentsReader for read privileges
// (Personium AccessContext.isUnitUserToken(Privilege)). Everyone else,
// unit users included, is judged by the ACLs.
func contentsBypass(p pds.Principal, c *cell.Cell, want pds.Privilege) bool {
	switch {
	case p.Kind == pds.UnitMaster:
		return true
	case !managesCell(p, c):
		return false
	}
	return p.UnitRole == pds.UnitRoleAdmin || (p.UnitRole == pds.UnitRoleReader && acl.IsRead(want))
}

// CellPrivilege checks that p holds the cell-level privilege want on c.
func (z ACLAuthorizer) CellPrivilege(ctx context.Context, p pds.Principal, c *cell.Cell, want pds.Privilege) error {
	switch {
	case contentsBypass(p, c, want):
		return nil
	case p.Kind == pds.UnitUser && !managesCell(p, c):
		return perr.New("PR403-AU-0003")
	}
	a, err := z.Cells.CellACL(ctx, c)
	if err != nil {
		return err
	}
	if !acl.Can(acl.CellLevel, acl.Requester{Roles: p.Roles}, want, a) {
		if p.Kind == pds.Anonymous {
			return authError(ctx)
		}
		return perr.New("PR403-AU-0002")
	}
	if !scopeAllows(p.Scope, want) {
		return perr.New("PR403-AU-0007", want)
	}
	return nil
}

// scopeAllows reports whether a token scope permits want: no scope or
// "root" permits everything the roles allow; otherwise a scope entry must
// imply want. Scope entries that are not privileges (role URLs, openid)
// grant nothing here.
func scopeAllows(scope []string, want pds.Privilege) bool {
	if len(scope) == 0 {
		return true
	}
	for _, s := range scope {
		if s == "root" || (acl.Valid(acl.CellLevel, pds.Privilege(s)) && acl.Implies(acl.CellLevel, pds.Privilege(s), want)) {
			return true
		}
	}
	return false
}

// CellPrivilegeSet is what p may do at cell level on c, every implied
// privilege included: the RFC 3744 current-user-privilege-set of the
// cell (Personium issue 46). The unit master holds root; unit admins and
// the owning unit user what their contents role gives (see
// contentsBypass) plus what the ACL grants.
func (z ACLAuthorizer) CellPrivilegeSet(ctx context.Context, p pds.Principal, c *cell.Cell) ([]pds.Privilege, error) {
	var held []pds.Privilege
	scope := []string(nil)
	if !contentsBypass(p, c, acl.CellRoot) {
		a, err := z.Cells.CellACL(ctx, c)
		if err != nil {
			return nil, err
		}
		held, scope = acl.Privileges(acl.Requester{Roles: p.Roles}, a), p.Scope
	}
	var out []pds.Privilege
	for _, priv := range acl.Expand(acl.CellLevel, append(held, acl.CellRoot)) {
		lvl, ok := acl.LevelOf(priv)
		if !ok || lvl != acl.CellLevel {
			continue
		}
		if contentsBypass(p, c, priv) || (holdsAny(held, priv) && scopeAllows(scope, priv)) {
			out = append(out, priv)
		}
	}
	return out, nil
}

// holdsAny reports whether one of held implies want at cell level.
func holdsAny(held []pds.Privilege, want pds.Privilege) bool {
	for _, h := range held {
		if acl.Implies(acl.CellLevel, h, want) {
			return true
		}
	}
	return false
}
