package dav

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
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
}

// Delegate serves a request that falls inside a special collection
// (OData data, an engine service route) rather than the WebDAV tree.
// Later issues plug these in; until then such requests answer 501.
type Delegate func(w http.ResponseWriter, r *http.Request, b *Box, col string, rest []string)

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
}

// ServeBox serves r, addressed to path (escaped, relative to the box
// root, e.g. "a/b%20c.txt") in box b. Errors are written as Personium
// error bodies.
func (h *Handler) ServeBox(w http.ResponseWriter, r *http.Request, b *Box, path string) {
	segs, slash, err := splitPath(path)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	q := &request{h: h, w: w, r: r, ctx: r.Context(), box: b, t: &tree{store: h.cfg.Meta, box: b}, segs: segs, slash: slash}
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
		h.Add("WWW-Authenticate", `Basic realm="`+realm+`"`)
	}
	perr.Write(q.w, q.r, err)
}

// href returns the absolute URL of the resource at segs.
func (q *request) href(segs []string, col bool) string {
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
	res, err := q.t.resolve(q.ctx, q.segs)
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
		return nil, nil, perr.New("PR404-DV-0001", q.r.URL.Path)
	}
	if err := q.check(res.chain(), want); err != nil {
		return nil, nil, err
	}
	return res, res.target, nil
}

// inside answers a request for a path inside a file (404) or inside an
// OData or engine service collection, whose contents are not WebDAV
// resources: not implemented yet.
func (q *request) inside(res *resolution) error {
	if res.under.isFile() {
		return perr.New("PR404-DV-0001", q.r.URL.Path)
	}
	return perr.New("PR501-MC-0002", res.under.typ()+" collection contents")
}

func (q *request) now() int64 { return q.h.cfg.Now().UnixMilli() }

// discard drains at most 64 KiB of an unread request body, so that the
// connection can be reused after an early error.
func discard(r *http.Request) {
	if r.Body != nil {
		_, _ = io.CopyN(io.Discard, r.Body, 64<<10)
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
