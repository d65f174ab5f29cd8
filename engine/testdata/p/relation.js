/*
 * Relations: create with and without a box, retrieve/del by {Name, _Box.Name}, links to roles and ExtCells.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var cell = _p.as("client").cell();
        var rel = cell.ctl.relation.create({Name: "friend"});
        t.eq(rel.name, "friend", "relation name");
        t.eq(rel.boxName, "null", "relation without a box");
        var boxRel = cell.ctl.relation.create({Name: "colleague", "_Box.Name": "box1"});
        t.eq(boxRel.boxName, "box1", "box relation");
        t.eq(cell.ctl.relation.retrieve({Name: "colleague", "_Box.Name": "box1"}).name, "colleague", "retrieve");
        t.eq(cell.ctl.relation.retrieve({Name: "friend"}).name, "friend", "retrieve without a box");
        t.fails(409, "duplicate relation", function () { cell.ctl.relation.create({Name: "friend"}); });
        t.eq(cell.ctl.relation.query().run().d.results.length, 2, "two relations");

        var role = cell.ctl.role.create({Name: "pal", "_Box.Name": "box1"});
        var ext = cell.ctl.extCell.create({Url: _p.as("client").cell("other").getUrl()});
        rel.role.link(role);
        rel.extCell.link(ext);
        t.fails(409, "link twice", function () { rel.role.link(role); });
        rel.role.unLink(role);
        rel.extCell.unLink(ext);

        cell.ctl.extCell.del(ext.url);
        cell.ctl.role.del({Name: "pal", "_Box.Name": "box1"});
        cell.ctl.relation.del({Name: "friend"});
        cell.ctl.relation.del({Name: "colleague", "_Box.Name": "box1"});
        t.fails(404, "retrieve after del", function () { cell.ctl.relation.retrieve({Name: "friend"}); });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
