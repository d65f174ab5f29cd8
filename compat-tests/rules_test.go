package compattests

import (
	"net/url"
	"strings"
	"testing"
)

// TestRuleChecks: the cross-field checks of a Rule (Personium
// CellCtlResource.validateRule, apiref 2A0): each bad combination is 400
// PR400-OD-0006 naming the field, and nothing is stored.
func TestRuleChecks(t *testing.T) {
	c := newCell(t, "rules")
	create(t, "box", ctl(c, "Box"), map[string]any{"Name": "b1", "Schema": "https://rules-app.example/"}, nil)
	for _, tc := range []struct {
		name string
		body map[string]any
		ok   bool
	}{
		{"exec outside the cell", map[string]any{"Action": "exec", "TargetUrl": "http://example.com/x"}, false},
		{"exec in the cell", map[string]any{"Action": "exec", "TargetUrl": "personium-localcell:/b1/svc/run"}, true},
		{"exec of a box rule in its box", map[string]any{"Action": "exec", "_Box.Name": "b1", "TargetUrl": "personium-localbox:/svc/run"}, true},
		{"relay without a target", map[string]any{"Action": "relay"}, false},
		{"relay to this unit by http", map[string]any{"Action": "relay", "TargetUrl": unitURL + c + "/x"}, false},
		{"relay to this unit by localunit", map[string]any{"Action": "relay", "TargetUrl": "personium-localunit:/" + c + "/x"}, true},
		{"relay.event to no cell", map[string]any{"Action": "relay.event", "TargetUrl": "foo"}, false},
		{"relay.event to a cell", map[string]any{"Action": "relay.event", "TargetUrl": "https://other.example/cell/"}, true},
		{"relay.data without odata events", map[string]any{"Action": "relay.data", "TargetUrl": "http://x.example/"}, false},
		{"relay.data of odata.create", map[string]any{"Action": "relay.data", "EventType": "odata.create", "TargetUrl": "http://x.example/"}, true},
		{"one-shot timer at no time", map[string]any{"Action": "log", "EventType": "timer.oneshot", "EventObject": "abc"}, false},
		{"external timer", map[string]any{"Action": "log", "EventType": "timer.periodic", "EventObject": "5", "EventExternal": true}, false},
		{"internal object outside the cell", map[string]any{"Action": "log", "EventObject": "http://x/"}, false},
		{"subject that is no URI", map[string]any{"Action": "log", "EventSubject": "not a uri"}, false},
		{"event type with a space", map[string]any{"Action": "log", "EventType": "bad type!"}, false},
		{"no action", map[string]any{"EventType": "x"}, false},
		{"a name with a colon", map[string]any{"Name": "a:b", "Action": "log"}, true},
	} {
		r := do(t, tc.name, "POST", ctl(c, "Rule"), auth(), jsonBody(tc.body))
		if tc.ok {
			r.must(201)
		} else {
			r.wantError(400, "PR400-OD-0006")
		}
	}
	r := do(t, "rules stored", "GET", ctl(c, "Rule")+qs("$inlinecount", "allpages"), auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "6")
	}
}

// TestCtlFormats: Account types, cell URL and schema codes, $links to
// nothing, and the Account–ReceivedMessage read marks (apiref 212, 223,
// 256, 217; Personium CtlSchema).
func TestCtlFormats(t *testing.T) {
	c := newCell(t, "formats")
	for _, typ := range []string{"bogus", "basic basic", "basic "} {
		do(t, "account type "+typ, "POST", ctl(c, "Account"), auth(), jsonBody(map[string]any{"Name": "a-" + randomHex(3), "Type": typ})).
			wantError(400, "PR400-OD-0006")
	}
	create(t, "basic account", ctl(c, "Account"), map[string]any{"Name": "plain", "Type": "basic"}, nil)
	do(t, "ExtCell with ftp", "POST", ctl(c, "ExtCell"), auth(), `{"Url":"ftp://example.com/cell/"}`).wantError(400, "PR400-OD-0049")
	do(t, "Box schema that is no URL", "POST", ctl(c, "Box"), auth(), `{"Name":"bx","Schema":"notauri"}`).wantError(400, "PR400-OD-0050")
	do(t, "link to nothing", "POST", ctl(c, "Account('plain')/$links/_Role"), auth(),
		jsonBody(map[string]string{"uri": ctl(c, "Role('nobody')")})).wantError(400, "PR400-OD-0006")
	r := do(t, "read marks of an account", "GET", ctl(c, "Account('plain')/_ReceivedMessageRead"), auth(), nil)
	if r.ok(200) && len(results(r)) != 0 {
		r.fail("a new account has read marks")
	}
	r = do(t, "account carries the navigation property", "GET", ctl(c, "Account('plain')"), auth(), nil)
	if r.ok(200) {
		r.jsonMatch("d/results/_ReceivedMessageRead/__deferred/uri", `_ReceivedMessageRead$`)
	}

	// OPTIONS with the cell's own token (a CORS app asking what it may do).
	create(t, "account with a password", ctl(c, "Account"), map[string]any{"Name": "me"}, auth("X-Personium-Credential", "password-1"))
	tok := form(t, "token", cellURL(c)+"__token", url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password-1"}}, nil)
	if tok.ok(200) {
		h := hdr{"Authorization": "Bearer " + tok.str("access_token")}
		do(t, "OPTIONS __ctl with the cell's token", "OPTIONS", ctl(c, "Role"), h, nil).must(200)
		do(t, "OPTIONS __message/send with the cell's token", "OPTIONS", cellURL(c)+"__message/send", h, nil).must(200)
		other := newCell(t, "formats2")
		do(t, "OPTIONS of another cell with it", "OPTIONS", ctl(other, "Role"), h, nil).wantError(401, "")
	}
}

// TestBoxURL: {cell}__box as Personium's BoxUrlResource answers it
// (apiref 304): the box of ?schema=, of the token's app, or the main box;
// read on that box decides, and a schema no box has is 403.
func TestBoxURL(t *testing.T) {
	c := newCell(t, "boxurl")
	create(t, "app box", ctl(c, "Box"), map[string]any{"Name": "app", "Schema": "https://boxurl-app.example/"}, nil)
	r := do(t, "the main box", "GET", cellURL(c)+"__box", auth(), nil)
	if r.ok(200) {
		r.json("Url", cellURL(c)+"__/")
		r.header("Location", cellURL(c)+"__/")
	}
	r = do(t, "by schema", "GET", cellURL(c)+"__box"+qs("schema", "https://boxurl-app.example/"), auth(), nil)
	if r.ok(200) {
		r.json("Url", cellURL(c)+"app/")
	}
	do(t, "a schema that is no URL", "GET", cellURL(c)+"__box"+qs("schema", "notaurl"), auth(), nil).wantError(400, "PR400-OD-0029")
	do(t, "a schema no box has", "GET", cellURL(c)+"__box"+qs("schema", "https://nobody.example/"), auth(), nil).wantError(403, "PR403-AU-0002")
	do(t, "anonymous, a schema no box has", "GET", cellURL(c)+"__box"+qs("schema", "https://nobody.example/"), hdr{}, nil).wantError(403, "PR403-AU-0002")
	do(t, "anonymous, the main box", "GET", cellURL(c)+"__box", hdr{}, nil).wantError(401, "PR401-AU-0001")
	do(t, "a bad token, the main box", "GET", cellURL(c)+"__box", hdr{"Authorization": "Bearer AR~nonsense"}, nil).wantError(401, "PR401-AU-0006")
}

// TestLinksMethods: $links with the wrong shape gets Personium's codes
// (ODataLinksResource): a key in a POST, no key in a DELETE or PUT, and
// PUT of a link, which Personium does not implement.
func TestLinksMethods(t *testing.T) {
	c := newCell(t, "linkm")
	create(t, "account", ctl(c, "Account"), map[string]any{"Name": "a1"}, nil)
	create(t, "role", ctl(c, "Role"), map[string]any{"Name": "r1"}, nil)
	uri := jsonBody(map[string]string{"uri": ctl(c, "Role('r1')")})
	do(t, "POST with a key", "POST", ctl(c, "Account('a1')/$links/_Role('r1')"), auth(), uri).wantError(400, "PR400-OD-0010")
	do(t, "DELETE without a key", "DELETE", ctl(c, "Account('a1')/$links/_Role"), auth(), nil).wantError(400, "PR400-OD-0011")
	do(t, "PUT without a key", "PUT", ctl(c, "Account('a1')/$links/_Role"), auth(), uri).wantError(400, "PR400-OD-0011")
	do(t, "link", "POST", ctl(c, "Account('a1')/$links/_Role"), auth(), uri).must(204)
	do(t, "PUT with a key", "PUT", ctl(c, "Account('a1')/$links/_Role('r1')"), auth(), uri).wantError(501, "PR501-MC-0001")
	do(t, "unlink", "DELETE", ctl(c, "Account('a1')/$links/_Role('r1')"), auth(), nil).must(204)
	do(t, "unlink again: no such link", "DELETE", ctl(c, "Account('a1')/$links/_Role('r1')"), auth(), nil).wantError(404, "PR404-OD-0000")
	do(t, "unlink from nothing", "DELETE", ctl(c, "Account('a1')/$links/_Role('nobody')"), auth(), nil).wantError(404, "PR404-OD-0002")
}

// TestODataOptions: OPTIONS on an OData collection's entity set and
// entity answers what may be done there, after a read check.
func TestODataOptions(t *testing.T) {
	box := newBox(t, "odopt")
	mkcol := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL OData collection", "MKCOL", box+"od", auth("Content-Type", "application/xml"), mkcol).must(201)
	create(t, "EntityType", box+"od/$metadata/EntityType", map[string]any{"Name": "Item"}, nil)
	r := do(t, "OPTIONS on the set", "OPTIONS", box+"od/Item", auth(), nil)
	if r.ok(200) && !strings.Contains(r.Header.Get("Allow"), "POST") {
		r.fail("Allow %q", r.Header.Get("Allow"))
	}
	r = do(t, "OPTIONS on an entity", "OPTIONS", box+"od/Item('x')", auth(), nil)
	if r.ok(200) && !strings.Contains(r.Header.Get("Allow"), "MERGE") {
		r.fail("Allow %q", r.Header.Get("Allow"))
	}
	do(t, "OPTIONS with a bad token", "OPTIONS", box+"od/Item", hdr{"Authorization": "Bearer AR~nonsense"}, nil).wantError(401, "")
}

// TestUnknownMemberMessage: PR400-OD-0007 says what Personium's parser
// says (PersoniumJsonFormatParser, AbstractODataResource).
func TestUnknownMemberMessage(t *testing.T) {
	c := newCell(t, "unknownm")
	r := do(t, "an unknown member", "POST", ctl(c, "Role"), auth(), `{"Name":"r","Colour":"red"}`)
	if r.wantError(400, "PR400-OD-0007"); !strings.Contains(r.errorMessage(), "unknown property Colour for Role") {
		r.fail("message %q", r.errorMessage())
	}
	r = do(t, "a management member", "POST", ctl(c, "Role"), auth(), `{"Name":"r","__published":"/Date(0)/"}`)
	if r.wantError(400, "PR400-OD-0007"); !strings.Contains(r.errorMessage(), "__published is management information name. Cannot request.") {
		r.fail("message %q", r.errorMessage())
	}
}
