/*
 * require() of another file of the service's __src, written there through
 * _p (ServiceCollection.put), and _p.util.require.
 */
function(request) {
    var failures = [];
    function eq(got, want, what) {
        if (got !== want) {
            failures.push(what + ": got " + JSON.stringify(got) + ", want " + JSON.stringify(want));
        }
    }
    var svc = _p.localbox().service("svc");
    try {
        svc.put("greet.js", "text/javascript", "exports.hello = function (n) { return 'hello ' + n; };");
        var greet = require("greet");
        eq(greet.hello("you"), "hello you", "require by name");
        eq(require("greet.js").hello("again"), "hello again", "require with .js");
        eq(_p.util.require("greet").hello("util"), "hello util", "_p.util.require");
        svc.del("greet.js");
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
