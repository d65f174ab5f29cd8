package unit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/auth"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// Messages between cells (reference §9.1; Personium MessageResource,
// ODataSentMessageResource, ODataReceivedMessageResource and
// MessageODataProducer): POST {cell}__message/send stores a SentMessage
// and delivers the message to every destination's __message/port with a
// transcell token the sending cell issues to itself; the port stores a
// ReceivedMessage; POST {cell}__message/received/{id} marks a message
// read or unread, or approves or rejects a request, carrying out what it
// asks (relations, roles and rules given to the sending cell).

const (
	maxMessageDestinations = 1000 // Personium MAX_SENT_NUM
	maxMessageRequestBody  = 1 << 20
	// messageDeliveryTimeout bounds the delivery to one destination.
	messageDeliveryTimeout = 30 * time.Second
	// messageTokenLife is the lifetime of the token a delivery carries.
	messageTokenLife = 10 * time.Minute

	messageTypeMessage = "message"
	messageTypeRequest = "request"
)

var (
	messageIDRE = regexp.MustCompile(`^.{32}$`)
	// classURL is a relation or role class URL: {schema}__relation/__/{name}
	// or {schema}__role/__/{name} (Personium PATTERN_*_CLASS_URL).
	classURL = regexp.MustCompile(`^(.+)__(relation|role)/__/([^/]+)/?$`)
)

// messageClient delivers messages to other units. It follows no
// redirects: a destination is the URL the sender named.
var messageClient = &http.Client{
	Timeout:       messageDeliveryTimeout,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// The request bodies of send and port, checked as entity bodies.
var (
	messageProps = func() []*odata.Property {
		s := func(name string) *odata.Property {
			return &odata.Property{Name: name, Type: odata.EdmString, Nullable: true}
		}
		return []*odata.Property{s("InReplyTo"), s("Type"), s("Title"),
			{Name: "Body", Type: odata.EdmString, Nullable: true, MaxLength: cell.MaxMessageBody},
			{Name: "Priority", Type: odata.EdmInt32, Nullable: true},
			{Name: "RequestObjects", Type: "Message_Request_Object", Nullable: true, List: true,
				Complex: []*odata.Property{s("RequestType"), s("Name"), s("TargetUrl"), s("ClassUrl"),
					s("EventSubject"), s("EventType"), s("EventObject"), s("EventInfo"), s("Action")}}}
	}
	sendBody = &odata.EntityType{Name: "SentMessage", Keys: []string{odata.MemberID}, HasID: true,
		Props: append(messageProps(), &odata.Property{Name: "BoxBound", Type: odata.EdmBoolean, Nullable: true},
			&odata.Property{Name: "To", Type: odata.EdmString, Nullable: true, MaxLength: 1 << 20},
			&odata.Property{Name: "ToRelation", Type: odata.EdmString, Nullable: true})}
	portBody = &odata.EntityType{Name: "ReceivedMessage", Keys: []string{odata.MemberID}, HasID: true,
		Props: append(messageProps(), &odata.Property{Name: "Schema", Type: odata.EdmString, Nullable: true},
			&odata.Property{Name: "From", Type: odata.EdmString, Nullable: true},
			&odata.Property{Name: "MulticastTo", Type: odata.EdmString, Nullable: true, MaxLength: 1 << 20},
			&odata.Property{Name: "Status", Type: odata.EdmString, Nullable: true})}
)

// handleMessage routes POST {cell}__message/send, /port and
// /received/{id}.
func (s *Server) handleMessage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cellEndpoint(w, r, http.MethodPost)
	if !ok {
		return
	}
	var err error
	switch op := mux.Vars(r)["op"]; {
	case op == "send":
		err = s.messageSend(w, r, c)
	case op == "port":
		err = s.messagePort(w, r, c)
	case strings.HasPrefix(op, "received/"):
		err = s.messageReceived(w, r, c, strings.TrimPrefix(op, "received/"))
	default:
		err = perr.New("PR404-MC-0001")
	}
	if err != nil {
		s.writeError(w, r, s.cellURL(c), err)
	}
}

// messageBody reads and checks a send or port body.
func messageBody(r *http.Request, t *odata.EntityType) (map[string]any, error) {
	data, err := readLimited(r, maxMessageRequestBody)
	if err != nil {
		return nil, err
	}
	m, err := odata.DecodeEntity(t, data)
	if err != nil {
		return nil, err
	}
	if _, ok := m["Type"]; !ok || m["Type"] == nil {
		m["Type"] = messageTypeMessage
	}
	if m["Title"] == nil {
		m["Title"] = ""
	}
	if m["Body"] == nil {
		m["Body"] = ""
	}
	if m["Priority"] == nil {
		m["Priority"] = int64(3)
	}
	if id, ok := m[odata.MemberID].(string); ok && !messageIDRE.MatchString(id) {
		return nil, perr.New("PR400-OD-0006", odata.MemberID)
	}
	if v, ok := m["InReplyTo"].(string); ok && !messageIDRE.MatchString(v) {
		return nil, perr.New("PR400-OD-0006", "InReplyTo")
	}
	if t, _ := m["Title"].(string); len([]rune(t)) > 256 {
		return nil, perr.New("PR400-OD-0006", "Title")
	}
	if p, _ := m["Priority"].(int64); p < 1 || p > 5 {
		return nil, perr.New("PR400-OD-0006", "Priority")
	}
	typ, _ := m["Type"].(string)
	switch typ {
	case messageTypeMessage:
	case messageTypeRequest:
		objs, _ := m["RequestObjects"].([]any)
		if len(objs) == 0 {
			return nil, perr.New("PR400-OD-0006", "RequestObjects")
		}
		for _, o := range objs {
			obj, ok := o.(map[string]any)
			if !ok { // null
				return nil, perr.New("PR400-OD-0006", "RequestObjects")
			}
			if err := checkRequestObject(obj, t == sendBody); err != nil {
				return nil, err
			}
		}
	default:
		return nil, perr.New("PR400-OD-0006", "Type")
	}
	return m, nil
}

// checkRequestObject checks one RequestObject as Personium does
// (ODataMessageResource.validateRequestRelation/Role, the rule checks of
// validateSentMessage); on the sending side a rule.add may leave Name to
// the message ID.
func checkRequestObject(o map[string]any, sending bool) error {
	str := func(k string) string { v, _ := o[k].(string); return v }
	field := func(k string) error { return perr.New("PR400-OD-0006", "RequestObjects."+k) }
	name, class, target := str("Name"), str("ClassUrl"), str("TargetUrl")
	switch str("RequestType") {
	case "relation.add", "relation.remove", "role.add", "role.remove":
		if (name == "") == (class == "") {
			return perr.New("PR400-OD-0006", "RequestObjects.Name,RequestObjects.ClassUrl")
		}
		if target == "" {
			return field("TargetUrl")
		}
		kind, _, _ := strings.Cut(str("RequestType"), ".")
		if name != "" && !validRequestName(kind, name) {
			return field("Name")
		}
		if _, _, ok := parseClassURL(kind, cell.ResolveLocalUnit("https://localunit/", class)); class != "" && !ok {
			return field("ClassUrl")
		}
		if !validMessageCellURL(target) {
			return field("TargetUrl")
		}
	case "rule.add":
		if name == "" && !sending || name != "" && !cell.ValidRuleName(name) {
			return field("Name")
		}
		if !cell.ValidRuleAction(str("Action")) {
			return field("Action")
		}
	case "rule.remove":
		if !cell.ValidRuleName(name) {
			return field("Name")
		}
	default:
		return field("RequestType")
	}
	return nil
}

// validRequestName tells whether name may name a relation or a role
// (kind) of a RequestObject.
func validRequestName(kind, name string) bool {
	if kind == "relation" {
		return cell.ValidRelationName(name)
	}
	return cell.ValidName(name)
}

// parseClassURL splits a relation or role class URL (kind) into the
// schema of the box it names and the name.
func parseClassURL(kind, u string) (schema, name string, ok bool) {
	m := classURL.FindStringSubmatch(u)
	if m == nil || m[2] != kind || !validRequestName(kind, m[3]) {
		return "", "", false
	}
	return m[1], m[3], true
}

// validMessageCellURL accepts a cell URL as Personium's isValidCellUrl
// does: http(s), or personium-localunit:, with a trailing slash.
func validMessageCellURL(u string) bool {
	if strings.HasPrefix(u, "personium-localunit:") {
		rest := strings.Trim(strings.TrimPrefix(u, "personium-localunit:"), "/")
		return rest != "" && !strings.ContainsAny(rest, " \t\r\n?#") && strings.HasSuffix(u, "/")
	}
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" && p.User == nil &&
		p.RawQuery == "" && p.Fragment == "" && len(u) <= 1024 && strings.HasSuffix(u, "/")
}

// cellURLOf normalizes a destination: personium-localunit: URLs become
// URLs of this unit, and a trailing slash is added.
func (s *Server) cellURLOf(u string) string {
	u = cell.ResolveLocalUnit(s.cfg.UnitURL, u)
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// messageCaller is who asks, if they hold the cell privilege message.
func (s *Server) messageCaller(r *http.Request, c *cell.Cell) (pds.Principal, error) {
	p, err := s.cellPrincipal(r, c)
	if err == nil {
		err = s.cellPriv(r.Context(), c, p, acl.CellMessage)
	}
	return p, err
}

// messageSend answers POST {cell}__message/send: privilege message.
func (s *Server) messageSend(w http.ResponseWriter, r *http.Request, c *cell.Cell) error {
	ctx := r.Context()
	p, err := s.messageCaller(r, c)
	if err != nil {
		return err
	}
	m, err := messageBody(r, sendBody)
	if err != nil {
		return err
	}
	// The box of the token's app, if any: the message belongs to it, and
	// a BoxBound message is delivered to the same app's box.
	boxName, err := s.cfg.Authn.BoxBySchema(ctx, c, p.Schema)
	if err != nil {
		return err
	}
	boxBound, _ := m["BoxBound"].(bool)
	if boxBound && boxName == "" {
		return perr.New("PR400-SM-0004", p.Schema)
	}
	to, _ := m["To"].(string)
	toRelation, _ := m["ToRelation"].(string)
	if to == "" && toRelation == "" {
		return perr.New("PR400-OD-0006", "To,ToRelation")
	}
	var dests []string
	if to != "" {
		for _, u := range strings.Split(to, ",") {
			if !validMessageCellURL(u) {
				return perr.New("PR400-OD-0006", "To")
			}
			dests = append(dests, u)
		}
	}
	if toRelation != "" && !cell.ValidRelationName(toRelation) {
		return perr.New("PR400-OD-0006", "ToRelation")
	}
	if toRelation != "" {
		urls, err := s.relationCells(ctx, c, toRelation)
		if err != nil {
			return err
		}
		dests = append(dests, urls...)
	}
	var list []string
	seen := map[string]bool{}
	for _, d := range dests {
		d = s.cellURLOf(d)
		if !seen[d] {
			seen[d] = true
			list = append(list, d)
		}
	}
	if len(list) > maxMessageDestinations {
		return perr.New("PR400-SM-0003")
	}
	id, _ := m[odata.MemberID].(string)
	if id == "" {
		id = s.cfg.Cells.NewID()
	}
	from := s.cellURL(c)
	objs, _ := m["RequestObjects"].([]any)
	// What is delivered names an unnamed rule after the message (as
	// Personium does); the SentMessage keeps what was sent.
	delivered := make([]any, len(objs))
	for i, o := range objs {
		o, _ := o.(map[string]any) // checked by messageBody
		if o["RequestType"] == "rule.add" && o["Name"] == nil {
			cp := make(map[string]any, len(o))
			for k, v := range o {
				cp[k] = v
			}
			cp["Name"] = id
			o = cp
		}
		delivered[i] = o
	}
	results := make([]any, 0, len(list))
	for _, dest := range list {
		body := map[string]any{odata.MemberID: id, "InReplyTo": m["InReplyTo"], "From": from, "Type": m["Type"],
			"Title": m["Title"], "Body": m["Body"], "Priority": m["Priority"]}
		var others []string
		for _, d := range list {
			if d != dest {
				others = append(others, d)
			}
		}
		if len(others) > 0 {
			body["MulticastTo"] = strings.Join(others, ",")
		} else {
			body["MulticastTo"] = nil
		}
		if boxBound {
			body["Schema"] = strings.TrimSuffix(p.Schema, "#c")
		}
		if m["Type"] == messageTypeRequest {
			body["Status"] = "none"
			body["RequestObjects"] = delivered
		} else {
			body["Status"] = "unread"
		}
		results = append(results, s.deliver(ctx, from, dest, strings.TrimSuffix(p.Schema, "#c"), body))
	}
	props := map[string]any{odata.MemberID: id, "InReplyTo": m["InReplyTo"], "To": m["To"], "ToRelation": m["ToRelation"],
		"Type": m["Type"], "Title": m["Title"], "Body": m["Body"], "Priority": m["Priority"], "Result": results}
	if len(objs) > 0 {
		props["RequestObjects"] = objs
	}
	if boxName != "" {
		props["_Box.Name"] = boxName
	}
	return s.storeMessage(w, r, c, "SentMessage", props, "message.send", p.Subject)
}

// storeMessage creates a SentMessage or ReceivedMessage of c from props,
// answers 201 with it as __ctl would, and logs the event.
func (s *Server) storeMessage(w http.ResponseWriter, r *http.Request, c *cell.Cell, set string, props map[string]any, event, subject string) error {
	prov := s.cfg.Cells.MessageProvider(c)
	e, err := prov.Create(r.Context(), s.cfg.Cells.CellSchema().Type(set), props)
	if err != nil {
		return err
	}
	svc := &odata.Service{Schema: s.cfg.Cells.CellSchema(), Provider: prov, Base: s.cellURL(c) + "__ctl/"}
	svc.WriteCreated(w, e)
	id, _ := e.Props[odata.MemberID].(string)
	s.log.Info("event", "cell", c.Name, "type", event, "object", "personium-localcell:/__ctl/"+set+"('"+id+"')",
		"info", "201", "subject", subject)
	return nil
}

// relationCells lists the URLs of the ExtCells linked to the relation
// named name (of no box), for ToRelation.
func (s *Server) relationCells(ctx context.Context, c *cell.Cell, name string) ([]string, error) {
	prov := s.cfg.Cells.CtlProvider(c)
	schema := s.cfg.Cells.CellSchema()
	rel := schema.Type("Relation")
	ext, _, err := prov.Related(ctx, rel, odata.KeyPredicate{{Name: "Name", Value: name}, {Name: "_Box.Name", Value: nil}},
		rel.NavProp("_ExtCell"), &odata.ListRequest{Limit: maxMessageDestinations + 1})
	if perr.Is(err, perr.NotExist) {
		return nil, perr.New("PR400-SM-0001", name)
	}
	if err != nil {
		return nil, err
	}
	if len(ext) > maxMessageDestinations {
		return nil, perr.New("PR400-SM-0003")
	}
	if len(ext) == 0 {
		return nil, perr.New("PR400-SM-0002", name)
	}
	urls := make([]string, len(ext))
	for i, e := range ext {
		urls[i], _ = e.Props["Url"].(string)
	}
	return urls, nil
}

// deliver posts a message to dest's __message/port with a transcell
// token from the sending cell to dest, and returns the destination's
// Result: {To, Code, Reason}. Destinations on this unit are served
// in-process; a destination that cannot be reached gets Code 503 and
// the reason (Personium fails the whole send then, with PR500-SM-0001,
// after delivering to the destinations before it).
func (s *Server) deliver(ctx context.Context, from, dest, schema string, body map[string]any) map[string]any {
	result := func(code int, reason string) map[string]any {
		return map[string]any{"To": dest, "Code": strconv.Itoa(code), "Reason": reason}
	}
	now := time.Now()
	token, err := s.cfg.Authn.Key.SignTransCell(&auth.TransCellToken{Issuer: from, Subject: from, Target: dest,
		Schema: schema, IssuedAt: now, Expires: now.Add(messageTokenLife)}, rand.Reader)
	if err != nil {
		return result(http.StatusInternalServerError, "Sent Message body parse error.")
	}
	data, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, messageDeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest+"__message/port", bytes.NewReader(data))
	if err != nil {
		return result(http.StatusBadRequest, err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	var status int
	var answer []byte
	if strings.HasPrefix(dest, s.cfg.UnitURL) {
		req.RequestURI = req.URL.RequestURI()
		req.RemoteAddr = "127.0.0.1:0"
		cw := &captureWriter{header: http.Header{}, max: 1 << 20}
		s.ServeHTTP(cw, req)
		status, answer = cw.status, cw.body.Bytes()
		if status == 0 {
			status = http.StatusOK
		}
	} else {
		res, err := messageClient.Do(req)
		if err != nil {
			return result(http.StatusServiceUnavailable, fmt.Sprintf("Sent Message connection error. (%v)", err))
		}
		answer, _ = io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		status = res.StatusCode
	}
	if status == http.StatusCreated {
		return result(status, "Created.")
	}
	var e struct {
		Message struct {
			Value string `json:"value"`
		} `json:"message"`
	}
	_ = json.Unmarshal(answer, &e)
	return result(status, e.Message.Value)
}

// messagePort answers POST {cell}__message/port: a message delivered by
// another cell, whose own transcell token (subject = issuer) aimed at
// this cell is the only credential accepted.
func (s *Server) messagePort(w http.ResponseWriter, r *http.Request, c *cell.Cell) error {
	ctx := r.Context()
	if st, _ := ctx.Value(authStateKey{}).(authState); st == authOK {
		return perr.New("PR403-AU-0002") // the master token, a unit user: not a cell
	}
	tc, tried, err := s.transCell(r)
	switch {
	case err != nil:
		return err
	case !tried:
		if _, has := bearer(r); has || r.Header.Get("Authorization") != "" {
			return perr.New("PR403-AU-0002")
		}
		return perr.New("PR401-AU-0001")
	case tc.Target != s.cellURL(c):
		return perr.New("PR401-AU-0006")
	case tc.Subject != tc.Issuer:
		return perr.New("PR403-AU-0002")
	}
	m, err := messageBody(r, portBody)
	if err != nil {
		return err
	}
	id, _ := m[odata.MemberID].(string)
	if id == "" {
		return perr.New("PR400-OD-0009", odata.MemberID)
	}
	// The sender is who signed the token: a cell cannot post in
	// another's name. (Personium takes From as given.)
	if from, _ := m["From"].(string); from != tc.Issuer {
		return perr.New("PR400-OD-0006", "From")
	}
	if mt, _ := m["MulticastTo"].(string); mt != "" {
		for _, u := range strings.Split(mt, ",") {
			if !validMessageCellURL(u) {
				return perr.New("PR400-OD-0006", "MulticastTo")
			}
		}
	}
	status, _ := m["Status"].(string)
	if m["Type"] == messageTypeMessage && status != "unread" || m["Type"] == messageTypeRequest && status != "none" {
		return perr.New("PR400-OD-0006", "Status")
	}
	props := map[string]any{}
	for _, k := range []string{odata.MemberID, "InReplyTo", "From", "MulticastTo", "Type", "Title", "Body", "Priority", "Status", "RequestObjects"} {
		if v, ok := m[k]; ok && v != nil {
			props[k] = v
		}
	}
	if schema, _ := m["Schema"].(string); schema != "" {
		box, err := s.cfg.Authn.BoxBySchema(ctx, c, schema)
		if err != nil {
			return err
		}
		if box == "" {
			return perr.New("PR400-RM-0002", schema)
		}
		props["_Box.Name"] = box
	}
	return s.storeMessage(w, r, c, "ReceivedMessage", props, "message.receive", tc.Subject)
}

// messageReceived answers POST {cell}__message/received/{id}
// {"Command": "read"|"unread"|"approved"|"rejected"}: privilege message,
// and social (relations, roles) or rule to approve what a request asks.
func (s *Server) messageReceived(w http.ResponseWriter, r *http.Request, c *cell.Cell, id string) error {
	ctx := r.Context()
	p, err := s.messageCaller(r, c)
	if err != nil {
		return err
	}
	data, err := readLimited(r, 64<<10)
	if err != nil {
		return err
	}
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil || body == nil {
		return perr.New("PR400-CM-0004", "body")
	}
	cmd, _ := body["Command"].(string)
	switch cmd {
	case "read", "unread", "approved", "rejected":
	default:
		return perr.New("PR400-OD-0006", "Command")
	}
	if strings.Contains(id, "'") { // not a key Personium can parse
		return perr.New("PR400-OD-0004")
	}
	prov := s.cfg.Cells.MessageProvider(c)
	t := s.cfg.Cells.CellSchema().Type("ReceivedMessage")
	kp := odata.KeyPredicate{{Value: id}}
	msg, err := prov.Get(ctx, t, kp)
	if err != nil {
		return err
	}
	switch msg.Props["Type"] {
	case messageTypeMessage:
		if cmd != "read" && cmd != "unread" {
			return perr.New("PR400-OD-0006", "Command")
		}
	case messageTypeRequest:
		if msg.Props["Status"] != "none" || (cmd != "approved" && cmd != "rejected") {
			return perr.New("PR400-OD-0006", "Command")
		}
		if cmd == "approved" {
			if err := s.approve(ctx, c, p, msg); err != nil {
				return err
			}
		}
	default:
		return perr.Errorf(perr.Internal, "message %s: unknown Type %v", id, msg.Props["Type"])
	}
	e, err := prov.Update(ctx, t, kp, map[string]any{"Status": cmd}, true, msg.ETag())
	if err != nil {
		return err
	}
	w.Header().Set("ETag", e.ETag())
	w.Header().Set("DataServiceVersion", "2.0")
	w.WriteHeader(http.StatusNoContent)
	op := map[string]string{"read": "read", "unread": "unread", "approved": "approve", "rejected": "reject"}[cmd]
	s.log.Info("event", "cell", c.Name, "type", "message."+op, "object", "personium-localcell:/__ctl/ReceivedMessage('"+id+"')",
		"info", "204", "subject", p.Subject)
	return nil
}

// requestStep is one RequestObject of an approved request, resolved.
type requestStep struct {
	kind    string // relation, role, rule
	add     bool
	key     odata.KeyPredicate // the Relation or Role; the Rule to remove
	extCell string             // TargetUrl as stored in ExtCell.Url
	exists  bool               // the ExtCell exists
	rule    map[string]any     // the Rule to create
}

// approve carries out what an approved request asks, as Personium's
// MessageODataProducer.changeStatusAndUpdateRelation does: relation.add
// and role.add link the Relation or Role named (by Name in the message's
// box, or by ClassUrl in the box of that schema) with the ExtCell of
// TargetUrl, creating the ExtCell if needed; .remove unlinks them;
// rule.add and rule.remove create and delete a Rule of the message's box.
// Everything is checked before anything is written.
func (s *Server) approve(ctx context.Context, c *cell.Cell, p pds.Principal, msg *odata.Entity) error {
	prov := s.cfg.Cells.CtlProvider(c)
	schema := s.cfg.Cells.CellSchema()
	msgBox := msg.Props["_Box.Name"]
	objs, _ := msg.Props["RequestObjects"].([]any)
	var steps []requestStep
	for _, o := range objs {
		o, _ := o.(map[string]any)
		str := func(k string) string { v, _ := o[k].(string); return v }
		rt := str("RequestType")
		kind, op, _ := strings.Cut(rt, ".")
		st := requestStep{kind: kind, add: op == "add"}
		switch kind {
		case "relation", "role":
			if err := s.cellPriv(ctx, c, p, acl.CellSocial); err != nil {
				return err
			}
			set := "Relation"
			if kind == "role" {
				set = "Role"
			}
			name, box := str("Name"), msgBox
			if name == "" {
				schema, n, ok := parseClassURL(kind, s.cellURLOf(str("ClassUrl")))
				if !ok {
					return perr.New("PR400-OD-0006", "RequestObjects.ClassUrl")
				}
				name = n
				b, err := s.cfg.Authn.BoxBySchema(ctx, c, schema)
				if err != nil {
					return err
				}
				if b == "" {
					return perr.New("PR400-RM-0003", str("ClassUrl"))
				}
				box = b
			}
			st.key = odata.KeyPredicate{{Name: "Name", Value: name}, {Name: "_Box.Name", Value: box}}
			if _, err := prov.Get(ctx, schema.Type(set), st.key); perr.Is(err, perr.NotExist) {
				return perr.New("PR409-RM-0002", set, keyText(name, box))
			} else if err != nil {
				return err
			}
			st.extCell = s.cellURLOf(str("TargetUrl"))
			_, err := prov.Get(ctx, schema.Type("ExtCell"), odata.KeyPredicate{{Value: st.extCell}})
			switch {
			case err == nil:
				st.exists = true
			case !perr.Is(err, perr.NotExist):
				return err
			case !st.add:
				return perr.New("PR409-RM-0002", "ExtCell", "{Url="+st.extCell+"}")
			}
		case "rule":
			if err := s.cellPriv(ctx, c, p, acl.CellRule); err != nil {
				return err
			}
			if st.add {
				st.rule = map[string]any{"Name": str("Name"), "_Box.Name": msgBox, "EventExternal": false,
					"EventSubject": o["EventSubject"], "EventType": o["EventType"], "EventObject": o["EventObject"],
					"EventInfo": o["EventInfo"], "Action": o["Action"], "TargetUrl": o["TargetUrl"]}
			} else {
				st.key = odata.KeyPredicate{{Name: "Name", Value: str("Name")}, {Name: "_Box.Name", Value: msgBox}}
				if _, err := prov.Get(ctx, schema.Type("Rule"), st.key); err != nil {
					return err
				}
			}
		default:
			return perr.Errorf(perr.Internal, "message %v: unknown RequestType %q", msg.Props[odata.MemberID], rt)
		}
		steps = append(steps, st)
	}
	made := map[string]bool{} // ExtCells created by an earlier step
	for _, st := range steps {
		var err error
		switch st.kind {
		case "relation", "role":
			set := map[string]string{"relation": "Relation", "role": "Role"}[st.kind]
			t := schema.Type(set)
			ext := odata.KeyPredicate{{Value: st.extCell}}
			if st.add {
				if !st.exists && !made[st.extCell] {
					_, err = prov.Create(ctx, schema.Type("ExtCell"), map[string]any{"Url": st.extCell})
					if err != nil && perr.CodeOf(err) != "PR409-OD-0003" { // another request made it meanwhile
						return err
					}
					made[st.extCell] = true
				}
				err = prov.Link(ctx, t, st.key, t.NavProp("_ExtCell"), ext)
				if perr.CodeOf(err) == "PR409-OD-0002" {
					err = perr.New("PR400-RM-0001")
				}
			} else {
				err = prov.Unlink(ctx, t, st.key, t.NavProp("_ExtCell"), ext)
			}
		case "rule":
			if st.add {
				_, err = prov.Create(ctx, schema.Type("Rule"), st.rule)
			} else {
				err = prov.Delete(ctx, schema.Type("Rule"), st.key, "")
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// keyText renders a ctl key for an error message, as Personium does.
func keyText(name string, box any) string {
	if b, ok := box.(string); ok && b != "" {
		return "{Name=" + name + ", _Box.Name=" + b + "}"
	}
	return "{Name=" + name + "}"
}
