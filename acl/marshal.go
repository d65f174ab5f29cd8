package acl

import (
	"bytes"
	"encoding/xml"
	"strings"

	"github.com/personium-go/personium/internal/pds"
)

// Marshal writes the ACL as Personium shows it in PROPFIND and takes it
// on the ACL method:
//
//	<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="{base}" p:requireSchemaAuthz="public">
//	  <D:ace><D:principal><D:href>doctor</D:href></D:principal>
//	    <D:grant><D:privilege><D:read/></D:privilege><D:privilege><p:exec/></D:privilege></D:grant></D:ace>
//	  <D:ace><D:principal><D:all/></D:principal>…</D:ace>
//	</D:acl>
//
// (without the line breaks). base is the xml:base to write, normally the
// role base URL of the resource's box ({Cell}__role/{box}/, Personium
// DavCmpFsImpl.createBaseUrlStr); "" means a.Base, and if that is empty
// too no xml:base is written. When base has that form, principals of its
// cell are written relative to it as Personium does: "role" for a role of
// the same box, "../box2/role" for another box's; other principals are
// written absolute. p:requireSchemaAuthz is written when set. Privileges
// that are not in the lattice are left out so that the output is always
// well-formed. A nil *ACL writes an empty D:acl.
//
// For an ACL returned by Parse, Parse(Marshal(a.Base)) gives a back.
func (a *ACL) Marshal(base string) []byte {
	if a == nil {
		a = &ACL{}
	}
	if base == "" {
		base = a.Base
	}
	var b bytes.Buffer
	b.WriteString(`<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"`)
	if base != "" {
		b.WriteString(` xml:base="`)
		escape(&b, base)
		b.WriteByte('"')
	}
	if a.SchemaAuthz != SchemaAuthzUnset {
		b.WriteString(` p:requireSchemaAuthz="`)
		escape(&b, string(a.SchemaAuthz))
		b.WriteByte('"')
	}
	b.WriteByte('>')
	cellRoles, box := splitRoleBase(base)
	for _, ace := range a.ACEs {
		b.WriteString("<D:ace><D:principal>")
		if ace.All {
			b.WriteString("<D:all/>")
		} else {
			b.WriteString("<D:href>")
			escape(&b, relativeRole(ace.Principal, cellRoles, box))
			b.WriteString("</D:href>")
		}
		b.WriteString("</D:principal><D:grant>")
		for _, p := range ace.Grant {
			writePrivilege(&b, p)
		}
		b.WriteString("</D:grant></D:ace>")
	}
	b.WriteString("</D:acl>")
	return b.Bytes()
}

func writePrivilege(b *bytes.Buffer, p pds.Privilege) {
	prefix := "D:"
	switch Namespace(p) {
	case NSDAV:
	case NSPersonium:
		prefix = "p:"
	default:
		return
	}
	b.WriteString("<D:privilege><")
	b.WriteString(prefix)
	b.WriteString(string(p))
	b.WriteString("/></D:privilege>")
}

// splitRoleBase splits a role base URL "{Cell}__role/{box}/" into
// "{Cell}__role/" and the box name; ok is false (both "") for any other
// URL.
func splitRoleBase(base string) (cellRoles, box string) {
	i := strings.LastIndex(base, "/__role/")
	if i < 0 || !strings.HasSuffix(base, "/") || strings.ContainsAny(base, "?#") {
		return "", ""
	}
	cellRoles = base[:i+len("/__role/")]
	box = strings.TrimSuffix(base[len(cellRoles):], "/")
	if box == "" || strings.Contains(box, "/") {
		return "", ""
	}
	return cellRoles, box
}

// relativeRole writes a role URL relative to {cellRoles}{box}/ when it is
// a role of the same cell, as Personium's baseUrlToRoleResourceUrl does.
func relativeRole(principal, cellRoles, box string) string {
	if cellRoles == "" || !strings.HasPrefix(principal, cellRoles) {
		return principal
	}
	rest := principal[len(cellRoles):]
	pbox, name, ok := strings.Cut(rest, "/")
	// A first segment with a colon would read as a URL scheme.
	if !ok || pbox == "" || name == "" || strings.ContainsAny(name, "/:") {
		return principal
	}
	if pbox == box {
		return name
	}
	return "../" + rest
}

// escape writes s as XML character data or attribute value.
func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
