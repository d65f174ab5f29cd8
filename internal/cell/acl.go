package cell

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// KindACL is the document kind of stored ACLs; the cell's own ACL has
// the key cellACLKey.
const (
	KindACL    = "ACL"
	cellACLKey = "cell"
)

// CellACL returns the ACL set on cell c; an empty ACL if none was set.
func (m *Manager) CellACL(ctx context.Context, c *Cell) (*acl.ACL, error) {
	d, err := m.Store.GetKey(ctx, KindACL, c.ID, "", cellACLKey)
	if perr.Is(err, perr.NotExist) {
		return &acl.ACL{}, nil
	}
	if err != nil {
		return nil, err
	}
	var a acl.ACL
	if err := json.Unmarshal(d.Body, &a); err != nil {
		return nil, perr.Errorf(perr.Internal, "cell: corrupt ACL of %s: %v", c.Name, err)
	}
	return &a, nil
}

// SetCellACL replaces the ACL of cell c. Every principal must be a role
// of c (PR400-DV-0004 otherwise); cellURL is c's URL.
func (m *Manager) SetCellACL(ctx context.Context, c *Cell, cellURL string, a *acl.ACL) error {
	if err := m.checkPrincipals(ctx, c, cellURL, a); err != nil {
		return err
	}
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	now := m.now().UnixMilli()
	doc := metastore.Doc{ID: m.NewID(), Kind: KindACL, Cell: c.ID, Key: cellACLKey, Body: body, Published: now, Updated: now}
	cur, err := m.Store.GetKey(ctx, KindACL, c.ID, "", cellACLKey)
	switch {
	case err == nil:
		doc.ID = cur.ID
		_, err = m.Store.Apply(ctx, metastore.Op{Type: metastore.Update, Doc: doc, IfVersion: cur.Version})
	case perr.Is(err, perr.NotExist):
		_, err = m.Store.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: doc})
	}
	if perr.Is(err, perr.PreconditionFailed) || perr.Is(err, perr.Exist) {
		return perr.New("PR503-DV-0001") // a concurrent ACL write won
	}
	return err
}

// checkPrincipals verifies that every role an ACL names exists in c.
func (m *Manager) checkPrincipals(ctx context.Context, c *Cell, cellURL string, a *acl.ACL) error {
	p := m.CtlProvider(c)
	role := m.cellSchema.Type("Role")
	for _, ace := range a.ACEs {
		if ace.All {
			continue
		}
		rest, ok := strings.CutPrefix(ace.Principal, cellURL+"__role/")
		box, name, ok2 := strings.Cut(rest, "/")
		if !ok || !ok2 || name == "" || strings.Contains(name, "/") {
			return perr.New("PR400-DV-0004")
		}
		var boxVal any = box
		if box == "__" {
			boxVal = nil
		}
		if _, err := p.Get(ctx, role, odata.KeyPredicate{{Name: "Name", Value: name}, {Name: "_Box.Name", Value: boxVal}}); err != nil {
			if perr.Is(err, perr.NotExist) {
				return perr.New("PR400-DV-0004")
			}
			return err
		}
	}
	return nil
}

// CheckPrincipals verifies that every role an ACL names exists in c
// (PR400-DV-0004 otherwise); cellURL is c's URL.
func (m *Manager) CheckPrincipals(ctx context.Context, c *Cell, cellURL string, a *acl.ACL) error {
	return m.checkPrincipals(ctx, c, cellURL, a)
}

// BoxRoot returns the ID of the WebDAV root node of a box: the box
// entity's ID (boxID), or "" for the main box, which has no entity. The
// ID survives box renames.
func BoxRoot(cellID, boxID string) string {
	if boxID == "" {
		return cellID + ".main"
	}
	return boxID + ".dav"
}
