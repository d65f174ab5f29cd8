package lock

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/perr"
)

const (
	tokA = "urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2"
	tokB = "urn:uuid:58f202ac-22cf-11d1-b12d-002035b29092"
)

func tok(t string) Cond                 { return Cond{Token: t} }
func notTok(t string) Cond              { return Cond{Not: true, Token: t} }
func etag(e string) Cond                { return Cond{ETag: e} }
func list(c ...Cond) List               { return List{Conds: c} }
func tagged(tag string, c ...Cond) List { return List{Tag: tag, Conds: c} }

func TestParseIf(t *testing.T) {
	cases := []struct {
		in   string
		want []List
	}{
		// RFC 4918 §10.4.6–§10.4.12 and the method examples.
		{`(<` + tokA + `> ["I am an ETag"]) (["I am another ETag"])`,
			[]List{list(tok(tokA), etag(`"I am an ETag"`)), list(etag(`"I am another ETag"`))}},
		{`(Not <` + tokA + `> <` + tokB + `>)`,
			[]List{list(notTok(tokA), tok(tokB))}},
		{`(<` + tokA + `>) (Not <DAV:no-lock>)`,
			[]List{list(tok(tokA)), list(notTok(NoLock))}},
		{`</resource1> (<` + tokA + `> [W/"A weak ETag"]) (["strong ETag"])`,
			[]List{tagged("/resource1", tok(tokA), etag(`W/"A weak ETag"`)), tagged("/resource1", etag(`"strong ETag"`))}},
		{`<http://www.example.com/specs/> (<` + tokA + `>)`,
			[]List{tagged("http://www.example.com/specs/", tok(tokA))}},
		{`</specs/rfc2518.doc> (["4217"])`, []List{tagged("/specs/rfc2518.doc", etag(`"4217"`))}},
		{`</specs/rfc2518.doc> (Not ["4217"])`, []List{tagged("/specs/rfc2518.doc", Cond{Not: true, ETag: `"4217"`})}},
		{`(<opaquelocktoken:e71d4fae-5dec-22d6-fea5-00a0c91e6be4>)`,
			[]List{list(tok("opaquelocktoken:e71d4fae-5dec-22d6-fea5-00a0c91e6be4"))}},
		{`<http://www.example.com/container/> (<` + tokA + `>) (<` + tokB + `>)`,
			[]List{tagged("http://www.example.com/container/", tok(tokA)), tagged("http://www.example.com/container/", tok(tokB))}},
		{`<http://a/x> (<` + tokA + `>) </y?q=1> (<` + tokB + `>)`,
			[]List{tagged("http://a/x", tok(tokA)), tagged("/y?q=1", tok(tokB))}},
		// White space and case.
		{" \t(  not\t<a:b>  [\"e\"] )\t", []List{list(notTok("a:b"), etag(`"e"`))}},
		{`(NOT<a:b>)(<c:d>)`, []List{list(notTok("a:b")), list(tok("c:d"))}},
		{`(["a\"b"])`, []List{list(etag(`"a\"b"`))}},
		{`([""])`, []List{list(etag(`""`))}},
		{`([ W/"x" ] )`, []List{list(etag(`W/"x"`))}},
	}
	for _, c := range cases {
		got, err := ParseIf(c.in)
		if err != nil {
			t.Errorf("ParseIf(%q): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got.Lists, c.want) {
			t.Errorf("ParseIf(%q) =\n %+v, want\n %+v", c.in, got.Lists, c.want)
		}
	}
}

func TestParseIfRefusals(t *testing.T) {
	for _, in := range []string{
		"", "  ", "(", "()", "( )", "(<a:b>", "(<a:b>", "<http://x/>", "</x>", "</x> ",
		"(<a:b>) <http://x/> (<c:d>)", // untagged then tagged
		"</x> (<a:b>) (<c:d>) x",
		"(<nocolon>)", "(<:x>)", "(<1a:b>)", "(<a b:c>)", "(<>)", "(<a:<b>)",
		"(<a:b>)x", "x", "[\"e\"]", "(Not)", "(Not Not <a:b>)", "(Notx <a:b>)",
		"([noquote])", `(["x"`, `(["x"])]`, `([W/])`, `([w/"x"])`, "([\"a\x01\"])", `(["a\`,
		"<relative> (<a:b>)", "<> (<a:b>)",
		"(<a:b>),(<c:d>)",
	} {
		_, err := ParseIf(in)
		if err == nil {
			t.Errorf("ParseIf(%q) accepted", in)
			continue
		}
		if perr.CodeOf(err) != CodeBadHeader || !perr.Is(err, perr.Invalid) {
			t.Errorf("ParseIf(%q): %v, want %s", in, err, CodeBadHeader)
		}
	}
}

func TestEval(t *testing.T) {
	type res struct {
		etag   string
		tokens []string
	}
	state := map[string]res{
		"":         {`"e1"`, []string{tokA}},
		"/other":   {`W/"e2"`, nil},
		"/missing": {},
	}
	cases := []struct {
		h    string
		want bool
	}{
		{`(<` + tokA + `>)`, true},
		{`(<` + tokB + `>)`, false},
		{`(Not <` + tokB + `>)`, true},
		{`(<` + tokA + `> ["e1"])`, true},
		{`(<` + tokA + `> [W/"e1"])`, true}, // weak comparison
		{`(<` + tokA + `> ["e2"])`, false},  // AND
		{`(<` + tokB + `>) (["e1"])`, true}, // OR
		{`(<DAV:no-lock>)`, false},
		{`(Not <DAV:no-lock>)`, true},
		{`(<` + tokA + `x>) (Not <DAV:no-lock>)`, true}, // litmus cond_put_corrupt_token: the lock check fails, not If
		{`(<` + tokA + `> ["bad"]) (Not <DAV:no-lock> ["bad"])`, false},
		{`(<` + tokA + `> ["e1"]) (Not <DAV:no-lock> ["e1"])`, true},
		{`</other> (["e2"])`, true},
		{`</other> (<` + tokA + `>)`, false},
		{`</other> (<` + tokA + `>) </x> (Not <DAV:no-lock>)`, true},
		{`</missing> (["e1"])`, false},
		{`</missing> (Not ["e1"])`, true},
		{`</missing> ([""])`, false},
	}
	for _, c := range cases {
		h, err := ParseIf(c.h)
		if err != nil {
			t.Fatalf("ParseIf(%q): %v", c.h, err)
		}
		calls := map[string]int{}
		got := h.Eval(func(tag string) (string, []string) {
			calls[tag]++
			r := state[tag]
			return r.etag, r.tokens
		})
		if got != c.want {
			t.Errorf("Eval(%q) = %v, want %v", c.h, got, c.want)
		}
		for tag, n := range calls {
			if n > 1 {
				t.Errorf("Eval(%q) asked for %q %d times", c.h, tag, n)
			}
		}
	}
	if !(If{}).Eval(nil) {
		t.Error("zero If does not hold")
	}
}

func TestTokens(t *testing.T) {
	h, err := ParseIf(`</a> (<a:1> Not <a:2> ["x"]) (<DAV:no-lock>) </b> (<a:3>) (<a:1>)`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Tokens(), []string{"a:1", "a:3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Tokens = %q, want %q", got, want)
	}
	if got := (If{}).Tokens(); got != nil {
		t.Errorf("zero If Tokens = %q", got)
	}
}

func TestParseLockToken(t *testing.T) {
	for in, want := range map[string]string{
		"<" + tokA + ">":          tokA,
		" \t<opaquelocktoken:x> ": "opaquelocktoken:x",
	} {
		got, err := ParseLockToken(in)
		if err != nil || got != want {
			t.Errorf("ParseLockToken(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", tokA, "<" + tokA, "<nocolon>", "<a:b> x", "<a:b><c:d>", "<>"} {
		if _, err := ParseLockToken(in); perr.CodeOf(err) != CodeBadHeader {
			t.Errorf("ParseLockToken(%q): %v, want %s", in, err, CodeBadHeader)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"":                               DefaultTimeout,
		"Second-100":                     100 * time.Second,
		"second-100":                     100 * time.Second,
		" Second-5 , Infinite":           5 * time.Second,
		"Infinite, Second-4100000000":    MaxTimeout,
		"Second-4100000000":              MaxTimeout,
		"Second-99999999999999999999999": MaxTimeout,
		"Second-0":                       MinTimeout,
		"Second-x, Second-7":             7 * time.Second,
		"Second--1":                      DefaultTimeout,
		"Second-+1":                      DefaultTimeout,
		"Minute-3":                       DefaultTimeout,
		"bogus":                          DefaultTimeout,
	} {
		if got := ParseTimeout(in); got != want {
			t.Errorf("ParseTimeout(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "//": "/", "a": "/a", "/a/": "/a", "/a//b/./c/": "/a/b/c",
		"/a/../b": "/b", "/../a": "/a", "/a b/%2F": "/a b/%2F",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
	if !strings.HasPrefix((&Manager{}).newToken(), "urn:uuid:") || len((&Manager{}).newToken()) != 45 {
		t.Errorf("default token %q", (&Manager{}).newToken())
	}
}
