/*
 * Calling another service: mkService, ServiceCollection.put/configure, call(name, body, contentType); error statuses come back, not thrown.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var box = _p.localbox();
        box.mkService("svc2");
        var svc = box.service("svc2");
        svc.put("echo.js", "text/javascript",
            "function(req) { return {status: 201, headers: {\"Content-Type\": \"text/plain\", \"X-Echo\": \"1\"}," +
            " body: [req.method, \":\", req.input.readAll()]}; }");
        svc.configure("echo", "echo.js");
        var res = svc.call("echo", "ping", "text/plain");
        t.eq(res.getStatusCode(), 201, "status of the called service");
        t.eq(res.bodyAsString(), "POST:ping", "body of the called service");
        t.eq(res.getHeader("X-Echo"), "1", "header of the called service");
        var missing = svc.call("nothing", "x", "text/plain");
        t.eq(missing.getStatusCode(), 404, "a missing route answers 404 without an exception");
        svc.del("echo.js");
        box.del("svc2");
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
