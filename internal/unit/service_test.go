package unit_test

import (
	"strings"
	"sync"
	"testing"
	"time"
)

const serviceMkcol = `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:service/></D:resourcetype></D:prop></D:set></D:mkcol>`

func TestServiceCollection(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/svc", serviceMkcol, "Content-Type", "application/xml")
	e.must(201, "PUT", "c/__/svc/__src/echo.js", `function(request) {
		return {status: 200, headers: {"Content-Type": "text/plain"},
			body: [request.method, " ", request.queryString, " ", request.pathInfo, " ", request.input.readAll(), " ", request.headers["x-baseurl"]]};
	}`, "Content-Type", "text/javascript")
	e.must(201, "PUT", "c/__/svc/__src/names.js", "exports.label = (id) => `user ${id}`;")
	e.must(201, "PUT", "c/__/svc/__src/user.js", "const names = require('names.js'); exports.handler = (req) => ({status: 200, headers: {}, body: [names.label(req.pathInfo.split('/')[2])]});")
	e.must(201, "PUT", "c/__/svc/__src/throw.js", `function(r){ throw new Error("no luck"); }`)
	e.must(201, "PUT", "c/__/svc/__src/loop.js", `function(r){ for(;;){} }`)
	e.must(201, "PUT", "c/__/svc/__src/bad.js", `function(r){ return {status: 200, headers: {"X": "a\nb"}, body: []}; }`)
	e.must(207, "PROPPATCH", "c/__/svc", `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop>
		<p:service language="JavaScript">
			<p:path name="echo" src="echo.js"/><p:path name="users/{id}" src="user.js"/>
			<p:path name="throw" src="throw.js"/><p:path name="loop" src="loop.js"/>
			<p:path name="bad" src="bad.js"/><p:path name="gone" src="gone.js"/>
		</p:service></D:prop></D:set></D:propertyupdate>`)
	r := e.must(200, "POST", "c/__/svc/echo?x=1", "payload")
	if got, want := string(r.body), "POST x=1 /echo payload "+e.url; got != want {
		t.Errorf("echo: %q, want %q", got, want)
	}
	if r := e.must(200, "GET", "c/__/svc/users/42", ""); string(r.body) != "user 42" {
		t.Errorf("template route: %q", r.body)
	}
	e.must(404, "GET", "c/__/svc/nowhere", "")
	e.must(404, "GET", "c/__/svc/gone", "")
	if r := e.must(500, "GET", "c/__/svc/throw", ""); !strings.HasPrefix(string(r.body), "Server Error : Error: no luck") {
		t.Errorf("thrown: %q", r.body)
	}
	e.must(500, "GET", "c/__/svc/bad", "")
	e.must(405, "PATCH", "c/__/svc/echo", "")
	// __src stays WebDAV.
	if r := e.must(200, "GET", "c/__/svc/__src/echo.js", ""); !strings.Contains(string(r.body), "function(request)") {
		t.Errorf("source: %q", r.body)
	}

	// A runaway script ends in a 503 at its time limit, and another
	// cell is served meanwhile.
	e.must(201, "POST", "__ctl/Cell", `{"Name":"other"}`)
	e.must(201, "PUT", "other/__/f", "x")
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	var loop *resp
	go func() { defer wg.Done(); loop = e.do("GET", "c/__/svc/loop", "") }()
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	e.must(200, "GET", "other/__/f", "")
	if el := time.Since(t0); el > 200*time.Millisecond {
		t.Errorf("another cell waited %v behind a runaway script", el)
	}
	wg.Wait()
	if loop.status != 503 || string(loop.body) != "Script TimeOut" || time.Since(start) > 3*time.Second {
		t.Errorf("runaway script: %d %q after %v", loop.status, loop.body, time.Since(start))
	}

	// Running a service needs exec.
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"runner"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"reader"}`, "X-Personium-Credential", "password1")
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"runner"}`, "X-Personium-Credential", "password1")
	e.must(204, "POST", "c/__ctl/Account('runner')/$links/_Role", `{"uri":"`+e.url+`c/__ctl/Role('runner')"}`)
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"readers"}`)
	e.must(204, "POST", "c/__ctl/Account('reader')/$links/_Role", `{"uri":"`+e.url+`c/__ctl/Role('readers')"}`)
	e.must(200, "ACL", "c/__/svc", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="`+e.url+`c/__role/__/"><D:ace><D:principal><D:href>runner</D:href></D:principal><D:grant><D:privilege><p:exec/></D:privilege></D:grant></D:ace><D:ace><D:principal><D:href>readers</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`)
	reader := e.login("c", "reader", "password1")["access_token"].(string)
	runner := e.login("c", "runner", "password1")["access_token"].(string)
	e.as(reader, 403, "GET", "c/__/svc/users/1", "")
	e.as(runner, 200, "GET", "c/__/svc/users/1", "")
}
