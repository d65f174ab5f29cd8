package acl_test

import (
	"reflect"
	"testing"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/pds"
)

// edge is one parent link of Personium's lattices, written out from
// auth/CellPrivilege.java and auth/BoxPrivilege.java (v1.8.4-SNAPSHOT).
type edge struct {
	child, parent pds.Privilege
	level         acl.Level
	ns            string
}

var edges = []edge{
	{"root", "", acl.CellLevel, acl.NSPersonium},
	{"auth", "root", acl.CellLevel, acl.NSPersonium},
	{"auth-read", "auth", acl.CellLevel, acl.NSPersonium},
	{"message", "root", acl.CellLevel, acl.NSPersonium},
	{"message-read", "message", acl.CellLevel, acl.NSPersonium},
	{"event", "root", acl.CellLevel, acl.NSPersonium},
	{"event-read", "event", acl.CellLevel, acl.NSPersonium},
	{"log", "root", acl.CellLevel, acl.NSPersonium},
	{"log-read", "log", acl.CellLevel, acl.NSPersonium},
	{"social", "root", acl.CellLevel, acl.NSPersonium},
	{"social-read", "social", acl.CellLevel, acl.NSPersonium},
	{"box", "root", acl.CellLevel, acl.NSPersonium},
	{"box-read", "box", acl.CellLevel, acl.NSPersonium},
	{"box-install", "box", acl.CellLevel, acl.NSPersonium},
	{"acl", "root", acl.CellLevel, acl.NSPersonium},
	{"acl-read", "acl", acl.CellLevel, acl.NSPersonium},
	{"propfind", "root", acl.CellLevel, acl.NSPersonium},
	{"rule", "root", acl.CellLevel, acl.NSPersonium},
	{"rule-read", "rule", acl.CellLevel, acl.NSPersonium},
	{"sign", "root", acl.CellLevel, acl.NSPersonium},
	{"all", "root", acl.BoxLevel, acl.NSDAV},
	{"read", "all", acl.BoxLevel, acl.NSDAV},
	{"read-properties", "read", acl.BoxLevel, acl.NSDAV},
	{"read-acl", "all", acl.BoxLevel, acl.NSDAV},
	{"write", "all", acl.BoxLevel, acl.NSDAV},
	{"write-acl", "all", acl.BoxLevel, acl.NSDAV},
	{"bind", "write", acl.BoxLevel, acl.NSDAV},
	{"unbind", "write", acl.BoxLevel, acl.NSDAV},
	{"write-content", "write", acl.BoxLevel, acl.NSDAV},
	{"write-properties", "write", acl.BoxLevel, acl.NSDAV},
	{"exec", "all", acl.BoxLevel, acl.NSPersonium},
	{"alter-schema", "all", acl.BoxLevel, acl.NSDAV},
	{"stream-send", "all", acl.BoxLevel, acl.NSPersonium},
	{"stream-receive", "all", acl.BoxLevel, acl.NSPersonium},
}

func TestLatticeEdges(t *testing.T) {
	for _, e := range edges {
		if got := acl.Parent(e.child); got != e.parent {
			t.Errorf("Parent(%s) = %q, want %q", e.child, got, e.parent)
		}
		if l, ok := acl.LevelOf(e.child); !ok || l != e.level {
			t.Errorf("LevelOf(%s) = %v, %v; want %v", e.child, l, ok, e.level)
		}
		if got := acl.Namespace(e.child); got != e.ns {
			t.Errorf("Namespace(%s) = %q, want %q", e.child, got, e.ns)
		}
		if !acl.Valid(acl.CellLevel, e.child) {
			t.Errorf("Valid(cell, %s) = false; a cell ACL takes every privilege", e.child)
		}
		if got := acl.Valid(acl.BoxLevel, e.child); got != (e.level == acl.BoxLevel) {
			t.Errorf("Valid(box, %s) = %v", e.child, got)
		}
		if e.parent != "" && !acl.Implies(acl.CellLevel, e.parent, e.child) {
			t.Errorf("Implies(%s, %s) = false", e.parent, e.child)
		}
		if e.parent != "" && acl.Implies(acl.CellLevel, e.child, e.parent) {
			t.Errorf("Implies(%s, %s) = true", e.child, e.parent)
		}
	}
	// Every privilege of the package is in the table: Expand(root) lists them all.
	if got := acl.Expand(acl.CellLevel, []pds.Privilege{"root"}); len(got) != len(edges) {
		t.Errorf("the lattice has %d privileges, the table %d: %v", len(got), len(edges), got)
	}
	for _, p := range []pds.Privilege{"", "box-export", "acct", "Read", "D:read", "current-user-privilege-set"} {
		if acl.Valid(acl.CellLevel, p) || acl.Valid(acl.BoxLevel, p) || acl.Namespace(p) != "" || acl.Parent(p) != "" {
			t.Errorf("%q is known", p)
		}
		if _, ok := acl.LevelOf(p); ok {
			t.Errorf("LevelOf(%q) ok", p)
		}
	}
	if acl.Valid(acl.Level(7), "read") {
		t.Error("Valid(level 7, read)")
	}
}

// ancestor walks the written-out table: is a an ancestor-or-self of b?
func ancestor(a, b pds.Privilege) bool {
	parent := map[pds.Privilege]pds.Privilege{}
	for _, e := range edges {
		parent[e.child] = e.parent
	}
	for p := b; p != ""; p = parent[p] {
		if p == a {
			return true
		}
	}
	return false
}

func TestImpliesExhaustive(t *testing.T) {
	for _, level := range []acl.Level{acl.CellLevel, acl.BoxLevel} {
		for _, h := range edges {
			for _, w := range edges {
				want := ancestor(h.child, w.child) && acl.Valid(level, w.child)
				if got := acl.Implies(level, h.child, w.child); got != want {
					t.Errorf("Implies(%v, %s, %s) = %v, want %v", level, h.child, w.child, got, want)
				}
			}
		}
	}
	if acl.Implies(acl.BoxLevel, "fly", "read") || acl.Implies(acl.BoxLevel, "read", "fly") {
		t.Error("unknown privileges imply or are implied")
	}
}

func TestImpliesExamples(t *testing.T) {
	tests := []struct {
		level      acl.Level
		held, want pds.Privilege
		ok         bool
	}{
		{acl.BoxLevel, "root", "read-properties", true}, // root ⊃ all ⊃ read ⊃ read-properties
		{acl.BoxLevel, "all", "stream-receive", true},
		{acl.BoxLevel, "read", "read-properties", true},
		{acl.BoxLevel, "read", "read-acl", false}, // read-acl hangs off all, not read
		{acl.BoxLevel, "write", "write-acl", false},
		{acl.BoxLevel, "write", "bind", true},
		{acl.BoxLevel, "write-content", "bind", false},
		{acl.BoxLevel, "auth", "read", false},
		{acl.BoxLevel, "root", "root", false}, // root is no box privilege
		{acl.CellLevel, "root", "root", true},
		{acl.CellLevel, "box", "box-install", true},
		{acl.CellLevel, "box-read", "box-install", false},
		{acl.CellLevel, "auth", "auth-read", true},
		{acl.CellLevel, "all", "auth", false},
		{acl.CellLevel, "read", "read", true},
	}
	for _, tt := range tests {
		if got := acl.Implies(tt.level, tt.held, tt.want); got != tt.ok {
			t.Errorf("Implies(%v, %s, %s) = %v, want %v", tt.level, tt.held, tt.want, got, tt.ok)
		}
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		level acl.Level
		held  []pds.Privilege
		want  []pds.Privilege
	}{
		{acl.BoxLevel, nil, nil},
		{acl.BoxLevel, privs("read"), privs("read", "read-properties")},
		{acl.BoxLevel, privs("write", "read-acl", "fly"), privs("read-acl", "write", "write-content", "bind", "unbind", "write-properties")},
		{acl.BoxLevel, privs("read-properties", "read"), privs("read", "read-properties")},
		{acl.BoxLevel, privs("root"), privs("all", "read", "read-properties", "read-acl", "write", "write-content",
			"bind", "unbind", "write-properties", "write-acl", "exec", "alter-schema", "stream-send", "stream-receive")},
		{acl.BoxLevel, privs("auth"), nil},
		{acl.CellLevel, privs("auth", "box"), privs("auth", "auth-read", "box", "box-read", "box-install")},
		{acl.CellLevel, privs("message-read", "read"), privs("message-read", "read", "read-properties")},
	}
	for _, tt := range tests {
		if got := acl.Expand(tt.level, tt.held); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Expand(%v, %v) = %v, want %v", tt.level, tt.held, got, tt.want)
		}
	}
}

func TestLevelString(t *testing.T) {
	for l, want := range map[acl.Level]string{acl.CellLevel: "cell", acl.BoxLevel: "box", 9: "level(?)"} {
		if got := l.String(); got != want {
			t.Errorf("Level(%d).String() = %q, want %q", int(l), got, want)
		}
	}
}
