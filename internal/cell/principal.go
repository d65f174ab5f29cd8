package cell

import (
	"context"
	"strings"

	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// VisitorRoles returns the roles of cell c that a visitor from the cell
// issuer, holding theirRoles there, gets here (reference §4.6):
// roles linked to the issuer's ExtCell, roles linked to relations that
// ExtCell is linked to, and roles linked to the ExtRoles of those
// relations that name one of theirRoles.
func (a *Authn) VisitorRoles(ctx context.Context, c *Cell, issuer string, theirRoles []string) ([]string, error) {
	p := a.Cells.CtlProvider(c)
	s := a.Cells.CellSchema()
	extCell, rel, extRole := s.Type("ExtCell"), s.Type("Relation"), s.Type("ExtRole")
	all := &odata.ListRequest{Limit: -1}
	ek := odata.KeyPredicate{{Value: issuer}}
	if _, err := p.Get(ctx, extCell, ek); err != nil {
		if perr.Is(err, perr.NotExist) {
			return nil, nil // a stranger: no roles
		}
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	add := func(rs []*odata.Entity) {
		for _, r := range rs {
			u := a.RoleURL(c, r.Props["_Box.Name"], r.Props["Name"].(string))
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
	}
	direct, _, err := p.Related(ctx, extCell, ek, extCell.NavProp("_Role"), all)
	if err != nil {
		return nil, err
	}
	add(direct)
	rels, _, err := p.Related(ctx, extCell, ek, extCell.NavProp("_Relation"), all)
	if err != nil {
		return nil, err
	}
	wanted := map[string]bool{}
	for _, r := range theirRoles {
		wanted[r] = true
	}
	for _, r := range rels {
		rk := odata.KeyPredicate{{Name: "Name", Value: r.Props["Name"]}, {Name: "_Box.Name", Value: r.Props["_Box.Name"]}}
		viaRel, _, err := p.Related(ctx, rel, rk, rel.NavProp("_Role"), all)
		if err != nil {
			return nil, err
		}
		add(viaRel)
		ers, _, err := p.Related(ctx, rel, rk, rel.NavProp("_ExtRole"), all)
		if err != nil {
			return nil, err
		}
		for _, er := range ers {
			if u, _ := er.Props["ExtRole"].(string); !wanted[u] {
				continue
			}
			ek := odata.KeyPredicate{{Name: "ExtRole", Value: er.Props["ExtRole"]},
				{Name: "_Relation.Name", Value: er.Props["_Relation.Name"]}, {Name: "_Relation._Box.Name", Value: er.Props["_Relation._Box.Name"]}}
			viaExt, _, err := p.Related(ctx, extRole, ek, extRole.NavProp("_Role"), all)
			if err != nil {
				return nil, err
			}
			add(viaExt)
		}
	}
	return out, nil
}

// Principal resolves a bearer token presented to cell c: a local token
// this cell issued, or a transcell token aimed at it. Errors are PR401
// codes: AU-0002 expired, AU-0006 unusable, AU-0007 refresh token,
// AU-0008 bad signature, AU-0012 password-change token.
func (a *Authn) Principal(ctx context.Context, c *Cell, token string) (pds.Principal, error) {
	if !auth.IsLocalToken(token) {
		tc, err := auth.ParseTransCell(token, a.Trust, a.now())
		if err != nil {
			return pds.Principal{}, err
		}
		return a.TransCellPrincipal(ctx, c, tc)
	}
	t, err := a.Sealer.Open(token)
	if err != nil {
		return pds.Principal{}, err
	}
	if t.Target != "" && (t.Type == auth.ResidentAccess || t.Type == auth.VisitorAccess) {
		// A p_cookie value: good only as a cookie with its peer.
		return pds.Principal{}, perr.New("PR401-AU-0006")
	}
	return a.localPrincipal(ctx, c, t)
}

// TransCellPrincipal resolves a verified transcell token presented to
// cell c: it must be aimed at c; the visitor gets the roles c grants the
// issuer cell (VisitorRoles).
func (a *Authn) TransCellPrincipal(ctx context.Context, c *Cell, tc *auth.TransCellToken) (pds.Principal, error) {
	if tc.Target != a.CellURL(c) {
		return pds.Principal{}, perr.New("PR401-AU-0006")
	}
	roles, err := a.VisitorRoles(ctx, c, tc.Issuer, tc.Roles)
	if err != nil {
		return pds.Principal{}, err
	}
	return pds.Principal{Kind: pds.Visitor, Subject: tc.Subject, Cell: pds.CellName(c.Name), Roles: roles,
		Schema: tc.Schema, Scope: tc.Scopes}, nil
}

// localPrincipal resolves an opened local token presented to cell c.
func (a *Authn) localPrincipal(ctx context.Context, c *Cell, t *auth.LocalToken) (pds.Principal, error) {
	now := a.now()
	switch {
	case t.Type.IsRefresh():
		return pds.Principal{}, perr.New("PR401-AU-0007")
	case t.Type == auth.PasswordChange:
		return pds.Principal{}, perr.New("PR401-AU-0012")
	case t.Type == auth.UnitLocalUnitUser && t.Issuer == a.CellURL(c) && !t.Expired(now):
		// p_owner: the owner of this cell, as a unit user of it alone
		// (it manages the cell; its contents need ACLs, as in Personium).
		return pds.Principal{Kind: pds.UnitUser, Subject: t.Subject}, nil
	case t.Type != auth.ResidentAccess && t.Type != auth.VisitorAccess:
		return pds.Principal{}, perr.New("PR401-AU-0006")
	case t.Issuer != a.CellURL(c):
		return pds.Principal{}, perr.New("PR401-AU-0006")
	case t.Expired(now):
		return pds.Principal{}, perr.New("PR401-AU-0002")
	}
	p := pds.Principal{Subject: t.Subject, Cell: pds.CellName(c.Name), Schema: t.Schema, Scope: t.Scope}
	if t.Type == auth.VisitorAccess {
		p.Kind, p.Roles = pds.Visitor, t.Roles
		return p, nil
	}
	// A resident token is only as good as its account: deleted or
	// deactivated accounts lose access at once, and roles are current.
	acc, err := a.residentAccount(ctx, c, t.Subject)
	if err != nil {
		return pds.Principal{}, perr.New("PR401-AU-0006")
	}
	if p.Roles, err = a.accountRoles(ctx, c, acc); err != nil {
		return pds.Principal{}, err
	}
	p.Kind = pds.Account
	return p, nil
}

// PasswordChangeSubject opens a token presented to __mypassword: a
// resident access token or a password-change token of c's account.
func (a *Authn) PasswordChangeSubject(ctx context.Context, c *Cell, token string) (*odata.Entity, []string, error) {
	t, err := a.Sealer.Open(token)
	if err != nil {
		return nil, nil, err
	}
	if t.Issuer != a.CellURL(c) {
		return nil, nil, perr.New("PR401-AU-0006")
	}
	if t.Expired(a.now()) {
		return nil, nil, perr.New("PR401-AU-0002")
	}
	if t.Type != auth.ResidentAccess && t.Type != auth.PasswordChange {
		// A good token of this cell, but not an account's own
		// (Personium checkResidentLocalOrPasswordChangeToken).
		return nil, nil, perr.New("PR403-AU-0002")
	}
	if t.Type == auth.ResidentAccess {
		acc, err := a.residentAccount(ctx, c, t.Subject) // a deactivated account cannot
		if err != nil {
			return nil, nil, perr.New("PR401-AU-0006")
		}
		return acc, t.Scope, nil
	}
	name, _ := strings.CutPrefix(t.Subject, a.CellURL(c)+"#")
	acc, err := a.account(ctx, c, name)
	if err != nil {
		return nil, nil, perr.New("PR401-AU-0006")
	}
	return acc, nil, nil
}

// BasicPrincipal authenticates an account of c by name and password
// (Basic authentication on cell and schema-less box resources), with the
// same checks, history and locks as the password grant.
func (a *Authn) BasicPrincipal(ctx context.Context, c *Cell, user, password, remote string) (pds.Principal, error) {
	pc, err := a.checkPassword(ctx, c, user, password, remote)
	if err != nil {
		return pds.Principal{}, err
	}
	if pc.mustChange {
		return pds.Principal{}, perr.New("PR401-AU-0005")
	}
	roles, err := a.accountRoles(ctx, c, pc.acc)
	if err != nil {
		return pds.Principal{}, err
	}
	return pds.Principal{Kind: pds.Account, Subject: pc.subject, Cell: pds.CellName(c.Name), Roles: roles}, nil
}
