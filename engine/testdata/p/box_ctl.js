/*
 * Box control objects: create with a schema, retrieve, query, use, recursiveDelete and del.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var cell = _p.as("client").cell();
        var schema = _p.as("client").cell("appcell").getUrl();
        var box = cell.ctl.box.create({Name: "app", Schema: schema});
        t.eq(box.name, "app", "box name");
        t.eq(box.schema, schema, "box schema");
        var got = cell.ctl.box.retrieve("app");
        t.eq(got.schema, schema, "retrieved schema");
        t.fails(409, "a duplicate box", function () { cell.ctl.box.create({Name: "app"}); });
        var plain = cell.ctl.box.create({Name: "plain"});
        t.eq(plain.schema, "null", "no schema (Personium shows \"null\")");
        var q = cell.ctl.box.query().filter("startswith(Name,'ap')").select("Name,Schema").run();
        t.eq(q.d.results.length, 1, "query with filter");
        t.eq(q.d.results[0].Schema, schema, "queried schema");
        t.eq(cell.ctl.box.query().inlinecount("allpages").top(1).run().d.__count, "3", "three boxes with inlinecount");

        box.put("x.txt", "text/plain", "in app");
        t.eq(cell.box("app").getString("x.txt"), "in app", "file in the new box");
        t.eq(cell.box(schema).name, "app", "box(schema URL) finds the box");
        t.fails(409, "del of a non-empty box", function () { cell.ctl.box.del("app"); });
        cell.ctl.box.recursiveDelete("app");
        t.fails(404, "retrieve after recursiveDelete", function () { cell.ctl.box.retrieve("app"); });
        cell.ctl.box.del("plain");
        t.fails(404, "retrieve after del", function () { cell.ctl.box.retrieve("plain"); });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
