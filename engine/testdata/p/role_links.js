/*
 * Roles and their links: cell-level and box roles (ctl.role with
 * _Box.Name, box.ctl.role), retrieve/del by {Name, _Box.Name},
 * account.role.link/unLink, seen through what the account may then read.
 */
function(request) {
    var t = require("testCommon").checker();

    var cell = _p.as("client").cell();
    var url = cell.getUrl();
    var box = cell.box("box1");
    try {
        var plain = cell.ctl.role.create({Name: "plain"});
        t.eq(plain.name, "plain", "role name");
        t.eq(plain.boxName, "null", "no box (Personium shows \"null\")");
        var viewer = cell.ctl.role.create({Name: "viewer", "_Box.Name": "box1"});
        t.eq(viewer.boxName, "box1", "box role");
        var editor = box.ctl.role.create({Name: "editor"});
        t.eq(editor.boxName, "box1", "box.ctl.role sets the box");
        t.eq(cell.ctl.role.retrieve({Name: "viewer", "_Box.Name": "box1"}).name, "viewer", "retrieve box role");
        t.eq(box.ctl.role.retrieve("editor").name, "editor", "box.ctl.role.retrieve");
        t.eq(cell.ctl.role.retrieve({Name: "plain"}).boxName, "null", "retrieve cell role");
        t.fails(404, "retrieve with the wrong box", function () { cell.ctl.role.retrieve({Name: "viewer"}); });
        t.fails(409, "a duplicate role", function () { cell.ctl.role.create({Name: "viewer", "_Box.Name": "box1"}); });
        t.eq(box.ctl.role.query().run().d.results.length, 2, "box roles listed (viewer, editor)");

        box.put("secret.txt", "text/plain", "for viewers");
        box.acl.set({ace: [{role: "engineRole", privilege: ["all"]}, {role: viewer, privilege: ["read"]}]});

        var user = _p.as({cellUrl: url, userId: "user001", password: "pass001"});
        t.fails(403, "user001 without a role", function () { user.cell().box("box1").getString("secret.txt"); });

        var acc = cell.ctl.account.retrieve("user001");
        acc.role.link(viewer);
        acc.role.link(plain);
        t.fails(409, "the same link twice", function () { acc.role.link(viewer); });
        t.eq(user.cell().box("box1").getString("secret.txt"), "for viewers", "user001 reads as viewer");

        viewer.account.unLink(acc);
        acc.role.unLink(plain);
        t.fails(403, "user001 after unLink", function () { user.cell().box("box1").getString("secret.txt"); });

        box.acl.set({ace: [{role: "engineRole", privilege: ["all"]}]});
        box.del("secret.txt");
        box.ctl.role.del("editor");
        cell.ctl.role.del({Name: "viewer", "_Box.Name": "box1"});
        cell.ctl.role.del({Name: "plain"});
        t.fails(404, "retrieve after del", function () { cell.ctl.role.retrieve({Name: "plain"}); });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
