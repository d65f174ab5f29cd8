package unit

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/engine"
	"github.com/personium-go/personium/internal/perr"
)

// serviceSubject is the subject attribute of a service collection's
// p:service property: the account _p.as('serviceSubject') acts as.
func serviceSubject(props []dav.Property) string {
	for _, p := range props {
		if p.Name != propService {
			continue
		}
		for _, a := range p.Attr {
			if a.Name.Local == "subject" {
				return a.Value
			}
		}
	}
	return ""
}

// route is one p:path of a service collection's p:service property.
type route struct {
	name string // URI template: segments, "{var}" matching one segment
	src  string // script file in __src
}

var propService = xml.Name{Space: dav.NSPersonium, Local: "service"}

// routes reads the p:service property of a service collection.
func routes(props []dav.Property) []route {
	var out []route
	for _, p := range props {
		if p.Name != propService {
			continue
		}
		d := xml.NewDecoder(bytes.NewReader(p.InnerXML))
		for {
			tok, err := d.Token()
			if err != nil {
				break
			}
			se, ok := tok.(xml.StartElement)
			if !ok || se.Name.Local != "path" {
				continue
			}
			var r route
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "name":
					r.name = a.Value
				case "src":
					r.src = a.Value
				}
			}
			if r.name != "" && r.src != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// match reports whether path (below the collection) matches the URI
// template name: literal segments equal, "{var}" any one segment; a
// template also matches longer paths below it (as Personium's engine
// passes the rest on in pathInfo).
func (r route) match(path string) bool {
	tsegs := strings.Split(strings.Trim(r.name, "/"), "/")
	psegs := strings.Split(strings.Trim(path, "/"), "/")
	if len(psegs) < len(tsegs) {
		return false
	}
	for i, t := range tsegs {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if psegs[i] == "" {
				return false
			}
			continue
		}
		if t != psegs[i] {
			return false
		}
	}
	return true
}

// serveService runs the script a service collection routes the request
// to (reference §8): privilege exec; GET, POST, PUT and DELETE only; the
// first p:path whose template matches; the script from __src.
func (s *Server) serveService(w http.ResponseWriter, r *http.Request, sp *dav.Special) error {
	ctx := r.Context()
	if err := sp.Box.Access.Check(ctx, sp.Chain, acl.Exec); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
	default:
		return perr.New("PR405-MC-0001")
	}
	var rt *route
	for _, c := range routes(sp.Props) {
		if c.match(sp.Path) {
			rt = &c
			break
		}
	}
	if rt == nil {
		return perr.New("PR404-MC-0001")
	}
	src, err := sp.ReadSource(ctx, rt.src)
	if perr.Is(err, perr.NotExist) {
		return perr.New("PR404-MC-0001")
	}
	if err != nil {
		return err
	}
	body, err := readLimited(r, engine.DefaultLimits.MaxBody)
	if err != nil {
		return err
	}
	host, port := r.Host, 80
	if h, p, ok := strings.Cut(r.Host, ":"); ok {
		host = h
		port, _ = strconv.Atoi(p)
	}
	scheme := "http"
	if strings.HasPrefix(s.cfg.UnitURL, "https://") {
		scheme = "https"
	}
	hdr := r.Header.Clone()
	hdr.Set("X-Baseurl", s.cfg.UnitURL)
	hdr.Set("X-Request-Uri", sp.URL+sp.Path+query(r))
	depth, _ := ctx.Value(engineDepthKey{}).(int)
	if depth >= maxEngineDepth {
		return perr.Errorf(perr.Unavailable, "engine: services calling services %d deep", depth)
	}
	api := &engineAPI{s: s, subject: serviceSubject(sp.Props), depth: depth + 1}
	env := engine.Env{UnitURL: s.cfg.UnitURL, BoxURL: sp.Box.URL, ServiceURL: sp.URL}
	if ba, ok := sp.Box.Access.(*boxAccess); ok {
		api.cell, api.schema = ba.c, ba.box.schema
		env.CellURL, env.CellName, env.BoxName, env.BoxSchema = s.cellURL(ba.c), ba.c.Name, ba.box.name, ba.box.schema
	}
	req := &engine.Request{Method: r.Method, Header: hdr, Query: r.URL.RawQuery, PathInfo: "/" + sp.Path,
		ScriptName: strings.TrimSuffix(sp.URL, "/"), Scheme: scheme, Host: host, Port: port,
		RequestURI: sp.URL + sp.Path + query(r), Body: body,
		Source: func(name string) ([]byte, error) { return sp.ReadSource(ctx, name) },
		API:    api, Env: env}
	lim := engine.DefaultLimits
	if s.cfg.EngineTimeout > 0 {
		lim.Timeout = s.cfg.EngineTimeout
	}
	resp, err := engine.Run(ctx, rt.src, src, req, lim)
	var se *engine.ScriptError
	switch {
	case errors.Is(err, engine.ErrTimeout):
		writeText(w, http.StatusServiceUnavailable, "Script TimeOut")
		return nil
	case errors.Is(err, engine.ErrMemory):
		writeText(w, http.StatusServiceUnavailable, "Script Memory Limit")
		return nil
	case errors.As(err, &se):
		writeText(w, http.StatusInternalServerError, se.Error())
		return nil
	case err != nil:
		return err
	}
	h := w.Header()
	for k, vs := range resp.Header {
		if k == "Transfer-Encoding" || k == "Date" || k == "Content-Length" {
			continue
		}
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(resp.Body)
	}
	return nil
}

func query(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s))
}

// readLimited reads a request body of at most max bytes (PR413-MC-0001).
func readLimited(r *http.Request, max int) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	var b bytes.Buffer
	n, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, int64(max)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, perr.New("PR413-MC-0001")
		}
		return nil, perr.Errorf(perr.Invalid, "reading the request body: %v", err)
	}
	return b.Bytes()[:n], nil
}
