/*
 * Relations: create with and without a box, retrieve/del by {Name, _Box.Name}, links to roles and ExtCells.
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
        var rel = cell.ctl.relation.create({Name: "friend"});
        eq(rel.name, "friend", "relation name");
        eq(rel.boxName, "null", "relation without a box");
        var boxRel = cell.ctl.relation.create({Name: "colleague", "_Box.Name": "box1"});
        eq(boxRel.boxName, "box1", "box relation");
        eq(cell.ctl.relation.retrieve({Name: "colleague", "_Box.Name": "box1"}).name, "colleague", "retrieve");
        eq(cell.ctl.relation.retrieve({Name: "friend"}).name, "friend", "retrieve without a box");
        fails(409, "duplicate relation", function () { cell.ctl.relation.create({Name: "friend"}); });
        eq(cell.ctl.relation.query().run().d.results.length, 2, "two relations");

        var role = cell.ctl.role.create({Name: "pal", "_Box.Name": "box1"});
        var ext = cell.ctl.extCell.create({Url: _p.as("client").cell("other").getUrl()});
        rel.role.link(role);
        rel.extCell.link(ext);
        fails(409, "link twice", function () { rel.role.link(role); });
        rel.role.unLink(role);
        rel.extCell.unLink(ext);

        cell.ctl.extCell.del(ext.url);
        cell.ctl.role.del({Name: "pal", "_Box.Name": "box1"});
        cell.ctl.relation.del({Name: "friend"});
        cell.ctl.relation.del({Name: "colleague", "_Box.Name": "box1"});
        fails(404, "retrieve after del", function () { cell.ctl.relation.retrieve({Name: "friend"}); });
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
