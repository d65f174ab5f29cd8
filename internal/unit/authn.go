package unit

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
)

// maxFormBytes bounds the body of __token and __introspect.
const maxFormBytes = 64 << 10

// cellPrincipal works out who is asking in a request to cell c: the unit
// master (or a unit user it acts as), or the holder of a token that c
// issued or a transcell token aimed at c, or nobody. A token that is
// presented but unusable is an error (401), whatever the ACLs grant.
func (s *Server) cellPrincipal(r *http.Request, c *cell.Cell) (pds.Principal, error) {
	ctx := r.Context()
	st, _ := ctx.Value(authStateKey{}).(authState)
	switch st {
	case authOK:
		return PrincipalOf(ctx), nil
	case authNone:
		// A p_cookie session: the cookie plus the peer value in the query.
		if ck, err := r.Cookie("p_cookie"); err == nil && s.cfg.Authn != nil {
			if peer := r.URL.Query().Get("p_cookie_peer"); peer != "" {
				return s.cfg.Authn.CookiePrincipal(ctx, c, ck.Value, peer)
			}
		}
		return pds.Principal{}, nil
	case authInvalid:
		token, ok := bearer(r)
		if !ok || s.cfg.Authn == nil {
			break
		}
		if auth.IsLocalToken(token) {
			return s.cfg.Authn.Principal(ctx, c, token)
		}
		tc, _, err := s.transCell(r)
		if err != nil {
			return pds.Principal{}, err
		}
		if p, ok := s.unitUser(r, tc); ok {
			return p, nil // a unit user: its powers in its own cells are the authorizer's business
		}
		return s.cfg.Authn.TransCellPrincipal(ctx, c, tc)
	case authBasic:
		// Basic authentication is for box resources, not the cell's own
		// (Personium's AccessContext.updateBasicAuthenticationStateForResource).
		return pds.Principal{}, perr.New("PR401-AU-0001")
	}
	return pds.Principal{}, authError(ctx)
}

// boxPrincipal is cellPrincipal for a resource of a box: there, an
// account of the cell may also authenticate with Basic (its name and
// password) when the box is the main box or has no schema (reference §4.1).
func (s *Server) boxPrincipal(r *http.Request, c *cell.Cell, box string, schema any) (pds.Principal, error) {
	ctx := r.Context()
	if st, _ := ctx.Value(authStateKey{}).(authState); st != authBasic {
		return s.cellPrincipal(r, c)
	}
	if sc, _ := schema.(string); sc != "" && box != string(pds.MainBox) {
		return pds.Principal{}, perr.New("PR401-AU-0001")
	}
	user, pw, ok := basicCredentials(r.Header.Get("Authorization"))
	if !ok || s.cfg.Authn == nil {
		return pds.Principal{}, perr.New("PR401-AU-0004")
	}
	// Every failure is the same 401: nothing tells which part was wrong.
	p, err := s.cfg.Authn.BasicPrincipal(ctx, c, user, pw, r.RemoteAddr)
	if perr.CodeOf(err) == "PR400-AN-0017" {
		return pds.Principal{}, perr.New("PR401-AU-0005")
	}
	return p, err
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// writeOAuthError writes a token-endpoint error in OAuth's shape:
// {"error":"invalid_grant","error_description":"[PR400-AN-0017] - Authentication failed."}.
func writeOAuthError(w http.ResponseWriter, c *cell.Cell, cellURL string, err error) {
	status, code, desc := auth.OAuthError(err)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="`+cellURL+`"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// cellEndpoint starts a handler of a cell-level endpoint: it loads the
// cell and checks the method, writing the error itself when either fails.
func (s *Server) cellEndpoint(w http.ResponseWriter, r *http.Request, methods ...string) (*cell.Cell, bool) {
	c, err := s.cellOf(r)
	if err != nil {
		perr.Write(w, r, err)
		return nil, false
	}
	for _, m := range methods {
		if r.Method == m {
			return c, true
		}
	}
	perr.Write(w, r, perr.New("PR405-MC-0001"))
	return nil, false
}

// firstOf is the first of a form field's values ("" if none).
func firstOf(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// handleToken answers POST {cell}__token (reference §4.2).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cellEndpoint(w, r, http.MethodPost)
	if !ok {
		return
	}
	cellURL := s.cellURL(c)
	w.Header().Set("Cache-Control", "no-store")
	form, err := readForm(r)
	if err != nil {
		writeOAuthError(w, c, cellURL, perr.New("PR400-AN-0016", "body"))
		return
	}
	req := &cell.TokenRequest{
		GrantType: form.Get("grant_type"), Username: form.Get("username"), Password: form.Get("password"),
		Assertion: form.Get("assertion"), RefreshToken: form.Get("refresh_token"), Target: form.Get("p_target"),
		ClientID: form.Get("client_id"), ClientSecret: form.Get("client_secret"),
		Scope: strings.Fields(form.Get("scope")), RemoteAddr: r.RemoteAddr,
		Code: form.Get("code"), Cookie: strings.EqualFold(form.Get("p_cookie"), "true"), Owner: strings.EqualFold(form.Get("p_owner"), "true"),
	}
	// Lifetimes in seconds, 1 up to the default (which is the longest);
	// anything else is refused, as Personium's TokenEndPointResource does.
	for _, l := range []struct {
		name string
		max  time.Duration
		dst  *time.Duration
	}{{"expires_in", cell.MaxAccessLife, &req.ExpiresIn}, {"refresh_token_expires_in", cell.MaxRefreshLife, &req.RefreshIn}} {
		v, given := form[l.name]
		if !given {
			continue
		}
		n, err := strconv.Atoi(firstOf(v))
		if err != nil || n <= 0 || time.Duration(n)*time.Second > l.max {
			writeOAuthError(w, c, cellURL, perr.New("PR400-AN-0016", l.name))
			return
		}
		*l.dst = time.Duration(n) * time.Second
	}
	// Client authentication: a client assertion wins over Basic, which
	// wins over client_id/client_secret in the body.
	if h := r.Header.Get("Authorization"); h != "" {
		id, secret, ok := basicCredentials(h)
		if !ok {
			writeOAuthError(w, c, cellURL, perr.New("PR400-AN-0018"))
			return
		}
		req.ClientID, req.ClientSecret = id, secret
	}
	if t := form.Get("client_assertion_type"); t != "" || form.Get("client_assertion") != "" {
		if t != cell.GrantSAML2Bearer {
			writeOAuthError(w, c, cellURL, perr.New("PR400-AN-0022", cell.GrantSAML2Bearer))
			return
		}
		req.ClientSecret = form.Get("client_assertion")
		if req.ClientID == "" {
			req.ClientID = form.Get("client_id")
		}
	}
	resp, err := s.cfg.Authn.Token(r.Context(), c, req)
	if err == cell.PasswordChangeRequired && resp != nil {
		// As Personium's PASSWORD_CHANGE_REQUIRED: the error with the
		// password-change token, where to use it, and the history.
		_, code, desc := auth.OAuthError(err)
		out := map[string]any{"error": code, "error_description": desc, "access_token": resp.AccessToken,
			"url": resp.URL, "failed_count": resp.FailedCount, "last_authenticated": nil}
		if resp.LastAuthenticated != nil {
			out["last_authenticated"] = *resp.LastAuthenticated
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="`+cellURL+`"`)
		writeJSON(w, http.StatusUnauthorized, out)
		return
	}
	if err != nil {
		writeOAuthError(w, c, cellURL, err)
		return
	}
	if resp.Cookie != "" {
		ck := &http.Cookie{Name: "p_cookie", Value: resp.Cookie, Path: "/" + c.Name + "/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(resp.ExpiresIn)}
		if strings.HasPrefix(cellURL, "https://") {
			ck.Secure, ck.SameSite = true, http.SameSiteNoneMode // usable from app pages on other hosts
		}
		http.SetCookie(w, ck)
	}
	if req.GrantType == cell.GrantPassword && resp.LastAuthenticated == nil {
		// Personium answers null when the account never logged in before.
		writeJSON(w, http.StatusOK, withNullLastAuth(resp))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func withNullLastAuth(resp *cell.TokenResponse) map[string]any {
	b, _ := json.Marshal(resp)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["last_authenticated"] = nil
	return m
}

// readForm reads an application/x-www-form-urlencoded body of bounded size.
func readForm(r *http.Request) (url.Values, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if err != nil || len(b) > maxFormBytes {
		return nil, perr.New("PR413-MC-0001")
	}
	return url.ParseQuery(string(b))
}

// handleMyPassword answers PUT {cell}__mypassword: an account changes its
// own password with a resident or password-change token.
func (s *Server) handleMyPassword(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cellEndpoint(w, r, http.MethodPut)
	if !ok {
		return
	}
	token, ok := bearer(r)
	if !ok {
		s.writeError(w, r, s.cellURL(c), perr.New("PR401-AU-0001"))
		return
	}
	// Only an account's own token (of this cell, scope auth) or its
	// password-change token: the master token, unit users and other
	// cells' tokens are 403 (Personium checkResidentLocalOrPasswordChangeToken).
	if st, _ := r.Context().Value(authStateKey{}).(authState); st == authOK || !auth.IsLocalToken(token) {
		if tc, tried, err := s.transCell(r); st != authOK && (!tried || err != nil || tc == nil) {
			s.writeError(w, r, s.cellURL(c), perr.New("PR401-AU-0006"))
			return
		}
		perr.Write(w, r, perr.New("PR403-AU-0002"))
		return
	}
	acc, scope, err := s.cfg.Authn.PasswordChangeSubject(r.Context(), c, token)
	if err == nil && !scopeAllows(scope, "auth") {
		err = perr.New("PR403-AU-0007", "auth")
	}
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	pw, has := r.Header[http.CanonicalHeaderKey("X-Personium-Credential")]
	if !has || len(pw) == 0 {
		perr.Write(w, r, perr.New("PR400-AU-0003"))
		return
	}
	if err := s.cfg.Cells.ChangePassword(r.Context(), c, acc, pw[0]); err != nil {
		perr.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleCerts answers GET {cell}__certs: the unit key as a JWKS.
func (s *Server) handleCerts(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.cellEndpoint(w, r, http.MethodGet, http.MethodHead); !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(s.cfg.Authn.Key.JWKS())
}

// handleIntrospect answers POST {cell}__introspect (RFC 7662) for the
// unit master and unit users.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cellEndpoint(w, r, http.MethodPost)
	if !ok {
		return
	}
	schema, err := s.introspector(r, c)
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	form, err := readForm(r)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Authn.Introspect(c, form.Get("token"), schema))
}

// introspector decides who may call {cell}__introspect, as Personium
// does: the unit master, a unit admin or the unit user owning the cell,
// and the introspection user configured for the unit (HTTP Basic), may
// inspect any token; an app may inspect its own apps' tokens, with Basic
// client credentials (client_id and a client secret its cell issued to
// this cell) or with a token carrying its schema. schema is "" for the
// former, the app's schema for the latter.
func (s *Server) introspector(r *http.Request, c *cell.Cell) (schema string, err error) {
	ctx := r.Context()
	switch st, _ := ctx.Value(authStateKey{}).(authState); st {
	case authNone:
		return "", authError(ctx)
	case authBasic:
		user, pw, _ := basicCredentials(r.Header.Get("Authorization"))
		if s.cfg.IntrospectUser != "" && subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.IntrospectUser)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pw), []byte(s.cfg.IntrospectPassword)) == 1 {
			return "", nil
		}
		if schema, err := s.cfg.Authn.ClientSchema(ctx, c, user, pw); err == nil {
			return strings.TrimSuffix(schema, "#c"), nil
		}
		return "", perr.New("PR403-AU-0002")
	}
	if p, err := s.unitPrincipal(r); err == nil && managesCell(p, c) {
		return "", nil
	}
	p, err := s.cellPrincipal(r, c)
	if err != nil {
		return "", err
	}
	if managesCell(p, c) {
		return "", nil
	}
	if p.Schema == "" {
		return "", perr.New("PR403-AU-0002")
	}
	return strings.TrimSuffix(p.Schema, "#c"), nil
}

// setCellACL answers ACL {cell}: replaces the cell's ACL (privilege acl).
func (s *Server) setCellACL(w http.ResponseWriter, r *http.Request, c *cell.Cell, p pds.Principal) {
	if err := s.cellPriv(r.Context(), c, p, "acl"); err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	a, err := acl.Parse(r.Body, s.cellURL(c)+"__role/__/", acl.CellLevel)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	if err := s.cfg.Cells.SetCellACL(r.Context(), c, s.cellURL(c), a); err != nil {
		perr.Write(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// cellPriv checks a cell-level privilege with the configured authorizer.
func (s *Server) cellPriv(ctx context.Context, c *cell.Cell, p pds.Principal, want pds.Privilege) error {
	if z, ok := s.authz.(ACLAuthorizer); ok {
		return z.CellPrivilege(ctx, p, c, want)
	}
	return s.authz.Authorize(ctx, p, c, "Cell", true)
}

// basicCredentials reads "Authorization: Basic …" as Personium does
// (CommonUtils.parseBasicAuthzHeader): base64 (standard or URL-safe
// alphabet), split at the first colon, then each part URL-decoded, as
// RFC 6749 §2.3.1 asks of clients whose IDs are URLs. A part that is
// not valid URL encoding is taken as it is.
func basicCredentials(h string) (user, password string, ok bool) {
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	cred = strings.TrimSpace(cred)
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		if raw, err = base64.URLEncoding.DecodeString(cred); err != nil {
			if raw, err = base64.RawURLEncoding.DecodeString(cred); err != nil {
				return "", "", false
			}
		}
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	return urlDecoded(user), urlDecoded(password), true
}

func urlDecoded(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}
