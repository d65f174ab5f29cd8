package compattests

// Messages between cells (apiref 267-274: __message/send, __message/port,
// __message/received/{id}; Personium MessageResource and
// MessageODataProducer): a message sent by one cell is stored as a
// SentMessage with a Result per destination and as a ReceivedMessage in
// each destination; requests are approved or rejected, and approving
// carries out their relation and role changes.

import (
	"net/url"
	"strings"
	"testing"
)

// TestMessages sends a message and requests between two cells of the unit.
func TestMessages(t *testing.T) {
	requireUnit(t)
	a, b := newCell(t, "msga"), newCell(t, "msgb")
	send := func(step, cell string, body map[string]any) *res {
		t.Helper()
		return do(t, step, "POST", cellURL(cell)+"__message/send", auth(), jsonBody(body))
	}

	r := send("send a message", a, map[string]any{"To": cellURL(b), "Title": "hello", "Body": "from a", "Priority": 2})
	if !r.ok(201) {
		return
	}
	id := r.str("d/results/__id")
	if len(id) != 32 {
		r.fail("__id %q is not 32 characters", id)
	}
	r.header("Location", ctl(a, "SentMessage('"+id+"')"))
	r.json("d/results/__metadata/type", "CellCtl.SentMessage")
	r.json("d/results/Type", "message")
	r.json("d/results/To", cellURL(b))
	r.json("d/results/Result/0/To", cellURL(b))
	r.json("d/results/Result/0/Code", "201")
	r.json("d/results/Result/0/Reason", "Created.")

	r = do(t, "the receiver has it", "GET", ctl(b, "ReceivedMessage('"+id+"')"), auth(), nil)
	if r.ok(200) {
		r.json("d/results/From", cellURL(a))
		r.json("d/results/Status", "unread")
		r.json("d/results/Title", "hello")
		r.json("d/results/Body", "from a")
		r.json("d/results/Priority", float64(2))
		r.json("d/results/MulticastTo", nil)
		r.json("d/results/_Box.Name", nil)
	}
	r = do(t, "the sender lists it", "GET", ctl(a, "SentMessage")+qs("$inlinecount", "allpages"), auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "1")
	}
	received := cellURL(b) + "__message/received/" + id
	do(t, "mark read", "POST", received, auth(), `{"Command":"read"}`).must(204)
	r = do(t, "read", "GET", ctl(b, "ReceivedMessage('"+id+"')"), auth(), nil)
	if r.ok(200) {
		r.json("d/results/Status", "read")
	}
	do(t, "approve a plain message", "POST", received, auth(), `{"Command":"approved"}`).wantError(400, "PR400-OD-0006")
	do(t, "an unknown command", "POST", received, auth(), `{"Command":"burn"}`).wantError(400, "PR400-OD-0006")
	do(t, "not JSON", "POST", received, auth(), `{"Command":`).wantError(400, "PR400-CM-0004")
	do(t, "a key that does not parse", "POST", cellURL(b)+"__message/received/a'b", auth(), `{"Command":"read"}`).wantError(400, "PR400-OD-0004")
	do(t, "an unknown message", "POST", cellURL(b)+"__message/received/"+strings.Repeat("0", 32), auth(), `{"Command":"read"}`).wantError(404, "PR404-OD-0002")
	do(t, "GET on send", "GET", cellURL(a)+"__message/send", auth(), nil).wantError(405, "PR405-MC-0001")

	// A request for a relation and a role: approving it links B's Relation
	// and Role with an ExtCell for A, which it creates.
	create(t, "relation in b", ctl(b, "Relation"), map[string]any{"Name": "friend"}, nil)
	create(t, "app box in b", ctl(b, "Box"), map[string]any{"Name": "app", "Schema": "https://app.example/"}, nil)
	create(t, "role of the app box", ctl(b, "Role"), map[string]any{"Name": "viewer", "_Box.Name": "app"}, nil)
	r = send("send a request", a, map[string]any{"To": cellURL(b), "Type": "request", "Title": "be friends",
		"RequestObjects": []any{
			map[string]any{"RequestType": "relation.add", "Name": "friend", "TargetUrl": cellURL(a)},
			// a role class URL names the box by its schema
			map[string]any{"RequestType": "role.add", "ClassUrl": "https://app.example/__role/__/viewer", "TargetUrl": cellURL(a)},
		}})
	if !r.ok(201) {
		return
	}
	reqID := r.str("d/results/__id")
	r.json("d/results/RequestObjects/0/RequestType", "relation.add")
	r = do(t, "the request as received", "GET", ctl(b, "ReceivedMessage('"+reqID+"')"), auth(), nil)
	if r.ok(200) {
		r.json("d/results/Status", "none")
		r.json("d/results/Type", "request")
		r.json("d/results/RequestObjects/1/RequestType", "role.add")
	}
	do(t, "mark a request read", "POST", cellURL(b)+"__message/received/"+reqID, auth(), `{"Command":"read"}`).wantError(400, "PR400-OD-0006")
	do(t, "approve", "POST", cellURL(b)+"__message/received/"+reqID, auth(), `{"Command":"approved"}`).must(204)
	r = do(t, "the relation's ExtCells", "GET", ctl(b, "Relation('friend')/$links/_ExtCell"), auth(), nil)
	if r.ok(200) && !contains(linkURIs(r), ctl(b, "ExtCell('"+url.QueryEscape(cellURL(a))+"')")) &&
		!contains(linkURIs(r), ctl(b, "ExtCell('"+cellURL(a)+"')")) {
		r.fail("A's ExtCell is not linked to the relation: %v", linkURIs(r))
	}
	r = do(t, "the role's ExtCells", "GET", ctl(b, "Role(Name='viewer',_Box.Name='app')/_ExtCell"), auth(), nil)
	if r.ok(200) {
		r.json("d/results/0/Url", cellURL(a))
	}
	do(t, "approve twice", "POST", cellURL(b)+"__message/received/"+reqID, auth(), `{"Command":"approved"}`).wantError(400, "PR400-OD-0006")

	// The same relation again: already there (PR400-RM-0001), and the
	// message stays unanswered.
	r = send("ask for the relation again", a, map[string]any{"To": cellURL(b), "Type": "request",
		"RequestObjects": []any{map[string]any{"RequestType": "relation.add", "Name": "friend", "TargetUrl": cellURL(a)}}})
	again := r.str("d/results/__id")
	do(t, "approve an existing relation", "POST", cellURL(b)+"__message/received/"+again, auth(), `{"Command":"approved"}`).wantError(400, "PR400-RM-0001")
	do(t, "reject it", "POST", cellURL(b)+"__message/received/"+again, auth(), `{"Command":"rejected"}`).must(204)

	// role.remove takes the role away again.
	r = send("ask to remove the role", a, map[string]any{"To": cellURL(b), "Type": "request",
		"RequestObjects": []any{map[string]any{"RequestType": "role.remove", "ClassUrl": "https://app.example/__role/__/viewer", "TargetUrl": cellURL(a)}}})
	do(t, "approve the removal", "POST", cellURL(b)+"__message/received/"+r.str("d/results/__id"), auth(), `{"Command":"approved"}`).must(204)
	r = do(t, "the role's ExtCells after the removal", "GET", ctl(b, "Role(Name='viewer',_Box.Name='app')/_ExtCell")+qs("$inlinecount", "allpages"), auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "0")
	}
	// A request for a relation B does not have: PR409-RM-0002, nothing done.
	r = send("ask for a missing relation", a, map[string]any{"To": cellURL(b), "Type": "request",
		"RequestObjects": []any{map[string]any{"RequestType": "relation.add", "Name": "enemy", "TargetUrl": cellURL(a)}}})
	do(t, "approve a missing relation", "POST", cellURL(b)+"__message/received/"+r.str("d/results/__id"), auth(), `{"Command":"approved"}`).wantError(409, "PR409-RM-0002")

	// ToRelation: every ExtCell linked to A's relation gets the message.
	create(t, "relation in a", ctl(a, "Relation"), map[string]any{"Name": "pals"}, nil)
	create(t, "ExtCell b in a", ctl(a, "ExtCell"), map[string]any{"Url": cellURL(b)}, nil)
	do(t, "link it", "POST", ctl(a, "Relation('pals')/$links/_ExtCell"), auth(),
		jsonBody(map[string]string{"uri": ctl(a, "ExtCell('"+url.QueryEscape(cellURL(b))+"')")})).must(204)
	r = send("send to a relation", a, map[string]any{"ToRelation": "pals", "Title": "to my pals"})
	if r.ok(201) {
		r.json("d/results/Result/0/To", cellURL(b))
		r.json("d/results/Result/0/Code", "201")
		do(t, "delivered through the relation", "GET", ctl(b, "ReceivedMessage('"+r.str("d/results/__id")+"')"), auth(), nil).must(200)
	}
	// A destination that is no cell gets its Result, not a failed send.
	r = send("send to a cell that does not exist", a, map[string]any{"To": unitURL + "nosuchcell-" + randomHex(4) + "/"})
	if r.ok(201) {
		r.json("d/results/Result/0/Code", "404")
	}
}

// TestMessageBadInput: bad bodies are refused with Personium's codes and
// store nothing.
func TestMessageBadInput(t *testing.T) {
	requireUnit(t)
	a, b := newCell(t, "msgbad"), newCell(t, "msgbad2")
	create(t, "empty relation", ctl(a, "Relation"), map[string]any{"Name": "lonely"}, nil)
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"no destination", `{"Title":"x"}`, 400, "PR400-OD-0006"},
		{"not JSON", `{"To":`, 400, "PR400-OD-0001"},
		{"unknown member", `{"To":"` + cellURL(b) + `","Colour":"red"}`, 400, "PR400-OD-0007"},
		{"bad type", `{"To":"` + cellURL(b) + `","Type":"shout"}`, 400, "PR400-OD-0006"},
		{"priority 9", `{"To":"` + cellURL(b) + `","Priority":9}`, 400, "PR400-OD-0006"},
		{"long title", `{"To":"` + cellURL(b) + `","Title":"` + strings.Repeat("t", 257) + `"}`, 400, "PR400-OD-0006"},
		{"long body", `{"To":"` + cellURL(b) + `","Body":"` + strings.Repeat("b", 64*1024+1) + `"}`, 400, "PR400-OD-0006"},
		{"bad InReplyTo", `{"To":"` + cellURL(b) + `","InReplyTo":"short"}`, 400, "PR400-OD-0006"},
		{"ftp destination", `{"To":"ftp://example.com/cell/"}`, 400, "PR400-OD-0006"},
		{"empty in a list", `{"To":"` + cellURL(b) + `,"}`, 400, "PR400-OD-0006"},
		{"no trailing slash", `{"To":"` + strings.TrimSuffix(cellURL(b), "/") + `"}`, 400, "PR400-OD-0006"},
		{"bad relation name", `{"ToRelation":"_bad"}`, 400, "PR400-OD-0006"},
		{"request without objects", `{"To":"` + cellURL(b) + `","Type":"request"}`, 400, "PR400-OD-0006"},
		{"request, unknown type", `{"To":"` + cellURL(b) + `","Type":"request","RequestObjects":[{"RequestType":"cake.add"}]}`, 400, "PR400-OD-0006"},
		{"request, name and class", `{"To":"` + cellURL(b) + `","Type":"request","RequestObjects":[{"RequestType":"relation.add","Name":"r","ClassUrl":"` + cellURL(a) + `__relation/__/r","TargetUrl":"` + cellURL(a) + `"}]}`, 400, "PR400-OD-0006"},
		{"request, no target", `{"To":"` + cellURL(b) + `","Type":"request","RequestObjects":[{"RequestType":"role.add","Name":"r"}]}`, 400, "PR400-OD-0006"},
		{"unknown relation", `{"ToRelation":"nobody"}`, 400, "PR400-SM-0001"},
		{"relation without ExtCells", `{"ToRelation":"lonely"}`, 400, "PR400-SM-0002"},
		{"box bound without an app", `{"To":"` + cellURL(b) + `","BoxBound":true}`, 400, "PR400-SM-0004"},
	} {
		do(t, c.name, "POST", cellURL(a)+"__message/send", auth(), c.body).wantError(c.status, c.code)
	}
	for _, cell := range []string{a, b} {
		for _, set := range []string{"SentMessage", "ReceivedMessage"} {
			r := do(t, "nothing stored in "+cell, "GET", ctl(cell, set)+qs("$inlinecount", "allpages"), auth(), nil)
			if r.ok(200) {
				r.json("d/__count", "0")
			}
		}
	}
	do(t, "messages are not created through __ctl", "POST", ctl(a, "SentMessage"), auth(), `{"Type":"message","To":"`+cellURL(b)+`"}`).wantError(405, "PR405-MC-0001")
	do(t, "nor with an incomplete body, nor anonymously", "POST", ctl(a, "ReceivedMessage"), hdr{}, `{}`).wantError(405, "PR405-MC-0001")
	create(t, "a box", ctl(a, "Box"), map[string]any{"Name": "mb"}, nil)
	do(t, "nor through a navigation property", "POST", ctl(a, "Box('mb')/_SentMessage"), auth(), `{"Type":"message","To":"`+cellURL(b)+`"}`).wantError(405, "PR405-MC-0001")
}

// TestMessagePortAuth: only the sending cell's own transcell token, aimed
// at the receiver, may deliver; nobody else can plant messages.
func TestMessagePortAuth(t *testing.T) {
	requireUnit(t)
	a, b := newCell(t, "msgport"), newCell(t, "msgport2")
	port := cellURL(b) + "__message/port"
	body := `{"__id":"` + strings.Repeat("a", 32) + `","From":"` + cellURL(a) + `","Type":"message","Status":"unread","Title":"t","Body":"b","Priority":3}`
	do(t, "anonymous", "POST", port, hdr{"Accept": "application/json"}, body).wantError(401, "PR401-AU-0001")
	do(t, "the unit master", "POST", port, auth(), body).wantError(403, "PR403-AU-0002")

	create(t, "account in a", ctl(a, "Account"), map[string]any{"Name": "me"}, auth("X-Personium-Credential", "password-1"))
	tok := form(t, "a transcell token of an account of a", cellURL(a)+"__token",
		url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password-1"}, "p_target": {cellURL(b)}}, nil)
	if !tok.ok(200) {
		return
	}
	bearer := hdr{"Authorization": "Bearer " + tok.str("access_token"), "Accept": "application/json"}
	do(t, "an account's transcell token", "POST", port, bearer, body).wantError(403, "PR403-AU-0002")
	local := form(t, "a token of b's own", cellURL(a)+"__token",
		url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password-1"}}, nil)
	if local.ok(200) {
		do(t, "a local token", "POST", port, hdr{"Authorization": "Bearer " + local.str("access_token")}, body).wantError(403, "PR403-AU-0002")
	}
	r := do(t, "nothing planted", "GET", ctl(b, "ReceivedMessage")+qs("$inlinecount", "allpages"), auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "0")
	}
}
