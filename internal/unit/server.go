// Package unit is the HTTP front of a Personium unit: it routes unit-,
// cell- and box-level URLs (path-based cells: {unit}{cell}/…), applies the
// cross-cutting behaviour every Personium response has (X-Personium-Version,
// CORS, token-less OPTIONS, X-HTTP-Method-Override, X-Override), works out
// who is asking, and hands each request to the protocol handler that owns it.
package unit

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/engine"
	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// APIVersion is the Personium API version this server implements; it is
// sent as X-Personium-Version on every response.
const APIVersion = "1.8.4"

// Limits on request size.
const (
	MaxURLBytes    = 50 << 10
	MaxHeaderBytes = 64 << 10
)

// allowedMethods is the method list of token-less OPTIONS answers.
const allowedMethods = "OPTIONS, GET, POST, PUT, DELETE, HEAD, MERGE, MKCOL, MOVE, PROPFIND, PROPPATCH, ACL"

// Config configures a Server.
type Config struct {
	UnitURL     string // absolute, ending in "/"
	MasterToken string
	Cells       *cell.Manager
	Logger      *slog.Logger // nil: slog.Default()
	// Authorizer decides access to control objects; nil: MasterOnly.
	Authorizer Authorizer
	// Authn issues and verifies cell tokens; nil: only the master token works.
	Authn *cell.Authn
	// UnitUserIssuers are the cells (URLs ending in /) whose transcell
	// tokens aimed at the unit URL make their subject a unit user
	// (reference §2.1); a token holding the issuer's main-box role
	// UnitAdmin makes a unit administrator.
	UnitUserIssuers []string
	// DAV serves the WebDAV tree of boxes; nil: only box metadata.
	DAV *dav.Handler
	// IntrospectUser and IntrospectPassword, when set, let a service
	// call every cell's __introspect with HTTP Basic (Personium's
	// io.personium.core.introspect.username/password).
	IntrospectUser, IntrospectPassword string
	// EngineTimeout bounds one service script call; 0: the engine's
	// default (30 s).
	EngineTimeout time.Duration
	// EngineMemory bounds the heap growth during one script call (see
	// engine.Limits.MaxHeapGrowth); 0: the engine's default (1 GiB).
	EngineMemory uint64
	// SchemaCacheTTL, when positive, bounds how long a cached user schema
	// of an OData collection is used before it is built again, even
	// though its version document has not changed. Set it (a few seconds)
	// when other processes write the store and the store's Get can see a
	// write before its Query does (Elasticsearch: a realtime GET sees a
	// document before the refresh that makes it searchable): a schema
	// built in that moment, from the version after a change but the
	// documents before it, would otherwise be kept until the next schema
	// change. 0: a cached schema is used for as long as its version is
	// current.
	SchemaCacheTTL time.Duration
}

// Server serves a unit. Build it with New.
type Server struct {
	cfg      Config
	unitPath string // path of UnitURL, ending in "/"
	router   *mux.Router
	schemas  schemaCache // user schemas of OData collections
	log      *slog.Logger
	authz    Authorizer
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	u, err := url.Parse(cfg.UnitURL)
	if err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(u.Path, "/") {
		return nil, perr.Errorf(perr.Invalid, "unit: unit URL %q must be absolute and end in /", cfg.UnitURL)
	}
	s := &Server{cfg: cfg, unitPath: u.Path, log: cfg.Logger, authz: cfg.Authorizer}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.authz == nil {
		s.authz = MasterOnly{}
	}
	s.routes()
	if cfg.DAV != nil {
		cfg.DAV.HandleSpecial(s.serveSpecial)
		cfg.DAV.CheckSources(engine.Check)
		cfg.DAV.CheckServices(s.checkService)
		cfg.DAV.IgnoreHeld(odata.KindSchemaVersion)
	}
	return s, nil
}

func (s *Server) routes() {
	r := mux.NewRouter()
	r.SkipClean(true) // keys may hold URLs: ExtCell('https://…/')
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		perr.Write(w, r, perr.New("PR404-MC-0001"))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		perr.Write(w, r, perr.New("PR405-MC-0001"))
	})
	r.Path("/").HandlerFunc(s.handleUnitRoot)
	r.Path("/__status").HandlerFunc(s.handleStatus)
	r.PathPrefix("/__ctl/").HandlerFunc(s.handleUnitCtl)
	r.Path("/__ctl").HandlerFunc(s.handleUnitCtl)
	if s.cfg.Authn != nil {
		r.Path("/{cell}/__token").HandlerFunc(s.handleToken)
		r.Path("/{cell}/__mypassword").HandlerFunc(s.handleMyPassword)
		r.Path("/{cell}/__certs").HandlerFunc(s.handleCerts)
		r.Path("/{cell}/__introspect").HandlerFunc(s.handleIntrospect)
		r.Path("/{cell}/__authz").HandlerFunc(s.handleAuthz)
		r.Path("/{cell}/__html/error").HandlerFunc(s.handleErrorPage)
		r.Path("/{cell}/__box").HandlerFunc(s.handleBoxURL)
		r.PathPrefix("/{cell}/__role").HandlerFunc(s.handleRoles)
		r.Path("/{cell}/__event").HandlerFunc(s.handleEvent)
		r.Path("/{cell}/__message/{op:send|port|received/[^/]+}").HandlerFunc(s.handleMessage)
	}
	r.PathPrefix("/{cell}/__ctl/").HandlerFunc(s.handleCellCtl)
	r.Path("/{cell}/__ctl").HandlerFunc(s.handleCellCtl)
	r.Path("/{cell}").HandlerFunc(s.handleCellRoot)
	r.Path("/{cell}/").HandlerFunc(s.handleCellRoot)
	r.Path("/{cell}/{box}").HandlerFunc(s.handleBox)
	r.PathPrefix("/{cell}/{box}/").HandlerFunc(s.handleBox)
	s.router = r
}

type principalKey struct{}

// PrincipalOf returns who is asking in a request handled by the server.
func PrincipalOf(ctx context.Context) pds.Principal {
	p, _ := ctx.Value(principalKey{}).(pds.Principal)
	return p
}

type authState int

const (
	authNone      authState = iota // no Authorization header
	authOK                         // a principal was established
	authInvalid                    // a token we cannot accept
	authBadScheme                  // neither Bearer nor Basic
	authBadBasic                   // Basic credentials that do not decode
	authBasic                      // well-formed Basic credentials: checked by the cell
)

// authenticate works out who is asking at unit level: the master token,
// or a unit user token. Other credentials (cell tokens, transcell tokens
// aimed at a cell, Basic account credentials) are resolved by the cell
// they are presented to (cellPrincipal); at unit level they are refused.
func (s *Server) authenticate(r *http.Request) (pds.Principal, authState) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return pds.Principal{}, authNone
	}
	scheme, token, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		if _, _, ok := basicCredentials(h); !ok {
			return pds.Principal{}, authBadBasic
		}
		return pds.Principal{}, authBasic
	case !strings.EqualFold(scheme, "Bearer"):
		return pds.Principal{}, authBadScheme
	case s.cfg.MasterToken == "":
		return pds.Principal{}, authInvalid
	}
	token = strings.TrimSpace(token)
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.MasterToken)) != 1 {
		return pds.Principal{}, authInvalid // a token for a cell or the unit: see unitPrincipal, cellPrincipal
	}
	if owner := r.Header.Get("X-Personium-Unit-User"); owner != "" {
		return pds.Principal{Kind: pds.UnitUser, Subject: owner}, authOK
	}
	return pds.Principal{Kind: pds.UnitMaster}, authOK
}

// unitUser recognises a unit user token: a verified transcell token
// aimed at the unit URL and issued by one of the configured issuer cells;
// ok is false for any other transcell token.
func (s *Server) unitUser(r *http.Request, tc *auth.TransCellToken) (p pds.Principal, ok bool) {
	if tc.Target != s.cfg.UnitURL {
		return pds.Principal{}, false
	}
	trusted := false
	for _, iss := range s.cfg.UnitUserIssuers {
		if iss == tc.Issuer {
			trusted = true
		}
	}
	if !trusted {
		return pds.Principal{}, false
	}
	admin, unitRole := false, ""
	for _, role := range tc.Roles {
		switch role {
		case tc.Issuer + "__role/__/UnitAdmin":
			admin = true
		case tc.Issuer + "__role/__/" + pds.UnitRoleAdmin:
			unitRole = pds.UnitRoleAdmin
		case tc.Issuer + "__role/__/" + pds.UnitRoleReader:
			if unitRole == "" {
				unitRole = pds.UnitRoleReader
			}
		}
	}
	owner := r.Header.Get("X-Personium-Unit-User")
	switch {
	case admin && owner == "":
		return pds.Principal{Kind: pds.UnitAdmin, Subject: tc.Subject, Roles: tc.Roles, UnitRole: unitRole}, true
	case admin:
		return pds.Principal{Kind: pds.UnitUser, Subject: owner, UnitRole: unitRole}, true
	}
	return pds.Principal{Kind: pds.UnitUser, Subject: tc.Subject, Roles: tc.Roles, UnitRole: unitRole}, true
}

// transCell verifies the bearer token of r as a transcell token; ok is
// false when there is no such token to try (no bearer, a local token).
func (s *Server) transCell(r *http.Request) (tc *auth.TransCellToken, ok bool, err error) {
	token, has := bearer(r)
	if !has || s.cfg.Authn == nil || auth.IsLocalToken(token) {
		return nil, false, nil
	}
	tc, err = auth.ParseTransCell(token, s.cfg.Authn.Trust, time.Now())
	return tc, true, err
}

// unitPrincipal works out who is asking at unit level: the master token
// (or a unit user it acts as), a unit user token, or nobody. A transcell
// token that is not a unit user token is PR403-AU-0001, as in Personium.
func (s *Server) unitPrincipal(r *http.Request) (pds.Principal, error) {
	ctx := r.Context()
	switch st, _ := ctx.Value(authStateKey{}).(authState); st {
	case authOK:
		return PrincipalOf(ctx), nil
	case authNone:
		return pds.Principal{}, nil
	case authInvalid:
		tc, tried, err := s.transCell(r)
		switch {
		case !tried:
		case err != nil:
			return pds.Principal{}, err
		default:
			if p, ok := s.unitUser(r, tc); ok {
				return p, nil
			}
			return pds.Principal{}, perr.New("PR403-AU-0001")
		}
	}
	return pds.Principal{}, authError(ctx)
}

// ServeHTTP applies the cross-cutting behaviour and routes the request.
// With debug logging on, every request is logged when it ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"duration", time.Since(start))
		}()
		w = sw
	}
	s.serve(w, r)
}

// statusWriter remembers the status of a response, for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (sw *statusWriter) WriteHeader(status int) {
	sw.status = status
	sw.ResponseWriter.WriteHeader(status)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Personium-Version", APIVersion)
	applyOverrides(r)
	setCORS(h, r)
	if len(r.RequestURI) > MaxURLBytes {
		perr.Write(w, r, perr.New("PR414-MC-0001"))
		return
	}
	if r.Method == http.MethodOptions && r.Header.Get("Authorization") == "" {
		// Token-less OPTIONS (CORS preflight) is answered for any path.
		// Personium's list everywhere; inside boxes, WebDAV clients also
		// learn of COPY, LOCK and UNLOCK and of the DAV classes.
		allow := allowedMethods
		if s.cfg.DAV != nil && isBoxPath(strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(s.unitPath, "/"))) {
			allow = dav.Methods
			h.Set("DAV", dav.Compliance)
		}
		h.Set("Allow", allow)
		h.Set("Access-Control-Allow-Methods", allow)
		w.WriteHeader(http.StatusOK)
		return
	}
	// Strip the unit URL's path so that routes see "/{cell}/…".
	if s.unitPath != "/" {
		rest, ok := strings.CutPrefix(r.URL.Path, s.unitPath)
		rawRest, rawOK := strings.CutPrefix(r.URL.EscapedPath(), s.unitPath)
		if !ok || !rawOK {
			perr.Write(w, r, perr.New("PR404-MC-0001"))
			return
		}
		r2 := *r
		u := *r.URL
		u.Path = "/" + rest
		u.RawPath = ""
		if "/"+rawRest != u.EscapedPath() {
			u.RawPath = "/" + rawRest
		}
		r2.URL = &u
		r = &r2
	}
	p, state := s.authenticate(r)
	ctx := context.WithValue(r.Context(), principalKey{}, p)
	ctx = context.WithValue(ctx, authStateKey{}, state)
	if r.Method == http.MethodOptions && (s.cfg.DAV == nil || !isBoxPath(r.URL.Path)) {
		s.options(w, r.WithContext(ctx), state)
		return
	}
	s.router.ServeHTTP(w, r.WithContext(ctx))
}

// options answers OPTIONS with a token: the resource's own methods.
func (s *Server) options(w http.ResponseWriter, r *http.Request, state authState) {
	if state != authOK {
		// A cell's own tokens (and transcell tokens aimed at it) are
		// good for OPTIONS on the cell's resources.
		name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if state != authInvalid || !pds.ValidCellName(name) {
			s.writeError(w, r, s.cfg.UnitURL, authError(r.Context()))
			return
		}
		c, err := s.cfg.Cells.Get(r.Context(), name)
		if err != nil {
			perr.Write(w, r, err)
			return
		}
		if _, err := s.cellPrincipal(r, c); err != nil {
			s.writeError(w, r, s.cellURL(c), err)
			return
		}
	}
	allow := allowedMethods
	path := r.URL.Path
	switch {
	case path == "/":
		allow = "OPTIONS, GET"
	case strings.HasPrefix(path, "/__ctl"):
		allow = odata.AllowedMethods(strings.TrimPrefix(strings.TrimPrefix(path, "/__ctl"), "/"))
	default:
		rest := strings.TrimPrefix(path, "/")
		_, sub, _ := strings.Cut(rest, "/")
		switch {
		case sub == "":
			allow = "OPTIONS, GET, DELETE, PROPFIND, PROPPATCH, ACL"
		case sub == "__ctl" || strings.HasPrefix(sub, "__ctl/"):
			allow = odata.AllowedMethods(strings.TrimPrefix(strings.TrimPrefix(sub, "__ctl"), "/"))
		case !strings.HasPrefix(sub, "__") || strings.HasPrefix(sub, "__/") || sub == "__":
			allow = dav.Methods
			if s.cfg.DAV != nil {
				w.Header().Set("DAV", dav.Compliance)
			}
		}
	}
	h := w.Header()
	h.Set("Allow", allow)
	h.Set("Access-Control-Allow-Methods", allow)
	w.WriteHeader(http.StatusOK)
}

type authStateKey struct{}

// isBoxPath reports whether path ("/{cell}/{box}…") addresses a box or
// something in one, whose OPTIONS the WebDAV handler answers.
func isBoxPath(path string) bool {
	rest := strings.TrimPrefix(path, "/")
	cellName, sub, ok := strings.Cut(rest, "/")
	if !ok || sub == "" || strings.HasPrefix(cellName, "__") {
		return false
	}
	box, _, _ := strings.Cut(sub, "/")
	return box == "__" || !strings.HasPrefix(box, "__")
}

// applyOverrides implements X-HTTP-Method-Override (POST only) and
// X-Override ("Name: value", repeatable).
func applyOverrides(r *http.Request) {
	for _, o := range r.Header.Values("X-Override") {
		name, value, ok := strings.Cut(o, ":")
		name = strings.TrimSpace(name)
		if ok && name != "" && !strings.EqualFold(name, "X-Override") {
			r.Header.Set(name, strings.TrimSpace(value))
		}
	}
	if r.Method == http.MethodPost {
		if m := strings.TrimSpace(r.Header.Get("X-HTTP-Method-Override")); m != "" {
			r.Method = strings.ToUpper(m)
		}
	}
}

// setCORS does what Personium's container filter does: echo Origin,
// allow credentials, cache preflights a day, echo requested headers and
// expose X-Personium-Version. Without Origin no CORS header is sent.
func setCORS(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Max-Age", "86400")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Expose-Headers", "X-Personium-Version, Location, ETag")
	h.Add("Vary", "Origin")
}
