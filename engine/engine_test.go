package engine

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/perr"
)

func run(t *testing.T, src string, lim Limits) (*Response, error) {
	t.Helper()
	req := &Request{Method: "POST", Header: http.Header{"X-Test": {"yes"}}, Query: "a=1", PathInfo: "/echo/7", Body: []byte("hello body")}
	return Run(context.Background(), "t.js", []byte(src), req, lim)
}

func TestEcho(t *testing.T) {
	src := `function(request){
		return {status: 201, headers: {"Content-Type": "text/plain"},
			body: [request.method, " ", request.headers["x-test"], " ", request.queryString, " ", request.pathInfo, " ", request.input.readAll()]};
	}`
	r, err := run(t, src, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 201 || r.Header.Get("Content-Type") != "text/plain" || string(r.Body) != "POST yes a=1 /echo/7 hello body" {
		t.Fatalf("%d %v %q", r.Status, r.Header, r.Body)
	}
}

func TestModernAndModuleForms(t *testing.T) {
	for _, src := range []string{
		"(request) => { const {method} = request; class A { m() { return `${method}!` } }; return {status: 200, headers: {}, body: [new A().m()]}; }",
		"exports.handler = function(request){ return {status: 200, headers: {}, body: [request.method + '!']}; };",
		"module.exports = { handler: (req) => ({status: 200, headers: {}, body: [req.method + '!']}) };",
	} {
		r, err := run(t, src, DefaultLimits)
		if err != nil || string(r.Body) != "POST!" {
			t.Errorf("%s: %v %v", src, r, err)
		}
	}
}

func TestFailures(t *testing.T) {
	short := Limits{Timeout: 200 * time.Millisecond, MaxStack: 100, MaxBody: 1 << 10}
	var se *ScriptError
	if _, err := run(t, `function(r){ throw new Error("boom"); }`, short); !errors.As(err, &se) || !strings.Contains(se.Error(), "Server Error : Error: boom") {
		t.Errorf("thrown error: %v", err)
	}
	if _, err := run(t, `var x = 1;`, short); !errors.As(err, &se) {
		t.Errorf("not a function: %v", err)
	}
	if _, err := run(t, `function(r){`, short); !errors.As(err, &se) {
		t.Errorf("syntax error: %v", err)
	}
	start := time.Now()
	if _, err := run(t, `function(r){ while(true){} }`, short); !errors.Is(err, ErrTimeout) {
		t.Errorf("endless loop: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("endless loop stopped after %v", el)
	}
	if _, err := run(t, `function(r){ function f(n){ return f(n+1); } return f(0); }`, short); !errors.As(err, &se) {
		t.Errorf("endless recursion: %v", err)
	}
	// Malformed answers: a "Server Error : …" as Personium's engine gives
	// (see TestResponseMessages); an answer over the size limit:
	// PR500-SC-0006.
	for _, src := range []string{
		`function(r){ return {status: 99, headers: {}, body: []}; }`,
		`function(r){ return {status: 200, headers: {"Bad Name": "x"}, body: []}; }`,
		`function(r){ return {status: 200, headers: {"X": "a\nb"}, body: []}; }`,
		`function(r){ return {status: 200, headers: {}}; }`,
		`function(r){ return "hello"; }`,
	} {
		if _, err := run(t, src, short); !errors.As(err, &se) {
			t.Errorf("%s: %v", src, err)
		}
	}
	if _, err := run(t, `function(r){ return {status: 200, headers: {}, body: ["x".repeat(2000)]}; }`, short); perr.CodeOf(err) != "PR500-SC-0006" {
		t.Errorf("body over the limit: %v", err)
	}
	if _, err := Run(context.Background(), "bad.js", []byte("function(r){}\xff"), &Request{}, short); !errors.As(err, &se) {
		t.Errorf("non-UTF-8 source: %v", err)
	}
}

func TestRequireAndQueryParse(t *testing.T) {
	files := map[string]string{
		"lib.js":   `exports.greet = (n) => "hello " + n; exports.twice = require("util.js").twice;`,
		"util.js":  `module.exports = { twice: (s) => s + s };`,
		"cycle.js": `exports.x = 1; var me = require("cycle.js"); exports.y = me.x + 1;`,
	}
	req := &Request{Method: "GET", Header: http.Header{}, Query: "a=1&b=two&b=three",
		Source: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, errors.New("no such file")
		}}
	src := `function(request){
		var lib = require("lib.js"), q = _p.util.queryParse(request.queryString);
		return {status: 200, headers: {}, body: [lib.greet(q.b), " ", lib.twice("ab"), " ", String(require("cycle.js").y)]};
	}`
	r, err := Run(context.Background(), "main.js", []byte(src), req, DefaultLimits)
	if err != nil || string(r.Body) != "hello three abab 2" {
		t.Fatalf("%v %v", r, err)
	}
	var se *ScriptError
	if _, err := Run(context.Background(), "main.js", []byte(`function(r){ return require("missing.js"); }`), req, DefaultLimits); !errors.As(err, &se) {
		t.Errorf("missing module: %v", err)
	}
}

// TestCatastrophicRegexp: a backtracking regular expression on a long
// input ends near the limits instead of running for ever.
func TestCatastrophicRegexp(t *testing.T) {
	src := `function(r){ var s = "a".repeat(40) + "!"; var re = /^(a+)+(?=b)\1$/; return {status: 200, headers: {}, body: [String(re.test(s))]}; }`
	start := time.Now()
	_, err := Run(context.Background(), "re.js", []byte(src), &Request{Header: http.Header{}}, Limits{Timeout: 300 * time.Millisecond, MaxStack: 100, MaxBody: 1000})
	var se *ScriptError
	if !errors.Is(err, ErrTimeout) && !errors.As(err, &se) {
		t.Errorf("catastrophic regexp: %v", err)
	}
	if el := time.Since(start); el > MaxRegexpMatch+2*time.Second {
		t.Errorf("catastrophic regexp stopped after %v", el)
	}
}

// TestAllocationBomb: a script that allocates without end is stopped by
// the heap watchdog long before the process runs out of memory.
func TestAllocationBomb(t *testing.T) {
	src := `function(r){ var keep = []; for(;;) { keep.push(new Array(1 << 16).fill(1)); } }`
	lim := Limits{Timeout: 20 * time.Second, MaxStack: 100, MaxBody: 1000, MaxHeapGrowth: 256 << 20}
	start := time.Now()
	_, err := Run(context.Background(), "bomb.js", []byte(src), &Request{Header: http.Header{}}, lim)
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("allocation bomb: %v after %v", err, time.Since(start))
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("allocation bomb stopped after %v", el)
	}
}

// TestLeadingStatements: Personium's engine tolerates statements (such
// as var x = require('x.js')) before the handler function.
func TestLeadingStatements(t *testing.T) {
	src := "var greeting = 'hi';\nvar helper = function(x) { return x + '!'; };\nfunction(request) {\n  return {status: 200, headers: {}, body: [helper(greeting)]};\n}\n"
	r, err := run(t, src, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Body) != "hi!" {
		t.Fatalf("%q", r.Body)
	}
	if _, err := run(t, "var x = 1;\nfunction(request) { return {status: 200, headers: {}, body: [}; }", DefaultLimits); err == nil {
		t.Fatal("a syntax error after leading statements was accepted")
	}
}

// TestResponseRules: Personium's checks of what a script answers, and
// bodies encoded in the charset of their Content-Type.
func TestResponseRules(t *testing.T) {
	for _, tc := range []struct {
		resp string
		ok   bool
	}{
		{`{status: 200, headers: {}, body: ["x"]}`, true},
		{`{status: 999, headers: {}, body: ["x"]}`, true},
		{`{status: 105, headers: {}, body: ["x"]}`, false},
		{`{status: 2000, headers: {}, body: ["x"]}`, false},
		{`{status: "200", headers: {}, body: ["x"]}`, false},
		{`{status: 200, headers: {"X-N": 5}, body: ["x"]}`, false},
		{`{status: 200, headers: {"Content-Type": "not a type"}, body: ["x"]}`, false},
		{`{status: 200, headers: {"Content-Type": "text/plain; charset=no-such"}, body: ["x"]}`, false},
		{`{status: 200, headers: {"Content-Type": "text/plain; charset=iso-8859-1"}, body: ["日本"]}`, false},
		{`{status: 200, headers: {}, body: "no forEach"}`, false},
	} {
		_, err := run(t, "function(r){ return "+tc.resp+"; }", DefaultLimits)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.resp, err)
		}
	}
	r, err := run(t, `function(r){ return {status: 200, headers: {"Content-Type": "text/plain; charset=Shift_JIS"}, body: ["日本"]}; }`, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if want := "\x93\xfa\x96\x7b"; string(r.Body) != want {
		t.Errorf("Shift_JIS body % x, want % x", r.Body, want)
	}
}

// FuzzCheck: any source given to Check (what a PUT into __src stores)
// is vetted without a crash or a hang of the parser.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"function(r){ return {status:200, headers:{}, body:['x']}; }", "exports.handler = r => r;",
		"var a = 1;\nfunction(r){}", "function(", "\xff", "}", "/*", "`${"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_ = Check("f.js", []byte(src))
	})
}

// TestReadLine: request.input.readLine reads line by line, null at the
// end, as Personium's request body stream does.
func TestReadLine(t *testing.T) {
	src := `function(request){
		var lines = [], l;
		while ((l = request.input.readLine()) !== null) { lines.push("[" + l + "]"); }
		return {status: 200, headers: {}, body: [lines.join("")]};
	}`
	req := &Request{Method: "POST", Header: http.Header{}, Body: []byte("one\r\ntwo\n\nlast")}
	r, err := Run(context.Background(), "t.js", []byte(src), req, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Body) != "[one][two][][last]" {
		t.Errorf("%q", r.Body)
	}
}

// TestJSGIResponseGlobal: jsgi-lib.js's JSGIResponse is there without
// touching _p first, as in Personium's engine.
func TestJSGIResponseGlobal(t *testing.T) {
	src := `function(request){ var r = new JSGIResponse(); r.setResponseData({a: 1}); return r; }`
	r, err := run(t, src, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || string(r.Body) != `{"a":1}` || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("%d %v %q", r.Status, r.Header, r.Body)
	}
}

// TestTrailingStatements: Personium evaluates "fn_jsgi = " + source, so
// helpers may follow the function.
func TestTrailingStatements(t *testing.T) {
	src := "function(request) {\n  return {status: 200, headers: {}, body: [util.twice('a') + sleep()]};\n}\nvar util = {twice: function(s) { return s + s; }};\nfunction sleep() { return '!'; }\n"
	if err := Check("t.js", []byte(src)); err != nil {
		t.Fatal(err)
	}
	r, err := run(t, src, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Body) != "aa!" {
		t.Fatalf("%q", r.Body)
	}
}

// TestResponseMessages: a malformed answer is a "Server Error : …" with
// the message of Personium's PersoniumResponse.
func TestResponseMessages(t *testing.T) {
	for resp, want := range map[string]string{
		`{status: 2000, headers: {}, body: ["x"]}`:                                 "response status illegal type. status: 2000",
		`{status: "200", headers: {}, body: ["x"]}`:                                "response status illegal type.",
		`{status: 200, body: ["x"]}`:                                               "not headers",
		`{status: 200, headers: {"100": "x"}, body: ["x"]}`:                        "header key format error",
		`{status: 200, headers: {"X-N": 5}, body: ["x"]}`:                          "header value format error",
		`{status: 200, headers: {"Content-Type": "hoge"}, body: ["x"]}`:            "Response header parsing media type.",
		`{status: 200, headers: {"Content-Type": "a/b; charset=zz"}, body: ["x"]}`: "response charset illegal type.",
		`{status: 200, headers: {}, body: "x"}`:                                    "response body undefined forEach.",
		`{status: 200, headers: {}, body: [1]}`:                                    "response body illegal type.",
		`"not an object"`:                                                          "not NativeObject",
	} {
		_, err := run(t, "function(r){ return "+resp+"; }", DefaultLimits)
		if err == nil || err.Error() != "Server Error : "+want {
			t.Errorf("%s: %v, want %q", resp, err, want)
		}
	}
	r, err := run(t, `function(r){ return {status: 200, headers: {"Transfer-Encoding": "chunked"}, body: ["x"]}; }`, DefaultLimits)
	if err != nil || r.Header.Get("Transfer-Encoding") != "" {
		t.Errorf("Transfer-Encoding: %v %v", r, err)
	}
}
