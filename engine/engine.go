// Package engine runs the server-side JavaScript of Personium service
// collections (reference §8): a script file under a service collection's
// __src is one function(request){…} (or, beyond Personium, a module
// setting exports.handler), called with a JSGI request object and
// answering {status, headers, body}.
//
// Scripts run in-process in github.com/dop251/goja (ES2015+), one fresh
// VM per call. Limits per call: wall time (Interrupt), call-stack depth,
// response size, a heap-growth watchdog, and a match timeout for
// backtracking regular expressions. require(name) loads other files of
// __src. The engine API _p is personium.js, built on the API the server
// gives (requests to this unit made in-process).
package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/textproto"
	"regexp"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/personium-go/personium/internal/perr"
)

// MaxRegexpMatch bounds one match of a regular expression that needs
// goja's backtracking matcher (backreferences, lookaround): goja's
// Interrupt is only seen between JavaScript instructions, so without it
// a catastrophic pattern would run on past the call's time limit. (The
// other patterns run on Go's linear-time regexp.)
const MaxRegexpMatch = 2 * time.Second

func init() { regexp2.DefaultMatchTimeout = MaxRegexpMatch }

// Limits bound one call.
type Limits struct {
	Timeout  time.Duration // wall time of the call
	MaxStack int           // JavaScript call-stack depth
	MaxBody  int           // bytes of the response body
	// MaxHeapGrowth stops a call while the process's live heap has grown
	// by more than this since the call began (0: no check). goja cannot
	// count one VM's allocations, so this is a process-wide watchdog: it
	// catches an allocation bomb within ~10 ms, and may stop a call that
	// merely runs beside one.
	MaxHeapGrowth uint64
}

// DefaultLimits are the limits of a unit that configures none.
var DefaultLimits = Limits{Timeout: 30 * time.Second, MaxStack: 1000, MaxBody: 16 << 20, MaxHeapGrowth: 1 << 30}

// ErrMemory reports a call stopped by the heap watchdog.
var ErrMemory = errors.New("engine: script memory limit")

// heapBytes reads the heap of the process: objects, all allocated
// objects not yet swept (it moves at once, but garbage that earlier
// calls left and a collection frees during this call hides growth), and
// live, what the last collection found reachable (it moves only when a
// collection ends). The watchdog stops a call when either has grown by
// more than the limit since the call began; both can only under-count a
// call's growth, never blame it for another's garbage beyond that.
func heapBytes() (objects, live uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		objects = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		live = s[1].Value.Uint64()
	}
	return objects, live
}

// Request is what a script is called with (the JSGI request of §8.3).
type Request struct {
	Method     string
	Header     http.Header
	Query      string // the raw query string
	PathInfo   string // the path below the service collection, with a leading slash
	ScriptName string // the service collection's path
	Scheme     string
	Host       string
	Port       int
	RequestURI string // the original request URL
	Body       []byte
	// Source, when set, reads another file of the service's __src, for
	// require(name).
	Source func(name string) ([]byte, error)
	// API, when set, is what _p calls; Env says where the script runs.
	API API
	Env Env
}

// Response is what a script answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ErrTimeout reports a call stopped at its time limit (Personium: 503
// "Script TimeOut").
var ErrTimeout = errors.New("engine: script timeout")

// ScriptError is an exception the script threw, or a script that is not
// a function (Personium: 500 "Server Error : <message>").
type ScriptError struct{ Message string }

func (e *ScriptError) Error() string { return "Server Error : " + e.Message }

// Run evaluates the script src (file name for messages) and calls it
// with req. Errors: ErrTimeout, *ScriptError, or a *perr.E with
// PR500-SC-0006 for a response that is not {status, headers, body} as
// JSGI wants it, or ErrMemory.
func Run(ctx context.Context, name string, src []byte, req *Request, lim Limits) (*Response, error) {
	if !utf8.Valid(src) {
		return nil, &ScriptError{Message: name + " is not UTF-8 text"}
	}
	vm := newVM()
	vm.SetMaxCallStackSize(lim.MaxStack)
	stop := make(chan struct{})
	defer close(stop)
	timer := time.AfterFunc(lim.Timeout, func() { vm.Interrupt(ErrTimeout) })
	defer timer.Stop()
	go func() {
		var tick <-chan time.Time
		var baseObjects, baseLive uint64
		if lim.MaxHeapGrowth > 0 {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			tick = t.C
			baseObjects, baseLive = heapBytes()
		}
		for {
			select {
			case <-ctx.Done():
				vm.Interrupt(ctx.Err())
				return
			case <-stop:
				return
			case <-tick:
				if o, l := heapBytes(); o > baseObjects+lim.MaxHeapGrowth || l > baseLive+lim.MaxHeapGrowth {
					vm.Interrupt(ErrMemory)
					return
				}
			}
		}
	}()
	// What _p does on the script's behalf ends with the call.
	apiCtx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	installGlobals(apiCtx, vm, req)
	fn, err := handler(vm, name, string(src))
	if err != nil {
		return nil, scriptFailure(err)
	}
	result, err := fn(goja.Undefined(), requestObject(vm, req))
	if err != nil {
		return nil, scriptFailure(err)
	}
	return response(vm, result, lim)
}

// installGlobals defines what every script sees besides its request:
// require(name), which loads another file of __src as a CommonJS module
// (once per call), and the engine API _p (see installP).
func installGlobals(ctx context.Context, vm *goja.Runtime, req *Request) {
	modules := map[string]goja.Value{}
	_ = vm.Set("require", func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0).String()
		if v, ok := modules[name]; ok {
			return v
		}
		if req.Source == nil {
			panic(vm.NewGoError(fmt.Errorf("require(%q): no sources", name)))
		}
		src, err := req.Source(name)
		if err != nil && !strings.HasSuffix(name, ".js") {
			// Personium's require("name") loads name.js.
			if s, jerr := req.Source(name + ".js"); jerr == nil {
				src, err = s, nil
			}
		}
		if err != nil {
			panic(vm.NewGoError(fmt.Errorf("require(%q): %v", name, err)))
		}
		if !utf8.Valid(src) {
			panic(vm.NewGoError(fmt.Errorf("require(%q): not UTF-8 text", name)))
		}
		wrap, err := vm.RunScript(name, "(function(exports, module){\n"+string(src)+"\n})")
		if err != nil {
			panic(err)
		}
		fn, _ := goja.AssertFunction(wrap)
		exports := vm.NewObject()
		module := vm.NewObject()
		_ = module.Set("exports", exports)
		modules[name] = exports // a cycle sees the exports so far
		if _, err := fn(goja.Undefined(), exports, module); err != nil {
			panic(err)
		}
		v := module.Get("exports")
		modules[name] = v
		return v
	})
	installP(ctx, vm, req)
}

// handler compiles src: a function expression (Personium's form), the
// function followed by statements (Personium evaluates "fn_jsgi = " +
// source), the same after top-level statements such as var x =
// require('x.js') (apps ship scripts like that), or a module that sets
// exports.handler or module.exports.handler.
func handler(vm *goja.Runtime, name, src string) (goja.Callable, error) {
	sc := compileScript(name, src)
	if sc.err != nil {
		return nil, sc.err
	}
	switch sc.form {
	case formExpression, formLeading:
		v, err := vm.RunProgram(sc.prog)
		if fn, ok := goja.AssertFunction(v); err == nil && ok {
			return fn, nil
		}
		if sc.form == formLeading {
			if err != nil {
				return nil, err
			}
			return nil, &ScriptError{Message: name + " is not a function"}
		}
		// An expression that is not a function (exports.handler = …):
		// the module form.
	case formPersonium:
		if _, err := vm.RunProgram(sc.prog); err != nil {
			return nil, err
		}
		if fn, ok := goja.AssertFunction(vm.GlobalObject().Get("fn_jsgi")); ok {
			return fn, nil
		}
		return nil, &ScriptError{Message: name + " is not a function"}
	}
	prog, err := compiled(name, moduleWrapper(src))
	if err != nil {
		return nil, err
	}
	v, err := vm.RunProgram(prog)
	if err != nil {
		return nil, err
	}
	wrap, ok := goja.AssertFunction(v)
	if !ok {
		return nil, &ScriptError{Message: name + " is not a function"}
	}
	exports := vm.NewObject()
	module := vm.NewObject()
	_ = module.Set("exports", exports)
	h, err := wrap(goja.Undefined(), exports, module)
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(h)
	if !ok {
		return nil, &ScriptError{Message: name + " is not a function(request) nor a module with exports.handler"}
	}
	return fn, nil
}

// scriptForm is how a script's source is read (see compileScript).
type scriptForm int

const (
	formExpression scriptForm = iota // function(request){…} (or a module, tried at run time)
	formPersonium                    // the function, then statements: "fn_jsgi = " + source
	formLeading                      // statements, then the function
	formModule                       // exports.handler = …
)

// compiledScript is a source compiled in the first form that parses.
type compiledScript struct {
	form scriptForm
	prog *goja.Program // nil for formModule (see moduleWrapper)
	err  error         // the source parses in no form
}

// compileScript finds the form a script is written in and compiles it.
// Run and Check both use it; compiled caches every attempt, so a form
// that does not parse is not parsed again at every call.
func compileScript(name, src string) compiledScript {
	if prog, err := compiled(name, "(\n"+src+"\n)"); err == nil {
		return compiledScript{form: formExpression, prog: prog}
	}
	if leadingFunction.MatchString(src) {
		prog, err := compiled(name, personiumPrefix+src)
		return compiledScript{form: formPersonium, prog: prog, err: err}
	}
	for _, loc := range anonFunctionLine.FindAllStringIndex(src, maxLeadTries) {
		if prog, err := compiled(name, src[:loc[0]]+";(\n"+src[loc[0]:]+"\n)"); err == nil {
			return compiledScript{form: formLeading, prog: prog}
		}
	}
	_, err := compiled(name, moduleWrapper(src))
	return compiledScript{form: formModule, err: err}
}

// moduleWrapper makes a module's source a function of exports and
// module that returns its handler.
func moduleWrapper(src string) string {
	return "(function(exports, module){\n" + src + "\n;return module.exports.handler || exports.handler;})"
}

// personiumPrefix is what Personium's engine puts before a script.
const personiumPrefix = "fn_jsgi = "

// leadingFunction matches a source whose first token (after comments)
// is an anonymous function: Personium's form, possibly followed by
// statements.
var leadingFunction = regexp.MustCompile(`^(?:\s+|//[^\n]*\n|/\*(?s:.*?)\*/)*function\s*\(`)

// anonFunctionLine finds lines that begin an anonymous function, where a
// script's handler may start after leading statements; maxLeadTries
// bounds the candidates tried.
var anonFunctionLine = regexp.MustCompile(`(?m)^[ \t]*function[ \t]*\(`)

const maxLeadTries = 8

// scriptFailure turns a goja error into ErrTimeout or a *ScriptError.
func scriptFailure(err error) error {
	var ie *goja.InterruptedError
	if errors.As(err, &ie) {
		if v, ok := ie.Value().(error); ok && (errors.Is(v, ErrTimeout) || errors.Is(v, ErrMemory)) {
			return v
		}
		return &ScriptError{Message: "interrupted"}
	}
	var se *ScriptError
	if errors.As(err, &se) {
		return se
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return &ScriptError{Message: ex.Value().String()}
	}
	return &ScriptError{Message: err.Error()}
}

// requestObject builds the JSGI request (§8.3): header names lower-cased.
func requestObject(vm *goja.Runtime, req *Request) *goja.Object {
	o := vm.NewObject()
	headers := headersObject(vm, req.Header)
	pos := 0
	input := vm.NewObject()
	_ = input.Set("readAll", func() string {
		s := string(req.Body[pos:])
		pos = len(req.Body)
		return s
	})
	_ = input.Set("read", func(call goja.FunctionCall) goja.Value {
		n := len(req.Body) - pos
		if len(call.Arguments) > 0 {
			if k := int(call.Argument(0).ToInteger()); k >= 0 && k < n {
				n = k
			}
		}
		s := string(req.Body[pos : pos+n])
		pos += n
		return vm.ToValue(s)
	})
	// readLine returns the next line without its terminator (\n or
	// \r\n), null at the end, as Java's BufferedReader.readLine, which
	// Personium's PersoniumRequestBodyStream uses.
	_ = input.Set("readLine", func(call goja.FunctionCall) goja.Value {
		if pos >= len(req.Body) {
			return goja.Null()
		}
		rest := req.Body[pos:]
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, pos = rest[:i], pos+i+1
		} else {
			pos = len(req.Body)
		}
		return vm.ToValue(string(bytes.TrimSuffix(line, []byte("\r"))))
	})
	env := vm.NewObject()
	_ = env.Set("requestUri", req.RequestURI)
	jsgi := vm.NewObject()
	// As Personium's JSGIRequest: the version, and the other members
	// present but empty.
	_ = jsgi.Set("version", []int{0, 3})
	for _, k := range []string{"errors", "multithread", "multiprocess", "run_once", "cgi", "ext"} {
		_ = jsgi.Set(k, "")
	}
	for k, v := range map[string]any{"method": req.Method, "headers": headers, "input": input, "queryString": req.Query,
		"pathInfo": req.PathInfo, "scriptName": req.ScriptName, "scheme": req.Scheme, "host": req.Host, "port": strconv.Itoa(req.Port),
		"env": env, "jsgi": jsgi} {
		_ = o.Set(k, v)
	}
	return o
}

// headersObject is h as JSGI has headers: an object with lower-cased
// names (in order) and each field's values joined with ", ".
func headersObject(vm *goja.Runtime, h http.Header) *goja.Object {
	o := vm.NewObject()
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		_ = o.Set(strings.ToLower(k), strings.Join(h[k], ", "))
	}
	return o
}

// response checks and converts what the script returned, as Personium's
// PersoniumResponse does: a failed check is a 500 "Server Error : …" with
// its message (Personium's engine tests compare them).
func response(vm *goja.Runtime, v goja.Value, lim Limits) (*Response, error) {
	bad := func(why string) error { return &ScriptError{Message: why} }
	o, isObject := v.(*goja.Object)
	if v == nil || !isObject || o.ClassName() == "Array" {
		return nil, bad("not NativeObject")
	}
	status := o.Get("status")
	if status == nil || goja.IsUndefined(status) || goja.IsNull(status) {
		return nil, bad("response status illegal type.")
	}
	if _, isNumber := status.Export().(int64); !isNumber {
		if _, isFloat := status.Export().(float64); !isFloat {
			return nil, bad("response status illegal type.")
		}
	}
	// Three digits from 200 (1xx unsettles clients).
	code, ok := status.Export().(int64)
	if !ok || code < 200 || code > 999 {
		return nil, bad("response status illegal type. status: " + status.String())
	}
	resp := &Response{Status: int(code), Header: http.Header{}}
	h, isObject := o.Get("headers").(*goja.Object)
	if !isObject {
		return nil, bad("not headers")
	}
	for _, k := range h.Keys() {
		if _, err := strconv.ParseUint(k, 10, 64); err == nil {
			return nil, bad("header key format error") // an array index, not a name
		}
		if strings.EqualFold(k, "Transfer-Encoding") {
			continue
		}
		val, isString := h.Get(k).Export().(string)
		if !isString || !validHeader(k, val) {
			return nil, bad("header value format error")
		}
		resp.Header.Add(k, val)
	}
	// A Content-Type must be a media type (type/subtype), and its charset
	// one that the body's strings are then encoded in.
	var enc *encoding.Encoder
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || !strings.Contains(mt, "/") {
			return nil, bad("Response header parsing media type.")
		}
		if cs := params["charset"]; cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			e, err := htmlindex.Get(cs)
			if err != nil {
				return nil, bad("response charset illegal type.")
			}
			enc = e.NewEncoder()
		}
	}
	body, isObject := o.Get("body").(*goja.Object)
	if !isObject {
		return nil, bad("response body undefined forEach.")
	}
	forEach, ok := goja.AssertFunction(body.Get("forEach"))
	if !ok {
		return nil, bad("response body undefined forEach.")
	}
	var out []byte
	var failure error
	_, err := forEach(body, vm.ToValue(func(call goja.FunctionCall) goja.Value {
		if failure != nil {
			return goja.Undefined()
		}
		// Strings only (Personium also takes its Java input streams,
		// which scripts here do not have: getStream gives a string).
		str, isString := call.Argument(0).Export().(string)
		if !isString {
			failure = bad("response body illegal type.")
			return goja.Undefined()
		}
		if enc != nil {
			b, err := enc.String(str)
			if err != nil {
				failure = bad("response body not representable in the response's charset.")
				return goja.Undefined()
			}
			str = b
		}
		out = append(out, str...)
		if len(out) > lim.MaxBody {
			failure = perr.New("PR500-SC-0006").WithCause(errors.New("response body over the limit"))
		}
		return goja.Undefined()
	}))
	if err != nil {
		return nil, scriptFailure(err)
	}
	if failure != nil {
		return nil, failure
	}
	resp.Body = out
	return resp, nil
}

// validHeader accepts an HTTP field name and a value without controls.
func validHeader(name, value string) bool {
	if name == "" || textproto.CanonicalMIMEHeaderKey(name) == "" {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	for _, r := range value {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
