package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/personium-go/personium/internal/perr"
)

var fuzzSeeds = []string{
	"",
	`<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`,
	`<D:propfind xmlns:D="DAV:"><D:prop xmlns:R="urn:r"><R:bigbox/><D:getetag/><x xmlns=""/></D:prop></D:propfind>`,
	`<propfind xmlns="DAV:"><propname/></propfind>`,
	`<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:supported-report-set/></D:include></D:propfind>`,
	`<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:author><Z:name>Jane</Z:name></Z:author></D:prop></D:set><D:remove><D:prop><Z:x/></D:prop></D:remove></D:propertyupdate>`,
	`<propertyupdate xmlns="DAV:"><set><prop><nonamespace xmlns="">v</nonamespace><foo xmlns="urn:f"><bar k="v">x</bar><baz xmlns="">y</baz></foo></prop></set></propertyupdate>`,
	`<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop xml:lang="en"><p:service language="JavaScript" subject="s"><p:path name="hello" src="hello.js"/></p:service></D:prop></D:set></D:propertyupdate>`,
	`<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xmlns:A="urn:a"><D:set><D:prop><Z:m A:x="1" Z:y="&#9;">a<![CDATA[<&>]]>b&#13;c<A:q><Z:r xmlns:Z="urn:o"/></A:q><!--c--><?p?></Z:m></D:prop></D:set></D:propertyupdate>`,
	`<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype><D:displayname>n</D:displayname></D:prop></D:set></D:mkcol>`,
	`<D:mkcol xmlns:D="DAV:"><D:set><D:prop><D:resourcetype><D:collection/></D:resourcetype></D:prop></D:set></D:mkcol>`,
	`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><D:propfind xmlns:D="DAV:">&a;</D:propfind>`,
	"\xef\xbb\xbf<D:mkcol xmlns:D=\"DAV:\"/>",
}

func addSeeds(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, r := range refusals {
		if len(r.body) < 4096 {
			for _, root := range []string{"propfind", "propertyupdate", "mkcol"} {
				f.Add([]byte(fill(r.body, root)))
			}
		}
	}
}

// checkRefusal: parsers fail only with their codes.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var e *perr.E
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *perr.E", err)
	}
	switch e.Code {
	case codeParse, codeContent, codeTooLarge:
	default:
		t.Fatalf("error %v has an unexpected code", err)
	}
}

// checkWritable: accepted properties are written back as a well-formed
// multistatus that encoding/xml reads as the same names, attributes and
// values; and parsing them again gives the same bytes.
func checkWritable(t *testing.T, props []Property, withValues bool) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteMultistatus(&b, []Response{{Href: "/x", Propstats: []Propstat{{Props: props, Status: 200}}}}); err != nil {
		t.Fatalf("WriteMultistatus refuses parsed properties: %v", err)
	}
	if err := wellFormed(b.Bytes()); err != nil {
		t.Fatalf("multistatus not well-formed: %v\n%s", err, b.String())
	}
	got, err := readMultistatus(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(props) {
		t.Fatalf("%d properties written, %d read:\n%s", len(props), len(got), b.String())
	}
	for i, p := range props {
		want, err := canon(p.InnerXML)
		if err != nil {
			t.Fatalf("InnerXML %q not well-formed alone: %v", p.InnerXML, err)
		}
		if got[i].name != p.Name || got[i].value != want || got[i].attrs != attrCanon(p.Attr) {
			t.Fatalf("property %d read back as %v %s %s, want %v %s %s\n%s", i,
				got[i].name, got[i].attrs, got[i].value, p.Name, attrCanon(p.Attr), want, b.String())
		}
	}
	if !withValues || len(props) == 0 {
		return
	}
	// appendProperty writes for the context of WriteMultistatus: DAV: is
	// the default namespace, D and p are declared.
	doc := []byte(`<propertyupdate xmlns="DAV:" xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><set><prop>`)
	for i := range props {
		doc = appendProperty(doc, &props[i], true)
	}
	doc = append(doc, "</prop></set></propertyupdate>"...)
	if len(doc) > MaxXMLBytes {
		return
	}
	ops, err := ParseProppatch(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("written properties do not parse again: %v\n%s", err, doc)
	}
	if !reflect.DeepEqual(ops[0].Props, props) {
		t.Fatalf("properties change when parsed again:\n%s\n%s", dumpOps([]PatchOp{{Props: props}}), dumpOps(ops))
	}
}

func FuzzParsePropfind(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParsePropfind(bytes.NewReader(body))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		n := 0
		for _, b := range []bool{req.AllProp, req.PropName, !req.AllProp && !req.PropName} {
			if b {
				n++
			}
		}
		if n != 1 || (len(req.Include) > 0 && !req.AllProp) || (len(req.Prop) > 0 && (req.AllProp || req.PropName)) {
			t.Fatalf("inconsistent request %+v", req)
		}
		var props []Property
		for _, n := range append(append([]xml.Name(nil), req.Prop...), req.Include...) {
			props = append(props, Property{Name: n})
		}
		checkWritable(t, props, false)
	})
}

func FuzzParseProppatch(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ops, err := ParseProppatch(bytes.NewReader(body))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		var set, removed []Property
		for _, o := range ops {
			if o.Remove {
				removed = append(removed, o.Props...)
			} else {
				set = append(set, o.Props...)
			}
		}
		for _, p := range removed {
			if p.InnerXML != nil || p.Attr != nil {
				t.Fatalf("removed property with a value: %+v", p)
			}
		}
		for _, p := range set {
			if len(p.InnerXML) > MaxPropBytes {
				t.Fatalf("value of %d bytes", len(p.InnerXML))
			}
		}
		checkWritable(t, set, true)
		checkWritable(t, removed, false)
		for _, p := range set {
			p.Text() // must not panic
		}
	})
}

func FuzzParseMkcol(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseMkcol(bytes.NewReader(body))
		if err != nil {
			checkRefusal(t, err)
			return
		}
		typ, err := m.Type()
		if (typ == "") == (err == nil) {
			t.Fatalf("Type: %q, %v", typ, err)
		}
		for _, n := range typ.ResourceType() {
			if !slices.Contains(m.ResourceType, n) {
				t.Fatalf("Type %s from %v", typ, m.ResourceType)
			}
		}
		props := append([]Property{ResourceTypeProp(m.ResourceType...)}, m.Props...)
		checkWritable(t, props[1:], true)
		checkWritable(t, props[:1], false)
	})
}
