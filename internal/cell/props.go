package cell

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"strings"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// KindCellProps is the document kind of a cell's dead properties (set
// by PROPPATCH {cell}: p:relayhtmlurl, p:authorizationhtmlurl, …).
const (
	KindCellProps = "CellProps"
	cellPropsKey  = "props"
)

// CellProps returns the dead properties of cell c, in the order they were set.
func (m *Manager) CellProps(ctx context.Context, c *Cell) ([]dav.Property, error) {
	props, _, err := m.cellProps(ctx, c)
	return props, err
}

func (m *Manager) cellProps(ctx context.Context, c *Cell) ([]dav.Property, *metastore.Doc, error) {
	d, err := m.Store.GetKey(ctx, KindCellProps, c.ID, "", cellPropsKey)
	if perr.Is(err, perr.NotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var stored struct{ Props []dav.StoredProp }
	if err := json.Unmarshal(d.Body, &stored); err != nil {
		return nil, nil, perr.Errorf(perr.Internal, "cell: corrupt properties of %s: %v", c.Name, err)
	}
	return dav.LoadProps(stored.Props), d, nil
}

// PatchCellProps applies PROPPATCH operations to the dead properties of
// c, in order, all or nothing. A concurrent patch makes it fail with
// PR503-DV-0001 rather than lose either.
func (m *Manager) PatchCellProps(ctx context.Context, c *Cell, ops []dav.PatchOp) error {
	props, cur, err := m.cellProps(ctx, c)
	if err != nil {
		return err
	}
	stored, err := dav.StoreProps(dav.ApplyPatch(props, ops))
	if err != nil {
		return err
	}
	body, _ := json.Marshal(struct{ Props []dav.StoredProp }{stored})
	now := m.now().UnixMilli()
	if cur == nil {
		_, err = m.Store.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: m.NewID(),
			Kind: KindCellProps, Cell: c.ID, Key: cellPropsKey, Body: body, Published: now, Updated: now}})
	} else {
		d := *cur
		d.Body, d.Updated = body, now
		_, err = m.Store.Apply(ctx, metastore.Op{Type: metastore.Update, Doc: d, IfVersion: cur.Version})
	}
	if perr.Is(err, perr.Exist) || perr.Is(err, perr.PreconditionFailed) {
		return perr.New("PR503-DV-0001")
	}
	return err
}

// propOwnerReps is the cell property listing the accounts that may act
// for the cell's owner (p_owner=true at __token):
// <p:ownerRepresentativeAccounts><p:account>name</p:account>…</p:ownerRepresentativeAccounts>.
var propOwnerReps = xml.Name{Space: "urn:x-personium:xmlns", Local: "ownerRepresentativeAccounts"}

// IsOwnerRepresentative reports whether account is listed in c's
// p:ownerRepresentativeAccounts property.
func (m *Manager) IsOwnerRepresentative(ctx context.Context, c *Cell, account string) (bool, error) {
	props, err := m.CellProps(ctx, c)
	if err != nil {
		return false, err
	}
	for _, p := range props {
		if p.Name != propOwnerReps {
			continue
		}
		d := xml.NewDecoder(bytes.NewReader(p.InnerXML))
		in := false
		for {
			tok, err := d.Token()
			if err != nil {
				return false, nil
			}
			switch t := tok.(type) {
			case xml.StartElement:
				in = t.Name.Local == "account"
			case xml.EndElement:
				in = false
			case xml.CharData:
				if in && strings.TrimSpace(string(t)) == account {
					return true, nil
				}
			}
		}
	}
	return false, nil
}
