package dav

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/perr"
)

const decl = `<?xml version="1.0" encoding="utf-8" ?>`

func dn(local string) xml.Name      { return xml.Name{Space: NSDAV, Local: local} }
func pn(local string) xml.Name      { return xml.Name{Space: NSPersonium, Local: local} }
func nn(ns, local string) xml.Name  { return xml.Name{Space: ns, Local: local} }
func lang(v string) xml.Attr        { return xml.Attr{Name: nn(nsXML, "lang"), Value: v} }
func attr(ns, l, v string) xml.Attr { return xml.Attr{Name: nn(ns, l), Value: v} }

func TestParsePropfind(t *testing.T) {
	tests := []struct {
		name, body string
		want       PropfindRequest
	}{
		{"empty body", "", PropfindRequest{AllProp: true}},
		{"white space", " \r\n\t", PropfindRequest{AllProp: true}},
		{"personium allprop", decl + `<D:propfind xmlns:D="DAV:">
  <D:allprop/>
</D:propfind>`, PropfindRequest{AllProp: true}},
		{"byte order mark", "\xef\xbb\xbf" + `<propfind xmlns="DAV:"><allprop/></propfind>`, PropfindRequest{AllProp: true}},
		// RFC 4918 §9.1.3.
		{"rfc prop", decl + `<D:propfind xmlns:D="DAV:"><D:prop xmlns:R="http://ns.example.com/boxschema/">
<R:bigbox/><R:author/><R:DingALing/><R:Random/></D:prop></D:propfind>`,
			PropfindRequest{Prop: []xml.Name{
				nn("http://ns.example.com/boxschema/", "bigbox"), nn("http://ns.example.com/boxschema/", "author"),
				nn("http://ns.example.com/boxschema/", "DingALing"), nn("http://ns.example.com/boxschema/", "Random")}}},
		// RFC 4918 §9.1.4.
		{"rfc propname", decl + `<propfind xmlns="DAV:"><propname/></propfind>`, PropfindRequest{PropName: true}},
		// RFC 4918 §9.1.6.
		{"rfc allprop include", decl + `<D:propfind xmlns:D="DAV:"><D:allprop/><D:include>
<D:supported-live-property-set/><D:supported-report-set/></D:include></D:propfind>`,
			PropfindRequest{AllProp: true, Include: []xml.Name{dn("supported-live-property-set"), dn("supported-report-set")}}},
		// litmus props "propextended".
		{"unknown element", decl + `<propfind xmlns="DAV:"><foobar/><allprop/></propfind>`, PropfindRequest{AllProp: true}},
		// litmus props "propwformed" and "propnullns".
		{"property in namespace", decl + `<propfind xmlns='DAV:'><prop><nonamespace xmlns=''/><high-unicode xmlns='http://example.com/neon/litmus/'/></prop></propfind>`,
			PropfindRequest{Prop: []xml.Name{nn("", "nonamespace"), nn("http://example.com/neon/litmus/", "high-unicode")}}},
		{"live props and duplicates", `<D:propfind xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:prop><D:getetag/><p:acl/><D:getetag/></D:prop><D:prop><D:resourcetype>ignored<D:x/></D:resourcetype></D:prop></D:propfind>`,
			PropfindRequest{Prop: []xml.Name{dn("getetag"), pn("acl"), dn("resourcetype")}}},
		{"empty propfind is allprop", `<D:propfind xmlns:D="DAV:"/>`, PropfindRequest{AllProp: true}},
		{"comments and PIs", `<?xml version="1.0"?><!-- c --><D:propfind xmlns:D="DAV:"><?pi x?><D:propname/><!-- c --></D:propfind><!-- c -->` + "\n", PropfindRequest{PropName: true}},
		{"CDATA and text ignored", `<D:propfind xmlns:D="DAV:">text<![CDATA[<x>]]><D:allprop/></D:propfind>`, PropfindRequest{AllProp: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePropfind(strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
	if got, err := ParsePropfind(nil); err != nil || !got.AllProp {
		t.Errorf("nil reader: %+v, %v", got, err)
	}
}

// refusals common to the three parsers; %s is the root element's local
// name.
var refusals = []struct {
	name, body, code string
}{
	{"not well-formed", `<foo>`, codeParse}, // litmus propfind_invalid
	{"empty prefix binding", `<D:%s xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:%s>`, codeParse}, // litmus propfind_invalid2
	{"wrong root", `<D:other xmlns:D="DAV:"/>`, codeParse},
	{"wrong namespace", `<D:%s xmlns:D="urn:not-dav"/>`, codeParse},
	{"no namespace", `<%s/>`, codeParse},
	{"doctype", `<?xml version="1.0"?><!DOCTYPE D:%s [<!ENTITY x "y">]><D:%s xmlns:D="DAV:"/>`, codeParse},
	{"billion laughs", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><D:%s xmlns:D="DAV:">&lol2;</D:%s>`, codeParse},
	{"external entity", `<!DOCTYPE D:%s [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:%s xmlns:D="DAV:">&xxe;</D:%s>`, codeParse},
	{"undeclared entity", `<D:%s xmlns:D="DAV:">&nbsp;</D:%s>`, codeParse},
	{"undeclared prefix", `<D:%s xmlns:D="DAV:"><Z:x/></D:%s>`, codeParse},
	{"undeclared root prefix", `<D:%s/>`, codeParse},
	{"undeclared attribute prefix", `<D:%s xmlns:D="DAV:" Z:a="1"/>`, codeParse},
	{"mismatched end", `<D:%s xmlns:D="DAV:"><D:set></D:prop></D:%s>`, codeParse},
	{"prefix mismatch in end", `<D:%s xmlns:D="DAV:" xmlns:E="DAV:"></E:%s>`, codeParse},
	{"duplicate attribute", `<D:%s xmlns:D="DAV:" a="1" a="2"/>`, codeParse},
	{"duplicate expanded attribute", `<D:%s xmlns:D="DAV:" xmlns:a="urn:a" xmlns:b="urn:a" a:x="1" b:x="2"/>`, codeParse},
	{"duplicate declaration", `<D:%s xmlns:D="DAV:" xmlns:D="DAV:"/>`, codeParse},
	{"xml prefix rebound", `<D:%s xmlns:D="DAV:" xmlns:xml="urn:x"/>`, codeParse},
	{"xml namespace bound", `<D:%s xmlns:D="DAV:" xmlns:x="http://www.w3.org/XML/1998/namespace"/>`, codeParse},
	{"xmlns declared", `<D:%s xmlns:D="DAV:" xmlns:xmlns="urn:x"/>`, codeParse},
	{"xmlns element prefix", `<xmlns:%s/>`, codeParse},
	{"colon name", `<D:%s xmlns:D="DAV:"><a:/></D:%s>`, codeParse},
	{"digit local name", `<D:%s xmlns:D="DAV:"><D:prop><D:0/></D:prop></D:%s>`, codeParse},
	{"digit prefix", `<D:%s xmlns:D="DAV:"><D:prop><a:b xmlns:a="urn:a"><a:1 xmlns:a="urn:a"/></a:b></D:prop></D:%s>`, codeParse},
	{"two roots", `<D:%s xmlns:D="DAV:"/><D:%s xmlns:D="DAV:"/>`, codeParse},
	{"text after root", `<D:%s xmlns:D="DAV:"/>x`, codeParse},
	{"text before root", `x<D:%s xmlns:D="DAV:"/>`, codeParse},
	{"late XML declaration", ` <?xml version="1.0"?><D:%s xmlns:D="DAV:"/>`, codeParse},
	{"other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><D:%s xmlns:D="DAV:"/>`, codeParse},
	{"invalid UTF-8", "<D:%s xmlns:D=\"DAV:\">\xff</D:%s>", codeParse},
	{"control character", "<D:%s xmlns:D=\"DAV:\">&#1;</D:%s>", codeParse},
	{"truncated", `<D:%s xmlns:D="DAV:"><D:prop>`, codeParse},
	{"too deep", `<D:%s xmlns:D="DAV:">` + strings.Repeat("<a>", MaxDepth) + strings.Repeat("</a>", MaxDepth) + `</D:%s>`, codeParse},
	{"too large", `<D:%s xmlns:D="DAV:">` + strings.Repeat(" ", MaxXMLBytes) + `</D:%s>`, codeTooLarge},
}

func fill(body, root string) string {
	return strings.ReplaceAll(body, "%s", root)
}

func TestRefusals(t *testing.T) {
	parsers := []struct {
		root  string
		parse func(string) error
	}{
		{"propfind", func(s string) error { _, err := ParsePropfind(strings.NewReader(s)); return err }},
		{"propertyupdate", func(s string) error { _, err := ParseProppatch(strings.NewReader(s)); return err }},
		{"mkcol", func(s string) error { _, err := ParseMkcol(strings.NewReader(s)); return err }},
	}
	for _, p := range parsers {
		for _, tt := range refusals {
			t.Run(p.root+"/"+tt.name, func(t *testing.T) {
				wantCode(t, p.parse(fill(tt.body, p.root)), tt.code)
			})
		}
	}
}

func TestDepthLimit(t *testing.T) {
	// MaxDepth levels in all: the root and MaxDepth-1 below it.
	ok := `<D:propfind xmlns:D="DAV:">` + strings.Repeat("<a>", MaxDepth-1) + strings.Repeat("</a>", MaxDepth-1) + `<D:allprop/></D:propfind>`
	if _, err := ParsePropfind(strings.NewReader(ok)); err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
}

func TestParsePropfindRefusals(t *testing.T) {
	tests := []struct{ name, body, code string }{
		{"allprop and prop", `<D:propfind xmlns:D="DAV:"><D:allprop/><D:prop><D:getetag/></D:prop></D:propfind>`, codeContent},
		{"propname and allprop", `<D:propfind xmlns:D="DAV:"><D:propname/><D:allprop/></D:propfind>`, codeContent},
		{"include without allprop", `<D:propfind xmlns:D="DAV:"><D:include><D:getetag/></D:include></D:propfind>`, codeContent},
		{"include with prop", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop><D:include><D:getetag/></D:include></D:propfind>`, codeContent},
		{"too many props", `<D:propfind xmlns:D="DAV:"><D:prop>` + strings.Repeat("<D:getetag/>", MaxProps+1) + `</D:prop></D:propfind>`, codeContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePropfind(strings.NewReader(tt.body))
			wantCode(t, err, tt.code)
		})
	}
}

const litmusNS = "http://example.com/neon/litmus/"

func TestParseProppatch(t *testing.T) {
	z := "http://www.w3.com/standards/z39.50/"
	tests := []struct {
		name, body string
		want       []PatchOp
	}{
		// RFC 4918 §9.2.2.
		{"rfc example", decl + `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://ns.example.com/standards/z39.50/">
  <D:set><D:prop><Z:Authors><Z:Author>Jim Whitehead</Z:Author><Z:Author>Roy Fielding</Z:Author></Z:Authors></D:prop></D:set>
  <D:remove><D:prop><Z:Copyright-Owner/></D:prop></D:remove>
</D:propertyupdate>`, []PatchOp{
			{Props: []Property{{Name: nn("http://ns.example.com/standards/z39.50/", "Authors"),
				InnerXML: []byte(`<Z:Author xmlns:Z="http://ns.example.com/standards/z39.50/">Jim Whitehead</Z:Author><Z:Author xmlns:Z="http://ns.example.com/standards/z39.50/">Roy Fielding</Z:Author>`)}}},
			{Remove: true, Props: []Property{{Name: nn("http://ns.example.com/standards/z39.50/", "Copyright-Owner")}}},
		}},
		// personium-core src/test/resources/request/box/proppatch.txt.
		{"personium set and remove", decl + `<D:propertyupdate xmlns:D="DAV:"
    xmlns:p="urn:x-personium:xmlns"
    xmlns:Z="http://www.w3.com/standards/z39.50/">
    <D:set>
        <D:prop>
            <Z:Author>Author1 update</Z:Author>
            <p:hoge>fuga</p:hoge>
        </D:prop>
    </D:set>
    <D:remove>
        <D:prop>
            <Z:Author/>
            <p:hoge/>
        </D:prop>
    </D:remove>
</D:propertyupdate>`, []PatchOp{
			{Props: []Property{{Name: nn(z, "Author"), InnerXML: []byte("Author1 update")}, {Name: pn("hoge"), InnerXML: []byte("fuga")}}},
			{Remove: true, Props: []Property{{Name: nn(z, "Author")}, {Name: pn("hoge")}}},
		}},
		// personium-core proppatch-class.txt and reference §8: attributes
		// on the property element are kept.
		{"personium service", decl + `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:service language="JavaScript" subject="engineAccount"><p:path name="hello" src="hello.js"/><p:path name="users/{id}" src="user.js"/></p:service></D:prop></D:set></D:propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: pn("service"),
				Attr:     []xml.Attr{attr("", "language", "JavaScript"), attr("", "subject", "engineAccount")},
				InnerXML: []byte(`<p:path xmlns:p="urn:x-personium:xmlns" name="hello" src="hello.js"/><p:path xmlns:p="urn:x-personium:xmlns" name="users/{id}" src="user.js"/>`)}}}}},
		{"cell relayhtmlurl", `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><p:relayhtmlurl>https://app.example/?a=1&amp;b=2</p:relayhtmlurl></D:prop></D:set></D:propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: pn("relayhtmlurl"), InnerXML: []byte(`https://app.example/?a=1&amp;b=2`)}}}}},
		// litmus props "propremoveset": document order.
		{"remove then set", decl + `<propertyupdate xmlns='DAV:'><remove><prop><removeset xmlns='` + litmusNS + `'/></prop></remove><set><prop><removeset xmlns='` + litmusNS + `'>x</removeset></prop></set><set><prop><removeset xmlns='` + litmusNS + `'>y</removeset></prop></set></propertyupdate>`,
			[]PatchOp{
				{Remove: true, Props: []Property{{Name: nn(litmusNS, "removeset")}}},
				{Props: []Property{{Name: nn(litmusNS, "removeset"), InnerXML: []byte("x")}}},
				{Props: []Property{{Name: nn(litmusNS, "removeset"), InnerXML: []byte("y")}}},
			}},
		// litmus "propnullns".
		{"null namespace", decl + `<propertyupdate xmlns="DAV:"><set><prop><nonamespace xmlns="">randomvalue</nonamespace></prop></set></propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: nn("", "nonamespace"), InnerXML: []byte("randomvalue")}}}}},
		// litmus "prophighunicode".
		{"high unicode", decl + `<propertyupdate xmlns='DAV:'><set><prop><high-unicode xmlns='` + litmusNS + `'>&#65536;</high-unicode></prop></set></propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: nn(litmusNS, "high-unicode"), InnerXML: []byte("\U00010000")}}}}},
		// litmus "propvalnspace".
		{"value defining namespace", decl + `<propertyupdate xmlns='DAV:'><set><prop><t:valnspace xmlns:t='` + litmusNS + `'><foo xmlns='http://bar'/></t:valnspace></prop></set></propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: nn(litmusNS, "valnspace"), InnerXML: []byte(`<foo xmlns="http://bar"/>`)}}}}},
		{"inherited default namespace", `<propertyupdate xmlns="DAV:"><set><prop><foo xmlns="urn:f"><bar>x</bar><baz xmlns="">y</baz></foo><Z:q xmlns:Z="urn:z"><r/></Z:q></prop></set></propertyupdate>`,
			[]PatchOp{{Props: []Property{
				{Name: nn("urn:f", "foo"), InnerXML: []byte(`<bar xmlns="urn:f">x</bar><baz xmlns="">y</baz>`)},
				{Name: nn("urn:z", "q"), InnerXML: []byte(`<r xmlns="DAV:"/>`)},
			}}}},
		{"escaped text and mixed content", `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:m>a &lt; b &amp;&amp; c &gt; d<Z:b>bold</Z:b> tail<![CDATA[<raw>&]]><!-- gone --><?pi gone?></Z:m></D:prop></D:set></D:propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: nn("urn:z", "m"), InnerXML: []byte(`a &lt; b &amp;&amp; c &gt; d<Z:b xmlns:Z="urn:z">bold</Z:b> tail&lt;raw&gt;&amp;`)}}}}},
		{"attributes in the value", `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xmlns:A="urn:a"><D:set><D:prop><Z:m><x A:k="&quot;1&quot;&#9;" plain="&lt;"><Z:y xmlns:A="urn:a2" A:k="2"/></x></Z:m></D:prop></D:set></D:propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: nn("urn:z", "m"), InnerXML: []byte(`<x xmlns:A="urn:a" xmlns:Z="urn:z" A:k="&quot;1&quot;&#x9;" plain="&lt;"><Z:y xmlns:A="urn:a2" A:k="2"/></x>`)}}}}},
		{"carriage return kept", "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><D:displayname>a&#13;b\r\nc</D:displayname></D:prop></D:set></D:propertyupdate>",
			[]PatchOp{{Props: []Property{{Name: dn("displayname"), InnerXML: []byte("a&#xD;b\nc")}}}}},
		{"xml:lang in scope", `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop xml:lang="en"><Z:a>x</Z:a><Z:b xml:lang="fr">y</Z:b></D:prop></D:set></D:propertyupdate>`,
			[]PatchOp{{Props: []Property{
				{Name: nn("urn:z", "a"), InnerXML: []byte("x"), Attr: []xml.Attr{lang("en")}},
				{Name: nn("urn:z", "b"), InnerXML: []byte("y"), Attr: []xml.Attr{lang("fr")}},
			}}}},
		{"white space kept", "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><D:x>  \n </D:x></D:prop></D:set></D:propertyupdate>",
			[]PatchOp{{Props: []Property{{Name: dn("x"), InnerXML: []byte("  \n ")}}}}},
		{"several props in a set, unknown elements", `<D:propertyupdate xmlns:D="DAV:"><D:foo/><D:set><D:bar/><D:prop><D:a>1</D:a></D:prop><D:prop><D:b/></D:prop></D:set></D:propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: dn("a"), InnerXML: []byte("1")}, {Name: dn("b")}}}}},
		{"no operation", `<D:propertyupdate xmlns:D="DAV:"/>`, nil},
		{"non-ASCII names", `<D:propertyupdate xmlns:D="DAV:" xmlns:名="urn:名"><D:set><D:prop><名:名前 é·x="1"><名:été/></名:名前></D:prop></D:set></D:propertyupdate>`,
			[]PatchOp{{Props: []Property{{Name: nn("urn:名", "名前"), Attr: []xml.Attr{attr("", "é·x", "1")}, InnerXML: []byte(`<名:été xmlns:名="urn:名"/>`)}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProppatch(strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %s\nwant %s", dumpOps(got), dumpOps(tt.want))
			}
		})
	}
}

func dumpOps(ops []PatchOp) string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString("\n  ")
		if o.Remove {
			b.WriteString("remove")
		} else {
			b.WriteString("set")
		}
		for _, p := range o.Props {
			b.WriteString("\n    {" + p.Name.Space + "}" + p.Name.Local + " " + string(p.InnerXML))
			for _, a := range p.Attr {
				b.WriteString(" @{" + a.Name.Space + "}" + a.Name.Local + "=" + a.Value)
			}
		}
	}
	return b.String()
}

// TestSelfContained: a value using prefixes declared on ancestors must
// parse on its own.
func TestSelfContained(t *testing.T) {
	ops, err := ParseProppatch(strings.NewReader(`<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:author><Z:name>Jane</Z:name></Z:author></D:prop></D:set></D:propertyupdate>`))
	if err != nil {
		t.Fatal(err)
	}
	p := ops[0].Props[0]
	if p.Name != nn("urn:z", "author") {
		t.Fatalf("name %v", p.Name)
	}
	var v struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	}
	if err := xml.Unmarshal(p.InnerXML, &v); err != nil {
		t.Fatalf("InnerXML %q does not parse alone: %v", p.InnerXML, err)
	}
	if v.XMLName != nn("urn:z", "name") || v.Text != "Jane" {
		t.Errorf("InnerXML %q parses as %v %q", p.InnerXML, v.XMLName, v.Text)
	}
	// The value's own declaration wins over the outer one.
	ops, err = ParseProppatch(strings.NewReader(`<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:a><Z:b xmlns:Z="urn:other"><Z:c/></Z:b><D:d/></Z:a></D:prop></D:set></D:propertyupdate>`))
	if err != nil {
		t.Fatal(err)
	}
	want := `<Z:b xmlns:Z="urn:other"><Z:c/></Z:b><D:d xmlns:D="DAV:"/>`
	if got := string(ops[0].Props[0].InnerXML); got != want {
		t.Errorf("InnerXML %s, want %s", got, want)
	}
}

func TestParseProppatchRefusals(t *testing.T) {
	big := strings.Repeat("x", MaxPropBytes+1)
	tests := []struct{ name, body, code string }{
		{"empty body", "", codeParse},
		{"set without prop", `<D:propertyupdate xmlns:D="DAV:"><D:set/></D:propertyupdate>`, codeContent},
		{"remove without prop", `<D:propertyupdate xmlns:D="DAV:"><D:remove><D:props/></D:remove></D:propertyupdate>`, codeContent},
		{"value too long", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:a>` + big + `</D:a></D:prop></D:set></D:propertyupdate>`, codeContent},
		{"escaped value too long", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:a>` + strings.Repeat("&lt;", MaxPropBytes/4+1) + `</D:a></D:prop></D:set></D:propertyupdate>`, codeContent},
		{"element value too long", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:a><D:b>` + big + `</D:b></D:a></D:prop></D:set></D:propertyupdate>`, codeContent},
		{"too many props", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>` + strings.Repeat("<D:a/>", MaxProps/2) + `</D:prop></D:set><D:remove><D:prop>` + strings.Repeat("<D:a/>", MaxProps/2+1) + `</D:prop></D:remove></D:propertyupdate>`, codeContent},
		{"bad value", `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:a><b></c></D:a></D:prop></D:set></D:propertyupdate>`, codeParse},
		{"bad removed value", `<D:propertyupdate xmlns:D="DAV:"><D:remove><D:prop><D:a><Q:b/></D:a></D:prop></D:remove></D:propertyupdate>`, codeParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProppatch(strings.NewReader(tt.body))
			wantCode(t, err, tt.code)
		})
	}
	// Exactly the limits pass.
	ok := `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:a>` + big[1:] + `</D:a>` + strings.Repeat("<D:b/>", MaxProps-1) + `</D:prop></D:set></D:propertyupdate>`
	if _, err := ParseProppatch(strings.NewReader(ok)); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}

func TestParseMkcol(t *testing.T) {
	body := func(rt string) string {
		return decl + `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">
  <D:set>
    <D:prop>
      <D:resourcetype>` + rt + `</D:resourcetype>
    </D:prop>
  </D:set>
</D:mkcol>`
	}
	tests := []struct {
		name, body string
		want       MkcolRequest
		typ        CollectionType
		reason     string // of the refusal by Type
	}{
		{"empty body", "", MkcolRequest{ResourceType: []xml.Name{dn("collection")}}, CollectionPlain, ""},
		{"plain", body(`<D:collection/>`), MkcolRequest{ResourceType: []xml.Name{dn("collection")}}, CollectionPlain, ""},
		// personium-core mkcol-odata.txt, mkcol-service.txt.
		{"odata", body("\n        <D:collection/>\n        <p:odata/>\n      "), MkcolRequest{ResourceType: []xml.Name{dn("collection"), pn("odata")}}, CollectionOData, ""},
		{"service", body(`<D:collection/><p:service/>`), MkcolRequest{ResourceType: []xml.Name{dn("collection"), pn("service")}}, CollectionService, ""},
		{"stream", body(`<p:stream/><D:collection/>`), MkcolRequest{ResourceType: []xml.Name{pn("stream"), dn("collection")}}, CollectionStream, ""},
		{"with props", `<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:displayname>Nice</D:displayname></D:prop></D:set><D:set><D:prop><Z:x xmlns:Z="urn:z" a="b"><Z:y/></Z:x></D:prop></D:set></D:mkcol>`,
			MkcolRequest{ResourceType: []xml.Name{dn("collection")}, Props: []Property{
				{Name: dn("displayname"), InnerXML: []byte("Nice")},
				{Name: nn("urn:z", "x"), Attr: []xml.Attr{attr("", "a", "b")}, InnerXML: []byte(`<Z:y xmlns:Z="urn:z"/>`)}}},
			CollectionPlain, ""},
		// personium-core CollectionTest "MKCOL_Body異常系のテスト": 403s.
		{"no set", decl + `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"></D:mkcol>`, MkcolRequest{}, "",
			"resourcetype should be defined in mkcol request, See RFC5689 : extended MKCOL"},
		{"misspelled set", `<D:mkcol xmlns:D="DAV:"><D:sets><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:sets></D:mkcol>`, MkcolRequest{}, "",
			"resourcetype should be defined in mkcol request, See RFC5689 : extended MKCOL"},
		{"misspelled prop", `<D:mkcol xmlns:D="DAV:"><D:set><D:props><D:resourcetype><D:collection/></D:resourcetype></D:props></D:set></D:mkcol>`, MkcolRequest{}, "",
			"resourcetype should be defined in mkcol request, See RFC5689 : extended MKCOL"},
		{"misspelled resourcetype", `<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype2><D:collection/></D:resourcetype2></D:prop></D:set></D:mkcol>`,
			MkcolRequest{Props: []Property{{Name: dn("resourcetype2"), InnerXML: []byte(`<D:collection xmlns:D="DAV:"/>`)}}}, "",
			"resourcetype should be defined in mkcol request, See RFC5689 : extended MKCOL"},
		{"no collection", body(`<D:collection2/>`), MkcolRequest{ResourceType: []xml.Name{dn("collection2")}}, "",
			"collection should be included in request. See RFC5689 : extended MKCOL"},
		{"empty resourcetype", body(``), MkcolRequest{ResourceType: []xml.Name{}}, "",
			"collection should be included in request. See RFC5689 : extended MKCOL"},
		{"two extensions", body(`<D:collection/><p:odata/><p:service/>`), MkcolRequest{ResourceType: []xml.Name{dn("collection"), pn("odata"), pn("service")}}, "",
			"only 1 extension to collection specified in RFC5689 is allowed on this server. "},
		{"unknown personium extension", body(`<D:collection/><p:box/>`), MkcolRequest{ResourceType: []xml.Name{dn("collection"), pn("box")}}, "",
			"such DC1 extension not supported on this server"},
		{"caldav", body(`<D:collection/><C:calendar xmlns:C="urn:ietf:params:xml:ns:caldav"/>`), MkcolRequest{ResourceType: []xml.Name{dn("collection"), nn("urn:ietf:params:xml:ns:caldav", "calendar")}}, "",
			"such Caldav extension not supported on this server"},
		{"other extension", body(`<D:collection/><D:principal/>`), MkcolRequest{ResourceType: []xml.Name{dn("collection"), dn("principal")}}, "",
			"such RFC5689 extension not supported on this server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMkcol(strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %#v\nwant %#v", *got, tt.want)
			}
			typ, err := got.Type()
			if typ != tt.typ {
				t.Errorf("Type %q, want %q", typ, tt.typ)
			}
			if tt.reason == "" {
				if err != nil {
					t.Errorf("Type: %v", err)
				}
				return
			}
			if !perr.Is(err, perr.Permission) || perr.CodeOf(err) != "" {
				t.Fatalf("Type error %v, want Permission without code", err)
			}
			if got := err.(*perr.E).Err.Error(); got != tt.reason {
				t.Errorf("reason %q, want %q", got, tt.reason)
			}
		})
	}
}

func TestParseMkcolRefusals(t *testing.T) {
	tests := []struct{ name, body, code string }{
		// personium-core CollectionTest: "<D:set<D:prop>" → PR400-DV-0001.
		{"personium malformed", decl + `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set<D:prop><D:resourcetype2><D:collection/></D:resourcetype2></D:prop></D:set></D:mkcol>`, codeParse},
		{"too many props", `<D:mkcol xmlns:D="DAV:"><D:set><D:prop>` + strings.Repeat("<D:resourcetype><D:collection/></D:resourcetype>", MaxProps+1) + `</D:prop></D:set></D:mkcol>`, codeContent},
		{"value too long", `<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:a>` + strings.Repeat("x", MaxPropBytes+1) + `</D:a></D:prop></D:set></D:mkcol>`, codeContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMkcol(strings.NewReader(tt.body))
			wantCode(t, err, tt.code)
		})
	}
}

func TestCollectionTypeResourceType(t *testing.T) {
	for _, ct := range []CollectionType{CollectionPlain, CollectionOData, CollectionService, CollectionStream} {
		m := MkcolRequest{ResourceType: ct.ResourceType()}
		if got, err := m.Type(); got != ct || err != nil {
			t.Errorf("%s: Type of its ResourceType is %q, %v", ct, got, err)
		}
	}
	if CollectionType("dav.file").ResourceType() != nil {
		t.Error("a file has a resourcetype")
	}
}
