package unit

import (
	"strings"
	"testing"
)

// FuzzParseTemplate: route templates from PROPPATCH never crash the
// parser, and a template it accepts matches its own literal expansion.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"users/{id}", "{id: [0-9]+}/view", "a/b", "{", "}", "a//b", "{x:(}", "{ : }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		segs, err := parseTemplate(name)
		if err != nil {
			return
		}
		var path []string
		for _, s := range segs {
			if !s.isVar {
				path = append(path, s.literal)
				continue
			}
			if s.pattern != nil {
				return // no literal stands for every pattern
			}
			path = append(path, "x")
		}
		r := route{name: name, src: "s.js", segs: segs}
		if !r.match(strings.Join(path, "/")) {
			t.Fatalf("%q does not match its own expansion %q", name, strings.Join(path, "/"))
		}
	})
}
