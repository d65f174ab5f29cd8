package compattests

import (
	"testing"
)

// crudSpec describes one cell control entity for runCRUD.
type crudSpec struct {
	set        string // entity set, e.g. "Role"
	typ        string // __metadata.type, e.g. "CellCtl.Role"
	setup      func(t *testing.T, cell string)
	body       map[string]any                  // create body
	h          hdr                             // create headers (nil: auth())
	location   string                          // Location as Personium renders it, relative to __ctl/
	keys       []string                        // other key forms for the same entity, e.g. "('r1')"
	props      map[string]any                  // properties expected after create
	put        map[string]any                  // PUT body (same key)
	putProps   map[string]any                  // properties expected after PUT
	merge      map[string]any                  // MERGE body
	mergeProps map[string]any                  // properties expected after MERGE
	secret     string                          // must never appear in a response
	extra      func(t *testing.T, cell string) // set-specific checks, run on a fresh cell
}

// runCRUD walks one entity through create, get (every key form),
// If-None-Match, list, PUT, MERGE, POST+X-HTTP-Method-Override: MERGE and
// DELETE with If-Match (rs/odata/ODataEntityResource.java, ODataMergeResource.java,
// utils/ODataUtils.checkEtag; jersey cell/ctl/*Test.java).
func runCRUD(t *testing.T, s crudSpec) {
	requireUnit(t)
	cell := newCell(t, "crud")
	if s.setup != nil {
		s.setup(t, cell)
	}
	loc := ctl(cell, s.location)
	call := func(t *testing.T, step, method, url string, h hdr, body any) *res {
		t.Helper()
		r := do(t, step, method, url, h, body)
		if s.secret != "" {
			noSecret(r, s.secret)
		}
		return r
	}
	props := func(r *res, want map[string]any) {
		r.t.Helper()
		for k, v := range want {
			r.json("d/results/"+k, v)
		}
	}
	var etag string
	t.Run("create", func(t *testing.T) {
		h := s.h
		if h == nil {
			h = auth()
		}
		r := call(t, "POST "+s.set, "POST", ctl(cell, s.set), h, jsonBody(s.body))
		r.must(201)
		checkCreated(r, loc, s.typ)
		props(r, s.props)
		etag = r.Header.Get("ETag")
	})
	if etag == "" {
		return // not created: the other steps would only repeat that
	}
	t.Run("get", func(t *testing.T) {
		urls := []string{loc}
		for _, k := range s.keys {
			urls = append(urls, ctl(cell, s.set+k))
		}
		for _, u := range urls {
			r := call(t, "GET "+u, "GET", u, auth(), nil)
			if r.ok(200) {
				r.contentType("application/json")
				r.header("DataServiceVersion", "2.0")
				r.header("ETag", etag)
				checkEntity(r, loc, s.typ)
				props(r, s.props)
			}
		}
		call(t, "GET with If-None-Match: current ETag", "GET", loc, auth("If-None-Match", etag), nil).ok(304)
	})
	t.Run("list", func(t *testing.T) {
		r := call(t, "GET "+s.set, "GET", ctl(cell, s.set), auth(), nil)
		if !r.ok(200) {
			return
		}
		if !contains(names(r, "__metadata/uri"), loc) {
			r.fail("the list does not hold %s", loc)
		}
		r = call(t, "GET "+s.set+" with $inlinecount", "GET", ctl(cell, s.set)+qs("$inlinecount", "allpages"), auth(), nil)
		if r.ok(200) {
			if c, ok := r.get("d/__count"); !ok {
				r.fail("d.__count missing")
			} else if _, isStr := c.(string); !isStr {
				r.fail("d.__count is %T, want a string", c)
			}
		}
	})
	t.Run("put", func(t *testing.T) {
		call(t, "PUT with a stale If-Match", "PUT", loc, auth("If-Match", `W/"1-0"`), jsonBody(s.put)).wantError(412, "PR412-OD-0002")
		r := call(t, "PUT with the current If-Match", "PUT", loc, auth("If-Match", etag), jsonBody(s.put))
		if !r.ok(204) {
			return
		}
		r.headerMatch("ETag", etagPattern)
		if r.Header.Get("ETag") == etag {
			r.fail("PUT kept the old ETag %s", etag)
		}
		newTag := r.Header.Get("ETag")
		g := call(t, "GET after PUT", "GET", loc, auth(), nil)
		if g.ok(200) {
			props(g, s.putProps)
			g.header("ETag", newTag)
		}
		call(t, "GET with the pre-PUT ETag", "GET", loc, auth("If-None-Match", etag), nil).ok(200)
		etag = newTag
	})
	t.Run("merge", func(t *testing.T) {
		call(t, "MERGE with a stale If-Match", "MERGE", loc, auth("If-Match", `W/"1-0"`), jsonBody(s.merge)).wantError(412, "PR412-OD-0002")
		r := call(t, "MERGE", "MERGE", loc, auth("If-Match", etag), jsonBody(s.merge))
		if !r.ok(204) {
			return
		}
		r.headerMatch("ETag", etagPattern)
		if r.Header.Get("ETag") == etag {
			r.fail("MERGE kept the old ETag")
		}
		etag = r.Header.Get("ETag")
		if g := call(t, "GET after MERGE", "GET", loc, auth(), nil); g.ok(200) {
			props(g, s.mergeProps)
		}
		r = call(t, "POST with X-HTTP-Method-Override: MERGE", "POST", loc,
			auth("X-HTTP-Method-Override", "MERGE", "If-Match", etag), jsonBody(s.merge))
		if r.ok(204) {
			if r.Header.Get("ETag") == etag {
				r.fail("overridden MERGE kept the old ETag")
			}
			etag = r.Header.Get("ETag")
		}
		if g := call(t, "GET after overridden MERGE", "GET", loc, auth(), nil); g.ok(200) {
			props(g, s.mergeProps)
			g.header("ETag", etag)
		}
	})
	t.Run("delete", func(t *testing.T) {
		call(t, "DELETE with a stale If-Match", "DELETE", loc, auth("If-Match", `W/"1-0"`), nil).wantError(412, "PR412-OD-0002")
		call(t, "still there", "GET", loc, auth(), nil).ok(200)
		call(t, "DELETE with the current If-Match", "DELETE", loc, auth("If-Match", etag), nil).ok(204)
		call(t, "GET after DELETE", "GET", loc, auth(), nil).wantError(404, "PR404-OD-0002")
		call(t, "DELETE again", "DELETE", loc, auth("If-Match", "*"), nil).wantError(404, "PR404-OD-0002")
	})
	if s.extra != nil {
		t.Run("specific", func(t *testing.T) { s.extra(t, newCell(t, "spec")) })
	}
}

// TestCtlMetadata: {cell}__ctl/$metadata is EDMX with the CellCtl types
// (rs/cell/CellCtlResource.java getMetadata, model/ctl/CtlSchema.java).
func TestCtlMetadata(t *testing.T) {
	requireUnit(t)
	cell := newCell(t, "meta")
	r := do(t, "GET cell __ctl/$metadata", "GET", ctl(cell, "$metadata"), auth(), nil)
	if r.ok(200) {
		r.contentType("application/xml")
		checkEDMX(r, "CellCtl", "Account", "Role", "Relation", "ExtCell", "ExtRole", "Box",
			"ReceivedMessage", "SentMessage", "Rule")
	}
	do(t, "no such entity set", "GET", ctl(cell, "Foo"), auth(), nil).wantError(404, "PR404-OD-0001")
}
