package unit_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// boxPrivilegeMatrix: what a role holding one box privilege on the box
// root may do (reference §6.4). Each row lists the operations allowed.
var boxPrivilegeMatrix = []struct {
	priv string
	ns   string
	ok   []string
}{
	{"all", "D", []string{"get", "propfind", "put-new", "put-over", "mkcol", "delete", "proppatch", "acl", "move"}},
	{"read", "D", []string{"get", "propfind"}},
	{"read-properties", "D", []string{"propfind"}},
	{"read-acl", "D", nil},
	{"write", "D", []string{"put-new", "put-over", "mkcol", "delete", "proppatch", "move"}},
	{"write-content", "D", []string{"put-over"}},
	{"bind", "D", []string{"put-new", "mkcol"}},
	{"unbind", "D", []string{"delete"}},
	{"write-properties", "D", []string{"proppatch"}},
	{"write-acl", "D", []string{"acl"}},
	{"exec", "p", nil},
	{"alter-schema", "D", nil},
}

func TestBoxPrivilegeMatrix(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"m"}`)
	e.must(201, "POST", "m/__ctl/Box", `{"Name":"b"}`)
	var aces strings.Builder
	for _, row := range boxPrivilegeMatrix {
		e.must(201, "POST", "m/__ctl/Role", `{"Name":"r-`+row.priv+`","_Box.Name":"b"}`)
		e.must(201, "POST", "m/__ctl/Account", `{"Name":"a-`+row.priv+`"}`, "X-Personium-Credential", "password1")
		e.must(204, "POST", "m/__ctl/Account('a-"+row.priv+"')/$links/_Role", `{"uri":"`+e.url+`m/__ctl/Role(Name='r-`+row.priv+`',_Box.Name='b')"}`)
		aces.WriteString(`<D:ace><D:principal><D:href>r-` + row.priv + `</D:href></D:principal><D:grant><D:privilege><` + row.ns + `:` + row.priv + `/></D:privilege></D:grant></D:ace>`)
	}
	e.must(200, "ACL", "m/b", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="`+e.url+`m/__role/b/">`+aces.String()+`</D:acl>`)
	for i, row := range boxPrivilegeMatrix {
		tok := e.login("m", "a-"+row.priv, "password1")["access_token"].(string)
		dir := "m/b/d" + itoa(i)
		e.must(201, "MKCOL", dir, "")
		e.must(201, "PUT", dir+"/f", "x")
		e.must(201, "PUT", dir+"/g", "x")
		ops := []struct {
			name, method, path, body string
			ok                       int
			hdr                      []string
		}{
			{"get", "GET", dir + "/f", "", 200, nil},
			{"propfind", "PROPFIND", dir + "/f", "", 207, []string{"Depth", "0"}},
			{"put-new", "PUT", dir + "/new", "y", 201, nil},
			{"put-over", "PUT", dir + "/f", "y", 204, nil},
			{"mkcol", "MKCOL", dir + "/sub", "", 201, nil},
			{"proppatch", "PROPPATCH", dir + "/f", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:t">1</x></D:prop></D:set></D:propertyupdate>`, 207, nil},
			{"acl", "ACL", dir + "/f", `<D:acl xmlns:D="DAV:"/>`, 200, nil},
			{"move", "MOVE", dir + "/g", "", 201, []string{"Destination", e.url + dir + "/g2"}},
			{"delete", "DELETE", dir + "/f", "", 204, nil},
		}
		for _, op := range ops {
			want := http.StatusForbidden
			if contains(row.ok, op.name) {
				want = op.ok
			}
			r := e.do(op.method, op.path, op.body, append([]string{"Authorization", "", "Authorization", "Bearer " + tok}, op.hdr...)...)
			if r.status != want {
				t.Errorf("%s: %s %s: %d, want %d: %s", row.priv, op.method, op.path, r.status, want, r.body)
			}
		}
	}
	// Anonymous callers get 401 with a challenge; D:all grants them too.
	r := e.do("GET", "m/b/d0/g2", "", "Authorization", "")
	if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("anonymous: %d %v", r.status, r.header)
	}
	e.must(200, "ACL", "m/b/d0", `<D:acl xmlns:D="DAV:"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`)
	if r := e.do("GET", "m/b/d0/g2", "", "Authorization", ""); r.status != 200 {
		t.Errorf("anonymous with all/read: %d %s", r.status, r.body)
	}
	// Cell-level root reaches into every box.
	e.must(201, "POST", "m/__ctl/Role", `{"Name":"owner"}`)
	e.must(201, "POST", "m/__ctl/Account", `{"Name":"owner"}`, "X-Personium-Credential", "password1")
	e.must(204, "POST", "m/__ctl/Account('owner')/$links/_Role", `{"uri":"`+e.url+`m/__ctl/Role('owner')"}`)
	e.must(200, "ACL", "m", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>owner</D:href></D:principal><D:grant><D:privilege><p:root/></D:privilege></D:grant></D:ace></D:acl>`)
	tok := e.login("m", "owner", "password1")["access_token"].(string)
	e.as(tok, 201, "PUT", "m/b/d1/rooted", "z")
}

func TestRequireSchemaAuthz(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Box", `{"Name":"b","Schema":"https://app.example/"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"r"}`)
	e.must(204, "POST", "c/__ctl/Account('me')/$links/_Role", `{"uri":"`+e.url+`c/__ctl/Role('r')"}`)
	e.must(201, "MKCOL", "c/b/col", "")
	e.must(201, "PUT", "c/b/col/f", "x")
	e.must(200, "ACL", "c/b", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" p:requireSchemaAuthz="public" xml:base="`+e.url+`c/__role/__/"><D:ace><D:principal><D:href>../__/r</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`)
	tok := e.login("c", "me", "password1")["access_token"].(string)
	if code := errCode(t, e.as(tok, 403, "GET", "c/b/col/f", "")); code != "PR403-AU-0004" {
		t.Errorf("no schema: %s", code)
	}
	// An explicit none below the box stops the inheritance.
	e.must(200, "ACL", "c/b/col", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" p:requireSchemaAuthz="none"/>`)
	e.as(tok, 200, "GET", "c/b/col/f", "")

	// Tokens of the box's app: public passes; confidential needs a
	// confidential client (#c); another app's schema is a mismatch.
	e.must(201, "POST", "__ctl/Cell", `{"Name":"app"}`)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"other"}`)
	for _, a := range []string{"app", "other"} {
		e.must(201, "POST", a+"/__ctl/Account", `{"Name":"client"}`, "X-Personium-Credential", "password1")
	}
	appToken := func(app string) string {
		e.clock.Advance(2 * time.Second)
		secret := e.login(app, "client", "password1", "p_target", e.url+"c/")["access_token"].(string)
		e.clock.Advance(2 * time.Second)
		return e.login("c", "me", "password1", "client_id", e.url+app+"/", "client_secret", secret)["access_token"].(string)
	}
	e.must(204, "PUT", "c/__ctl/Box('b')", `{"Name":"b","Schema":"`+e.url+`app/"}`)
	e.must(200, "ACL", "c/b/col", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" p:requireSchemaAuthz="confidential"/>`)
	public := appToken("app")
	e.as(public, 200, "GET", "c/b", "")
	if code := errCode(t, e.as(public, 403, "GET", "c/b/col/f", "")); code != "PR403-AU-0006" {
		t.Errorf("public token on a confidential resource: %s", code)
	}
	if code := errCode(t, e.as(appToken("other"), 403, "GET", "c/b", "")); code != "PR403-AU-0005" {
		t.Errorf("another app's token: %s", code)
	}
	e.must(201, "POST", "app/__ctl/Role", `{"Name":"confidentialClient"}`)
	e.must(204, "POST", "app/__ctl/Account('client')/$links/_Role", `{"uri":"`+e.url+`app/__ctl/Role('confidentialClient')"}`)
	e.as(appToken("app"), 200, "GET", "c/b/col/f", "")
}

func TestBoxDeletion(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Box", `{"Name":"b"}`)
	e.must(201, "MKCOL", "c/b/col", "")
	e.must(201, "PUT", "c/b/col/f", "x")
	e.must(200, "ACL", "c/b", `<D:acl xmlns:D="DAV:"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`)
	if code := errCode(t, e.must(409, "DELETE", "c/__ctl/Box('b')", "")); code != "PR409-OD-0001" {
		t.Errorf("deleting a box with contents: %s", code)
	}
	e.must(412, "DELETE", "c/b", "")
	e.must(405, "DELETE", "c/__", "", "X-Personium-Recursive", "true")
	e.must(204, "DELETE", "c/b", "", "X-Personium-Recursive", "true")
	e.must(404, "GET", "c/b/col/f", "")
	// A new box of the same name starts empty, without the old ACL.
	e.must(201, "POST", "c/__ctl/Box", `{"Name":"b"}`)
	e.must(404, "GET", "c/b/col/f", "")
	if r := e.do("GET", "c/b", "", "Authorization", ""); r.status != 401 {
		t.Errorf("the old box ACL survived: %d", r.status)
	}
	e.must(204, "DELETE", "c/__ctl/Box('b')", "")
}
