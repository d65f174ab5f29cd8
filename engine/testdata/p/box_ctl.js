/*
 * Box control objects: create with a schema, retrieve, query, use, recursiveDelete and del.
 */
function(request) {
    var failures = [];
    function eq(got, want, what) {
        if (got !== want) {
            failures.push(what + ": got " + JSON.stringify(got) + ", want " + JSON.stringify(want));
        }
    }
    function fails(code, what, fn) {
        try {
            fn();
            failures.push(what + ": no exception");
        } catch (e) {
            if (!(e instanceof _p.PersoniumException) || e.code !== code) {
                failures.push(what + ": " + e.code + " " + e.message + ", want " + code);
            }
        }
    }

    try {
        var cell = _p.as("client").cell();
        var schema = _p.as("client").cell("appcell").getUrl();
        var box = cell.ctl.box.create({Name: "app", Schema: schema});
        eq(box.name, "app", "box name");
        eq(box.schema, schema, "box schema");
        var got = cell.ctl.box.retrieve("app");
        eq(got.schema, schema, "retrieved schema");
        fails(409, "a duplicate box", function () { cell.ctl.box.create({Name: "app"}); });
        var plain = cell.ctl.box.create({Name: "plain"});
        eq(plain.schema, "null", "no schema (Personium shows \"null\")");
        var q = cell.ctl.box.query().filter("startswith(Name,'ap')").select("Name,Schema").run();
        eq(q.d.results.length, 1, "query with filter");
        eq(q.d.results[0].Schema, schema, "queried schema");
        eq(cell.ctl.box.query().inlinecount("allpages").top(1).run().d.__count, "3", "three boxes with inlinecount");

        box.put("x.txt", "text/plain", "in app");
        eq(cell.box("app").getString("x.txt"), "in app", "file in the new box");
        eq(cell.box(schema).name, "app", "box(schema URL) finds the box");
        fails(409, "del of a non-empty box", function () { cell.ctl.box.del("app"); });
        cell.ctl.box.recursiveDelete("app");
        fails(404, "retrieve after recursiveDelete", function () { cell.ctl.box.retrieve("app"); });
        cell.ctl.box.del("plain");
        fails(404, "retrieve after del", function () { cell.ctl.box.retrieve("plain"); });
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
