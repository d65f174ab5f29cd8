/*
 * Calling another service: mkService, ServiceCollection.put/configure, call(name, body, contentType); error statuses come back, not thrown.
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
        box.mkService("svc2");
        var svc = box.service("svc2");
        svc.put("echo.js", "text/javascript",
            "function(req) { return {status: 201, headers: {\"Content-Type\": \"text/plain\", \"X-Echo\": \"1\"}," +
            " body: [req.method, \":\", req.input.readAll()]}; }");
        svc.configure("echo", "echo.js");
        var res = svc.call("echo", "ping", "text/plain");
        eq(res.getStatusCode(), 201, "status of the called service");
        eq(res.bodyAsString(), "POST:ping", "body of the called service");
        eq(res.getHeader("X-Echo"), "1", "header of the called service");
        var missing = svc.call("nothing", "x", "text/plain");
        eq(missing.getStatusCode(), 404, "a missing route answers 404 without an exception");
        svc.del("echo.js");
        box.del("svc2");
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
