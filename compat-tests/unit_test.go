package compattests

import (
	"encoding/xml"
	"sort"
	"strings"
	"testing"
)

// TestUnitRoot: GET {unit} answers {"unit":{"url":..,"path_based_cellurl_enabled":..}}
// without authentication (rs/unit/UnitResource.java get,
// auth/AccessContext.java getUnitMetadataJson; jersey UnitRootGetTest).
func TestUnitRoot(t *testing.T) {
	requireUnit(t)
	r := do(t, "GET unit root", "GET", unitURL, hdr{"Accept": "application/json"}, nil)
	if !r.ok(200) {
		return
	}
	r.contentType("application/json")
	r.json("unit/url", unitURL)
	v, ok := r.get("unit/path_based_cellurl_enabled")
	if _, isBool := v.(bool); !ok || !isBool {
		r.fail("unit.path_based_cellurl_enabled must be a boolean")
	}
	if ownServer {
		r.json("unit/path_based_cellurl_enabled", true)
	}
}

// TestVersionHeader: every response carries X-Personium-Version, whatever
// its status (jersey/filter/PersoniumCoreContainerFilter.java addResponseHeaders).
func TestVersionHeader(t *testing.T) {
	requireUnit(t)
	cell := newCell(t, "ver")
	created := create(t, "create role", ctl(cell, "Role"), map[string]any{"Name": "r1"}, nil)
	etag := created.Header.Get("ETag")
	cases := []struct {
		name, method, url string
		h                 hdr
		body              any
		status            int
	}{
		{"200 unit root", "GET", unitURL, hdr{"Accept": "application/json"}, nil, 200},
		{"200 cell root", "GET", cellURL(cell), hdr{"Accept": "application/json"}, nil, 200},
		{"200 list", "GET", ctl(cell, "Role"), auth(), nil, 200},
		{"201 create", "POST", ctl(cell, "Role"), auth(), `{"Name":"r2"}`, 201},
		{"204 merge", "MERGE", ctl(cell, "Role('r2')"), auth("If-Match", "*"), `{"Name":"r2"}`, 204},
		{"304 not modified", "GET", ctl(cell, "Role('r1')"), auth("If-None-Match", etag), nil, 304},
		{"400 bad json", "POST", ctl(cell, "Role"), auth(), `{"Name":`, 400},
		{"401 no token", "GET", ctl(cell, "Role"), hdr{"Accept": "application/json"}, nil, 401},
		{"404 no entity", "GET", ctl(cell, "Role('nope')"), auth(), nil, 404},
		{"409 duplicate", "POST", ctl(cell, "Role"), auth(), `{"Name":"r1"}`, 409},
		{"412 recursive header", "DELETE", cellURL(cell), auth(), nil, 412},
		{"200 OPTIONS", "OPTIONS", unitURL, nil, nil, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.name, c.method, c.url, c.h, c.body)
			r.ok(c.status)
			if r.Header.Get("X-Personium-Version") == "" {
				r.fail("X-Personium-Version header missing")
			}
		})
	}
}

// TestCORS: with Origin the response echoes it and adds credentials,
// max-age, the requested headers and exposes X-Personium-Version; without
// Origin none of these are sent (PersoniumCoreContainerFilter.addResponseHeaders;
// jersey CrossDomainTest). The reference docs still describe the older
// "Access-Control-Allow-Origin: *"; the code echoes the origin.
func TestCORS(t *testing.T) {
	requireUnit(t)
	const origin = "https://app.example.org"
	checkCORS := func(r *res, requested string) {
		r.t.Helper()
		r.header("Access-Control-Allow-Origin", origin)
		r.header("Access-Control-Allow-Credentials", "true")
		r.header("Access-Control-Max-Age", "86400")
		if requested != "" {
			r.header("Access-Control-Allow-Headers", requested)
		}
		exposed := strings.Split(r.Header.Get("Access-Control-Expose-Headers"), ",")
		found := false
		for _, h := range exposed {
			found = found || strings.EqualFold(strings.TrimSpace(h), "X-Personium-Version")
		}
		if !found {
			r.fail("Access-Control-Expose-Headers %q lacks X-Personium-Version", r.Header.Get("Access-Control-Expose-Headers"))
		}
	}
	t.Run("GET with Origin", func(t *testing.T) {
		r := do(t, "GET unit root with Origin", "GET", unitURL, hdr{"Origin": origin, "Accept": "application/json"}, nil)
		r.ok(200)
		checkCORS(r, "")
	})
	t.Run("authenticated preflight", func(t *testing.T) {
		r := do(t, "OPTIONS __ctl/Cell with Origin", "OPTIONS", unitCtl("Cell"),
			auth("Origin", origin, "Access-Control-Request-Headers", "Accept, X-Personium-RequestKey"), nil)
		if r.ok(200) {
			checkCORS(r, "Accept, X-Personium-RequestKey")
			checkMethods(r, "Allow", "OPTIONS, GET, POST")
			checkMethods(r, "Access-Control-Allow-Methods", "OPTIONS, GET, POST")
		}
	})
	// Browsers send preflights without Authorization; the pre-matching
	// filter answers them and the response filter adds the CORS headers.
	t.Run("token-less preflight", func(t *testing.T) {
		r := do(t, "OPTIONS cell ctl without token", "OPTIONS", unitURL+"anycell/__ctl/Account",
			hdr{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "Authorization, Content-Type"}, nil)
		if r.ok(200) {
			checkCORS(r, "Authorization, Content-Type")
		}
	})
	t.Run("error with Origin", func(t *testing.T) {
		r := do(t, "GET __ctl/Cell without token, with Origin", "GET", unitCtl("Cell"), hdr{"Origin": origin}, nil)
		r.wantError(401, "PR401-AU-0001")
		checkCORS(r, "")
	})
	t.Run("no Origin", func(t *testing.T) {
		for _, r := range []*res{
			do(t, "GET unit root without Origin", "GET", unitURL, hdr{"Access-Control-Request-Headers": "Accept"}, nil),
			do(t, "OPTIONS __ctl/Cell without Origin", "OPTIONS", unitCtl("Cell"), auth("Access-Control-Request-Headers", "Accept"), nil),
		} {
			for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
				"Access-Control-Max-Age", "Access-Control-Allow-Headers", "Access-Control-Expose-Headers"} {
				r.header(h, "")
			}
		}
	})
}

// checkMethods compares a comma-separated method list as a set.
func checkMethods(r *res, header, want string) {
	r.t.Helper()
	norm := func(s string) string {
		var out []string
		for _, m := range strings.Split(s, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, strings.ToUpper(m))
			}
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	if got := r.Header.Get(header); norm(got) != norm(want) {
		r.fail("header %s = %q, want the methods %q", header, got, want)
	}
}

// TestOptions: an OPTIONS request without Authorization is answered by the
// pre-matching filter on any path with every method Personium knows
// (PersoniumCoreContainerFilter.checkOptionsMethod, ResourceUtils.responseBuilderForOptions;
// jersey OptionsMethodTest). With a token the resource's own list is given.
func TestOptions(t *testing.T) {
	requireUnit(t)
	const all = "OPTIONS, GET, POST, PUT, DELETE, HEAD, MERGE, MKCOL, MOVE, PROPFIND, PROPPATCH, ACL"
	for _, path := range []string{"", "__ctl/Cell", "nosuchcell-" + randomHex(3) + "/__ctl/Account"} {
		r := do(t, "token-less OPTIONS /"+path, "OPTIONS", unitURL+path, nil, nil)
		if r.ok(200) {
			checkMethods(r, "Allow", all)
			checkMethods(r, "Access-Control-Allow-Methods", all)
		}
	}
	cell := newCell(t, "opt")
	for _, c := range []struct{ url, want string }{
		{unitCtl("Cell"), "OPTIONS, GET, POST"},
		{unitCtl("Cell('" + cell + "')"), "OPTIONS, GET, PUT, MERGE, DELETE"},
		{unitCtl("$metadata"), "OPTIONS, GET"},
		{ctl(cell, "Account"), "OPTIONS, GET, POST"},
		{ctl(cell, "Box('b')"), "OPTIONS, GET, PUT, MERGE, DELETE"},
		{ctl(cell, "Role('r')/_Account"), "OPTIONS, GET, POST"},
	} {
		r := do(t, "OPTIONS with token", "OPTIONS", c.url, auth(), nil)
		if r.ok(200) {
			checkMethods(r, "Allow", c.want)
		}
	}
}

// TestUnauthorized: __ctl without a usable Authorization answers 401 with
// WWW-Authenticate (UnitCtlResource.checkAccessContext,
// PersoniumCoreAuthzException; jersey ODataCommon.cellErrorAuthNone /
// cellErrorAuthInvalid: PR401-AU-0001 without header, PR401-AU-0003 for an
// unknown scheme).
func TestUnauthorized(t *testing.T) {
	requireUnit(t)
	cell := newCell(t, "auth")
	for _, u := range []string{unitCtl("Cell"), ctl(cell, "Account"), ctl(cell, "Box")} {
		t.Run(strings.TrimPrefix(u, unitURL), func(t *testing.T) {
			check := func(r *res, code string) {
				r.t.Helper()
				if got := r.wantError(401, code); got != "" && !strings.HasPrefix(got, "PR401-AU-") {
					r.fail("code %s, want a PR401-AU-* code", got)
				}
				if r.Header.Get("WWW-Authenticate") == "" {
					r.fail("WWW-Authenticate header missing")
				} else {
					r.headerMatch("WWW-Authenticate", `^(Bearer|Basic) realm="[^"]*"`)
				}
			}
			check(do(t, "no Authorization", "GET", u, hdr{"Accept": "application/json"}, nil), "PR401-AU-0001")
			check(do(t, "unknown scheme", "GET", u, hdr{"Authorization": "test"}, nil), "PR401-AU-0003")
			check(do(t, "bogus bearer token", "GET", u, hdr{"Authorization": "Bearer not-a-token-" + randomHex(8)}, nil), "")
		})
	}
	r := do(t, "POST __ctl/Cell without token", "POST", unitCtl("Cell"), nil, `{"Name":"`+uniqueName("noauth")+`"}`)
	r.wantError(401, "PR401-AU-0001")
}

// TestUnitMetadata: {unit}__ctl/$metadata is EDMX with the UnitCtl.Cell
// type. Personium does no access check there (UnitCtlResource.getMetadata
// calls doGetMetadata directly).
func TestUnitMetadata(t *testing.T) {
	requireUnit(t)
	for _, h := range []hdr{auth(), nil} {
		r := do(t, "GET __ctl/$metadata", "GET", unitCtl("$metadata"), h, nil)
		if !r.ok(200) {
			continue
		}
		r.contentType("application/xml")
		checkEDMX(r, "UnitCtl", "Cell")
	}
}

// checkEDMX parses an EDMX document and checks that namespace ns declares
// the entity types.
func checkEDMX(r *res, ns string, types ...string) {
	r.t.Helper()
	var doc struct {
		XMLName  xml.Name
		Services struct {
			Schemas []struct {
				Namespace   string `xml:"Namespace,attr"`
				EntityTypes []struct {
					Name string `xml:"Name,attr"`
				} `xml:"EntityType"`
			} `xml:"Schema"`
		} `xml:"DataServices"`
	}
	if err := xml.Unmarshal(r.Body, &doc); err != nil {
		r.fail("$metadata is not XML: %v", err)
		return
	}
	if doc.XMLName.Local != "Edmx" {
		r.fail("$metadata root element is %q, want edmx:Edmx", doc.XMLName.Local)
	}
	found := map[string]bool{}
	for _, s := range doc.Services.Schemas {
		if s.Namespace == ns {
			for _, et := range s.EntityTypes {
				found[et.Name] = true
			}
		}
	}
	for _, typ := range types {
		if !found[typ] {
			r.fail("$metadata has no EntityType %s in namespace %s", typ, ns)
		}
	}
}
