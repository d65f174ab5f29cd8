package unit

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/personium-go/personium/engine"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/perr"
)

// engineDepthKey marks requests made by scripts (value: how many
// service calls deep), so that services calling services end.
type engineDepthKey struct{}

// maxEngineDepth bounds services calling services (through _p).
const maxEngineDepth = 4

// subjectTokenLifetime is how long a service subject's token lives.
const subjectTokenLifetime = time.Hour

// engineAPI is the server as a script's _p sees it: requests to this
// unit run in-process through the server's own handler — the same
// routing, authentication and privilege checks as from the network,
// with no socket, no TLS and no serialisation beyond the bodies.
type engineAPI struct {
	s       *Server
	cell    *cell.Cell
	schema  string // the box's schema URL
	subject string // p:service subject account ("" none)
	depth   int
	// remote is the address of the client whose request runs the
	// script: the script's requests come from it (an account's IP
	// address range applies to them as to the client).
	remote string
}

var _ engine.API = (*engineAPI)(nil)

// Do runs one request of a script on this unit.
func (a *engineAPI) Do(ctx context.Context, method, rawURL string, header http.Header, body []byte) (*engine.Response, error) {
	if !strings.HasPrefix(rawURL, a.s.cfg.UnitURL) {
		return nil, perr.Errorf(perr.Invalid, "_p: %s is not on this unit (%s)", rawURL, a.s.cfg.UnitURL)
	}
	r, err := http.NewRequestWithContext(context.WithValue(ctx, engineDepthKey{}, a.depth), method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, perr.Errorf(perr.Invalid, "_p: %v", err)
	}
	r.Header = header
	r.RemoteAddr = a.remote
	r.RequestURI = r.URL.RequestURI()
	w := &captureWriter{header: http.Header{}, max: engine.DefaultLimits.MaxBody}
	a.s.ServeHTTP(w, r)
	if w.over {
		return nil, perr.Errorf(perr.Invalid, "_p: response of %s %s over %d bytes", method, rawURL, w.max)
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &engine.Response{Status: w.status, Header: w.header, Body: w.body.Bytes()}, nil
}

// SubjectToken issues a token of the service's subject account.
func (a *engineAPI) SubjectToken(ctx context.Context) (string, error) {
	if a.subject == "" {
		return "", errors.New("_p.as('serviceSubject'): the service has no subject account")
	}
	if a.cell == nil || a.s.cfg.Authn == nil {
		return "", errors.New("_p.as('serviceSubject'): this unit issues no cell tokens")
	}
	return a.s.cfg.Authn.SubjectToken(ctx, a.cell, a.subject, a.schema, subjectTokenLifetime)
}

// captureWriter is the http.ResponseWriter of an in-process request.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	max    int
	over   bool
}

func (w *captureWriter) Header() http.Header { return w.header }

func (w *captureWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len()+len(b) > w.max {
		w.over = true
		return 0, errors.New("response over the limit")
	}
	return w.body.Write(b)
}
