package unit

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/perr"
)

// maxEventField bounds Type, Object and Info of an event (Personium:
// 51,200 bytes each).
const maxEventField = 51200

var requestKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// handleEvent answers POST {cell}__event (reference §9.5): an external
// event {Type, Object, Info}, privilege event, 200 when accepted.
//
// Not done yet: rules, the event log files (__log) and the WebSocket
// event bus do not exist in this server, so an accepted event is only
// validated and written to the server's log.
func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cellEndpoint(w, r, http.MethodPost)
	if !ok {
		return
	}
	p, err := s.cellPrincipal(r, c)
	if err == nil {
		err = s.cellPriv(r.Context(), c, p, acl.CellEvent)
	}
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
		return
	}
	key := r.Header.Get("X-Personium-RequestKey")
	if key != "" && !requestKey.MatchString(key) {
		perr.Write(w, r, perr.New("PR400-EV-0002"))
		return
	}
	body, err := readLimited(r, 4*maxEventField)
	if err != nil {
		perr.Write(w, r, err)
		return
	}
	var ev map[string]any
	if err := json.Unmarshal(body, &ev); err != nil || ev == nil {
		perr.Write(w, r, perr.New("PR400-EV-0001"))
		return
	}
	fields := map[string]string{}
	for _, f := range []string{"Type", "Object", "Info"} {
		v, has := ev[f]
		if !has || v == nil {
			perr.Write(w, r, perr.New("PR400-EV-0003", f))
			return
		}
		str, isStr := v.(string)
		if !isStr || len(str) > maxEventField {
			perr.Write(w, r, perr.New("PR400-EV-0004", f))
			return
		}
		fields[f] = str
	}
	s.log.Info("event", "cell", c.Name, "subject", p.Subject, "schema", p.Schema, "external", true,
		"type", fields["Type"], "object", fields["Object"], "info", fields["Info"], "requestKey", key)
	w.WriteHeader(http.StatusOK)
}
