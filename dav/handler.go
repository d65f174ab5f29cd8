package dav

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav/lock"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// Config configures a Handler.
type Config struct {
	Meta    metastore.Store
	Content swarm.Store
	// Encrypt stores file bodies encrypted (64-byte references); the
	// reference and its key live only in the metadata store.
	Encrypt bool
	// Locks keeps WebDAV locks; nil: LOCK and UNLOCK are not supported.
	Locks *lock.Manager
	// Uploads, when set, starts an upload session before a file body is
	// stored: the chunks are Put with the returned context, and the
	// returned function is called once the file's reference is committed
	// or abandoned (the content store's garbage collector must not free
	// the chunks of an upload in progress).
	Uploads func(ctx context.Context) (context.Context, func())
	// Sync, when set, makes the chunks of the upload session in ctx
	// durable and readable; it is called once per file, before the
	// file's reference is committed.
	Sync func(ctx context.Context) error
	// Released, when set, is called after content may have become
	// unreferenced (a file deleted or overwritten), to schedule garbage
	// collection.
	Released func()
	Now      func() time.Time
	NewID    func() string
	Log      *slog.Logger
	// Special, when set, serves the insides of OData collections (and,
	// later, engine service collections); nil: they answer 501.
	Special SpecialHandler
	// CheckSource, when set, vets a file PUT into a service collection's
	// __src (at most MaxSourceBytes, else 413): an error refuses the PUT
	// and is answered as is.
	CheckSource func(name string, src []byte) error
	// CheckService, when set, vets a p:service property PROPPATCH sets
	// on a service collection (its routes, and who may name its subject
	// account: the caller's access is given): an error refuses the whole
	// PROPPATCH and is answered as is.
	CheckService func(ctx context.Context, a Access, p Property) error
	// Bookkeeping names kinds of documents a special collection holds
	// that do not make it non-empty (they are deleted with it).
	Bookkeeping map[string]bool
}

// Handler serves the WebDAV tree of boxes. It is safe for concurrent use.
type Handler struct {
	cfg Config
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string {
			var b [16]byte
			_, _ = rand.Read(b[:])
			return hex.EncodeToString(b[:])
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// Access decides what the caller of one request may do in a box. The
// unit front implements it with the caller's roles, the cell's ACL, the
// box's schema and the token's scope.
type Access interface {
	// Check returns nil if the caller holds want on a resource whose
	// ACLs (its own, then its ancestors' up to the box root) are chain;
	// otherwise the error to answer (401 for anonymous callers, 403).
	// It also enforces p:requireSchemaAuthz (acl.EffectiveSchemaAuthz).
	Check(ctx context.Context, chain []*acl.ACL, want pds.Privilege) error
	// Privileges returns the box-level privileges the caller holds on
	// such a resource, every implied privilege included.
	Privileges(ctx context.Context, chain []*acl.ACL) []pds.Privilege
	// CheckPrincipals verifies that every role an ACL names exists in
	// the cell (PR400-DV-0004 otherwise).
	CheckPrincipals(ctx context.Context, a *acl.ACL) error
}

// Box is the box a request addresses, as the unit front resolved it.
type Box struct {
	Cell string // the cell's ID
	Root string // the box root node's ID (stable across box renames)
	URL  string // absolute URL of the box root, ending in "/"
	// RoleBase is the xml:base of the box's ACLs: {cell}__role/{box}/.
	RoleBase string
	// Published and Updated (Unix ms) date the root before it is stored.
	Published, Updated int64
	Access             Access
	// Principal identifies the caller for lock ownership ("" anonymous).
	Principal string
	// PlainClient is set when the caller authenticated with HTTP Basic,
	// as ordinary WebDAV clients (Finder, Windows, davfs2, cadaver,
	// litmus) do: a DELETE of a collection with members then follows RFC
	// 4918 (recursive) unless X-Personium-Recursive: false is sent.
	// Token-bearing callers (Personium apps) get Personium's rule: 403
	// unless X-Personium-Recursive: true.
	PlainClient bool
	// NoBasic is set for boxes that do not take HTTP Basic (those with a
	// schema): a 401 then offers Bearer only, as Personium's
	// getAcceptableAuthScheme does.
	NoBasic bool
}

// Special is a request for an OData or engine service collection's
// own protocol: a path inside the collection, or GET/HEAD/POST on the
// collection itself. The WebDAV handler finds the collection (checking
// nothing but its existence) and hands the request over.
type Special struct {
	Box  *Box
	Type CollectionType
	// Node is the collection's node ID: the scope of the documents the
	// collection holds (its schema, its data).
	Node string
	// URL is the collection's absolute URL, ending in "/".
	URL string
	// Path is the decoded path below the collection ("" for the
	// collection itself, "$metadata", "Set('key')"…).
	Path string
	// Chain holds the ACLs of the collection and its ancestors, nearest
	// first, for Box.Access.Check.
	Chain []*acl.ACL
	// Props are the collection's dead properties (a service collection's
	// p:service routes).
	Props []Property
	// ReadSource reads the file called name in a service collection's
	// __src (perr NotExist if there is none).
	ReadSource func(ctx context.Context, name string) ([]byte, error)
}

// MaxSourceBytes bounds a script file read by ReadSource.
const MaxSourceBytes = 10 << 20

// SpecialHandler serves the requests of Special collections.
type SpecialHandler func(w http.ResponseWriter, r *http.Request, s *Special)

// request is one request's state.
type request struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	box  *Box
	t    *tree
	segs []string
	// slash records a trailing slash on the request URL.
	slash bool
	// raw is the escaped path below the box root, as requested.
	raw string
	// self and selfErr memoise the resolution of segs (see resolveSelf).
	self    *resolution
	selfErr error
	// ifDone, ifTokens and ifErr memoise the If header's evaluation.
	ifDone   bool
	ifTokens []string
	ifErr    error
}

// resolveSelf resolves the request path once per request: the handover
// check in ServeBox and the method handler share the answer, which
// holds until the handler writes.
func (q *request) resolveSelf() (*resolution, error) {
	if q.self == nil && q.selfErr == nil {
		q.self, q.selfErr = q.t.resolve(q.ctx, q.segs)
	}
	return q.self, q.selfErr
}

// ServeBox serves r, addressed to path (escaped, relative to the box
// root, e.g. "a/b%20c.txt") in box b. Errors are written as Personium
// error bodies.
func (h *Handler) ServeBox(w http.ResponseWriter, r *http.Request, b *Box, path string) {
	segs, slash, err := splitPath(path)
	q := &request{h: h, w: w, r: r, ctx: r.Context(), box: b, t: &tree{store: h.cfg.Meta, box: b}, segs: segs, slash: slash, raw: path}
	if err != nil {
		// OData keys may hold what no resource name may ('a%2Fb'): the
		// path may still lead into a special collection.
		if handled, serr := q.specialByPrefix(); handled || serr != nil {
			if serr != nil {
				q.fail(serr)
			}
			return
		}
		perr.Write(w, r, err)
		return
	}
	if h.cfg.Special != nil && len(segs) > 0 {
		if handled, err := q.specialTarget(); handled || err != nil {
			if err != nil {
				q.fail(err)
			}
			return
		}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		err = q.get()
	case http.MethodPut:
		err = q.put()
	case http.MethodDelete:
		err = q.delete()
	case "MKCOL":
		err = q.mkcol()
	case "PROPFIND":
		err = q.propfind()
	case "PROPPATCH":
		err = q.proppatch()
	case "ACL":
		err = q.aclMethod()
	case "MOVE":
		err = q.copyMove(true)
	case "COPY":
		err = q.copyMove(false)
	case "LOCK":
		err = q.lock()
	case "UNLOCK":
		err = q.unlock()
	case http.MethodOptions:
		err = q.options()
	case "REPORT":
		err = perr.New("PR501-MC-0001")
	default:
		err = perr.New("PR405-MC-0001")
	}
	if err != nil {
		q.fail(err)
	}
}

// fail writes err. A request whose client went away (its context is
// done) gets no answer and no error log: nobody is there to read either.
func (q *request) fail(err error) {
	if q.ctx.Err() != nil {
		q.h.cfg.Log.Debug("dav: client gone", "path", q.r.URL.Path, "err", err)
		return
	}
	if e := perr.Public(err); e.Status() == http.StatusUnauthorized {
		h := q.w.Header()
		realm := q.box.URL
		if i := strings.LastIndex(strings.TrimSuffix(realm, "/"), "/"); i >= 0 {
			realm = realm[:i+1]
		}
		h.Set("WWW-Authenticate", `Bearer realm="`+realm+`"`)
		if !q.box.NoBasic {
			h.Add("WWW-Authenticate", `Basic realm="`+realm+`"`)
		}
	}
	perr.Write(q.w, q.r, err)
}

// url returns the absolute URL of the resource at segs, a collection's
// with a trailing slash: the base URL given to collection handlers and
// the form error messages show.
func (q *request) url(segs []string, col bool) string {
	var b strings.Builder
	b.WriteString(q.box.URL)
	for i, s := range segs {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(escapeSegment(s))
	}
	if col && len(segs) > 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// href returns the absolute URL of the resource at segs as multistatus
// answers and Location headers give it. A collection's URL ends in a
// slash for plain WebDAV clients (RFC 4918 §8.3, what Finder, Windows and
// davfs2 expect), and without one for Personium apps, as Personium
// writes it (the box root too: …/cell/box).
func (q *request) href(segs []string, col bool) string {
	if q.box.PlainClient {
		if len(segs) == 0 {
			return q.box.URL
		}
		return q.url(segs, col)
	}
	return strings.TrimSuffix(q.url(segs, col), "/")
}

// check asks the Access whether the caller holds want given chain.
func (q *request) check(chain []*acl.ACL, want pds.Privilege) error {
	return q.box.Access.Check(q.ctx, chain, want)
}

// etag is Personium's WebDAV entity tag: "<version>-<updated ms>".
func etag(n *node) string {
	return `"` + strconv.FormatInt(n.doc.Version, 10) + "-" + strconv.FormatInt(n.doc.Updated, 10) + `"`
}

// etagMatch compares an entity tag from a request with a node's,
// weakly (W/ prefixes are ignored), as Personium does.
func etagMatch(given string, n *node) bool {
	given = strings.TrimPrefix(strings.TrimSpace(given), "W/")
	return n != nil && given == etag(n)
}

// listMatch reports whether an If-Match/If-None-Match list matches n.
func listMatch(list string, n *node) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" && n != nil {
			return true
		}
		if etagMatch(t, n) {
			return true
		}
	}
	return false
}

// preconditions evaluates If-Match and If-None-Match against n (nil if
// the resource does not exist). For GET and HEAD a failed If-None-Match
// is 304 (notModified true); otherwise failures are 412.
func (q *request) preconditions(n *node) (notModified bool, err error) {
	if im := q.r.Header.Get("If-Match"); im != "" && !listMatch(im, n) {
		return false, perr.New("PR412-DV-0001")
	}
	if inm := q.r.Header.Get("If-None-Match"); inm != "" && listMatch(inm, n) {
		if q.r.Method == http.MethodGet || q.r.Method == http.MethodHead {
			return true, nil
		}
		return false, perr.New("PR412-MC-0001", "If-None-Match")
	}
	return false, nil
}

// resolveTarget resolves the request path; a path that leads inside a
// special collection or below a file answers as Personium does.
func (q *request) resolveTarget() (*resolution, error) {
	res, err := q.resolveSelf()
	if err != nil {
		return nil, err
	}
	if res.under != nil {
		return nil, q.inside(res)
	}
	return res, nil
}

// existing resolves the request path to an existing resource (404
// otherwise) and checks that the caller holds want on it.
func (q *request) existing(want pds.Privilege) (*resolution, *node, error) {
	res, err := q.resolveTarget()
	if err != nil {
		return nil, nil, err
	}
	if res.target == nil {
		// Only a caller who may do the thing learns that there is
		// nothing: the ACLs that would apply are checked first, as
		// Personium's NullResource does (anonymous callers get 401, others
		// without the privilege 403).
		if err := q.check(res.chain(), want); err != nil {
			return nil, nil, err
		}
		return nil, nil, perr.New("PR404-DV-0001", q.r.URL.Path)
	}
	if err := q.check(res.chain(), want); err != nil {
		return nil, nil, err
	}
	return res, res.target, nil
}

// inside answers a request for a path inside a file (404) or inside an
// OData or engine service collection whose handler is not configured
// (501; with a handler, ServeBox has handed such requests over).
func (q *request) inside(res *resolution) error {
	if res.under.isFile() {
		return perr.New("PR404-DV-0001", q.r.URL.Path)
	}
	return perr.New("PR501-MC-0002", res.under.typ()+" collection contents")
}

// handsOver reports whether requests for n's insides go to the Special
// handler: OData and engine service collections (but a service
// collection's __src is WebDAV, see resolve).
func (q *request) handsOver(n *node) bool {
	return q.h.cfg.Special != nil && (n.typ() == string(CollectionOData) || n.typ() == string(CollectionService))
}

// specialTarget hands the request over when the path leads inside an
// OData collection, or is a GET/HEAD/POST of the collection itself.
func (q *request) specialTarget() (bool, error) {
	res, err := q.resolveSelf()
	if err != nil {
		return false, err
	}
	switch {
	case res.under != nil && q.handsOver(res.under):
		raw := strings.Split(strings.Trim(q.raw, "/"), "/")
		return true, q.handOver(res, res.under, raw[len(raw)-len(res.rest):])
	case res.target != nil && res.target.typ() == string(CollectionOData) && q.handsOver(res.target) &&
		(q.r.Method == http.MethodGet || q.r.Method == http.MethodHead || q.r.Method == http.MethodPost):
		return true, q.handOver(res, res.target, nil)
	}
	return false, nil
}

// specialByPrefix handles a path whose later segments are no resource
// names: the longest prefix of valid names must lead into an OData
// collection, which gets the rest.
func (q *request) specialByPrefix() (bool, error) {
	if q.h.cfg.Special == nil {
		return false, nil
	}
	raw := strings.Split(strings.Trim(q.raw, "/"), "/")
	var prefix []string
	for _, rs := range raw {
		s, err := url.PathUnescape(rs)
		if err != nil || !validName(s) {
			break
		}
		prefix = append(prefix, s)
	}
	if len(prefix) == 0 || len(prefix) == len(raw) {
		return false, nil
	}
	res, err := q.t.resolve(q.ctx, prefix)
	if err != nil {
		return false, err
	}
	switch {
	case res.under != nil && q.handsOver(res.under):
		return true, q.handOver(res, res.under, raw[len(prefix)-len(res.rest):])
	case res.target != nil && q.handsOver(res.target):
		return true, q.handOver(res, res.target, raw[len(prefix):])
	}
	return false, nil
}

// handOver calls the Special handler for collection col; rawRest is the
// escaped path below it.
func (q *request) handOver(res *resolution, col *node, rawRest []string) error {
	path, err := url.PathUnescape(strings.Join(rawRest, "/"))
	if err != nil {
		return perr.New("PR404-MC-0001")
	}
	colSegs := q.segs
	if col != res.target {
		colSegs = q.pathTo(res, col)
	}
	var chain []*acl.ACL
	if col.body.ACL != nil {
		chain = append(chain, col.body.ACL)
	}
	for i := len(res.ancestors) - 1; i >= 0; i-- {
		if a := res.ancestors[i]; a != col && a.body.ACL != nil {
			chain = append(chain, a.body.ACL)
		}
	}
	q.h.cfg.Special(q.w, q.r, &Special{Box: q.box, Type: CollectionType(col.typ()), Node: col.id(),
		URL: q.url(colSegs, true), Path: path, Chain: chain, Props: col.props(),
		ReadSource: func(ctx context.Context, name string) ([]byte, error) { return q.readSource(ctx, col, name) }})
	return nil
}

// readSource reads the file name in the __src of service collection col.
func (q *request) readSource(ctx context.Context, col *node, name string) ([]byte, error) {
	notFound := perr.Errorf(perr.NotExist, "dav: no source %q", name)
	src, err := q.t.child(ctx, col, SrcCollection)
	if err != nil || src == nil {
		if err == nil {
			err = notFound
		}
		return nil, err
	}
	f, err := q.t.child(ctx, src, name)
	if err != nil || f == nil || !f.isFile() {
		if err == nil {
			err = notFound
		}
		return nil, err
	}
	if f.body.Size > MaxSourceBytes {
		return nil, perr.Errorf(perr.Invalid, "dav: source %q is over %d bytes", name, MaxSourceBytes)
	}
	rd, err := q.open(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(rd, MaxSourceBytes))
}

// pathTo returns the names from the box root down to col, an ancestor
// in res.
func (q *request) pathTo(res *resolution, col *node) []string {
	var names []string
	for _, a := range res.ancestors[1:] { // [0] is the box root
		names = append(names, a.name())
		if a == col {
			break
		}
	}
	return names
}

func (q *request) now() int64 { return q.h.cfg.Now().UnixMilli() }

// discard drains at most 64 KiB of an unread request body, so that the
// connection can be reused after an early error.
func discard(r *http.Request) {
	if r.Body != nil {
		_, _ = io.CopyN(io.Discard, r.Body, 64<<10)
	}
}

// HandleSpecial sets the handler of special collections' insides (see
// Config.Special); call it before serving.
func (h *Handler) HandleSpecial(f SpecialHandler) { h.cfg.Special = f }

// CheckSources sets the vetting of service script uploads (see
// Config.CheckSource); call it before serving.
func (h *Handler) CheckSources(f func(name string, src []byte) error) { h.cfg.CheckSource = f }

// CheckServices sets the vetting of p:service properties (see
// Config.CheckService); call it before serving.
func (h *Handler) CheckServices(f func(ctx context.Context, a Access, p Property) error) {
	h.cfg.CheckService = f
}

// IgnoreHeld sets the Bookkeeping kinds (see Config.Bookkeeping); call it
// before serving.
func (h *Handler) IgnoreHeld(kinds ...string) {
	h.cfg.Bookkeeping = map[string]bool{}
	for _, k := range kinds {
		h.cfg.Bookkeeping[k] = true
	}
}

// BoxDeleted drops the locks of a deleted box and schedules garbage
// collection of its content.
func (h *Handler) BoxDeleted(ctx context.Context, cellID, root string) {
	if h.cfg.Locks != nil {
		if err := h.cfg.Locks.RemoveBox(ctx, cellID, root); err != nil {
			h.cfg.Log.Warn("dav: removing the locks of a deleted box", "err", err)
		}
	}
	h.Released()
}

// Released tells the content store's garbage collector that content may
// have become unreferenced (e.g. a cell was deleted).
func (h *Handler) Released() {
	if h.cfg.Released != nil {
		h.cfg.Released()
	}
}
