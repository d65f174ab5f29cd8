/*
 * WebDAV files of a box and of a collection: put (both signatures),
 * getString, getStream, getFileList, del, and the errors on missing files.
 */
function(request) {
    var t = require("testCommon").checker();

    var box = _p.localbox();
    try {
        box.put("hello.txt", "text/plain", "hello, world");
        t.eq(box.getString("hello.txt"), "hello, world", "getString after put");
        t.eq(box.getString("hello.txt", "utf-8"), "hello, world", "getString with charset");

        box.put({path: "hello.txt", contentType: "text/plain", data: "\u3042\u3044\u3046\u3048\u304a", charset: "UTF-8", etag: "*"});
        t.eq(box.getString("hello.txt"), "\u3042\u3044\u3046\u3048\u304a", "Japanese text after put({...})");
        t.eq(box.getStream("hello.txt"), "\u3042\u3044\u3046\u3048\u304a", "getStream gives the body");

        box.put("data.json", "application/json", JSON.stringify({a: [1, 2]}), "*");
        t.eq(JSON.parse(box.getString("data.json")).a[1], 2, "JSON file");

        var files = box.getFileList();
        var names = files.map(function (h) { return decodeURIComponent(h.replace(/\/$/, "").split("/").pop()); }).sort();
        t.ok(names.indexOf("hello.txt") >= 0 && names.indexOf("data.json") >= 0, "getFileList lists both files: " + names);
        t.ok(names.indexOf("svc") < 0, "getFileList leaves out collections");
        t.eq(files.size(), files.length, "size() as a Java list");
        t.eq(files.get(0), files[0], "get(i) as a Java list");

        box.mkCol("docs");
        var docs = box.col("docs");
        docs.put("a b.txt", "text/plain", "spaced");
        t.eq(docs.getString("a b.txt"), "spaced", "file name with a space");
        t.eq(box.getString("docs/a b.txt"), "spaced", "path through the box");
        t.eq(docs.getFileList().length, 1, "one file in docs");

        t.fails(404, "getString of a missing file", function () { box.getString("nothing.txt"); });
        t.fails(412, "put with a stale etag", function () { box.put("hello.txt", "text/plain", "x", "\"1-1\""); });
        t.fails(0, "put without data (Parameter Invalid)", function () { box.put({path: "x.txt"}); });

        docs.del("a b.txt");
        box.del("docs");
        box.del("hello.txt");
        box.del("data.json");
        t.fails(404, "getString after del", function () { box.getString("hello.txt"); });
        t.fails(404, "del of a missing file", function () { box.del("hello.txt"); });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
