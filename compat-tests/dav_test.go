package compattests

import (
	"bytes"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newBox creates a cell with a box and returns the box URL.
func newBox(t *testing.T, prefix string) string {
	t.Helper()
	cell := newCell(t, prefix)
	create(t, "create box", cellURL(cell)+"__ctl/Box", map[string]any{"Name": "box"}, nil)
	return cellURL(cell) + "box/"
}

// TestDavFiles: PUT, GET, conditional requests and ranges on box files
// (rs/box/DavFileResource.java; apiref 307-309).
func TestDavFiles(t *testing.T) {
	box := newBox(t, "davfile")
	data := make([]byte, 10000)
	rand.Read(data)
	r := do(t, "PUT new file", "PUT", box+"f.bin", auth("Content-Type", "image/png"), data)
	r.must(201)
	etag := r.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"1-`) {
		r.fail("ETag %q, want \"1-<updated>\"", etag)
	}
	r = do(t, "GET file", "GET", box+"f.bin", auth(), nil)
	if r.ok(200) {
		r.contentType("image/png")
		r.header("ETag", etag)
		r.header("Accept-Ranges", "bytes")
		if !bytes.Equal(r.Body, data) {
			r.fail("body differs from what was PUT")
		}
	}
	do(t, "GET with If-None-Match", "GET", box+"f.bin", auth("If-None-Match", etag), nil).must(304)
	r = do(t, "GET a range", "GET", box+"f.bin", auth("Range", "bytes=100-199"), nil)
	if r.ok(206) {
		r.header("Content-Range", "bytes 100-199/10000")
		if !bytes.Equal(r.Body, data[100:200]) {
			r.fail("range body differs")
		}
	}
	do(t, "GET an unsatisfiable range", "GET", box+"f.bin", auth("Range", "bytes=20000-"), nil).wantError(416, "PR416-DV-0001")
	do(t, "PUT with a stale If-Match", "PUT", box+"f.bin", auth("If-Match", `"9-9"`), "x").wantError(412, "PR412-DV-0001")
	r = do(t, "PUT update", "PUT", box+"f.bin", auth("If-Match", etag), "new")
	if r.ok(204) && r.Header.Get("ETag") == etag {
		r.fail("the ETag did not change")
	}
	do(t, "PUT without parent", "PUT", box+"no/f", auth(), "x").wantError(409, "PR409-DV-0001")
	do(t, "GET a missing file", "GET", box+"missing", auth(), nil).wantError(404, "PR404-DV-0001")
	do(t, "DELETE file", "DELETE", box+"f.bin", auth(), nil).must(204)
	do(t, "GET deleted file", "GET", box+"f.bin", auth(), nil).wantError(404, "PR404-DV-0001")
}

// TestDavCollections: MKCOL and its errors, DELETE of a non-empty
// collection, service collections (rs/box/DavCollectionResource.java,
// NullResource.java; apiref 306, 312, 380).
func TestDavCollections(t *testing.T) {
	box := newBox(t, "davcol")
	do(t, "MKCOL", "MKCOL", box+"col", auth(), nil).must(201)
	do(t, "MKCOL again", "MKCOL", box+"col", auth(), nil).wantError(405, "PR405-DV-0001")
	do(t, "MKCOL without parent", "MKCOL", box+"a/b", auth(), nil).wantError(409, "PR409-DV-0001")
	do(t, "PUT on a collection", "PUT", box+"col", auth(), "x").wantError(400, "PR400-DV-0012")
	do(t, "PUT in collection", "PUT", box+"col/f", auth(), "x").must(201)
	do(t, "DELETE non-empty collection", "DELETE", box+"col", auth(), nil).wantError(403, "PR403-DV-0003")
	do(t, "DELETE recursively", "DELETE", box+"col", auth("X-Personium-Recursive", "true"), nil).must(204)
	svc := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:service/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL service collection", "MKCOL", box+"svc", auth("Content-Type", "application/xml"), svc).must(201)
	r := do(t, "PROPFIND service collection", "PROPFIND", box+"svc", auth("Depth", "1"), nil)
	if r.ok(207) && (!strings.Contains(string(r.Body), "<p:service") || !strings.Contains(string(r.Body), "<href>"+box+"svc/__src</href>")) {
		r.fail("want a p:service resourcetype and the __src child")
	}
	do(t, "MKCOL under __src", "MKCOL", box+"svc/__src/x", auth(), nil).wantError(400, "PR400-DV-0018")
	do(t, "PUT a script", "PUT", box+"svc/__src/hello.js", auth("Content-Type", "text/javascript"), "function(r){}").must(201)
	bad := `<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype/></D:prop></D:set></D:mkcol>`
	r = do(t, "MKCOL without DAV:collection", "MKCOL", box+"bad", auth("Content-Type", "application/xml"), bad)
	if r.ok(403) && !strings.Contains(string(r.Body), "valid-resourcetype") {
		r.fail("want a mkcol-response with DAV:valid-resourcetype")
	}
}

// TestDavProperties: PROPFIND (Depth 0/1, the live properties, the ACL
// with xml:base) and PROPPATCH (model/DavRsCmp.java; apiref 310-311, 315).
func TestDavProperties(t *testing.T) {
	box := newBox(t, "davprop")
	do(t, "MKCOL", "MKCOL", box+"col", auth(), nil).must(201)
	do(t, "PUT", "PUT", box+"col/f.txt", auth("Content-Type", "text/plain"), "hello").must(201)
	r := do(t, "PROPFIND Depth 1", "PROPFIND", box+"col", auth("Depth", "1"), nil)
	if r.ok(207) {
		r.contentType("application/xml")
		for _, want := range []string{"<href>" + box + "col</href>", "<href>" + box + "col/f.txt</href>",
			"<getcontentlength>5</getcontentlength>", "<getcontenttype>text/plain</getcontenttype>", "<D:collection", "<creationdate>", "<getlastmodified>"} {
			if !strings.Contains(string(r.Body), want) {
				r.fail("multistatus lacks %s", want)
			}
		}
	}
	do(t, "PROPFIND Depth infinity", "PROPFIND", box+"col", auth("Depth", "infinity"), nil).wantError(403, "PR403-DV-0001")
	do(t, "PROPFIND bad Depth", "PROPFIND", box+"col", auth("Depth", "2"), nil).wantError(400, "PR400-DV-0003")
	patch := `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://www.w3.com/standards/z39.50/"><D:set><D:prop><Z:Authors><Z:Author>Jim Whitehead</Z:Author></Z:Authors></D:prop></D:set></D:propertyupdate>`
	do(t, "PROPPATCH", "PROPPATCH", box+"col/f.txt", auth(), patch).must(207)
	r = do(t, "PROPFIND the property", "PROPFIND", box+"col/f.txt", auth("Depth", "0"), nil)
	if r.ok(207) && !strings.Contains(string(r.Body), "Jim Whitehead") {
		r.fail("the dead property is missing")
	}
	acl := `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`
	do(t, "ACL", "ACL", box+"col", auth(), acl).must(200)
	r = do(t, "PROPFIND the ACL", "PROPFIND", box+"col", auth("Depth", "0"), nil)
	base := strings.TrimSuffix(box, "box/") + "__role/box/"
	if r.ok(207) && !strings.Contains(string(r.Body), `xml:base="`+base+`"`) {
		r.fail("the ACL lacks xml:base %s", base)
	}
	do(t, "anonymous GET under an all/read ACL", "GET", box+"col/f.txt", hdr{}, nil).must(200)
	do(t, "anonymous PUT", "PUT", box+"col/f.txt", hdr{}, "x").wantError(401, "PR401-AU-0001")
	do(t, "ACL naming an unknown role", "ACL", box+"col", auth(), strings.Replace(acl, "<D:all/>", "<D:href>ghost</D:href>", 1)).wantError(400, "PR400-DV-0004")
}

// TestDavMove: MOVE and its Personium errors (rs/box/DavMoveResource.java;
// apiref 313).
func TestDavMove(t *testing.T) {
	box := newBox(t, "davmove")
	do(t, "PUT a", "PUT", box+"a", auth(), "A").must(201)
	do(t, "PUT b", "PUT", box+"b", auth(), "B").must(201)
	do(t, "MOVE without Destination", "MOVE", box+"a", auth(), nil).wantError(400, "PR400-DV-0010")
	do(t, "MOVE onto itself", "MOVE", box+"a", auth("Destination", box+"a"), nil).wantError(403, "PR403-DV-0005")
	do(t, "MOVE onto existing, Overwrite absent (F)", "MOVE", box+"a", auth("Destination", box+"b"), nil).wantError(412, "PR412-DV-0002")
	do(t, "MOVE onto existing, Overwrite T", "MOVE", box+"a", auth("Destination", box+"b", "Overwrite", "T"), nil).must(204)
	r := do(t, "GET moved", "GET", box+"b", auth(), nil)
	if r.ok(200) && string(r.Body) != "A" {
		r.fail("body %q, want A", r.Body)
	}
	do(t, "MOVE to a new name", "MOVE", box+"b", auth("Destination", box+"c"), nil).must(201)
	do(t, "MOVE into a file", "MOVE", box+"c", auth("Destination", box+"c/d"), nil).wantError(403, "PR403-DV-0005")
	odata := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL OData collection", "MKCOL", box+"od", auth("Content-Type", "application/xml"), odata).must(201)
	do(t, "MOVE into an OData collection", "MOVE", box+"c", auth("Destination", box+"od/c"), nil).wantError(400, "PR400-DV-0013")
	do(t, "MOVE the box", "MOVE", box, auth("Destination", box+"x/"), nil).wantError(400, "PR400-DV-0015")
}

// TestDavContentGarbageCollected: deleting a file gives its space back
// (the server this suite starts collects garbage every 200 ms).
func TestDavContentGarbageCollected(t *testing.T) {
	if !ownServer {
		t.Skip("needs the data folder of the server under test")
	}
	if strings.Contains(os.Getenv("COMPAT_SERVE_FLAGS"), "--store") {
		t.Skip("the server keeps file contents elsewhere than <data>/chunks")
	}
	box := newBox(t, "davgc")
	chunks := filepath.Join(dataDir, "chunks")
	size := func() int64 {
		var n int64
		filepath.WalkDir(chunks, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		return n
	}
	data := make([]byte, 3<<20)
	rand.Read(data)
	before := size()
	do(t, "PUT 3 MiB", "PUT", box+"big", auth(), data).must(201)
	grown := size()
	if grown-before < int64(len(data)) {
		t.Fatalf("the chunk store grew by %d bytes for a %d-byte file", grown-before, len(data))
	}
	do(t, "DELETE it", "DELETE", box+"big", auth(), nil).must(204)
	deadline := time.Now().Add(10 * time.Second)
	for size() > before+int64(len(data))/10 {
		if time.Now().After(deadline) {
			t.Fatalf("chunk store still holds %d bytes (%d before the PUT)", size(), before)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(chunks); err != nil {
		t.Fatal(err)
	}
}

// TestDavHeaders: MKCOL and MOVE give the resource's ETag (apiref 306,
// 309), MOVE its Location whether it replaced something or not, and a
// Range header that does not parse is ignored (apiref 311,
// RangeHeaderHandler).
func TestDavHeaders(t *testing.T) {
	box := newBox(t, "davhdr")
	r := do(t, "MKCOL", "MKCOL", box+"col", auth(), nil)
	if r.ok(201) {
		r.headerMatch("ETag", `^(W/)?"[0-9]+-[0-9]+"$`)
	}
	do(t, "PUT a", "PUT", box+"a.txt", auth("Content-Type", "text/plain"), "hello world").must(201)
	do(t, "PUT b", "PUT", box+"b.txt", auth("Content-Type", "text/plain"), "b").must(201)
	r = do(t, "MOVE to a new name", "MOVE", box+"a.txt", auth("Destination", box+"c.txt"), nil)
	if r.ok(201) {
		r.header("Location", box+"c.txt")
		r.headerMatch("ETag", `^(W/)?"[0-9]+-[0-9]+"$`)
	}
	r = do(t, "MOVE over a file", "MOVE", box+"c.txt", auth("Destination", box+"b.txt", "Overwrite", "T"), nil)
	if r.ok(204) {
		r.header("Location", box+"b.txt")
		r.headerMatch("ETag", `^(W/)?"[0-9]+-[0-9]+"$`)
	}
	for _, bad := range []string{"bytes=abc", "bytes=5-2"} {
		r = do(t, "GET with Range "+bad, "GET", box+"b.txt", auth("Range", bad), nil)
		if r.ok(200) && string(r.Body) != "hello world" {
			r.fail("want the whole file")
		}
	}
	do(t, "a range beyond the end", "GET", box+"b.txt", auth("Range", "bytes=100-"), nil).wantError(416, "PR416-DV-0001")

	// A box with a schema takes no Basic authentication, and says so.
	cell := strings.TrimSuffix(strings.TrimSuffix(box, "/"), "box")
	create(t, "app box", cell+"__ctl/Box", map[string]any{"Name": "app", "Schema": "https://hdr-app.example/"}, nil)
	r = do(t, "anonymous in the app box", "GET", cell+"app/x.txt", hdr{}, nil)
	if r.ok(401) {
		if got := r.Header.Values("WWW-Authenticate"); len(got) != 1 || !strings.HasPrefix(got[0], "Bearer ") {
			r.fail("WWW-Authenticate %q, want Bearer only", got)
		}
	}
	r = do(t, "anonymous in a plain box", "GET", box+"b.txt", hdr{}, nil)
	if r.ok(401) && len(r.Header.Values("WWW-Authenticate")) != 2 {
		r.fail("WWW-Authenticate %q, want Bearer and Basic", r.Header.Values("WWW-Authenticate"))
	}

	// PROPPATCH echoes what it set (apiref 308, 313; 291 for the cell).
	patch := `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:color>red</Z:color></D:prop></D:set></D:propertyupdate>`
	r = do(t, "PROPPATCH a file", "PROPPATCH", box+"b.txt", auth("Content-Type", "application/xml"), patch)
	if r.ok(207) && !strings.Contains(string(r.Body), ">red</") {
		r.fail("the value set is not echoed")
	}
	r = do(t, "PROPPATCH the cell", "PROPPATCH", cell, auth("Content-Type", "application/xml"), patch)
	if r.ok(207) && !strings.Contains(string(r.Body), ">red</") {
		r.fail("the value set is not echoed")
	}
}

// TestDavBadTokenOnPublic: a token that is not good (garbage, expired)
// still reads what anyone may read, since the ACLs are checked first
// (Personium DavRsCmp.checkAccessContext); elsewhere it gets its 401,
// also for what does not exist.
func TestDavBadTokenOnPublic(t *testing.T) {
	box := newBox(t, "davpub")
	do(t, "MKCOL pub", "MKCOL", box+"pub", auth(), nil).must(201)
	do(t, "MKCOL private", "MKCOL", box+"private", auth(), nil).must(201)
	acl := `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`
	do(t, "ACL pub: all may read", "ACL", box+"pub", auth(), acl).must(200)
	do(t, "PUT public file", "PUT", box+"pub/index.html", auth("Content-Type", "text/html"), "<p>hi</p>").must(201)
	do(t, "PUT private file", "PUT", box+"private/secret.txt", auth("Content-Type", "text/plain"), "s").must(201)
	bad := hdr{"Authorization": "Bearer AR~garbage"}
	r := do(t, "public file with a bad token", "GET", box+"pub/index.html", bad, nil)
	if r.ok(200) && string(r.Body) != "<p>hi</p>" {
		r.fail("wrong body")
	}
	do(t, "private file with a bad token", "GET", box+"private/secret.txt", bad, nil).wantError(401, "PR401-AU-0006")
	// Where anyone may read, anyone may learn that nothing is there;
	// elsewhere not (Personium NullResource checks the ACL first).
	do(t, "missing public file with a bad token", "GET", box+"pub/nothing.html", bad, nil).wantError(404, "PR404-DV-0001")
	do(t, "missing private file with a bad token", "GET", box+"private/nothing.txt", bad, nil).wantError(401, "PR401-AU-0006")
	do(t, "missing private file, anonymous", "GET", box+"private/nothing.txt", hdr{}, nil).wantError(401, "PR401-AU-0001")
	do(t, "writing the public folder with a bad token", "PUT", box+"pub/x.txt", bad, "x").wantError(401, "PR401-AU-0006")
}
