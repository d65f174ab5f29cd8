package unit

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// authzPages are the pages of {cell}__authz: "login", the plain login
// form, and "password", the form of an account that must choose a new
// password. They share their head and the request's hidden fields. Every
// value is escaped by html/template.
var authzPages = template.Must(template.New("").Parse(`{{define "head"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} {{.Cell}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}
.app{color:#555;word-break:break-all}.err{color:#b00020}button{margin-top:1rem;padding:.5rem 1.2rem}</style></head>
{{end}}{{define "fields"}}{{if .Message}}<p class="err" role="alert">{{.Message}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="response_type" value="{{.ResponseType}}">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<input type="hidden" name="scope" value="{{.Scope}}">
<input type="hidden" name="expires_in" value="{{.ExpiresIn}}">
{{end}}{{define "login"}}{{template "head" .}}<body><h1>Sign in</h1>
<p>The application <span class="app">{{.ClientID}}</span> asks to access your data in the cell <span class="app">{{.CellURL}}</span>.</p>
{{template "fields" .}}<label for="username">User ID</label><input type="text" id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button> <button type="submit" name="cancel_flg" value="true" formnovalidate>Cancel</button>
</form></body></html>
{{end}}{{define "password"}}{{template "head" .}}<body><h1>Change your password</h1>
{{template "fields" .}}<input type="hidden" name="access_token" value="{{.AccessToken}}">
<label for="password">New password</label><input type="password" id="password" name="password" autocomplete="new-password" required autofocus>
<button type="submit">Change and sign in</button>
</form></body></html>
{{end}}`))

type loginData struct {
	Cell, CellURL, Action, Message                               string
	ResponseType, ClientID, RedirectURI, State, Scope, ExpiresIn string
	AccessToken                                                  string // the password form's AP~ token
	Title                                                        string
}

// authzRequest reads the parameters of __authz from a query or form.
func authzRequest(v url.Values) *cell.AuthzRequest {
	clientID := v.Get("client_id")
	if clientID != "" && !strings.HasSuffix(clientID, "/") {
		clientID += "/" // as Personium: the apiref example has no slash
	}
	r := &cell.AuthzRequest{ResponseType: v.Get("response_type"), ClientID: clientID,
		RedirectURI: v.Get("redirect_uri"), State: v.Get("state"), Scope: strings.Fields(v.Get("scope"))}
	if e := v.Get("expires_in"); e != "" {
		n, err := strconv.Atoi(e)
		if err != nil || n < 1 {
			r.ExpiresIn = -1
		} else {
			r.ExpiresIn = time.Duration(n) * time.Second
		}
	}
	return r
}

// handleAuthz answers {cell}__authz: GET shows the login form, POST
// checks it and redirects (303) with a code or a token (reference §4.4).
func (s *Server) handleAuthz(w http.ResponseWriter, r *http.Request) {
	c, err := s.cellOf(r)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	var v url.Values
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		v = r.URL.Query()
	case http.MethodPost:
		if v, err = readForm(r); err != nil {
			perr.Write(w, r, err)
			return
		}
	default:
		perr.Write(w, r, perr.New("PR405-MC-0001"))
		return
	}
	req := authzRequest(v)
	if err := s.cfg.Authn.ValidateAuthz(req); err != nil {
		code := perr.CodeOf(err)
		if code == "PR400-AZ-0002" || code == "PR400-AZ-0003" {
			// Never redirect to an unverified URI: show the cell's error page.
			http.Redirect(w, r, s.cellURL(c)+"__html/error?code="+url.QueryEscape(code), http.StatusSeeOther)
			return
		}
		oauthErr := "invalid_request"
		if code == "PR400-AZ-0001" {
			oauthErr = "unsupported_response_type"
		}
		s.authzRedirectError(w, r, req, oauthErr, code)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	// Boolean.parseBoolean, as Personium: its own form posts cancel_flg=0.
	if strings.EqualFold(v.Get("cancel_flg"), "true") {
		s.authzRedirectError(w, r, req, "unauthorized_client", "PR401-AZ-0001")
		return
	}
	if ap := v.Get("access_token"); ap != "" && r.Method == http.MethodPost {
		// The password form's answer (Personium handlePasswordChange).
		pw := v.Get("password")
		if pw == "" {
			s.authzAgain(w, r, c, req, "invalid_request", "PS-AU-0007", ap)
			return
		}
		res, err := s.cfg.Authn.AuthorizePasswordChange(r.Context(), c, req, ap, pw, r.RemoteAddr)
		switch {
		case perr.CodeOf(err) == "PR400-AU-0001":
			s.authzAgain(w, r, c, req, "invalid_request", "PS-AU-0008", ap)
		case perr.Public(err).Status() == http.StatusUnauthorized:
			s.authzAgain(w, r, c, req, "unauthorized_client", "PS-AU-0005", "")
		case err != nil:
			s.authzRedirectError(w, r, req, "server_error", "PS-AU-0009")
		default:
			http.Redirect(w, r, res.Redirect, http.StatusSeeOther)
		}
		return
	}
	if strings.EqualFold(v.Get("password_change_required"), "true") && v.Get("access_token") != "" {
		msg := perr.Message("PS-AU-0006")
		if code := v.Get("code"); strings.HasPrefix(code, "PS-AU-") {
			msg = perr.Message(code)
		}
		s.passwordForm(w, c, req, v.Get("access_token"), msg)
		return
	}
	if !v.Has("username") && !v.Has("password") {
		// A p_cookie session signs the browser in without a password.
		if ck, err := r.Cookie("p_cookie"); err == nil {
			if res, err := s.cfg.Authn.AuthorizeCookie(r.Context(), c, req, ck.Value); err == nil {
				http.Redirect(w, r, res.Redirect, http.StatusSeeOther)
				return
			}
			s.loginForm(w, c, req, perr.Message("PS-AU-0005"))
			return
		}
		msg := ""
		if code := v.Get("code"); strings.HasPrefix(code, "PS-AU-") {
			msg = perr.Message(code) // back from a failed sign-in (below)
		}
		s.loginForm(w, c, req, msg)
		return
	}
	res, err := s.cfg.Authn.Authorize(r.Context(), c, req, v.Get("username"), v.Get("password"), r.RemoteAddr)
	switch {
	case err == cell.PasswordChangeRequired && res != nil:
		s.authzAgain(w, r, c, req, "unauthorized_client", "PS-AU-0006", res.PasswordChange)
		return
	case perr.CodeOf(err) == "PR400-AN-0016":
		s.authzAgain(w, r, c, req, "invalid_request", "PS-AU-0003", "")
		return
	case perr.CodeOf(err) == "PR400-AN-0017":
		s.authzAgain(w, r, c, req, "invalid_grant", "PS-AU-0004", "")
		return
	case err != nil:
		perr.Write(w, r, err)
		return
	}
	http.Redirect(w, r, res.Redirect, http.StatusSeeOther)
}

// authzAgain answers a failed sign-in as Personium does: 303 back to
// __authz with the request's parameters and the error, whose code the
// login form then explains.
// With a password-change token, the form asks for a new password.
func (s *Server) authzAgain(w http.ResponseWriter, r *http.Request, c *cell.Cell, req *cell.AuthzRequest, oauthErr, code, apToken string) {
	q := url.Values{"response_type": {req.ResponseType}, "client_id": {req.ClientID}, "redirect_uri": {req.RedirectURI},
		"error": {oauthErr}, "error_description": {perr.Message(code)}, "code": {code}}
	if apToken != "" {
		q.Set("access_token", apToken)
		q.Set("password_change_required", "true")
	}
	if req.State != "" {
		q.Set("state", req.State)
	}
	if len(req.Scope) > 0 {
		q.Set("scope", strings.Join(req.Scope, " "))
	}
	if req.ExpiresIn > 0 {
		q.Set("expires_in", strconv.Itoa(int(req.ExpiresIn/time.Second)))
	}
	http.Redirect(w, r, s.cellURL(c)+"__authz?"+q.Encode(), http.StatusSeeOther)
}

// passwordForm asks an account that must change its password for a new
// one; the answer goes back to __authz with the password-change token.
func (s *Server) passwordForm(w http.ResponseWriter, c *cell.Cell, req *cell.AuthzRequest, apToken, msg string) {
	s.authzPage(w, c, req, "password", loginData{Title: "Change your password for", Message: msg, AccessToken: apToken})
}

func (s *Server) loginForm(w http.ResponseWriter, c *cell.Cell, req *cell.AuthzRequest, msg string) {
	s.authzPage(w, c, req, "login", loginData{Title: "Sign in to", Message: msg})
}

// authzPage writes the page name of authzPages for req, with d's title,
// message and token.
func (s *Server) authzPage(w http.ResponseWriter, c *cell.Cell, req *cell.AuthzRequest, name string, d loginData) {
	if req.ExpiresIn > 0 {
		d.ExpiresIn = strconv.Itoa(int(req.ExpiresIn / time.Second))
	}
	d.Cell, d.CellURL, d.Action = c.Name, s.cellURL(c), s.cellURL(c)+"__authz"
	d.ResponseType, d.ClientID, d.RedirectURI, d.State, d.Scope = req.ResponseType, req.ClientID, req.RedirectURI, req.State, strings.Join(req.Scope, " ")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = authzPages.ExecuteTemplate(w, name, d)
}

// authzRedirectError sends the browser back to the (verified) redirect
// URI with an OAuth error.
func (s *Server) authzRedirectError(w http.ResponseWriter, r *http.Request, req *cell.AuthzRequest, oauthErr, code string) {
	q := url.Values{"error": {oauthErr}, "error_description": {perr.Message(code)}, "code": {code}}
	if req.State != "" {
		q.Set("state", req.State)
	}
	// Only the code flow answers in the query; every other answer,
	// an unknown or missing response_type's included, in the fragment
	// (Personium AuthzEndPointResource, ImplicitFlowTest).
	sep := "#"
	if req.ResponseType == "code" {
		sep = "?"
		if strings.Contains(req.RedirectURI, "?") {
			sep = "&"
		}
	}
	http.Redirect(w, r, req.RedirectURI+sep+q.Encode(), http.StatusSeeOther)
}

// handleErrorPage answers {cell}__html/error?code=…: a plain page.
func (s *Server) handleErrorPage(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("code")
	msg := perr.Message("PS-ER-0002")
	if strings.HasPrefix(code, "PR") {
		msg = perr.Message(code)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = errorPage.Execute(w, struct{ Code, Message string }{code, msg})
}

var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Error</title></head>
<body><h1>Error</h1><p>{{.Message}}</p><p><code>{{.Code}}</code></p></body></html>
`))

// handleBoxURL answers GET {cell}__box[?schema=…]: the URL of the box
// installed for the schema of the request (or of the caller's token).
func (s *Server) handleBoxURL(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cellEndpoint(w, r, http.MethodGet, http.MethodHead)
	if !ok {
		return
	}
	// As Personium's BoxUrlResource: the box of ?schema=, else of the
	// token's app, else the main box; then read on that box decides. A
	// token that is not good is only refused where it would matter.
	p, authErr := s.cellPrincipal(r, c)
	if authErr != nil {
		p = pds.Principal{}
	}
	schema, given := r.URL.Query().Get("schema"), r.URL.Query().Has("schema")
	if given && !validSchemaURI(schema) {
		perr.Write(w, r, perr.New("PR400-OD-0029", "schema", schema))
		return
	}
	if !given {
		schema = strings.TrimSuffix(p.Schema, "#c")
	}
	name := string(pds.MainBox)
	if schema != "" {
		var err error
		if name, err = s.cfg.Authn.BoxBySchema(r.Context(), c, schema); err != nil {
			perr.Write(w, r, err)
			return
		}
	}
	if name == "" {
		if authErr != nil {
			s.writeError(w, r, s.cellURL(c), authErr)
		} else {
			perr.Write(w, r, perr.New("PR403-AU-0002"))
		}
		return
	}
	b, err := s.boxByName(r, c, name)
	// A token of the box's own app, or a unit user's, needs no privilege
	// on it (Personium BoxUrlRsCmp).
	own := err == nil && b.schema != "" && strings.TrimSuffix(p.Schema, "#c") == b.schema
	if err == nil && s.cfg.DAV != nil && !own && !contentsBypass(p, c, acl.Read) {
		var root *acl.ACL
		if root, err = dav.RootACL(r.Context(), s.cfg.Cells.Store, cell.BoxRoot(c.ID, b.id)); err == nil {
			a := &boxAccess{s: s, p: p, c: c, box: b, authErr: authErr}
			err = a.Check(r.Context(), []*acl.ACL{root}, acl.Read)
		}
	}
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	u := s.cellURL(c) + name + "/"
	w.Header().Set("Location", u)
	w.Header().Set("Access-Control-Expose-Headers", "Location")
	writeJSON(w, http.StatusOK, map[string]string{"Url": u})
}

// validSchemaURI accepts what Personium's isValidSchemaUri does: an
// http(s) URL ending in a slash, or a URN.
func validSchemaURI(s string) bool {
	if strings.HasPrefix(s, "urn:") {
		return len(s) > 4 && len(s) <= 1024 && !strings.ContainsAny(s, " \t\r\n")
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && strings.HasSuffix(s, "/") &&
		u.RawQuery == "" && u.Fragment == "" && len(s) <= 1024
}

// handleRoles answers GET on role resource URLs (reference §1.3):
// {cell}__role/ lists the boxes that have roles ("__" is the main box),
// {cell}__role/{box}/ the roles of a box, {cell}__role/{box}/{role} one
// role; each needs auth-read. Personium answers these with placeholder
// text; here they say what exists, as JSON, so role URLs resolve.
func (s *Server) handleRoles(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cellEndpoint(w, r, http.MethodGet, http.MethodHead)
	if !ok {
		return
	}
	p, err := s.cellPrincipal(r, c)
	if err == nil {
		err = s.cellPriv(r.Context(), c, p, "auth-read")
	}
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/"+c.Name+"/__role"), "/")
	box, role, _ := strings.Cut(rest, "/")
	ctx := r.Context()
	prov := s.cfg.Cells.CtlProvider(c)
	roleType := s.cfg.Cells.CellSchema().Type("Role")
	var boxVal any = box
	if box == string(pds.MainBox) {
		boxVal = nil
	}
	switch {
	case box == "":
		boxes, _, err := prov.List(ctx, s.cfg.Cells.CellSchema().Type("Box"), &odata.ListRequest{Limit: -1})
		if err != nil {
			perr.Write(w, r, err)
			return
		}
		names := []string{string(pds.MainBox)}
		for _, b := range boxes {
			names = append(names, b.Props["Name"].(string))
		}
		writeJSON(w, http.StatusOK, map[string]any{"boxes": names})
	case role == "":
		if boxVal != nil {
			if _, err := prov.Get(ctx, s.cfg.Cells.CellSchema().Type("Box"), odata.KeyPredicate{{Value: box}}); err != nil {
				perr.Write(w, r, perr.New("PR404-DV-0002", s.cellURL(c)+box))
				return
			}
		}
		roles, _, err := prov.List(ctx, roleType, &odata.ListRequest{Limit: -1,
			Filter: metastore.Cmp{Field: "_Box.Name", Op: metastore.Eq, Value: boxVal}})
		if err != nil {
			perr.Write(w, r, err)
			return
		}
		var urls []string
		for _, ro := range roles {
			urls = append(urls, s.cellURL(c)+"__role/"+box+"/"+ro.Props["Name"].(string))
		}
		writeJSON(w, http.StatusOK, map[string]any{"box": box, "roles": urls})
	default:
		if _, err := prov.Get(ctx, roleType, odata.KeyPredicate{{Name: "Name", Value: role}, {Name: "_Box.Name", Value: boxVal}}); err != nil {
			perr.Write(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"role": role, "box": box, "url": s.cellURL(c) + "__role/" + box + "/" + role})
	}
}
