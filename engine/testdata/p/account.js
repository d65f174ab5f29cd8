/*
 * Accounts: create(json, password), retrieve, query, a duplicate (409),
 * changePassword through the manager and through the accessor, del.
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

    var cell = _p.as("client").cell();
    var url = cell.getUrl();
    try {
        var acc = cell.ctl.account.create({Name: "alice"}, "alice-pass1");
        eq(acc.name, "alice", "created account's name");
        eq(cell.ctl.account.retrieve("alice").name, "alice", "retrieve");
        fails(409, "a second alice", function () { cell.ctl.account.create({Name: "alice"}, "x-pass-123"); });
        fails(404, "retrieve of a missing account", function () { cell.ctl.account.retrieve("nobody"); });

        var list = cell.ctl.account.query().filter("Name eq 'alice'").run();
        eq(list.d.results.length, 1, "query by name");
        eq(list.d.results[0].Name, "alice", "query result");
        var all = cell.ctl.account.query().orderby("Name").inlinecount("allpages").run();
        eq(all.d.__count, "3", "three accounts (alice, engine, user001)");

        // Each password check costs a hash; the test units give a script 500 ms.
        cell.ctl.account.changePassword("alice", "alice-pass2");
        var alice = _p.as({cellUrl: url, userId: "alice", password: "alice-pass2"});
        eq(alice.cell().getToken().token_type, "Bearer", "the new password works");
        cell.ctl.account.del("alice");
        fails(404, "retrieve after del", function () { cell.ctl.account.retrieve("alice"); });
        fails(404, "del again", function () { cell.ctl.account.del("alice"); });
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
