/*
 * Cell basics: accessors, cell(), getUrl(), getToken(), localbox(), the dc
 * alias and _p.util.
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
    function answer() {
        if (failures.length > 0) {
            return {status: 500, headers: {"Content-Type": "text/plain"}, body: [failures.join("\n")]};
        }
        return {status: 200, headers: {"Content-Type": "text/plain"}, body: ["OK"]};
    }

    try {
        ok(dc === _p, "dc is _p");
        var cell = _p.as("client").cell();
        var url = cell.getUrl();
        ok(/^https?:\/\/.*\/c\/$/.test(url), "default cell URL ends with /c/: " + url);
        eq(cell.name, "c", "cell name");
        eq(_p.as("client").cell("c").getUrl(), url, "cell by name");
        eq(_p.as("client").cell(url).getUrl(), url, "cell by URL");
        eq(_p.as("client").cell(url.substring(0, url.length - 1)).getUrl(), url, "cell by URL without slash");

        var tok = cell.getToken();
        eq(typeof tok.access_token, "string", "access_token is a string");
        ok(tok.access_token.length > 0, "client token forwarded");
        eq(request.headers["authorization"], "Bearer " + tok.access_token, "the caller's token");
        eq(tok.token_type, "Bearer", "token_type");
        eq(typeof tok.expires_in, "string", "expires_in is a string, as in Personium");

        var box = _p.localbox();
        eq(box.name, "box1", "localbox name");
        eq(box.getPath(), url + "box1", "localbox path");
        eq(_p.as("client").cell().box("box1").getPath(), url + "box1", "box by name");

        var q = _p.util.queryParse("a=1&b=x%20y&c=%E3%81%82");
        eq(q.a, "1", "queryParse a");
        eq(q.b, "x y", "queryParse b");
        eq(q.c, "\u3042", "queryParse c");
        eq(JSON.stringify(_p.util.queryParse("")), "{}", "queryParse of empty");
        eq(_p.util.decodeURI("a+b%2Fc"), "a b/c", "decodeURI");
        eq(_p.util.escape4xss("<a href='x'>&</a>"), "&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;", "escape4xss");

        var r = new JSGIResponse();
        r.setResponseData({a: 1});
        eq(r.body[0], "{\"a\":1}", "JSGIResponse body");
    } catch (e) {
        failures.push("unexpected exception: " + (e.code !== undefined ? e.code + " " : "") + e.message);
    }
    return answer();
}
