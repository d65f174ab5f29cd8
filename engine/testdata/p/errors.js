/*
 * PersoniumException: thrown for every HTTP error with code (a number) and message (the body), and for bad parameters.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var box = _p.localbox();
        try {
            box.getString("missing.txt");
            t.fail("no exception for a missing file");
        } catch (e) {
            t.eq(e instanceof _p.PersoniumException, true, "instanceof PersoniumException");
            t.eq(e instanceof Error, true, "instanceof Error");
            t.eq(e.code, 404, "code");
            t.eq(typeof e.code, "number", "code is a number");
            t.eq(e.name, "_p.PersoniumException", "name");
            var body = JSON.parse(e.message);
            t.eq(body.code.indexOf("PR404-"), 0, "message is the error body");
        }
        t.fails(0, "unknown accessor", function () { _p.as("nobody"); });
        t.fails(0, "as() with no usable field", function () { _p.as({cellUrl: "x"}); });
        t.fails(0, "put without a path", function () { box.put({contentType: "text/plain", data: "x"}); });
        t.fails(0, "a host outside this unit", function () { _p.as("client").cell("http://example.invalid/other/").box("b").getString("x"); });
        t.fails(401, "a bad token", function () { _p.as({accessToken: "AR~nonsense"}).cell().box("box1").getString("x"); });
        t.fails(404, "a missing cell", function () { _p.as("client").cell("no-such-cell").ctl.account.retrieve("a"); });

        var pe = new _p.PersoniumException("409,{\"code\":\"PR409-OD-0003\"}");
        t.eq(pe.code, 409, "code parsed from the message");
        t.eq(pe.message, "{\"code\":\"PR409-OD-0003\"}", "message after the code");
        var je = new _p.PersoniumException("io.personium.client.DaoException: 412,body");
        t.eq(je.code + "|" + je.message, "412|body", "Java-style message");
        var plain = new _p.PersoniumException("just text");
        t.eq(plain.code + "|" + plain.message, "0|just text", "plain message");
        var two = new _p.PersoniumException("text", 418);
        t.eq(two.code + "|" + two.message, "418|text", "message and code");
        var thrownInScript = false;
        try {
            throw new _p.PersoniumException("mine", 400);
        } catch (e) {
            thrownInScript = e.code === 400 && e.message === "mine";
        }
        t.eq(thrownInScript, true, "scripts can throw it");
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
