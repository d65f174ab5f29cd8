package dav_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/dav/lock"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/metastore/sqlite"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// memStore is an in-memory swarm.Store.
type memStore struct {
	mu     sync.Mutex
	chunks map[[swarm.HashSize]byte][]byte
}

func (m *memStore) Put(_ context.Context, addr [swarm.HashSize]byte, chunk []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.chunks[addr] = bytes.Clone(chunk)
	return nil
}

func (m *memStore) Get(_ context.Context, addr [swarm.HashSize]byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chunks[addr]
	if !ok {
		return nil, perr.Errorf(perr.NotExist, "no chunk")
	}
	return c, nil
}

// access grants what its privileges say, to everyone.
type access struct {
	mu    sync.Mutex
	privs map[pds.Privilege]bool // nil: everything
}

func (a *access) Check(_ context.Context, chain []*acl.ACL, want pds.Privilege) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.privs == nil || a.privs[want] {
		return nil
	}
	for _, c := range chain {
		if acl.Can(acl.BoxLevel, acl.Requester{}, want, c) {
			return nil
		}
	}
	return perr.New("PR403-AU-0002")
}

func (a *access) Privileges(_ context.Context, chain []*acl.ACL) []pds.Privilege {
	return acl.Expand(acl.BoxLevel, []pds.Privilege{acl.All})
}

func (a *access) CheckPrincipals(context.Context, *acl.ACL) error { return nil }

func (a *access) set(privs ...pds.Privilege) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.privs = map[pds.Privilege]bool{}
	for _, p := range privs {
		a.privs[p] = true
	}
}

type env struct {
	t       *testing.T
	url     string // box URL, ending in /
	meta    metastore.Store
	content *memStore
	acc     *access
	who     string
}

func newEnv(t *testing.T, encrypt bool) *env {
	t.Helper()
	meta, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	e := &env{t: t, meta: meta, content: &memStore{chunks: map[[swarm.HashSize]byte][]byte{}}, acc: &access{}}
	h := dav.New(dav.Config{Meta: meta, Content: e.content, Encrypt: encrypt, Locks: &lock.Manager{Store: meta}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.EscapedPath(), "/cell/box/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.ServeBox(w, r, &dav.Box{Cell: "c1", Root: "root1", URL: e.url, RoleBase: e.url[:len(e.url)-len("cell/box/")] + "cell/__role/box/",
			Access: e.acc, Principal: e.who, PlainClient: r.Header.Get("X-Test-Plain") != ""}, path)
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL + "/cell/box/"
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(method, path string, body io.Reader, hdr ...string) *resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) want(r *resp, status int, code string) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if code != "" && !bytes.Contains(r.body, []byte(`"`+code+`"`)) {
		e.t.Fatalf("body %s, want code %s", r.body, code)
	}
}

func TestPutGetRangeETag(t *testing.T) {
	for _, enc := range []bool{false, true} {
		e := newEnv(t, enc)
		data := make([]byte, 3*swarm.ChunkSize+17)
		rand.Read(data)
		r := e.do("PUT", "f.bin", bytes.NewReader(data), "Content-Type", "application/x-test")
		e.want(r, http.StatusCreated, "")
		tag := r.header.Get("ETag")
		if !strings.HasPrefix(tag, `"1-`) {
			t.Fatalf("ETag %q", tag)
		}
		r = e.do("GET", "f.bin", nil)
		e.want(r, http.StatusOK, "")
		if !bytes.Equal(r.body, data) || r.header.Get("Content-Type") != "application/x-test" || r.header.Get("ETag") != tag {
			t.Fatalf("GET gave %d bytes, type %q, etag %q", len(r.body), r.header.Get("Content-Type"), r.header.Get("ETag"))
		}
		r = e.do("GET", "f.bin", nil, "Range", "bytes=4090-8200")
		e.want(r, http.StatusPartialContent, "")
		if !bytes.Equal(r.body, data[4090:8201]) {
			t.Fatal("range body differs")
		}
		e.want(e.do("GET", "f.bin", nil, "Range", "bytes=99999-"), http.StatusRequestedRangeNotSatisfiable, "PR416-DV-0001")
		// A Range header that does not parse is ignored, as Personium's
		// RangeHeaderHandler and RFC 7233 do: the whole file.
		for _, bad := range []string{"bytes=99999999999999999999999-", "bytes=abc", "bytes=5-2", "pages=1-2"} {
			r = e.do("GET", "f.bin", nil, "Range", bad)
			e.want(r, http.StatusOK, "")
			if !bytes.Equal(r.body, data) {
				t.Fatalf("Range %q: %d bytes, want the whole file", bad, len(r.body))
			}
		}
		e.want(e.do("GET", "f.bin", nil, "If-None-Match", tag), http.StatusNotModified, "")
		e.want(e.do("PUT", "f.bin", strings.NewReader("x"), "If-Match", `"9-9"`), http.StatusPreconditionFailed, "PR412-DV-0001")
		r = e.do("PUT", "f.bin", strings.NewReader("new"), "If-Match", tag)
		e.want(r, http.StatusNoContent, "")
		if r.header.Get("ETag") == tag {
			t.Fatal("ETag unchanged by an update")
		}
		if r := e.do("GET", "f.bin", nil); string(r.body) != "new" {
			t.Fatalf("after update: %q", r.body)
		}
		r = e.do("HEAD", "f.bin", nil)
		e.want(r, http.StatusOK, "")
		if r.header.Get("Content-Length") != "3" {
			t.Fatalf("HEAD Content-Length %q", r.header.Get("Content-Length"))
		}
	}
}

func TestCollections(t *testing.T) {
	e := newEnv(t, true)
	e.want(e.do("MKCOL", "a", nil), http.StatusCreated, "")
	e.want(e.do("MKCOL", "a", nil), http.StatusMethodNotAllowed, "PR405-DV-0001")
	e.want(e.do("MKCOL", "x/y", nil), http.StatusConflict, "PR409-DV-0001")
	e.want(e.do("PUT", "x/y", strings.NewReader("1")), http.StatusConflict, "PR409-DV-0001")
	e.want(e.do("PUT", "a", strings.NewReader("1")), http.StatusBadRequest, "PR400-DV-0012")
	e.want(e.do("PUT", "a/f", strings.NewReader("1")), http.StatusCreated, "")
	e.want(e.do("MKCOL", "a/f/g", nil), http.StatusConflict, "PR409-DV-0001")
	e.want(e.do("MKCOL", "b", strings.NewReader("junk"), "Content-Type", "xzy-foo/bar-512"), http.StatusUnsupportedMediaType, "")
	e.want(e.do("DELETE", "a", nil), http.StatusForbidden, "PR403-DV-0003")
	r := e.do("GET", "a/", nil)
	e.want(r, http.StatusOK, "")
	if !strings.Contains(string(r.body), "URL : "+e.url+"a/") {
		t.Fatalf("collection GET: %q", r.body)
	}
	e.want(e.do("DELETE", "a", nil, "X-Personium-Recursive", "true"), http.StatusNoContent, "")
	e.want(e.do("GET", "a/f", nil), http.StatusNotFound, "PR404-DV-0001")
	e.want(e.do("DELETE", "a", nil), http.StatusNotFound, "PR404-DV-0001")

	// Service collections get __src; nothing but files may go inside it.
	svc := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:service/></D:resourcetype></D:prop></D:set></D:mkcol>`
	e.want(e.do("MKCOL", "svc", strings.NewReader(svc), "Content-Type", "application/xml"), http.StatusCreated, "")
	e.want(e.do("PUT", "svc/__src/hello.js", strings.NewReader("function(r){}")), http.StatusCreated, "")
	e.want(e.do("MKCOL", "svc/__src/sub", nil), http.StatusBadRequest, "PR400-DV-0018")
	e.want(e.do("MOVE", "svc/__src", nil, "Destination", e.url+"src2"), http.StatusBadRequest, "PR400-DV-0011")
	odata := strings.Replace(svc, "p:service", "p:odata", 1)
	e.want(e.do("MKCOL", "od", strings.NewReader(odata), "Content-Type", "application/xml"), http.StatusCreated, "")
	e.want(e.do("PUT", "f2", strings.NewReader("x")), http.StatusCreated, "")
	e.want(e.do("MOVE", "f2", nil, "Destination", e.url+"od/f2"), http.StatusBadRequest, "PR400-DV-0013")
	e.want(e.do("MOVE", "f2", nil, "Destination", e.url+"svc/f2"), http.StatusBadRequest, "PR400-DV-0016")
	e.want(e.do("MOVE", "svc", nil, "Destination", e.url+"f2/x"), http.StatusBadRequest, "PR400-DV-0014")
}

func TestBadPaths(t *testing.T) {
	e := newEnv(t, false)
	e.want(e.do("PUT", "ok", strings.NewReader("1")), http.StatusCreated, "")
	for _, p := range []string{"%2e%2e/x", "a%2Fb", "a%5Cb", "..", "a%00b", "x%0ay", "%ff"} {
		r := e.do("PUT", p, strings.NewReader("1"))
		if r.status < 400 || r.status >= 500 {
			t.Errorf("PUT %s: %d %s", p, r.status, r.body)
		}
	}
	long := strings.Repeat("a", dav.MaxNameBytes+1)
	e.want(e.do("PUT", long, strings.NewReader("1")), http.StatusForbidden, "PR403-DV-0004")
	r := e.do("PROPFIND", "", nil, "Depth", "1")
	e.want(r, http.StatusMultiStatus, "")
	if n := strings.Count(string(r.body), "<response>"); n != 2 {
		t.Fatalf("box holds %d resources after bad PUTs, want root and ok: %s", n, r.body)
	}
}

func TestDepthLimit(t *testing.T) {
	e := newEnv(t, false)
	path := ""
	for i := 0; i < dav.MaxDepthLevel; i++ {
		path += "d/"
		e.want(e.do("MKCOL", path, nil), http.StatusCreated, "")
	}
	e.want(e.do("MKCOL", path+"d", nil), http.StatusBadRequest, "PR400-DV-0008")
	e.want(e.do("PUT", path+"f", strings.NewReader("x")), http.StatusBadRequest, "PR400-DV-0008")
}

func TestPropfindProppatch(t *testing.T) {
	e := newEnv(t, false)
	e.want(e.do("PUT", "f", strings.NewReader("hello")), http.StatusCreated, "")
	patch := `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:z="http://example.com/z"><D:set><D:prop><z:color>red<z:x a="1"/></z:color></D:prop></D:set></D:propertyupdate>`
	e.want(e.do("PROPPATCH", "f", strings.NewReader(patch)), http.StatusMultiStatus, "")
	r := e.do("PROPFIND", "f", nil, "Depth", "0")
	e.want(r, http.StatusMultiStatus, "")
	for _, want := range []string{"<getcontentlength>5</getcontentlength>", "red<z:x", "<supportedlock>", "current-user-privilege-set"} {
		if !strings.Contains(strings.ReplaceAll(string(r.body), "ns0:", "z:"), want) {
			t.Fatalf("PROPFIND lacks %q: %s", want, r.body)
		}
	}
	bad := `<D:propertyupdate xmlns:D="DAV:" xmlns:z="http://example.com/z"><D:set><D:prop><D:getetag>x</D:getetag><z:y>1</z:y></D:prop></D:set></D:propertyupdate>`
	r = e.do("PROPPATCH", "f", strings.NewReader(bad))
	e.want(r, http.StatusMultiStatus, "")
	if !strings.Contains(string(r.body), "403") || !strings.Contains(string(r.body), "424") {
		t.Fatalf("protected property patch: %s", r.body)
	}
	if r := e.do("PROPFIND", "f", nil, "Depth", "0"); strings.Contains(string(r.body), ">1</") {
		t.Fatalf("a failed PROPPATCH changed something: %s", r.body)
	}
	e.want(e.do("PROPFIND", "f", nil), http.StatusForbidden, "PR403-DV-0001")
	e.want(e.do("PROPFIND", "f", nil, "Depth", "2"), http.StatusBadRequest, "PR400-DV-0003")
	dtd := `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><a>&e;</a></D:prop></D:set></D:propertyupdate>`
	e.want(e.do("PROPPATCH", "f", strings.NewReader(dtd)), http.StatusBadRequest, "PR400-DV-0001")
}

func TestACLInheritance(t *testing.T) {
	e := newEnv(t, false)
	e.want(e.do("MKCOL", "a", nil), http.StatusCreated, "")
	e.want(e.do("PUT", "a/f", strings.NewReader("x")), http.StatusCreated, "")
	body := `<D:acl xmlns:D="DAV:"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`
	e.want(e.do("ACL", "a", strings.NewReader(body)), http.StatusOK, "")
	r := e.do("PROPFIND", "a/f", nil, "Depth", "0")
	if !strings.Contains(string(r.body), "<D:inherited><D:href>"+e.url+"a</D:href></D:inherited>") {
		t.Fatalf("inherited ACE missing: %s", r.body)
	}
	e.acc.set() // nothing but what the ACLs grant
	e.want(e.do("GET", "a/f", nil), http.StatusOK, "")
	e.want(e.do("PUT", "a/f", strings.NewReader("y")), http.StatusForbidden, "PR403-AU-0002")
	e.want(e.do("DELETE", "a/f", nil), http.StatusForbidden, "PR403-AU-0002")
	e.want(e.do("PROPFIND", "a/f", nil, "Depth", "0"), http.StatusMultiStatus, "") // read implies read-properties
	e.want(e.do("PROPFIND", "", nil, "Depth", "0"), http.StatusForbidden, "PR403-AU-0002")
	e.acc.set(acl.ReadProperties)
	r = e.do("PROPFIND", "a/f", nil, "Depth", "0")
	e.want(r, http.StatusMultiStatus, "")
	if strings.Contains(string(r.body), "<D:acl") {
		t.Fatalf("ACL shown without read-acl: %s", r.body)
	}
}

func TestMoveCopy(t *testing.T) {
	e := newEnv(t, true)
	e.want(e.do("MKCOL", "a", nil), http.StatusCreated, "")
	e.want(e.do("PUT", "a/f", strings.NewReader("one")), http.StatusCreated, "")
	e.want(e.do("MOVE", "a/f", nil), http.StatusBadRequest, "PR400-DV-0010")
	e.want(e.do("MOVE", "a/f", nil, "Destination", e.url+"a/f"), http.StatusForbidden, "PR403-DV-0005")
	e.want(e.do("MOVE", "a", nil, "Destination", e.url+"a/sub"), http.StatusForbidden, "PR403-DV-0005")
	e.want(e.do("COPY", "a", nil, "Destination", e.url+"b"), http.StatusCreated, "")
	e.want(e.do("PUT", "a/f", strings.NewReader("two")), http.StatusNoContent, "")
	if r := e.do("GET", "b/f", nil); string(r.body) != "one" {
		t.Fatalf("copy changed with its source: %q", r.body)
	}
	e.want(e.do("MOVE", "a/f", nil, "Destination", e.url+"b/f"), http.StatusPreconditionFailed, "PR412-DV-0002")
	e.want(e.do("MOVE", "a/f", nil, "Destination", e.url+"b/f", "Overwrite", "T"), http.StatusNoContent, "")
	if r := e.do("GET", "b/f", nil); string(r.body) != "two" {
		t.Fatalf("after MOVE: %q", r.body)
	}
	e.want(e.do("GET", "a/f", nil), http.StatusNotFound, "")
	e.want(e.do("MOVE", "b", nil, "Destination", e.url+"c"), http.StatusCreated, "")
	if r := e.do("GET", "c/f", nil); string(r.body) != "two" {
		t.Fatalf("after collection MOVE: %q", r.body)
	}
	e.want(e.do("COPY", "c", nil, "Destination", e.url+"d", "Depth", "0"), http.StatusCreated, "")
	e.want(e.do("GET", "d/f", nil), http.StatusNotFound, "")
	e.want(e.do("MOVE", "c", nil, "Destination", "http://elsewhere.example/cell/box2/c"), http.StatusBadRequest, "PR400-DV-0009")
	e.want(e.do("MOVE", "c", nil, "Destination", "http://elsewhere.example/cell/box/c2"), http.StatusBadRequest, "PR400-DV-0009")
	e.want(e.do("MOVE", "c", nil, "Destination", "/cell/box/c2"), http.StatusCreated, "")
}

// failingReader returns n bytes, then an error, as a client that goes
// away mid-upload.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'z'
	}
	f.n -= k
	return k, nil
}

func TestInterruptedPutKeepsOldContent(t *testing.T) {
	e := newEnv(t, true)
	e.want(e.do("PUT", "f", strings.NewReader("previous")), http.StatusCreated, "")
	req, _ := http.NewRequest("PUT", e.url+"f", &failingReader{n: 3 * swarm.ChunkSize})
	req.ContentLength = 10 * swarm.ChunkSize
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		if res.StatusCode < 400 {
			t.Fatalf("interrupted PUT answered %d", res.StatusCode)
		}
	}
	if r := e.do("GET", "f", nil); string(r.body) != "previous" {
		t.Fatalf("after an interrupted PUT: %q", r.body)
	}
}

func TestLocks(t *testing.T) {
	e := newEnv(t, false)
	e.who = "alice"
	e.want(e.do("PUT", "f", strings.NewReader("x")), http.StatusCreated, "")
	info := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>`
	r := e.do("LOCK", "f", strings.NewReader(info), "Content-Type", "application/xml", "Timeout", "Second-600")
	e.want(r, http.StatusOK, "")
	tok := strings.Trim(r.header.Get("Lock-Token"), "<>")
	if tok == "" || !strings.Contains(string(r.body), "lockdiscovery") {
		t.Fatalf("LOCK: token %q body %s", tok, r.body)
	}
	e.want(e.do("PUT", "f", strings.NewReader("y")), http.StatusLocked, "")
	e.want(e.do("DELETE", "f", nil), http.StatusLocked, "")
	e.want(e.do("LOCK", "f", strings.NewReader(info), "Content-Type", "application/xml"), http.StatusLocked, "")
	e.want(e.do("PUT", "f", strings.NewReader("y"), "If", "(<"+tok+">)"), http.StatusNoContent, "")
	e.want(e.do("PUT", "f", strings.NewReader("y"), "If", "(<urn:uuid:00000000-0000-0000-0000-000000000000>)"), http.StatusPreconditionFailed, "")
	r = e.do("LOCK", "f", nil, "If", "(<"+tok+">)", "Timeout", "Second-100")
	e.want(r, http.StatusOK, "")
	// Another principal holding the token may not use it.
	e.who = "mallory"
	e.want(e.do("PUT", "f", strings.NewReader("z"), "If", "(<"+tok+">)"), http.StatusLocked, "")
	e.want(e.do("UNLOCK", "f", nil, "Lock-Token", "<"+tok+">"), http.StatusForbidden, "")
	e.who = "alice"
	e.want(e.do("UNLOCK", "f", nil, "Lock-Token", "<"+tok+">"), http.StatusNoContent, "")
	e.want(e.do("PUT", "f", strings.NewReader("z")), http.StatusNoContent, "")
	// A lock on an unmapped URL makes an empty resource.
	r = e.do("LOCK", "new", strings.NewReader(info), "Content-Type", "application/xml")
	e.want(r, http.StatusCreated, "")
	if r := e.do("GET", "new", nil); r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("locked empty resource: %d %q", r.status, r.body)
	}
}

func TestMultistatusIsXML(t *testing.T) {
	e := newEnv(t, false)
	e.want(e.do("MKCOL", "a b", nil), http.StatusCreated, "")
	e.want(e.do("PUT", "a%20b/%E6%97%A5%E6%9C%AC.txt", strings.NewReader("x")), http.StatusCreated, "")
	r := e.do("PROPFIND", "a%20b/", nil, "Depth", "1")
	e.want(r, http.StatusMultiStatus, "")
	var ms struct {
		Responses []struct {
			Href string `xml:"href"`
		} `xml:"response"`
	}
	if err := xml.Unmarshal(r.body, &ms); err != nil {
		t.Fatal(err)
	}
	// A Personium app is given collection URLs without the trailing
	// slash, as Personium writes them; a plain WebDAV client (HTTP Basic)
	// with it (RFC 4918 §8.3).
	if len(ms.Responses) != 2 || ms.Responses[0].Href != e.url+"a%20b" || ms.Responses[1].Href != e.url+"a%20b/%E6%97%A5%E6%9C%AC.txt" {
		t.Fatalf("hrefs: %+v", ms.Responses)
	}
	r = e.do("PROPFIND", "a%20b/", nil, "Depth", "1", "X-Test-Plain", "1")
	ms.Responses = nil
	if err := xml.Unmarshal(r.body, &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms.Responses) != 2 || ms.Responses[0].Href != e.url+"a%20b/" {
		t.Fatalf("hrefs for a plain WebDAV client: %+v", ms.Responses)
	}
}

// SelfVerifying: the in-memory store keeps what it was given, as the
// local store's checksums guarantee; readers need not re-hash.
func (m *memStore) SelfVerifying() bool { return true }

func TestChildLimit(t *testing.T) {
	e := newEnv(t, false)
	e.want(e.do("MKCOL", "full", nil), http.StatusCreated, "")
	for i := 0; i < dav.MaxChildren; i++ {
		e.want(e.do("MKCOL", "full/c"+strconv.Itoa(i), nil), http.StatusCreated, "")
	}
	e.want(e.do("MKCOL", "full/one-more", nil), http.StatusBadRequest, "PR400-DV-0007")
	e.want(e.do("PUT", "full/one-more", strings.NewReader("x")), http.StatusBadRequest, "PR400-DV-0007")
	e.want(e.do("COPY", "full/c0", nil, "Destination", e.url+"full/copy"), http.StatusBadRequest, "PR400-DV-0007")
	e.want(e.do("PUT", "full/c0/inside", strings.NewReader("x")), http.StatusCreated, "")
}
