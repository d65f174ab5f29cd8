/*
 * The assertions the self-checking scripts of engine/testdata/p share,
 * loaded with require("testCommon") from the same __src:
 *
 *     var t = require("testCommon").checker();
 *     try {
 *         t.eq(got, want, "what");
 *         t.fails(404, "what", function () { ... });
 *     } catch (e) {
 *         t.unexpected(e);
 *     }
 *     return t.response();
 *
 * Every checker records its own failures; response() answers 200 "OK"
 * when there are none and 500 with one failure a line otherwise.
 */
function text(status, body) {
    return {status: status, headers: {"Content-Type": "text/plain"}, body: [body]};
}

exports.checker = function () {
    var failures = [];
    var t = {};

    // fail records a failure as it is.
    t.fail = function (what) {
        failures.push(what);
    };

    // eq checks got === want.
    t.eq = function (got, want, what) {
        if (got !== want) {
            failures.push(what + ": got " + JSON.stringify(got) + ", want " + JSON.stringify(want));
        }
    };

    // ok checks that cond holds.
    t.ok = function (cond, what) {
        if (!cond) {
            failures.push(what);
        }
    };

    // fails checks that fn throws a _p.PersoniumException whose code is code.
    t.fails = function (code, what, fn) {
        try {
            fn();
            failures.push(what + ": no exception");
        } catch (e) {
            if (!(e instanceof _p.PersoniumException) || e.code !== code) {
                failures.push(what + ": " + e.code + " " + e.message + ", want " + code);
            }
        }
    };

    // unexpected records an exception nothing expected, under label
    // ("unexpected exception" unless given).
    t.unexpected = function (e, label) {
        failures.push((label || "unexpected exception") + ": " +
            (e !== null && typeof e === "object" && e.code !== undefined ? e.code + " " : "") +
            (e !== null && typeof e === "object" ? e.message : String(e)));
    };

    // response is the script's answer: 200 "OK", or 500 with the failures.
    t.response = function () {
        if (failures.length > 0) {
            return text(500, failures.join("\n"));
        }
        return text(200, "OK");
    };
    return t;
};
