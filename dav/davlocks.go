package dav

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav/lock"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// lockPath is the lock-manager path of segs: "/" or "/a/b".
func lockPath(segs []string) string { return "/" + strings.Join(segs, "/") }

// lockHref is the absolute URL of a lock root.
func (q *request) lockHref(root string) string {
	if root == "/" {
		return q.box.URL
	}
	return q.href(strings.Split(strings.TrimPrefix(root, "/"), "/"), false)
}

// ifHeader parses the If header once per request.
func (q *request) ifHeader() (lock.If, error) {
	h := q.r.Header.Get("If")
	if h == "" {
		return lock.If{}, nil
	}
	return lock.ParseIf(h)
}

// covering returns the unexpired locks covering segs.
func (q *request) covering(segs []string) ([]lock.Lock, error) {
	if q.h.cfg.Locks == nil {
		return nil, nil
	}
	return q.h.cfg.Locks.Covering(q.ctx, q.box.Cell, q.box.Root, lockPath(segs))
}

// tagSegs turns an If header resource tag into box segments; ok is
// false for a tag outside the box.
func (q *request) tagSegs(tag string) (segs []string, ok bool) {
	if tag == "" {
		return q.segs, true
	}
	u, err := url.Parse(tag)
	if err != nil {
		return nil, false
	}
	bu, _ := url.Parse(q.box.URL)
	if !q.sameServer(u, bu) {
		return nil, false
	}
	rest, found := strings.CutPrefix(u.EscapedPath(), bu.EscapedPath())
	if !found {
		if u.EscapedPath()+"/" == bu.EscapedPath() {
			return nil, true
		}
		return nil, false
	}
	segs, _, err = splitPath(rest)
	return segs, err == nil
}

// evalIf evaluates the If header (RFC 4918 §10.4): false is 412. It
// returns the tokens the request submits. The answer is computed once
// per request: the checks that ask for it all run before any write.
func (q *request) evalIf() ([]string, error) {
	if !q.ifDone {
		q.ifTokens, q.ifErr = q.evalIfHeader()
		q.ifDone = true
	}
	return q.ifTokens, q.ifErr
}

func (q *request) evalIfHeader() ([]string, error) {
	h, err := q.ifHeader()
	if err != nil {
		return nil, err
	}
	if len(h.Lists) == 0 {
		return nil, nil
	}
	var failure error
	ok := h.Eval(func(tag string) (string, []string) {
		segs, in := q.tagSegs(tag)
		if !in {
			return "", nil
		}
		res, err := q.t.resolve(q.ctx, segs)
		if err != nil {
			failure = err
			return "", nil
		}
		et := ""
		if res.target != nil {
			et = etag(res.target)
		}
		locks, err := q.covering(segs)
		if err != nil {
			failure = err
		}
		toks := make([]string, len(locks))
		for i, l := range locks {
			toks[i] = l.Token
		}
		return et, toks
	})
	if failure != nil {
		return nil, failure
	}
	if !ok {
		return nil, perr.New("PR412-MC-0001", "If")
	}
	return h.Tokens(), nil
}

// mayWrite checks that every lock covering each of paths is submitted
// (and held by the caller): otherwise 423.
func (q *request) mayWrite(submitted []string, paths ...[]string) error {
	for _, segs := range paths {
		locks, err := q.covering(segs)
		if err != nil {
			return err
		}
		if err := q.owned(locks, submitted); err != nil {
			return err
		}
	}
	return nil
}

// owned reports 423 unless locks is empty or one of them is submitted
// by its owner.
func (q *request) owned(locks []lock.Lock, submitted []string) error {
	if len(locks) == 0 {
		return nil
	}
	for _, l := range locks {
		for _, t := range submitted {
			if t == l.Token && l.Principal == q.box.Principal {
				return nil
			}
		}
	}
	return perr.New(lock.CodeLocked, q.lockHref(locks[0].Root))
}

// lockedForWrite checks the If header and the locks for a write to the
// target of res; creating also binds a member into its parent, whose
// locks count too (RFC 4918 §7.4).
func (q *request) lockedForWrite(res *resolution, creating bool) error {
	submitted, err := q.evalIf()
	if err != nil || q.h.cfg.Locks == nil {
		return err
	}
	paths := [][]string{q.segs}
	if creating && len(q.segs) > 0 {
		paths = append(paths, q.segs[:len(q.segs)-1])
	}
	return q.mayWrite(submitted, paths...)
}

// lockedForDelete checks the If header and the locks for removing the
// target of res from its parent: the target, everything below it and
// the parent.
func (q *request) lockedForDelete(res *resolution) error {
	submitted, err := q.evalIf()
	if err != nil || q.h.cfg.Locks == nil {
		return err
	}
	if err := q.mayWrite(submitted, q.segs, q.segs[:len(q.segs)-1]); err != nil {
		return err
	}
	return q.ownedBelow(q.segs, submitted)
}

// ownedBelow checks that every lock strictly below segs is submitted by
// its owner.
func (q *request) ownedBelow(segs []string, submitted []string) error {
	below, err := q.h.cfg.Locks.Below(q.ctx, q.box.Cell, q.box.Root, lockPath(segs))
	if err != nil {
		return err
	}
	for _, l := range below {
		if err := q.owned([]lock.Lock{l}, submitted); err != nil {
			return err
		}
	}
	return nil
}

// lockedAt checks the locks of a COPY or MOVE destination: its parent,
// and the resource and everything below it when it exists.
func (q *request) lockedAt(dst *resolution, dsegs []string) error {
	submitted, err := q.evalIf()
	if err != nil || q.h.cfg.Locks == nil {
		return err
	}
	if err := q.mayWrite(submitted, dsegs, dsegs[:len(dsegs)-1]); err != nil {
		return err
	}
	if dst.target == nil {
		return nil
	}
	return q.ownedBelow(dsegs, submitted)
}

// dropLocks removes the locks at and below segs (after DELETE or MOVE:
// locks do not follow a resource, RFC 4918 §7.5).
func (q *request) dropLocks(segs []string) {
	if q.h.cfg.Locks == nil {
		return
	}
	if err := q.h.cfg.Locks.RemoveTree(q.ctx, q.box.Cell, q.box.Root, lockPath(segs)); err != nil {
		q.h.cfg.Log.Warn("dav: removing locks", "path", lockPath(segs), "err", err)
	}
}

// lockIndex holds the locks a PROPFIND reports.
type lockIndex struct {
	locks []lock.Lock
}

// lockIndex loads the locks covering the target, and with members those
// below it too.
func (q *request) lockIndex(members bool) (*lockIndex, error) {
	if q.h.cfg.Locks == nil {
		return &lockIndex{}, nil
	}
	locks, err := q.covering(q.segs)
	if err != nil {
		return nil, err
	}
	if members {
		below, err := q.h.cfg.Locks.Below(q.ctx, q.box.Cell, q.box.Root, lockPath(q.segs))
		if err != nil {
			return nil, err
		}
		locks = append(locks, below...)
	}
	return &lockIndex{locks: locks}, nil
}

func (x *lockIndex) covering(segs []string) []lock.Lock {
	var out []lock.Lock
	p := lockPath(segs)
	for _, l := range x.locks {
		if l.Covers(p) {
			out = append(out, l)
		}
	}
	return out
}

// lock answers LOCK: a new lock (creating an empty file at an unmapped
// URL, RFC 4918 §7.3) or, without a body, the refresh of a lock named in
// the If header.
func (q *request) lock() error {
	if q.h.cfg.Locks == nil {
		return perr.New("PR501-MC-0001")
	}
	info, err := ParseLockInfo(q.r.Body)
	if err != nil {
		return err
	}
	timeout := lock.ParseTimeout(q.r.Header.Get("Timeout"))
	res, err := q.resolveTarget()
	if err != nil {
		return err
	}
	if info == nil {
		return q.refresh(res, timeout)
	}
	depth := lock.Infinity
	switch strings.ToLower(q.r.Header.Get("Depth")) {
	case "", "infinity":
	case "0":
		depth = 0
	default:
		return perr.New("PR400-DV-0003", q.r.Header.Get("Depth"))
	}
	n := res.target
	switch {
	case n == nil && (res.missing > 0 || len(q.segs) == 0):
		return perr.New("PR409-DV-0001", q.url(q.segs[:max(len(q.segs)-1, 0)], true))
	case n == nil:
		err = q.check(res.parentChain(), acl.Bind)
	default:
		err = q.check(res.chain(), acl.WriteContent)
	}
	if err != nil {
		return err
	}
	if _, err := q.preconditions(n); err != nil {
		return err
	}
	submitted, err := q.evalIf()
	if err != nil {
		return err
	}
	if n == nil {
		if err := q.checkCapacity(res); err != nil {
			return err
		}
		if err := q.mayWrite(submitted, q.segs[:len(q.segs)-1]); err != nil {
			return err
		}
	}
	l, err := q.h.cfg.Locks.Create(q.ctx, q.box.Cell, q.box.Root, lock.Lock{
		Root: lockPath(q.segs), Depth: depth, Exclusive: info.Exclusive, Owner: info.Owner,
		Principal: q.box.Principal, Timeout: timeout,
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if n == nil {
		now := q.now()
		f := &node{doc: metastore.Doc{ID: q.h.cfg.NewID(), Kind: KindNode, Cell: q.box.Cell, Parent: res.parent().id(),
			Key: res.name, Published: now, Updated: now}, body: nodeBody{Type: TypeFile, Box: q.box.Root, CT: "application/octet-stream"}}
		if _, err := q.commitNode(f); err != nil {
			_ = q.h.cfg.Locks.Unlock(q.ctx, q.box.Cell, q.box.Root, l.Token, l.Root)
			return err
		}
		status = http.StatusCreated
	}
	q.w.Header().Set("Lock-Token", "<"+l.Token+">")
	return q.writeLockBody(status, []lock.Lock{l})
}

// refresh renews the lock named in the If header.
func (q *request) refresh(res *resolution, timeout time.Duration) error {
	if res.target == nil {
		return perr.New("PR404-DV-0001", q.r.URL.Path)
	}
	if err := q.check(res.chain(), acl.Read); err != nil {
		return err
	}
	h, err := q.ifHeader()
	if err != nil {
		return err
	}
	toks := h.Tokens()
	if len(toks) == 0 {
		return perr.New("PR400-DV-0010", "If")
	}
	var last error
	for _, t := range toks {
		l, err := q.h.cfg.Locks.Refresh(q.ctx, q.box.Cell, q.box.Root, t, lockPath(q.segs), timeout)
		if err == nil {
			return q.writeLockBody(http.StatusOK, []lock.Lock{l})
		}
		last = err
	}
	return last
}

func (q *request) writeLockBody(status int, locks []lock.Lock) error {
	var b bytes.Buffer
	if err := WriteLockResponse(&b, LockDiscoveryProperty(locks, q.lockHref)); err != nil {
		return err
	}
	q.w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	q.w.WriteHeader(status)
	_, _ = q.w.Write(b.Bytes())
	return nil
}

// unlock answers UNLOCK (RFC 4918 §9.11): only the lock's owner may
// remove it.
func (q *request) unlock() error {
	if q.h.cfg.Locks == nil {
		return perr.New("PR501-MC-0001")
	}
	tok, err := lock.ParseLockToken(q.r.Header.Get("Lock-Token"))
	if err != nil {
		if q.r.Header.Get("Lock-Token") == "" {
			return perr.New("PR400-DV-0010", "Lock-Token")
		}
		return err
	}
	if _, _, err := q.existing(acl.Read); err != nil {
		return err
	}
	locks, err := q.covering(q.segs)
	if err != nil {
		return err
	}
	for _, l := range locks {
		if l.Token == tok && l.Principal != q.box.Principal {
			return perr.New("PR403-AU-0002")
		}
	}
	if err := q.h.cfg.Locks.Unlock(q.ctx, q.box.Cell, q.box.Root, tok, lockPath(q.segs)); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// Methods lists the methods a box resource supports, for Allow.
const Methods = "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, PROPFIND, PROPPATCH, ACL, MOVE, COPY, LOCK, UNLOCK"

// Compliance is the DAV header value: class 1 and 2 and access control.
const Compliance = "1, 2, access-control"

// options answers OPTIONS with credentials.
func (q *request) options() error {
	h := q.w.Header()
	h.Set("Allow", Methods)
	h.Set("Access-Control-Allow-Methods", Methods)
	h.Set("DAV", Compliance)
	h.Set("MS-Author-Via", "DAV")
	q.w.WriteHeader(http.StatusOK)
	return nil
}
