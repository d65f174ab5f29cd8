package dav

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/personium-go/personium/dav/lock"
	"github.com/personium-go/personium/internal/perr"
)

// LockInfo is the body of a LOCK that creates a lock (RFC 4918 §9.10.1,
// §14.11 lockinfo). The lock type is always write, the only one RFC 4918
// defines.
type LockInfo struct {
	Exclusive bool // DAV:exclusive; false for DAV:shared
	// Owner is the content of DAV:owner as self-contained inner XML, as
	// a Property's InnerXML is (see the package comment), for the server
	// to store and give back verbatim in DAV:lockdiscovery; nil when the
	// body has no owner or an empty one. Attributes of the owner element
	// itself are dropped.
	Owner []byte
}

// ParseLockInfo reads the body of a LOCK (RFC 4918 §9.10). An empty
// body means a lock refresh and gives (nil, nil). Otherwise the root must
// be DAV:lockinfo with exactly one DAV:lockscope holding exactly one of
// DAV:exclusive and DAV:shared, exactly one DAV:locktype holding only
// DAV:write, and at most one DAV:owner; other elements are ignored.
// Errors are *perr.E: PR400-DV-0001 for XML that is not well-formed or
// has another root, PR400-DV-0002 for a lockinfo breaking the rules
// above or an owner over MaxPropBytes, PR413-MC-0001 for a body over
// MaxXMLBytes (see the package comment).
func ParseLockInfo(r io.Reader) (*LockInfo, error) {
	const op = "dav.ParseLockInfo"
	data, empty, err := readBody(op, r)
	if err != nil || empty {
		return nil, err
	}
	info := &LockInfo{}
	var scope, typ, owner bool
	// once refuses a second element of a kind.
	once := func(seen *bool, e *elem) error {
		if *seen {
			return contentErrorf("more than one <%s>", e.name.Local)
		}
		*seen = true
		return nil
	}
	err = parse(op, data, "lockinfo", func(rd *reader, _ *elem) error {
		return rd.children(func(e *elem) error {
			switch e.name {
			case davName("lockscope"):
				if err := once(&scope, e); err != nil {
					return err
				}
				n := 0
				err := rd.children(func(e *elem) error {
					switch e.name {
					case davName("exclusive"):
						info.Exclusive = true
						n++
					case davName("shared"):
						n++
					}
					return rd.skip(e)
				})
				if err == nil && n != 1 {
					err = contentErrorf("<lockscope> must hold one of <exclusive> and <shared>")
				}
				return err
			case davName("locktype"):
				if err := once(&typ, e); err != nil {
					return err
				}
				write, other := false, false
				err := rd.children(func(e *elem) error {
					if e.name == davName("write") {
						write = true
					} else {
						other = true
					}
					return rd.skip(e)
				})
				if err == nil && (!write || other) {
					err = contentErrorf("<locktype> must hold <write> only")
				}
				return err
			case davName("owner"):
				if err := once(&owner, e); err != nil {
					return err
				}
				v, err := rd.value()
				if len(v) > 0 {
					info.Owner = v
				}
				return err
			}
			return rd.skip(e)
		})
	})
	if err != nil {
		return nil, err
	}
	if !scope || !typ {
		return nil, perr.New(codeContent).WithOp(op).WithCause(errors.New("lockinfo without lockscope or locktype"))
	}
	return info, nil
}

// LockDiscoveryProperty returns the DAV:lockdiscovery property (RFC 4918
// §15.8) listing locks, one DAV:activelock each with its locktype,
// lockscope, depth ("0" or "infinity"), owner, timeout ("Second-N", N the
// lock's granted Timeout in whole seconds rounded up; "Infinite" for a
// Timeout ≤ 0), locktoken and lockroot. hrefOf turns a lock root into
// the URL-escaped href to report (nil: the root as is). An owner that is
// not self-contained well-formed content (not from ParseLockInfo) is
// left out rather than spoil the response. No locks give an empty
// property.
func LockDiscoveryProperty(locks []lock.Lock, hrefOf func(root string) string) Property {
	p := Property{Name: davName("lockdiscovery")}
	for i := range locks {
		p.InnerXML = lockAppendActive(p.InnerXML, &locks[i], hrefOf)
	}
	return p
}

// lockAppendActive appends one self-contained DAV:activelock.
func lockAppendActive(b []byte, l *lock.Lock, hrefOf func(string) string) []byte {
	b = append(b, `<D:activelock xmlns:D="DAV:"><D:locktype><D:write/></D:locktype><D:lockscope>`...)
	if l.Exclusive {
		b = append(b, "<D:exclusive/>"...)
	} else {
		b = append(b, "<D:shared/>"...)
	}
	b = append(b, "</D:lockscope><D:depth>"...)
	if l.Depth == lock.Infinity {
		b = append(b, "infinity"...)
	} else {
		b = append(b, '0')
	}
	b = append(b, "</D:depth>"...)
	if len(l.Owner) > 0 && checkProperty(&Property{Name: davName("owner"), InnerXML: l.Owner}) == nil {
		b = append(b, "<D:owner>"...)
		b = append(b, l.Owner...)
		b = append(b, "</D:owner>"...)
	}
	b = append(b, "<D:timeout>"...)
	if l.Timeout > 0 {
		b = append(b, "Second-"...)
		b = strconv.AppendInt(b, int64((l.Timeout+time.Second-1)/time.Second), 10)
	} else {
		b = append(b, "Infinite"...)
	}
	b = append(b, "</D:timeout>"...)
	if l.Token != "" {
		b = append(b, "<D:locktoken><D:href>"...)
		b = appendEscaped(b, l.Token, false)
		b = append(b, "</D:href></D:locktoken>"...)
	}
	href := l.Root
	if hrefOf != nil {
		href = hrefOf(l.Root)
	}
	b = append(b, "<D:lockroot><D:href>"...)
	b = appendEscaped(b, href, false)
	return append(b, "</D:href></D:lockroot></D:activelock>"...)
}

// SupportedLockProperty returns the DAV:supportedlock property (RFC 4918
// §15.10): exclusive and shared write locks.
func SupportedLockProperty() Property {
	return Property{Name: davName("supportedlock"), InnerXML: []byte(
		`<D:lockentry xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>` +
			`<D:lockentry xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>`)}
}

// WriteLockResponse writes the body of a successful LOCK (RFC 4918
// §9.10.1): p, normally LockDiscoveryProperty of the lock created or
// refreshed, in a DAV:prop element:
//
//	<?xml version="1.0" encoding="UTF-8"?>
//	<D:prop xmlns:D="DAV:"><D:lockdiscovery>…</D:lockdiscovery></D:prop>
//
// p is checked as WriteMultistatus checks properties, before anything is
// written; a bad one is an error of Kind Internal.
func WriteLockResponse(w io.Writer, p Property) error {
	if err := checkProperty(&p); err != nil {
		return &perr.E{Kind: perr.Internal, Op: "dav.WriteLockResponse", Err: err}
	}
	b := append([]byte(xml.Header), `<D:prop xmlns:D="DAV:"`...)
	personium := p.Name.Space == NSPersonium
	for _, a := range p.Attr {
		personium = personium || a.Name.Space == NSPersonium
	}
	if personium {
		b = append(b, ` xmlns:p="`+NSPersonium+`"`...)
	}
	b = append(b, '>')
	b = appendProperty(b, &p, false)
	b = append(b, "</D:prop>\n"...)
	_, err := w.Write(b)
	return err
}
