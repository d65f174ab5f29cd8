package acl_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/perr"
)

func TestMarshal(t *testing.T) {
	a := &acl.ACL{Base: box1Base, SchemaAuthz: acl.SchemaAuthzPublic, ACEs: []acl.ACE{
		{Principal: role("box1", "doctor"), Grant: privs(acl.Read, acl.Exec)},
		{Principal: role("box2", "guest"), Grant: privs(acl.ReadProperties)},
		{Principal: "https://unit.example/cell2/__role/box1/x", Grant: privs(acl.Write)},
		{All: true, Grant: privs(acl.AlterSchema, "fly", acl.StreamSend)},
	}}
	want := `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="https://unit.example/cell1/__role/box1/" p:requireSchemaAuthz="public">` +
		`<D:ace><D:principal><D:href>doctor</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege><D:privilege><p:exec/></D:privilege></D:grant></D:ace>` +
		`<D:ace><D:principal><D:href>../box2/guest</D:href></D:principal><D:grant><D:privilege><D:read-properties/></D:privilege></D:grant></D:ace>` +
		`<D:ace><D:principal><D:href>https://unit.example/cell2/__role/box1/x</D:href></D:principal><D:grant><D:privilege><D:write/></D:privilege></D:grant></D:ace>` +
		`<D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:alter-schema/></D:privilege><D:privilege><p:stream-send/></D:privilege></D:grant></D:ace>` +
		`</D:acl>`
	if got := string(a.Marshal("")); got != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", got, want)
	}
	// PROPFIND on the cell shows the main box's base: every role is ../box/role.
	cell := &acl.ACL{ACEs: []acl.ACE{{Principal: role("__", "admin"), Grant: privs(acl.CellRoot)},
		{Principal: role("box1", "doctor"), Grant: privs(acl.CellAuthRead, acl.Read)}}}
	want = `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="https://unit.example/cell1/__role/__/">` +
		`<D:ace><D:principal><D:href>admin</D:href></D:principal><D:grant><D:privilege><p:root/></D:privilege></D:grant></D:ace>` +
		`<D:ace><D:principal><D:href>../box1/doctor</D:href></D:principal><D:grant><D:privilege><p:auth-read/></D:privilege><D:privilege><D:read/></D:privilege></D:grant></D:ace>` +
		`</D:acl>`
	if got := string(cell.Marshal(mainBase)); got != want {
		t.Errorf("Marshal(main base) =\n%s\nwant\n%s", got, want)
	}
}

func TestMarshalEdgeCases(t *testing.T) {
	var nilACL *acl.ACL
	if got, want := string(nilACL.Marshal("")), `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"></D:acl>`; got != want {
		t.Errorf("nil ACL: %s", got)
	}
	// Bases that are not {Cell}__role/{box}/ give absolute hrefs.
	a := &acl.ACL{ACEs: []acl.ACE{{Principal: role("box1", "doctor"), Grant: privs(acl.Read)}}}
	for _, base := range []string{"https://unit.example/cell1/", box1Base + "doctor", box1Base + "?q", cellURL + "__role//"} {
		out := string(a.Marshal(base))
		if !strings.Contains(out, "<D:href>"+role("box1", "doctor")+"</D:href>") {
			t.Errorf("base %s: %s", base, out)
		}
	}
	// Characters that need escaping.
	b := &acl.ACL{Base: `https://unit.example/cell1/__role/a"<&>/`,
		ACEs: []acl.ACE{{Principal: "https://x/y?a=1&b=<2>", Grant: privs(acl.Read)}}}
	var v struct {
		Base string `xml:"http://www.w3.org/XML/1998/namespace base,attr"`
		Href string `xml:"DAV: ace>principal>href"`
	}
	if err := xml.Unmarshal(b.Marshal(""), &v); err != nil {
		t.Fatal(err)
	}
	if v.Base != b.Base || v.Href != b.ACEs[0].Principal {
		t.Errorf("escaping: got %+v", v)
	}
}

func TestRoundTrip(t *testing.T) {
	inputs := []struct {
		level acl.Level
		base  string
		body  string
	}{
		{acl.BoxLevel, box1Base, doc(` xml:base="`+box1Base+`" p:requireSchemaAuthz="public"`,
			ace(href("doctor"), priv("<D:read/>")+priv("<p:exec/>"))+ace(href("../box2/guest"), priv("<D:read/>"))+
				ace(allP, priv("<D:read-acl/>")))},
		{acl.BoxLevel, box1Base, doc("", ace(href("doctor"), priv("<D:read/>")+priv("<D:read/>"))+ace(href(role("__", "r")), priv("<D:bind/>")))},
		{acl.BoxLevel, box1Base, doc(` xml:base="https://unit.example:8443/cell1/__role/box3/"`, ace(href("doctor"), priv("<D:read/>")))},
		{acl.BoxLevel, box1Base, doc(` xml:base="https://unit.example/cell2/__role/box3/"`, ace(href(role("box1", "d")), priv("<D:read/>")))},
		{acl.BoxLevel, box1Base, doc(` xml:base="`+box1Base+`" p:requireSchemaAuthz="none"`, ace(href(role("box1", "a:b")), priv("<D:read/>")))},
		{acl.CellLevel, mainBase, doc(` xml:base="`+mainBase+`"`, ace(href("role1"), priv("<p:root/>")+priv("<D:write/>")))},
		{acl.BoxLevel, box1Base, doc("", "")},
	}
	for i, in := range inputs {
		a, err := acl.Parse(strings.NewReader(in.body), in.base, in.level)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		out := a.Marshal(a.Base)
		b, err := acl.Parse(bytes.NewReader(out), in.base, in.level)
		if err != nil {
			t.Fatalf("%d: Parse(Marshal) = %v\n%s", i, err, out)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%d: round trip\n%#v\n%#v\n%s", i, a, b, out)
		}
	}
}

// FuzzParse checks that Parse never panics, fails only with a coded
// *perr.E, and that every ACL it accepts survives Marshal and Parse
// unchanged and grants through Can what Privileges reports.
func FuzzParse(f *testing.F) {
	seeds := []string{
		doc(` xml:base="`+box1Base+`" p:requireSchemaAuthz="public"`,
			ace(href("doctor"), priv("<D:read/>")+priv("<p:exec/>"))+ace(href("../box2/guest"), priv("<D:read/>"))),
		doc("", ace(allP, priv("<D:all/>"))+ace(href(role("__", "admin")), priv("<p:root/>"))),
		doc(` xml:base="`+mainBase+`"`, ace(href("role1"), priv("<p:auth/>")+priv("<D:read/>"))),
		doc(` xml:base="https://unit.example:1/cell1/__role/b/r"`, ace(href("./x/../y"), priv("<D:write-content/>"))),
		doc("", "<D:ace><D:principal><D:href>%41</D:href></D:principal><D:grant><D:privilege><D:bind/></D:privilege></D:grant><D:deny/></D:ace>"),
		`<!DOCTYPE x [<!ENTITY a "b">]><D:acl xmlns:D="DAV:"/>`,
		`<D:acl xmlns:D="DAV:" xml:base="&amp;"><D:ace/></D:acl>`,
		"",
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, cellLevel bool) {
		level, base := acl.BoxLevel, box1Base
		if cellLevel {
			level, base = acl.CellLevel, mainBase
		}
		a, err := acl.Parse(bytes.NewReader([]byte(body)), base, level)
		if err != nil {
			var e *perr.E
			if !errors.As(err, &e) || perr.CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		for _, ace := range a.ACEs {
			for _, p := range ace.Grant {
				if !acl.Valid(level, p) {
					t.Fatalf("accepted %q at %v", p, level)
				}
			}
		}
		out := a.Marshal(a.Base)
		b, err := acl.Parse(bytes.NewReader(out), base, level)
		if err != nil {
			t.Fatalf("Parse(Marshal(a)) = %v\n%s", err, out)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the ACL\n%#v\n%#v\n%s", a, b, out)
		}
		for _, ace := range a.ACEs {
			req := acl.Requester{Roles: []string{ace.Principal}}
			for _, p := range acl.Expand(level, acl.Privileges(req, a)) {
				if !acl.Can(level, req, p, a) {
					t.Fatalf("Privileges lists %s (expanded) but Can denies it", p)
				}
			}
		}
	})
}
