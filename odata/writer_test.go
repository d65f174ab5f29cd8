package odata

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

func testSchema() *Schema {
	box := &EntityType{Name: "Box", Keys: []string{"Name"},
		Props: []*Property{{Name: "Name", Type: EdmString}, {Name: "Schema", Type: EdmString, Nullable: true}},
		Nav:   []*NavProp{{Name: "_Role", Target: "Role", Many: true, RefProps: map[string]string{"_Box.Name": "Name"}}}}
	role := &EntityType{Name: "Role", Keys: []string{"Name", "_Box.Name"},
		Props: []*Property{{Name: "Name", Type: EdmString}, {Name: "_Box.Name", Type: EdmString, Nullable: true}},
		Nav:   []*NavProp{{Name: "_Box", Target: "Box", OwnRefProps: map[string]string{"_Box.Name": "Name"}}}}
	person := &EntityType{Name: "Person", Keys: []string{MemberID}, HasID: true, Open: true,
		Props: []*Property{{Name: "age", Type: EdmInt32, Nullable: true}, {Name: "born", Type: EdmDateTime, Nullable: true},
			{Name: "height", Type: EdmDouble, Nullable: true}}}
	return &Schema{Namespace: "NS", Container: "NS", Types: []*EntityType{box, role, person}}
}

func TestEntityJSONShape(t *testing.T) {
	s := testSchema()
	w := &entityWriter{base: "http://u/c/__ctl/", namespace: "NS"}
	e := &Entity{Type: s.Type("Role"), Props: map[string]any{"Name": "r", "_Box.Name": nil}, Version: 2, Published: 5, Updated: 7}
	var b bytes.Buffer
	w.writeEntity(&b, e, nil, nil)
	want := `{"__metadata":{"uri":"http://u/c/__ctl/Role(Name='r',_Box.Name=null)","etag":"W/\"2-7\"","type":"NS.Role"},` +
		`"Name":"r","_Box.Name":null,"__published":"/Date(5)/","__updated":"/Date(7)/",` +
		`"_Box":{"__deferred":{"uri":"http://u/c/__ctl/Role(Name='r',_Box.Name=null)/_Box"}}}`
	if b.String() != want {
		t.Errorf("got  %s\nwant %s", b.String(), want)
	}
	// Typed values, dynamic properties, selection.
	p := &Entity{Type: s.Type("Person"), Props: map[string]any{MemberID: "p1", "age": int64(3), "born": int64(1000),
		"height": 2.0, "nick": "x", "__hidden": "secret"}, Version: 1, Published: 1, Updated: 1}
	b.Reset()
	w.writeEntity(&b, p, nil, nil)
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, b.String())
	}
	if m["__id"] != "p1" || m["born"] != "/Date(1000)/" || m["nick"] != "x" || m["age"] != 3.0 {
		t.Errorf("values: %s", b.String())
	}
	if strings.Contains(b.String(), "secret") || !strings.Contains(b.String(), `"height":2,`) {
		t.Errorf("hidden member or double format: %s", b.String())
	}
	b.Reset()
	w.writeEntity(&b, p, selection{"age": true}, nil)
	if strings.Contains(b.String(), "nick") || !strings.Contains(b.String(), `"age":3`) || !strings.Contains(b.String(), "__id") {
		t.Errorf("$select=age: %s", b.String())
	}
}

func TestKeyStringEncodesURIs(t *testing.T) {
	ext := &EntityType{Name: "ExtCell", Keys: []string{"Url"}}
	got := KeyString(ext, map[string]any{"Url": "https://a.example/c d/it's/"})
	if want := "('https%3A%2F%2Fa.example%2Fc%20d%2Fit''s%2F')"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// What we write, we read back.
	set, kp, err := parseEntityURI("http://u/c/__ctl/ExtCell"+got, "http://u/c/__ctl/")
	if err != nil || set != "ExtCell" || kp[0].Value != "https://a.example/c d/it's/" {
		t.Errorf("round trip: %s %v %v", set, kp, err)
	}
}

func TestParseResource(t *testing.T) {
	for path, want := range map[string]resource{
		"":                                 {},
		"$metadata":                        {metadata: true},
		"Role":                             {set: "Role"},
		"Role('r')":                        {set: "Role", hasKey: true},
		"Role('r')/_Box":                   {set: "Role", hasKey: true, nav: "_Box"},
		"Role('r')/$links/_Account":        {set: "Role", hasKey: true, nav: "_Account", links: true},
		"Role('r')/$links/_Account('a')":   {set: "Role", hasKey: true, nav: "_Account", links: true, hasNav: true},
		"ExtCell('https://x.example/c/')":  {set: "ExtCell", hasKey: true},
		"Role(Name='a)b',_Box.Name=null)/": {set: "Role", hasKey: true},
	} {
		got, err := parseResource(path)
		if err != nil {
			t.Errorf("%q: %v", path, err)
			continue
		}
		if got.metadata != want.metadata || got.set != want.set || got.hasKey != want.hasKey || got.nav != want.nav ||
			got.links != want.links || got.hasNav != want.hasNav {
			t.Errorf("%q: got %+v, want %+v", path, *got, want)
		}
	}
	for _, bad := range []string{"Role('r'", "Role/_Box", "Role('r')/$links/x('a')", "Role('r')/_Box('b')"} {
		if _, err := parseResource(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestMatchETag(t *testing.T) {
	tag := `W/"3-100"`
	for h, want := range map[string]bool{"": true, "*": true, tag: true, `"3-100"`: true, `W/"2-100"`: false,
		`W/"1-1", W/"3-100"`: true, `"x"`: false} {
		if MatchETag(h, tag) != want {
			t.Errorf("MatchETag(%q) = %v", h, !want)
		}
	}
}

func TestEDMXIsWellFormed(t *testing.T) {
	body := testSchema().EDMX()
	dec := xml.NewDecoder(bytes.NewReader(body))
	types := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "EntityType" {
			types++
		}
	}
	if types != 3 {
		t.Errorf("%d EntityType elements in %s", types, body)
	}
	for _, want := range []string{`<Association Name="Box-Role"><End Role="Box-Role" Type="NS.Box" Multiplicity="0..1"/>`,
		`<End Role="Role-Box" Type="NS.Role" Multiplicity="*"/>`, `OpenType="true"`, `<PropertyRef Name="__id"/>`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("EDMX lacks %s", want)
		}
	}
}

func TestDecodeEntityRefusesBadInput(t *testing.T) {
	s := testSchema()
	for _, body := range []string{`{"Name":1}`, `{"Name":"a","Color":"red"}`, `{"__published":"/Date(0)/"}`,
		`["a"]`, `{"Name":"a"} {}`, `{`, ``} {
		if _, err := decodeEntity(s.Type("Box"), []byte(body)); err == nil {
			t.Errorf("Box body %s accepted", body)
		}
	}
	for _, body := range []string{`{"age":"3"}`, `{"age":2147483648}`, `{"age":1.5}`, `{"born":"2020-01-01"}`,
		`{"nick":[1]}`, `{"nick":{"a":1}}`, `{"__id":""}`, `{"height":"x"}`} {
		if _, err := decodeEntity(s.Type("Person"), []byte(body)); err == nil {
			t.Errorf("Person body %s accepted", body)
		}
	}
	got, err := decodeEntity(s.Type("Person"), []byte(`{"__id":"p","age":7,"born":"/Date(-5)/","height":1,"nick":2.5}`))
	if err != nil || got["age"] != int64(7) || got["born"] != int64(-5) || got["height"] != 1.0 || got["nick"] != 2.5 {
		t.Errorf("decoded %v %v", got, err)
	}
}

// FuzzDecodeEntity: no body makes the decoder panic, and whatever it
// accepts has only declared, dynamic-scalar or __id members.
func FuzzDecodeEntity(f *testing.F) {
	for _, seed := range []string{`{"__id":"a","age":1,"born":"/Date(0)/","height":1.5,"nick":"x"}`,
		`{"age":null}`, `{"x":{"y":1}}`, `[]`, `{"age":1e999}`, `{"born":"/Date(99999999999999999)/"}`, "{\"\xff\":1}"} {
		f.Add([]byte(seed))
	}
	person := testSchema().Type("Person")
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeEntity(person, body)
		if err != nil {
			return
		}
		for k, v := range got {
			switch v.(type) {
			case nil, string, bool, int64, float64:
			default:
				t.Fatalf("member %q has type %T", k, v)
			}
			if isReserved(k) && k != MemberID {
				t.Fatalf("reserved member %q accepted", k)
			}
		}
	})
}

// FuzzDecodeUserEntity: user data with complex-typed and List
// properties: no body makes the decoder panic, and what it accepts has
// the declared shapes (objects with declared members only, arrays of the
// element type).
func FuzzDecodeUserEntity(f *testing.F) {
	for _, seed := range []string{`{"home":{"city":"Kyoto","geo":{"lat":35.0}},"tags":["a","b"]}`,
		`{"home":{"city":1}}`, `{"home":{"zip":1}}`, `{"tags":[1,"x"]}`, `{"home":[]}`, `{"tags":{}}`, `{"home":null,"tags":null}`} {
		f.Add([]byte(seed))
	}
	geo := []*Property{{Name: "lat", Type: EdmDouble, Nullable: true}}
	addr := []*Property{
		{Name: "city", Type: EdmString},
		{Name: "zip", Type: EdmInt32, Nullable: true, Default: int64(0)},
		{Name: "geo", Type: "Geo", Nullable: true, Complex: geo},
	}
	t := &EntityType{Name: "Person", Keys: []string{MemberID}, HasID: true, Open: true, Props: []*Property{
		{Name: "home", Type: "Address", Nullable: true, Complex: addr},
		{Name: "tags", Type: EdmString, Nullable: true, List: true},
	}}
	var check func(tb *testing.T, props []*Property, v any)
	check = func(tb *testing.T, props []*Property, v any) {
		obj, ok := v.(map[string]any)
		if !ok {
			tb.Fatalf("complex value of type %T", v)
		}
		for k, mv := range obj {
			var p *Property
			for _, c := range props {
				if c.Name == k {
					p = c
				}
			}
			if p == nil {
				tb.Fatalf("undeclared member %q accepted", k)
			}
			if p.Complex != nil && mv != nil {
				check(tb, p.Complex, mv)
			}
		}
	}
	f.Fuzz(func(tb *testing.T, body []byte) {
		got, err := decodeEntity(t, body)
		if err != nil {
			return
		}
		if h, ok := got["home"]; ok && h != nil {
			check(tb, addr, h)
		}
		if tags, ok := got["tags"]; ok && tags != nil {
			list, ok := tags.([]any)
			if !ok {
				tb.Fatalf("tags of type %T", tags)
			}
			for _, x := range list {
				if _, ok := x.(string); !ok && x != nil {
					tb.Fatalf("tag of type %T", x)
				}
			}
		}
	})
}

// TestFormatDouble: Edm.Double values as Personium's formatDoubleValue
// writes them (UserData*DoublePropertyTest).
func TestFormatDouble(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{2147483647, "2147483647"}, {1234567890.12345, "1234567890.12345"}, {10, "10"}, {-0.5, "-0.5"},
		{0.1, "0.1"}, {1e20, "1.0E20"}, {1.5e-15, "1.5E-15"}, {123456789012345, "123456789012345"},
		{1234567890123456, "1.234567890123456E15"},
	} {
		if got := formatDouble(c.in); got != c.want {
			t.Errorf("formatDouble(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}
