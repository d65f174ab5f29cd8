/*
 * The service subject (p:service subject="engine"): its token, and what it may do that user001 may not.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var cell = _p.as("serviceSubject").cell();
        var tok = cell.getToken();
        t.eq(typeof tok.access_token, "string", "subject token");
        t.eq(tok.access_token.length > 0, true, "subject token is not empty");
        t.eq(cell.getUrl(), _p.as("client").cell().getUrl(), "subject's cell is the script's cell");
        cell.ctl.account.create({Name: "bysubject"});
        t.eq(_p.as("client").cell().ctl.account.retrieve("bysubject").name, "bysubject", "created by the subject");
        _p.as("serviceSubject").cell().box().put("s.txt", "text/plain", "subject wrote");
        t.eq(_p.localbox().getString("s.txt"), "subject wrote", "subject writes the box");
        var user = _p.as({cellUrl: cell.getUrl(), userId: "user001", password: "pass001"}).cell();
        t.fails(403, "user001 may not create accounts", function () { user.ctl.account.create({Name: "byuser"}); });
        t.fails(403, "user001 may not read the box", function () { user.box("box1").getString("s.txt"); });
        var byToken = _p.as({accessToken: tok.access_token}).cell();
        t.eq(byToken.box("box1").getString("s.txt"), "subject wrote", "as({accessToken})");
        _p.localbox().del("s.txt");
        cell.ctl.account.del("bysubject");
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
