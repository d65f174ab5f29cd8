/*
 * ExtCells and ExtRoles: create, retrieve by URL, 409 on a duplicate, links to roles and relations, del.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var cell = _p.as("client").cell();
        var otherUrl = _p.as("client").cell("elsewhere").getUrl();
        var ext = cell.ctl.extCell.create({Url: otherUrl});
        t.eq(ext.url, otherUrl, "ExtCell url");
        t.fails(409, "the same ExtCell twice", function () { cell.ctl.extCell.create({Url: otherUrl}); });
        t.eq(cell.ctl.extCell.retrieve(otherUrl).url, otherUrl, "retrieve by URL");
        t.fails(404, "retrieve a missing ExtCell", function () { cell.ctl.extCell.retrieve(otherUrl + "x/"); });

        var role = cell.ctl.role.create({Name: "guest"});
        ext.role.link(role);
        role.extCell.unLink(ext);

        var rel = cell.ctl.relation.create({Name: "partner", "_Box.Name": "box1"});
        var er = cell.ctl.extRole.create({ExtRole: otherUrl + "__role/__/visitor", "_Relation.Name": "partner", "_Relation._Box.Name": "box1"});
        t.eq(er.name, otherUrl + "__role/__/visitor", "ExtRole name");
        t.eq(er.relationName, "partner", "ExtRole relation");
        t.eq(er.relationBoxName, "box1", "ExtRole relation box");
        var key = {ExtRole: otherUrl + "__role/__/visitor", "_Relation.Name": "partner", "_Relation._Box.Name": "box1"};
        t.eq(cell.ctl.extRole.retrieve(key).relationName, "partner", "retrieve ExtRole");
        er.role.link(role);
        er.role.unLink(role);
        cell.ctl.extRole.del(key);
        t.fails(404, "ExtRole after del", function () { cell.ctl.extRole.retrieve(key); });

        cell.ctl.relation.del({Name: "partner", "_Box.Name": "box1"});
        cell.ctl.role.del({Name: "guest"});
        cell.ctl.extCell.del(otherUrl);
        t.fails(404, "ExtCell after del", function () { cell.ctl.extCell.retrieve(otherUrl); });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
