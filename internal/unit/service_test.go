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

// TestServiceBadInput: scripts that cannot run and routes that cannot
// match are refused when they are stored, with nothing changed.
func TestServiceBadInput(t *testing.T) {
	e := newAuthEnv(t)
	want := wanter(t, e.env)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/svc", serviceMkcol, "Content-Type", "application/xml")
	for _, src := range []string{
		"function(request) { return {status: 200, headers: {}, body: [}; }", // syntax error
		"function(request) {",
		"\xff\xfe not UTF-8",
	} {
		want(400, "PR400-SC-0001", "PUT", "c/__/svc/__src/bad.js", src)
	}
	want(404, "", "GET", "c/__/svc/__src/bad.js", "")
	// Other files in __src are data: stored as they are.
	want(201, "", "PUT", "c/__/svc/__src/data.json", "{not js")
	// Outside __src, .js files are plain files.
	want(201, "", "PUT", "c/__/notsvc.js", "function(")
	want(201, "", "PUT", "c/__/svc/__src/ok.js", "var a = 1;\nfunction(request) { return {status: 200, headers: {}, body: ['id ' + request.pathInfo]}; }")

	patch := func(paths string) string {
		return `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:service language="JavaScript">` +
			paths + `</p:service></D:prop></D:set></D:propertyupdate>`
	}
	for _, paths := range []string{
		`<p:path name="a/{id" src="ok.js"/>`,
		`<p:path name="a//b" src="ok.js"/>`,
		`<p:path name="{}" src="ok.js"/>`,
		`<p:path name="{id: [0-9+}" src="ok.js"/>`,
		`<p:path name="a" src="../x.js"/>`,
		`<p:path name="a"/>`,
	} {
		want(400, "PR400-SC-0002", "PROPPATCH", "c/__/svc", patch(paths))
	}
	want(207, "", "PROPPATCH", "c/__/svc", patch(`<p:path name="{id: [0-9]+}/view" src="ok.js"/><p:path name="x/{any}" src="ok.js"/>`))
	if r := want(200, "", "GET", "c/__/svc/42/view", ""); string(r.body) != "id /42/view" {
		t.Errorf("regexp route: %q", r.body)
	}
	want(404, "", "GET", "c/__/svc/4x/view", "")
	want(200, "", "GET", "c/__/svc/x/y", "")
}

// TestRunawayIsolation: an endless loop, a catastrophic regular
// expression and an allocation bomb each end in an error response near
// the limits (500 ms of wall time and 256 MiB of heap growth here; a
// backtracking match stops after engine.MaxRegexpMatch), and a request
// to another cell made meanwhile is answered at once.
func TestRunawayIsolation(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"other"}`)
	e.must(201, "PUT", "other/__/f", "fine")
	e.must(201, "MKCOL", "c/__/svc", serviceMkcol, "Content-Type", "application/xml")
	scripts := map[string]string{
		"loop":   `function(r){ var i = 0; for(;;){ i++; } }`,
		"regexp": `function(r){ var s = new Array(42).join("a") + "!"; return {status: 200, headers: {}, body: [String(/^(a+)+\1$/.test(s))]}; }`,
		"bomb":   `function(r){ var keep = []; for(;;){ keep.push(new Uint8Array(32 << 20)); } }`,
	}
	var paths string
	for name, src := range scripts {
		e.must(201, "PUT", "c/__/svc/__src/"+name+".js", src)
		paths += `<p:path name="` + name + `" src="` + name + `.js"/>`
	}
	e.must(207, "PROPPATCH", "c/__/svc", `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop>
		<p:service language="JavaScript">`+paths+`</p:service></D:prop></D:set></D:propertyupdate>`)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		within time.Duration
	}{
		{"loop", 503, "Script TimeOut", 2 * time.Second},
		{"regexp", 503, "Script TimeOut", 4 * time.Second},
		// Stopped by the heap watchdog or, when garbage of an earlier
		// bomb hides its growth at first, by the time limit (the engine's
		// TestAllocationBomb checks the watchdog alone).
		{"bomb", 503, "", 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			var r *resp
			start := time.Now()
			wg.Add(1)
			go func() { defer wg.Done(); r = e.do("GET", "c/__/svc/"+tc.name, "") }()
			time.Sleep(100 * time.Millisecond)
			t0 := time.Now()
			if o := e.do("GET", "other/__/f", ""); o.status != 200 || string(o.body) != "fine" {
				t.Errorf("the other cell answered %d %q", o.status, o.body)
			}
			if el := time.Since(t0); el > 300*time.Millisecond {
				t.Errorf("the other cell waited %v", el)
			}
			wg.Wait()
			el := time.Since(start)
			if r.status != tc.status || (tc.body != "" && string(r.body) != tc.body) || el > tc.within {
				t.Errorf("%s: %d %q after %v", tc.name, r.status, r.body, el)
			}
		})
	}
}

// TestCellEvent: POST {cell}__event validates the event and needs the
// cell privilege event.
func TestCellEvent(t *testing.T) {
	e := newAuthEnv(t)
	want := wanter(t, e.env)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	want(200, "", "POST", "c/__event", `{"Type":"app.save","Object":"personium-localbox:/x","Info":"ok"}`, "X-Personium-RequestKey", "key_1")
	want(400, "PR400-EV-0003", "POST", "c/__event", `{"Type":"t","Object":"o"}`)
	want(400, "PR400-EV-0004", "POST", "c/__event", `{"Type":1,"Object":"o","Info":"i"}`)
	want(400, "PR400-EV-0001", "POST", "c/__event", `not json`)
	want(400, "PR400-EV-0002", "POST", "c/__event", `{"Type":"t","Object":"o","Info":"i"}`, "X-Personium-RequestKey", "bad key!")
	want(405, "", "GET", "c/__event", "")
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"a"}`, "X-Personium-Credential", "password1")
	tok := e.login("c", "a", "password1")["access_token"].(string)
	e.as(tok, 403, "POST", "c/__event", `{"Type":"t","Object":"o","Info":"i"}`)
}

// TestServiceSubjectNeedsAuth: naming the subject account of a service
// (whose scripts then act as it) needs the cell privilege auth besides
// write-properties on the collection.
func TestServiceSubjectNeedsAuth(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/svc", serviceMkcol, "Content-Type", "application/xml")
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"dev"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"dev"}`, "X-Personium-Credential", "password1")
	e.must(204, "POST", "c/__ctl/Account('dev')/$links/_Role", `{"uri":"`+e.url+`c/__ctl/Role('dev')"}`)
	e.must(200, "ACL", "c/__/svc", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="`+e.url+`c/__role/__/"><D:ace><D:principal><D:href>dev</D:href></D:principal><D:grant><D:privilege><D:write-properties/></D:privilege></D:grant></D:ace></D:acl>`)
	dev := e.login("c", "dev", "password1")["access_token"].(string)
	routes := func(subject string) string {
		return `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:service language="JavaScript"` +
			subject + `><p:path name="x" src="x.js"/></p:service></D:prop></D:set></D:propertyupdate>`
	}
	e.as(dev, 207, "PROPPATCH", "c/__/svc", routes(""))
	e.as(dev, 403, "PROPPATCH", "c/__/svc", routes(` subject="dev"`))
	e.must(200, "ACL", "c", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="`+e.url+`c/__role/__/"><D:ace><D:principal><D:href>dev</D:href></D:principal><D:grant><D:privilege><p:auth/></D:privilege></D:grant></D:ace></D:acl>`)
	dev = e.login("c", "dev", "password1")["access_token"].(string)
	e.as(dev, 207, "PROPPATCH", "c/__/svc", routes(` subject="dev"`))
}
