package unit

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/engine"
	"github.com/personium-go/personium/internal/perr"
)

// serviceSubject is the subject attribute of a service collection's
// p:service property: the account _p.as('serviceSubject') acts as.
func serviceSubject(props []dav.Property) string {
	for _, p := range props {
		if p.Name != dav.PropService {
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
	name string    // URI template, e.g. "users/{id}" or "{id: [0-9]+}/view"
	src  string    // script file in __src
	segs []segment // name, parsed
}

// segment is one segment of a route template: a literal, or a variable
// matching any one segment, or one that its pattern matches wholly.
type segment struct {
	literal string
	isVar   bool
	pattern *regexp.Regexp // nil: any non-empty segment
}

// routes reads the routes of a service collection's p:service property
// (those PROPPATCH let through; a bad one is skipped).
func routes(props []dav.Property) []route {
	for _, p := range props {
		if p.Name != dav.PropService {
			continue
		}
		key := string(p.InnerXML)
		routeCache.Lock()
		rs, ok := routeCache.m[key]
		routeCache.Unlock()
		if !ok {
			rs, _ = parseRoutes(p)
			routeCache.Lock()
			if routeCache.m == nil || len(routeCache.m) >= maxCachedRoutes {
				routeCache.m = map[string][]route{}
			}
			routeCache.m[key] = rs
			routeCache.Unlock()
		}
		return rs
	}
	return nil
}

// routeCache keeps parsed routes by the p:service property's text, so
// that a call does not decode the XML and compile the templates'
// regular expressions again. Bounded: when full it starts again empty.
var routeCache struct {
	sync.Mutex
	m map[string][]route
}

const maxCachedRoutes = 1024

// checkService vets a p:service property before PROPPATCH stores it:
// every p:path needs a template (name) and a script file (src, a plain
// file name); templates are segments, variables {name} or {name: regexp}.
//
// Naming a subject account lets the service's scripts act as that
// account (_p.as('serviceSubject')): beyond Personium, which asks only
// write-properties on the collection, the caller must also hold the cell
// privilege auth (manage accounts), without which write-properties on
// one collection would be a way to act as any account of the cell.
func (s *Server) checkService(ctx context.Context, a dav.Access, p dav.Property) error {
	if _, err := parseRoutes(p); err != nil {
		return err
	}
	if serviceSubject([]dav.Property{p}) == "" {
		return nil
	}
	ba, ok := a.(*boxAccess)
	if !ok {
		return perr.New("PR403-AU-0002")
	}
	return s.cellPriv(ctx, ba.c, ba.p, acl.CellAuth)
}

func parseRoutes(p dav.Property) ([]route, error) {
	var out []route
	d := xml.NewDecoder(bytes.NewReader(p.InnerXML))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, perr.New("PR400-SC-0002", "", err.Error())
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
		if r.name == "" || r.src == "" {
			return out, perr.New("PR400-SC-0002", r.name, "p:path needs name and src")
		}
		if strings.ContainsAny(r.src, "/\\") || r.src == "." || r.src == ".." {
			return out, perr.New("PR400-SC-0002", r.name, "src must name a file in __src")
		}
		if r.segs, err = parseTemplate(r.name); err != nil {
			return out, perr.New("PR400-SC-0002", r.name, err.Error())
		}
		out = append(out, r)
	}
}

// maxTemplateBytes bounds a route template (and so its patterns).
const maxTemplateBytes = 1024

func parseTemplate(name string) ([]segment, error) {
	if len(name) > maxTemplateBytes {
		return nil, errors.New("template too long")
	}
	var segs []segment
	for _, part := range strings.Split(strings.Trim(name, "/"), "/") {
		if part == "" {
			return nil, errors.New("empty segment")
		}
		if !strings.HasPrefix(part, "{") {
			if strings.ContainsAny(part, "{}") {
				return nil, errors.New("braces inside a literal segment")
			}
			segs = append(segs, segment{literal: part})
			continue
		}
		if !strings.HasSuffix(part, "}") || strings.Count(part, "{") != 1 && !strings.Contains(part, ":") {
			return nil, errors.New("unbalanced braces in " + part)
		}
		inner := part[1 : len(part)-1]
		v, pat, hasPat := strings.Cut(inner, ":")
		v = strings.TrimSpace(v)
		if v == "" || strings.ContainsAny(v, "{} ") {
			return nil, errors.New("bad variable name in " + part)
		}
		seg := segment{isVar: true}
		if hasPat {
			re, err := regexp.Compile("^(?:" + strings.TrimSpace(pat) + ")$")
			if err != nil {
				return nil, fmt.Errorf("bad pattern in %s: %v", part, err)
			}
			seg.pattern = re
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// match reports whether path (below the collection) matches the route:
// literal segments equal, variables one segment (matching their
// pattern); a template also matches longer paths below it (as
// Personium's engine passes the rest on in pathInfo).
func (r route) match(path string) bool {
	psegs := strings.Split(strings.Trim(path, "/"), "/")
	if len(psegs) < len(r.segs) {
		return false
	}
	for i, t := range r.segs {
		switch {
		case !t.isVar:
			if t.literal != psegs[i] {
				return false
			}
		case psegs[i] == "":
			return false
		case t.pattern != nil && !t.pattern.MatchString(psegs[i]):
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
	// No route, or no script: Personium's engine answers this text.
	const noScript = "404 Not Found (User Script)"
	if rt == nil {
		writeText(w, http.StatusNotFound, noScript)
		return nil
	}
	src, err := sp.ReadSource(ctx, rt.src)
	if perr.Is(err, perr.NotExist) {
		writeText(w, http.StatusNotFound, noScript)
		return nil
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
	api := &engineAPI{s: s, subject: serviceSubject(sp.Props), depth: depth + 1, remote: r.RemoteAddr}
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
	if s.cfg.EngineMemory > 0 {
		lim.MaxHeapGrowth = s.cfg.EngineMemory
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
