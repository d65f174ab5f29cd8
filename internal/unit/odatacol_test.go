package unit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/dav/lock"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/unit"
	"github.com/personium-go/personium/swarm/swarmtest"
)

const odataMkcol = `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`

func TestUserSchema(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	if m := e.must(200, "GET", "c/__/od", "", "Accept", "application/json").json(t); len(m["d"].(map[string]any)["EntitySets"].([]any)) != 0 {
		t.Errorf("a new collection lists sets: %v", m)
	}
	meta := "c/__/od/$metadata/"
	e.must(201, "POST", meta+"EntityType", `{"Name":"Person"}`)
	want := wanter(t, e.env)
	want(409, "PR409-OD-0003", "POST", meta+"EntityType", `{"Name":"Person"}`)
	want(400, "PR400-OD-0006", "POST", meta+"EntityType", `{"Name":"_bad"}`)
	want(201, "", "POST", meta+"Property", `{"Name":"age","_EntityType.Name":"Person","Type":"Edm.Int32","DefaultValue":"0"}`)
	want(400, "PR400-OD-0006", "POST", meta+"Property", `{"Name":"x","_EntityType.Name":"Person","Type":"Edm.Float"}`)
	want(400, "PR400-OD-0006", "POST", meta+"Property", `{"Name":"y","_EntityType.Name":"Person","Type":"Edm.Int32","DefaultValue":"1.5"}`)
	want(400, "PR400-OD-0006", "POST", meta+"Property", `{"Name":"z","_EntityType.Name":"Person","Type":"Edm.DateTime","DefaultValue":"yesterday"}`)
	want(201, "", "POST", meta+"Property", `{"Name":"born","_EntityType.Name":"Person","Type":"Edm.DateTime","DefaultValue":"SYSUTCDATETIME()"}`)
	want(400, "PR400-OD-0009", "POST", meta+"Property", `{"Name":"t","_EntityType.Name":"Person"}`)
	want(400, "PR400-OD-0024", "POST", meta+"Property", `{"Name":"t","_EntityType.Name":"Nobody","Type":"Edm.String"}`)
	want(400, "PR400-OD-0007", "POST", meta+"EntityType", `{"Name":"X","Extra":1}`)
	want(201, "", "POST", meta+"ComplexType", `{"Name":"Address"}`)
	want(201, "", "POST", meta+"ComplexType('Address')/_ComplexTypeProperty", `{"Name":"city","Type":"Edm.String"}`)
	want(201, "", "POST", meta+"Property", `{"Name":"home","_EntityType.Name":"Person","Type":"Address","Nullable":true}`)
	want(400, "PR400-OD-0006", "POST", meta+"Property", `{"Name":"work","_EntityType.Name":"Person","Type":"Address","DefaultValue":"x"}`)
	want(400, "PR400-OD-0032", "POST", meta+"ComplexTypeProperty", `{"Name":"self","_ComplexType.Name":"Address","Type":"Address"}`)
	// Updates: a rename, or Edm.Int32 to Edm.Double; nothing else.
	want(400, "PR400-OD-0042", "PUT", meta+"Property(Name='age',_EntityType.Name='Person')", `{"Name":"age","_EntityType.Name":"Person","Type":"Edm.String","DefaultValue":"0"}`)
	want(204, "", "PUT", meta+"Property(Name='age',_EntityType.Name='Person')", `{"Name":"years","_EntityType.Name":"Person","Type":"Edm.Double","DefaultValue":"0"}`)
	want(501, "PR501-MC-0001", "MERGE", meta+"Property(Name='years',_EntityType.Name='Person')", `{"Nullable":false}`)
	want(501, "PR501-MC-0001", "MERGE", meta+"ComplexType('Address')", `{"Name":"A2"}`)
	// What still depends on a schema object keeps it.
	want(409, "PR409-OD-0001", "DELETE", meta+"EntityType('Person')", "")
	want(409, "PR409-OD-0001", "DELETE", meta+"ComplexType('Address')", "")
	want(409, "PR409-OD-0001", "PUT", meta+"ComplexType('Address')", `{"Name":"Place"}`)
	want(201, "", "POST", meta+"AssociationEnd", `{"Name":"toPet","_EntityType.Name":"Person","Multiplicity":"*"}`)
	want(400, "PR400-OD-0006", "POST", meta+"AssociationEnd", `{"Name":"bad","_EntityType.Name":"Person","Multiplicity":"2"}`)
	want(400, "PR400-OD-0042", "PUT", meta+"AssociationEnd(Name='toPet',_EntityType.Name='Person')", `{"Name":"toPet","_EntityType.Name":"Person","Multiplicity":"1"}`)

	r := e.must(200, "GET", "c/__/od/$metadata", "")
	for _, s := range []string{`Namespace="UserData"`, `<EntityType Name="Person" OpenType="true">`, `<PropertyRef Name="__id"/>`,
		`<Property Name="years" Type="Edm.Double" Nullable="true" DefaultValue="0"/>`, `<Property Name="home" Type="UserData.Address" Nullable="true"/>`,
		`<ComplexType Name="Address"><Property Name="city" Type="Edm.String" Nullable="true"/></ComplexType>`, `<EntitySet Name="Person" EntityType="UserData.Person"/>`} {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("$metadata lacks %s: %s", s, r.body)
		}
	}
	if r := e.must(200, "GET", "c/__/od/$metadata/$metadata", ""); !strings.Contains(string(r.body), `Namespace="ODataSvcSchema"`) {
		t.Errorf("the schema of the schema: %s", r.body)
	}
	if r := e.must(200, "GET", "c/__/od", ""); !strings.Contains(string(r.body), `<collection href="Person">`) {
		t.Errorf("service document: %s", r.body)
	}
	e.must(200, "GET", "c/__/od/Person", "")
	// OData keys may hold what no WebDAV name may: still the collection's.
	want(404, "PR404-OD-0002", "GET", "c/__/od/Person('a%2Fb')", "")
	want(404, "PR404-OD-0002", "GET", meta+"EntityType('a%2Fb')", "")

	// The schema moves with its collection and goes with it.
	e.must(201, "MOVE", "c/__/od", "", "Destination", e.url+"c/__/od2")
	e.must(200, "GET", "c/__/od2/$metadata/EntityType('Person')", "")
	want(403, "PR403-DV-0003", "DELETE", "c/__/od2", "")
	e.must(204, "DELETE", "c/__/od2", "", "X-Personium-Recursive", "true")
	e.must(201, "MKCOL", "c/__/od2", odataMkcol, "Content-Type", "application/xml")
	e.must(404, "GET", "c/__/od2/$metadata/EntityType('Person')", "")
}

func TestUserSchemaPrivileges(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	for _, p := range []string{"read", "alter-schema"} {
		e.must(201, "POST", "c/__ctl/Role", `{"Name":"`+p+`"}`)
		e.must(201, "POST", "c/__ctl/Account", `{"Name":"`+p+`"}`, "X-Personium-Credential", "password1")
		e.must(204, "POST", "c/__ctl/Account('"+p+"')/$links/_Role", `{"uri":"`+e.url+`c/__ctl/Role('`+p+`')"}`)
	}
	e.must(200, "ACL", "c/__/od", `<D:acl xmlns:D="DAV:" xml:base="`+e.url+`c/__role/__/"><D:ace><D:principal><D:href>read</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace><D:ace><D:principal><D:href>alter-schema</D:href></D:principal><D:grant><D:privilege><D:alter-schema/></D:privilege></D:grant></D:ace></D:acl>`)
	reader := e.login("c", "read", "password1")["access_token"].(string)
	alterer := e.login("c", "alter-schema", "password1")["access_token"].(string)
	e.as(reader, 200, "GET", "c/__/od/$metadata", "")
	e.as(reader, 403, "POST", "c/__/od/$metadata/EntityType", `{"Name":"T"}`)
	e.as(alterer, 201, "POST", "c/__/od/$metadata/EntityType", `{"Name":"T"}`)
	e.as(alterer, 403, "GET", "c/__/od/$metadata", "")
	e.as(reader, 200, "GET", "c/__/od/$metadata/EntityType('T')", "")
	e.as(reader, 200, "GET", "c/__/od/T", "")
	e.as(reader, 403, "POST", "c/__/od/T", `{"x":1}`)
	e.as(alterer, 403, "POST", "c/__/od/T", `{"x":1}`)
	e.as(reader, 403, "DELETE", "c/__/od/$metadata/EntityType('T')", "")
}

func TestUserSchemaLimit(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	for i := 0; i < 100; i++ {
		e.must(201, "POST", "c/__/od/$metadata/EntityType", `{"Name":"T`+itoa(i)+`"}`)
	}
	if code := errCode(t, e.must(400, "POST", "c/__/od/$metadata/EntityType", `{"Name":"T100"}`)); code != "PR400-OD-0033" {
		t.Errorf("the 101st entity type: %s", code)
	}
}

func TestUserData(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	meta, od := "c/__/od/$metadata/", "c/__/od/"
	e.must(201, "POST", meta+"EntityType", `{"Name":"Person"}`)
	e.must(201, "POST", meta+"Property", `{"Name":"name","_EntityType.Name":"Person","Type":"Edm.String","Nullable":false}`)
	e.must(201, "POST", meta+"Property", `{"Name":"age","_EntityType.Name":"Person","Type":"Edm.Int32","DefaultValue":"0"}`)
	e.must(201, "POST", meta+"Property", `{"Name":"since","_EntityType.Name":"Person","Type":"Edm.DateTime","DefaultValue":"SYSUTCDATETIME()"}`)
	want := wanter(t, e.env)
	r := want(201, "", "POST", od+"Person", `{"__id":"p1","name":"Ann","hobby":"chess"}`)
	res := r.json(t)["d"].(map[string]any)["results"].(map[string]any)
	if res["__id"] != "p1" || res["age"] != float64(0) || res["hobby"] != "chess" || res["since"] == nil {
		t.Errorf("created: %v", res)
	}
	want(201, "", "POST", od+"Person", `{"name":"Bob","age":42}`)
	// An undeclared member is registered in the schema, typed by its value.
	if r := want(200, "", "GET", "c/__/od/$metadata", ""); !strings.Contains(string(r.body), `<Property Name="hobby" Type="Edm.String" Nullable="true" p:IsDeclared="false"/>`) {
		t.Errorf("dynamic property not registered: %s", r.body)
	}
	want(400, "PR400-OD-0006", "POST", od+"Person", `{"name":"Eve","hobby":5}`)
	if r := want(200, "", "GET", meta+"Property(Name='hobby',_EntityType.Name='Person')", ""); !strings.Contains(string(r.body), `"IsDeclared":false`) {
		t.Errorf("dynamic property row: %s", r.body)
	}
	want(409, "PR409-OD-0003", "POST", od+"Person", `{"__id":"p1","name":"Again"}`)
	want(400, "PR400-OD-0006", "POST", od+"Person", `{"name":"C","age":"old"}`)
	want(400, "PR400-OD-0009", "POST", od+"Person", `{"age":3}`)
	want(404, "", "POST", od+"Nobody", `{"name":"x"}`)
	r = want(200, "", "GET", od+"Person?$filter=age+gt+10&$inlinecount=allpages", "")
	if d := r.json(t)["d"].(map[string]any); d["__count"] != "1" {
		t.Errorf("filtered list: %v", d)
	}
	want(204, "", "MERGE", od+"Person('p1')", `{"age":30}`)
	if r := want(200, "", "GET", od+"Person('p1')", ""); !strings.Contains(string(r.body), `"age":30`) || !strings.Contains(string(r.body), `"hobby":"chess"`) {
		t.Errorf("after MERGE: %s", r.body)
	}
	// With data: the schema keeps what the data needs.
	want(409, "PR409-OD-0001", "DELETE", meta+"Property(Name='age',_EntityType.Name='Person')", "")
	want(400, "PR400-OD-0006", "POST", meta+"Property", `{"Name":"must","_EntityType.Name":"Person","Type":"Edm.String","Nullable":false}`)
	want(201, "", "POST", meta+"Property", `{"Name":"may","_EntityType.Name":"Person","Type":"Edm.String"}`)
	want(409, "PR409-OD-0001", "DELETE", meta+"Property(Name='may',_EntityType.Name='Person')", "") // the type holds data
	// A rename of a property carries its values (Personium renames with
	// data too), and filters and orders find them under the new name.
	want(204, "", "MERGE", od+"Person('p1')", `{"may":"perhaps"}`)
	want(204, "", "PUT", meta+"Property(Name='may',_EntityType.Name='Person')", `{"Name":"might","_EntityType.Name":"Person","Type":"Edm.String"}`)
	if r := want(200, "", "GET", od+"Person('p1')", ""); !strings.Contains(string(r.body), `"might":"perhaps"`) || strings.Contains(string(r.body), `"may"`) {
		t.Errorf("after the rename: %s", r.body)
	}
	if r := want(200, "", "GET", od+"Person?$filter=might+eq+'perhaps'&$inlinecount=allpages", ""); !strings.Contains(string(r.body), `"__count":"1"`) {
		t.Errorf("filter on the renamed property: %s", r.body)
	}
	if r := want(200, "", "GET", od+"Person?$filter=may+eq+'perhaps'", ""); strings.Contains(string(r.body), `perhaps`) {
		t.Errorf("the old name still finds the value: %s", r.body)
	}
	want(204, "", "PUT", meta+"Property(Name='might',_EntityType.Name='Person')", `{"Name":"may","_EntityType.Name":"Person","Type":"Edm.String"}`)
	// A rename of the entity type carries its data.
	e.must(204, "PUT", meta+"EntityType('Person')", `{"Name":"Human"}`)
	want(200, "", "GET", od+"Human('p1')", "")
	want(409, "PR409-OD-0001", "DELETE", meta+"EntityType('Human')", "")
	want(204, "", "DELETE", od+"Human('p1')", "")
	want(404, "PR404-OD-0002", "GET", od+"Human('p1')", "")

	// Deleting the collection deletes its schema and data: nothing is left.
	e.must(204, "DELETE", "c/__/od", "", "X-Personium-Recursive", "true")
	c, err := e.cells.Get(context.Background(), "c")
	if err != nil {
		t.Fatal(err)
	}
	left, err := e.store.Query(context.Background(), &metastore.Query{AnyKind: true, Cell: c.ID, AnyParent: true, Limit: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range left.Docs {
		if d.Kind != "Account" && d.Kind != "AccountSecret" {
			t.Errorf("left behind: %s %s %s", d.Kind, d.Key, d.Body)
		}
	}
}

func TestUserNavigation(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	meta, od := "c/__/od/$metadata/", "c/__/od/"
	want := wanter(t, e.env)
	for _, et := range []string{"Person", "Pet", "Toy"} {
		e.must(201, "POST", meta+"EntityType", `{"Name":"`+et+`"}`)
	}
	end := func(name, et, mult string) string {
		e.must(201, "POST", meta+"AssociationEnd", `{"Name":"`+name+`","_EntityType.Name":"`+et+`","Multiplicity":"`+mult+`"}`)
		return e.url + meta + "AssociationEnd(Name='" + name + "',_EntityType.Name='" + et + "')"
	}
	pets, owner := end("pets", "Person", "0..1"), end("owner", "Pet", "*")
	link := func(status int, code, from, to string) {
		t.Helper()
		want(status, code, "POST", strings.TrimPrefix(from, e.url)+"/$links/_AssociationEnd", `{"uri":"`+to+`"}`)
	}
	link(204, "", pets, owner)
	link(409, "PR409-OD-0002", pets, end("other", "Pet", "*"))
	link(400, "PR400-OD-0031", end("one1", "Person", "1"), end("one2", "Toy", "1"))
	link(409, "PR409-OD-0006", end("again", "Person", "*"), end("again2", "Pet", "*"))
	r := want(200, "", "GET", "c/__/od/$metadata", "")
	for _, s := range []string{`<Association Name="Pet-Person-assoc">`, `<End Role="Pet:owner" Type="UserData.Pet" Multiplicity="*"/>`,
		`<NavigationProperty Name="_Pet" Relationship="UserData.Pet-Person-assoc" FromRole="Person:pets" ToRole="Pet:owner"/>`,
		`<AssociationSet Name="Pet-Person-assoc" Association="UserData.Pet-Person-assoc">`} {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("$metadata lacks %s: %s", s, r.body)
		}
	}

	// User data along the association: a person has many pets, a pet one owner.
	want(201, "", "POST", od+"Person", `{"__id":"p1"}`)
	want(201, "", "POST", od+"Person", `{"__id":"p2"}`)
	want(201, "", "POST", od+"Person('p1')/_Pet", `{"__id":"d1","name":"Rex"}`)
	want(201, "", "POST", od+"Pet", `{"__id":"d2"}`)
	want(204, "", "POST", od+"Person('p1')/$links/_Pet", `{"uri":"`+e.url+od+`Pet('d2')"}`)
	if r := want(200, "", "GET", od+"Person('p1')/_Pet?$inlinecount=allpages", ""); !strings.Contains(string(r.body), `"__count":"2"`) {
		t.Errorf("p1's pets: %s", r.body)
	}
	if r := want(200, "", "GET", od+"Pet('d1')/_Person", ""); !strings.Contains(string(r.body), `"__id":"p1"`) {
		t.Errorf("d1's owner: %s", r.body)
	}
	want(409, "PR409-OD-0002", "POST", od+"Pet('d1')/$links/_Person", `{"uri":"`+e.url+od+`Person('p2')"}`)
	want(409, "PR409-OD-0002", "POST", od+"Person('p2')/$links/_Pet", `{"uri":"`+e.url+od+`Pet('d1')"}`)
	if r := want(200, "", "GET", od+"Person('p1')?$expand=_Pet", ""); !strings.Contains(string(r.body), `"name":"Rex"`) {
		t.Errorf("$expand: %s", r.body)
	}
	// $select inside $expand (Personium issue 247).
	want(201, "", "POST", od+"Person('p1')/_Pet", `{"__id":"d3","name":"Tama","color":"black"}`)
	r = want(200, "", "GET", od+"Person('p1')?$expand=_Pet&$select=_Pet/name", "")
	if b := string(r.body); !strings.Contains(b, `"name":"Tama"`) || strings.Contains(b, `"color"`) {
		t.Errorf("$select=_Pet/name: %s", b)
	}
	want(400, "PR400-OD-0017", "GET", od+"Person('p1')?$expand=_Pet&$select=_Nope/name", "")
	// Expanded entities come newest first (apiref 405).
	if b := string(want(200, "", "GET", od+"Person('p1')?$expand=_Pet", "").body); !(strings.Index(b, `"__id":"d3"`) < strings.Index(b, `"__id":"d2"`) &&
		strings.Index(b, `"__id":"d2"`) < strings.Index(b, `"__id":"d1"`)) {
		t.Errorf("$expand order: %s", b)
	}
	// The one side of 0..1:N is kept while pets are linked to it; a pet
	// (the many side) is deleted with its link (Personium findMultiPoint).
	want(409, "PR409-OD-0001", "DELETE", od+"Person('p1')", "")
	want(204, "", "DELETE", od+"Person('p1')/$links/_Pet('d1')", "")
	want(204, "", "POST", od+"Pet('d1')/$links/_Person", `{"uri":"`+e.url+od+`Person('p2')"}`)
	want(204, "", "DELETE", od+"Pet('d2')", "") // linked to p1
	if r := want(200, "", "GET", od+"Person('p1')/_Pet?$inlinecount=allpages", ""); !strings.Contains(string(r.body), `"__count":"1"`) ||
		strings.Contains(string(r.body), `"d2"`) {
		t.Errorf("p1's pets after deleting d2: %s", r.body)
	}
	want(204, "", "DELETE", od+"Person('p1')/$links/_Pet('d3')", "")
	want(204, "", "DELETE", od+"Person('p1')", "")
	if r := want(200, "", "GET", od+"Pet('d1')/_Person", ""); !strings.Contains(string(r.body), `"__id":"p2"`) {
		t.Errorf("d1's owner after deleting p1: %s", r.body)
	}
}

// TestUserDataIndexes: a filter on a declared property uses an index,
// not a scan of the entity set (the planner's choice is checked).
func TestUserDataIndexes(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	e.must(201, "POST", "c/__/od/$metadata/EntityType", `{"Name":"Reading"}`)
	e.must(201, "POST", "c/__/od/$metadata/Property", `{"Name":"value","_EntityType.Name":"Reading","Type":"Edm.Int32"}`)
	for i := 0; i < 300; i++ {
		e.must(201, "POST", "c/__/od/Reading", `{"value":`+itoa(i)+`,"note":"reading number n`+itoa(i)+`x"}`)
	}
	ctx := context.Background()
	c, _ := e.cells.Get(ctx, "c")
	ets, err := e.store.Query(ctx, &metastore.Query{Kind: "EntityType", Cell: c.ID, AnyParent: true, Limit: -1})
	if err != nil || len(ets.Docs) != 1 {
		t.Fatalf("entity types: %v %v", ets, err)
	}
	ex, ok := e.store.(metastore.Explainer)
	if !ok {
		t.Skip("the store cannot explain its plans")
	}

	for _, f := range []metastore.Expr{
		metastore.Cmp{Field: "value", Op: metastore.Eq, Value: int64(42)},
		metastore.Cmp{Field: "value", Op: metastore.Gt, Value: int64(190)},
	} {
		plan, err := ex.Explain(ctx, &metastore.Query{Kind: "UD." + ets.Docs[0].ID, Cell: c.ID,
			Parent: ets.Docs[0].Parent + "/data", Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(plan, " | ")
		if !strings.Contains(joined, "USING INDEX docs_field_") && !strings.Contains(joined, "USING COVERING INDEX docs_field_") {
			t.Errorf("filter %v: plan %s", f, joined)
		}
	}
	if r := e.must(200, "GET", "c/__/od/Reading?$filter=value+eq+42&$inlinecount=allpages", ""); !strings.Contains(string(r.body), `"__count":"1"`) {
		t.Errorf("filtered: %s", r.body)
	}
	if r := e.must(200, "GET", "c/__/od/Reading?q=NUMBER+N142X&$inlinecount=allpages", ""); !strings.Contains(string(r.body), `"__count":"1"`) {
		t.Errorf("q: %s", r.body)
	}
	// q searches the type's full-text index, not every entity.
	plan, err := ex.Explain(ctx, &metastore.Query{Kind: "UD." + ets.Docs[0].ID, Cell: c.ID,
		Parent: ets.Docs[0].Parent + "/data", Text: "words 42"})
	if err != nil {
		t.Fatal(err)
	}
	if joined := strings.Join(plan, " | "); !strings.Contains(joined, "docs_text") {
		t.Errorf("q: plan %s", joined)
	}
}

func TestUserComplexAndList(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	meta, od := "c/__/od/$metadata/", "c/__/od/"
	e.must(201, "POST", meta+"EntityType", `{"Name":"Person"}`)
	e.must(201, "POST", meta+"ComplexType", `{"Name":"Geo"}`)
	e.must(201, "POST", meta+"ComplexTypeProperty", `{"Name":"lat","_ComplexType.Name":"Geo","Type":"Edm.Double"}`)
	e.must(201, "POST", meta+"ComplexType", `{"Name":"Address"}`)
	e.must(201, "POST", meta+"ComplexTypeProperty", `{"Name":"city","_ComplexType.Name":"Address","Type":"Edm.String","Nullable":false}`)
	e.must(201, "POST", meta+"ComplexTypeProperty", `{"Name":"zip","_ComplexType.Name":"Address","Type":"Edm.Int32","DefaultValue":"0"}`)
	e.must(201, "POST", meta+"ComplexTypeProperty", `{"Name":"geo","_ComplexType.Name":"Address","Type":"Geo"}`)
	e.must(201, "POST", meta+"Property", `{"Name":"home","_EntityType.Name":"Person","Type":"Address"}`)
	e.must(201, "POST", meta+"Property", `{"Name":"tags","_EntityType.Name":"Person","Type":"Edm.String","CollectionKind":"List"}`)
	e.must(201, "POST", meta+"Property", `{"Name":"seen","_EntityType.Name":"Person","Type":"Edm.DateTime"}`)
	want := wanter(t, e.env)
	want(201, "", "POST", od+"Person", `{"__id":"p1","home":{"city":"Kyoto","geo":{"lat":35.0}},"tags":["a","b"]}`)
	r := want(200, "", "GET", od+"Person('p1')", "")
	for _, s := range []string{`"home":{"city":"Kyoto","geo":{"lat":35},"zip":0}`, `"tags":["a","b"]`} {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("stored entity lacks %s: %s", s, r.body)
		}
	}
	// MERGE merges complex values member by member (apiref 369).
	want(204, "", "MERGE", od+"Person('p1')", `{"home":{"zip":9}}`)
	r = want(200, "", "GET", od+"Person('p1')", "")
	if !strings.Contains(string(r.body), `"home":{"city":"Kyoto","geo":{"lat":35},"zip":9}`) || !strings.Contains(string(r.body), `"tags":["a","b"]`) {
		t.Errorf("after MERGE of one member: %s", r.body)
	}
	want(204, "", "MERGE", od+"Person('p1')", `{"home":{"geo":{"lat":36.5}},"tags":["c"]}`)
	r = want(200, "", "GET", od+"Person('p1')", "")
	if !strings.Contains(string(r.body), `"home":{"city":"Kyoto","geo":{"lat":36.5},"zip":9}`) || !strings.Contains(string(r.body), `"tags":["c"]`) {
		t.Errorf("after MERGE of a nested member and a list: %s", r.body)
	}
	// SYSUTCDATETIME() is the server's time (apiref 364).
	before := time.Now().UnixMilli()
	want(201, "", "POST", od+"Person", `{"__id":"p3","seen":"SYSUTCDATETIME()"}`)
	r = want(200, "", "GET", od+"Person('p3')", "")
	var got struct {
		D struct{ Results struct{ Seen string } }
	}
	_ = json.Unmarshal(r.body, &got)
	var ms int64
	if _, err := fmt.Sscanf(got.D.Results.Seen, "/Date(%d)/", &ms); err != nil || ms < before || ms > time.Now().UnixMilli() {
		t.Errorf("SYSUTCDATETIME(): %s", r.body)
	}
	// Dynamic property names become schema Properties: Personium's
	// PATTERN_USERDATA_KEY, else 400 and nothing stored.
	for _, bad := range []string{`""`, `"_a"`, `"-a"`, `"a/b"`, `"日本"`, `"` + strings.Repeat("a", 129) + `"`} {
		want(400, "PR400-OD-0006", "POST", od+"Person", `{"__id":"bad",`+bad+`:1}`)
	}
	want(404, "PR404-OD-0002", "GET", od+"Person('bad')", "")
	// More new dynamic properties than the entity type may have: 400,
	// and neither the entity nor any property is made.
	var many strings.Builder
	many.WriteString(`{"__id":"wide"`)
	for i := 0; i < 401; i++ {
		fmt.Fprintf(&many, `,"d%d":%d`, i, i)
	}
	many.WriteString("}")
	want(400, "PR400-OD-0032", "POST", od+"Person", many.String())
	want(404, "PR404-OD-0002", "GET", od+"Person('wide')", "")
	if r := want(200, "", "GET", "c/__/od/$metadata", ""); strings.Contains(string(r.body), `Name="d400"`) {
		t.Errorf("a refused entity registered its properties")
	}
	// A Double may come as a number in a string, with Java's d suffix
	// (UserData*DoublePropertyTest).
	want(201, "", "POST", od+"Person", `{"__id":"p4","home":{"city":"x","geo":{"lat":"1234567890.12345d"}}}`)
	if r := want(200, "", "GET", od+"Person('p4')", ""); !strings.Contains(string(r.body), `"lat":1234567890.12345`) {
		t.Errorf("a Double given as a string: %s", r.body)
	}
	want(400, "PR400-OD-0006", "POST", od+"Person", `{"home":{"city":"x","geo":{"lat":"NaN"}}}`)
	// With nothing to merge into, the value must be whole.
	want(201, "", "POST", od+"Person", `{"__id":"p2"}`)
	want(400, "PR400-OD-0009", "MERGE", od+"Person('p2')", `{"home":{"zip":1}}`)
	want(400, "PR400-OD-0006", "POST", od+"Person", `{"home":{"city":1}}`)
	want(400, "PR400-OD-0007", "POST", od+"Person", `{"home":{"city":"x","country":"y"}}`)
	want(400, "PR400-OD-0009", "POST", od+"Person", `{"home":{"zip":1}}`)
	want(400, "PR400-OD-0006", "POST", od+"Person", `{"home":{"city":"x","geo":{"lat":"north"}}}`)
	want(400, "PR400-OD-0006", "POST", od+"Person", `{"tags":"a"}`)
	want(400, "PR400-OD-0006", "POST", od+"Person", `{"tags":[1]}`)
	// Data now depends on Address and Geo.
	want(400, "PR400-OD-0006", "POST", meta+"ComplexTypeProperty", `{"Name":"street","_ComplexType.Name":"Address","Type":"Edm.String","Nullable":false}`)
	want(400, "PR400-OD-0006", "POST", meta+"ComplexTypeProperty", `{"Name":"lng","_ComplexType.Name":"Geo","Type":"Edm.Double","Nullable":false}`)
	want(409, "PR409-OD-0001", "DELETE", meta+"ComplexTypeProperty(Name='zip',_ComplexType.Name='Address')", "")
	want(201, "", "POST", meta+"ComplexTypeProperty", `{"Name":"street","_ComplexType.Name":"Address","Type":"Edm.String"}`)
	if r := want(200, "", "GET", "c/__/od/$metadata", ""); !strings.Contains(string(r.body), `<Property Name="tags" Type="Edm.String" Nullable="true" CollectionKind="List"/>`) {
		t.Errorf("EDMX list property: %s", r.body)
	}
}

func TestUserDataBatch(t *testing.T) {
	e := newAuthEnv(t)
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	e.must(201, "POST", "c/__/od/$metadata/EntityType", `{"Name":"Note"}`)
	e.must(201, "POST", "c/__/od/$metadata/Property", `{"Name":"n","_EntityType.Name":"Note","Type":"Edm.Int32"}`)
	batch := func(parts ...string) string {
		var b strings.Builder
		b.WriteString("--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_1\r\n\r\n")
		for _, p := range parts {
			b.WriteString("--changeset_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n")
			b.WriteString(p)
			b.WriteString("\r\n")
		}
		b.WriteString("--changeset_1--\r\n\r\n--batch_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET Note?$inlinecount=allpages HTTP/1.1\r\n\r\n--batch_1--\r\n")
		return b.String()
	}
	post := func(body string) string {
		return "POST Note HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + body
	}
	ct := "multipart/mixed; boundary=batch_1"
	r := e.must(202, "POST", "c/__/od/$batch", batch(post(`{"__id":"a","n":1,"extra":"x"}`), post(`{"__id":"b","n":2,"extra":"y"}`)), "Content-Type", ct)
	if !strings.Contains(string(r.body), "HTTP/1.1 201 Created") || !strings.Contains(string(r.body), `"__count":"2"`) {
		t.Errorf("batch answer: %s", r.body)
	}
	// A failing changeset leaves no trace: the valid create before the
	// failing one is not applied either.
	r = e.must(202, "POST", "c/__/od/$batch", batch(post(`{"__id":"c","n":3}`), post(`{"__id":"d","n":"four"}`)), "Content-Type", ct)
	if !strings.Contains(string(r.body), "400 Bad Request") || !strings.Contains(string(r.body), `"__count":"2"`) {
		t.Errorf("failing changeset: %s", r.body)
	}
	e.must(404, "GET", "c/__/od/Note('c')", "")
	// A changeset the store refuses as a whole (a duplicate __id) too.
	r = e.must(202, "POST", "c/__/od/$batch", batch(post(`{"__id":"e","n":5}`), post(`{"__id":"a","n":6}`)), "Content-Type", ct)
	if !strings.Contains(string(r.body), "409 Conflict") {
		t.Errorf("duplicate in a changeset: %s", r.body)
	}
	e.must(404, "GET", "c/__/od/Note('e')", "")
	// Later requests of a changeset see what earlier ones wrote
	// (Personium UserDataBatchTest: POST, then PUT of the same entity).
	put := "PUT Note('f') HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + `{"n":7}`
	merge := "MERGE Note('f') HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + `{"extra":"z"}`
	r = e.must(202, "POST", "c/__/od/$batch", batch(post(`{"__id":"f","n":6}`), put, merge), "Content-Type", ct)
	if strings.Count(string(r.body), "HTTP/1.1 204 No Content") != 2 || !strings.Contains(string(r.body), "HTTP/1.1 201 Created") {
		t.Errorf("POST, PUT and MERGE of one entity in a changeset: %s", r.body)
	}
	if r := e.must(200, "GET", "c/__/od/Note('f')", ""); !strings.Contains(string(r.body), `"n":7`) || !strings.Contains(string(r.body), `"extra":"z"`) ||
		!strings.Contains(string(r.body), `W/\"3-`) {
		t.Errorf("after the changeset: %s", r.body)
	}
	del := "DELETE Note('f') HTTP/1.1\r\n\r\n"
	r = e.must(202, "POST", "c/__/od/$batch", batch(del, put), "Content-Type", ct)
	if !strings.Contains(string(r.body), "404 Not Found") {
		t.Errorf("PUT after DELETE in a changeset: %s", r.body)
	}
	e.must(200, "GET", "c/__/od/Note('f')", "") // that changeset failed as a whole
	if code := errCode(t, e.must(400, "POST", "c/__/od/$batch", "--nope\r\n", "Content-Type", ct)); code != "PR400-OD-0023" {
		t.Errorf("malformed batch: %s", code)
	}
}

// wanter returns a request checker: the request must answer status and,
// when code is set, that Personium error code.
func wanter(t *testing.T, e *env) func(status int, code, method, path, body string, hdr ...string) *resp {
	return func(status int, code, method, path, body string, hdr ...string) *resp {
		t.Helper()
		r := e.do(method, path, body, hdr...)
		if r.status != status || (code != "" && errCode(t, r) != code) {
			t.Errorf("%s %s %s: %d %s, want %d %s", method, path, body, r.status, r.body, status, code)
		}
		return r
	}
}

// TestSchemaCacheAcrossServers: two servers on one store each cache the
// user schema; a schema change made through one is seen by the other at
// once (the version document), so data is never validated against a
// stale schema.
func TestSchemaCacheAcrossServers(t *testing.T) {
	e1 := newAuthEnv(t)
	e2 := newAuthEnvConfig(t, nil, func(c *unit.Config) {
		c.Cells = e1.cells
		c.Authn = nil
		c.Authorizer = unit.ACLAuthorizer{Cells: e1.cells}
		c.DAV = dav.New(dav.Config{Meta: e1.store, Content: &swarmtest.MemStore{}, Encrypt: true,
			Locks: &lock.Manager{Store: e1.store}, NewID: e1.cells.NewID})
	})
	want1, want2 := wanter(t, e1.env), wanter(t, e2.env)
	e1.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e1.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	e1.must(201, "POST", "c/__/od/$metadata/EntityType", `{"Name":"T"}`)
	want1(201, "", "POST", "c/__/od/T", `{"__id":"t1","a":1}`) // server 1 caches the schema
	want2(201, "", "POST", "c/__/od/$metadata/Property", `{"Name":"b","_EntityType.Name":"T","Type":"Edm.Int32"}`)
	want1(400, "PR400-OD-0006", "POST", "c/__/od/T", `{"__id":"t2","b":"not a number"}`)
	want1(201, "", "POST", "c/__/od/T", `{"__id":"t3","b":3}`)
	want2(400, "", "POST", "c/__/od/T", `{"__id":"t4","a":"a string where a Double was registered"}`)
}

// searchLagStore is a store whose queries do not yet see the documents
// created since a moment (Unix ms; 0: they see everything), while Get
// and GetKey see every write at once: Elasticsearch's realtime GET
// before the refresh that makes a write searchable.
type searchLagStore struct {
	metastore.Store
	since atomic.Int64
}

func (s *searchLagStore) Query(ctx context.Context, q *metastore.Query) (*metastore.Result, error) {
	res, err := s.Store.Query(ctx, q)
	since := s.since.Load()
	if err != nil || since == 0 {
		return res, err
	}
	out := &metastore.Result{Count: res.Count}
	for _, d := range res.Docs {
		if d.Published < since {
			out.Docs = append(out.Docs, d)
		} else if q.Count {
			out.Count--
		}
	}
	return out, nil
}

// TestSchemaCacheTTL: a server whose store let it read a schema change's
// new version but not yet its documents built the old schema under the
// new version; with SchemaCacheTTL it builds it again once the documents
// are searchable, instead of keeping it until the next schema change.
func TestSchemaCacheTTL(t *testing.T) {
	e1 := newAuthEnv(t)
	lagging := &searchLagStore{Store: e1.store}
	cells2 := cell.NewManager(lagging)
	e2 := newAuthEnvConfig(t, nil, func(c *unit.Config) {
		c.Cells = cells2
		c.Authn = nil
		c.Authorizer = unit.ACLAuthorizer{Cells: cells2}
		c.DAV = dav.New(dav.Config{Meta: lagging, Content: &swarmtest.MemStore{}, Encrypt: true,
			Locks: &lock.Manager{Store: lagging}, NewID: cells2.NewID})
		c.SchemaCacheTTL = time.Nanosecond
	})
	want2 := wanter(t, e2.env)
	e1.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e1.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	e1.must(201, "POST", "c/__/od/$metadata/EntityType", `{"Name":"T"}`)
	want2(201, "", "POST", "c/__/od/T", `{"__id":"t1","a":1}`)

	time.Sleep(2 * time.Millisecond)
	lagging.since.Store(time.Now().UnixMilli())
	time.Sleep(2 * time.Millisecond)
	e1.must(201, "POST", "c/__/od/$metadata/Property", `{"Name":"b","_EntityType.Name":"T","Type":"Edm.Int32"}`)
	want2(200, "", "GET", "c/__/od/T", "") // builds T without b, at the version with b
	lagging.since.Store(0)
	time.Sleep(2 * time.Millisecond)
	want2(400, "PR400-OD-0006", "POST", "c/__/od/T", `{"__id":"t2","b":"not a number"}`)
	want2(201, "", "POST", "c/__/od/T", `{"__id":"t3","b":3}`)
}
