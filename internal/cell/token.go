package cell

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// Grant types of the token endpoint.
const (
	GrantPassword     = "password"
	GrantRefresh      = "refresh_token"
	GrantSAML2Bearer  = "urn:ietf:params:oauth:grant-type:saml2-bearer"
	GrantAuthzCode    = "authorization_code"
	confidentialRole  = "confidentialClient"
	confidentialMark  = "#c"
	defaultTokenScope = "root"
)

// TokenRequest is a request to {cell}__token, already read from the form
// and the Authorization header.
type TokenRequest struct {
	GrantType    string
	Username     string
	Password     string
	Assertion    string // saml2-bearer
	RefreshToken string
	Target       string // p_target: issue a transcell token for this cell (or unit) URL
	ClientID     string // app schema URL
	ClientSecret string // a transcell token issued by the app cell to this cell
	Code         string // authorization_code grant: a GC~ code from __authz
	Cookie       bool   // p_cookie: also issue a cookie session
	Owner        bool   // p_owner: an owner representative asks for an AU~ token
	Scope        []string
	ExpiresIn    time.Duration // 0: default
	RefreshIn    time.Duration // 0: default
	RemoteAddr   string
}

// TokenResponse is the success answer of the token endpoint.
type TokenResponse struct {
	AccessToken       string `json:"access_token"`
	TokenType         string `json:"token_type"`
	ExpiresIn         int64  `json:"expires_in"`
	Scope             string `json:"scope,omitempty"`
	RefreshToken      string `json:"refresh_token,omitempty"`
	RefreshExpiresIn  int64  `json:"refresh_token_expires_in,omitempty"`
	Target            string `json:"p_target,omitempty"`
	LastAuthenticated *int64 `json:"last_authenticated,omitempty"`
	FailedCount       *int64 `json:"failed_count,omitempty"`
	URL               string `json:"url,omitempty"` // password change: where to change it
	CookiePeer        string `json:"p_cookie_peer,omitempty"`
	IDToken           string `json:"id_token,omitempty"` // code flow with scope openid
	// Cookie is the value of the p_cookie cookie to set, "" if none.
	Cookie string `json:"-"`
}

// PasswordChangeRequired is returned (with a TokenResponse carrying an AP~
// token) when the account must change its password: 401 PR401-AN-0023.
var PasswordChangeRequired = perr.New("PR401-AN-0023")

// Token answers a token request for cell c. A non-nil response together
// with PasswordChangeRequired is the password-change answer.
func (a *Authn) Token(ctx context.Context, c *Cell, req *TokenRequest) (*TokenResponse, error) {
	if req.ExpiresIn <= 0 || req.ExpiresIn > MaxAccessLife {
		req.ExpiresIn = DefaultAccessLife
	}
	if req.RefreshIn <= 0 || req.RefreshIn > MaxRefreshLife {
		req.RefreshIn = DefaultRefreshLife
	}
	if req.Target != "" {
		t, err := a.normalizeTarget(req.Target)
		if err != nil {
			return nil, err
		}
		req.Target = t
	}
	schema, err := a.clientSchema(ctx, c, req)
	if err != nil {
		return nil, err
	}
	switch req.GrantType {
	case GrantPassword:
		return a.passwordGrant(ctx, c, req, schema)
	case GrantRefresh:
		return a.refreshGrant(ctx, c, req, schema)
	case GrantSAML2Bearer:
		return a.assertionGrant(ctx, c, req, schema)
	case GrantAuthzCode:
		return a.codeGrant(ctx, c, req, schema)
	case "":
		return nil, perr.New("PR400-AN-0001", "null") // as Personium: unsupported_grant_type [null]
	}
	return nil, perr.New("PR400-AN-0001", req.GrantType)
}

// normalizeTarget checks p_target: an http(s) URL; a trailing slash is added.
func (a *Authn) normalizeTarget(t string) (string, error) {
	t = ResolveLocalUnit(a.UnitURL, t)
	if !strings.HasPrefix(t, "http://") && !strings.HasPrefix(t, "https://") || strings.ContainsAny(t, " \t\r\n#?") {
		return "", perr.New("PR400-AN-0002")
	}
	if !strings.HasSuffix(t, "/") {
		t += "/"
	}
	return t, nil
}

// clientSchema authenticates the app, if the request names one: the
// client secret must be a transcell token issued by the client_id cell
// to this cell. A confidentialClient role in it marks the schema "#c".
func (a *Authn) clientSchema(ctx context.Context, c *Cell, req *TokenRequest) (string, error) {
	if req.ClientID == "" && req.ClientSecret == "" {
		return "", nil
	}
	if req.ClientID == "" {
		return "", nil // a secret without a client is ignored, as in Personium
	}
	if req.ClientSecret == "" {
		return "", perr.New("PR400-AN-0003") // invalid_client (AuthErrorTest)
	}
	tc, err := auth.ParseTransCell(req.ClientSecret, a.Trust, a.now())
	if err != nil {
		switch perr.CodeOf(err) {
		case "PR401-AU-0002":
			return "", perr.New("PR400-AN-0004")
		case "PR401-AU-0008":
			return "", perr.New("PR400-AN-0005")
		}
		return "", perr.New("PR400-AN-0003")
	}
	clientID := req.ClientID
	if !strings.HasSuffix(clientID, "/") {
		clientID += "/"
	}
	if tc.Issuer != clientID {
		return "", perr.New("PR400-AN-0006")
	}
	if tc.Target != a.CellURL(c) {
		return "", perr.New("PR400-AN-0007")
	}
	for _, r := range tc.Roles {
		if strings.HasSuffix(r, "/__role/__/"+confidentialRole) || strings.HasSuffix(r, "/"+confidentialRole) {
			return clientID + confidentialMark, nil
		}
	}
	return clientID, nil
}

func scopeOrDefault(s []string) []string {
	if len(s) == 0 {
		return []string{defaultTokenScope}
	}
	return s
}

// passwordCheck is the outcome of checking an account's password.
type passwordCheck struct {
	acc          *odata.Entity
	subject      string
	last, failed int64 // history before this attempt
	mustChange   bool  // Status passwordChangeRequired
}

// checkPassword verifies username and password of an account of c, with
// the account's status, IP range and the brief lock after a failure, and
// records the attempt. Every failure is PR400-AN-0017.
func (a *Authn) checkPassword(ctx context.Context, c *Cell, username, password, remote string) (*passwordCheck, error) {
	if username == "" {
		return nil, perr.New("PR400-AN-0016", "username")
	}
	if password == "" {
		return nil, perr.New("PR400-AN-0016", "password")
	}
	fail := perr.New("PR400-AN-0017")
	acc, err := a.account(ctx, c, username)
	if err != nil {
		if perr.Is(err, perr.NotExist) {
			// Spend the time a real check would, so that a timing
			// difference does not reveal which accounts exist.
			auth.VerifyPassword(dummyHash(), password)
			return nil, fail
		}
		return nil, err
	}
	hist, err := a.history(ctx, c, acc.ID)
	if err != nil {
		return nil, err
	}
	now := a.now()
	lastFailed := now.Sub(time.UnixMilli(hist.LastFailed))
	locked := a.LockCount > 0 && hist.Failed >= int64(a.LockCount) && lastFailed < a.LockTime
	if hist.LastFailed > 0 && (lastFailed < validAuthnInterval || locked) {
		// Locked for a moment after a failure: refused even with the right password.
		_ = a.recordAttempt(ctx, c, acc.ID, hist, false, now)
		return nil, fail
	}
	hash, err := a.Cells.PasswordHash(ctx, c, acc.ID)
	if err != nil {
		return nil, err
	}
	status, _ := acc.Props["Status"].(string)
	if hash == "" || !auth.VerifyPassword(hash, password) || status == "deactivated" ||
		!ipAllowed(acc.Props["IPAddressRange"], remote) {
		if err := a.recordAttempt(ctx, c, acc.ID, hist, false, now); err != nil {
			return nil, err
		}
		return nil, fail
	}
	pc := &passwordCheck{acc: acc, subject: a.CellURL(c) + "#" + username, last: hist.LastAuth, failed: hist.Failed,
		mustChange: status == "passwordChangeRequired"}
	if err := a.recordAttempt(ctx, c, acc.ID, hist, true, now); err != nil {
		return nil, err
	}
	return pc, nil
}

// passwordGrant is ROPC: username and password of an account of c.
func (a *Authn) passwordGrant(ctx context.Context, c *Cell, req *TokenRequest, schema string) (*TokenResponse, error) {
	pc, err := a.checkPassword(ctx, c, req.Username, req.Password, req.RemoteAddr)
	if err != nil {
		return nil, err
	}
	now := a.now()
	resp := &TokenResponse{FailedCount: &pc.failed}
	if pc.last > 0 {
		resp.LastAuthenticated = &pc.last
	}
	if pc.mustChange {
		tok, err := a.seal(&auth.LocalToken{Type: auth.PasswordChange, Issuer: a.CellURL(c), Subject: pc.subject,
			Issued: now.UnixMilli(), Expires: now.Add(req.ExpiresIn).UnixMilli()})
		if err != nil {
			return nil, err
		}
		resp.AccessToken, resp.TokenType, resp.ExpiresIn = tok, "Bearer", int64(req.ExpiresIn/time.Second)
		resp.URL = a.CellURL(c) + "__mypassword"
		return resp, PasswordChangeRequired
	}
	if req.Owner {
		return a.ownerToken(ctx, c, req, resp)
	}
	roles, err := a.accountRoles(ctx, c, pc.acc)
	if err != nil {
		return nil, err
	}
	err = a.issue(c, req, resp, &auth.LocalToken{Issuer: a.CellURL(c), Subject: pc.subject, Schema: schema,
		Scope: scopeOrDefault(req.Scope), Roles: roles, AuthTime: now.UnixMilli()}, auth.ResidentAccess, auth.ResidentRefresh)
	return resp, err
}

// dummyHash is verified against when an account does not exist. It is
// made on first use: at start-up it would cost the time and the 32 MiB
// of a scrypt run before the first request.
var dummyHash = sync.OnceValue(func() string {
	h, _ := auth.HashPassword("not-a-password", strings.NewReader(strings.Repeat("x", 64)))
	return h
})

func (a *Authn) seal(t *auth.LocalToken) (string, error) {
	t.ID = a.Cells.NewID()
	return a.Sealer.Seal(t, a.Cells.rand())
}

// issue fills resp with an access token (local of type access, or a
// transcell token when req.Target is set) and a refresh token of type
// refresh for the subject described by base.
func (a *Authn) issue(c *Cell, req *TokenRequest, resp *TokenResponse, base *auth.LocalToken, access, refresh auth.TokenType) error {
	now := a.now()
	resp.TokenType = "Bearer"
	resp.ExpiresIn = int64(req.ExpiresIn / time.Second)
	resp.Scope = strings.Join(base.Scope, " ")
	if req.Target != "" {
		tc := &auth.TransCellToken{ID: a.Cells.NewID(), Issuer: a.CellURL(c), Subject: base.Subject, Target: req.Target,
			Schema: base.Schema, Roles: base.Roles, Scopes: base.Scope, IssuedAt: now, Expires: now.Add(req.ExpiresIn)}
		if access == auth.VisitorAccess {
			// A visitor's transcell token speaks for this cell's roles the visitor holds.
			tc.Roles = base.Roles
		}
		tok, err := a.Key.SignTransCell(tc, a.Cells.rand())
		if err != nil {
			return err
		}
		resp.AccessToken, resp.Target = tok, req.Target
	} else {
		t := *base
		t.Type, t.Issued, t.Expires = access, now.UnixMilli(), now.Add(req.ExpiresIn).UnixMilli()
		tok, err := a.seal(&t)
		if err != nil {
			return err
		}
		resp.AccessToken = tok
		if req.Cookie {
			// The cookie is the access token bound to a peer value that the
			// page must send along (p_cookie_peer), against CSRF.
			ck := t
			ck.Target = a.Cells.NewID()
			if resp.Cookie, err = a.seal(&ck); err != nil {
				return err
			}
			resp.CookiePeer = ck.Target
		}
	}
	r := *base
	r.Type, r.Issued, r.Expires = refresh, now.UnixMilli(), now.Add(req.RefreshIn).UnixMilli()
	tok, err := a.seal(&r)
	if err != nil {
		return err
	}
	resp.RefreshToken, resp.RefreshExpiresIn = tok, int64(req.RefreshIn/time.Second)
	return nil
}

// refreshGrant exchanges a refresh token of this cell for new tokens.
func (a *Authn) refreshGrant(ctx context.Context, c *Cell, req *TokenRequest, schema string) (*TokenResponse, error) {
	if req.RefreshToken == "" {
		return nil, perr.New("PR400-AN-0009") // invalid_grant, as Personium
	}
	t, err := a.Sealer.Open(req.RefreshToken)
	if err != nil {
		return nil, perr.New("PR400-AN-0009")
	}
	if !t.Type.IsRefresh() {
		return nil, perr.New("PR400-AN-0013")
	}
	if t.Expired(a.now()) || t.Issuer != a.CellURL(c) {
		return nil, perr.New("PR400-AN-0010")
	}
	// A refresh token stays with the app it was issued to: the same
	// client must authenticate again, and no other (Personium
	// receiveRefresh; apiref 293).
	if schema != t.Schema {
		if schema == "" {
			return nil, perr.New("PR401-AN-0021")
		}
		return nil, perr.New("PR401-AN-0020", t.Schema, schema)
	}
	resp := &TokenResponse{}
	if req.Owner {
		// Representing the owner (Personium receiveRefresh): only an
		// account's own refresh token, of a representative account.
		if t.Type != auth.ResidentRefresh {
			return nil, perr.New("PR400-AN-0008")
		}
		name, _ := strings.CutPrefix(t.Subject, a.CellURL(c)+"#")
		owner := *req
		owner.Username, owner.Target = name, ""
		return a.ownerToken(ctx, c, &owner, resp)
	}
	base := &auth.LocalToken{Issuer: t.Issuer, Subject: t.Subject, Schema: schema, Scope: t.Scope, Roles: t.Roles, AuthTime: t.AuthTime}
	if t.Type == auth.ResidentRefresh {
		acc, err := a.residentAccount(ctx, c, t.Subject)
		if err != nil {
			return nil, perr.New("PR400-AN-0010")
		}
		if base.Roles, err = a.accountRoles(ctx, c, acc); err != nil {
			return nil, err
		}
		return resp, a.issue(c, req, resp, base, auth.ResidentAccess, auth.ResidentRefresh)
	}
	return resp, a.issue(c, req, resp, base, auth.VisitorAccess, auth.VisitorRefresh)
}

// assertionGrant takes a transcell token aimed at this cell and gives the
// visitor a local token with the roles this cell grants them.
func (a *Authn) assertionGrant(ctx context.Context, c *Cell, req *TokenRequest, schema string) (*TokenResponse, error) {
	if req.Assertion == "" {
		return nil, perr.New("PR400-AN-0009") // invalid_grant, as Personium
	}
	if req.Owner {
		return nil, perr.New("PR400-AN-0008") // a visitor cannot represent the owner
	}
	tc, err := auth.ParseTransCell(req.Assertion, a.Trust, a.now())
	if err != nil {
		switch perr.CodeOf(err) {
		case "PR401-AU-0002":
			return nil, perr.New("PR400-AN-0010")
		case "PR401-AU-0008":
			return nil, perr.New("PR400-AN-0011")
		}
		return nil, perr.New("PR400-AN-0009")
	}
	if tc.Target != a.CellURL(c) {
		return nil, perr.New("PR400-AN-0012", tc.Target)
	}
	roles, err := a.VisitorRoles(ctx, c, tc.Issuer, tc.Roles)
	if err != nil {
		return nil, err
	}
	if schema == "" {
		schema = tc.Schema
	}
	resp := &TokenResponse{}
	// The assertion's own scope, not the request's: a token cannot
	// widen what it was given (Personium uses tcToken.getScope()).
	scope := scopeOrDefault(nil)
	if len(tc.Scopes) > 0 {
		scope = tc.Scopes
	}
	base := &auth.LocalToken{Issuer: a.CellURL(c), Subject: tc.Subject, Schema: schema, Scope: scope, Roles: roles}
	return resp, a.issue(c, req, resp, base, auth.VisitorAccess, auth.VisitorRefresh)
}

// residentAccount returns the account a subject URL of this cell names,
// if it still exists and is active.
func (a *Authn) residentAccount(ctx context.Context, c *Cell, subject string) (*odata.Entity, error) {
	name, ok := strings.CutPrefix(subject, a.CellURL(c)+"#")
	if !ok || name == "" {
		return nil, perr.New("PR401-AU-0006")
	}
	acc, err := a.account(ctx, c, name)
	if err != nil {
		return nil, err
	}
	if st, _ := acc.Props["Status"].(string); st == "deactivated" {
		return nil, perr.New("PR401-AU-0006")
	}
	return acc, nil
}

// ownerToken answers a password grant with p_owner=true (Personium's
// unit-local unit user token, AU~, which Personium marks deprecated):
// an account named in the cell's p:ownerRepresentativeAccounts property
// acts for the cell's owner, as a unit user of this cell only. There is
// no refresh token and no transcell form (PR400-AN-0008 with p_target).
func (a *Authn) ownerToken(ctx context.Context, c *Cell, req *TokenRequest, resp *TokenResponse) (*TokenResponse, error) {
	if req.Target != "" {
		return nil, perr.New("PR400-AN-0008")
	}
	ok, err := a.Cells.IsOwnerRepresentative(ctx, c, req.Username)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, perr.New("PR400-AN-0014")
	}
	if c.Owner == "" {
		return nil, perr.New("PR400-AN-0015")
	}
	now := a.now()
	tok, err := a.seal(&auth.LocalToken{Type: auth.UnitLocalUnitUser, Issuer: a.CellURL(c), Subject: c.Owner,
		Issued: now.UnixMilli(), Expires: now.Add(req.ExpiresIn).UnixMilli()})
	if err != nil {
		return nil, err
	}
	resp.AccessToken, resp.TokenType, resp.ExpiresIn = tok, "Bearer", int64(req.ExpiresIn/time.Second)
	return resp, nil
}

// SubjectToken issues a resident access token of c's account name, for
// the engine's _p.as('serviceSubject') (the p:service subject of a
// service collection): the account's roles, the default scope, schema
// the box's schema, valid for lifetime. The account must exist and not be deactivated
// (PR401-AU-0006 otherwise). No password is checked: the cell's owner
// named the account in a property only box writers may set.
func (a *Authn) SubjectToken(ctx context.Context, c *Cell, name, schema string, lifetime time.Duration) (string, error) {
	acc, err := a.residentAccount(ctx, c, a.CellURL(c)+"#"+name)
	if perr.Is(err, perr.NotExist) {
		return "", perr.New("PR401-AU-0006")
	}
	if err != nil {
		return "", err
	}
	roles, err := a.accountRoles(ctx, c, acc)
	if err != nil {
		return "", err
	}
	now := a.now()
	return a.seal(&auth.LocalToken{Type: auth.ResidentAccess, Issuer: a.CellURL(c), Subject: a.CellURL(c) + "#" + name,
		Schema: schema, Scope: scopeOrDefault(nil), Roles: roles, AuthTime: now.UnixMilli(),
		Issued: now.UnixMilli(), Expires: now.Add(lifetime).UnixMilli()})
}
