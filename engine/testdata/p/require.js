/*
 * require() of another file of the service's __src, written there through
 * _p (ServiceCollection.put), and _p.util.require.
 */
function(request) {
    var t = require("testCommon").checker();
    var svc = _p.localbox().service("svc");
    try {
        svc.put("greet.js", "text/javascript", "exports.hello = function (n) { return 'hello ' + n; };");
        var greet = require("greet");
        t.eq(greet.hello("you"), "hello you", "require by name");
        t.eq(require("greet.js").hello("again"), "hello again", "require with .js");
        t.eq(_p.util.require("greet").hello("util"), "hello util", "_p.util.require");
        svc.del("greet.js");
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
