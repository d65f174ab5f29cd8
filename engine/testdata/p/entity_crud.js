/*
 * User data CRUD: create returns the entity with __id, retrieve, update (PUT) and merge (MERGE) with ETags, del.
 */
function(request) {
    var t = require("testCommon").checker();

    // Personium keeps dynamic properties as Property entries (IsDeclared false);
    // drop them before their entity type.
    function dropDynamic(schema, type) {
        schema.property.query().top(1000).run().d.results.forEach(function (p) {
            if (p["_EntityType.Name"] === type && p.IsDeclared === false) {
                schema.property.del({Name: p.Name, "_EntityType.Name": type});
            }
        });
    }

    try {
        var box = _p.localbox();
        box.mkOData("crud");
        var od = box.odata("crud");
        od.schema.entityType.create({Name: "Item"});
        var items = od.entitySet("Item");
        var made = items.create({__id: "i1", title: "first", count: 1});
        t.eq(made.__id, "i1", "created __id");
        t.eq(made.title, "first", "created title");
        t.eq(typeof made.__metadata.etag, "string", "created etag");
        var auto = items.create({title: "no id"});
        t.eq(typeof auto.__id, "string", "server-made __id");

        var got = items.retrieve("i1");
        t.eq(got.count, 1, "retrieve");
        items.update("i1", {title: "second"}, got.__metadata.etag);
        got = items.retrieve("i1");
        t.eq(got.title, "second", "after update");
        t.eq(got.count === undefined || got.count === null, true, "update replaces the entity");
        t.fails(412, "update with a stale etag", function () { items.update("i1", {title: "x"}, made.__metadata.etag); });
        items.merge("i1", {count: 5}, "*");
        got = items.retrieve("i1");
        t.eq(got.title + "/" + got.count, "second/5", "merge keeps other fields");
        items.merge("i1", {note: "it's quoted"});
        t.eq(items.retrieve("i1").note, "it's quoted", "merge without an etag");
        t.fails(404, "retrieve a missing entity", function () { items.retrieve("zz"); });
        t.fails(409, "create a duplicate __id", function () { items.create({__id: "i1"}); });
        items.create({__id: "it's", title: "quote in the key"});
        t.eq(items.retrieve("it's").title, "quote in the key", "a key with a quote");

        items.del("it's");
        items.del("i1", items.retrieve("i1").__metadata.etag);
        items.del(auto.__id);
        t.fails(404, "retrieve after del", function () { items.retrieve("i1"); });
        t.fails(404, "entity set that does not exist", function () { od.entitySet("Nope").create({a: 1}); });
        dropDynamic(od.schema, "Item");
        od.schema.entityType.del("Item");
        box.del("crud");
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
