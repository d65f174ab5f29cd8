package odata

import (
	"reflect"
	"testing"
)

func TestParseKey(t *testing.T) {
	tests := []struct {
		in    string
		want  KeyPredicate
		canon string // String() of the result; "" means in
	}{
		{"'abc'", KeyPredicate{{Value: "abc"}}, ""},
		{" 'abc' ", KeyPredicate{{Value: "abc"}}, "'abc'"},
		{"'it''s'", KeyPredicate{{Value: "it's"}}, ""},
		{"''", KeyPredicate{{Value: ""}}, ""},
		{"'a,b=c)'", KeyPredicate{{Value: "a,b=c)"}}, ""},
		{"'日本語'", KeyPredicate{{Value: "日本語"}}, ""},
		{"123", KeyPredicate{{Value: int64(123)}}, ""},
		{"-7L", KeyPredicate{{Value: int64(-7)}}, "-7"},
		{"1.5", KeyPredicate{{Value: 1.5}}, ""},
		{"true", KeyPredicate{{Value: true}}, ""},
		{"false", KeyPredicate{{Value: false}}, ""},
		{"datetime'2017-12-15T09:39:10'", KeyPredicate{{Value: DateTime{UnixMilli: pqMs(2017, 12, 15, 9, 39, 10, 0)}}},
			"datetime'2017-12-15T09:39:10.000'"},
		{"Name='r'", KeyPredicate{{Name: "Name", Value: "r"}}, ""},
		{"Name='r',_Box.Name=null", KeyPredicate{{Name: "Name", Value: "r"}, {Name: "_Box.Name", Value: nil}}, ""},
		{" Name = 'r' , _Box.Name = 'b' ", KeyPredicate{{Name: "Name", Value: "r"}, {Name: "_Box.Name", Value: "b"}},
			"Name='r',_Box.Name='b'"},
		{"_Box.Name='b',Name='r'", KeyPredicate{{Name: "_Box.Name", Value: "b"}, {Name: "Name", Value: "r"}}, ""},
		{"ExtRole='https://x/__role/__/r',_Relation.Name='rel',_Relation._Box.Name=null", KeyPredicate{
			{Name: "ExtRole", Value: "https://x/__role/__/r"},
			{Name: "_Relation.Name", Value: "rel"},
			{Name: "_Relation._Box.Name", Value: nil},
		}, ""},
		{"Name='age',_EntityType.Name='Person'", KeyPredicate{{Name: "Name", Value: "age"}, {Name: "_EntityType.Name", Value: "Person"}}, ""},
		{"Id=5,Flag=true", KeyPredicate{{Name: "Id", Value: int64(5)}, {Name: "Flag", Value: true}}, ""},
	}
	for _, tt := range tests {
		got, err := ParseKey(tt.in)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseKey(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
		canon := tt.canon
		if canon == "" {
			canon = tt.in
		}
		if s := got.String(); s != canon {
			t.Errorf("ParseKey(%q).String() = %q, want %q", tt.in, s, canon)
		}
		again, err := ParseKey(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("round trip of %q: %#v, %v", tt.in, again, err)
		}
	}
}

func TestParseKeyErrors(t *testing.T) {
	for _, in := range []string{
		"", " ", "null", "'a", "a'", "abc", "Name", "Name=", "=1", "Name='a',", ",Name='a'",
		"Name='a' _Box.Name='b'", "Name='a',,_Box.Name='b'", "Name='a',Name='b'", "'a','b'",
		"'a',Name='b'", "Name='b','a'", "Name=x", "Name=(1)", "('a')", "Name='a')", "1f", "1.5m",
		"Name=1m", "-", "Name=-x", "99999999999999999999", "guid'00000000-0000-0000-0000-000000000000'",
		"Name==1", "Name='a'=1", "datetime'2017-13-01T00:00'", "Name.='a'",
	} {
		kp, err := ParseKey(in)
		if err == nil {
			t.Errorf("ParseKey(%q) = %#v, want error", in, kp)
			continue
		}
		pqCheckErr(t, "ParseKey("+in+")", err, "PR400-OD-0004")
	}
}

func TestKeyPredicateGet(t *testing.T) {
	kp, err := ParseKey("Name='r',_Box.Name=null")
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := kp.Get("Name"); !ok || v != "r" {
		t.Errorf("Get(Name) = %v, %v", v, ok)
	}
	if v, ok := kp.Get("_Box.Name"); !ok || v != nil {
		t.Errorf("Get(_Box.Name) = %v, %v", v, ok)
	}
	if v, ok := kp.Get("Other"); ok || v != nil {
		t.Errorf("Get(Other) = %v, %v", v, ok)
	}
	built := KeyPredicate{{Name: "A", Value: 3}, {Name: "B", Value: pqName("it's")}}
	if got := built.String(); got != "A=3,B='it''s'" {
		t.Errorf("String() of built key = %q", got)
	}
	single, _ := ParseKey("'x'")
	if v, ok := single.Get(""); !ok || v != "x" {
		t.Errorf("Get(\"\") on single key = %v, %v", v, ok)
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{
		"'abc'", "'it''s'", "123", "1.5", "true", "Name='r',_Box.Name=null",
		"ExtRole='https://x/__role/__/r',_Relation.Name='rel',_Relation._Box.Name=null",
		"datetimeoffset'2017-12-15T09:39:10-01:00'", "Id=5L,Flag=false",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kp, err := ParseKey(s)
		if err != nil {
			pqRequireCode(t, "ParseKey", err)
			return
		}
		if len(kp) == 0 {
			t.Fatalf("%q: empty key predicate without error", s)
		}
		text := kp.String()
		again, err := ParseKey(text)
		if err != nil || !reflect.DeepEqual(again, kp) {
			t.Fatalf("%q: canonical form %q: %#v, %v", s, text, again, err)
		}
	})
}

// pqName is a value type ParseKey never produces.
type pqName string
