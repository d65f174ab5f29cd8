/*
 * WebDAV files of a box and of a collection: put (both signatures),
 * getString, getStream, getFileList, del, and the errors on missing files.
 */
function(request) {
    var failures = [];
    function eq(got, want, what) {
        if (got !== want) {
            failures.push(what + ": got " + JSON.stringify(got) + ", want " + JSON.stringify(want));
        }
    }
    function ok(cond, what) {
        if (!cond) {
            failures.push(what);
        }
    }
    function fails(code, what, fn) {
        try {
            fn();
            failures.push(what + ": no exception");
        } catch (e) {
            if (!(e instanceof _p.PersoniumException)) {
                failures.push(what + ": not a PersoniumException: " + e);
            } else if (e.code !== code) {
                failures.push(what + ": code " + e.code + ", want " + code + " (" + e.message + ")");
            }
        }
    }

    var box = _p.localbox();
    try {
        box.put("hello.txt", "text/plain", "hello, world");
        eq(box.getString("hello.txt"), "hello, world", "getString after put");
        eq(box.getString("hello.txt", "utf-8"), "hello, world", "getString with charset");

        box.put({path: "hello.txt", contentType: "text/plain", data: "\u3042\u3044\u3046\u3048\u304a", charset: "UTF-8", etag: "*"});
        eq(box.getString("hello.txt"), "\u3042\u3044\u3046\u3048\u304a", "Japanese text after put({...})");
        eq(box.getStream("hello.txt"), "\u3042\u3044\u3046\u3048\u304a", "getStream gives the body");

        box.put("data.json", "application/json", JSON.stringify({a: [1, 2]}), "*");
        eq(JSON.parse(box.getString("data.json")).a[1], 2, "JSON file");

        var files = box.getFileList();
        var names = files.map(function (h) { return decodeURIComponent(h.replace(/\/$/, "").split("/").pop()); }).sort();
        ok(names.indexOf("hello.txt") >= 0 && names.indexOf("data.json") >= 0, "getFileList lists both files: " + names);
        ok(names.indexOf("svc") < 0, "getFileList leaves out collections");
        eq(files.size(), files.length, "size() as a Java list");
        eq(files.get(0), files[0], "get(i) as a Java list");

        box.mkCol("docs");
        var docs = box.col("docs");
        docs.put("a b.txt", "text/plain", "spaced");
        eq(docs.getString("a b.txt"), "spaced", "file name with a space");
        eq(box.getString("docs/a b.txt"), "spaced", "path through the box");
        eq(docs.getFileList().length, 1, "one file in docs");

        fails(404, "getString of a missing file", function () { box.getString("nothing.txt"); });
        fails(412, "put with a stale etag", function () { box.put("hello.txt", "text/plain", "x", "\"1-1\""); });
        fails(0, "put without data (Parameter Invalid)", function () { box.put({path: "x.txt"}); });

        docs.del("a b.txt");
        box.del("docs");
        box.del("hello.txt");
        box.del("data.json");
        fails(404, "getString after del", function () { box.getString("hello.txt"); });
        fails(404, "del of a missing file", function () { box.del("hello.txt"); });
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
