package dav

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// get answers GET and HEAD: a file's body (with Range and conditional
// requests) or, for a plain collection, the one-line text Personium sends.
func (q *request) get() error {
	_, n, err := q.existing(acl.Read)
	if err != nil {
		return err
	}
	if n.isCol() {
		if n.special() {
			return perr.New("PR501-MC-0002", n.typ()+" collection")
		}
		body := "URL : " + q.url(q.segs, true) + "\n"
		h := q.w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("ETag", etag(n))
		q.w.WriteHeader(http.StatusOK)
		if q.r.Method != http.MethodHead {
			_, _ = io.WriteString(q.w, body)
		}
		return nil
	}
	h := q.w.Header()
	h.Set("ETag", etag(n))
	if nm, err := q.preconditions(n); err != nil {
		return err
	} else if nm {
		q.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	ignoreRange := false
	if rng := q.r.Header.Get("Range"); rng != "" && q.r.Header.Get("If-Range") == "" {
		valid, ok := satisfiable(rng, n.body.Size)
		if valid && !ok {
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(n.body.Size, 10))
			return perr.New("PR416-DV-0001")
		}
		ignoreRange = !valid
	}
	rd, err := q.open(n)
	if err != nil {
		return err
	}
	h.Set("Content-Type", n.body.CT)
	h.Set("Accept-Ranges", "bytes")
	// The preconditions were evaluated above, with Personium's errors;
	// ServeContent only does the ranges.
	r := q.r.Clone(q.ctx)
	for _, k := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		r.Header.Del(k)
	}
	if ignoreRange {
		r.Header.Del("Range") // not a Range header we understand: the whole file
	}
	http.ServeContent(q.w, r, "", time.UnixMilli(n.doc.Updated), &loggingReader{rd: rd, q: q, n: n})
	return nil
}

// open opens a file's content.
func (q *request) open(n *node) (io.ReadSeeker, error) {
	if n.body.Ref == "" {
		return bytes.NewReader(nil), nil
	}
	ref, err := swarm.ParseReference(n.body.Ref)
	if err != nil {
		return nil, perr.New("PR500-DV-0001").WithCause(err)
	}
	rd, err := swarm.Open(q.ctx, q.h.cfg.Content, ref)
	if err != nil {
		return nil, perr.New("PR500-DV-0001").WithCause(err)
	}
	return rd, nil
}

// loggingReader reports content-store failures met while a body is
// being sent: the client sees a truncated response, the log says why.
type loggingReader struct {
	rd     io.ReadSeeker
	q      *request
	n      *node
	logged bool
}

func (l *loggingReader) Read(p []byte) (int, error) {
	n, err := l.rd.Read(p)
	if err != nil && err != io.EOF && !l.logged {
		l.logged = true
		l.q.h.cfg.Log.Error("dav: reading file content", "cell", l.q.box.Cell, "node", l.n.id(), "err", err)
	}
	return n, err
}

func (l *loggingReader) Seek(off int64, whence int) (int64, error) { return l.rd.Seek(off, whence) }

// satisfiable checks a Range header the way Personium's
// RangeHeaderHandler does (and RFC 7233 §3.1 asks): a header that does
// not parse is not valid and is ignored (the whole file is sent); a
// valid one none of whose ranges overlaps the content is not
// satisfiable (416). Numbers too large for int64 make it invalid.
func satisfiable(h string, size int64) (valid, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes")
	spec = strings.TrimSpace(spec)
	if !found || !strings.HasPrefix(spec, "=") {
		return false, false
	}
	spec = strings.TrimPrefix(spec, "=")
	any := false
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		first, last, found := strings.Cut(part, "-")
		if !found {
			return false, false
		}
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		switch {
		case first == "" && last == "":
			return false, false
		case first == "":
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil || n < 0 {
				return false, false
			}
			if n > 0 && size > 0 {
				any = true
			}
		default:
			a, err := strconv.ParseInt(first, 10, 64)
			if err != nil || a < 0 {
				return false, false
			}
			if last != "" {
				b, err := strconv.ParseInt(last, 10, 64)
				if err != nil || b < a {
					return false, false
				}
			}
			if a < size {
				any = true
			}
		}
	}
	return true, any
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// errBody marks a failure to read the request body (a client that went
// away mid-upload): nothing is changed.
var errBody = errors.New("dav: reading the request body")

// put answers PUT: create (201) or replace (204) a file.
func (q *request) put() error {
	if len(q.segs) == 0 {
		return perr.New("PR400-DV-0012")
	}
	res, err := q.resolveTarget()
	if err != nil {
		return err
	}
	n := res.target
	switch {
	case n != nil && n.isCol():
		return perr.New("PR400-DV-0012")
	case n == nil && res.missing > 0:
		return perr.New("PR409-DV-0001", q.url(q.segs[:len(q.segs)-1], true))
	}
	if n == nil {
		err = q.check(res.parentChain(), acl.Bind)
	} else {
		err = q.check(res.chain(), acl.WriteContent)
	}
	if err != nil {
		return err
	}
	if _, err := q.preconditions(n); err != nil {
		return err
	}
	if err := q.lockedForWrite(res, n == nil); err != nil {
		return err
	}
	if n == nil {
		if err := q.checkCapacity(res); err != nil {
			return err
		}
	}
	ct := q.r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	} else if _, _, err := mime.ParseMediaType(ct); err != nil {
		return perr.New("PR400-DV-0009", "Content-Type", ct)
	}
	var body io.Reader = q.r.Body
	if q.h.cfg.CheckSource != nil && res.inSource() {
		src, err := io.ReadAll(io.LimitReader(q.r.Body, MaxSourceBytes+1))
		if err != nil {
			return perr.Errorf(perr.Invalid, "reading the request body: %v", err)
		}
		if len(src) > MaxSourceBytes {
			return perr.New("PR413-MC-0001")
		}
		if err := q.h.cfg.CheckSource(res.name, src); err != nil {
			return err
		}
		body = bytes.NewReader(src)
	}
	ref, size, done, err := q.store(body)
	if err != nil {
		return err
	}
	defer done()
	now := q.now()
	var old string
	if n == nil {
		n = &node{doc: metastore.Doc{ID: q.h.cfg.NewID(), Kind: KindNode, Cell: q.box.Cell, Parent: res.parent().id(),
			Key: res.name, Published: now, Updated: now}, body: nodeBody{Type: TypeFile, Box: q.box.Root}}
	} else {
		old = n.body.Ref
		n.doc.Updated = now
	}
	n.body.CT, n.body.Size, n.body.Ref = ct, size, ref
	stored, err := q.commitNode(n)
	if err != nil {
		return err
	}
	if old != "" && old != ref {
		q.released()
	}
	q.w.Header().Set("ETag", etag(stored))
	if old == "" && stored.doc.Version == 1 {
		q.w.WriteHeader(http.StatusCreated)
	} else {
		q.w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// store writes a body to the content store and returns its reference in
// hex and its size. done must be called once the reference is committed
// or abandoned.
func (q *request) store(body io.Reader) (ref string, size int64, done func(), err error) {
	ctx := q.ctx
	done = func() {}
	if q.h.cfg.Uploads != nil {
		ctx, done = q.h.cfg.Uploads(ctx)
	}
	if body == nil {
		body = bytes.NewReader(nil)
	}
	cr := &countingReader{r: body}
	r, err := swarm.Upload(ctx, q.h.cfg.Content, &bodyReader{cr}, swarm.Options{Encrypt: q.h.cfg.Encrypt, Rand: rand.Reader})
	if err == nil && q.h.cfg.Sync != nil {
		err = q.h.cfg.Sync(ctx)
	}
	if err != nil {
		done()
		if errors.Is(err, errBody) {
			return "", 0, nil, perr.Errorf(perr.Invalid, "dav: request body: %v", err).WithCause(err)
		}
		return "", 0, nil, err
	}
	return r.String(), cr.n, done, nil
}

// bodyReader marks read errors of the request body as errBody.
type bodyReader struct{ r io.Reader }

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = errors.Join(errBody, err)
	}
	return n, err
}

// commitNode creates n (Version 0) or updates it (conditionally on the
// version it was read with). A concurrent change is PR503-DV-0001 (an
// update lost the race: Personium's answer, the client may retry), or
// PR412-DV-0001 when the request named the version it expected with
// If-Match (the ETag it matched is no longer current), or PR409-DV-0002
// (someone created the same name).
func (q *request) commitNode(n *node, extra ...metastore.Op) (*node, error) {
	op := metastore.Op{Type: metastore.Update, Doc: n.encode(), IfVersion: n.doc.Version}
	if !n.stored {
		op = metastore.Op{Type: metastore.Create, Doc: n.encode()}
	}
	docs, err := q.h.cfg.Meta.Apply(q.ctx, append([]metastore.Op{op}, extra...)...)
	switch {
	case perr.Is(err, perr.PreconditionFailed), perr.Is(err, perr.NotExist):
		if im := strings.TrimSpace(q.r.Header.Get("If-Match")); im != "" && im != "*" {
			return nil, perr.New("PR412-DV-0001")
		}
		return nil, perr.New("PR503-DV-0001")
	case perr.Is(err, perr.Exist) && n.isFile():
		return nil, perr.New("PR409-DV-0002", q.r.URL.Path)
	case perr.Is(err, perr.Exist):
		return nil, perr.New("PR405-DV-0001")
	case err != nil:
		return nil, err
	}
	return decodeNode(&docs[0])
}

func (q *request) released() {
	if q.h.cfg.Released != nil {
		q.h.cfg.Released()
	}
}

// checkCapacity enforces the depth and child-count limits for a new
// resource at the request path.
func (q *request) checkCapacity(res *resolution) error { return q.checkCapacityAt(res, q.segs) }

// delete answers DELETE. A collection with members is deleted with
// X-Personium-Recursive: true (Personium), an explicit Depth: infinity
// (RFC 4918 §9.6.1), or for plain WebDAV clients (see Box.PlainClient);
// otherwise, and always with X-Personium-Recursive: false, it is 403
// PR403-DV-0003.
func (q *request) delete() error {
	if len(q.segs) == 0 {
		return perr.New("PR405-MC-0001")
	}
	res, err := q.resolveTarget()
	if err != nil {
		return err
	}
	n := res.target
	if n == nil {
		return perr.New("PR404-DV-0001", q.r.URL.Path)
	}
	if err := q.check(res.parentChain(), acl.Unbind); err != nil {
		return err
	}
	depth := q.r.Header.Get("Depth")
	if depth != "" && !strings.EqualFold(depth, "infinity") {
		return perr.New("PR400-DV-0009", "Depth", depth)
	}
	if _, err := q.preconditions(n); err != nil {
		return err
	}
	nodes, err := q.t.subtree(q.ctx, n)
	if err != nil {
		return err
	}
	xr := strings.ToLower(q.r.Header.Get("X-Personium-Recursive"))
	recursive := xr == "true" || (xr != "false" && (depth != "" || q.box.PlainClient))
	held, content, err := heldContent(q.ctx, q.h.cfg.Meta, q.box.Cell, nodes, q.h.cfg.Bookkeeping)
	if err != nil {
		return err
	}
	members := len(nodes) - 1
	if n.typ() == string(CollectionService) && members == 1 && nodes[1].name() == SrcCollection {
		members = 0 // a service collection with an empty __src is empty
	}
	if (members > 0 || content > 0) && !recursive {
		return perr.New("PR403-DV-0003")
	}
	if err := q.lockedForDelete(res); err != nil {
		return err
	}
	if err := q.removeNodes(nodes, held...); err != nil {
		return err
	}
	q.dropLocks(q.segs)
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeNodes deletes nodes atomically (the first conditionally on its
// version) and schedules garbage collection if any held content.
func (q *request) removeNodes(nodes []*node, held ...string) error {
	ops := make([]metastore.Op, 0, len(nodes)+len(held))
	for _, id := range held {
		ops = append(ops, metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: id}})
	}
	content := false
	for i, d := range nodes {
		op := metastore.Op{Type: metastore.Delete, Doc: metastore.Doc{ID: d.id()}}
		if i == 0 {
			op.IfVersion = d.doc.Version
		}
		ops = append(ops, op)
		content = content || d.body.Ref != ""
	}
	if _, err := q.h.cfg.Meta.Apply(q.ctx, ops...); err != nil {
		if perr.Is(err, perr.PreconditionFailed) || perr.Is(err, perr.NotExist) {
			return perr.New("PR503-DV-0001")
		}
		return err
	}
	if content {
		q.released()
	}
	return nil
}

// mkcol answers MKCOL: a plain, OData, service or stream collection.
func (q *request) mkcol() error {
	if len(q.segs) == 0 {
		return perr.New("PR405-DV-0001")
	}
	res, err := q.resolveSelf()
	if err != nil {
		return err
	}
	if res.under != nil {
		if res.under.typ() == string(CollectionService) || (len(res.ancestors) > 1 && res.ancestors[len(res.ancestors)-2].typ() == string(CollectionService)) {
			discard(q.r)
			return perr.New("PR400-DV-0018")
		}
		if res.under.isFile() {
			return perr.New("PR409-DV-0001", q.url(q.segs[:len(q.segs)-1], true))
		}
		return q.inside(res)
	}
	switch {
	case res.target != nil:
		discard(q.r)
		return perr.New("PR405-DV-0001")
	case res.missing > 0:
		discard(q.r)
		return perr.New("PR409-DV-0001", q.url(q.segs[:len(q.segs)-1], true))
	}
	parent := res.parent()
	if parent.id() != q.box.Root && parent.name() == SrcCollection && len(res.ancestors) > 1 &&
		res.ancestors[len(res.ancestors)-2].typ() == string(CollectionService) {
		discard(q.r)
		return perr.New("PR400-DV-0018")
	}
	if err := q.check(res.parentChain(), acl.Bind); err != nil {
		return err
	}
	req, err := q.mkcolBody()
	if err != nil {
		return err
	}
	typ, err := req.Type()
	if err != nil {
		var b bytes.Buffer
		_ = WriteMkcolResponse(&b, []Propstat{{Props: []Property{{Name: PropResourceType}}, Status: http.StatusForbidden,
			Error: []Property{{Name: ValidResourceType}}, ResponseDescription: errors.Unwrap(err).Error()}})
		q.w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		q.w.WriteHeader(http.StatusForbidden)
		_, _ = q.w.Write(b.Bytes())
		return nil
	}
	if typ != CollectionPlain {
		// Special collections cannot be nested in special collections (the
		// walk stops at them) nor in a service's __src (checked above).
		for _, a := range res.ancestors {
			if a.special() {
				return perr.New("PR400-DV-0018")
			}
		}
	}
	if err := q.checkCapacity(res); err != nil {
		return err
	}
	if err := q.lockedForWrite(res, true); err != nil {
		return err
	}
	now := q.now()
	n := &node{doc: metastore.Doc{ID: q.h.cfg.NewID(), Kind: KindNode, Cell: q.box.Cell, Parent: parent.id(),
		Key: res.name, Published: now, Updated: now}, body: nodeBody{Type: string(typ), Box: q.box.Root}}
	if err := n.setProps(req.Props); err != nil {
		return err
	}
	var extra []metastore.Op
	if typ == CollectionService {
		src := &node{doc: metastore.Doc{ID: q.h.cfg.NewID(), Kind: KindNode, Cell: q.box.Cell, Parent: n.id(),
			Key: SrcCollection, Published: now, Updated: now}, body: nodeBody{Type: string(CollectionPlain), Box: q.box.Root}}
		extra = append(extra, metastore.Op{Type: metastore.Create, Doc: src.encode()})
	}
	stored, err := q.commitNode(n, extra...)
	if err != nil {
		return err
	}
	q.w.Header().Set("ETag", etag(stored))
	q.w.WriteHeader(http.StatusCreated)
	return nil
}

// mkcolBody reads an MKCOL body: none, or an XML extended-MKCOL body
// (whatever Content-Type says). Any other body is 415 (RFC 4918 §9.3).
func (q *request) mkcolBody() (*MkcolRequest, error) {
	if q.r.ContentLength == 0 || q.r.Body == nil {
		return ParseMkcol(nil)
	}
	data, err := io.ReadAll(io.LimitReader(q.r.Body, MaxXMLBytes+1))
	if err != nil {
		return nil, perr.New(codeParse).WithCause(err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return ParseMkcol(nil)
	}
	// An XML body is read whatever its declared type (Personium parses
	// it without looking); anything else is 415.
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("<")) {
		return nil, perr.New("PR415-MC-0001")
	}
	return ParseMkcol(bytes.NewReader(data))
}
