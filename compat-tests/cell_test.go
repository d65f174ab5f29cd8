package compattests

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// TestUnitCellCRUD: {unit}__ctl/Cell as in apiref 100–104 and the jersey
// cell/CreateTest, ReadTest, DeleteTest and ODataCommon helpers.
func TestUnitCellCRUD(t *testing.T) {
	requireUnit(t)
	name := uniqueName("cc")
	loc := unitCtl("Cell('" + name + "')")
	var etag string

	t.Run("create", func(t *testing.T) {
		r := do(t, "POST __ctl/Cell", "POST", unitCtl("Cell"), auth(), jsonBody(map[string]any{"Name": name}))
		r.must(201)
		checkCreated(r, loc, "UnitCtl.Cell")
		r.json("d/results/Name", name)
		etag = r.Header.Get("ETag")
	})
	t.Cleanup(func() { deleteCell(t, name) })
	if etag == "" {
		return
	}

	t.Run("get", func(t *testing.T) {
		for _, key := range []string{"('" + name + "')", "(Name='" + name + "')"} {
			r := do(t, "GET Cell"+key, "GET", unitCtl("Cell"+key), auth(), nil)
			if r.ok(200) {
				checkEntity(r, loc, "UnitCtl.Cell")
				r.json("d/results/Name", name)
				r.header("ETag", etag)
				r.header("DataServiceVersion", "2.0")
			}
		}
		r := do(t, "GET with If-None-Match: current ETag", "GET", loc, auth("If-None-Match", etag), nil)
		r.ok(304)
		r = do(t, "GET with If-None-Match: other ETag", "GET", loc, auth("If-None-Match", `W/"1-0"`), nil)
		r.ok(200)
		do(t, "GET missing cell", "GET", unitCtl("Cell('"+uniqueName("none")+"')"), auth(), nil).wantError(404, "PR404-OD-0002")
	})

	t.Run("duplicate", func(t *testing.T) {
		r := do(t, "POST the same Name again", "POST", unitCtl("Cell"), auth(), jsonBody(map[string]any{"Name": name}))
		r.wantError(409, "PR409-OD-0003")
	})

	t.Run("invalid", func(t *testing.T) {
		// Cell names: ^[a-z0-9][a-z0-9-]{0,127}$ (model/ctl/Common.java);
		// CreateTest expects PR400-OD-0006 for each of these.
		for _, bad := range []string{"", "UpperCase", "__", "__ctl", "a_b", "a.b", strings.Repeat("a", 129)} {
			r := do(t, "create cell named "+bad, "POST", unitCtl("Cell"), auth(), jsonBody(map[string]any{"Name": bad}))
			r.wantError(400, "PR400-OD-0006")
		}
		r := do(t, "create cell with 128 chars", "POST", unitCtl("Cell"), auth(),
			jsonBody(map[string]any{"Name": "x" + randomHex(4) + strings.Repeat("a", 119)}))
		if r.ok(201) {
			deleteCell(t, r.str("d/results/Name"))
		}
		// ODataCommon.cellErrorInvalidField: an unknown property is PR400-OD-0007.
		r = do(t, "unknown property", "POST", unitCtl("Cell"), auth(), jsonBody(map[string]any{"Name": uniqueName("x"), "testKey": "v"}))
		r.wantError(400, "PR400-OD-0007")
		// cellErrorInvalidJson / cellErrorEmptyBody: PR400-OD-0001.
		do(t, "malformed JSON", "POST", unitCtl("Cell"), auth(), `{"Name":"x"`).wantError(400, "PR400-OD-0001")
		do(t, "empty body", "POST", unitCtl("Cell"), auth(), "").wantError(400, "PR400-OD-0001")
		// DeleteTest: an unquoted numeric key is PR400-OD-0004.
		do(t, "unquoted key", "GET", unitCtl("Cell(123456)"), auth(), nil).wantError(400, "PR400-OD-0004")
		do(t, "unbalanced key", "GET", unitCtl("Cell('abc)"), auth(), nil).wantError(400, "PR400-OD-0004")
		// cellErrorInvalidMethod: DELETE on the entity set is PR405-MC-0001.
		do(t, "DELETE on the entity set", "DELETE", unitCtl("Cell"), auth(), nil).wantError(405, "PR405-MC-0001")
		do(t, "no such entity set", "GET", unitCtl("Foo"), auth(), nil).wantError(404, "PR404-OD-0001")
	})

	t.Run("delete non-empty", func(t *testing.T) {
		// UnitCtlResource.beforeDelete: 409 PR409-OD-0001 while the cell holds anything.
		create(t, "create box", ctl(name, "Box"), map[string]any{"Name": "b1"}, nil)
		do(t, "DELETE non-empty cell", "DELETE", loc, auth("If-Match", "*"), nil).wantError(409, "PR409-OD-0001")
		do(t, "DELETE the box", "DELETE", ctl(name, "Box('b1')"), auth("If-Match", "*"), nil).ok(204)
	})

	t.Run("delete", func(t *testing.T) {
		r := do(t, "GET for the current ETag", "GET", loc, auth(), nil)
		if !r.ok(200) {
			return
		}
		cur := r.Header.Get("ETag")
		do(t, "DELETE with a stale If-Match", "DELETE", loc, auth("If-Match", `W/"1-0"`), nil).wantError(412, "PR412-OD-0002")
		do(t, "DELETE with a malformed If-Match", "DELETE", loc, auth("If-Match", "nonsense"), nil).wantError(412, "PR412-OD-0002")
		do(t, "DELETE with the current If-Match", "DELETE", loc, auth("If-Match", cur), nil).ok(204)
		do(t, "GET after delete", "GET", loc, auth(), nil).wantError(404, "PR404-OD-0002")
		do(t, "cell root after delete", "GET", cellURL(name), hdr{"Accept": "application/json"}, nil).wantError(404, "PR404-DV-0003")
	})
}

// TestUnitCellQuery: list options on __ctl/Cell (apiref 102, jersey
// ODataCommon.checkResponseBodyCount: __count is a string).
func TestUnitCellQuery(t *testing.T) {
	requireUnit(t)
	prefix := "cq" + randomHex(4)
	var cells []string
	for _, s := range []string{"a", "b", "c"} {
		cells = append(cells, newCellNamed(t, prefix+"-"+s))
	}
	startsWith := "startswith(Name,'" + prefix + "')"
	list := func(step string, kv ...string) *res {
		r := do(t, step, "GET", unitCtl("Cell")+qs(kv...), auth(), nil)
		r.must(200)
		return r
	}
	checkNames := func(r *res, want ...string) {
		r.t.Helper()
		if got := names(r, "Name"); !reflect.DeepEqual(got, want) {
			r.fail("names %v, want %v", got, want)
		}
	}
	t.Run("list", func(t *testing.T) {
		r := list("list cells")
		all := names(r, "Name")
		if len(all) == 0 {
			r.fail("empty list")
		}
		for i, e := range results(r) {
			if _, ok := jsonAt(e, "__metadata/uri"); !ok {
				r.fail("entry %d has no __metadata.uri", i)
			}
		}
		r.absent("d/__count")
	})
	t.Run("filter", func(t *testing.T) {
		checkNames(list("$filter eq", "$filter", "Name eq '"+cells[1]+"'"), cells[1])
		r := list("$filter startswith", "$filter", startsWith, "$orderby", "Name")
		checkNames(r, cells...)
		do(t, "$filter syntax error", "GET", unitCtl("Cell")+qs("$filter", "Name eq"), auth(), nil).wantError(400, "PR400-OD-0003")
	})
	t.Run("orderby", func(t *testing.T) {
		checkNames(list("$orderby desc", "$filter", startsWith, "$orderby", "Name desc"), cells[2], cells[1], cells[0])
		checkNames(list("$orderby asc", "$filter", startsWith, "$orderby", "Name asc"), cells...)
		do(t, "$orderby syntax error", "GET", unitCtl("Cell")+qs("$orderby", "Name sideways"), auth(), nil).wantError(400, "PR400-OD-0015")
	})
	t.Run("top and skip", func(t *testing.T) {
		checkNames(list("$top", "$filter", startsWith, "$orderby", "Name", "$top", "2"), cells[0], cells[1])
		checkNames(list("$skip", "$filter", startsWith, "$orderby", "Name", "$skip", "1"), cells[1], cells[2])
		checkNames(list("$top+$skip", "$filter", startsWith, "$orderby", "Name", "$top", "1", "$skip", "1"), cells[1])
		checkNames(list("$top=0", "$filter", startsWith, "$top", "0"))
		// rs/odata/QueryParser.java: unparsable → PR400-OD-0036, out of range → PR400-OD-0029.
		for _, c := range []struct{ k, v, code string }{
			{"$top", "abc", "PR400-OD-0036"}, {"$skip", "x", "PR400-OD-0036"},
			{"$top", "-1", "PR400-OD-0029"}, {"$top", "10001", "PR400-OD-0029"},
			{"$skip", "100001", "PR400-OD-0029"},
		} {
			do(t, c.k+"="+c.v, "GET", unitCtl("Cell")+qs(c.k, c.v), auth(), nil).wantError(400, c.code)
		}
	})
	t.Run("inlinecount", func(t *testing.T) {
		r := list("$inlinecount=allpages", "$filter", startsWith, "$inlinecount", "allpages", "$top", "1")
		r.json("d/__count", "3") // a string, not a number
		if n := len(results(r)); n != 1 {
			r.fail("%d results with $top=1", n)
		}
		r = list("$inlinecount=none", "$filter", startsWith, "$inlinecount", "none")
		r.absent("d/__count")
		do(t, "$inlinecount=bogus", "GET", unitCtl("Cell")+qs("$inlinecount", "bogus"), auth(), nil).wantError(400, "PR400-OD-0013")
	})
	t.Run("q", func(t *testing.T) {
		r := list("q=full name", "q", cells[1])
		if !contains(names(r, "Name"), cells[1]) {
			r.fail("q=%s does not find the cell", cells[1])
		}
		r = list("q=unknown word", "q", "zz"+randomHex(6))
		for _, n := range names(r, "Name") {
			if strings.HasPrefix(n, prefix) {
				r.fail("q with an unrelated word found %s", n)
			}
		}
	})
}

// newCellNamed creates a cell with the exact name and removes it at the end.
func newCellNamed(t *testing.T, name string) string {
	t.Helper()
	create(t, "create cell "+name, unitCtl("Cell"), map[string]any{"Name": name}, nil)
	t.Cleanup(func() { deleteCell(t, name) })
	return name
}

// TestCellRoot: GET {cell} in its JSON and XML forms (rs/cell/CellResource.java
// get; jersey CellRootGetTest).
func TestCellRoot(t *testing.T) {
	requireUnit(t)
	cell := newCell(t, "root")
	t.Run("json", func(t *testing.T) {
		r := do(t, "GET cell root as JSON", "GET", cellURL(cell), hdr{"Accept": "application/json"}, nil)
		if r.ok(200) {
			r.contentType("application/json")
			r.json("cell/name", cell)
			r.json("cell/url", cellURL(cell))
			r.json("unit/url", unitURL)
			if _, ok := r.get("unit/path_based_cellurl_enabled"); !ok {
				r.fail("unit.path_based_cellurl_enabled missing")
			}
		}
	})
	t.Run("xml", func(t *testing.T) {
		r := do(t, "GET cell root as XML", "GET", cellURL(cell), hdr{"Accept": "application/xml"}, nil)
		if !r.ok(200) {
			return
		}
		r.contentType("application/xml")
		var doc struct {
			XMLName xml.Name
			UUID    string `xml:"uuid"`
			Ctl     string `xml:"ctl"`
		}
		if err := xml.Unmarshal(r.Body, &doc); err != nil {
			r.fail("not XML: %v", err)
			return
		}
		if doc.XMLName.Space != "urn:x-personium:xmlns" || doc.XMLName.Local != "cell" {
			r.fail("root element {%s}%s, want {urn:x-personium:xmlns}cell", doc.XMLName.Space, doc.XMLName.Local)
		}
		if doc.Ctl != cellURL(cell)+"__ctl/" {
			r.fail("<ctl> %q, want %q", doc.Ctl, cellURL(cell)+"__ctl/")
		}
		if !strings.HasPrefix(string(r.Body), `<?xml version="1.0" encoding="UTF-8"?>`) {
			r.fail("no XML declaration")
		}
		if doc.UUID == "" {
			r.fail("<uuid> is empty")
		}
	})
	t.Run("unknown cell", func(t *testing.T) {
		r := do(t, "GET unknown cell", "GET", cellURL(uniqueName("nocell")), hdr{"Accept": "application/json"}, nil)
		r.wantError(404, "PR404-DV-0003")
	})
}

// TestCellRecursiveDelete: DELETE {cell} needs X-Personium-Recursive: true
// exactly (rs/cell/CellResource.java; jersey CellBulkDeletionTest:
// 412 PR412-MC-0001 "Precondition failed [Header: X-Personium-Recursive].").
func TestCellRecursiveDelete(t *testing.T) {
	requireUnit(t)
	cell := newCell(t, "bulk")
	create(t, "create box", ctl(cell, "Box"), map[string]any{"Name": "b1"}, nil)
	create(t, "create role", ctl(cell, "Role"), map[string]any{"Name": "r1", "_Box.Name": "b1"}, nil)
	create(t, "create account", ctl(cell, "Account"), map[string]any{"Name": "a1"}, auth("X-Personium-Credential", "pass-1234"))
	do(t, "link account and role", "POST", ctl(cell, "Account('a1')/$links/_Role"), auth(),
		jsonBody(map[string]string{"uri": ctl(cell, "Role(Name='r1',_Box.Name='b1')")})).ok(204)

	for _, v := range []string{"", "false", "yes"} {
		r := do(t, "DELETE cell with X-Personium-Recursive="+v, "DELETE", cellURL(cell), auth("X-Personium-Recursive", v), nil)
		if r.wantError(412, "PR412-MC-0001") != "" {
			if msg := r.errorMessage(); msg != "Precondition failed [Header: X-Personium-Recursive]." {
				r.fail("message %q", msg)
			}
		}
	}
	do(t, "cell still there", "GET", unitCtl("Cell('"+cell+"')"), auth(), nil).ok(200)
	do(t, "DELETE cell recursively without token", "DELETE", cellURL(cell), hdr{"X-Personium-Recursive": "true"}, nil).ok(401)
	do(t, "DELETE cell recursively", "DELETE", cellURL(cell), auth("X-Personium-Recursive", "true"), nil).ok(204)
	do(t, "GET cell root after delete", "GET", cellURL(cell), hdr{"Accept": "application/json"}, nil).wantError(404, "PR404-DV-0003")
	// CellBulkDeletionTest waits before checking __ctl/Cell: the index
	// entry may disappear asynchronously.
	var last *res
	if !eventually(func() bool {
		last = do(t, "GET __ctl/Cell after delete", "GET", unitCtl("Cell('"+cell+"')"), auth(), nil)
		return last.Status == 404
	}) {
		last.fail("the cell is still listed 5 s after the recursive delete")
	}
	create(t, "re-create a cell with the same name", unitCtl("Cell"), map[string]any{"Name": cell}, nil)
	do(t, "re-created cell is empty", "GET", ctl(cell, "Account('a1')"), auth(), nil).wantError(404, "PR404-OD-0002")
}
