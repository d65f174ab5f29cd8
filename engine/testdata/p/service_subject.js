/*
 * The service subject (p:service subject="engine"): its token, and what it may do that user001 may not.
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
        var cell = _p.as("serviceSubject").cell();
        var tok = cell.getToken();
        eq(typeof tok.access_token, "string", "subject token");
        eq(tok.access_token.length > 0, true, "subject token is not empty");
        eq(cell.getUrl(), _p.as("client").cell().getUrl(), "subject's cell is the script's cell");
        cell.ctl.account.create({Name: "bysubject"});
        eq(_p.as("client").cell().ctl.account.retrieve("bysubject").name, "bysubject", "created by the subject");
        _p.as("serviceSubject").cell().box().put("s.txt", "text/plain", "subject wrote");
        eq(_p.localbox().getString("s.txt"), "subject wrote", "subject writes the box");
        var user = _p.as({cellUrl: cell.getUrl(), userId: "user001", password: "pass001"}).cell();
        fails(403, "user001 may not create accounts", function () { user.ctl.account.create({Name: "byuser"}); });
        fails(403, "user001 may not read the box", function () { user.box("box1").getString("s.txt"); });
        var byToken = _p.as({accessToken: tok.access_token}).cell();
        eq(byToken.box("box1").getString("s.txt"), "subject wrote", "as({accessToken})");
        _p.localbox().del("s.txt");
        cell.ctl.account.del("bysubject");
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
