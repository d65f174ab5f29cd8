package dav

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/personium-go/personium/dav/lock"
)

func FuzzParseLockInfo(f *testing.F) {
	for _, s := range []string{
		"",
		`<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>` +
			`<D:owner><D:href>http://example.org/~ejw/contact.html</D:href></D:owner></D:lockinfo>`,
		"<lockinfo xmlns='DAV:'>\n <lockscope><shared/></lockscope>\n<locktype><write/></locktype><owner>litmus test suite</owner>\n</lockinfo>\n",
		`<D:lockinfo xmlns:D="DAV:" xmlns:Z="urn:z" xml:lang="en"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype>` +
			`<D:owner>a<Z:n Z:a="&#9;" b="&quot;">J&amp;<![CDATA[<&>]]><D:x xmlns:D="urn:o"/><y xmlns=""/></Z:n>&#13;<!--c--><?p?></D:owner></D:lockinfo>`,
		`<lockinfo xmlns="DAV:"><owner><href>x</href></owner><locktype><read/></locktype></lockinfo>`,
	} {
		f.Add([]byte(s))
	}
	for _, r := range refusals {
		if len(r.body) < 4096 {
			f.Add([]byte(fill(r.body, "lockinfo")))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := ParseLockInfo(bytes.NewReader(body))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if info == nil {
			if len(bytes.Trim(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")) != 0 {
				t.Fatalf("refresh (nil) for a non-empty body")
			}
			return
		}
		if len(info.Owner) > MaxPropBytes || (info.Owner != nil && len(info.Owner) == 0) {
			t.Fatalf("owner of %d bytes", len(info.Owner))
		}
		// The owner goes into lockdiscovery whole, and the LOCK response
		// is well-formed.
		p := LockDiscoveryProperty([]lock.Lock{{Token: "urn:uuid:x", Root: "/", Exclusive: info.Exclusive, Owner: info.Owner}}, nil)
		if info.Owner != nil && !bytes.Contains(p.InnerXML, append(append([]byte("<D:owner>"), info.Owner...), "</D:owner>"...)) {
			t.Fatalf("owner %q left out of %s", info.Owner, p.InnerXML)
		}
		var b bytes.Buffer
		if err := WriteLockResponse(&b, p); err != nil {
			t.Fatalf("WriteLockResponse: %v", err)
		}
		if err := wellFormed(b.Bytes()); err != nil {
			t.Fatalf("LOCK response not well-formed: %v\n%s", err, b.String())
		}
		// A lockinfo written with the owner parses as the same LockInfo.
		scope := "<D:shared/>"
		if info.Exclusive {
			scope = "<D:exclusive/>"
		}
		doc := []byte(`<D:lockinfo xmlns:D="DAV:"><D:lockscope>` + scope + `</D:lockscope><D:locktype><D:write/></D:locktype><D:owner>`)
		doc = append(append(doc, info.Owner...), "</D:owner></D:lockinfo>"...)
		again, err := ParseLockInfo(bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("written lockinfo does not parse: %v\n%s", err, doc)
		}
		if !reflect.DeepEqual(again, info) {
			t.Fatalf("lockinfo changes when parsed again: %q, then %q", info.Owner, again.Owner)
		}
	})
}
