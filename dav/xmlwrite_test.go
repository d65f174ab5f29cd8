package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/perr"
)

func TestWriteMultistatus(t *testing.T) {
	mod := time.Date(2013, 7, 2, 5, 25, 4, 414e6, time.FixedZone("JST", 9*3600))
	rs := []Response{{
		Href: "https://unit.example/cell/box/col%20a/?x=1&y=<2>",
		Propstats: []Propstat{{
			Props: []Property{
				TextProperty(PropCreationDate, CreationDate(mod)),
				TextProperty(PropGetLastModified, LiveDate(mod)),
				ResourceTypeProp(CollectionOData.ResourceType()...),
				{Name: nn("urn:z", "author"), InnerXML: []byte(`<Z:name xmlns:Z="urn:z">Jane</Z:name>`)},
				{Name: nn("", "nonamespace"), InnerXML: []byte("a &lt; b")},
				{Name: pn("service"), Attr: []xml.Attr{attr("", "language", "JavaScript"), attr("urn:z", "k", `"q"`), lang("en")},
					InnerXML: []byte(`<p:path xmlns:p="urn:x-personium:xmlns" name="hello" src="hello.js"/>`)},
				// Unprefixed elements inside stay in no namespace.
				{Name: dn("dead"), InnerXML: []byte("x<y/>")},
				{Name: nn("urn:z", "nested"), InnerXML: []byte("<plain/>")},
			},
			Status: 200,
		}, {
			Props:               []Property{{Name: nn("urn:z", "missing")}},
			Status:              404,
			ResponseDescription: "not <here>",
		}},
	}, {
		Href:   "/cell/box/gone",
		Status: 404,
		Error:  []Property{{Name: dn("lock-token-submitted"), InnerXML: []byte(`<D:href xmlns:D="DAV:">/x</D:href>`)}},
	}}
	var b bytes.Buffer
	if err := WriteMultistatus(&b, rs); err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<multistatus xmlns="DAV:" xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">` +
		`<response><href>https://unit.example/cell/box/col%20a/?x=1&amp;y=&lt;2&gt;</href>` +
		`<propstat><prop>` +
		`<creationdate>2013-07-01T20:25:04.414Z</creationdate>` +
		`<getlastmodified>Mon, 01 Jul 2013 20:25:04 GMT</getlastmodified>` +
		`<resourcetype><D:collection xmlns:D="DAV:"/><p:odata xmlns:p="urn:x-personium:xmlns"/></resourcetype>` +
		`<ns0:author xmlns:ns0="urn:z"><Z:name xmlns:Z="urn:z">Jane</Z:name></ns0:author>` +
		`<nonamespace xmlns="">a &lt; b</nonamespace>` +
		`<p:service xmlns:ns0="urn:z" language="JavaScript" ns0:k="&quot;q&quot;" xml:lang="en"><p:path xmlns:p="urn:x-personium:xmlns" name="hello" src="hello.js"/></p:service>` +
		`<D:dead xmlns="">x<y/></D:dead>` +
		`<ns0:nested xmlns:ns0="urn:z" xmlns=""><plain/></ns0:nested>` +
		`</prop><status>HTTP/1.1 200 OK</status></propstat>` +
		`<propstat><prop><ns0:missing xmlns:ns0="urn:z"/></prop><status>HTTP/1.1 404 Not Found</status>` +
		`<responsedescription>not &lt;here&gt;</responsedescription></propstat>` +
		"</response>\n" +
		`<response><href>/cell/box/gone</href><status>HTTP/1.1 404 Not Found</status>` +
		`<error><lock-token-submitted><D:href xmlns:D="DAV:">/x</D:href></lock-token-submitted></error>` +
		"</response>\n</multistatus>\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := wellFormed(b.Bytes()); err != nil {
		t.Error(err)
	}
	// An empty list is a valid multistatus too.
	b.Reset()
	if err := WriteMultistatus(&b, nil); err != nil || wellFormed(b.Bytes()) != nil {
		t.Errorf("empty: %v %s", err, b.String())
	}
}

func TestWriteMultistatusRefusals(t *testing.T) {
	ok := Property{Name: dn("x")}
	tests := []struct {
		name string
		r    Response
	}{
		{"no status", Response{Href: "/a"}},
		{"both", Response{Href: "/a", Status: 404, Propstats: []Propstat{{Props: []Property{ok}, Status: 200}}}},
		{"propstat status", Response{Propstats: []Propstat{{Props: []Property{ok}, Status: 1000}}}},
		{"empty local name", Response{Propstats: []Propstat{{Props: []Property{{Name: nn("urn:z", "")}}, Status: 200}}}},
		{"colon in name", Response{Propstats: []Propstat{{Props: []Property{{Name: nn("urn:z", "a:b")}}, Status: 200}}}},
		{"space in name", Response{Propstats: []Propstat{{Props: []Property{{Name: nn("urn:z", "a b")}}, Status: 200}}}},
		{"xmlns namespace", Response{Propstats: []Propstat{{Props: []Property{{Name: nn(nsXMLNS, "a")}}, Status: 200}}}},
		{"bad attribute", Response{Propstats: []Propstat{{Props: []Property{{Name: dn("a"), Attr: []xml.Attr{attr("", "xmlns", "urn:x")}}}, Status: 200}}}},
		{"repeated attribute", Response{Propstats: []Propstat{{Props: []Property{{Name: dn("a"), Attr: []xml.Attr{attr("", "k", "1"), attr("", "k", "2")}}}, Status: 200}}}},
		{"not self-contained", Response{Propstats: []Propstat{{Props: []Property{{Name: dn("a"), InnerXML: []byte(`<Z:b/>`)}}, Status: 200}}}},
		{"not well-formed", Response{Propstats: []Propstat{{Props: []Property{{Name: dn("a"), InnerXML: []byte(`<b>`)}}, Status: 200}}}},
		{"closes the property", Response{Propstats: []Propstat{{Props: []Property{{Name: dn("a"), InnerXML: []byte(`</D:a><D:b>`)}}, Status: 200}}}},
		{"raw ampersand", Response{Propstats: []Propstat{{Props: []Property{{Name: dn("a"), InnerXML: []byte(`a & b`)}}, Status: 200}}}},
		{"doctype", Response{Propstats: []Propstat{{Props: []Property{{Name: dn("a"), InnerXML: []byte(`<!DOCTYPE x>`)}}, Status: 200}}}},
		{"bad error element", Response{Status: 403, Error: []Property{{Name: dn("")}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := WriteMultistatus(&b, []Response{{Href: "/ok", Status: 200}, tt.r})
			if !perr.Is(err, perr.Internal) {
				t.Fatalf("error %v, want Internal", err)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q before failing", b.String())
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteMultistatusWriteError(t *testing.T) {
	if err := WriteMultistatus(failWriter{}, []Response{{Href: "/", Status: 200}}); err == nil {
		t.Error("no error from a failing writer")
	}
}

func TestEscaping(t *testing.T) {
	var b bytes.Buffer
	href := "/a\x00b\uFFFEc\xffd\r\n\t\"'"
	if err := WriteMultistatus(&b, []Response{{Href: href, Status: 200, ResponseDescription: "]]> & <"}}); err != nil {
		t.Fatal(err)
	}
	var ms struct {
		Response struct {
			Href string `xml:"href"`
			Desc string `xml:"responsedescription"`
		} `xml:"response"`
	}
	if err := xml.Unmarshal(b.Bytes(), &ms); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if want := "/a\uFFFDb\uFFFDc\uFFFDd\r\n\t\"'"; ms.Response.Href != want {
		t.Errorf("href %q, want %q", ms.Response.Href, want)
	}
	if ms.Response.Desc != "]]> & <" {
		t.Errorf("description %q", ms.Response.Desc)
	}
}

// TestRoundTrip: what ParseProppatch accepts, WriteMultistatus writes
// back so that encoding/xml reads the same names, attributes and values.
func TestRoundTrip(t *testing.T) {
	bodies := []string{
		`<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:author><Z:name>Jane</Z:name></Z:author></D:prop></D:set></D:propertyupdate>`,
		`<propertyupdate xmlns="DAV:"><set><prop><nonamespace xmlns="">random &amp; value</nonamespace><foo xmlns="urn:f"><bar k="v">x</bar>tail<baz xmlns="">y</baz></foo></prop></set></propertyupdate>`,
		`<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:service language="JavaScript" subject="engineAccount"><p:path name="hello" src="hello.js"/></p:service><D:displayname xml:lang="ja">名前</D:displayname></D:prop></D:set></D:propertyupdate>`,
		`<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xmlns:A="urn:a" xml:lang="en"><D:set><D:prop><Z:m A:x="1" Z:y="2">a<![CDATA[<&>]]>b&#13;c<A:q A:z="&#10;"><Z:r xmlns:Z="urn:other"/></A:q></Z:m></D:prop></D:set></D:propertyupdate>`,
		`<propertyupdate xmlns='DAV:'><set><prop><high-unicode xmlns='http://example.com/neon/litmus/'>&#65536;</high-unicode></prop></set></propertyupdate>`,
	}
	for _, body := range bodies {
		ops, err := ParseProppatch(strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		var props []Property
		for _, o := range ops {
			props = append(props, o.Props...)
		}
		var b bytes.Buffer
		if err := WriteMultistatus(&b, []Response{{Href: "/p", Propstats: []Propstat{{Props: props, Status: 200}}}}); err != nil {
			t.Fatal(err)
		}
		got, err := readMultistatus(b.Bytes())
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		if len(got) != len(props) {
			t.Fatalf("%d properties written, %d read back:\n%s", len(props), len(got), b.String())
		}
		for i, p := range props {
			want, err := canon(p.InnerXML)
			if err != nil {
				t.Fatalf("InnerXML %q does not parse alone: %v", p.InnerXML, err)
			}
			if got[i].name != p.Name || got[i].value != want || got[i].attrs != attrCanon(p.Attr) {
				t.Errorf("property %d of %s:\nread  %v %s %s\nwant  %v %s %s", i, body,
					got[i].name, got[i].attrs, got[i].value, p.Name, attrCanon(p.Attr), want)
			}
		}
		// And the values mean what the request said.
		wantVals, err := readProppatch([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := range wantVals {
			if got[i].value != wantVals[i].value || got[i].name != wantVals[i].name {
				t.Errorf("%s: property %d is %v %s, the request said %v %s", body, i, got[i].name, got[i].value, wantVals[i].name, wantVals[i].value)
			}
		}
	}
}

// readProppatch reads the set properties of a request (without XML
// declaration) with encoding/xml alone: wrapped in a multistatus, the
// children of propertyupdate/set/prop sit where readMultistatus looks.
func readProppatch(data []byte) ([]msProp, error) {
	doc := append([]byte(`<D:multistatus xmlns:D="DAV:">`), data...)
	return readMultistatus(append(doc, `</D:multistatus>`...))
}

func TestDates(t *testing.T) {
	tm := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.FixedZone("X", -5*3600))
	if got, want := LiveDate(tm), "Fri, 01 Mar 2024 04:59:58 GMT"; got != want {
		t.Errorf("LiveDate %q, want %q", got, want)
	}
	if got, want := CreationDate(tm), "2024-03-01T04:59:58.123Z"; got != want {
		t.Errorf("CreationDate %q, want %q", got, want)
	}
	if _, err := time.Parse(time.RFC3339, CreationDate(tm)); err != nil {
		t.Error(err)
	}
	if _, err := time.Parse(time.RFC1123, LiveDate(tm)); err != nil {
		t.Error(err)
	}
}

func TestResourceTypeProp(t *testing.T) {
	tests := []struct {
		names []xml.Name
		want  string
	}{
		{nil, ""},
		{CollectionPlain.ResourceType(), `<D:collection xmlns:D="DAV:"/>`},
		{CollectionService.ResourceType(), `<D:collection xmlns:D="DAV:"/><p:service xmlns:p="urn:x-personium:xmlns"/>`},
		{CollectionStream.ResourceType(), `<D:collection xmlns:D="DAV:"/><p:stream xmlns:p="urn:x-personium:xmlns"/>`},
		{[]xml.Name{nn("urn:ietf:params:xml:ns:caldav", "calendar"), nn("", "x")}, `<ns0:calendar xmlns:ns0="urn:ietf:params:xml:ns:caldav"/><x/>`},
	}
	for _, tt := range tests {
		p := ResourceTypeProp(tt.names...)
		if p.Name != PropResourceType || string(p.InnerXML) != tt.want {
			t.Errorf("%v: %v %s, want %s", tt.names, p.Name, p.InnerXML, tt.want)
		}
		if err := checkProperty(&p); err != nil {
			t.Error(err)
		}
	}
}

func TestText(t *testing.T) {
	p := TextProperty(pn("relayhtmlurl"), "https://a.example/?x=1&y=<2>\r\n")
	if s, ok := p.Text(); !ok || s != "https://a.example/?x=1&y=<2>\r\n" {
		t.Errorf("Text of TextProperty: %q %v (InnerXML %q)", s, ok, p.InnerXML)
	}
	ops, err := ParseProppatch(strings.NewReader(`<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:a>x &amp; <![CDATA[<y>]]></p:a><p:b>x<p:c/></p:b><p:e/></D:prop></D:set></D:propertyupdate>`))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := ops[0].Props[0].Text(); !ok || s != "x & <y>" {
		t.Errorf("text: %q %v", s, ok)
	}
	if s, ok := ops[0].Props[1].Text(); ok {
		t.Errorf("element value read as text %q", s)
	}
	if s, ok := ops[0].Props[2].Text(); !ok || s != "" {
		t.Errorf("empty value: %q %v", s, ok)
	}
}

func TestWriteMkcolResponse(t *testing.T) {
	m, err := ParseMkcol(strings.NewReader(`<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:box/></D:resourcetype></D:prop></D:set></D:mkcol>`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Type()
	var e *perr.E
	if !errors.As(err, &e) {
		t.Fatalf("Type: %v", err)
	}
	var b bytes.Buffer
	err = WriteMkcolResponse(&b, []Propstat{{
		Props:               []Property{ResourceTypeProp(m.ResourceType...)},
		Status:              e.Status(),
		Error:               []Property{{Name: ValidResourceType}},
		ResponseDescription: e.Err.Error(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<mkcol-response xmlns="DAV:" xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><propstat><prop>` +
		`<resourcetype><D:collection xmlns:D="DAV:"/><p:box xmlns:p="urn:x-personium:xmlns"/></resourcetype></prop>` +
		`<status>HTTP/1.1 403 Forbidden</status><error><valid-resourcetype/></error>` +
		`<responsedescription>such DC1 extension not supported on this server</responsedescription></propstat></mkcol-response>
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if err := WriteMkcolResponse(&b, []Propstat{{Status: 0}}); !perr.Is(err, perr.Internal) {
		t.Errorf("bad status: %v", err)
	}
}
