package engine

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/dop251/goja"
)

// API is what the engine API _p stands on: requests to this unit, made
// in-process with the caller's, the service subject's or given
// credentials (see personium.js, which builds Personium's _p from it).
type API interface {
	// Do performs one request on this unit (rawURL is absolute) and
	// returns its response; requests elsewhere are refused.
	Do(ctx context.Context, method, rawURL string, header http.Header, body []byte) (*Response, error)
	// SubjectToken returns an access token of the service collection's
	// p:service subject account.
	SubjectToken(ctx context.Context) (string, error)
}

// Env describes where a script runs, for _p's defaults.
type Env struct {
	UnitURL, CellURL, CellName, BoxName, BoxSchema, BoxURL, ServiceURL string
}

// personiumJS builds _p from the native object __pgo (see installP).
//
//go:embed personium.js
var personiumJS string

// personiumProgram is personium.js compiled once; each call runs it in
// its own VM on first use of _p.
var personiumProgram = sync.OnceValues(func() (*goja.Program, error) {
	return goja.Compile("personium.js", personiumJS, false)
})

// lazyGlobals are what personium.js defines: _p, its alias dc,
// jsgi-lib.js's JSGIResponse, and pjvm (only the getters of where the
// script runs; Personium's Java bridge is not there).
var lazyGlobals = []string{"_p", "dc", "JSGIResponse", "pjvm"}

// installP defines the globals of lazyGlobals: on first access to any of
// them, personium.js runs with the native object __pgo (request,
// subjectToken, clientAuthorization, env, queryParse), which is then
// removed. Scripts that use none of them pay nothing for it.
func installP(ctx context.Context, vm *goja.Runtime, req *Request) {
	loaded := false
	load := func() {
		if loaded {
			return
		}
		loaded = true
		prog, err := personiumProgram()
		if err != nil {
			panic(vm.NewGoError(fmt.Errorf("personium.js: %w", err)))
		}
		g := vm.GlobalObject()
		for _, name := range lazyGlobals {
			_ = g.Delete(name)
		}
		_ = g.Set("__pgo", nativeObject(ctx, vm, req))
		if _, err := vm.RunProgram(prog); err != nil {
			panic(err)
		}
		_ = g.Delete("__pgo")
		if p := g.Get("_p"); p == nil || goja.IsUndefined(p) {
			panic(vm.NewGoError(errors.New("personium.js did not define _p")))
		}
	}
	for _, name := range lazyGlobals {
		getter := vm.ToValue(func(goja.FunctionCall) goja.Value {
			load()
			return vm.GlobalObject().Get(name)
		})
		_ = vm.GlobalObject().DefineAccessorProperty(name, getter, nil, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
}

// nativeObject is __pgo, personium.js's view of the server.
func nativeObject(ctx context.Context, vm *goja.Runtime, req *Request) *goja.Object {
	o := vm.NewObject()
	_ = o.Set("request", func(call goja.FunctionCall) goja.Value {
		if req.API == nil {
			panic(vm.NewGoError(errors.New("_p: no server API in this context")))
		}
		method := strings.ToUpper(call.Argument(0).String())
		rawURL := call.Argument(1).String()
		h := http.Header{}
		if hv := call.Argument(2); !goja.IsUndefined(hv) && !goja.IsNull(hv) {
			ho := hv.ToObject(vm)
			for _, k := range ho.Keys() {
				v := ho.Get(k)
				if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
					continue
				}
				if !validHeader(k, v.String()) {
					panic(vm.NewTypeError("_p: invalid request header " + k))
				}
				h.Set(k, v.String())
			}
		}
		var body []byte
		if bv := call.Argument(3); !goja.IsUndefined(bv) && !goja.IsNull(bv) {
			body = []byte(bv.String())
		}
		resp, err := req.API.Do(ctx, method, rawURL, h, body)
		if err != nil {
			panic(vm.NewGoError(err))
		}
		out := vm.NewObject()
		_ = out.Set("status", resp.Status)
		_ = out.Set("headers", headersObject(vm, resp.Header))
		_ = out.Set("body", string(resp.Body))
		return out
	})
	_ = o.Set("subjectToken", func() string {
		if req.API == nil {
			panic(vm.NewGoError(errors.New("_p: no server API in this context")))
		}
		tok, err := req.API.SubjectToken(ctx)
		if err != nil {
			panic(vm.NewGoError(err))
		}
		return tok
	})
	_ = o.Set("clientAuthorization", req.Header.Get("Authorization"))
	_ = o.Set("env", map[string]any{
		"unitUrl": req.Env.UnitURL, "cellUrl": req.Env.CellURL, "cellName": req.Env.CellName,
		"boxName": req.Env.BoxName, "boxSchema": req.Env.BoxSchema, "boxUrl": req.Env.BoxURL,
		"serviceUrl": req.Env.ServiceURL,
	})
	_ = o.Set("queryParse", queryParse)
	return o
}

// queryParse is _p.util.queryParse: the last value of each name.
func queryParse(s string) map[string]any {
	out := map[string]any{}
	values, _ := url.ParseQuery(s)
	for k, v := range values {
		out[k] = v[len(v)-1]
	}
	return out
}
