/*
 * Events: cell.event.post({Type, Object, Info}[, requestKey]) to __event.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var cell = _p.as("client").cell();
        var res = cell.event.post({Type: "myapp.test", Object: "personium-localbox:/data", Info: "hello"});
        t.eq(res.getStatusCode(), 200, "event accepted");
        res = cell.event.post({Type: "myapp.test", Object: "obj", Info: "with a key"}, "key-123");
        t.eq(res.getStatusCode(), 200, "event with a request key accepted");
        t.fails(400, "an event with an invalid request key", function () {
            cell.event.post({Type: "t", Object: "o", Info: "i"}, "bad key!");
        });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
