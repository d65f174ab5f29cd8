package odata

import (
	"net/url"
	"strings"

	"github.com/personium-go/personium/internal/perr"
)

// resource is a parsed resource path below a service root:
//
//	""                              service document
//	"$metadata"                     EDMX
//	"Set"                           entity set
//	"Set(key)"                      entity
//	"Set(key)/_Nav"                 related entities
//	"Set(key)/$links/_Nav"          links
//	"Set(key)/$links/_Nav(key2)"    one link
type resource struct {
	metadata bool
	set      string
	key      KeyPredicate
	hasKey   bool
	nav      string
	links    bool
	navKey   KeyPredicate
	hasNav   bool // navKey present
	prop     string
}

// splitSetKey splits "Set(key)" into "Set" and "key" (the text inside the
// parentheses), honouring quotes so that keys may contain '/' and ')'.
// rest is what follows the closing parenthesis.
func splitSetKey(s string) (set, key string, hasKey bool, rest string, err error) {
	i := strings.IndexAny(s, "(/")
	if i < 0 {
		return s, "", false, "", nil
	}
	if s[i] == '/' {
		return s[:i], "", false, s[i:], nil
	}
	set = s[:i]
	inQuote := false
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '\'':
			if inQuote && j+1 < len(s) && s[j+1] == '\'' {
				j++
				continue
			}
			inQuote = !inQuote
		case c == ')' && !inQuote:
			return set, s[i+1 : j], true, s[j+1:], nil
		}
	}
	return "", "", false, "", perr.New("PR400-OD-0004")
}

// parseResource parses a decoded path below the service root.
func parseResource(path string) (*resource, error) {
	r := &resource{}
	if path == "" {
		return r, nil
	}
	if path == "$metadata" {
		r.metadata = true
		return r, nil
	}
	set, key, hasKey, rest, err := splitSetKey(path)
	if err != nil {
		return nil, err
	}
	if set == "" {
		return nil, perr.New("PR404-MC-0001")
	}
	r.set = set
	if hasKey {
		r.hasKey = true
		if r.key, err = ParseKey(key); err != nil {
			return nil, err
		}
	}
	if rest == "" || rest == "/" {
		return r, nil
	}
	if !hasKey {
		return nil, perr.New("PR404-MC-0001")
	}
	rest = strings.TrimPrefix(rest, "/")
	if after, ok := strings.CutPrefix(rest, "$links/"); ok {
		r.links = true
		rest = after
	}
	nav, nkey, nhas, tail, err := splitSetKey(rest)
	if err != nil {
		return nil, err
	}
	if tail != "" && tail != "/" || nav == "" {
		return nil, perr.New("PR404-MC-0001")
	}
	if !strings.HasPrefix(nav, "_") {
		if r.links || nhas {
			return nil, perr.New("PR404-OD-0003")
		}
		r.prop = nav
		return r, nil
	}
	r.nav = nav
	if nhas {
		if !r.links {
			return nil, perr.New("PR404-MC-0001")
		}
		r.hasNav = true
		if r.navKey, err = ParseKey(nkey); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// parseEntityURI takes the "uri" of a $links body and returns the entity
// set and key it names. base is the service root URL; other absolute
// forms are accepted when they contain the same service path.
func parseEntityURI(uri, base string) (string, KeyPredicate, error) {
	rest, ok := strings.CutPrefix(uri, base)
	if !ok {
		// Accept any scheme/host spelling of the same service path.
		svc := base
		if i := strings.Index(base, "://"); i >= 0 {
			if j := strings.IndexByte(base[i+3:], '/'); j >= 0 {
				svc = base[i+3+j:]
			}
		}
		if k := strings.Index(uri, svc); k >= 0 && svc != "/" {
			rest = uri[k+len(svc):]
		} else {
			return "", nil, perr.New("PR400-OD-0006", "uri")
		}
	}
	if dec, err := url.PathUnescape(rest); err == nil {
		rest = dec
	}
	set, key, hasKey, tail, err := splitSetKey(rest)
	if err != nil || !hasKey || (tail != "" && tail != "/") {
		return "", nil, perr.New("PR400-OD-0006", "uri")
	}
	kp, err := ParseKey(key)
	if err != nil {
		return "", nil, err
	}
	return set, kp, nil
}

// AllowedMethods returns the methods the resource at path (below a
// service root) answers, as an Allow header value.
func AllowedMethods(path string) string {
	res, err := parseResource(path)
	switch {
	case err != nil || res.set == "":
		return "OPTIONS, GET"
	case !res.hasKey:
		return "OPTIONS, GET, POST"
	case res.links && res.hasNav:
		return "OPTIONS, DELETE"
	case res.nav != "":
		return "OPTIONS, GET, POST"
	}
	return "OPTIONS, GET, PUT, MERGE, DELETE"
}
