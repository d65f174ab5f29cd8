package unit_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/dav/lock"
	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/unit"
	"github.com/personium-go/personium/swarm/swarmtest"
)

// clock is an injectable clock for token and lock-out tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// authEnv is a unit with tokens and ACLs switched on.
type authEnv struct {
	*env
	clock *clock
	key   *auth.UnitKey
	trust *auth.TrustStore
	authn *cell.Authn
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	return newAuthEnvWith(t, nil)
}

// newAuthEnvWith lets a test adjust the unit's configuration; issuers
// are cell names of this unit whose tokens make unit users.
func newAuthEnvWith(t *testing.T, issuers []string) *authEnv {
	t.Helper()
	return newAuthEnvConfig(t, issuers, nil)
}

// newAuthEnvConfig also lets a test change the unit's configuration.
func newAuthEnvConfig(t *testing.T, issuers []string, tweak func(*unit.Config)) *authEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := metastore.Open(context.Background(), "sqlite", filepath.Join(dir, "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ck := &clock{now: time.Now()}
	cells := cell.NewManager(store)
	cells.Now = ck.Now
	if err := cells.EnsureIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := &authEnv{env: &env{t: t, store: store, cells: cells}, clock: ck}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.url = e.srv.URL + "/"
	tokenKey, _ := auth.LoadOrCreateTokenKey(dir, rand.Reader)
	sealer, _ := auth.NewSealer(tokenKey)
	e.key, err = auth.LoadOrCreateUnitKey(dir, e.url, rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.trust = &auth.TrustStore{Certs: []*x509.Certificate{e.key.Cert}}
	authn := &cell.Authn{Cells: cells, Sealer: sealer, Key: e.key, Trust: e.trust, UnitURL: e.url, Now: ck.Now}
	e.authn = authn
	var issuerURLs []string
	for _, c := range issuers {
		issuerURLs = append(issuerURLs, e.url+c+"/")
	}
	davh := dav.New(dav.Config{Meta: store, Content: &swarmtest.MemStore{}, Encrypt: true, Locks: &lock.Manager{Store: store}, NewID: cells.NewID})
	cfg := unit.Config{UnitURL: e.url, MasterToken: master, Cells: cells, Authn: authn,
		Authorizer: unit.ACLAuthorizer{Cells: cells}, UnitUserIssuers: issuerURLs, DAV: davh,
		IntrospectUser: "introspector", IntrospectPassword: "intro-secret", EngineTimeout: 500 * time.Millisecond,
		EngineMemory: 256 << 20}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := unit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = s
	return e
}

// post sends a form to a token-like endpoint without the master token.
func (e *env) form(path string, vals url.Values, hdr ...string) *resp {
	e.t.Helper()
	return e.do("POST", path, vals.Encode(), append([]string{"Authorization", "", "Content-Type", "application/x-www-form-urlencoded"}, hdr...)...)
}

// as performs a request with a bearer token instead of the master token.
func (e *env) as(token string, status int, method, path, body string, hdr ...string) *resp {
	e.t.Helper()
	r := e.do(method, path, body, append([]string{"Authorization", "", "Authorization", "Bearer " + token}, hdr...)...)
	if r.status != status {
		e.t.Fatalf("%s %s as token: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	return r
}

func (e *env) login(cellName, user, pw string, extra ...string) map[string]any {
	e.t.Helper()
	v := url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	r := e.form(cellName+"/__token", v)
	if r.status != 200 {
		e.t.Fatalf("login %s/%s: %d %s", cellName, user, r.status, r.body)
	}
	return r.json(e.t)
}

func oauthCode(t *testing.T, r *resp) (string, string) {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("OAuth error body: %s", r.body)
	}
	return m["error"], m["error_description"]
}

func TestPasswordGrantAndTokenLifecycle(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	e.must(200, "ACL", "c", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><p:auth-read/></D:privilege></D:grant></D:ace></D:acl>`)

	tok := e.login("c", "me", "password1")
	at, rt := tok["access_token"].(string), tok["refresh_token"].(string)
	if !strings.HasPrefix(at, "AR~") || !strings.HasPrefix(rt, "RR~") || tok["token_type"] != "Bearer" ||
		tok["expires_in"] != 3600.0 || tok["refresh_token_expires_in"] != 86400.0 || tok["failed_count"] != 0.0 {
		t.Fatalf("token answer %v", tok)
	}
	if v, ok := tok["last_authenticated"]; !ok || v != nil {
		t.Errorf("first login last_authenticated = %v, want null", v)
	}
	e.as(at, 200, "GET", "c/__ctl/Account", "")
	// The ACL gives auth-read, not auth.
	e.as(at, 403, "POST", "c/__ctl/Role", `{"Name":"x"}`)
	if code := errCode(t, e.as(rt, 401, "GET", "c/__ctl/Account", "")); code != "PR401-AU-0007" {
		t.Errorf("refresh as access: %s", code)
	}
	// Any flipped byte is refused.
	for _, i := range []int{1, 5, len(at) / 2, len(at) - 1} {
		b := []byte(at)
		b[i] ^= 1
		e.as(string(b), 401, "GET", "c/__ctl/Account", "")
	}
	// A token is good for its own cell only.
	e.must(201, "POST", "__ctl/Cell", `{"Name":"other"}`)
	e.as(at, 401, "GET", "other/__ctl/Account", "")

	// Refresh gives new tokens.
	r := e.form("c/__token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	at2 := r.json(t)["access_token"].(string)
	e.as(at2, 200, "GET", "c/__ctl/Account", "")
	// An access token is no refresh token.
	r = e.form("c/__token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {at}})
	if code, desc := oauthCode(t, r); r.status != 400 || code != "invalid_grant" || !strings.Contains(desc, "PR400-AN-0013") {
		t.Errorf("access as refresh: %d %s %s", r.status, code, desc)
	}

	// Expiry.
	e.clock.Advance(2 * time.Hour)
	if code := errCode(t, e.as(at, 401, "GET", "c/__ctl/Account", "")); code != "PR401-AU-0002" {
		t.Errorf("expired: %s", code)
	}
	e.clock.Advance(-2 * time.Hour)

	// Deactivating or deleting the account kills its tokens at once.
	e.must(204, "MERGE", "c/__ctl/Account('me')", `{"Status":"deactivated"}`)
	e.as(at, 401, "GET", "c/__ctl/Account", "")
	r = e.form("c/__token", url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}})
	if code, desc := oauthCode(t, r); r.status != 400 || code != "invalid_grant" || desc != "[PR400-AN-0017] - Authentication failed." {
		t.Errorf("deactivated login: %d %s %s", r.status, code, desc)
	}
	e.must(204, "MERGE", "c/__ctl/Account('me')", `{"Status":"active"}`)
	e.as(at, 200, "GET", "c/__ctl/Account", "")
	e.must(204, "DELETE", "c/__ctl/Account('me')", "")
	e.as(at, 401, "GET", "c/__ctl/Account", "")
}

func TestFailedLoginLocksBriefly(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	bad := url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"wrong-pw"}}
	good := url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}}
	if r := e.form("c/__token", bad); r.status != 400 {
		t.Fatalf("bad password: %d", r.status)
	}
	// Within a second of a failure even the right password is refused…
	if r := e.form("c/__token", good); r.status != 400 {
		t.Fatalf("right password during the lock: %d %s", r.status, r.body)
	}
	e.clock.Advance(2 * time.Second)
	tok := e.login("c", "me", "password1")
	if tok["failed_count"] != 2.0 {
		t.Errorf("failed_count %v, want 2", tok["failed_count"])
	}
	e.clock.Advance(time.Minute)
	tok = e.login("c", "me", "password1")
	if tok["failed_count"] != 0.0 || tok["last_authenticated"] == nil {
		t.Errorf("second login: %v", tok)
	}
	// Unknown accounts fail the same way, and nothing echoes the password.
	r := e.form("c/__token", url.Values{"grant_type": {"password"}, "username": {"nobody"}, "password": {"s3cret-x"}})
	if r.status != 400 || strings.Contains(string(r.body), "s3cret") {
		t.Errorf("unknown account: %d %s", r.status, r.body)
	}
	r = e.form("c/__token", url.Values{"grant_type": {"magic"}})
	if code, _ := oauthCode(t, r); code != "unsupported_grant_type" {
		t.Errorf("unknown grant: %s", r.body)
	}
}

func TestPasswordChangeRequiredAndIPRange(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"new","Status":"passwordChangeRequired"}`, "X-Personium-Credential", "initial1")
	r := e.form("c/__token", url.Values{"grant_type": {"password"}, "username": {"new"}, "password": {"initial1"}})
	m := r.json(t)
	ap, _ := m["access_token"].(string)
	if r.status != 401 || !strings.HasPrefix(ap, "AP~") || !strings.Contains(m["error_description"].(string), "PR401-AN-0023") {
		t.Fatalf("password change answer: %d %s", r.status, r.body)
	}
	// Personium's PASSWORD_CHANGE_REQUIRED: invalid_grant, the history
	// (last_authenticated null before the first sign-in), a Basic challenge.
	if _, has := m["last_authenticated"]; !has || m["error"] != "invalid_grant" || m["url"] != e.url+"c/__mypassword" ||
		m["token_type"] != nil || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("password change answer: %s %v", r.body, r.header)
	}
	if code := errCode(t, e.as(ap, 401, "GET", "c/__ctl/Account", "")); code != "PR401-AU-0012" {
		t.Errorf("AP~ on __ctl: %s", code)
	}
	e.as(ap, 204, "PUT", "c/__mypassword", "", "X-Personium-Credential", "changed1")
	e.clock.Advance(2 * time.Second)
	e.login("c", "new", "changed1")

	e.must(201, "POST", "c/__ctl/Account", `{"Name":"office","IPAddressRange":"10.0.0.0/8"}`, "X-Personium-Credential", "password1")
	if r := e.form("c/__token", url.Values{"grant_type": {"password"}, "username": {"office"}, "password": {"password1"}}); r.status != 400 {
		t.Errorf("login from outside the IP range: %d", r.status)
	}
}

// cellPrivilegeMatrix: which control-object sets a role holding exactly
// one cell privilege may read and write (reference §3.1, §6.4).
var cellPrivilegeMatrix = []struct {
	priv        string
	read, write []string
}{
	{"root", []string{"Account", "Role", "ExtRole", "Relation", "ExtCell", "Box", "Rule", "ReceivedMessage", "SentMessage"}, []string{"Account", "Role", "Relation", "ExtCell", "Box", "Rule"}},
	{"auth", []string{"Account", "Role", "ExtRole"}, []string{"Account", "Role"}},
	{"auth-read", []string{"Account", "Role", "ExtRole"}, nil},
	{"social", []string{"Relation", "ExtCell"}, []string{"Relation", "ExtCell"}},
	{"social-read", []string{"Relation", "ExtCell"}, nil},
	{"box", []string{"Box"}, []string{"Box"}},
	{"box-read", []string{"Box"}, nil},
	{"rule", []string{"Rule"}, []string{"Rule"}},
	{"rule-read", []string{"Rule"}, nil},
	{"message", []string{"ReceivedMessage", "SentMessage"}, nil},
	{"message-read", []string{"ReceivedMessage", "SentMessage"}, nil},
	{"event", nil, nil},
	{"log", nil, nil},
	{"acl", nil, nil},
	{"propfind", nil, nil},
}

var matrixSets = []string{"Account", "Role", "ExtRole", "Relation", "ExtCell", "Box", "Rule", "ReceivedMessage", "SentMessage"}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func TestCellACLMatrix(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"m"}`)
	var aces strings.Builder
	for _, row := range cellPrivilegeMatrix {
		e.must(201, "POST", "m/__ctl/Role", `{"Name":"r-`+row.priv+`"}`)
		e.must(201, "POST", "m/__ctl/Account", `{"Name":"a-`+row.priv+`"}`, "X-Personium-Credential", "password1")
		e.must(204, "POST", "m/__ctl/Account('a-"+row.priv+"')/$links/_Role", `{"uri":"`+e.url+`m/__ctl/Role('r-`+row.priv+`')"}`)
		aces.WriteString(`<D:ace><D:principal><D:href>r-` + row.priv + `</D:href></D:principal><D:grant><D:privilege><p:` + row.priv + `/></D:privilege></D:grant></D:ace>`)
	}
	e.must(201, "POST", "m/__ctl/Account", `{"Name":"nobody"}`, "X-Personium-Credential", "password1")
	e.must(200, "ACL", "m", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="`+e.url+`m/__role/__/">`+aces.String()+`</D:acl>`)
	bodies := map[string]string{"Account": `{"Name":"n%d"}`, "Role": `{"Name":"n%d"}`, "Relation": `{"Name":"n%d"}`,
		"ExtCell": `{"Url":"https://x%d.example/c/"}`, "Box": `{"Name":"n%d"}`, "Rule": `{"Name":"n%d","Action":"log"}`}
	n := 0
	for _, row := range cellPrivilegeMatrix {
		tok := e.login("m", "a-"+row.priv, "password1")["access_token"].(string)
		for _, set := range matrixSets {
			want := 403
			if contains(row.read, set) {
				want = 200
			}
			e.as(tok, want, "GET", "m/__ctl/"+set, "")
			if body, ok := bodies[set]; ok {
				n++
				want := 403
				if contains(row.write, set) {
					want = 201
				}
				e.as(tok, want, "POST", "m/__ctl/"+set, strings.Replace(body, "%d", itoa(n), 1))
			}
		}
		e.as(tok, 200, "GET", "m/__ctl/$metadata", "")
	}
	// No role, no access; no token at all: 401.
	tok := e.login("m", "nobody", "password1")["access_token"].(string)
	e.as(tok, 403, "GET", "m/__ctl/Account", "")
	r := e.do("GET", "m/__ctl/Account", "", "Authorization", "")
	if r.status != 401 {
		t.Errorf("anonymous: %d", r.status)
	}
	// Setting the ACL needs the acl privilege.
	aclTok := e.login("m", "a-acl", "password1")["access_token"].(string)
	rootTok := e.login("m", "a-root", "password1")["access_token"].(string)
	e.as(tok, 403, "ACL", "m", `<D:acl xmlns:D="DAV:"/>`)
	// A role that does not exist cannot be named.
	e.as(aclTok, 400, "ACL", "m", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>ghost</D:href></D:principal><D:grant><D:privilege><p:root/></D:privilege></D:grant></D:ace></D:acl>`)
	// A scope narrower than the roles narrows the token.
	scoped := e.login("m", "a-root", "password1", "scope", "auth-read")["access_token"].(string)
	e.as(scoped, 200, "GET", "m/__ctl/Account", "")
	if code := errCode(t, e.as(scoped, 403, "POST", "m/__ctl/Account", `{"Name":"scoped"}`)); code != "PR403-AU-0007" {
		t.Errorf("scope: %s", code)
	}
	e.as(rootTok, 201, "POST", "m/__ctl/Account", `{"Name":"unscoped"}`)
	// An ACL granting all to everyone lets anonymous callers in.
	e.as(aclTok, 200, "ACL", "m", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><p:box-read/></D:privilege></D:grant></D:ace></D:acl>`)
	if r := e.do("GET", "m/__ctl/Box", "", "Authorization", ""); r.status != 200 {
		t.Errorf("anonymous with all: %d %s", r.status, r.body)
	}
	e.as(rootTok, 403, "GET", "m/__ctl/Account", "") // the old ACL is gone
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestTwoUnits: a visitor from unit A reads a control object in unit B
// once B links A's cell through ExtCell → Role, and not before.
func TestTwoUnits(t *testing.T) {
	a, b := newAuthEnv(t), newAuthEnv(t)
	b.trust.Certs = append(b.trust.Certs, a.key.Cert)
	a.must(201, "POST", "__ctl/Cell", `{"Name":"alice"}`)
	a.must(201, "POST", "alice/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	b.must(201, "POST", "__ctl/Cell", `{"Name":"bob"}`)
	b.must(201, "POST", "bob/__ctl/Role", `{"Name":"friend"}`)
	b.must(200, "ACL", "bob", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>friend</D:href></D:principal><D:grant><D:privilege><p:social-read/></D:privilege></D:grant></D:ace></D:acl>`)
	bob, alice := b.url+"bob/", a.url+"alice/"

	tc := a.login("alice", "me", "password1", "p_target", bob)
	token := tc["access_token"].(string)
	if auth.IsLocalToken(token) || tc["p_target"] != bob {
		t.Fatalf("transcell answer: %v", tc)
	}
	b.as(token, 403, "GET", "bob/__ctl/ExtCell", "")
	// Link alice's cell to the role.
	b.must(201, "POST", "bob/__ctl/ExtCell", `{"Url":"`+alice+`"}`)
	b.must(204, "POST", "bob/__ctl/ExtCell('"+url.PathEscape(alice)+"')/$links/_Role", `{"uri":"`+b.url+`bob/__ctl/Role('friend')"}`)
	b.as(token, 200, "GET", "bob/__ctl/ExtCell", "")
	b.as(token, 403, "POST", "bob/__ctl/ExtCell", `{"Url":"https://x.example/c/"}`)
	// The assertion grant turns it into a visitor token of bob.
	r := b.form("bob/__token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:saml2-bearer"}, "assertion": {token}})
	if r.status != 200 {
		t.Fatalf("assertion grant: %d %s", r.status, r.body)
	}
	av := r.json(t)["access_token"].(string)
	if !strings.HasPrefix(av, "AV~") {
		t.Fatalf("visitor token %s", av)
	}
	b.as(av, 200, "GET", "bob/__ctl/Relation", "")
	// The token was aimed at bob: another cell of unit B refuses it.
	b.must(201, "POST", "__ctl/Cell", `{"Name":"carol"}`)
	b.as(token, 401, "GET", "carol/__ctl/ExtCell", "")
	// Unit A does not trust unit B: B's tokens are refused there.
	b.must(201, "POST", "bob/__ctl/Account", `{"Name":"bo"}`, "X-Personium-Credential", "password1")
	back := b.login("bob", "bo", "password1", "p_target", alice)["access_token"].(string)
	a.as(back, 401, "GET", "alice/__ctl/Account", "")
	// Unlinking takes the access away.
	b.must(204, "DELETE", "bob/__ctl/ExtCell('"+url.PathEscape(alice)+"')/$links/_Role('friend')", "")
	b.as(token, 403, "GET", "bob/__ctl/ExtCell", "")
}

// TestSchemaAuthentication: an app authenticates with a transcell token
// its own cell issued to the user's cell; the token carries the schema.
func TestSchemaAuthentication(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"app"}`)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"user"}`)
	e.must(201, "POST", "app/__ctl/Account", `{"Name":"client"}`, "X-Personium-Credential", "password1")
	e.must(201, "POST", "user/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	appURL, userURL := e.url+"app/", e.url+"user/"
	secret := e.login("app", "client", "password1", "p_target", userURL)["access_token"].(string)
	tok := e.login("user", "me", "password1", "client_id", appURL, "client_secret", secret)["access_token"].(string)
	r := e.form("user/__introspect", url.Values{"token": {tok}}, "Authorization", "Bearer "+master)
	m := r.json(t)
	if m["active"] != true || m["client_id"] != appURL {
		t.Errorf("introspection: %s", r.body)
	}
	// Confidential clients: the app gives its client the confidentialClient role.
	e.must(201, "POST", "app/__ctl/Role", `{"Name":"confidentialClient"}`)
	e.must(204, "POST", "app/__ctl/Account('client')/$links/_Role", `{"uri":"`+e.url+`app/__ctl/Role('confidentialClient')"}`)
	e.clock.Advance(2 * time.Second)
	secret = e.login("app", "client", "password1", "p_target", userURL)["access_token"].(string)
	e.clock.Advance(2 * time.Second)
	tok = e.login("user", "me", "password1", "client_id", appURL, "client_secret", secret)["access_token"].(string)
	if m := e.form("user/__introspect", url.Values{"token": {tok}}, "Authorization", "Bearer "+master).json(t); m["client_id"] != appURL+"#c" {
		t.Errorf("confidential: %v", m)
	}
	// Who may introspect: the configured user (Basic); the app itself
	// with its client credentials or a token of its own, for its tokens
	// only; nobody else.
	plain := e.login("user", "me", "password1")["access_token"].(string)
	basic := func(u, p string) string { // RFC 6749 §2.3.1: URL-encoded, then base64
		req, _ := http.NewRequest("POST", "/", nil)
		req.SetBasicAuth(url.QueryEscape(u), url.QueryEscape(p))
		return req.Header.Get("Authorization")
	}
	for _, c := range []struct {
		name, authz, token string
		status             int
		active             bool
	}{
		{"configured user", basic("introspector", "intro-secret"), plain, 200, true},
		{"wrong password", basic("introspector", "nope"), plain, 403, false},
		{"app credentials, its token", basic(appURL, secret), tok, 200, true},
		{"app credentials, another token", basic(appURL, secret), plain, 200, false},
		{"app token", "Bearer " + tok, tok, 200, true},
		{"plain account token", "Bearer " + plain, tok, 403, false},
		{"anonymous", "", tok, 401, false},
	} {
		r := e.form("user/__introspect", url.Values{"token": {c.token}}, "Authorization", c.authz)
		if r.status != c.status || (c.status == 200 && r.json(t)["active"] != c.active) {
			t.Errorf("introspect as %s: %d %s", c.name, r.status, r.body)
		}
	}
	if m := e.form("user/__introspect", url.Values{"token": {"AR~garbage"}}, "Authorization", "Bearer "+master).json(t); m["active"] != false {
		t.Errorf("garbage token: %v", m)
	}

	// A secret for another cell, or from another issuer, is refused.
	e.clock.Advance(2 * time.Second)
	r = e.form("user/__token", url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"},
		"client_id": {e.url + "user/"}, "client_secret": {secret}})
	if code, desc := oauthCode(t, r); code != "invalid_client" || !strings.Contains(desc, "PR400-AN-0006") {
		t.Errorf("issuer mismatch: %s", r.body)
	}
	certs := e.do("GET", "user/__certs", "", "Authorization", "")
	var jwks struct{ Keys []map[string]any }
	if err := json.Unmarshal(certs.body, &jwks); err != nil || len(jwks.Keys) != 1 || jwks.Keys[0]["kty"] != "RSA" {
		t.Errorf("__certs: %s", certs.body)
	}
	_ = io.Discard
}

// raw sends a request without following redirects and without the master token.
func (e *env) raw(method, path, body string, hdr ...string) *resp {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &resp{status: res.StatusCode, header: res.Header, body: b}
}

// TestAppLoginSequence is the sequence real Personium apps use: ROPC
// with p_cookie → __authz code (single sign-on by the cookie) → app
// token → authorization_code grant → __box.
func TestAppLoginSequence(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"user"}`)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"app"}`)
	appURL, userURL := e.url+"app/", e.url+"user/"
	e.must(201, "POST", "app/__ctl/Account", `{"Name":"client"}`, "X-Personium-Credential", "password1")
	e.must(201, "POST", "user/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	e.must(201, "POST", "user/__ctl/Box", `{"Name":"diary","Schema":"`+appURL+`"}`)

	// 1. ROPC with p_cookie.
	r := e.form("user/__token", url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}, "p_cookie": {"true"}})
	m := r.json(t)
	peer, _ := m["p_cookie_peer"].(string)
	var cookie *http.Cookie
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "p_cookie" {
			cookie = ck
		}
	}
	if r.status != 200 || peer == "" || cookie == nil || !cookie.HttpOnly || cookie.Path != "/user/" {
		t.Fatalf("p_cookie login: %d %v %+v", r.status, m, cookie)
	}
	// The cookie works with its peer, and not without it.
	if got := e.raw("GET", "user/__ctl/Account?p_cookie_peer="+url.QueryEscape(peer), "", "Cookie", "p_cookie="+cookie.Value); got.status != 403 {
		t.Errorf("cookie with peer: %d %s (want 403: authenticated, no privilege)", got.status, got.body)
	}
	if got := e.raw("GET", "user/__ctl/Account?p_cookie_peer=wrong", "", "Cookie", "p_cookie="+cookie.Value); got.status != 401 {
		t.Errorf("cookie with a wrong peer: %d", got.status)
	}
	if got := e.raw("GET", "user/__ctl/Account", "", "Authorization", "Bearer "+cookie.Value); got.status != 401 {
		t.Errorf("cookie value as a bearer token: %d", got.status)
	}

	// 2. __authz with the cookie: 303 to the app with a code.
	redirect := appURL + "__/html/receive_redirect"
	q := url.Values{"response_type": {"code"}, "client_id": {appURL}, "redirect_uri": {redirect}, "state": {"s1"}}
	r = e.raw("GET", "user/__authz?"+q.Encode(), "", "Cookie", "p_cookie="+cookie.Value)
	loc, _ := url.Parse(r.header.Get("Location"))
	if r.status != 303 || loc == nil || !strings.HasPrefix(loc.String(), redirect+"?") || loc.Query().Get("state") != "s1" {
		t.Fatalf("__authz: %d %s", r.status, r.header.Get("Location"))
	}
	code := loc.Query().Get("code")
	if !strings.HasPrefix(code, "GC~") {
		t.Fatalf("code %q", code)
	}

	// 3. The app's token for the user cell, 4. the code grant.
	e.clock.Advance(2 * time.Second)
	secret := e.login("app", "client", "password1", "p_target", userURL)["access_token"].(string)
	grant := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {appURL}, "client_secret": {secret}}
	r = e.form("user/__token", grant)
	if r.status != 200 {
		t.Fatalf("code grant: %d %s", r.status, r.body)
	}
	appToken := r.json(t)["access_token"].(string)
	// A code works once.
	if r := e.form("user/__token", grant); r.status != 400 {
		t.Errorf("replayed code: %d %s", r.status, r.body)
	}

	// 5. __box finds the app's box from the token's schema.
	r = e.as(appToken, 200, "GET", "user/__box", "")
	if r.json(t)["Url"] != userURL+"diary/" || r.header.Get("Location") != userURL+"diary/" {
		t.Errorf("__box: %s %v", r.body, r.header)
	}

	// The login form, its errors and the refusals.
	r = e.raw("GET", "user/__authz?"+q.Encode(), "")
	if r.status != 200 || !strings.Contains(string(r.body), `name="password"`) || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("login form: %d %s", r.status, r.body)
	}
	f := url.Values{"response_type": {"token"}, "client_id": {appURL}, "redirect_uri": {redirect}, "state": {"s2"},
		"username": {"me"}, "password": {"wrong-one"}}
	r = e.raw("POST", "user/__authz", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	// As Personium: 303 back to __authz with the error, whose form says why.
	back, _ := url.Parse(r.header.Get("Location"))
	if r.status != 303 || back == nil || back.Query().Get("code") != "PS-AU-0004" || back.Query().Get("error") != "invalid_grant" ||
		back.Query().Get("state") != "s2" || back.Query().Get("redirect_uri") != redirect {
		t.Errorf("wrong password: %d %s", r.status, r.header.Get("Location"))
	} else if r = e.raw("GET", strings.TrimPrefix(back.RequestURI(), "/"), ""); r.status != 200 || !strings.Contains(string(r.body), "incorrect") {
		t.Errorf("login form after a wrong password: %d %s", r.status, r.body)
	}
	e.clock.Advance(2 * time.Second)
	f.Set("password", "password1")
	r = e.raw("POST", "user/__authz", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	frag, _ := url.ParseQuery(strings.SplitN(r.header.Get("Location"), "#", 2)[1])
	if r.status != 303 || !strings.HasPrefix(frag.Get("access_token"), "AR~") || frag.Get("state") != "s2" {
		t.Errorf("implicit flow: %d %s", r.status, r.header.Get("Location"))
	}
	bad := url.Values{"response_type": {"code"}, "client_id": {appURL}, "redirect_uri": {"https://evil.example/steal"}}
	r = e.raw("GET", "user/__authz?"+bad.Encode(), "")
	if r.status != 303 || r.header.Get("Location") != userURL+"__html/error?code=PR400-AZ-0003" {
		t.Errorf("foreign redirect_uri: %d %s", r.status, r.header.Get("Location"))
	}
	// Personium's own login form posts cancel_flg=0 with every sign-in;
	// only "true" cancels (Boolean.parseBoolean).
	f.Set("cancel_flg", "0")
	r = e.raw("POST", "user/__authz", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if strings.Contains(r.header.Get("Location"), "error=") || !strings.Contains(r.header.Get("Location"), "access_token=") {
		t.Errorf("sign-in with cancel_flg=0: %s", r.header.Get("Location"))
	}
	f.Set("cancel_flg", "true")
	r = e.raw("POST", "user/__authz", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if !strings.Contains(r.header.Get("Location"), "error=unauthorized_client") {
		t.Errorf("cancel: %s", r.header.Get("Location"))
	}
	// An unknown or missing response_type answers in the fragment.
	for rt, want := range map[string]string{"foo": "#code=PR400-AZ-0001&error=unsupported_response_type", "": "#code=PR400-AZ-0004&error=invalid_request"} {
		q := url.Values{"client_id": {appURL}, "redirect_uri": {redirect}}
		if rt != "" {
			q.Set("response_type", rt)
		}
		if r := e.raw("GET", "user/__authz?"+q.Encode(), ""); r.status != 303 || !strings.HasPrefix(r.header.Get("Location"), redirect+want) {
			t.Errorf("response_type %q: %d %s", rt, r.status, r.header.Get("Location"))
		}
	}
	// A client_id without the trailing slash is the same app (apiref 292's example).
	noSlash := url.Values{"response_type": {"code"}, "client_id": {strings.TrimSuffix(appURL, "/")}, "redirect_uri": {redirect}}
	if r := e.raw("GET", "user/__authz?"+noSlash.Encode(), ""); r.status != 200 {
		t.Errorf("client_id without a slash: %d %s", r.status, r.header.Get("Location"))
	}
	// Lifetimes out of range are refused at __token.
	for _, bad := range []string{"0", "-5", "3601", "abc", ""} {
		r := e.form("user/__token", url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}, "expires_in": {bad}})
		if r.status != 400 || !strings.Contains(string(r.body), "PR400-AN-0016") {
			t.Errorf("expires_in=%q: %d %s", bad, r.status, r.body)
		}
	}
}

// TestUnitUsers: transcell tokens aimed at the unit from a configured
// issuer cell make unit users, who own the cells they create and see only
// those; the UnitAdmin role makes an administrator.
func TestUnitUsers(t *testing.T) {
	e := newAuthEnvWith(t, []string{"admin"})
	e.must(201, "POST", "__ctl/Cell", `{"Name":"admin"}`)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"stranger"}`)
	e.must(201, "POST", "admin/__ctl/Account", `{"Name":"owner1"}`, "X-Personium-Credential", "password1")
	e.must(201, "POST", "admin/__ctl/Account", `{"Name":"boss"}`, "X-Personium-Credential", "password1")
	e.must(201, "POST", "admin/__ctl/Role", `{"Name":"UnitAdmin"}`)
	e.must(204, "POST", "admin/__ctl/Account('boss')/$links/_Role", `{"uri":"`+e.url+`admin/__ctl/Role('UnitAdmin')"}`)
	uut := e.login("admin", "owner1", "password1", "p_target", e.url)["access_token"].(string)

	e.as(uut, 201, "POST", "__ctl/Cell", `{"Name":"mine"}`)
	list := e.as(uut, 200, "GET", "__ctl/Cell", "").json(t)["d"].(map[string]any)["results"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["Name"] != "mine" {
		t.Errorf("a unit user sees %v", list)
	}
	e.as(uut, 404, "GET", "__ctl/Cell('stranger')", "")
	// Owning a cell is managing it, not seeing into it: the contents
	// need the issuer's role CellContentsReader or CellContentsAdmin
	// (Personium AccessContext.isUnitUserToken(Privilege)).
	if code := errCode(t, e.as(uut, 403, "POST", "mine/__ctl/Account", `{"Name":"a"}`)); code != "PR403-AU-0002" {
		t.Errorf("owner without a contents role: %s", code)
	}
	e.as(uut, 403, "PUT", "mine/__/f", "x")
	e.must(201, "POST", "admin/__ctl/Role", `{"Name":"CellContentsReader"}`)
	e.must(201, "POST", "admin/__ctl/Role", `{"Name":"CellContentsAdmin"}`)
	e.must(204, "POST", "admin/__ctl/Account('owner1')/$links/_Role", `{"uri":"`+e.url+`admin/__ctl/Role('CellContentsReader')"}`)
	reader := e.login("admin", "owner1", "password1", "p_target", e.url)["access_token"].(string)
	e.as(reader, 200, "GET", "mine/__ctl/Account", "")
	e.as(reader, 403, "POST", "mine/__ctl/Account", `{"Name":"a"}`)
	e.as(reader, 404, "GET", "mine/__/f", "")
	e.as(reader, 403, "PUT", "mine/__/f", "x")
	e.must(204, "POST", "admin/__ctl/Account('owner1')/$links/_Role", `{"uri":"`+e.url+`admin/__ctl/Role('CellContentsAdmin')"}`)
	cadmin := e.login("admin", "owner1", "password1", "p_target", e.url)["access_token"].(string)
	e.as(cadmin, 201, "POST", "mine/__ctl/Account", `{"Name":"a"}`)
	e.as(cadmin, 201, "PUT", "mine/__/f", "x")
	if code := errCode(t, e.as(cadmin, 403, "GET", "stranger/__ctl/Account", "")); code != "PR403-AU-0003" {
		t.Errorf("other's cell: %s", code)
	}
	e.as(uut, 403, "DELETE", "stranger", "", "X-Personium-Recursive", "true")
	e.as(uut, 204, "DELETE", "mine", "", "X-Personium-Recursive", "true")

	boss := e.login("admin", "boss", "password1", "p_target", e.url)["access_token"].(string)
	if n := len(e.as(boss, 200, "GET", "__ctl/Cell", "").json(t)["d"].(map[string]any)["results"].([]any)); n != 2 {
		t.Errorf("the unit admin sees %d cells, want 2", n)
	}
	e.as(boss, 403, "GET", "stranger/__ctl/Account", "")
	e.must(204, "POST", "admin/__ctl/Account('boss')/$links/_Role", `{"uri":"`+e.url+`admin/__ctl/Role('CellContentsReader')"}`)
	boss = e.login("admin", "boss", "password1", "p_target", e.url)["access_token"].(string)
	e.as(boss, 200, "GET", "stranger/__ctl/Account", "")
	e.as(boss, 403, "POST", "stranger/__ctl/Account", `{"Name":"b"}`)

	// Tokens from cells that are not issuers, and cell-local tokens, are no unit user tokens.
	e.must(201, "POST", "stranger/__ctl/Account", `{"Name":"x"}`, "X-Personium-Credential", "password1")
	other := e.login("stranger", "x", "password1", "p_target", e.url)["access_token"].(string)
	if code := errCode(t, e.as(other, 403, "GET", "__ctl/Cell", "")); code != "PR403-AU-0001" {
		t.Errorf("a transcell token that is no unit user token: %s", code)
	}
	local := e.login("admin", "owner1", "password1")["access_token"].(string)
	e.as(local, 401, "POST", "__ctl/Cell", `{"Name":"nope"}`)
}

// TestACLBadInputChangesNothing: refused ACL bodies leave the ACL as it was
// and echo nothing of the credentials.
func TestACLBadInputChangesNothing(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	good := `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><p:box-read/></D:privilege></D:grant></D:ace></D:acl>`
	e.must(200, "ACL", "c", good)
	for name, body := range map[string]string{
		"DTD":             `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:acl xmlns:D="DAV:">&e;</D:acl>`,
		"unknown priv":    `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><p:everything/></D:privilege></D:grant></D:ace></D:acl>`,
		"other cell role": `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>https://evil.example/cell/__role/__/r</D:href></D:principal><D:grant><D:privilege><p:root/></D:privilege></D:grant></D:ace></D:acl>`,
		"malformed":       `<D:acl xmlns:D="DAV:"><D:ace>`,
		"oversized":       `<D:acl xmlns:D="DAV:">` + strings.Repeat("<!-- padding -->", 10000) + `</D:acl>`,
	} {
		r := e.do("ACL", "c", body)
		want := 400
		if name == "oversized" {
			want = 413
		}
		if r.status != want || strings.Contains(string(r.body), master) || strings.Contains(string(r.body), "passwd") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// The good ACL still holds: anonymous callers may list boxes.
	if r := e.do("GET", "c/__ctl/Box", "", "Authorization", ""); r.status != 200 {
		t.Errorf("ACL changed by a refused body: %d", r.status)
	}
}

func TestRoleResources(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Box", `{"Name":"b"}`)
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"r1","_Box.Name":"b"}`)
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"top"}`)
	if got := e.must(200, "GET", "c/__role/", "").json(t)["boxes"]; len(got.([]any)) != 2 {
		t.Errorf("boxes %v", got)
	}
	if got := e.must(200, "GET", "c/__role/b/", "").json(t)["roles"].([]any); len(got) != 1 || got[0] != e.url+"c/__role/b/r1" {
		t.Errorf("roles of b %v", got)
	}
	e.must(200, "GET", "c/__role/b/r1", "")
	e.must(200, "GET", "c/__role/__/top", "")
	e.must(404, "GET", "c/__role/b/top", "")
	e.must(404, "GET", "c/__role/nobox/", "")
	if r := e.do("GET", "c/__role/b/r1", "", "Authorization", ""); r.status != 401 {
		t.Errorf("anonymous: %d", r.status)
	}
}

// TestCellPropfindAndProppatch: PROPFIND {cell} needs propfind; the ACL
// shows only with acl-read; current-user-privilege-set says what the
// caller may do; Depth 1 lists boxes; PROPPATCH is for unit users only.
func TestCellPropfindAndProppatch(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Box", `{"Name":"b1"}`)
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"viewer"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"v"}`, "X-Personium-Credential", "password1")
	e.must(204, "POST", "c/__ctl/Account('v')/$links/_Role", `{"uri":"`+e.url+`c/__ctl/Role('viewer')"}`)
	e.must(200, "ACL", "c", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>viewer</D:href></D:principal><D:grant><D:privilege><p:propfind/></D:privilege><D:privilege><p:auth-read/></D:privilege></D:grant></D:ace></D:acl>`)

	r := e.must(207, "PROPFIND", "c", "", "Depth", "1")
	body := string(r.body)
	for _, want := range []string{"<href>" + e.url + "c/</href>", "<p:cellstatus>normal</p:cellstatus>",
		`xml:base="` + e.url + `c/__role/__/"`, "<D:href>viewer</D:href>", "<href>" + e.url + "c/b1/</href>",
		"<href>" + e.url + "c/__/</href>", "<p:root/>", "<p:auth-read/>"} {
		if !strings.Contains(body, want) {
			t.Errorf("master PROPFIND lacks %s:\n%s", want, body)
		}
	}
	tok := e.login("c", "v", "password1")["access_token"].(string)
	body = string(e.as(tok, 207, "PROPFIND", "c", "", "Depth", "0").body)
	if strings.Contains(body, "<D:acl") || strings.Contains(body, "<p:root/>") || strings.Contains(body, "b1/") ||
		!strings.Contains(body, "<p:propfind/>") || !strings.Contains(body, "<p:auth-read/>") {
		t.Errorf("viewer PROPFIND (no acl-read, Depth 0):\n%s", body)
	}
	e.as(tok, 403, "PROPPATCH", "c", `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:relayhtmlurl>x</p:relayhtmlurl></D:prop></D:set></D:propertyupdate>`)
	e.must(400, "PROPFIND", "c", "", "Depth", "2")
	e.must(403, "PROPFIND", "c", "", "Depth", "infinity")

	// PROPPATCH sets and removes dead properties; live ones are protected.
	e.must(207, "PROPPATCH", "c", `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xmlns:Z="urn:z"><D:set><D:prop><p:relayhtmlurl>https://app.example/home.html</p:relayhtmlurl><Z:note><Z:b>bold</Z:b></Z:note></D:prop></D:set></D:propertyupdate>`)
	body = string(e.must(207, "PROPFIND", "c", "").body)
	if !strings.Contains(body, "https://app.example/home.html</p:relayhtmlurl>") || !strings.Contains(body, "bold") {
		t.Errorf("dead properties not kept:\n%s", body)
	}
	r = e.must(207, "PROPPATCH", "c", `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype/><p:x>1</p:x></D:prop></D:set></D:propertyupdate>`)
	if !strings.Contains(string(r.body), "403") || !strings.Contains(string(r.body), "424") {
		t.Errorf("protected property: %s", r.body)
	}
	if strings.Contains(string(e.must(207, "PROPFIND", "c", "").body), "<p:x>") {
		t.Error("a failed PROPPATCH changed something")
	}
	e.must(207, "PROPPATCH", "c", `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:remove><D:prop><Z:note/></D:prop></D:remove></D:propertyupdate>`)
	if strings.Contains(string(e.must(207, "PROPFIND", "c", "").body), "bold") {
		t.Error("removed property still there")
	}
	e.must(400, "PROPPATCH", "c", `<!DOCTYPE x [<!ENTITY a "b">]><D:propertyupdate xmlns:D="DAV:"/>`)
}

func TestAccountLockOut(t *testing.T) {
	e := newAuthEnv(t)
	e.authn.LockCount, e.authn.LockTime = 3, 10*time.Minute
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	bad := url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"guess-guess"}}
	for i := 0; i < 3; i++ {
		e.clock.Advance(2 * time.Second)
		if r := e.form("c/__token", bad); r.status != 400 {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	e.clock.Advance(5 * time.Minute)
	good := url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}}
	if r := e.form("c/__token", good); r.status != 400 {
		t.Errorf("locked account logged in: %d", r.status)
	}
	e.clock.Advance(11 * time.Minute)
	e.login("c", "me", "password1")
}

func TestBasicAuth(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "POST", "c/__ctl/Box", `{"Name":"app","Schema":"https://app.example/"}`)
	e.must(201, "POST", "c/__ctl/Box", `{"Name":"plain"}`)
	e.must(201, "POST", "c/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	e.must(201, "POST", "c/__ctl/Role", `{"Name":"r"}`)
	e.must(204, "POST", "c/__ctl/Account('me')/$links/_Role", `{"uri":"`+e.url+`c/__ctl/Role('r')"}`)
	e.must(200, "ACL", "c", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>r</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`)
	basic := func(user, pw string) string {
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth(user, pw)
		return req.Header.Get("Authorization")
	}
	get := func(path, authz string) *resp {
		return e.do("GET", path, "", "Authorization", "", "Authorization", authz)
	}
	// Box resources: the main box and boxes without a schema take Basic.
	if r := get("c/__", basic("me", "password1")); r.status != 200 {
		t.Errorf("Basic on the main box: %d %s", r.status, r.body)
	}
	if r := get("c/plain", basic("me", "password1")); r.status != 200 {
		t.Errorf("Basic on a box without schema: %d %s", r.status, r.body)
	}
	if r := get("c/app", basic("me", "password1")); r.status != 401 {
		t.Errorf("Basic on a box with a schema: %d %s", r.status, r.body)
	}
	e.clock.Advance(2 * time.Second)
	if r := get("c/__", basic("me", "wrong-pw")); r.status != 401 || errCode(t, r) != "PR401-AU-0005" {
		t.Errorf("Basic with a wrong password: %d %s", r.status, r.body)
	}
	e.clock.Advance(2 * time.Second)
	// Cell-level resources and the unit never take Basic.
	if r := get("c/__ctl/Box", basic("me", "password1")); r.status != 401 || errCode(t, r) != "PR401-AU-0001" {
		t.Errorf("Basic on __ctl: %d %s", r.status, r.body)
	}
	if r := get("__ctl/Cell", basic("me", "password1")); r.status != 401 {
		t.Errorf("Basic at unit level: %d", r.status)
	}
	if r := get("c/__", "Basic !!!"); r.status != 401 || errCode(t, r) != "PR401-AU-0004" {
		t.Errorf("malformed Basic: %d %s", r.status, r.body)
	}
}

func TestOwnerRepresentative(t *testing.T) {
	e := newAuthEnv(t)
	owner := "https://unit.example/admin/#alice"
	e.must(201, "POST", "__ctl/Cell", `{"Name":"owned"}`, "X-Personium-Unit-User", owner)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"free"}`)
	for _, c := range []string{"owned", "free"} {
		e.must(201, "POST", c+"/__ctl/Account", `{"Name":"rep"}`, "X-Personium-Credential", "password1")
		e.must(201, "POST", c+"/__ctl/Account", `{"Name":"other"}`, "X-Personium-Credential", "password1")
		e.must(207, "PROPPATCH", c, `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop>
			<p:ownerRepresentativeAccounts><p:account>rep</p:account></p:ownerRepresentativeAccounts></D:prop></D:set></D:propertyupdate>`)
	}
	owner1 := func(cellName, user string, extra ...string) *resp {
		v := url.Values{"grant_type": {"password"}, "username": {user}, "password": {"password1"}, "p_owner": {"true"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return e.form(cellName+"/__token", v)
	}
	r := owner1("owned", "rep")
	if r.status != 200 {
		t.Fatalf("p_owner grant: %d %s", r.status, r.body)
	}
	m := r.json(t)
	tok, _ := m["access_token"].(string)
	if !strings.HasPrefix(tok, "AU~") || m["refresh_token"] != nil {
		t.Fatalf("p_owner answer: %v", m)
	}
	// It manages the cell (owner operations) but does not see into it.
	e.as(tok, 207, "PROPPATCH", "owned", `<D:propertyupdate xmlns:D="DAV:" xmlns:z="urn:z"><D:set><D:prop><z:x>1</z:x></D:prop></D:set></D:propertyupdate>`)
	e.as(tok, 403, "GET", "owned/__ctl/Account", "")
	e.as(tok, 401, "PROPPATCH", "free", `<D:propertyupdate xmlns:D="DAV:" xmlns:z="urn:z"><D:set><D:prop><z:x>1</z:x></D:prop></D:set></D:propertyupdate>`)
	e.clock.Advance(2 * time.Second)
	for _, c := range []struct{ cell, user, code string }{
		{"owned", "other", "PR400-AN-0014"},
		{"free", "rep", "PR400-AN-0015"},
	} {
		r := owner1(c.cell, c.user)
		if _, desc := oauthCode(t, r); r.status != 400 || !strings.Contains(desc, c.code) {
			t.Errorf("%s/%s: %d %s", c.cell, c.user, r.status, r.body)
		}
		e.clock.Advance(2 * time.Second)
	}
	if r := owner1("owned", "rep", "p_target", e.url+"free/"); r.status != 400 || !strings.Contains(string(r.body), "PR400-AN-0008") {
		t.Errorf("p_owner with p_target: %d %s", r.status, r.body)
	}
	// A refresh token of a representative account represents the owner
	// too; another account's does not (Personium receiveRefresh).
	refresh := func(user string) *resp {
		rt := e.login("owned", user, "password1")["refresh_token"].(string)
		e.clock.Advance(2 * time.Second)
		return e.form("owned/__token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "p_owner": {"true"}})
	}
	if r := refresh("rep"); r.status != 200 || !strings.HasPrefix(r.json(t)["access_token"].(string), "AU~") {
		t.Errorf("p_owner refresh: %d %s", r.status, r.body)
	}
	if r := refresh("other"); r.status != 400 || !strings.Contains(string(r.body), "PR400-AN-0014") {
		t.Errorf("p_owner refresh of another account: %d %s", r.status, r.body)
	}
}

// TestRefreshStaysWithItsApp: a refresh token issued to an app is
// refreshed only by that app authenticating again (PR401-AN-0021 without
// a client, PR401-AN-0020 with another); one issued to no app cannot be
// taken by one (Personium receiveRefresh).
func TestRefreshStaysWithItsApp(t *testing.T) {
	e := newAuthEnv(t)
	for _, c := range []string{"user", "app", "other"} {
		e.must(201, "POST", "__ctl/Cell", `{"Name":"`+c+`"}`)
	}
	for _, c := range []string{"app", "other"} {
		e.must(201, "POST", c+"/__ctl/Account", `{"Name":"client"}`, "X-Personium-Credential", "password1")
	}
	e.must(201, "POST", "user/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	userURL := e.url + "user/"
	secret := func(app string) string {
		return e.login(app, "client", "password1", "p_target", userURL)["access_token"].(string)
	}
	appTok := e.login("user", "me", "password1", "client_id", e.url+"app/", "client_secret", secret("app"))
	plainTok := e.login("user", "me", "password1")
	refresh := func(rt string, client ...string) *resp {
		v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		if len(client) == 1 {
			v.Set("client_id", e.url+client[0]+"/")
			v.Set("client_secret", secret(client[0]))
		}
		return e.form("user/__token", v)
	}
	for _, c := range []struct {
		name   string
		r      *resp
		status int
		code   string
	}{
		{"the app's token without a client", refresh(appTok["refresh_token"].(string)), 401, "PR401-AN-0021"},
		{"the app's token by another app", refresh(appTok["refresh_token"].(string), "other"), 401, "PR401-AN-0020"},
		{"a token of no app by an app", refresh(plainTok["refresh_token"].(string), "app"), 401, "PR401-AN-0020"},
		{"the app's token by the app", refresh(appTok["refresh_token"].(string), "app"), 200, ""},
		{"a token of no app without a client", refresh(plainTok["refresh_token"].(string)), 200, ""},
	} {
		if c.r.status != c.status || !strings.Contains(string(c.r.body), c.code) {
			t.Errorf("%s: %d %s, want %d %s", c.name, c.r.status, c.r.body, c.status, c.code)
		}
	}

	// Missing parameters get Personium's codes (AuthErrorTest).
	for _, c := range []struct {
		form url.Values
		code string
	}{
		{url.Values{"grant_type": {"refresh_token"}}, "PR400-AN-0009"},
		{url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:saml2-bearer"}}, "PR400-AN-0009"},
		{url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}, "client_id": {e.url + "app/"}}, "PR400-AN-0003"},
		{url.Values{"username": {"me"}}, "PR400-AN-0001"},
	} {
		if r := e.form("user/__token", c.form); r.status != 400 || !strings.Contains(string(r.body), c.code) {
			t.Errorf("%v: %d %s, want %s", c.form, r.status, r.body, c.code)
		}
	}

	// __mypassword: only with scope auth (or none), and only the account's own token.
	scoped := e.login("user", "me", "password1", "scope", "message")["access_token"].(string)
	e.as(scoped, 403, "PUT", "user/__mypassword", "", "X-Personium-Credential", "password2")
	e.must(403, "PUT", "user/__mypassword", "", "X-Personium-Credential", "password2")
	e.as(plainTok["access_token"].(string), 400, "PUT", "user/__mypassword", "")
	e.as(plainTok["access_token"].(string), 204, "PUT", "user/__mypassword", "", "X-Personium-Credential", "password2")
}

// TestAssertionKeepsItsScope: a saml2-bearer grant gives the scope the
// assertion carries, whatever the request asks (Personium uses
// tcToken.getScope()): a token cannot widen itself.
func TestAssertionKeepsItsScope(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"a"}`)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"b"}`)
	e.must(201, "POST", "a/__ctl/Account", `{"Name":"me"}`, "X-Personium-Credential", "password1")
	tc := e.login("a", "me", "password1", "p_target", e.url+"b/", "scope", "auth-read")["access_token"].(string)
	r := e.form("b/__token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:saml2-bearer"}, "assertion": {tc}, "scope": {"root"}})
	if m := r.json(t); r.status != 200 || m["scope"] != "auth-read" {
		t.Errorf("saml2-bearer: %d %s, want scope auth-read", r.status, r.body)
	}
}

// TestAuthzPasswordChange: an account that must change its password signs
// in through __authz by choosing a new one, as Personium's
// AuthzEndPointResource lets it (password_change_required, PS-AU-0006/7/8).
func TestAuthzPasswordChange(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"user"}`)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"app"}`)
	appURL := e.url + "app/"
	redirect := appURL + "__/html/back"
	e.must(201, "POST", "user/__ctl/Account", `{"Name":"new","Status":"passwordChangeRequired"}`, "X-Personium-Credential", "initial1")
	post := func(f url.Values) (*resp, url.Values) {
		t.Helper()
		r := e.raw("POST", "user/__authz", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		loc, _ := url.Parse(r.header.Get("Location"))
		if r.status != 303 || loc == nil {
			t.Fatalf("POST __authz %v: %d %s", f, r.status, r.body)
		}
		q, _ := url.ParseQuery(loc.RawQuery)
		if loc.Fragment != "" {
			q, _ = url.ParseQuery(loc.Fragment)
		}
		return r, q
	}
	f := url.Values{"response_type": {"token"}, "client_id": {appURL}, "redirect_uri": {redirect}, "state": {"s"},
		"username": {"new"}, "password": {"initial1"}}
	_, q := post(f)
	ap := q.Get("access_token")
	if q.Get("code") != "PS-AU-0006" || q.Get("password_change_required") != "true" || !strings.HasPrefix(ap, "AP~") {
		t.Fatalf("sign-in that must change the password: %v", q)
	}
	back := url.Values{"response_type": {"token"}, "client_id": {appURL}, "redirect_uri": {redirect}, "state": {"s"},
		"access_token": {ap}, "password_change_required": {"true"}}
	if r := e.raw("GET", "user/__authz?"+back.Encode(), ""); r.status != 200 || !strings.Contains(string(r.body), `name="access_token"`) ||
		!strings.Contains(string(r.body), "New password") {
		t.Fatalf("password form: %d %s", r.status, r.body)
	}
	change := url.Values{"response_type": {"token"}, "client_id": {appURL}, "redirect_uri": {redirect}, "state": {"s"}, "access_token": {ap}}
	if _, q := post(change); q.Get("code") != "PS-AU-0007" || q.Get("access_token") != ap {
		t.Errorf("no new password: %v", q)
	}
	change.Set("password", "x")
	if _, q := post(change); q.Get("code") != "PS-AU-0008" {
		t.Errorf("a password of a bad format: %v", q)
	}
	change.Set("password", "changed-pw1")
	r, q := post(change)
	if !strings.HasPrefix(r.header.Get("Location"), redirect+"#") || !strings.HasPrefix(q.Get("access_token"), "AR~") || q.Get("state") != "s" {
		t.Fatalf("after choosing a new password: %s", r.header.Get("Location"))
	}
	e.clock.Advance(2 * time.Second)
	e.login("user", "new", "changed-pw1")
	change.Set("access_token", "AP~forged")
	if _, q := post(change); q.Get("code") != "PS-AU-0005" {
		t.Errorf("a forged password-change token: %v", q)
	}
}
