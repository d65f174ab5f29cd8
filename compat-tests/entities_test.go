package compattests

import (
	"strings"
	"testing"
)

// TestAccount: Account CRUD; the password travels in X-Personium-Credential
// and never comes back; Type defaults to "basic" and Status to "active"
// (model/ctl/Account.java; jersey AccountCreateTest, AccountUpdateTest).
func TestAccount(t *testing.T) {
	const pw = "Pass-word.1234"
	runCRUD(t, crudSpec{
		set: "Account", typ: "CellCtl.Account",
		body:     map[string]any{"Name": "acc1"},
		h:        auth("X-Personium-Credential", pw),
		location: "Account('acc1')",
		keys:     []string{"(Name='acc1')"},
		props:    map[string]any{"Name": "acc1", "Type": "basic", "Status": "active", "IPAddressRange": nil},
		put:      map[string]any{"Name": "acc1", "Status": "deactivated", "IPAddressRange": "192.0.2.0/24"},
		putProps: map[string]any{"Type": "basic", "Status": "deactivated", "IPAddressRange": "192.0.2.0/24"},
		// AccountUpdateTest.merge: MERGE without Name changes only what is given.
		merge:      map[string]any{"Status": "active"},
		mergeProps: map[string]any{"Name": "acc1", "Status": "active", "IPAddressRange": "192.0.2.0/24"},
		secret:     pw,
		extra: func(t *testing.T, cell string) {
			create(t, "create account", ctl(cell, "Account"), map[string]any{"Name": "a2", "Status": "deactivated",
				"IPAddressRange": "192.0.2.1"}, auth("X-Personium-Credential", pw))
			// AccountUpdateTest.update_status_not_set / merge: PUT resets omitted properties.
			do(t, "PUT with Name only", "PUT", ctl(cell, "Account('a2')"), auth("If-Match", "*", "X-Personium-Credential", pw+"x"),
				`{"Name":"a2"}`).ok(204)
			r := do(t, "GET after PUT", "GET", ctl(cell, "Account('a2')"), auth(), nil)
			if r.ok(200) {
				r.json("d/results/Status", "active")
				r.json("d/results/Type", "basic")
				r.json("d/results/IPAddressRange", nil)
				noSecret(r, pw)
			}
			r = do(t, "list accounts", "GET", ctl(cell, "Account"), auth(), nil)
			noSecret(r, pw)
			// Renaming through PUT.
			do(t, "PUT rename", "PUT", ctl(cell, "Account('a2')"), auth("If-Match", "*"), `{"Name":"a3"}`).ok(204)
			do(t, "old name gone", "GET", ctl(cell, "Account('a2')"), auth(), nil).wantError(404, "PR404-OD-0002")
			do(t, "new name there", "GET", ctl(cell, "Account('a3')"), auth(), nil).ok(200)
			// auth/AuthUtils.validatePassword: PR400-AU-0001 for a password
			// outside ^[a-zA-Z0-9-_!$*=^`{|}~.@]{6,32}$ (AccountCreateTest.password_invalid).
			for _, bad := range []string{"pass%word", "12345", strings.Repeat("p", 33)} {
				do(t, "bad password "+bad, "POST", ctl(cell, "Account"), auth("X-Personium-Credential", bad),
					`{"Name":"badpw"}`).wantError(400, "PR400-AU-0001")
			}
			do(t, "no account after bad passwords", "GET", ctl(cell, "Account('badpw')"), auth(), nil).wantError(404, "PR404-OD-0002")
			for _, bad := range []string{"", "_acc", "-acc", "a/b", "__ctl", strings.Repeat("a", 129)} {
				do(t, "bad account name "+bad, "POST", ctl(cell, "Account"), auth("X-Personium-Credential", pw),
					jsonBody(map[string]any{"Name": bad})).wantError(400, "")
			}
			do(t, "bad Status", "POST", ctl(cell, "Account"), auth(), `{"Name":"st","Status":"sleeping"}`).wantError(400, "")
			do(t, "duplicate account", "POST", ctl(cell, "Account"), auth("X-Personium-Credential", pw),
				`{"Name":"a3"}`).wantError(409, "PR409-OD-0003")
		},
	})
}

// TestRole: Role has the compound key (Name, _Box.Name); Role('r') and
// Role(Name='r') mean _Box.Name=null; Location is rendered
// Role(Name='r',_Box.Name=null|'b') (jersey RoleCreateTest, RoleDeleteTest,
// RoleUpdateTest).
func TestRole(t *testing.T) {
	runCRUD(t, crudSpec{
		set: "Role", typ: "CellCtl.Role",
		body:       map[string]any{"Name": "r1"},
		location:   "Role(Name='r1',_Box.Name=null)",
		keys:       []string{"('r1')", "(Name='r1')", "(_Box.Name=null,Name='r1')"},
		props:      map[string]any{"Name": "r1", "_Box.Name": nil},
		put:        map[string]any{"Name": "r1", "_Box.Name": nil},
		putProps:   map[string]any{"Name": "r1", "_Box.Name": nil},
		merge:      map[string]any{"Name": "r1"},
		mergeProps: map[string]any{"Name": "r1", "_Box.Name": nil},
		extra: func(t *testing.T, cell string) {
			create(t, "create box", ctl(cell, "Box"), map[string]any{"Name": "b1"}, nil)
			r := create(t, "create box role", ctl(cell, "Role"), map[string]any{"Name": "r2", "_Box.Name": "b1"}, nil)
			checkCreated(r, ctl(cell, "Role(Name='r2',_Box.Name='b1')"), "CellCtl.Role")
			r.json("d/results/_Box.Name", "b1")
			do(t, "GET box role by compound key", "GET", ctl(cell, "Role(_Box.Name='b1',Name='r2')"), auth(), nil).ok(200)
			do(t, "single key means _Box.Name=null", "GET", ctl(cell, "Role('r2')"), auth(), nil).wantError(404, "PR404-OD-0002")
			create(t, "same name without box", ctl(cell, "Role"), map[string]any{"Name": "r2"}, nil)
			do(t, "duplicate box role", "POST", ctl(cell, "Role"), auth(), `{"Name":"r2","_Box.Name":"b1"}`).wantError(409, "PR409-OD-0003")
			// RoleCreateTest: an unknown box in the body is PR400-OD-0024 "[box] does not exist."
			do(t, "role in a missing box", "POST", ctl(cell, "Role"), auth(), `{"Name":"r3","_Box.Name":"nobox"}`).wantError(400, "PR400-OD-0024")
			// RoleUpdateTest: PUT may move a role into a box and rename it.
			create(t, "create role to move", ctl(cell, "Role"), map[string]any{"Name": "mv"}, nil)
			do(t, "PUT into box", "PUT", ctl(cell, "Role('mv')"), auth("If-Match", "*"), `{"Name":"mv2","_Box.Name":"b1"}`).ok(204)
			do(t, "moved role", "GET", ctl(cell, "Role(Name='mv2',_Box.Name='b1')"), auth(), nil).ok(200)
			do(t, "old key gone", "GET", ctl(cell, "Role('mv')"), auth(), nil).wantError(404, "PR404-OD-0002")
			for _, bad := range []string{"", "_r", "-r", "a b", strings.Repeat("r", 129)} {
				do(t, "bad role name "+bad, "POST", ctl(cell, "Role"), auth(), jsonBody(map[string]any{"Name": bad})).wantError(400, "PR400-OD-0006")
			}
		},
	})
}

// TestRelation: like Role, with the wider name pattern
// ^[a-zA-Z0-9-+][a-zA-Z0-9-_+:]{0,127}$ (model/ctl/Common.java).
func TestRelation(t *testing.T) {
	runCRUD(t, crudSpec{
		set: "Relation", typ: "CellCtl.Relation",
		body:       map[string]any{"Name": "rel1"},
		location:   "Relation(Name='rel1',_Box.Name=null)",
		keys:       []string{"('rel1')", "(Name='rel1')"},
		props:      map[string]any{"Name": "rel1", "_Box.Name": nil},
		put:        map[string]any{"Name": "rel1"},
		putProps:   map[string]any{"Name": "rel1", "_Box.Name": nil},
		merge:      map[string]any{"Name": "rel1"},
		mergeProps: map[string]any{"Name": "rel1", "_Box.Name": nil},
		extra: func(t *testing.T, cell string) {
			create(t, "create box", ctl(cell, "Box"), map[string]any{"Name": "b1"}, nil)
			r := create(t, "relation with + and :", ctl(cell, "Relation"), map[string]any{"Name": "+friend:close", "_Box.Name": "b1"}, nil)
			r.json("d/results/Name", "+friend:close")
			do(t, "GET it", "GET", ctl(cell, "Relation(Name='+friend:close',_Box.Name='b1')"), auth(), nil).ok(200)
			do(t, "relation in a missing box", "POST", ctl(cell, "Relation"), auth(), `{"Name":"r","_Box.Name":"nobox"}`).wantError(400, "PR400-OD-0024")
			do(t, "bad relation name", "POST", ctl(cell, "Relation"), auth(), `{"Name":"a b"}`).wantError(400, "PR400-OD-0006")
		},
	})
}

// TestExtCell: the key is the cell URL, URL-encoded in the path and in
// __metadata.uri (jersey ExtCellReadTest: ExtCell('<URLEncoder.encode(url)>'),
// ExtCellCreateTest for the URL rules).
func TestExtCell(t *testing.T) {
	const u = "https://other.example.org/cellx/"
	runCRUD(t, crudSpec{
		set: "ExtCell", typ: "CellCtl.ExtCell",
		body:       map[string]any{"Url": u},
		location:   "ExtCell('" + enc(u) + "')",
		keys:       []string{"(Url='" + enc(u) + "')"},
		props:      map[string]any{"Url": u},
		put:        map[string]any{"Url": u},
		putProps:   map[string]any{"Url": u},
		merge:      map[string]any{"Url": u},
		mergeProps: map[string]any{"Url": u},
		extra: func(t *testing.T, cell string) {
			r := create(t, "create ExtCell", ctl(cell, "ExtCell"), map[string]any{"Url": u}, nil)
			loc := ctl(cell, "ExtCell('"+enc(u)+"')")
			r.json("d/results/_Role/__deferred/uri", loc+"/_Role")
			r.json("d/results/_Relation/__deferred/uri", loc+"/_Relation")
			do(t, "duplicate ExtCell", "POST", ctl(cell, "ExtCell"), auth(), jsonBody(map[string]any{"Url": u})).wantError(409, "PR409-OD-0003")
			for _, bad := range []string{"https://other.example.org/cellx", "", "ftp://other.example.org/c/",
				"urn:x-personium:test", "http://h.example/a/../b/"} {
				do(t, "bad Url "+bad, "POST", ctl(cell, "ExtCell"), auth(), jsonBody(map[string]any{"Url": bad})).wantError(400, "")
			}
		},
	})
}

// TestExtRole: three-part key ExtRole(ExtRole='<enc url>',_Relation.Name='r',
// _Relation._Box.Name=null|'b') (jersey ExtRoleCreateTest.createExtRole).
func TestExtRole(t *testing.T) {
	const role = "https://app.example.org/appcell/__role/__/r1"
	key := "ExtRole(ExtRole='" + enc(role) + "',_Relation.Name='rel1',_Relation._Box.Name=null)"
	body := map[string]any{"ExtRole": role, "_Relation.Name": "rel1", "_Relation._Box.Name": nil}
	runCRUD(t, crudSpec{
		set: "ExtRole", typ: "CellCtl.ExtRole",
		setup: func(t *testing.T, cell string) {
			create(t, "create relation", ctl(cell, "Relation"), map[string]any{"Name": "rel1"}, nil)
		},
		body:       body,
		location:   key,
		keys:       []string{"(_Relation.Name='rel1',_Relation._Box.Name=null,ExtRole='" + enc(role) + "')"},
		props:      body,
		put:        body,
		putProps:   body,
		merge:      body,
		mergeProps: body,
		extra: func(t *testing.T, cell string) {
			create(t, "create box", ctl(cell, "Box"), map[string]any{"Name": "b1"}, nil)
			create(t, "create box relation", ctl(cell, "Relation"), map[string]any{"Name": "rel2", "_Box.Name": "b1"}, nil)
			b := map[string]any{"ExtRole": role, "_Relation.Name": "rel2", "_Relation._Box.Name": "b1"}
			r := create(t, "ExtRole of a box relation", ctl(cell, "ExtRole"), b, nil)
			checkCreated(r, ctl(cell, "ExtRole(ExtRole='"+enc(role)+"',_Relation.Name='rel2',_Relation._Box.Name='b1')"), "CellCtl.ExtRole")
			do(t, "duplicate ExtRole", "POST", ctl(cell, "ExtRole"), auth(), jsonBody(b)).wantError(409, "PR409-OD-0003")
			do(t, "ExtRole without _Relation.Name", "POST", ctl(cell, "ExtRole"), auth(),
				jsonBody(map[string]any{"ExtRole": role})).wantError(400, "")
			do(t, "ExtRole of a missing relation", "POST", ctl(cell, "ExtRole"), auth(),
				jsonBody(map[string]any{"ExtRole": role, "_Relation.Name": "norel"})).wantError(400, "")
		},
	})
}

// TestBox: Box CRUD; Schema is unique per cell (ODataProducerUtils:
// PR409-OD-0003); the main box "__" always exists and is not an OData Box
// (model/Cell.java getBoxForName, rs/box/BoxResource.java; jersey BoxCrudTest,
// DefaultBoxTest).
func TestBox(t *testing.T) {
	const s1, s2 = "https://app.example.org/app1/", "https://app.example.org/app2/"
	runCRUD(t, crudSpec{
		set: "Box", typ: "CellCtl.Box",
		body:       map[string]any{"Name": "box1", "Schema": s1},
		location:   "Box('box1')",
		keys:       []string{"(Name='box1')"},
		props:      map[string]any{"Name": "box1", "Schema": s1},
		put:        map[string]any{"Name": "box1", "Schema": s2},
		putProps:   map[string]any{"Name": "box1", "Schema": s2},
		merge:      map[string]any{"Name": "box1", "Schema": nil},
		mergeProps: map[string]any{"Name": "box1", "Schema": nil},
		extra: func(t *testing.T, cell string) {
			r := do(t, "GET main box", "GET", cellURL(cell)+"__", auth(), nil)
			if r.ok(200) {
				r.json("box/name", "__")
				r.json("box/url", cellURL(cell)+"__/")
				r.json("cell/name", cell)
			}
			do(t, "box named __", "POST", ctl(cell, "Box"), auth(), `{"Name":"__"}`).wantError(400, "PR400-OD-0006")
			create(t, "box with schema", ctl(cell, "Box"), map[string]any{"Name": "b1", "Schema": s1}, nil)
			do(t, "second box, same schema", "POST", ctl(cell, "Box"), auth(),
				jsonBody(map[string]any{"Name": "b2", "Schema": s1})).wantError(409, "PR409-OD-0003")
			create(t, "second box, other schema", ctl(cell, "Box"), map[string]any{"Name": "b2", "Schema": s2}, nil)
			do(t, "MERGE to a taken schema", "MERGE", ctl(cell, "Box('b2')"), auth("If-Match", "*"),
				jsonBody(map[string]any{"Name": "b2", "Schema": s1})).wantError(409, "PR409-OD-0003")
			create(t, "box with URN schema", ctl(cell, "Box"), map[string]any{"Name": "b3", "Schema": "urn:x-app:example"}, nil)
			do(t, "duplicate box", "POST", ctl(cell, "Box"), auth(), `{"Name":"b1"}`).wantError(409, "PR409-OD-0003")
			for _, bad := range []string{"https://app.example.org/app1", "ftp://app.example.org/x/", "not a url", ""} {
				do(t, "bad Schema "+bad, "POST", ctl(cell, "Box"), auth(),
					jsonBody(map[string]any{"Name": "bx", "Schema": bad})).wantError(400, "")
			}
			for _, bad := range []string{"", "_b", "-b", "a/b", "__ctl", strings.Repeat("b", 129)} {
				do(t, "bad box name "+bad, "POST", ctl(cell, "Box"), auth(), jsonBody(map[string]any{"Name": bad})).wantError(400, "")
			}
		},
	})
}
