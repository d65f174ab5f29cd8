package compattests

import (
	"strings"
	"testing"
)

// TestUserSchema: an OData service collection's schema through
// {od}$metadata/ (rs/box/ODataSvcSchemaResource.java; apiref 316-363).
func TestUserSchema(t *testing.T) {
	box := newBox(t, "odschema")
	od := box + "od/"
	mkcol := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL OData collection", "MKCOL", strings.TrimSuffix(od, "/"), auth("Content-Type", "application/xml"), mkcol).must(201)
	r := create(t, "create EntityType", od+"$metadata/EntityType", map[string]any{"Name": "Diary"}, nil)
	r.json("d/results/Name", "Diary")
	r.jsonMatch("d/results/__metadata/etag", `^W/"1-[0-9]+"$`)
	do(t, "duplicate EntityType", "POST", od+"$metadata/EntityType", auth(), `{"Name":"Diary"}`).wantError(409, "PR409-OD-0003")
	create(t, "create Property", od+"$metadata/Property",
		map[string]any{"Name": "title", "_EntityType.Name": "Diary", "Type": "Edm.String", "Nullable": false}, nil)
	do(t, "Property of an unknown type", "POST", od+"$metadata/Property", auth(),
		`{"Name":"x","_EntityType.Name":"Diary","Type":"Edm.Decimal"}`).wantError(400, "PR400-OD-0006")
	r = do(t, "GET Property by its compound key", "GET", od+"$metadata/Property(Name='title',_EntityType.Name='Diary')", auth(), nil)
	if r.ok(200) {
		r.json("d/results/Type", "Edm.String")
		r.json("d/results/Nullable", false)
		r.json("d/results/CollectionKind", "None")
	}
	r = do(t, "GET $metadata", "GET", od+"$metadata", auth("Accept", ""), nil)
	if r.ok(200) {
		for _, s := range []string{`Namespace="UserData"`, `<EntityType Name="Diary" OpenType="true">`, `<Property Name="title" Type="Edm.String" Nullable="false"/>`} {
			if !strings.Contains(string(r.Body), s) {
				r.fail("EDMX lacks %s", s)
			}
		}
	}
	r = do(t, "service document", "GET", od, auth("Accept", "application/json"), nil)
	if r.ok(200) {
		r.json("d/EntitySets", []any{"Diary"})
	}
	do(t, "DELETE an EntityType with properties", "DELETE", od+"$metadata/EntityType('Diary')", auth(), nil).wantError(409, "PR409-OD-0001")
	do(t, "DELETE the Property", "DELETE", od+"$metadata/Property(Name='title',_EntityType.Name='Diary')", auth(), nil).must(204)
	do(t, "DELETE the EntityType", "DELETE", od+"$metadata/EntityType('Diary')", auth(), nil).must(204)
}

// TestUserDataBasics: entities of a declared type (rs/odata/ODataEntitiesResource.java,
// ODataEntityResource.java; apiref 364-378): create with and without __id,
// typed validation, dynamic properties, retrieve, filter, MERGE, delete.
func TestUserDataBasics(t *testing.T) {
	box := newBox(t, "oddata")
	od := box + "od/"
	mkcol := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL OData collection", "MKCOL", strings.TrimSuffix(od, "/"), auth("Content-Type", "application/xml"), mkcol).must(201)
	create(t, "EntityType", od+"$metadata/EntityType", map[string]any{"Name": "Note"}, nil)
	create(t, "Property", od+"$metadata/Property", map[string]any{"Name": "stars", "_EntityType.Name": "Note", "Type": "Edm.Int32", "DefaultValue": "3"}, nil)
	r := create(t, "entity with __id", od+"Note", map[string]any{"__id": "n1", "text": "hello"}, nil)
	r.json("d/results/__id", "n1")
	r.json("d/results/stars", float64(3))
	r.json("d/results/text", "hello")
	r.jsonMatch("d/results/__metadata/etag", `^W/"1-[0-9]+"$`)
	r = create(t, "entity without __id", od+"Note", map[string]any{"stars": 5}, nil)
	r.jsonMatch("d/results/__id", `^.+$`)
	do(t, "a string where Edm.Int32 is declared", "POST", od+"Note", auth(), `{"stars":"many"}`).wantError(400, "PR400-OD-0006")
	do(t, "duplicate __id", "POST", od+"Note", auth(), `{"__id":"n1"}`).wantError(409, "PR409-OD-0003")
	r = do(t, "filter on a declared property", "GET", od+"Note"+qs("$filter", "stars ge 4", "$inlinecount", "allpages"), auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "1")
	}
	do(t, "MERGE", "MERGE", od+"Note('n1')", auth(), `{"stars":4}`).must(204)
	r = do(t, "GET after MERGE", "GET", od+"Note('n1')", auth(), nil)
	if r.ok(200) {
		r.json("d/results/stars", float64(4))
		r.json("d/results/text", "hello")
	}
	do(t, "rename a Property of a type with data", "PUT", od+"$metadata/Property(Name='stars',_EntityType.Name='Note')", auth("If-Match", "*"),
		`{"Name":"rating","_EntityType.Name":"Note","Type":"Edm.Int32","DefaultValue":"3"}`).must(204)
	r = do(t, "GET after the rename", "GET", od+"Note('n1')", auth(), nil)
	if r.ok(200) {
		r.json("d/results/rating", float64(4))
		r.absent("d/results/stars")
	}
	do(t, "DELETE", "DELETE", od+"Note('n1')", auth(), nil).must(204)
	do(t, "GET deleted", "GET", od+"Note('n1')", auth(), nil).wantError(404, "PR404-OD-0002")
}

// TestUserDataNavigationAndBatch: an association declared by linking
// AssociationEnds, entities linked through it, and a $batch changeset
// (apiref 318-322, 364-378, 368).
func TestUserDataNavigationAndBatch(t *testing.T) {
	box := newBox(t, "odnav")
	od := box + "od/"
	mkcol := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL OData collection", "MKCOL", strings.TrimSuffix(od, "/"), auth("Content-Type", "application/xml"), mkcol).must(201)
	for _, et := range []string{"Author", "Book"} {
		create(t, "EntityType "+et, od+"$metadata/EntityType", map[string]any{"Name": et}, nil)
	}
	create(t, "end on Author", od+"$metadata/AssociationEnd", map[string]any{"Name": "wrote", "_EntityType.Name": "Author", "Multiplicity": "*"}, nil)
	create(t, "end on Book", od+"$metadata/AssociationEnd", map[string]any{"Name": "by", "_EntityType.Name": "Book", "Multiplicity": "*"}, nil)
	do(t, "link the ends", "POST", od+"$metadata/AssociationEnd(Name='wrote',_EntityType.Name='Author')/$links/_AssociationEnd", auth(),
		`{"uri":"`+od+`$metadata/AssociationEnd(Name='by',_EntityType.Name='Book')"}`).must(204)
	create(t, "author", od+"Author", map[string]any{"__id": "a1", "name": "Soseki"}, nil)
	create(t, "book through the navigation property", od+"Author('a1')/_Book", map[string]any{"__id": "b1", "title": "Kokoro"}, nil)
	r := do(t, "list through the navigation property", "GET", od+"Author('a1')/_Book", auth(), nil)
	if r.ok(200) {
		r.json("d/results/0/__id", "b1")
	}
	r = do(t, "$links", "GET", od+"Book('b1')/$links/_Author", auth(), nil)
	if r.ok(200) {
		r.jsonMatch("d/results/0/uri", `Author\('a1'\)$`)
	}
	// Deleting an entity deletes its N:N links along with it
	// (Personium UserDataLinkTest: "link済みのユーザデータを削除できること").
	create(t, "a second book through the navigation property", od+"Author('a1')/_Book", map[string]any{"__id": "b9", "title": "Mon"}, nil)
	do(t, "delete an entity linked N:N", "DELETE", od+"Book('b9')", auth(), nil).must(204)
	r = do(t, "the author's books after the delete", "GET", od+"Author('a1')/_Book"+qs("$inlinecount", "allpages"), auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "1")
		r.json("d/results/0/__id", "b1")
	}
	// The one side of a 0..1:N association is kept while the many side
	// is linked to it; the many side goes with its link ("できないこと
	// _AssociationEndがアスタ対0").
	create(t, "EntityType Shelf", od+"$metadata/EntityType", map[string]any{"Name": "Shelf"}, nil)
	create(t, "end on Shelf", od+"$metadata/AssociationEnd", map[string]any{"Name": "holds", "_EntityType.Name": "Shelf", "Multiplicity": "0..1"}, nil)
	create(t, "end on Book", od+"$metadata/AssociationEnd", map[string]any{"Name": "on", "_EntityType.Name": "Book", "Multiplicity": "*"}, nil)
	do(t, "link the shelf ends", "POST", od+"$metadata/AssociationEnd(Name='holds',_EntityType.Name='Shelf')/$links/_AssociationEnd", auth(),
		`{"uri":"`+od+`$metadata/AssociationEnd(Name='on',_EntityType.Name='Book')"}`).must(204)
	create(t, "shelf", od+"Shelf", map[string]any{"__id": "s1"}, nil)
	create(t, "book on the shelf", od+"Shelf('s1')/_Book", map[string]any{"__id": "b8", "title": "Botchan"}, nil)
	do(t, "delete the one side while linked", "DELETE", od+"Shelf('s1')", auth(), nil).wantError(409, "PR409-OD-0001")
	do(t, "delete the many side", "DELETE", od+"Book('b8')", auth(), nil).must(204)
	r = do(t, "the shelf's books after the delete", "GET", od+"Shelf('s1')/_Book"+qs("$inlinecount", "allpages"), auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "0")
	}
	do(t, "delete the one side, no longer linked", "DELETE", od+"Shelf('s1')", auth(), nil).must(204)

	body := "--batch_x\r\nContent-Type: multipart/mixed; boundary=changeset_x\r\n\r\n" +
		"--changeset_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
		"POST Book HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"__id\":\"b2\",\"title\":\"Sanshiro\"}\r\n" +
		"--changeset_x\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
		"POST Book HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"__id\":\"b1\",\"title\":\"duplicate\"}\r\n" +
		"--changeset_x--\r\n\r\n--batch_x--\r\n"
	r = do(t, "a changeset with a duplicate", "POST", od+"$batch", auth("Content-Type", "multipart/mixed; boundary=batch_x"), body)
	if r.ok(202) && !strings.Contains(string(r.Body), "409") {
		r.fail("want the changeset's 409")
	}
	do(t, "nothing of the failed changeset", "GET", od+"Book('b2')", auth(), nil).wantError(404, "PR404-OD-0002")

	// A malformed part (no Content-Type: application/http) refuses the
	// whole $batch before anything runs (BatchBodyParser).
	malformed := "--batch_y\r\nContent-Type: multipart/mixed; boundary=changeset_y\r\n\r\n" +
		"--changeset_y\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
		"POST Book HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"__id\":\"b3\",\"title\":\"Mon\"}\r\n" +
		"--changeset_y--\r\n\r\n--batch_y--\r\n"
	do(t, "a malformed part", "POST", od+"$batch", auth("Content-Type", "multipart/mixed; boundary=batch_y"), malformed).wantError(400, "PR400-OD-0021")
	do(t, "nothing of the malformed batch", "GET", od+"Book('b3')", auth(), nil).wantError(404, "PR404-OD-0002")
}

// TestUserDataQueries: the query options over user data (apiref 400-408):
// typed $filter on declared and dynamic properties, $orderby, $top,
// $skip, $select, $inlinecount and q.
func TestUserDataQueries(t *testing.T) {
	box := newBox(t, "odquery")
	od := box + "od/"
	mkcol := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL OData collection", "MKCOL", strings.TrimSuffix(od, "/"), auth("Content-Type", "application/xml"), mkcol).must(201)
	create(t, "EntityType", od+"$metadata/EntityType", map[string]any{"Name": "City"}, nil)
	create(t, "Property", od+"$metadata/Property", map[string]any{"Name": "pop", "_EntityType.Name": "City", "Type": "Edm.Int32"}, nil)
	for i, c := range []struct {
		name string
		pop  int
	}{{"Tokyo", 37}, {"Osaka", 19}, {"Nagoya", 9}, {"Sapporo", 2}, {"Kyoto", 1}} {
		create(t, "city "+c.name, od+"City", map[string]any{"__id": c.name, "pop": c.pop, "rank": i + 1, "note": c.name + " 市"}, nil)
	}
	list := func(step, query string, wantIDs ...string) *res {
		t.Helper()
		r := do(t, step, "GET", od+"City"+query, auth(), nil)
		if !r.ok(200) {
			return r
		}
		var got []string
		for _, e := range r.list("d/results") {
			got = append(got, e.(map[string]any)["__id"].(string))
		}
		if strings.Join(got, ",") != strings.Join(wantIDs, ",") {
			r.fail("got %v, want %v", got, wantIDs)
		}
		return r
	}
	list("declared Int32 range", qs("$filter", "pop ge 9", "$orderby", "pop desc"), "Tokyo", "Osaka", "Nagoya")
	list("dynamic number", qs("$filter", "rank lt 3", "$orderby", "rank"), "Tokyo", "Osaka")
	list("startswith", qs("$filter", "startswith(__id,'S')"), "Sapporo")
	list("$top and $skip", qs("$orderby", "pop", "$top", "2", "$skip", "1"), "Sapporo", "Nagoya")
	r := list("$inlinecount", qs("$filter", "pop lt 10", "$orderby", "pop", "$inlinecount", "allpages", "$top", "1"), "Kyoto")
	r.json("d/__count", "3")
	list("q (CJK, substring)", qs("q", "市", "$orderby", "pop desc", "$top", "2"), "Tokyo", "Osaka")
	r = list("$select", qs("$select", "pop", "$filter", "__id eq 'Kyoto'"), "Kyoto")
	r.absent("d/results/0/note")
	do(t, "$filter comparing a declared Int32 with a string", "GET", od+"City"+qs("$filter", "pop eq 'many'"), auth(), nil).wantError(400, "PR400-OD-0046")
	do(t, "$filter syntax error", "GET", od+"City"+qs("$filter", "pop eq"), auth(), nil).wantError(400, "PR400-OD-0003")
}
