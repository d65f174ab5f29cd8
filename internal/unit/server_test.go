package unit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	_ "github.com/personium-go/personium/internal/metastore/sqlite"
	"github.com/personium-go/personium/internal/unit"
)

const master = "test-master-token"

type env struct {
	t     *testing.T
	srv   *httptest.Server
	url   string
	store metastore.Store
	cells *cell.Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := metastore.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cells := cell.NewManager(store)
	if err := cells.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, cells: cells}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.url = e.srv.URL + "/"
	s, err := unit.New(unit.Config{UnitURL: e.url, MasterToken: master, Cells: cells})
	if err != nil {
		t.Fatal(err)
	}
	h = s
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r *resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, r.body)
	}
	return m
}

func (e *env) do(method, path, body string, hdr ...string) *resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+master)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

func (e *env) must(status int, method, path, body string, hdr ...string) *resp {
	e.t.Helper()
	r := e.do(method, path, body, hdr...)
	if r.status != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	return r
}

func errCode(t *testing.T, r *resp) string {
	t.Helper()
	m := r.json(t)
	code, _ := m["code"].(string)
	msg, _ := m["message"].(map[string]any)
	if msg["lang"] != "en" || msg["value"] == "" {
		t.Errorf("error body without message: %s", r.body)
	}
	return code
}

func TestCrossCuttingHeaders(t *testing.T) {
	e := newEnv(t)
	r := e.must(200, "GET", "", "", "Authorization", "")
	if r.header.Get("X-Personium-Version") == "" {
		t.Error("no X-Personium-Version")
	}
	if u := r.json(t)["unit"].(map[string]any)["url"]; u != e.url {
		t.Errorf("unit url %v, want %s", u, e.url)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Error("CORS headers without Origin")
	}
	r = e.must(200, "OPTIONS", "cellx/__ctl/Account", "", "Authorization", "", "Origin", "https://app.example",
		"Access-Control-Request-Headers", "Authorization, X-Personium-Credential")
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Max-Age":           "86400",
		"Access-Control-Allow-Headers":     "Authorization, X-Personium-Credential",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Personium-Version") ||
		!strings.Contains(r.header.Get("Allow"), "PROPFIND") {
		t.Errorf("OPTIONS headers: %v", r.header)
	}
}

func TestAuthRequired(t *testing.T) {
	e := newEnv(t)
	r := e.must(401, "GET", "__ctl/Cell", "", "Authorization", "")
	if code := errCode(t, r); code != "PR401-AU-0001" {
		t.Errorf("code %s", code)
	}
	if len(r.header.Values("WWW-Authenticate")) == 0 {
		t.Error("401 without WWW-Authenticate")
	}
	r = e.must(401, "POST", "__ctl/Cell", `{"Name":"x"}`, "Authorization", "", "Authorization", "Bearer wrong")
	if strings.Contains(string(r.body), "wrong") {
		t.Errorf("error echoes the token: %s", r.body)
	}
	e.must(404, "GET", "__ctl/Cell('x')", "")
}

func TestCellLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.must(201, "POST", "__ctl/Cell", `{"Name":"alice"}`)
	if loc := r.header.Get("Location"); loc != e.url+"__ctl/Cell('alice')" {
		t.Errorf("Location %q", loc)
	}
	res := r.json(t)["d"].(map[string]any)["results"].(map[string]any)
	md := res["__metadata"].(map[string]any)
	if md["type"] != "UnitCtl.Cell" || md["etag"] != r.header.Get("ETag") || !strings.HasPrefix(res["__published"].(string), "/Date(") {
		t.Errorf("entity %v", res)
	}
	e.must(409, "POST", "__ctl/Cell", `{"Name":"alice"}`)
	if code := errCode(t, e.must(400, "POST", "__ctl/Cell", `{"Name":"Bad_Name"}`)); code != "PR400-OD-0006" {
		t.Errorf("bad name code %s", code)
	}
	e.must(200, "GET", "alice", "", "Accept", "application/json")
	x := e.must(200, "GET", "alice/", "", "Accept", "application/xml")
	if !strings.Contains(string(x.body), "<ctl>"+e.url+"alice/__ctl/</ctl>") {
		t.Errorf("xml %s", x.body)
	}
	e.must(201, "POST", "alice/__ctl/Box", `{"Name":"box1"}`)
	// A cell with contents cannot be deleted as an entity…
	e.must(409, "DELETE", "__ctl/Cell('alice')", "")
	// …but recursively, with the header exactly "true".
	if code := errCode(t, e.must(412, "DELETE", "alice", "")); code != "PR412-MC-0001" {
		t.Errorf("code %s", code)
	}
	e.must(204, "DELETE", "alice", "", "X-Personium-Recursive", "true")
	e.must(404, "GET", "alice/__ctl/Box", "")
	e.must(404, "GET", "__ctl/Cell('alice')", "")
	// Nothing of the cell is left in the store.
	res2, err := e.store.Query(context.Background(), &metastore.Query{AnyKind: true, AnyParent: true, Cell: "", Limit: -1})
	if err != nil || len(res2.Docs) != 0 {
		t.Errorf("left behind: %v %v", res2, err)
	}
}

func TestAccountPasswordNeverReturned(t *testing.T) {
	e := newEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"bob"}`)
	r := e.must(201, "POST", "bob/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	res := r.json(t)["d"].(map[string]any)["results"].(map[string]any)
	if res["Type"] != "basic" || res["Status"] != "active" {
		t.Errorf("defaults: %v", res)
	}
	for _, path := range []string{"bob/__ctl/Account('me')", "bob/__ctl/Account", "bob/__ctl/Account?q=scrypt"} {
		b := string(e.must(200, "GET", path, "").body)
		if strings.Contains(b, "password1") || strings.Contains(b, "scrypt") || strings.Contains(b, "hash") {
			t.Errorf("%s leaks the credential: %s", path, b)
		}
	}
	// A bad password is refused and creates nothing.
	e.must(400, "POST", "bob/__ctl/Account", `{"Name":"you"}`, "X-Personium-Credential", "short")
	e.must(404, "GET", "bob/__ctl/Account('you')", "")
}

func TestMethodOverrideAndMerge(t *testing.T) {
	e := newEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c1"}`)
	r := e.must(201, "POST", "c1/__ctl/Account", `{"Name":"a","IPAddressRange":"10.0.0.0/8"}`)
	etag := r.header.Get("ETag")
	e.must(204, "POST", "c1/__ctl/Account('a')", `{"Status":"deactivated"}`, "X-HTTP-Method-Override", "MERGE", "If-Match", etag)
	got := e.must(200, "GET", "c1/__ctl/Account('a')", "").json(t)["d"].(map[string]any)["results"].(map[string]any)
	if got["Status"] != "deactivated" || got["IPAddressRange"] != "10.0.0.0/8" {
		t.Errorf("after MERGE: %v", got)
	}
	if code := errCode(t, e.must(412, "PUT", "c1/__ctl/Account('a')", `{"Name":"a"}`, "If-Match", etag)); code != "PR412-OD-0002" {
		t.Errorf("code %s", code)
	}
	// X-Override replaces a header.
	e.must(401, "GET", "c1/__ctl/Account", "", "X-Override", "Authorization: Bearer nope")
}

func TestBoxRenameCarriesRoles(t *testing.T) {
	e := newEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c2"}`)
	e.must(201, "POST", "c2/__ctl/Box", `{"Name":"b1","Schema":"https://app.example/"}`)
	e.must(409, "POST", "c2/__ctl/Box", `{"Name":"b2","Schema":"https://app.example/"}`)
	e.must(201, "POST", "c2/__ctl/Role", `{"Name":"r1","_Box.Name":"b1"}`)
	e.must(201, "POST", "c2/__ctl/Role", `{"Name":"r1"}`)
	e.must(400, "POST", "c2/__ctl/Role", `{"Name":"r2","_Box.Name":"nobox"}`)
	e.must(201, "POST", "c2/__ctl/Account", `{"Name":"acc"}`)
	e.must(204, "POST", "c2/__ctl/Account('acc')/$links/_Role", `{"uri":"`+e.url+`c2/__ctl/Role(Name='r1',_Box.Name='b1')"}`)
	e.must(409, "POST", "c2/__ctl/Account('acc')/$links/_Role", `{"uri":"`+e.url+`c2/__ctl/Role(Name='r1',_Box.Name='b1')"}`)
	e.must(204, "PUT", "c2/__ctl/Box('b1')", `{"Name":"b9","Schema":"https://app.example/"}`)
	e.must(200, "GET", "c2/__ctl/Role(Name='r1',_Box.Name='b9')", "")
	e.must(404, "GET", "c2/__ctl/Role(Name='r1',_Box.Name='b1')", "")
	links := e.must(200, "GET", "c2/__ctl/Account('acc')/$links/_Role", "").json(t)
	rs := links["d"].(map[string]any)["results"].([]any)
	if len(rs) != 1 || rs[0].(map[string]any)["uri"] != e.url+"c2/__ctl/Role(Name='r1',_Box.Name='b9')" {
		t.Errorf("links after rename: %v", links)
	}
	roles := e.must(200, "GET", "c2/__ctl/Box('b9')/_Role", "").json(t)["d"].(map[string]any)["results"].([]any)
	if len(roles) != 1 {
		t.Errorf("roles via navprop: %v", roles)
	}
	// A box that roles belong to cannot go; N:N links go with their entity.
	e.must(409, "DELETE", "c2/__ctl/Box('b9')", "")
	e.must(204, "DELETE", "c2/__ctl/Account('acc')/$links/_Role(Name='r1',_Box.Name='b9')", "")
	e.must(404, "DELETE", "c2/__ctl/Account('acc')/$links/_Role(Name='r1',_Box.Name='b9')", "")
	e.must(204, "POST", "c2/__ctl/Role(Name='r1',_Box.Name='b9')/$links/_Account", `{"uri":"`+e.url+`c2/__ctl/Account('acc')"}`)
	e.must(204, "DELETE", "c2/__ctl/Account('acc')", "")
	accs := e.must(200, "GET", "c2/__ctl/Role(Name='r1',_Box.Name='b9')/_Account", "").json(t)["d"].(map[string]any)["results"].([]any)
	if len(accs) != 0 {
		t.Errorf("link survived its account: %v", accs)
	}
	res, err := e.store.Query(context.Background(), &metastore.Query{Kind: "Link", AnyParent: true, Cell: "", Limit: -1})
	if err != nil || len(res.Docs) != 0 {
		t.Errorf("unit-level links: %v %v", res, err)
	}
}

func TestExtCellKeysAreEncodedInURIs(t *testing.T) {
	e := newEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c3"}`)
	r := e.must(201, "POST", "c3/__ctl/ExtCell", `{"Url":"https://other.example/cell/"}`)
	want := e.url + "c3/__ctl/ExtCell('https%3A%2F%2Fother.example%2Fcell%2F')"
	if loc := r.header.Get("Location"); loc != want {
		t.Errorf("Location %q, want %q", loc, want)
	}
	e.must(200, "GET", "c3/__ctl/ExtCell('https%3A%2F%2Fother.example%2Fcell%2F')", "")
	e.must(201, "POST", "c3/__ctl/Role", `{"Name":"friend"}`)
	e.must(204, "POST", "c3/__ctl/Role('friend')/$links/_ExtCell", `{"uri":"`+want+`"}`)
	got := e.must(200, "GET", "c3/__ctl/Role('friend')/$links/_ExtCell", "").json(t)
	if rs := got["d"].(map[string]any)["results"].([]any); len(rs) != 1 || rs[0].(map[string]any)["uri"] != want {
		t.Errorf("links %v", got)
	}
	e.must(400, "POST", "c3/__ctl/ExtCell", `{"Url":"https://other.example/cell"}`)
}

func TestCellOwnerRecorded(t *testing.T) {
	e := newEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"owned"}`, "X-Personium-Unit-User", "https://unit.example/admin/#alice")
	e.must(201, "POST", "__ctl/Cell", `{"Name":"plain"}`)
	c, err := e.cells.Get(context.Background(), "owned")
	if err != nil || c.Owner != "https://unit.example/admin/#alice" {
		t.Errorf("owner: %+v %v", c, err)
	}
	if c, _ := e.cells.Get(context.Background(), "plain"); c == nil || c.Owner != "" {
		t.Errorf("plain cell owner: %+v", c)
	}
	// The owner is not an exposed property, and a rename keeps it.
	b := e.must(200, "GET", "__ctl/Cell('owned')", "").body
	if strings.Contains(string(b), "alice") {
		t.Errorf("owner exposed: %s", b)
	}
	e.must(204, "PUT", "__ctl/Cell('owned')", `{"Name":"owned2"}`)
	if c, err := e.cells.Get(context.Background(), "owned2"); err != nil || c.Owner != "https://unit.example/admin/#alice" {
		t.Errorf("owner after rename: %+v %v", c, err)
	}
	e.must(400, "PUT", "__ctl/Cell('owned2')", `{"Name":"x","__owner":"https://evil.example/#x"}`)
}

// TestCreateThroughToOneNavigation: POST Role('r')/_Box creates the box
// and points the role at it, in one batch.
func TestCreateThroughToOneNavigation(t *testing.T) {
	e := newEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"r"}`)
	e.must(201, "POST", "c/__ctl/Role('r')/_Box", `{"Name":"nb"}`)
	e.must(200, "GET", "c/__ctl/Role(Name='r',_Box.Name='nb')", "")
	e.must(200, "GET", "c/__ctl/Box('nb')", "")
	// A second box for the same role: the role is taken.
	e.must(409, "POST", "c/__ctl/Role(Name='r',_Box.Name='nb')/_Box", `{"Name":"nb2"}`)
	e.must(404, "GET", "c/__ctl/Box('nb2')", "")
}
