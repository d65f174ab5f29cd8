/*
 * ACLs through _p: box, collection and cell acl.set/get with role objects,
 * names, _ALL and requireSchemaAuthz; the cell ACL is restored afterwards.
 */
function(request) {
    var t = require("testCommon").checker();
    function aceOf(acl, role) {
        for (var i = 0; i < acl.ace.length; i++) {
            var r = acl.ace[i].role;
            if (r === role || r.slice(-role.length - 1) === "/" + role) {
                return acl.ace[i];
            }
        }
        return null;
    }
    function privs(ace) {
        return ace ? ace.privilege.slice().sort().join(",") : "(no ace)";
    }

    var cell = _p.as("client").cell();
    var before = null;
    try {
        var box = cell.ctl.box.create({Name: "aclbox", Schema: null});
        var reader = cell.ctl.role.create({Name: "reader"});
        var boxed = cell.ctl.role.create({Name: "boxed", "_Box.Name": "aclbox"});

        box.acl.set({requireSchemaAuthz: "public", ace: [
            {role: reader, privilege: ["read", "write"]},
            {role: boxed, privilege: ["read-acl"]},
            {role: "_ALL", privilege: ["exec"]}
        ]});
        var got = box.acl.get();
        t.eq(got.requireSchemaAuthz, "public", "box requireSchemaAuthz");
        t.eq(privs(aceOf(got, "reader")), "read,write", "reader's privileges");
        t.eq(privs(aceOf(got, "_ALL")), "exec", "everyone's privileges");
        t.eq(privs(aceOf(got, "boxed")), "read-acl", "box role's privileges");
        t.eq(aceOf(got, "boxed").role, "boxed", "a role of the box is named relative to base");
        t.eq(typeof got.base, "string", "base is a string");

        box.mkCol("col");
        box.col("col").acl.set({ace: [{role: reader, privilege: ["read"]}]});
        var colAcl = box.col("col").acl.get();
        t.eq(colAcl.requireSchemaAuthz, "", "no requireSchemaAuthz on col");
        t.eq(privs(aceOf(colAcl, "reader")), "read", "col ace");

        before = cell.acl.get();
        t.eq(privs(aceOf(before, "engineRole")), "root", "the cell grants engineRole root");
        cell.acl.set({ace: [
            {role: {Name: "engineRole"}, privilege: ["root"]},
            {role: reader, privilege: ["auth-read", "social"]}
        ]});
        var cellAcl = cell.acl.get();
        t.eq(cellAcl.requireSchemaAuthz, "", "cell requireSchemaAuthz");
        t.eq(privs(aceOf(cellAcl, "reader")), "auth-read,social", "cell ace of reader");
        t.eq(privs(aceOf(cellAcl, "engineRole")), "root", "cell ace of engineRole");

        box.col("col").acl.set({ace: []});
        t.eq(box.col("col").acl.get().ace.length, 0, "emptied col acl");
        box.del("col");
        box.acl.set({ace: []});
        cell.ctl.role.del({Name: "boxed", "_Box.Name": "aclbox"});
        cell.ctl.box.del("aclbox");
    } catch (e) {
        t.unexpected(e);
    }
    try {
        cell.acl.set({ace: [{role: "engineRole", privilege: ["root"]}]});
        t.eq(privs(aceOf(cell.acl.get(), "engineRole")), "root", "cell acl restored");
        cell.ctl.role.del({Name: "reader"});
    } catch (e) {
        t.unexpected(e, "cleanup");
    }
    return t.response();
}
