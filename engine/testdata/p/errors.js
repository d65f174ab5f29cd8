/*
 * PersoniumException: thrown for every HTTP error with code (a number) and message (the body), and for bad parameters.
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
        var box = _p.localbox();
        try {
            box.getString("missing.txt");
            failures.push("no exception for a missing file");
        } catch (e) {
            eq(e instanceof _p.PersoniumException, true, "instanceof PersoniumException");
            eq(e instanceof Error, true, "instanceof Error");
            eq(e.code, 404, "code");
            eq(typeof e.code, "number", "code is a number");
            eq(e.name, "_p.PersoniumException", "name");
            var body = JSON.parse(e.message);
            eq(body.code.indexOf("PR404-"), 0, "message is the error body");
        }
        fails(0, "unknown accessor", function () { _p.as("nobody"); });
        fails(0, "as() with no usable field", function () { _p.as({cellUrl: "x"}); });
        fails(0, "put without a path", function () { box.put({contentType: "text/plain", data: "x"}); });
        fails(0, "a host outside this unit", function () { _p.as("client").cell("http://example.invalid/other/").box("b").getString("x"); });
        fails(401, "a bad token", function () { _p.as({accessToken: "AR~nonsense"}).cell().box("box1").getString("x"); });
        fails(404, "a missing cell", function () { _p.as("client").cell("no-such-cell").ctl.account.retrieve("a"); });

        var pe = new _p.PersoniumException("409,{\"code\":\"PR409-OD-0003\"}");
        eq(pe.code, 409, "code parsed from the message");
        eq(pe.message, "{\"code\":\"PR409-OD-0003\"}", "message after the code");
        var je = new _p.PersoniumException("io.personium.client.DaoException: 412,body");
        eq(je.code + "|" + je.message, "412|body", "Java-style message");
        var plain = new _p.PersoniumException("just text");
        eq(plain.code + "|" + plain.message, "0|just text", "plain message");
        var two = new _p.PersoniumException("text", 418);
        eq(two.code + "|" + two.message, "418|text", "message and code");
        var thrownInScript = false;
        try {
            throw new _p.PersoniumException("mine", 400);
        } catch (e) {
            thrownInScript = e.code === 400 && e.message === "mine";
        }
        eq(thrownInScript, true, "scripts can throw it");
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
