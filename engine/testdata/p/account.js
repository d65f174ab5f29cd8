/*
 * Accounts: create(json, password), retrieve, query, a duplicate (409),
 * changePassword through the manager and through the accessor, del.
 */
function(request) {
    var t = require("testCommon").checker();

    var cell = _p.as("client").cell();
    var url = cell.getUrl();
    try {
        var acc = cell.ctl.account.create({Name: "alice"}, "alice-pass1");
        t.eq(acc.name, "alice", "created account's name");
        t.eq(cell.ctl.account.retrieve("alice").name, "alice", "retrieve");
        t.fails(409, "a second alice", function () { cell.ctl.account.create({Name: "alice"}, "x-pass-123"); });
        t.fails(404, "retrieve of a missing account", function () { cell.ctl.account.retrieve("nobody"); });

        var list = cell.ctl.account.query().filter("Name eq 'alice'").run();
        t.eq(list.d.results.length, 1, "query by name");
        t.eq(list.d.results[0].Name, "alice", "query result");
        var all = cell.ctl.account.query().orderby("Name").inlinecount("allpages").run();
        t.eq(all.d.__count, "3", "three accounts (alice, engine, user001)");

        // Each password check costs a hash; the test units give a script 500 ms.
        cell.ctl.account.changePassword("alice", "alice-pass2");
        var alice = _p.as({cellUrl: url, userId: "alice", password: "alice-pass2"});
        t.eq(alice.cell().getToken().token_type, "Bearer", "the new password works");
        cell.ctl.account.del("alice");
        t.fails(404, "retrieve after del", function () { cell.ctl.account.retrieve("alice"); });
        t.fails(404, "del again", function () { cell.ctl.account.del("alice"); });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
