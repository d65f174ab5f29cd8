/*
 * Collections: mkCol (nested, and col("a/b") paths), mkOData, mkService,
 * getColList, setProp/getProp, getPath/makeUrlString and deleting them.
 * Written with ES2015 syntax.
 */
function(request) {
    const failures = [];
    const eq = (got, want, what) => {
        if (got !== want) {
            failures.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        }
    };
    const fails = (code, what, fn) => {
        try {
            fn();
            failures.push(`${what}: no exception`);
        } catch (e) {
            if (!(e instanceof _p.PersoniumException) || e.code !== code) {
                failures.push(`${what}: ${e.code} ${e.message}, want ${code}`);
            }
        }
    };
    const last = (href) => decodeURIComponent(href.replace(/\/$/, "").split("/").pop());

    const box = _p.as("client").cell().box("box1");
    try {
        box.mkCol("top");
        box.col("top").mkCol("mid");
        box.col("top/mid").mkCol("leaf");
        box.col("top").col("mid").col("leaf").put("f.txt", "text/plain", "deep");
        eq(box.col("top/mid/leaf").getString("f.txt"), "deep", "col with a path");
        eq(box.col("top").col("mid").getPath(), box.getPath() + "/top/mid", "getPath");
        eq(box.col("top").makeUrlString(), box.getPath() + "/top", "makeUrlString");

        box.mkOData("od");
        box.mkService("sv");
        const cols = box.getColList().map(last).sort();
        eq(JSON.stringify(cols), JSON.stringify(["od", "sv", "svc", "top"]), "getColList of the box");
        eq(JSON.stringify(box.col("top").getColList().map(last)), JSON.stringify(["mid"]), "getColList of top");
        eq(box.col("top").getFileList().length, 0, "no files in top");

        fails(405, "mkCol over an existing collection", () => box.mkCol("top"));
        fails(409, "mkCol without a parent", () => box.col("nope").mkCol("x"));

        box.col("top").setProp("color", "blue");
        box.col("top").setProp("{urn:example:ns}size", "<big> & \"round\"");
        eq(box.col("top").getProp("color"), "blue", "getProp color");
        eq(box.col("top").getProp("p:color"), "blue", "getProp p:color");
        eq(box.col("top").getProp("{urn:example:ns}size"), "<big> & \"round\"", "getProp in another namespace");
        eq(box.col("top").getProp("absent"), "", "getProp of an absent property");
        box.setProp("owner", "me");
        eq(box.getProp("owner"), "me", "box property");

        fails(403, "deleting a non-empty collection", () => box.del("top"));
        box.col("top/mid/leaf").del("f.txt");
        box.col("top/mid").del("leaf");
        box.col("top").del("mid");
        box.del("top");
        box.del("od");
        box.del("sv");
    } catch (e) {
        failures.push(`unexpected exception: ${e.code} ${e.message}`);
    }
    eq(JSON.stringify(box.getColList().map(last)), JSON.stringify(["svc"]), "only svc is left");
    if (failures.length > 0) {
        return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
    }
    return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
}
