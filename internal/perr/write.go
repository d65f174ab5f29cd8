package perr

import (
	"encoding/json"
	"encoding/xml"
	"log/slog"
	"net/http"
	"strings"
)

type body struct {
	Code    string  `json:"code"`
	Message message `json:"message"`
}

type message struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}

// Write writes err as a Personium error response: the status of its code,
// and a JSON body (XML when the request prefers application/xml).
// Errors without a code are replaced by Public(err) so that causes never
// leak to the client.
//
// Server-side failures (5xx) are logged with their cause through
// slog.Default: the client sees the code only, the operator the reason.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	e := Public(err)
	if e.Status() >= 500 {
		path := ""
		if r != nil {
			path = r.URL.Path
		}
		slog.Default().Error("request failed", "code", e.Code, "path", path, "err", err)
	}
	msg := e.Message()
	h := w.Header()
	h.Del("ETag")
	h.Del("Content-Length")
	if wantsXML(r) {
		h.Set("Content-Type", "application/xml")
		w.WriteHeader(e.Status())
		var b strings.Builder
		b.WriteString(xml.Header)
		b.WriteString(`<error xmlns="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><code>`)
		xml.EscapeText(&b, []byte(e.Code))
		b.WriteString(`</code><message lang="en">`)
		xml.EscapeText(&b, []byte(msg))
		b.WriteString("</message></error>")
		_, _ = w.Write([]byte(b.String()))
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.Status())
	_ = json.NewEncoder(w).Encode(body{Code: e.Code, Message: message{Lang: "en", Value: msg}})
}

// wantsXML reports whether the client asked for XML and not JSON.
func wantsXML(r *http.Request) bool {
	if r == nil {
		return false
	}
	if f := r.URL.Query().Get("$format"); f == "atom" || f == "xml" {
		return true
	}
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/xml") && !strings.Contains(a, "json")
}
