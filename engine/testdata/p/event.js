/*
 * Events: cell.event.post({Type, Object, Info}[, requestKey]) to __event.
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
        var cell = _p.as("client").cell();
        var res = cell.event.post({Type: "myapp.test", Object: "personium-localbox:/data", Info: "hello"});
        eq(res.getStatusCode(), 200, "event accepted");
        res = cell.event.post({Type: "myapp.test", Object: "obj", Info: "with a key"}, "key-123");
        eq(res.getStatusCode(), 200, "event with a request key accepted");
        fails(400, "an event with an invalid request key", function () {
            cell.event.post({Type: "t", Object: "o", Info: "i"}, "bad key!");
        });
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
