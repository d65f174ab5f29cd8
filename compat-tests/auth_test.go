package compattests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// form posts an application/x-www-form-urlencoded body without a token.
func form(t *testing.T, step, rawURL string, v url.Values, h hdr) *res {
	t.Helper()
	if h == nil {
		h = hdr{}
	}
	h["Content-Type"] = "application/x-www-form-urlencoded"
	h["Accept"] = "application/json"
	return do(t, step, "POST", rawURL, h, v.Encode())
}

func bearer(token string) hdr {
	return hdr{"Authorization": "Bearer " + token, "Accept": "application/json"}
}

// oauthError checks a token-endpoint error: OAuth JSON with the
// Personium code in error_description (TokenEndPointResource, AuthTest).
func (r *res) oauthError(status int, oauthCode, prCode string) {
	r.t.Helper()
	if !r.ok(status) {
		return
	}
	r.json("error", oauthCode)
	if d := r.str("error_description"); !strings.HasPrefix(d, "["+prCode+"] - ") {
		r.fail("error_description %q, want it to start with [%s] - ", d, prCode)
	}
}

// TestTokenEndpoint: ROPC, refresh, errors and what tokens may do
// (AuthTest, AuthErrorTest, TokenTest, AuthCheckTest).
func TestTokenEndpoint(t *testing.T) {
	requireUnit(t)
	c := newCell(t, "tok")
	create(t, "account", ctl(c, "Account"), map[string]any{"Name": "me"}, auth("X-Personium-Credential", "password1"))
	tokenURL := cellURL(c) + "__token"

	r := form(t, "password grant", tokenURL, url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}}, nil)
	if !r.ok(200) {
		return
	}
	r.json("token_type", "Bearer")
	r.json("expires_in", 3600.0)
	r.json("refresh_token_expires_in", 86400.0)
	access, refresh := r.str("access_token"), r.str("refresh_token")
	if !strings.HasPrefix(access, "AR~") || !strings.HasPrefix(refresh, "RR~") {
		r.fail("token prefixes: %q %q", access, refresh)
	}

	// No privilege yet: authenticated, but refused.
	do(t, "token without privilege", "GET", ctl(c, "Account"), bearer(access), nil).wantError(403, "PR403-AU-0002")
	do(t, "refresh token as access token", "GET", ctl(c, "Account"), bearer(refresh), nil).wantError(401, "PR401-AU-0007")
	do(t, "garbage token", "GET", ctl(c, "Account"), bearer("AR~garbage"), nil).wantError(401, "")

	// Grant auth-read to everyone through the cell ACL; the ACL method needs no body namespace tricks.
	acl := `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal>` +
		`<D:grant><D:privilege><p:auth-read/></D:privilege></D:grant></D:ace></D:acl>`
	do(t, "set cell ACL", "ACL", cellURL(c), auth("Content-Type", "application/xml"), acl).must(200)
	do(t, "read with the token", "GET", ctl(c, "Account"), bearer(access), nil).must(200)
	do(t, "write with the token", "POST", ctl(c, "Account"), bearer(access), `{"Name":"x"}`).wantError(403, "PR403-AU-0002")

	r = form(t, "refresh grant", tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, nil)
	if r.ok(200) && !strings.HasPrefix(r.str("access_token"), "AR~") {
		r.fail("refreshed access token %q", r.str("access_token"))
	}

	time.Sleep(1100 * time.Millisecond) // the refresh above does not count as a failure; be safe anyway
	form(t, "wrong password", tokenURL, url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"nope-nope"}}, nil).
		oauthError(400, "invalid_grant", "PR400-AN-0017")
	form(t, "unknown account", tokenURL, url.Values{"grant_type": {"password"}, "username": {"ghost"}, "password": {"password1"}}, nil).
		oauthError(400, "invalid_grant", "PR400-AN-0017")
	form(t, "unsupported grant", tokenURL, url.Values{"grant_type": {"magic"}}, nil).
		oauthError(400, "unsupported_grant_type", "PR400-AN-0001")
	form(t, "missing username", tokenURL, url.Values{"grant_type": {"password"}, "password": {"x"}}, nil).
		oauthError(400, "invalid_request", "PR400-AN-0016")

	r = do(t, "__certs", "GET", cellURL(c)+"__certs", hdr{}, nil)
	if r.ok(200) {
		r.json("keys/0/kty", "RSA")
	}
}

// TestAppLoginSequence: the login real Personium apps do
// (scenario/HomeAppScenarioTest): ROPC with p_cookie → __authz by cookie
// → code → app token → authorization_code grant → __box.
func TestAppLoginSequence(t *testing.T) {
	requireUnit(t)
	user, app := newCell(t, "usr"), newCell(t, "app")
	appURL, userURL := cellURL(app), cellURL(user)
	create(t, "app account", ctl(app, "Account"), map[string]any{"Name": "client"}, auth("X-Personium-Credential", "password1"))
	create(t, "user account", ctl(user, "Account"), map[string]any{"Name": "me"}, auth("X-Personium-Credential", "password1"))
	create(t, "app box", ctl(user, "Box"), map[string]any{"Name": "mybox", "Schema": appURL}, nil)

	r := form(t, "ROPC with p_cookie", userURL+"__token",
		url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}, "p_cookie": {"true"}}, nil)
	if !r.ok(200) {
		return
	}
	if r.str("p_cookie_peer") == "" {
		r.fail("no p_cookie_peer")
	}
	var cookie string
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == "p_cookie" {
			cookie = ck.Value
		}
	}
	if cookie == "" {
		r.fail("no p_cookie cookie")
		return
	}
	redirect := appURL + "__/html/Engine/receive_redirect?cellUrl=" + url.QueryEscape(userURL)
	q := url.Values{"response_type": {"code"}, "client_id": {appURL}, "redirect_uri": {redirect}, "state": {"123-per"}}
	r = do(t, "__authz with the cookie", "GET", userURL+"__authz?"+q.Encode(), hdr{"Cookie": "p_cookie=" + cookie}, nil)
	if !r.ok(303) {
		return
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), appURL) || loc.Query().Get("state") != "123-per" || !strings.HasPrefix(loc.Query().Get("code"), "GC~") {
		r.fail("Location %q", r.Header.Get("Location"))
		return
	}
	r = form(t, "app token", appURL+"__token",
		url.Values{"grant_type": {"password"}, "username": {"client"}, "password": {"password1"}, "p_target": {userURL}}, nil)
	if !r.ok(200) {
		return
	}
	secret := r.str("access_token")
	r = form(t, "authorization_code grant", userURL+"__token", url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "client_id": {appURL}, "client_secret": {secret}}, nil)
	if !r.ok(200) {
		return
	}
	r = do(t, "__box", "GET", userURL+"__box", bearer(r.str("access_token")), nil)
	if r.ok(200) {
		r.json("Url", userURL+"mybox/")
		r.header("Location", userURL+"mybox/")
	}
}

// TestCellACLAndPropfind: ACL {cell} replaces the cell ACL; PROPFIND {cell}
// shows it (to holders of acl-read) with xml:base; a role named in an ACL
// must exist (cell/AclTest).
func TestCellACLAndPropfind(t *testing.T) {
	requireUnit(t)
	c := newCell(t, "acl")
	create(t, "role", ctl(c, "Role"), map[string]any{"Name": "reader"}, nil)
	body := `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="` + cellURL(c) + `__role/__/">` +
		`<D:ace><D:principal><D:href>reader</D:href></D:principal><D:grant><D:privilege><p:auth-read/></D:privilege></D:grant></D:ace></D:acl>`
	do(t, "set ACL", "ACL", cellURL(c), auth("Content-Type", "application/xml"), body).must(200)
	r := do(t, "PROPFIND cell", "PROPFIND", cellURL(c), auth("Depth", "0", "Accept", ""), "")
	if r.ok(207) {
		b := string(r.Body)
		for _, want := range []string{"<acl ", `xml:base="` + cellURL(c) + `__role/__/"`, "<D:href>reader</D:href>", "<p:auth-read/>", "cellstatus"} {
			if !strings.Contains(b, want) {
				r.fail("PROPFIND lacks %s", want)
			}
		}
	}
	ghost := strings.Replace(body, "reader", "ghost", 1)
	do(t, "ACL naming a missing role", "ACL", cellURL(c), auth(), ghost).wantError(400, "PR400-DV-0004")
	do(t, "ACL with a DTD", "ACL", cellURL(c), auth(), `<!DOCTYPE a [<!ENTITY x "y">]>`+body).wantError(400, "")
	do(t, "ACL without a token", "ACL", cellURL(c), hdr{}, body).wantError(401, "")
}
