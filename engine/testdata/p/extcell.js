/*
 * ExtCells and ExtRoles: create, retrieve by URL, 409 on a duplicate, links to roles and relations, del.
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
        var otherUrl = _p.as("client").cell("elsewhere").getUrl();
        var ext = cell.ctl.extCell.create({Url: otherUrl});
        eq(ext.url, otherUrl, "ExtCell url");
        fails(409, "the same ExtCell twice", function () { cell.ctl.extCell.create({Url: otherUrl}); });
        eq(cell.ctl.extCell.retrieve(otherUrl).url, otherUrl, "retrieve by URL");
        fails(404, "retrieve a missing ExtCell", function () { cell.ctl.extCell.retrieve(otherUrl + "x/"); });

        var role = cell.ctl.role.create({Name: "guest"});
        ext.role.link(role);
        role.extCell.unLink(ext);

        var rel = cell.ctl.relation.create({Name: "partner", "_Box.Name": "box1"});
        var er = cell.ctl.extRole.create({ExtRole: otherUrl + "__role/__/visitor", "_Relation.Name": "partner", "_Relation._Box.Name": "box1"});
        eq(er.name, otherUrl + "__role/__/visitor", "ExtRole name");
        eq(er.relationName, "partner", "ExtRole relation");
        eq(er.relationBoxName, "box1", "ExtRole relation box");
        var key = {ExtRole: otherUrl + "__role/__/visitor", "_Relation.Name": "partner", "_Relation._Box.Name": "box1"};
        eq(cell.ctl.extRole.retrieve(key).relationName, "partner", "retrieve ExtRole");
        er.role.link(role);
        er.role.unLink(role);
        cell.ctl.extRole.del(key);
        fails(404, "ExtRole after del", function () { cell.ctl.extRole.retrieve(key); });

        cell.ctl.relation.del({Name: "partner", "_Box.Name": "box1"});
        cell.ctl.role.del({Name: "guest"});
        cell.ctl.extCell.del(otherUrl);
        fails(404, "ExtCell after del", function () { cell.ctl.extCell.retrieve(otherUrl); });
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
