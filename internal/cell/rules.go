package cell

import (
	"context"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// Rule checks that span several properties, as Personium's
// CellCtlResource.validateRule makes them (a Rule is stored, not run:
// this server has no event bus yet).

// uriMaxLength bounds the URLs of a Rule (Personium URI_MAX_LENGTH).
const uriMaxLength = 1024

// maxEventTime is the latest timer time, in Unix ms (9999-12-31).
const maxEventTime = 253402300799999

// validURI accepts what Personium's "uri" format does: an http, https,
// urn or personium-localunit URI of at most 1,024 characters.
func validURI(field string) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		u, err := url.Parse(s)
		if err != nil || len(s) > uriMaxLength || strings.ContainsAny(s, " \t\r\n") {
			return perr.New("PR400-OD-0006", field)
		}
		switch u.Scheme {
		case "http", "https", "urn", "personium-localunit":
			return nil
		}
		return perr.New("PR400-OD-0006", field)
	}
}

// schemeURL tells whether s is a URL of one of the schemes, normalized
// (no "." or ".." segments) and at most 1,024 characters long.
func schemeURL(s string, schemes ...string) bool {
	if s == "" || len(s) > uriMaxLength || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	ok := false
	for _, sc := range schemes {
		ok = ok || u.Scheme == sc
	}
	if !ok {
		return false
	}
	p := u.Path
	if p == "" {
		p = u.Opaque
	}
	if p != "" && strings.HasPrefix(p, "/") {
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		if clean != p {
			return false
		}
	}
	return true
}

// checkRule is the Rule entity set's Check hook: the cross-field rules of
// Personium's validateRule, each failure PR400-OD-0006 naming the field.
func (m *Manager) checkRule(_ context.Context, _, e *odata.Entity) error {
	str := func(k string) string { v, _ := e.Props[k].(string); return v }
	bad := func(k string) error { return perr.New("PR400-OD-0006", k) }
	external, _ := e.Props["EventExternal"].(bool)
	subject, typ, object, action, target := str("EventSubject"), str("EventType"), str("EventObject"), str("Action"), str("TargetUrl")
	boxBound := e.Props[boxRef] != nil
	if action == "" {
		return bad("Action")
	}
	// URLs of this unit are written personium-localunit:.
	if m.UnitURL != "" {
		if subject != "" && strings.HasPrefix(subject, m.UnitURL) {
			return bad("EventSubject")
		}
		if target != "" && strings.HasPrefix(target, m.UnitURL) {
			return bad("TargetUrl")
		}
	}
	timer := typ == "timer.periodic" || typ == "timer.oneshot"
	if timer && external {
		return bad("EventExternal")
	}
	if action == "relay.data" && typ != "odata.create" && typ != "odata.update" && typ != "odata.merge" {
		return bad("EventType")
	}
	switch {
	case timer:
		n, err := strconv.ParseInt(object, 10, 64)
		if err != nil || n <= 0 || n > maxEventTime {
			return bad("EventObject")
		}
	case boxBound:
		if !external && object != "" && !schemeURL(object, "personium-localbox") &&
			!(schemeURL(object, "personium-localcell") && strings.HasPrefix(object, "personium-localcell:/__")) {
			return bad("EventObject")
		}
	default:
		if !external && object != "" && !schemeURL(object, "personium-localcell") {
			return bad("EventObject")
		}
	}
	switch action {
	case "exec", "relay", "relay.event", "relay.data":
		if target == "" {
			return bad("TargetUrl")
		}
	}
	switch action {
	case "exec":
		local := "personium-localcell"
		if boxBound {
			local = "personium-localbox"
		}
		if !schemeURL(target, local) {
			return bad("TargetUrl")
		}
	case "relay", "relay.data":
		schemes := []string{"http", "https", "personium-localunit", "personium-localcell"}
		if boxBound {
			schemes = append(schemes, "personium-localbox")
		}
		if !schemeURL(target, schemes...) {
			return bad("TargetUrl")
		}
	case "relay.event":
		if target != "personium-localcell:/" && !(schemeURL(target, "http", "https", "personium-localunit") && strings.HasSuffix(target, "/")) {
			return bad("TargetUrl")
		}
	}
	return nil
}

// checkAccountType is part of the Account entity set's Check hook: Type
// is "basic", or types of authentication plugins ("oidc:google"…), each
// once, separated by spaces (Personium AuthUtils.validateAccountType;
// this server has no plugins, so only the oidc: family is recognised).
func checkAccountType(e *odata.Entity) error {
	t, _ := e.Props["Type"].(string)
	seen := map[string]bool{}
	for _, part := range strings.Split(t, " ") {
		if part != "basic" && !strings.HasPrefix(part, "oidc:") || part == "oidc:" || seen[part] {
			return perr.New("PR400-OD-0006", "Type")
		}
		seen[part] = true
	}
	return nil
}
