package unit_test

import (
	"strings"
	"testing"
)

// TestMessageBetweenUnits: a message to a cell of another unit goes over
// HTTP with a transcell token the receiving unit verifies against the
// sending unit's certificate; a unit that does not trust the sender
// refuses it, and the sender's Result says so.
func TestMessageBetweenUnits(t *testing.T) {
	one, two := newAuthEnv(t), newAuthEnv(t)
	one.must(201, "POST", "__ctl/Cell", `{"Name":"alice"}`)
	two.must(201, "POST", "__ctl/Cell", `{"Name":"bob"}`)
	bob := two.url + "bob/"

	// Before unit two trusts unit one's key, the delivery is refused.
	r := one.must(201, "POST", "alice/__message/send", `{"To":"`+bob+`","Title":"hi"}`)
	res := r.json(t)["d"].(map[string]any)["results"].(map[string]any)
	result := res["Result"].([]any)[0].(map[string]any)
	if result["To"] != bob || result["Code"] != "401" {
		t.Errorf("Result without trust: %v, want 401 from %s", result, bob)
	}

	two.trust.Certs = append(two.trust.Certs, one.key.Cert)
	r = one.must(201, "POST", "alice/__message/send", `{"To":"`+bob+`","Title":"hi","Body":"across units","Priority":5}`)
	res = r.json(t)["d"].(map[string]any)["results"].(map[string]any)
	result = res["Result"].([]any)[0].(map[string]any)
	if result["Code"] != "201" || result["Reason"] != "Created." {
		t.Fatalf("Result with trust: %v", result)
	}
	id := res["__id"].(string)
	got := two.must(200, "GET", "bob/__ctl/ReceivedMessage('"+id+"')", "").json(t)["d"].(map[string]any)["results"].(map[string]any)
	if got["From"] != one.url+"alice/" || got["Body"] != "across units" || got["Priority"] != float64(5) || got["Status"] != "unread" {
		t.Errorf("received: %v", got)
	}
	// A request across units: approving it links bob's relation to an
	// ExtCell for alice.
	two.must(201, "POST", "bob/__ctl/Relation", `{"Name":"friend"}`)
	r = one.must(201, "POST", "alice/__message/send", `{"To":"`+bob+`","Type":"request","RequestObjects":[`+
		`{"RequestType":"relation.add","Name":"friend","TargetUrl":"`+one.url+`alice/"}]}`)
	id = r.json(t)["d"].(map[string]any)["results"].(map[string]any)["__id"].(string)
	two.must(204, "POST", "bob/__message/received/"+id, `{"Command":"approved"}`)
	links := two.must(200, "GET", "bob/__ctl/Relation('friend')/_ExtCell", "")
	if !strings.Contains(string(links.body), `"Url":"`+one.url+`alice/"`) {
		t.Errorf("bob's friends: %s", links.body)
	}
	// A destination that does not answer: its Result says so, the send
	// itself succeeds and is stored.
	r = one.must(201, "POST", "alice/__message/send", `{"To":"http://127.0.0.1:1/nobody/"}`)
	res = r.json(t)["d"].(map[string]any)["results"].(map[string]any)
	if result := res["Result"].([]any)[0].(map[string]any); result["Code"] != "503" {
		t.Errorf("unreachable destination: %v", result)
	}
}
