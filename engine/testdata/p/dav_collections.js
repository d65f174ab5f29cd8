/*
 * Collections: mkCol (nested, and col("a/b") paths), mkOData, mkService,
 * getColList, setProp/getProp, getPath/makeUrlString and deleting them.
 * Written with ES2015 syntax.
 */
function(request) {
    const t = require("testCommon").checker();
    const last = (href) => decodeURIComponent(href.replace(/\/$/, "").split("/").pop());

    const box = _p.as("client").cell().box("box1");
    try {
        box.mkCol("top");
        box.col("top").mkCol("mid");
        box.col("top/mid").mkCol("leaf");
        box.col("top").col("mid").col("leaf").put("f.txt", "text/plain", "deep");
        t.eq(box.col("top/mid/leaf").getString("f.txt"), "deep", "col with a path");
        t.eq(box.col("top").col("mid").getPath(), box.getPath() + "/top/mid", "getPath");
        t.eq(box.col("top").makeUrlString(), box.getPath() + "/top", "makeUrlString");

        box.mkOData("od");
        box.mkService("sv");
        const cols = box.getColList().map(last).sort();
        t.eq(JSON.stringify(cols), JSON.stringify(["od", "sv", "svc", "top"]), "getColList of the box");
        t.eq(JSON.stringify(box.col("top").getColList().map(last)), JSON.stringify(["mid"]), "getColList of top");
        t.eq(box.col("top").getFileList().length, 0, "no files in top");

        t.fails(405, "mkCol over an existing collection", () => box.mkCol("top"));
        t.fails(409, "mkCol without a parent", () => box.col("nope").mkCol("x"));

        box.col("top").setProp("color", "blue");
        box.col("top").setProp("{urn:example:ns}size", "<big> & \"round\"");
        t.eq(box.col("top").getProp("color"), "blue", "getProp color");
        t.eq(box.col("top").getProp("p:color"), "blue", "getProp p:color");
        t.eq(box.col("top").getProp("{urn:example:ns}size"), "<big> & \"round\"", "getProp in another namespace");
        t.eq(box.col("top").getProp("absent"), "", "getProp of an absent property");
        box.setProp("owner", "me");
        t.eq(box.getProp("owner"), "me", "box property");

        t.fails(403, "deleting a non-empty collection", () => box.del("top"));
        box.col("top/mid/leaf").del("f.txt");
        box.col("top/mid").del("leaf");
        box.col("top").del("mid");
        box.del("top");
        box.del("od");
        box.del("sv");
    } catch (e) {
        t.unexpected(e);
    }
    t.eq(JSON.stringify(box.getColList().map(last)), JSON.stringify(["svc"]), "only svc is left");
    return t.response();
}
