package compattests

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// Patterns of Personium's OData bookkeeping values.
const (
	etagPattern = `^W/"\d+-\d+"$`       // W/"<version>-<updated ms>"
	datePattern = `^/Date\(\d+\)/$`     // /Date(<ms>)/
	firstETag   = `^W/"1-\d+"$`         // the ETag of a new entity
	uuidPattern = `^[0-9a-fA-F-]{16,}$` // cell <uuid>
)

// uniqueName returns a fresh cell-compatible name (lower case, digits, -).
func uniqueName(prefix string) string {
	return prefix + "-" + randomHex(5)
}

// cellURL is the path-based URL of a cell.
func cellURL(name string) string { return unitURL + name + "/" }

// ctl is the URL of a cell control object path, e.g. ctl(c, "Role('r')").
func ctl(cell, path string) string { return cellURL(cell) + "__ctl/" + path }

// unitCtl is the URL of a unit control object path.
func unitCtl(path string) string { return unitURL + "__ctl/" + path }

// requireUnit stops a test when TestMain has no unit (it cannot happen when
// TestMain succeeded, but keeps single tests honest).
func requireUnit(t *testing.T) {
	t.Helper()
	if unitURL == "" || masterToken == "" {
		t.Fatal("no unit under test: PERSONIUM_TEST_URL / PERSONIUM_TEST_MASTER_TOKEN unset and the server was not started")
	}
}

// newCell creates a uniquely named cell and deletes it recursively when the
// test ends.
func newCell(t *testing.T, prefix string) string {
	t.Helper()
	requireUnit(t)
	name := uniqueName(prefix)
	r := do(t, "create cell "+name, "POST", unitCtl("Cell"), auth(), jsonBody(map[string]any{"Name": name}))
	r.must(201)
	t.Cleanup(func() { deleteCell(t, name) })
	return name
}

// deleteCell removes a cell and all it holds; a cell already gone is fine.
func deleteCell(t *testing.T, name string) {
	t.Helper()
	r := do(t, "clean up cell "+name, "DELETE", cellURL(name), auth("X-Personium-Recursive", "true"), nil)
	if r.Status != 204 && r.Status != 404 {
		t.Logf("cleanup: could not delete cell %s: %s", name, r.describe())
	}
}

// create POSTs an entity and requires 201; it returns the response.
func create(t *testing.T, step, url string, body any, h hdr) *res {
	t.Helper()
	if h == nil {
		h = auth()
	}
	return do(t, step, "POST", url, h, jsonBody(body)).must(201)
}

// checkEntity checks the common shape of a single-entity OData response:
// {"d":{"results":{"__metadata":{"uri","etag","type"},"__published","__updated",..}}}.
// uri may be "" to skip that comparison.
func checkEntity(r *res, uri, typ string) {
	r.t.Helper()
	if _, ok := r.get("d/results/__metadata"); !ok {
		r.fail("no d.results.__metadata object")
		return
	}
	if uri != "" {
		r.json("d/results/__metadata/uri", uri)
	}
	r.json("d/results/__metadata/type", typ)
	r.jsonMatch("d/results/__metadata/etag", etagPattern)
	r.jsonMatch("d/results/__published", datePattern)
	r.jsonMatch("d/results/__updated", datePattern)
	if etag := r.Header.Get("ETag"); etag != "" && etag != r.str("d/results/__metadata/etag") {
		r.fail("ETag header %q differs from __metadata.etag %q", etag, r.str("d/results/__metadata/etag"))
	}
}

// checkCreated checks a 201 answer to an entity POST: Location, ETag
// W/"1-ms", DataServiceVersion 2.0 and the entity body whose uri is the
// Location (ODataCommon.checkCommonResponseHeader / checkResults in
// personium-core's jersey tests).
func checkCreated(r *res, location, typ string) {
	r.t.Helper()
	r.header("Location", location)
	r.headerMatch("ETag", firstETag)
	r.header("DataServiceVersion", "2.0")
	r.contentType("application/json")
	checkEntity(r, location, typ)
}

// results returns d.results of a list response, failing if it is not an array.
func results(r *res) []any {
	r.t.Helper()
	v, ok := r.get("d/results")
	a, isArr := v.([]any)
	if !ok || !isArr {
		r.fail("d.results is not an array")
		return nil
	}
	return a
}

// names returns the given property of each entity in a list response.
func names(r *res, prop string) []string {
	var out []string
	for _, e := range results(r) {
		v, _ := jsonAt(e, prop)
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// linkURIs returns the uri of each entry of a $links list response
// {"d":{"results":[{"uri":..}]}}.
func linkURIs(r *res) []string {
	r.t.Helper()
	var out []string
	for i, e := range results(r) {
		m, ok := e.(map[string]any)
		u, isStr := m["uri"].(string)
		if !ok || !isStr {
			r.fail("$links entry %d is not {\"uri\":..}", i)
			continue
		}
		out = append(out, u)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// eventually retries check until it returns true or 5 s pass.
func eventually(check func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if check() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// noSecret fails if s appears anywhere in the response (headers or body).
func noSecret(r *res, secret string) {
	r.t.Helper()
	if strings.Contains(string(r.Body), secret) {
		r.fail("the response body contains the password")
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, secret) {
				r.fail("response header %s contains the password", k)
			}
		}
	}
	for _, k := range []string{"Password", "Credential", "HashedCredential", "X-Personium-Credential"} {
		if regexp.MustCompile(`"` + k + `"`).Match(r.Body) {
			r.fail("the response body has a %q property", k)
		}
	}
}
