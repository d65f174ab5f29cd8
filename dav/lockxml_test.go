package dav

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/dav/lock"
	"github.com/personium-go/personium/internal/perr"
)

func TestLockInfoParse(t *testing.T) {
	cases := []struct {
		name, body string
		want       *LockInfo
	}{
		{"empty", "", nil},
		{"white space", " \r\n\t", nil},
		{"rfc4918 9.10.7", `<?xml version="1.0" encoding="utf-8" ?>
<D:lockinfo xmlns:D='DAV:'>
  <D:lockscope><D:exclusive/></D:lockscope>
  <D:locktype><D:write/></D:locktype>
  <D:owner>
    <D:href>http://example.org/~ejw/contact.html</D:href>
  </D:owner>
</D:lockinfo>`, &LockInfo{Exclusive: true,
			Owner: []byte("\n    <D:href xmlns:D=\"DAV:\">http://example.org/~ejw/contact.html</D:href>\n  ")}},
		{"litmus", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<lockinfo xmlns='DAV:'>\n <lockscope><shared/></lockscope>\n" +
			"<locktype><write/></locktype><owner>litmus test suite</owner>\n</lockinfo>\n",
			&LockInfo{Owner: []byte("litmus test suite")}},
		{"default namespace owner element", `<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope><locktype><write/></locktype><owner><href>x</href></owner></lockinfo>`,
			&LockInfo{Exclusive: true, Owner: []byte(`<href xmlns="DAV:">x</href>`)}},
		{"foreign owner", `<D:lockinfo xmlns:D="DAV:" xmlns:Z="urn:z"><D:locktype><D:write/></D:locktype><D:lockscope><D:shared/></D:lockscope>` +
			`<D:owner><Z:name Z:a="1">Jane &amp; co</Z:name><![CDATA[<x>]]></D:owner><Z:ignored><D:owner/></Z:ignored></D:lockinfo>`,
			&LockInfo{Owner: []byte(`<Z:name xmlns:Z="urn:z" Z:a="1">Jane &amp; co</Z:name>&lt;x&gt;`)}},
		{"no owner", `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`,
			&LockInfo{Exclusive: true}},
		{"empty owner", `<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner/></D:lockinfo>`,
			&LockInfo{Exclusive: true}},
		{"unknown elements", `<D:lockinfo xmlns:D="DAV:"><D:x/><D:lockscope><D:shared/><D:y/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`,
			&LockInfo{}},
	}
	for _, c := range cases {
		got, err := ParseLockInfo(strings.NewReader(c.body))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v (owner %q), want %+v", c.name, got, lockOwnerOf(got), c.want)
		}
	}
	if got, err := ParseLockInfo(nil); got != nil || err != nil {
		t.Errorf("nil body: %v, %v", got, err)
	}
}

func lockOwnerOf(i *LockInfo) string {
	if i == nil {
		return ""
	}
	return string(i.Owner)
}

func TestLockInfoRefusals(t *testing.T) {
	const ok = `<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>`
	li := func(inner string) string { return `<D:lockinfo xmlns:D="DAV:">` + inner + `</D:lockinfo>` }
	for _, c := range []struct{ body, code string }{
		{"<D:lockinfo", codeParse},
		{`<D:propfind xmlns:D="DAV:">` + ok + `</D:propfind>`, codeParse},
		{`<lockinfo>` + ok + `</lockinfo>`, codeParse}, // no namespace
		{`<!DOCTYPE x [<!ENTITY a "b">]>` + li(ok), codeParse},
		{li(ok + `<D:owner>&a;</D:owner>`), codeParse},
		{li(ok + `<D:owner><X:y/></D:owner>`), codeParse}, // undeclared prefix
		{li(""), codeContent},
		{li(`<D:lockscope><D:exclusive/></D:lockscope>`), codeContent},
		{li(`<D:locktype><D:write/></D:locktype>`), codeContent},
		{li(`<D:lockscope/><D:locktype><D:write/></D:locktype>`), codeContent},
		{li(`<D:lockscope><D:exclusive/><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype>`), codeContent},
		{li(`<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:read/></D:locktype>`), codeContent},
		{li(`<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/><D:read/></D:locktype>`), codeContent},
		{li(`<D:lockscope><D:exclusive/></D:lockscope><D:locktype/>`), codeContent},
		{li(ok + `<D:lockscope><D:shared/></D:lockscope>`), codeContent},
		{li(ok + `<D:locktype><D:write/></D:locktype>`), codeContent},
		{li(ok + `<D:owner>a</D:owner><D:owner>b</D:owner>`), codeContent},
		{li(ok + `<D:owner>` + strings.Repeat("x", MaxPropBytes+1) + `</D:owner>`), codeContent},
		{li(ok + strings.Repeat(" ", MaxXMLBytes)), codeTooLarge},
	} {
		_, err := ParseLockInfo(strings.NewReader(c.body))
		if perr.CodeOf(err) != c.code {
			body := c.body
			if len(body) > 200 {
				body = body[:200] + "…"
			}
			t.Errorf("ParseLockInfo(%q): %v, want %s", body, err, c.code)
		}
	}
}

// TestLockInfoCommonRefusals runs the refusals every parser shares.
func TestLockInfoCommonRefusals(t *testing.T) {
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			_, err := ParseLockInfo(strings.NewReader(fill(r.body, "lockinfo")))
			wantCode(t, err, r.code)
		})
	}
}

func TestLockDiscoveryProperty(t *testing.T) {
	locks := []lock.Lock{
		{Token: "urn:uuid:1", Root: "/a b", Depth: lock.Infinity, Exclusive: true,
			Owner: []byte(`<D:href xmlns:D="DAV:">mailto:x@y</D:href>`), Timeout: 3600 * time.Second},
		{Token: "urn:uuid:2&", Root: "/", Depth: 0, Owner: []byte("<broken"), Timeout: 1500 * time.Millisecond},
		{Token: "urn:uuid:3", Root: "/c", Timeout: 0},
	}
	p := LockDiscoveryProperty(locks, func(root string) string { return "http://h/box" + strings.ReplaceAll(root, " ", "%20") })
	want := `<D:activelock xmlns:D="DAV:"><D:locktype><D:write/></D:locktype><D:lockscope><D:exclusive/></D:lockscope>` +
		`<D:depth>infinity</D:depth><D:owner><D:href xmlns:D="DAV:">mailto:x@y</D:href></D:owner><D:timeout>Second-3600</D:timeout>` +
		`<D:locktoken><D:href>urn:uuid:1</D:href></D:locktoken><D:lockroot><D:href>http://h/box/a%20b</D:href></D:lockroot></D:activelock>` +
		`<D:activelock xmlns:D="DAV:"><D:locktype><D:write/></D:locktype><D:lockscope><D:shared/></D:lockscope>` +
		`<D:depth>0</D:depth><D:timeout>Second-2</D:timeout>` +
		`<D:locktoken><D:href>urn:uuid:2&amp;</D:href></D:locktoken><D:lockroot><D:href>http://h/box/</D:href></D:lockroot></D:activelock>` +
		`<D:activelock xmlns:D="DAV:"><D:locktype><D:write/></D:locktype><D:lockscope><D:shared/></D:lockscope>` +
		`<D:depth>0</D:depth><D:timeout>Infinite</D:timeout>` +
		`<D:locktoken><D:href>urn:uuid:3</D:href></D:locktoken><D:lockroot><D:href>http://h/box/c</D:href></D:lockroot></D:activelock>`
	if p.Name != davName("lockdiscovery") || string(p.InnerXML) != want {
		t.Errorf("LockDiscoveryProperty =\n%s %s\nwant\n%s", p.Name.Local, p.InnerXML, want)
	}
	// It fits a multistatus.
	var b bytes.Buffer
	if err := WriteMultistatus(&b, []Response{{Href: "/x", Propstats: []Propstat{{Props: []Property{p, SupportedLockProperty()}, Status: 200}}}}); err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	if p := LockDiscoveryProperty(nil, nil); p.Name != davName("lockdiscovery") || p.InnerXML != nil {
		t.Errorf("no locks: %+v", p)
	}
	if p := LockDiscoveryProperty([]lock.Lock{{Root: "/r"}}, nil); !bytes.Contains(p.InnerXML, []byte("<D:lockroot><D:href>/r</D:href>")) {
		t.Errorf("nil hrefOf: %s", p.InnerXML)
	}
}

// lockResponse is the shape of a LOCK response body, as encoding/xml
// reads it.
type lockResponse struct {
	XMLName xml.Name `xml:"DAV: prop"`
	Active  []struct {
		Scope struct {
			Exclusive *struct{} `xml:"DAV: exclusive"`
			Shared    *struct{} `xml:"DAV: shared"`
		} `xml:"DAV: lockscope"`
		Type struct {
			Write *struct{} `xml:"DAV: write"`
		} `xml:"DAV: locktype"`
		Depth   string `xml:"DAV: depth"`
		Owner   string `xml:"DAV: owner>href"`
		Timeout string `xml:"DAV: timeout"`
		Token   string `xml:"DAV: locktoken>href"`
		Root    string `xml:"DAV: lockroot>href"`
	} `xml:"DAV: lockdiscovery>activelock"`
}

func TestWriteLockResponse(t *testing.T) {
	info, err := ParseLockInfo(strings.NewReader(`<lockinfo xmlns="DAV:"><lockscope><exclusive/></lockscope>` +
		`<locktype><write/></locktype><owner><href>http://me</href></owner></lockinfo>`))
	if err != nil {
		t.Fatal(err)
	}
	l := lock.Lock{Token: "urn:uuid:t", Root: "/f", Depth: 0, Exclusive: info.Exclusive, Owner: info.Owner, Timeout: lock.ParseTimeout("Second-60")}
	var b bytes.Buffer
	if err := WriteLockResponse(&b, LockDiscoveryProperty([]lock.Lock{l}, nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), xml.Header+`<D:prop xmlns:D="DAV:"><D:lockdiscovery><D:activelock`) {
		t.Errorf("body %s", b.String())
	}
	var got lockResponse
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(got.Active) != 1 {
		t.Fatalf("%d activelocks\n%s", len(got.Active), b.String())
	}
	a := got.Active[0]
	if a.Scope.Exclusive == nil || a.Scope.Shared != nil || a.Type.Write == nil || a.Depth != "0" ||
		a.Owner != "http://me" || a.Timeout != "Second-60" || a.Token != "urn:uuid:t" || a.Root != "/f" {
		t.Errorf("read back %+v\n%s", a, b.String())
	}

	// Checked before writing.
	b.Reset()
	err = WriteLockResponse(&b, Property{Name: davName("lockdiscovery"), InnerXML: []byte("<a>")})
	if !perr.Is(err, perr.Internal) || b.Len() != 0 {
		t.Errorf("bad property: %v, wrote %q", err, b.String())
	}
	// A Personium property gets its prefix declared.
	b.Reset()
	if err := WriteLockResponse(&b, TextProperty(xml.Name{Space: NSPersonium, Local: "x"}, "v")); err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(b.Bytes()); err != nil || !strings.Contains(b.String(), `xmlns:p="urn:x-personium:xmlns"`) {
		t.Errorf("%v\n%s", err, b.String())
	}
}

func TestSupportedLockProperty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteLockResponse(&b, SupportedLockProperty()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Entries []struct {
			Scope struct {
				Inner []byte `xml:",innerxml"`
			} `xml:"DAV: lockscope"`
			Type struct {
				Write *struct{} `xml:"DAV: write"`
			} `xml:"DAV: locktype"`
		} `xml:"DAV: supportedlock>lockentry"`
	}
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 2 || got.Entries[0].Type.Write == nil || got.Entries[1].Type.Write == nil ||
		string(got.Entries[0].Scope.Inner) != "<D:exclusive/>" || string(got.Entries[1].Scope.Inner) != "<D:shared/>" {
		t.Errorf("supportedlock %s", b.String())
	}
}
