package unit

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/perr"
)

// FuzzMessageBody: any body of __message/send or /port is accepted or
// refused with a Personium error; nothing panics, and an accepted body
// has a known Type and a Priority of 1 to 5.
func FuzzMessageBody(f *testing.F) {
	for _, s := range []string{
		`{"To":"https://u.example/c/","Title":"t","Body":"b","Priority":2}`,
		`{"To":"https://u.example/c/","Type":"request","RequestObjects":[{"RequestType":"relation.add","Name":"r","TargetUrl":"https://u.example/d/"}]}`,
		`{"Type":"request","RequestObjects":[null]}`,
		`{"Type":"request","RequestObjects":[{"RequestType":"rule.add","Action":"log"}]}`,
		`{"__id":"0123456789abcdef0123456789abcdef","From":"https://u.example/c/","Status":"unread"}`,
		`{"RequestObjects":{"a":1}}`, `[]`, `null`, `{"Priority":1e400}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, port bool) {
		typ := sendBody
		if port {
			typ = portBody
		}
		r := httptest.NewRequest("POST", "/c/__message/send", strings.NewReader(body))
		m, err := messageBody(r, typ)
		if err != nil {
			if perr.CodeOf(err) == "" {
				t.Fatalf("%q: error without a Personium code: %v", body, err)
			}
			return
		}
		if typ := m["Type"]; typ != messageTypeMessage && typ != messageTypeRequest {
			t.Fatalf("%q: accepted with Type %v", body, typ)
		}
		if p, _ := m["Priority"].(int64); p < 1 || p > 5 {
			t.Fatalf("%q: accepted with Priority %v", body, m["Priority"])
		}
	})
}
