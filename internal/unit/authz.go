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
	case p.HasUnitPowers():
		return nil
	case p.Kind == pds.UnitUser:
		// A unit user may use the unit's Cell set (scoped to the cells it
		// owns) and everything in the cells it owns.
		if c == nil || (c.Owner != "" && c.Owner == p.Subject) {
			return nil
		}
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

// CellPrivilege checks that p holds the cell-level privilege want on c.
func (z ACLAuthorizer) CellPrivilege(ctx context.Context, p pds.Principal, c *cell.Cell, want pds.Privilege) error {
	switch {
	case p.HasUnitPowers():
		return nil
	case p.Kind == pds.UnitUser:
		if c.Owner != "" && c.Owner == p.Subject {
			return nil
		}
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
// cell (Personium issue 46). The unit master, unit admins and the owning
// unit user hold root.
func (z ACLAuthorizer) CellPrivilegeSet(ctx context.Context, p pds.Principal, c *cell.Cell) ([]pds.Privilege, error) {
	held := []pds.Privilege{acl.CellRoot}
	scope := []string(nil)
	if !p.HasUnitPowers() && !(p.Kind == pds.UnitUser && c.Owner != "" && c.Owner == p.Subject) {
		a, err := z.Cells.CellACL(ctx, c)
		if err != nil {
			return nil, err
		}
		held, scope = acl.Privileges(acl.Requester{Roles: p.Roles}, a), p.Scope
	}
	var out []pds.Privilege
	for _, priv := range acl.Expand(acl.CellLevel, held) {
		if lvl, ok := acl.LevelOf(priv); ok && lvl == acl.CellLevel && scopeAllows(scope, priv) {
			out = append(out, priv)
		}
	}
	return out, nil
}
