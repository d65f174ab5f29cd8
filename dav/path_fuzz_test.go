package dav

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSplitPath: whatever the request path, every segment splitPath
// accepts is a valid name (no traversal, no separators, no control
// characters), and escaping the segments again gives a path that splits
// to the same segments.
func FuzzSplitPath(f *testing.F) {
	for _, s := range []string{"", "a", "a/b/", "%2e%2e/x", "a%2Fb", "a%5Cb", "..", "x%00", "日本/語", "%ff", "a//b", strings.Repeat("d/", 60)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, _, err := splitPath(p)
		if err != nil {
			return
		}
		var esc []string
		for _, s := range segs {
			if !validName(s) || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
				t.Fatalf("splitPath(%q) accepted segment %q", p, s)
			}
			esc = append(esc, url.PathEscape(s))
		}
		again, _, err := splitPath(strings.Join(esc, "/"))
		if err != nil || strings.Join(again, "\x00") != strings.Join(segs, "\x00") {
			t.Fatalf("splitPath(%q) = %q, re-escaped gives %q, %v", p, segs, again, err)
		}
	})
}

// FuzzSatisfiable: no Range header makes satisfiable panic, and a
// header it accepts names at least one byte inside the content.
func FuzzSatisfiable(f *testing.F) {
	for _, s := range []string{"bytes=0-", "bytes=-5", "bytes=5-1", "bytes=99999999999999999999-", "bytes=0-0,5-9", "bytes=,", "items=1-2"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if valid, ok := satisfiable(h, size); (ok && size == 0) || (ok && !valid) {
			t.Fatalf("satisfiable(%q, %d) = %v, %v", h, size, valid, ok)
		}
	})
}
