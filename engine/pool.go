package engine

import (
	"crypto/sha256"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/personium-go/personium/internal/perr"
)

// VMs are made ahead of need by a background goroutine and used once:
// a runtime reused across calls would carry one script's globals (and
// one cell's data) into the next call. A call finds one ready; if the
// pool is empty (a burst), it makes its own.
const vmPoolSize = 16

var vmPool = sync.OnceValue(func() chan *goja.Runtime {
	c := make(chan *goja.Runtime, vmPoolSize)
	go func() {
		for {
			c <- goja.New()
		}
	}()
	return c
})

func newVM() *goja.Runtime {
	select {
	case vm := <-vmPool():
		return vm
	default:
		return goja.New()
	}
}

// Compiled scripts are kept by their text (a goja Program runs in any
// runtime), so that a service's script is parsed once, not per call.
// The cache is bounded; when full it is emptied and refilled as calls
// come.
const maxPrograms = 512

var programs struct {
	sync.Mutex
	m map[[32]byte]*goja.Program
}

// compiled returns src (named name in messages) compiled, from the
// cache when it was compiled before. Syntax errors are not cached.
func compiled(name, src string) (*goja.Program, error) {
	key := sha256.Sum256([]byte(name + "\x00" + src))
	programs.Lock()
	p := programs.m[key]
	programs.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := goja.Compile(name, src, false)
	if err != nil {
		return nil, err
	}
	programs.Lock()
	if programs.m == nil || len(programs.m) >= maxPrograms {
		programs.m = map[[32]byte]*goja.Program{}
	}
	programs.m[key] = p
	programs.Unlock()
	return p, nil
}

// Check vets the source of a script file (name) before it is stored in
// a service collection's __src: it must be UTF-8 and, for a .js file,
// compile as one of the forms Run accepts (a function expression, one
// after top-level statements, or a module). Other files are accepted
// as they are. Errors: PR400-SC-0001 naming the first problem.
func Check(name string, src []byte) error {
	bad := func(why string) error { return perr.New("PR400-SC-0001", name, why) }
	if !utf8.Valid(src) {
		return bad("not UTF-8 text")
	}
	if !strings.HasSuffix(strings.ToLower(name), ".js") {
		return nil
	}
	text := string(src)
	_, first := goja.Compile(name, "(\n"+text+"\n)", false)
	if first == nil {
		return nil
	}
	if leadingFunction.MatchString(text) {
		if _, err := goja.Compile(name, personiumPrefix+text, false); err != nil {
			return bad(err.Error())
		}
		return nil
	}
	for _, loc := range anonFunctionLine.FindAllStringIndex(text, maxLeadTries) {
		if _, err := goja.Compile(name, text[:loc[0]]+";(\n"+text[loc[0]:]+"\n)", false); err == nil {
			return nil
		}
	}
	if _, err := goja.Compile(name, "(function(exports, module){\n"+text+"\n})", false); err != nil {
		return bad(err.Error())
	}
	return nil
}
