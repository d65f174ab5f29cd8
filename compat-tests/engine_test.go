package compattests

import (
	"net/url"
	"strings"
	"testing"
)

// TestEngineServices: engine service collections (reference §8;
// rs/box/PersoniumEngineSvcCollectionResource.java, personium-engine's
// ScriptTest): an echo service, URI-template routes with require(),
// p:exec, a deleted script, and the service subject doing what the
// caller alone may not.
func TestEngineServices(t *testing.T) {
	box := newBox(t, "engine")
	c := strings.TrimSuffix(strings.TrimPrefix(box, unitURL), "box/")
	c = strings.TrimSuffix(c, "/")
	svc := box + "svc"
	mkcol := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:service/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL service collection", "MKCOL", svc, auth("Content-Type", "application/xml"), mkcol).must(201)
	r := do(t, "PROPFIND shows __src", "PROPFIND", svc, auth("Depth", "1"), nil)
	if r.ok(207) && !strings.Contains(string(r.Body), "svc/__src") {
		r.fail("no __src in the listing")
	}
	put := func(name, src string) {
		t.Helper()
		do(t, "PUT "+name, "PUT", svc+"/__src/"+name, auth("Content-Type", "text/javascript"), src).must(201)
	}
	put("echo.js", `function(request) {
		var h = request.headers;
		return {status: 200, headers: {"Content-Type": "text/plain; charset=utf-8", "X-Echo": "yes"},
			body: [request.method, "|", request.queryString, "|", request.pathInfo, "|", request.input.readAll(),
				"|", h["x-baseurl"], "|", h["x-request-uri"], "|", h["x-custom"] || ""]};
	}`)
	put("names.js", "exports.label = function(id) { return 'user ' + id; };")
	put("user.js", "var names = require('names.js');\nfunction(request) { var id = request.pathInfo.split('/')[2];"+
		" return {status: 200, headers: {}, body: [names.label(id)]}; }")
	put("modern.js", "exports.handler = ({method}) => { const [a, ...rest] = [1, 2, 3]; return {status: 200, headers: {}, body: [`${method} ${a} ${rest.length}`]}; };")
	put("subject.js", `function(request) {
		var mine = "";
		try {
			_p.as("client").cell().ctl.account.create({Name: "byclient"}, "password1");
			mine = "client created";
		} catch (e) {
			mine = "client refused " + e.code;
		}
		_p.as("serviceSubject").cell().ctl.account.create({Name: "bysubject"}, "password1");
		return {status: 200, headers: {}, body: [mine, "; subject created"]};
	}`)
	do(t, "set routes", "PROPPATCH", svc, auth("Content-Type", "application/xml"), `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop>
		<p:service language="JavaScript" subject="svcadmin">
			<p:path name="echo" src="echo.js"/>
			<p:path name="users/{id}" src="user.js"/>
			<p:path name="modern" src="modern.js"/>
			<p:path name="subject" src="subject.js"/>
		</p:service></D:prop></D:set></D:propertyupdate>`).must(207)

	r = do(t, "echo", "POST", svc+"/echo?a=1&b=two", auth("X-Custom", "custom value"), "the body")
	if r.ok(200) {
		r.header("X-Echo", "yes")
		want := "POST|a=1&b=two|/echo|the body|" + unitURL + "|" + svc + "/echo?a=1&b=two|custom value"
		if string(r.Body) != want {
			r.fail("body %q, want %q", r.Body, want)
		}
	}
	r = do(t, "URI template route with require()", "GET", svc+"/users/42", auth(), nil)
	if r.ok(200) && string(r.Body) != "user 42" {
		r.fail("body %q", r.Body)
	}
	r = do(t, "module-style handler, ES2015+", "GET", svc+"/modern", auth(), nil)
	if r.ok(200) && string(r.Body) != "GET 1 2" {
		r.fail("body %q", r.Body)
	}
	r = do(t, "unknown route", "GET", svc+"/nowhere", auth(), nil)
	if r.ok(404) && string(r.Body) != "404 Not Found (User Script)" {
		r.fail("body %q, want Personium's engine text", r.Body)
	}
	do(t, "PATCH is not relayed", "PATCH", svc+"/echo", auth(), nil).must(405)

	// p:exec: an account with read on the box but not exec is refused.
	create(t, "account runner", ctl(c, "Account"), map[string]any{"Name": "runner"}, auth("X-Personium-Credential", "password1"))
	create(t, "account svcadmin", ctl(c, "Account"), map[string]any{"Name": "svcadmin"}, auth("X-Personium-Credential", "password1"))
	create(t, "role runners", ctl(c, "Role"), map[string]any{"Name": "runners"}, nil)
	create(t, "role admins", ctl(c, "Role"), map[string]any{"Name": "admins"}, nil)
	do(t, "runner gets runners", "POST", ctl(c, "Account('runner')/$links/_Role"), auth(),
		`{"uri":"`+ctl(c, "Role(Name='runners',_Box.Name=null)")+`"}`).must(204)
	do(t, "svcadmin gets admins", "POST", ctl(c, "Account('svcadmin')/$links/_Role"), auth(),
		`{"uri":"`+ctl(c, "Role(Name='admins',_Box.Name=null)")+`"}`).must(204)
	base := cellURL(c) + "__role/__/"
	do(t, "box ACL: runners read", "ACL", box, auth("Content-Type", "application/xml"),
		`<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="`+base+`"><D:ace><D:principal><D:href>runners</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`).must(200)
	do(t, "cell ACL: admins root", "ACL", cellURL(c), auth("Content-Type", "application/xml"),
		`<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="`+base+`"><D:ace><D:principal><D:href>admins</D:href></D:principal><D:grant><D:privilege><p:root/></D:privilege></D:grant></D:ace></D:acl>`).must(200)
	tok := form(t, "runner's token", cellURL(c)+"__token", url.Values{"grant_type": {"password"}, "username": {"runner"}, "password": {"password1"}}, nil)
	if !tok.ok(200) {
		return
	}
	runner := bearer(tok.str("access_token"))
	do(t, "without exec", "GET", svc+"/echo", runner, nil).wantError(403, "PR403-AU-0002")
	do(t, "svc ACL: runners exec", "ACL", svc, auth("Content-Type", "application/xml"),
		`<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="`+base+`"><D:ace><D:principal><D:href>runners</D:href></D:principal><D:grant><D:privilege><p:exec/></D:privilege></D:grant></D:ace></D:acl>`).must(200)
	do(t, "with exec", "GET", svc+"/echo", runner, nil).must(200)

	// The subject (svcadmin, root on the cell) creates an account the
	// caller (runner) may not.
	r = do(t, "serviceSubject", "GET", svc+"/subject", runner, nil)
	if r.ok(200) && string(r.Body) != "client refused 403; subject created" {
		r.fail("body %q", r.Body)
	}
	do(t, "the subject's account exists", "GET", ctl(c, "Account('bysubject')"), auth(), nil).must(200)
	do(t, "the caller's does not", "GET", ctl(c, "Account('byclient')"), auth(), nil).must(404)

	// A deleted script answers 404; __src itself stays.
	do(t, "DELETE echo.js", "DELETE", svc+"/__src/echo.js", auth(), nil).must(204)
	do(t, "deleted script", "GET", svc+"/echo", auth(), nil).must(404)
	do(t, "DELETE __src", "DELETE", svc+"/__src", auth(), nil).must(403)
}
