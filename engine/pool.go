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
	m map[[32]byte]program
}

type program struct {
	p   *goja.Program
	err error
}

// compiled returns src (named name in messages) compiled, from the cache
// when it was compiled before; syntax errors are kept too, so that a
// form a script is not written in is not parsed again at every call.
func compiled(name, src string) (*goja.Program, error) {
	key := sha256.Sum256([]byte(name + "\x00" + src))
	programs.Lock()
	c, ok := programs.m[key]
	programs.Unlock()
	if ok {
		return c.p, c.err
	}
	p, err := goja.Compile(name, src, false)
	programs.Lock()
	if programs.m == nil || len(programs.m) >= maxPrograms {
		programs.m = map[[32]byte]program{}
	}
	programs.m[key] = program{p, err}
	programs.Unlock()
	return p, err
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
	if sc := compileScript(name, string(src)); sc.err != nil {
		return bad(sc.err.Error())
	}
	return nil
}
