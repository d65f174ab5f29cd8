// Package cell owns a cell's control objects: the unit-level Cell entity
// set, the cell's __ctl entity sets (Account, Role, Relation, ExtCell,
// ExtRole, Box), their validation and side effects (password hashing,
// schema uniqueness, renames), and cell-wide operations such as recursive
// deletion. Later: messages, events, rules, logs, export/import.
//
// The entity sets are OData sets served by odata.Service over an
// odata.DocProvider; this package supplies the schemas and hooks
// (reference §2.2, §3.1–3.2).
package cell

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/odata"
)

// Validation patterns of reference §1.1 and §3.1.
var (
	cellNameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,127}$`)
	nameRE         = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-_]{0,127}$`)
	accountNameRE  = regexp.MustCompile("^[a-zA-Z0-9][a-zA-Z0-9-_!$*=^`{|}~.@]{0,127}$")
	relationNameRE = regexp.MustCompile(`^[a-zA-Z0-9-+][a-zA-Z0-9-_+:]{0,127}$`)
	accountTypeRE  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9:._-]{0,63}( [a-zA-Z0-9][a-zA-Z0-9:._-]{0,63})*$`)
	statusValues   = map[string]bool{"active": true, "deactivated": true, "passwordChangeRequired": true}
	ruleNameRE     = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-_:]{0,199}$`) // Personium's ID pattern
	eventTypeRE    = regexp.MustCompile(`^[a-zA-Z0-9-_+:.]{0,127}$`)
)

// ValidName tells whether s may name a Role or a Box; ValidRelationName
// a Relation; ValidRuleName a Rule; ValidRuleAction whether s is a Rule's
// Action. (Messages' RequestObjects name them too.)
func ValidName(s string) bool         { return nameRE.MatchString(s) }
func ValidRelationName(s string) bool { return relationNameRE.MatchString(s) }
func ValidRuleName(s string) bool     { return ruleNameRE.MatchString(s) }
func ValidRuleAction(s string) bool   { return ruleActions[s] }

// ResolveLocalUnit turns a personium-localunit: URL into a URL of the unit
// at unitURL: personium-localunit:/cell/path and the cell-name form
// personium-localunit:cell:/path. Other URLs are returned as they are.
func ResolveLocalUnit(unitURL, u string) string {
	rest, ok := strings.CutPrefix(u, "personium-localunit:")
	if !ok {
		return u
	}
	rest = strings.TrimPrefix(rest, "/")
	if name, tail, ok := strings.Cut(rest, ":"); ok && !strings.Contains(name, "/") {
		rest = name + "/" + strings.TrimPrefix(tail, "/")
	}
	return unitURL + rest
}

// pattern returns a validator refusing strings that do not match re.
func pattern(field string, re *regexp.Regexp) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		if !re.MatchString(s) {
			return perr.New("PR400-OD-0006", field)
		}
		return nil
	}
}

func oneOf(field string, allowed map[string]bool) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		if !allowed[s] {
			return perr.New("PR400-OD-0006", field)
		}
		return nil
	}
}

// validCellURL accepts a normalized http(s) URL ending in "/" (the form
// Personium stores for ExtCell.Url and Box.Schema).
func validCellURL(field string) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		if len(s) > 1024 {
			return perr.New("PR400-OD-0006", field)
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			// Personium's validatePropertyCellUrl: one code for every way
			// of not being a normalized http(s) cell URL.
			return perr.New("PR400-OD-0049", field)
		}
		if !strings.HasSuffix(s, "/") || strings.Contains(u.Path, "//") || strings.Contains(u.Path, "/../") ||
			strings.Contains(u.Path, "/./") {
			return perr.New("PR400-OD-0049", field)
		}
		return nil
	}
}

// validSchema accepts a cell URL or a URN (Box.Schema).
func validSchema(v any) error {
	s, _ := v.(string)
	if strings.HasPrefix(s, "urn:") {
		if len(s) > 1024 || strings.ContainsAny(s, " \t\r\n") {
			return perr.New("PR400-OD-0006", "Schema")
		}
		return nil
	}
	if err := validCellURL("Schema")(v); err != nil {
		if perr.CodeOf(err) == "PR400-OD-0049" {
			return perr.New("PR400-OD-0050", "Schema")
		}
		return err
	}
	return nil
}

// validIPRange accepts a comma-separated list of IPv4 addresses and CIDRs.
var ipRangeRE = regexp.MustCompile(`^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(/([0-9]|[12][0-9]|3[0-2]))?$`)

func validIPRange(v any) error {
	s, _ := v.(string)
	for _, part := range strings.Split(s, ",") {
		if !ipRangeRE.MatchString(strings.TrimSpace(part)) {
			return perr.New("PR400-OD-0006", "IPAddressRange")
		}
	}
	return nil
}

func str(name string, nullable bool, validate func(any) error) *odata.Property {
	return &odata.Property{Name: name, Type: odata.EdmString, Nullable: nullable, Validate: validate}
}

// UnitSchema is the schema of {unit}__ctl: the Cell entity set.
func UnitSchema() *odata.Schema {
	return &odata.Schema{Namespace: "UnitCtl", Container: "UnitCtl", Types: []*odata.EntityType{{
		Name:  "Cell",
		Keys:  []string{"Name"},
		Props: []*odata.Property{str("Name", false, pattern("Name", cellNameRE))},
	}}}
}

// N:N association names (link documents).
const (
	assocAccountRole   = "Account-Role"
	assocAccountRead   = "Account-ReceivedMessage" // read marks
	assocExtCellRole   = "ExtCell-Role"
	assocExtCellRel    = "ExtCell-Relation"
	assocExtRoleRole   = "ExtRole-Role"
	assocRelationRole  = "Relation-Role"
	boxRef             = "_Box.Name"
	relationRef        = "_Relation.Name"
	relationBoxRef     = "_Relation._Box.Name"
	defaultAccountType = "basic"
)

func many(name, target, assoc string) *odata.NavProp {
	return &odata.NavProp{Name: name, Target: target, Many: true, Assoc: assoc}
}

// CellSchema is the schema of {cell}__ctl (namespace CellCtl).
func CellSchema() *odata.Schema {
	boxOfMine := map[string]string{boxRef: "Name"}
	relOfMine := map[string]string{relationRef: "Name", relationBoxRef: boxRef}
	box := &odata.EntityType{
		Name: "Box",
		Keys: []string{"Name"},
		Props: []*odata.Property{
			str("Name", false, pattern("Name", nameRE)),
			str("Schema", true, validSchema),
		},
		Nav: []*odata.NavProp{
			{Name: "_Role", Target: "Role", Many: true, RefProps: boxOfMine},
			{Name: "_Relation", Target: "Relation", Many: true, RefProps: boxOfMine},
		},
	}
	account := &odata.EntityType{
		Name: "Account",
		Keys: []string{"Name"},
		Props: []*odata.Property{
			str("Name", false, pattern("Name", accountNameRE)),
			{Name: "Type", Type: odata.EdmString, Default: defaultAccountType, Validate: pattern("Type", accountTypeRE)},
			str("Cell", true, nil),
			str("IPAddressRange", true, validIPRange),
			{Name: "Status", Type: odata.EdmString, Default: "active", Validate: oneOf("Status", statusValues)},
		},
		Nav: []*odata.NavProp{many("_Role", "Role", assocAccountRole), many("_ReceivedMessageRead", "ReceivedMessage", assocAccountRead)},
	}
	role := &odata.EntityType{
		Name: "Role",
		Keys: []string{"Name", boxRef},
		Props: []*odata.Property{
			str("Name", false, pattern("Name", nameRE)),
			str(boxRef, true, pattern(boxRef, nameRE)),
		},
		Nav: []*odata.NavProp{
			{Name: "_Box", Target: "Box", OwnRefProps: map[string]string{boxRef: "Name"}},
			many("_Account", "Account", assocAccountRole),
			many("_ExtCell", "ExtCell", assocExtCellRole),
			many("_ExtRole", "ExtRole", assocExtRoleRole),
			many("_Relation", "Relation", assocRelationRole),
		},
	}
	relation := &odata.EntityType{
		Name: "Relation",
		Keys: []string{"Name", boxRef},
		Props: []*odata.Property{
			str("Name", false, pattern("Name", relationNameRE)),
			str(boxRef, true, pattern(boxRef, nameRE)),
		},
		Nav: []*odata.NavProp{
			{Name: "_Box", Target: "Box", OwnRefProps: map[string]string{boxRef: "Name"}},
			many("_Role", "Role", assocRelationRole),
			many("_ExtCell", "ExtCell", assocExtCellRel),
			{Name: "_ExtRole", Target: "ExtRole", Many: true, RefProps: relOfMine},
		},
	}
	extCell := &odata.EntityType{
		Name:  "ExtCell",
		Keys:  []string{"Url"},
		Props: []*odata.Property{str("Url", false, validCellURL("Url"))},
		Nav: []*odata.NavProp{
			many("_Role", "Role", assocExtCellRole),
			many("_Relation", "Relation", assocExtCellRel),
		},
	}
	extRole := &odata.EntityType{
		Name: "ExtRole",
		Keys: []string{"ExtRole", relationRef, relationBoxRef},
		Props: []*odata.Property{
			{Name: "ExtRole", Type: odata.EdmString, MaxLength: 1024, Validate: validRoleURL},
			str(relationRef, false, pattern(relationRef, relationNameRE)),
			str(relationBoxRef, true, pattern(relationBoxRef, nameRE)),
		},
		Nav: []*odata.NavProp{
			many("_Role", "Role", assocExtRoleRole),
			{Name: "_Relation", Target: "Relation", OwnRefProps: map[string]string{relationRef: "Name", relationBoxRef: boxRef}},
		},
	}
	box.Nav = append(box.Nav,
		&odata.NavProp{Name: "_Rule", Target: "Rule", Many: true, RefProps: boxOfMine},
		&odata.NavProp{Name: "_ReceivedMessage", Target: "ReceivedMessage", Many: true, RefProps: boxOfMine},
		&odata.NavProp{Name: "_SentMessage", Target: "SentMessage", Many: true, RefProps: boxOfMine})
	ownBox := func() *odata.NavProp {
		return &odata.NavProp{Name: "_Box", Target: "Box", OwnRefProps: map[string]string{boxRef: "Name"}}
	}
	rule := &odata.EntityType{
		Name: "Rule",
		Keys: []string{"Name", boxRef},
		Props: []*odata.Property{
			{Name: "Name", Type: odata.EdmString, DefaultFunc: newRuleName, Validate: pattern("Name", ruleNameRE)},
			str(boxRef, true, pattern(boxRef, nameRE)),
			{Name: "EventExternal", Type: odata.EdmBoolean, Default: false},
			str("EventSubject", true, validURI("EventSubject")),
			str("EventType", true, pattern("EventType", eventTypeRE)),
			str("EventObject", true, nil),
			str("EventInfo", true, nil),
			// Nullable so that a missing Action is PR400-OD-0006, as the
			// rule checks (rules.go) find it.
			str("Action", true, oneOf("Action", ruleActions)),
			str("TargetUrl", true, nil),
		},
		Nav: []*odata.NavProp{ownBox()},
	}
	// Messages are listed, read and deleted here; they are created only by
	// __message/send and __message/port (internal/unit/message.go), through
	// MessageProvider.
	received := &odata.EntityType{
		Name: "ReceivedMessage", Keys: []string{odata.MemberID}, HasID: true,
		Props: []*odata.Property{
			str(boxRef, true, nil), str("InReplyTo", true, nil), str("From", false, nil), str("MulticastTo", true, nil),
			messageType(), messageTitle(), messageBody(), messagePriority(), str("Status", false, nil), requestObjects(),
		},
		Nav: []*odata.NavProp{ownBox(), many("_AccountRead", "Account", assocAccountRead)},
	}
	sent := &odata.EntityType{
		Name: "SentMessage", Keys: []string{odata.MemberID}, HasID: true,
		Props: []*odata.Property{
			str(boxRef, true, nil), str("InReplyTo", true, nil), str("To", true, nil), str("ToRelation", true, nil),
			messageType(), messageTitle(), messageBody(), messagePriority(), requestObjects(),
			{Name: "Result", Type: "Sent_Message_Result", Nullable: true, List: true, Complex: []*odata.Property{
				str("To", true, nil), str("Code", true, nil), str("Reason", true, nil)}},
		},
		Nav: []*odata.NavProp{ownBox()},
	}
	return &odata.Schema{Namespace: "CellCtl", Container: "CellCtl",
		Types: []*odata.EntityType{account, role, relation, extCell, extRole, box, received, sent, rule}}
}

// MaxMessageBody bounds a message's Body, in bytes (Personium
// Message.MAX_MESSAGE_BODY_LENGTH).
const MaxMessageBody = 64 << 10

// The common properties of messages, nullable with Personium's defaults.
func messageType() *odata.Property {
	return &odata.Property{Name: "Type", Type: odata.EdmString, Nullable: true, Default: "message"}
}
func messageTitle() *odata.Property {
	return &odata.Property{Name: "Title", Type: odata.EdmString, Nullable: true, Default: ""}
}
func messageBody() *odata.Property {
	return &odata.Property{Name: "Body", Type: odata.EdmString, Nullable: true, Default: "", MaxLength: MaxMessageBody}
}
func messagePriority() *odata.Property {
	return &odata.Property{Name: "Priority", Type: odata.EdmInt32, Nullable: true, Default: int64(3)}
}

// requestObjects is the RequestObjects property of messages: what a
// request asks the receiving cell to do (Personium RequestObject).
func requestObjects() *odata.Property {
	return &odata.Property{Name: "RequestObjects", Type: "Message_Request_Object", Nullable: true, List: true,
		Complex: []*odata.Property{
			str("RequestType", false, nil), str("Name", true, nil), str("TargetUrl", true, nil), str("ClassUrl", true, nil),
			str("EventSubject", true, nil), str("EventType", true, nil), str("EventObject", true, nil),
			str("EventInfo", true, nil), str("Action", true, nil),
		}}
}

// ruleActions are the actions a Rule may take (reference §3.1).
var ruleActions = map[string]bool{"exec": true, "relay": true, "relay.data": true, "relay.event": true,
	"log": true, "log.info": true, "log.warn": true, "log.error": true}

// newRuleName is the default Name of a Rule: a random UUID.
func newRuleName() any {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// validRoleURL accepts what Personium's ExtRole takes (P_FORMAT_URI): an
// absolute http(s) URL, usually a role's ({cell}__role/{box}/{name}),
// which an ExtRole maps to roles of this cell. Personium's own engine
// tests use plain URLs ("http://extrole/jp").
func validRoleURL(v any) error {
	s, _ := v.(string)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s, " \t\r\n") {
		return perr.New("PR400-OD-0006", "ExtRole")
	}
	return nil
}
