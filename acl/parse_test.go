package acl_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/personium-go/personium/acl"
	"github.com/personium-go/personium/internal/pds"
	"github.com/personium-go/personium/internal/perr"
)

const (
	cellURL  = "https://unit.example/cell1/"
	box1Base = cellURL + "__role/box1/"
	mainBase = cellURL + "__role/__/"
)

func role(box, name string) string { return cellURL + "__role/" + box + "/" + name }

func privs(ps ...pds.Privilege) []pds.Privilege { return ps }

// doc wraps ACEs in a D:acl element with the usual namespace declarations.
func doc(attrs, body string) string {
	return `<?xml version="1.0" encoding="utf-8" ?>` + "\n" +
		`<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"` + attrs + ">" + body + "</D:acl>"
}

func ace(principal, grant string) string {
	return "<D:ace><D:principal>" + principal + "</D:principal><D:grant>" + grant + "</D:grant></D:ace>"
}

func href(h string) string { return "<D:href>" + h + "</D:href>" }

func priv(p string) string { return "<D:privilege>" + p + "</D:privilege>" }

const allP = "<D:all/>"

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		base  string // defaultBase; box1Base if empty
		level acl.Level
		body  string
		want  *acl.ACL
	}{
		{
			name: "reference §6.3 example",
			body: doc(` xml:base="`+box1Base+`" p:requireSchemaAuthz="public"`,
				ace(href("doctor"), priv("<D:read/>")+priv("<p:exec/>"))),
			want: &acl.ACL{Base: box1Base, SchemaAuthz: acl.SchemaAuthzPublic, ACEs: []acl.ACE{
				{Principal: role("box1", "doctor"), Grant: privs(acl.Read, acl.Exec)}}},
		},
		{
			name: "apiref 006 relative hrefs with xml:base",
			body: doc(` xml:base="`+box1Base+`" p:requireSchemaAuthz="none"`,
				ace(href("doctor"), priv("<D:read/>")+priv("<D:write/>"))+
					ace(href("../box2/guest"), priv("<D:read/>"))),
			want: &acl.ACL{Base: box1Base, SchemaAuthz: acl.SchemaAuthzNone, ACEs: []acl.ACE{
				{Principal: role("box1", "doctor"), Grant: privs(acl.Read, acl.Write)},
				{Principal: role("box2", "guest"), Grant: privs(acl.Read)}}},
		},
		{
			name: "apiref 006 absolute hrefs without xml:base",
			body: doc(` p:requireSchemaAuthz="none"`,
				ace(href(role("box1", "doctor")), priv("<D:read/>")+priv("<D:write/>"))+
					ace(href(role("box2", "guest")), priv("<D:read/>"))),
			want: &acl.ACL{SchemaAuthz: acl.SchemaAuthzNone, ACEs: []acl.ACE{
				{Principal: role("box1", "doctor"), Grant: privs(acl.Read, acl.Write)},
				{Principal: role("box2", "guest"), Grant: privs(acl.Read)}}},
		},
		{
			name: "relative hrefs without xml:base use the default base",
			body: doc("", ace(href("doctor"), priv("<D:read/>"))+ace(href("../__/admin"), priv("<D:write/>"))),
			want: &acl.ACL{ACEs: []acl.ACE{
				{Principal: role("box1", "doctor"), Grant: privs(acl.Read)},
				{Principal: role("__", "admin"), Grant: privs(acl.Write)}}},
		},
		{
			name: "all principal, no requireSchemaAuthz (box/acl-all-none-schema-level.txt)",
			body: `<?xml version="1.0" encoding="utf-8" ?>
<D:acl xmlns:D="DAV:" xml:base="` + box1Base + `">
    <D:ace>
        <D:principal>
            <D:all/>
        </D:principal>
        <D:grant>
            <D:privilege><D:read/></D:privilege>
            <D:privilege><D:write/></D:privilege>
        </D:grant>
    </D:ace>
</D:acl>`,
			want: &acl.ACL{Base: box1Base, ACEs: []acl.ACE{{All: true, Grant: privs(acl.Read, acl.Write)}}},
		},
		{
			name: "empty ACL (box/acl-null.txt)",
			body: doc(` xml:base="`+box1Base+`" p:requireSchemaAuthz="confidential"`, "\n"),
			want: &acl.ACL{Base: box1Base, SchemaAuthz: acl.SchemaAuthzConfidential, ACEs: []acl.ACE{}},
		},
		{
			name:  "cell ACL, p: privileges and box privileges (cell/acl-setting-cell-box.txt)",
			base:  mainBase,
			level: acl.CellLevel,
			body: doc(` xml:base="`+mainBase+`"`,
				ace(href(mainBase+"role1"), priv("<p:auth/>")+priv("<p:auth-read/>")+priv("<D:read/>"))+
					ace(href("role2"), priv("<p:root/>"))),
			want: &acl.ACL{Base: mainBase, ACEs: []acl.ACE{
				{Principal: role("__", "role1"), Grant: privs(acl.CellAuth, acl.CellAuthRead, acl.Read)},
				{Principal: role("__", "role2"), Grant: privs(acl.CellRoot)}}},
		},
		{
			name: "every box privilege in its namespace, alter-schema in D:",
			body: doc("", ace(allP, priv("<D:all/>")+priv("<D:read/>")+priv("<D:read-properties/>")+
				priv("<D:read-acl/>")+priv("<D:write/>")+priv("<D:write-content/>")+priv("<D:bind/>")+
				priv("<D:unbind/>")+priv("<D:write-properties/>")+priv("<D:write-acl/>")+priv("<p:exec/>")+
				priv("<D:alter-schema/>")+priv("<p:stream-send/>")+priv("<p:stream-receive/>"))),
			want: &acl.ACL{ACEs: []acl.ACE{{All: true, Grant: privs(acl.All, acl.Read, acl.ReadProperties,
				acl.ReadACL, acl.Write, acl.WriteContent, acl.Bind, acl.Unbind, acl.WriteProperties,
				acl.WriteACL, acl.Exec, acl.AlterSchema, acl.StreamSend, acl.StreamReceive)}}},
		},
		{
			name: "other prefixes, whitespace in href, inherited and unknown elements ignored",
			body: `<a:acl xmlns:a="DAV:" xmlns:x="urn:x-personium:xmlns" xmlns:z="urn:other" z:foo="1">` +
				`<z:note>hi</z:note><a:ace><a:principal><a:href>
				doctor </a:href></a:principal><a:grant><z:x/><a:privilege><x:exec/></a:privilege></a:grant>` +
				`<a:inherited><a:href>https://unit.example/cell1/box1/</a:href></a:inherited><a:protected/></a:ace></a:acl>`,
			want: &acl.ACL{ACEs: []acl.ACE{{Principal: role("box1", "doctor"), Grant: privs(acl.Exec)}}},
		},
		{
			name: "dot segments, xml:base that is a role URL, port ignored",
			body: doc(` xml:base="https://unit.example:8443/cell1/__role/box1/nurse"`,
				ace(href("./doctor"), priv("<D:read/>"))+ace(href("../x/../box3/r"), priv("<D:read/>"))),
			want: &acl.ACL{Base: "https://unit.example:8443/cell1/__role/box1/nurse", ACEs: []acl.ACE{
				{Principal: role("box1", "doctor"), Grant: privs(acl.Read)},
				{Principal: role("box3", "r"), Grant: privs(acl.Read)}}},
		},
		{
			name: "FQDN-based cell URL",
			base: "https://alice.unit.example/__role/box1/",
			body: doc("", ace(href("doctor"), priv("<D:read/>"))+
				ace(href("HTTPS://ALICE.unit.example/__role/__/x"), priv("<D:read/>"))),
			want: &acl.ACL{ACEs: []acl.ACE{
				{Principal: "https://alice.unit.example/__role/box1/doctor", Grant: privs(acl.Read)},
				{Principal: "https://alice.unit.example/__role/__/x", Grant: privs(acl.Read)}}},
		},
		{
			name: "predefined entities and character references",
			body: doc("", "<!-- c --><?pi x?>"+ace(href("&#x64;octor"), priv("<D:read/>"))),
			want: &acl.ACL{ACEs: []acl.ACE{{Principal: role("box1", "doctor"), Grant: privs(acl.Read)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = box1Base
			}
			level := tt.level
			if tt.base == "" {
				level = acl.BoxLevel
			}
			got, err := acl.Parse(strings.NewReader(tt.body), base, level)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%#v\nwant\n%#v", got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	okACE := ace(href("doctor"), priv("<D:read/>"))
	tests := []struct {
		name  string
		level acl.Level
		body  string
		code  string
	}{
		// XML that JAXB cannot read: PR400-DV-0002, as DavCmpFsImpl.acl raises it.
		{"malformed", acl.BoxLevel, doc("", "<D:ace>"), "PR400-DV-0002"},
		{"empty body", acl.BoxLevel, "", "PR400-DV-0002"},
		{"not xml", acl.BoxLevel, "{\"acl\":[]}", "PR400-DV-0002"},
		{"wrong root", acl.BoxLevel, `<D:propfind xmlns:D="DAV:"/>`, "PR400-DV-0002"},
		{"root in no namespace", acl.BoxLevel, `<acl/>`, "PR400-DV-0002"},
		{"undeclared prefix", acl.BoxLevel, `<D:acl/>`, "PR400-DV-0002"},
		{"two roots", acl.BoxLevel, doc("", "") + doc("", ""), "PR400-DV-0002"},
		{"DOCTYPE", acl.BoxLevel, `<!DOCTYPE acl SYSTEM "http://evil.example/acl.dtd">` + doc("", ""), "PR400-DV-0002"},
		{"ENTITY", acl.BoxLevel, `<!DOCTYPE D:acl [<!ENTITY r "doctor">]>` + doc("", ace(href("&r;"), priv("<D:read/>"))), "PR400-DV-0002"},
		{"external entity", acl.BoxLevel, `<!DOCTYPE D:acl [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + doc("", ace(href("&x;"), priv("<D:read/>"))), "PR400-DV-0002"},
		{"billion laughs", acl.BoxLevel, `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
			`<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
			`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>` +
			doc("", ace(href("&lol3;"), priv("<D:read/>"))), "PR400-DV-0002"},
		{"undeclared entity", acl.BoxLevel, doc("", ace(href("&nbsp;doctor"), priv("<D:read/>"))), "PR400-DV-0002"},
		{"element in href", acl.BoxLevel, doc("", ace(href("<D:b/>doctor"), priv("<D:read/>"))), "PR400-DV-0002"},
		{"too deep", acl.BoxLevel, doc("", strings.Repeat("<x>", 40)+strings.Repeat("</x>", 40)), "PR400-DV-0002"},
		{"bad encoding", acl.BoxLevel, `<?xml version="1.0" encoding="ISO-8859-1"?>` + doc("", ""), "PR400-DV-0002"},
		{"oversized", acl.BoxLevel, doc("", strings.Repeat("<!-- padding -->", acl.MaxACLBytes/16+1)), "PR413-MC-0001"},

		// Acl.validateAcl: PR400-DV-0006.
		{"requireSchemaAuthz unknown", acl.BoxLevel, doc(` p:requireSchemaAuthz="private"`, okACE), "PR400-DV-0006"},
		{"requireSchemaAuthz empty", acl.BoxLevel, doc(` p:requireSchemaAuthz=""`, okACE), "PR400-DV-0006"},
		{"requireSchemaAuthz case", acl.BoxLevel, doc(` p:requireSchemaAuthz="Public"`, okACE), "PR400-DV-0006"},
		{"no grant (box/acl-default.txt)", acl.BoxLevel, doc("", "<D:ace><D:principal>"+href("role1")+"</D:principal></D:ace>"), "PR400-DV-0006"},
		{"deny only", acl.BoxLevel, doc("", "<D:ace><D:principal>"+allP+"</D:principal><D:deny>"+priv("<D:read/>")+"</D:deny></D:ace>"), "PR400-DV-0006"},
		{"grant and deny", acl.BoxLevel, doc("", "<D:ace><D:principal>"+allP+"</D:principal><D:grant>"+priv("<D:read/>")+"</D:grant><D:deny>"+priv("<D:write/>")+"</D:deny></D:ace>"), "PR400-DV-0006"},
		{"no principal", acl.BoxLevel, doc("", "<D:ace><D:grant>"+priv("<D:read/>")+"</D:grant></D:ace>"), "PR400-DV-0006"},
		{"invert", acl.BoxLevel, doc("", "<D:ace><D:invert><D:principal>"+allP+"</D:principal></D:invert><D:grant>"+priv("<D:read/>")+"</D:grant></D:ace>"), "PR400-DV-0006"},
		{"two principals", acl.BoxLevel, doc("", "<D:ace><D:principal>"+allP+"</D:principal><D:principal>"+allP+"</D:principal><D:grant>"+priv("<D:read/>")+"</D:grant></D:ace>"), "PR400-DV-0006"},
		{"two grants", acl.BoxLevel, doc("", "<D:ace><D:principal>"+allP+"</D:principal><D:grant>"+priv("<D:read/>")+"</D:grant><D:grant>"+priv("<D:read/>")+"</D:grant></D:ace>"), "PR400-DV-0006"},
		{"empty grant", acl.BoxLevel, doc("", ace(allP, "")), "PR400-DV-0006"},
		{"empty privilege", acl.BoxLevel, doc("", ace(allP, priv(""))), "PR400-DV-0006"},
		{"text privilege", acl.BoxLevel, doc("", ace(allP, priv("read"))), "PR400-DV-0006"},
		{"two elements in privilege", acl.BoxLevel, doc("", ace(allP, priv("<D:read/><D:write/>"))), "PR400-DV-0006"},
		{"unknown privilege", acl.BoxLevel, doc("", ace(allP, priv("<D:fly/>"))), "PR400-DV-0006"},
		{"RFC 3744 read-current-user-privilege-set", acl.BoxLevel, doc("", ace(allP, priv("<D:read-current-user-privilege-set/>"))), "PR400-DV-0006"},
		{"box privilege in p:", acl.BoxLevel, doc("", ace(allP, priv("<p:read/>"))), "PR400-DV-0006"},
		{"exec in D:", acl.BoxLevel, doc("", ace(allP, priv("<D:exec/>"))), "PR400-DV-0006"},
		{"alter-schema in p:", acl.BoxLevel, doc("", ace(allP, priv("<p:alter-schema/>"))), "PR400-DV-0006"},
		{"cell privilege in box ACL", acl.BoxLevel, doc("", ace(allP, priv("<p:root/>"))), "PR400-DV-0006"},
		{"cell privilege in D:", acl.CellLevel, doc("", ace(allP, priv("<D:auth/>"))), "PR400-DV-0006"},
		{"authenticated principal", acl.BoxLevel, doc("", ace("<D:authenticated/>", priv("<D:read/>"))), "PR400-DV-0006"},
		{"principal <D:test/> (cell AclTest)", acl.CellLevel, doc("", ace("<D:test/>", priv("<D:all/>"))), "PR400-DV-0006"},
		{"href and authenticated", acl.BoxLevel, doc("", ace(href("doctor")+"<D:authenticated/>", priv("<D:read/>"))), "PR400-DV-0006"},
		{"href and all", acl.BoxLevel, doc("", ace(href("doctor")+allP, priv("<D:read/>"))), "PR400-DV-0006"},
		{"two hrefs", acl.BoxLevel, doc("", ace(href("doctor")+href("nurse"), priv("<D:read/>"))), "PR400-DV-0006"},
		{"empty href", acl.BoxLevel, doc("", ace(href(" "), priv("<D:read/>"))), "PR400-DV-0006"},
		{"too many ACEs", acl.BoxLevel, doc("", strings.Repeat(ace(allP, priv("<D:read/>")), acl.MaxACEs+1)), "PR400-DV-0006"},

		// CellEsImpl.roleResourceUrlToId: PR400-DV-0004.
		{"role of another cell", acl.BoxLevel, doc("", ace(href("https://unit.example/cell2/__role/box1/doctor"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"xml:base of another cell (cell AclTest)", acl.BoxLevel, doc(` xml:base="https://unit.example/notExistsCell/__role/__/"`, okACE), "PR400-DV-0004"},
		{"../.. out of the cell", acl.BoxLevel, doc("", ace(href("../../../cell2/__role/box1/r"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"another host", acl.BoxLevel, doc("", ace(href("https://evil.example/cell1/__role/box1/doctor"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"network-path reference", acl.BoxLevel, doc("", ace(href("//evil.example/cell1/__role/box1/doctor"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"another scheme", acl.BoxLevel, doc("", ace(href("http://unit.example/cell1/__role/box1/doctor"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"not a role URL", acl.BoxLevel, doc("", ace(href("https://unit.example/cell1/box1/doctor"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"role URL without role", acl.BoxLevel, doc("", ace(href("../box2/"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"role URL too long", acl.BoxLevel, doc("", ace(href("doctor/x"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"query", acl.BoxLevel, doc("", ace(href("doctor?x=1"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"fragment", acl.BoxLevel, doc("", ace(href("doctor#me"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"userinfo", acl.BoxLevel, doc("", ace(href("https://u@unit.example/cell1/__role/box1/doctor"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"urn", acl.BoxLevel, doc("", ace(href("urn:x:doctor"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"bad URL", acl.BoxLevel, doc("", ace(href("%zz"), priv("<D:read/>"))), "PR400-DV-0004"},
		{"relative xml:base", acl.BoxLevel, doc(` xml:base="/cell1/__role/box1/"`, okACE), "PR400-DV-0004"},
		{"localunit xml:base", acl.BoxLevel, doc(` xml:base="personium-localunit:/cell1/__role/box1/"`, okACE), "PR400-DV-0004"},
		// apiref 006's cell-level example uses xml:base ".../cell/box", which is no role base.
		{"apiref 006 cell example base", acl.CellLevel, doc(` xml:base="https://example.com/cell/box"`,
			ace(href("role10"), priv("<p:root/>"))), "PR400-DV-0004"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := acl.Parse(strings.NewReader(tt.body), box1Base, tt.level)
			if err == nil {
				t.Fatalf("Parse accepted it: %#v", got)
			}
			if c := perr.CodeOf(err); c != tt.code {
				t.Errorf("code = %s, want %s (%v)", c, tt.code, err)
			}
			var e *perr.E
			if !errors.As(err, &e) || e.Status()/100 != 4 {
				t.Errorf("error %v is not a 4xx *perr.E", err)
			}
		})
	}
}

// TestParseMessages checks the causes Personium's tests compare.
func TestParseMessages(t *testing.T) {
	_, err := acl.Parse(strings.NewReader(doc("", ace("<D:test/>", priv("<D:all/>")))), mainBase, acl.CellLevel)
	if got, want := perr.Public(err).Message(), "XML validate error. Cause:[Principal is neither href nor all]."; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	_, err = acl.Parse(strings.NewReader(doc("", ace(allP, priv("<D:fly/>")))), box1Base, acl.BoxLevel)
	if got, want := perr.Public(err).Message(), "XML validate error. Cause:[[{DAV:}fly] that can not be set in privilege]."; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestParseBadDefaultBase(t *testing.T) {
	for _, base := range []string{"", "/cell1/__role/box1/", "ftp://u/cell1/__role/box1/", "%"} {
		_, err := acl.Parse(strings.NewReader(doc("", "")), base, acl.BoxLevel)
		if err == nil || !perr.Is(err, perr.Invalid) {
			t.Errorf("defaultBase %q: err = %v, want an Invalid error", base, err)
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestParseReadError(t *testing.T) {
	_, err := acl.Parse(errReader{}, box1Base, acl.BoxLevel)
	if perr.CodeOf(err) != "PR400-DV-0002" {
		t.Errorf("err = %v, want PR400-DV-0002", err)
	}
}
