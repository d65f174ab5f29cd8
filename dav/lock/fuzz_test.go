package lock

import (
	"reflect"
	"slices"
	"testing"

	"github.com/personium-go/personium/internal/perr"
)

func FuzzParseIf(f *testing.F) {
	for _, s := range []string{
		`(<` + tokA + `> ["I am an ETag"]) (["I am another ETag"])`,
		`(Not <` + tokA + `> <` + tokB + `>)`,
		`(<` + tokA + `>) (Not <DAV:no-lock>)`,
		`</resource1> (<` + tokA + `> [W/"A weak ETag"]) (["strong ETag"])`,
		`<http://www.example.com/specs/> (<` + tokA + `>) </x?y> (Not ["a\"b"])`,
		` ( not<a:b>[ "" ] ) `,
		`(<a:b>) <http://x/> (<c:d>)`,
		`([W/"x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseIf(s)
		if err != nil {
			if perr.CodeOf(err) != CodeBadHeader {
				t.Fatalf("error %v without code %s", err, CodeBadHeader)
			}
			return
		}
		if len(h.Lists) == 0 {
			t.Fatal("no lists")
		}
		for _, l := range h.Lists {
			if (l.Tag == "") != (h.Lists[0].Tag == "") {
				t.Fatalf("tagged and untagged lists in %q", s)
			}
			if len(l.Conds) == 0 {
				t.Fatal("empty list")
			}
			for _, c := range l.Conds {
				if (c.Token == "") == (c.ETag == "") {
					t.Fatalf("condition %+v", c)
				}
			}
		}
		again, err := ParseIf(h.String())
		if err != nil {
			t.Fatalf("String %q does not parse: %v", h.String(), err)
		}
		if !reflect.DeepEqual(again, h) {
			t.Fatalf("%q parses as\n%+v, its String %q as\n%+v", s, h, h.String(), again)
		}
		var all []string
		for _, l := range h.Lists {
			for _, c := range l.Conds {
				all = append(all, c.Token)
			}
		}
		for _, tok := range h.Tokens() {
			if !slices.Contains(all, tok) || tok == NoLock {
				t.Fatalf("Tokens has %q", tok)
			}
		}
		// A list of plain state tokens (no Not, no entity tag, no
		// DAV:no-lock) holds for a resource locked with all of Tokens.
		plain := false
		for _, l := range h.Lists {
			ok := true
			for _, c := range l.Conds {
				ok = ok && !c.Not && c.Token != "" && c.Token != NoLock
			}
			plain = plain || ok
		}
		if got := h.Eval(func(string) (string, []string) { return `"x"`, h.Tokens() }); plain && !got {
			t.Fatalf("%q does not hold with all its tokens", s)
		}
	})
}
