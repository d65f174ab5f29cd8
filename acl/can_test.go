package acl_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/pds"
)

func roleACE(r string, ps ...pds.Privilege) acl.ACE { return acl.ACE{Principal: r, Grant: ps} }

func allACE(ps ...pds.Privilege) acl.ACE { return acl.ACE{All: true, Grant: ps} }

func TestCan(t *testing.T) {
	doctor, nurse, guest, admin := role("box1", "doctor"), role("box1", "nurse"), role("box2", "guest"), role("__", "admin")
	// The docs' inheritance example (apiref 006): cell auth-read, box
	// read-acl, collection read, directory nothing, file read-properties.
	cell := &acl.ACL{ACEs: []acl.ACE{roleACE(doctor, "auth-read"), roleACE(admin, "root")}}
	box := &acl.ACL{ACEs: []acl.ACE{roleACE(doctor, "read-acl"), roleACE(guest, "exec")}}
	col := &acl.ACL{ACEs: []acl.ACE{roleACE(doctor, "read"), roleACE(nurse, "write"), allACE("stream-receive")}}
	dir := &acl.ACL{}
	file := &acl.ACL{ACEs: []acl.ACE{roleACE(doctor, "read-properties"), roleACE(nurse, "read")}}
	chain := []*acl.ACL{file, dir, col, box, cell}

	tests := []struct {
		name  string
		level acl.Level
		roles []string
		want  pds.Privilege
		acls  []*acl.ACL
		ok    bool
	}{
		{"inherited from the collection", acl.BoxLevel, []string{doctor}, "read", chain, true},
		{"implied by inherited read", acl.BoxLevel, []string{doctor}, "read-properties", chain, true},
		{"inherited from the box", acl.BoxLevel, []string{doctor}, "read-acl", chain, true},
		{"not granted anywhere", acl.BoxLevel, []string{doctor}, "write", chain, false},
		{"cell auth-read is no box privilege", acl.BoxLevel, []string{doctor}, "bind", chain, false},
		{"granted on the file only", acl.BoxLevel, []string{nurse}, "read", chain, true},
		{"file grant does not reach the collection", acl.BoxLevel, []string{nurse}, "read", chain[1:], false},
		{"write implies bind", acl.BoxLevel, []string{nurse}, "bind", chain, true},
		{"write does not imply write-acl", acl.BoxLevel, []string{nurse}, "write-acl", chain, false},
		{"cell root reaches every box privilege", acl.BoxLevel, []string{admin}, "write-acl", chain, true},
		{"cell root at cell level", acl.CellLevel, []string{admin}, "sign", []*acl.ACL{cell}, true},
		{"cell auth-read", acl.CellLevel, []string{doctor}, "auth-read", []*acl.ACL{cell}, true},
		{"cell auth-read is not auth", acl.CellLevel, []string{doctor}, "auth", []*acl.ACL{cell}, false},
		{"all applies to anonymous", acl.BoxLevel, nil, "stream-receive", chain, true},
		{"all applies to anyone", acl.BoxLevel, []string{guest}, "stream-receive", chain, true},
		{"all grants only what it lists", acl.BoxLevel, nil, "stream-send", chain, false},
		{"one of several roles", acl.BoxLevel, []string{role("box9", "x"), guest, nurse}, "unbind", chain, true},
		{"a role of the same name in another box", acl.BoxLevel, []string{role("box2", "doctor")}, "read", chain, false},
		{"a prefix of a role", acl.BoxLevel, []string{doctor[:len(doctor)-1]}, "read", chain, false},
		{"anonymous", acl.BoxLevel, nil, "read", chain, false},
		{"no ACLs", acl.BoxLevel, []string{doctor}, "read", nil, false},
		{"nil and zero ACLs", acl.BoxLevel, []string{doctor}, "read", []*acl.ACL{nil, {}, nil}, false},
		{"nil ACLs skipped", acl.BoxLevel, []string{doctor}, "read", []*acl.ACL{nil, col}, true},
		{"want invalid at level", acl.BoxLevel, []string{admin}, "root", chain, false},
		{"unknown want", acl.BoxLevel, []string{admin}, "fly", chain, false},
		{"empty role matches nothing", acl.BoxLevel, []string{""}, "read",
			[]*acl.ACL{{ACEs: []acl.ACE{{Grant: privs("read")}}}}, false},
		{"unknown granted privilege ignored", acl.BoxLevel, []string{doctor}, "read",
			[]*acl.ACL{{ACEs: []acl.ACE{roleACE(doctor, "fly", "Read")}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := acl.Can(tt.level, acl.Requester{Roles: tt.roles}, tt.want, tt.acls...)
			if got != tt.ok {
				t.Errorf("Can(%v, %v, %s) = %v, want %v", tt.level, tt.roles, tt.want, got, tt.ok)
			}
		})
	}
}

// TestCanMatchesImplies cross-checks Can against Implies for every
// privilege held and wanted, with roles that collide in the filter.
func TestCanMatchesImplies(t *testing.T) {
	var roles []string
	for i := 0; i < 200; i++ {
		roles = append(roles, role(fmt.Sprintf("b%d", i%7), fmt.Sprintf("r%d", i)))
	}
	for _, level := range []acl.Level{acl.CellLevel, acl.BoxLevel} {
		for _, h := range edges {
			a := &acl.ACL{ACEs: []acl.ACE{roleACE(roles[150], h.child)}}
			for _, w := range edges {
				want := acl.Implies(level, h.child, w.child)
				if got := acl.Can(level, acl.Requester{Roles: roles[100:]}, w.child, a); got != want {
					t.Errorf("%v: held %s, want %s: Can = %v, Implies = %v", level, h.child, w.child, got, want)
				}
				if acl.Can(level, acl.Requester{Roles: roles[:100]}, w.child, a) {
					t.Errorf("%v: held %s by another role, want %s: Can = true", level, h.child, w.child)
				}
			}
		}
	}
}

func TestPrivileges(t *testing.T) {
	doctor, nurse := role("box1", "doctor"), role("box1", "nurse")
	a := &acl.ACL{ACEs: []acl.ACE{roleACE(doctor, "write", "read"), roleACE(nurse, "exec"), allACE("read-acl", "fly")}}
	b := &acl.ACL{ACEs: []acl.ACE{roleACE(doctor, "read", "write-acl")}}
	tests := []struct {
		roles []string
		acls  []*acl.ACL
		want  []pds.Privilege
	}{
		{[]string{doctor}, []*acl.ACL{a, b}, privs("read", "read-acl", "write", "write-acl")},
		{[]string{nurse, doctor}, []*acl.ACL{a}, privs("read", "read-acl", "write", "exec")},
		{nil, []*acl.ACL{a, nil, b}, privs("read-acl")},
		{[]string{doctor}, nil, nil},
	}
	for _, tt := range tests {
		if got := acl.Privileges(acl.Requester{Roles: tt.roles}, tt.acls...); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Privileges(%v) = %v, want %v", tt.roles, got, tt.want)
		}
	}
}

func TestEffectiveSchemaAuthz(t *testing.T) {
	set := func(s acl.SchemaAuthz) *acl.ACL { return &acl.ACL{SchemaAuthz: s} }
	unset := &acl.ACL{}
	// apiref 006: box confidential, collection public, directory unset, file none.
	box, col, dir, file := set(acl.SchemaAuthzConfidential), set(acl.SchemaAuthzPublic), unset, set(acl.SchemaAuthzNone)
	tests := []struct {
		acls []*acl.ACL
		want acl.SchemaAuthz
	}{
		{[]*acl.ACL{box}, acl.SchemaAuthzConfidential},
		{[]*acl.ACL{col, box}, acl.SchemaAuthzPublic},
		{[]*acl.ACL{dir, col, box}, acl.SchemaAuthzPublic},
		{[]*acl.ACL{file, dir, col, box}, acl.SchemaAuthzNone}, // explicit none stops inheritance
		{[]*acl.ACL{nil, unset, nil}, acl.SchemaAuthzNone},
		{nil, acl.SchemaAuthzNone},
		{[]*acl.ACL{nil, dir, box}, acl.SchemaAuthzConfidential},
	}
	for i, tt := range tests {
		if got := acl.EffectiveSchemaAuthz(tt.acls...); got != tt.want {
			t.Errorf("%d: EffectiveSchemaAuthz = %q, want %q", i, got, tt.want)
		}
	}
}

// benchChain builds a 10-level tree (box root and 9 descendants), each
// ACL with 4 ACEs for roles of the cell, and a requester with 5 roles.
func benchChain() ([]*acl.ACL, acl.Requester) {
	acls := make([]*acl.ACL, 10)
	for i := range acls {
		acls[i] = &acl.ACL{Base: box1Base, ACEs: []acl.ACE{
			roleACE(role("box1", fmt.Sprintf("role%d", i)), "read", "write"),
			roleACE(role("box1", fmt.Sprintf("editor%d", i)), "write-content", "read-properties"),
			roleACE(role("__", fmt.Sprintf("staff%d", i)), "read-acl"),
			allACE("stream-receive"),
		}}
	}
	req := acl.Requester{Roles: []string{
		role("box1", "role"), role("box1", "editorX"), role("__", "staff"), role("box2", "guest"), role("box1", "viewer"),
	}}
	return acls, req
}

func BenchmarkCan10Levels(b *testing.B) {
	acls, req := benchChain()
	b.Run("denied", func(b *testing.B) { // worst case: every ACE of every ACL looked at
		b.ReportAllocs()
		for b.Loop() {
			if acl.Can(acl.BoxLevel, req, acl.WriteContent, acls...) {
				b.Fatal("granted")
			}
		}
	})
	b.Run("granted-at-top", func(b *testing.B) { // the box root's ACL, last in the chain
		req := req
		req.Roles = append(append([]string(nil), req.Roles...), role("box1", "role9"))
		b.ReportAllocs()
		for b.Loop() {
			if !acl.Can(acl.BoxLevel, req, acl.WriteContent, acls...) {
				b.Fatal("denied")
			}
		}
	})
}
