// Package lock implements WebDAV class-2 locking (RFC 4918 §6, §7, §9.10,
// §9.11, §10.4): the If and Lock-Token request headers, the Timeout
// header, and a lock Manager whose state lives in the metadata store, so
// that every server process sees the same locks. It knows nothing of
// HTTP handlers or XML; package dav writes lockdiscovery from its Lock
// values.
//
// # Storage
//
// A lock is a metastore.Doc of Kind "DavLock" with Cell the cell ID,
// Parent the ID of the box the lock belongs to (a "box scope" chosen by
// the caller) and Key the lock token. Its body holds the lock root (a
// path inside the box: "/" or "/a/b", without a trailing slash), depth,
// scope, owner XML, principal, timeout and expiry. One more document of
// the same kind per box, with Key "#epoch" and no root, is a version
// counter that serialises lock creation in the box (see Concurrency).
// Expired locks are ignored everywhere and deleted when next seen.
//
// # Concurrency
//
// Manager methods are safe for concurrent use by any number of
// goroutines and processes sharing the store. Create reads the box's
// epoch document and the locks that could conflict in one Query, checks
// for conflicts, and then, in one metastore Apply, inserts the lock,
// deletes the expired locks it saw (each with IfVersion) and updates the
// epoch with IfVersion. A concurrent Create in the same box — on the
// same root, an ancestor or a descendant — bumps the epoch first and
// makes this Apply fail; Create then starts again and sees the other
// lock. So two conflicting locks are never both granted, as long as the
// backend honours Apply's atomicity and IfVersion, as metastore
// requires. A Refresh racing with a Create that judged the lock expired
// loses or wins on the lock's own version.
//
// The epoch is read by the same Query as the locks, not by a Get: a
// backend whose Get sees a write before its Query does (Elasticsearch's
// realtime GET before a refresh) would otherwise show the epoch after
// another process's lock but not that lock, and the lock would be granted
// twice. The epoch is the batch's last write, so that a backend that
// applies a batch in order and lets a reader glimpse it half-done never
// shows the new epoch without the new lock.
//
// What remains:
//   - Expiry is judged by each process's clock (Manager.Now); with clocks
//     skewed by d, a lock may be treated as expired up to d early by one
//     process while another still honours it.
//   - Lock checks made by writing methods (PUT, DELETE…: Covering, then
//     the write) are not atomic with the write: a LOCK granted between
//     the check and the write does not stop that write. Closing this
//     window would need the check inside the write's Apply.
//
// The epoch makes LOCKs in one box take turns (a conflicting attempt
// costs a retry; CodeBusy after 64 in a row); LOCKs in different boxes
// do not interact. Reads (Covering, Below, Get) may write: they delete
// the expired locks they meet, best effort.
//
// # Errors
//
// Errors are *perr.E. The codes are the Code constants; backend failures
// pass through with their Kinds (Unavailable, Internal…).
package lock

import (
	"strconv"
	"strings"
	"time"
)

// Codes of the errors this package returns (messages in
// internal/perr/messages.txt).
const (
	// CodeBadHeader: a malformed If or Lock-Token header (400).
	// Params: the header name, its value.
	CodeBadHeader = "PR400-DV-0009"
	// CodeBadDepth: a lock depth other than 0 and Infinity (400).
	CodeBadDepth = "PR400-DV-0003"
	// CodeLocked: a conflicting lock exists (423). The error's Path is
	// the root of that lock, for the DAV:no-conflicting-lock
	// precondition (RFC 4918 §16). Params: that root.
	CodeLocked = "PR423-DV-0001"
	// CodeNoLock: Refresh of a token that no unexpired lock covering the
	// resource has (412, RFC 4918 §9.10.6). Params: token, path.
	CodeNoLock = "PR412-DV-0003"
	// CodeTokenMismatch: Unlock with a token that no unexpired lock
	// covering the resource has (409, RFC 4918 §9.11.1 precondition
	// DAV:lock-token-matches-request-uri). Params: token, path.
	CodeTokenMismatch = "PR409-DV-0003"
	// CodeBusy: Create gave up after too many concurrent updates of the
	// box's locks (503).
	CodeBusy = "PR503-DV-0001"
)

// Infinity is the Depth of a lock on a collection and all its members.
const Infinity = -1

// Timeouts a lock can have.
const (
	DefaultTimeout = time.Hour          // when the client asks for none
	MaxTimeout     = 7 * 24 * time.Hour // the longest granted; "Infinite" gets this
	MinTimeout     = time.Second        // the shortest granted
)

// Lock is one lock.
type Lock struct {
	Token string // state token, an absolute URI ("urn:uuid:…"); set by Create
	// Root is the locked resource: a path inside the box, "/" or "/a/b"
	// (collections without a trailing slash).
	Root      string
	Depth     int  // 0 or Infinity
	Exclusive bool // exclusive, else shared
	// Owner is the inner XML of the DAV:owner element of the LOCK
	// request, verbatim (self-contained, see package dav); nil if none.
	Owner     []byte
	Principal string        // who created the lock (an account or role URL…); not interpreted
	Timeout   time.Duration // as granted
	Expires   time.Time     // set by Create and Refresh
}

// Covers reports whether the lock applies to the resource at path
// (cleaned as the Manager does): it is the root, or the lock has depth
// infinity and path is below the root.
func (l Lock) Covers(path string) bool {
	path = Clean(path)
	return l.Root == path || (l.Depth == Infinity && under(path, l.Root))
}

// Clean returns the canonical form of a path inside a box: a leading
// slash, no trailing slash (except for "/"), no empty, "." or ".."
// segments. The Manager cleans every path it is given.
func Clean(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	var segs []string
	for s := range strings.SplitSeq(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	return "/" + strings.Join(segs, "/")
}

// under reports whether p is strictly below root; both are clean.
func under(p, root string) bool {
	if root == "/" {
		return p != "/"
	}
	return len(p) > len(root) && p[len(root)] == '/' && strings.HasPrefix(p, root)
}

// ancestors returns "/" and every proper ancestor of the clean path p,
// shortest first; none for "/".
func ancestors(p string) []string {
	if p == "/" {
		return nil
	}
	out := []string{"/"}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}

// ParseTimeout reads a Timeout request header (RFC 4918 §10.7): a
// comma-separated list of "Second-N" and "Infinite", of which the first
// one understood applies. The result is clamped to [MinTimeout,
// MaxTimeout]; "Infinite" gives MaxTimeout; an absent or unintelligible
// header gives DefaultTimeout.
func ParseTimeout(h string) time.Duration {
	for v := range strings.SplitSeq(h, ",") {
		v = strings.TrimSpace(v)
		if strings.EqualFold(v, "Infinite") {
			return MaxTimeout
		}
		if len(v) > 7 && strings.EqualFold(v[:7], "Second-") {
			n, err := strconv.ParseUint(v[7:], 10, 64)
			if err != nil {
				if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
					return MaxTimeout
				}
				continue
			}
			return clampTimeout(time.Duration(max(1, min(n, uint64(MaxTimeout/time.Second)))) * time.Second)
		}
	}
	return DefaultTimeout
}

// clampTimeout gives d ≤ 0 DefaultTimeout and keeps the rest within
// [MinTimeout, MaxTimeout].
func clampTimeout(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return DefaultTimeout
	case d < MinTimeout:
		return MinTimeout
	case d > MaxTimeout:
		return MaxTimeout
	}
	return d
}
