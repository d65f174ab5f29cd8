package cell

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// KindUsedCode records grant codes already exchanged (single use).
const KindUsedCode = "UsedCode"

// AuthzRequest is a request to {cell}__authz (reference §4.4).
type AuthzRequest struct {
	ResponseType string // "code" or "token"
	ClientID     string // app cell URL
	RedirectURI  string
	State        string
	Scope        []string
	ExpiresIn    time.Duration
}

// ValidateAuthz checks client_id and redirect_uri. Errors here are shown
// on the cell's error page, never sent to the redirect URI.
func (a *Authn) ValidateAuthz(r *AuthzRequest) error {
	u, err := url.Parse(r.ClientID)
	if r.ClientID == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(r.ClientID, "/") {
		return perr.New("PR400-AZ-0002")
	}
	if r.RedirectURI == "" || len(r.RedirectURI) > 512 || strings.Contains(r.RedirectURI, "#") ||
		!strings.HasPrefix(r.RedirectURI, r.ClientID) {
		return perr.New("PR400-AZ-0003")
	}
	if r.ResponseType == "" {
		return perr.New("PR400-AZ-0004", "response_type")
	}
	if r.ResponseType != "code" && r.ResponseType != "token" && !(r.ResponseType == "id_token" && hasScope(r.Scope, "openid")) {
		return perr.New("PR400-AZ-0001")
	}
	if r.ExpiresIn < 0 || r.ExpiresIn > MaxAccessLife {
		return perr.New("PR400-AZ-0008")
	}
	return nil
}

// AuthzResult is where __authz sends the browser after a login.
type AuthzResult struct {
	Redirect string // the redirect URI with the code (query) or token (fragment)
	// PasswordChange is, with PasswordChangeRequired, the account's
	// password-change token (AP~), for __authz's password form.
	PasswordChange string
}

// Authorize logs the account in for the app of r and returns the redirect
// with a grant code (code flow) or an access token (implicit flow).
func (a *Authn) Authorize(ctx context.Context, c *Cell, r *AuthzRequest, username, password, remote string) (*AuthzResult, error) {
	pc, err := a.checkPassword(ctx, c, username, password, remote)
	if err != nil {
		return nil, err
	}
	if pc.mustChange {
		now := a.now()
		tok, err := a.seal(&auth.LocalToken{Type: auth.PasswordChange, Issuer: a.CellURL(c), Subject: pc.subject,
			Issued: now.UnixMilli(), Expires: now.Add(DefaultAccessLife).UnixMilli()})
		if err != nil {
			return nil, err
		}
		return &AuthzResult{PasswordChange: tok}, PasswordChangeRequired
	}
	return a.authzRedirect(ctx, c, r, pc)
}

// AuthorizePasswordChange is Authorize for an account that must change
// its password (Personium's handlePasswordChange): with its
// password-change token it sets the new password, then signs in with it.
// Errors: PR401-AU-0006 for a token that is not such a token of c (or
// expired: PR401-AU-0002), PR400-AU-0001 for a password of a bad format.
func (a *Authn) AuthorizePasswordChange(ctx context.Context, c *Cell, r *AuthzRequest, apToken, newPassword, remote string) (*AuthzResult, error) {
	t, err := a.Sealer.Open(apToken)
	if err != nil || t.Type != auth.PasswordChange || t.Issuer != a.CellURL(c) {
		return nil, perr.New("PR401-AU-0006")
	}
	if t.Expired(a.now()) {
		return nil, perr.New("PR401-AU-0002")
	}
	name, _ := strings.CutPrefix(t.Subject, a.CellURL(c)+"#")
	acc, err := a.account(ctx, c, name)
	if err != nil {
		return nil, perr.New("PR401-AU-0006")
	}
	if err := a.Cells.ChangePassword(ctx, c, acc, newPassword); err != nil {
		return nil, err
	}
	return a.Authorize(ctx, c, r, name, newPassword, remote)
}

// AuthorizeCookie is Authorize for a browser that already holds a
// p_cookie session of c (single sign-on): no password is asked for. The
// redirect can only go to the verified redirect URI of the client.
func (a *Authn) AuthorizeCookie(ctx context.Context, c *Cell, r *AuthzRequest, cookie string) (*AuthzResult, error) {
	t, err := a.Sealer.Open(cookie)
	if err != nil {
		return nil, err
	}
	if t.Type != auth.ResidentAccess || t.Issuer != a.CellURL(c) || t.Expired(a.now()) {
		return nil, perr.New("PR401-AU-0006")
	}
	acc, err := a.residentAccount(ctx, c, t.Subject)
	if err != nil {
		return nil, perr.New("PR401-AU-0006")
	}
	hist, err := a.history(ctx, c, acc.ID)
	if err != nil {
		return nil, err
	}
	return a.authzRedirect(ctx, c, r, &passwordCheck{acc: acc, subject: t.Subject, last: hist.LastAuth, failed: hist.Failed})
}

// authzRedirect builds the redirect of a successful __authz login.
func (a *Authn) authzRedirect(ctx context.Context, c *Cell, r *AuthzRequest, pc *passwordCheck) (*AuthzResult, error) {
	roles, err := a.accountRoles(ctx, c, pc.acc)
	if err != nil {
		return nil, err
	}
	now := a.now()
	life := r.ExpiresIn
	if life == 0 {
		life = DefaultAccessLife
	}
	q := url.Values{}
	if r.ResponseType == "id_token" {
		idt, err := a.idToken(c, pc.subject, r.ClientID, now)
		if err != nil {
			return nil, err
		}
		q.Set("id_token", idt)
		if r.State != "" {
			q.Set("state", r.State)
		}
		return &AuthzResult{Redirect: r.RedirectURI + "#" + q.Encode()}, nil
	}
	if r.ResponseType == "code" {
		code, err := a.seal(&auth.LocalToken{Type: auth.GrantCode, Issuer: a.CellURL(c), Subject: pc.subject,
			Schema: r.ClientID, Scope: scopeOrDefault(r.Scope), Roles: roles, Target: r.RedirectURI,
			Issued: now.UnixMilli(), Expires: now.Add(GrantCodeLife).UnixMilli(), AuthTime: now.UnixMilli()})
		if err != nil {
			return nil, err
		}
		q.Set("code", code)
		if r.State != "" {
			q.Set("state", r.State)
		}
		sep := "?"
		if strings.Contains(r.RedirectURI, "?") {
			sep = "&"
		}
		return &AuthzResult{Redirect: r.RedirectURI + sep + q.Encode()}, nil
	}
	tok, err := a.seal(&auth.LocalToken{Type: auth.ResidentAccess, Issuer: a.CellURL(c), Subject: pc.subject,
		Schema: r.ClientID, Scope: scopeOrDefault(r.Scope), Roles: roles,
		Issued: now.UnixMilli(), Expires: now.Add(life).UnixMilli(), AuthTime: now.UnixMilli()})
	if err != nil {
		return nil, err
	}
	q.Set("access_token", tok)
	q.Set("token_type", "Bearer")
	q.Set("expires_in", itoa(int64(life/time.Second)))
	if r.State != "" {
		q.Set("state", r.State)
	}
	q.Set("failed_count", itoa(pc.failed))
	if pc.last > 0 {
		q.Set("last_authenticated", itoa(pc.last))
	}
	if box, _ := a.BoxBySchema(ctx, c, r.ClientID); box == "" {
		q.Set("box_not_installed", "true")
	}
	return &AuthzResult{Redirect: r.RedirectURI + "#" + q.Encode()}, nil
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// codeGrant exchanges a grant code from __authz; the app must
// authenticate as the client the code was issued to, and a code works once.
func (a *Authn) codeGrant(ctx context.Context, c *Cell, req *TokenRequest, schema string) (*TokenResponse, error) {
	if req.Code == "" {
		return nil, perr.New("PR400-AN-0019") // invalid_grant, as Personium
	}
	if req.Owner {
		return nil, perr.New("PR400-AN-0008") // as Personium: the code grant does not represent the owner
	}
	t, err := a.Sealer.Open(req.Code)
	if err != nil || t.Type != auth.GrantCode || t.Issuer != a.CellURL(c) || t.Expired(a.now()) {
		return nil, perr.New("PR400-AN-0019")
	}
	if schema == "" {
		return nil, perr.New("PR401-AN-0021")
	}
	if strings.TrimSuffix(schema, confidentialMark) != t.Schema {
		return nil, perr.New("PR401-AN-0020", t.Schema, strings.TrimSuffix(schema, confidentialMark))
	}
	now := a.now().UnixMilli()
	_, err = a.Cells.Store.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: a.Cells.NewID(),
		Kind: KindUsedCode, Cell: c.ID, Key: t.ID, Body: json.RawMessage(`{"expires":` + itoa(t.Expires) + `}`), Published: now, Updated: now}})
	if perr.Is(err, perr.Exist) {
		return nil, perr.New("PR400-AN-0019") // replayed
	}
	if err != nil {
		return nil, err
	}
	acc, err := a.residentAccount(ctx, c, t.Subject)
	if err != nil {
		return nil, perr.New("PR400-AN-0019")
	}
	roles, err := a.accountRoles(ctx, c, acc)
	if err != nil {
		return nil, err
	}
	resp := &TokenResponse{}
	if hasScope(t.Scope, "openid") {
		if resp.IDToken, err = a.idToken(c, t.Subject, t.Schema, a.now()); err != nil {
			return nil, err
		}
	}
	base := &auth.LocalToken{Issuer: a.CellURL(c), Subject: t.Subject, Schema: schema, Scope: t.Scope, Roles: roles, AuthTime: t.AuthTime}
	return resp, a.issue(c, req, resp, base, auth.ResidentAccess, auth.ResidentRefresh)
}

// idToken is an OpenID Connect ID token of c for subject, for the app client.
func (a *Authn) idToken(c *Cell, subject, client string, now time.Time) (string, error) {
	return a.Key.SignIDToken(&auth.IDToken{Issuer: a.CellURL(c), Subject: subject, Audience: client,
		IssuedAt: now, Expires: now.Add(DefaultAccessLife)})
}

func hasScope(scope []string, s string) bool {
	for _, x := range scope {
		if x == s {
			return true
		}
	}
	return false
}

// CookiePrincipal resolves a p_cookie session: the cookie value and the
// p_cookie_peer the page sent with it.
func (a *Authn) CookiePrincipal(ctx context.Context, c *Cell, cookie, peer string) (pds.Principal, error) {
	t, err := a.Sealer.Open(cookie)
	if err != nil {
		return pds.Principal{}, err
	}
	if peer == "" || subtle.ConstantTimeCompare([]byte(peer), []byte(t.Target)) != 1 {
		return pds.Principal{}, perr.New("PR401-AU-0006")
	}
	// The cookie holds a copy of the access token: resolve that.
	return a.localPrincipal(ctx, c, t)
}

// BoxBySchema returns the name of the box of c installed for schema (a
// "#c" suffix is ignored), "" if none.
func (a *Authn) BoxBySchema(ctx context.Context, c *Cell, schema string) (string, error) {
	schema = strings.TrimSuffix(schema, confidentialMark)
	if schema == "" {
		return "", nil
	}
	p := a.Cells.CtlProvider(c)
	boxes, _, err := p.List(ctx, a.Cells.CellSchema().Type("Box"), &odata.ListRequest{
		Filter: metastore.Cmp{Field: "Schema", Op: metastore.Eq, Value: schema}, Limit: 1})
	if err != nil || len(boxes) == 0 {
		return "", err
	}
	return boxes[0].Props["Name"].(string), nil
}

// Introspect answers {cell}__introspect for token (RFC 7662 as Personium
// answers it, IntrospectionEndPointResource): active with client_id,
// exp and iat (Unix seconds), sub, iss, aud and p_roles for a resident
// access or refresh token issued by c, or a visitor token or transcell
// token issued by c or aimed at it, unexpired; {"active": false} for
// anything else. schema, when set, is the only app whose tokens the
// caller may inspect.
func (a *Authn) Introspect(c *Cell, token, schema string) map[string]any {
	inactive := map[string]any{"active": false}
	now := a.now()
	cellURL := a.CellURL(c)
	out := map[string]any{"active": true}
	if auth.IsLocalToken(token) {
		t, err := a.Sealer.Open(token)
		if err != nil || t.Expired(now) || (schema != "" && strings.TrimSuffix(t.Schema, "#c") != schema) {
			return inactive
		}
		switch t.Type {
		case auth.ResidentAccess, auth.ResidentRefresh:
			if t.Issuer != cellURL {
				return inactive
			}
		case auth.VisitorAccess, auth.VisitorRefresh:
			if t.Issuer != cellURL {
				return inactive
			}
			out["aud"] = cellURL
		default:
			return inactive
		}
		out["client_id"], out["exp"], out["iat"] = nullable(t.Schema), t.Expires/1000, t.Issued/1000
		out["sub"], out["iss"], out["p_roles"] = t.Subject, t.Issuer, nonNil(t.Roles)
		return out
	}
	tc, err := auth.ParseTransCell(token, a.Trust, now)
	if err != nil || (schema != "" && strings.TrimSuffix(tc.Schema, "#c") != schema) || (tc.Issuer != cellURL && tc.Target != cellURL) {
		return inactive
	}
	out["client_id"], out["exp"], out["iat"] = nullable(tc.Schema), tc.Expires.Unix(), tc.IssuedAt.Unix()
	out["sub"], out["iss"], out["aud"], out["p_roles"] = tc.Subject, tc.Issuer, tc.Target, nonNil(tc.Roles)
	return out
}

// ClientSchema authenticates an app by client_id and client_secret (a
// transcell token its cell issued to c), as the token endpoint does, and
// returns the schema.
func (a *Authn) ClientSchema(ctx context.Context, c *Cell, id, secret string) (string, error) {
	return a.clientSchema(ctx, c, &TokenRequest{ClientID: id, ClientSecret: secret})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
