package cell

import (
	"context"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/metastore/sqlite"
	"github.com/personium-go/personium/internal/perr"
)

// TestCellPropsBounded: a cell's dead properties are kept in order and
// bounded like a resource's; a patch over the bound changes nothing.
func TestCellPropsBounded(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := NewManager(s)
	if _, err := m.UnitProvider("", false).Create(ctx, m.UnitSchema().Type("Cell"), map[string]any{"Name": "c"}); err != nil {
		t.Fatal(err)
	}
	c, err := m.Get(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	name := xml.Name{Space: "urn:z", Local: "note"}
	set := func(v string) error {
		return m.PatchCellProps(ctx, c, []dav.PatchOp{{Props: []dav.Property{{Name: name, InnerXML: []byte(v)}}}})
	}
	if err := set("small"); err != nil {
		t.Fatal(err)
	}
	err = set(strings.Repeat("x", dav.MaxDeadPropBytes+1))
	if err == nil || perr.Public(err).Status() != 400 {
		t.Fatalf("oversized cell property: %v", err)
	}
	props, err := m.CellProps(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(props) != 1 || props[0].Name != name || string(props[0].InnerXML) != "small" {
		t.Fatalf("after a refused patch: %+v", props)
	}
}
