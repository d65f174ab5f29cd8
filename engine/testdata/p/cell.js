/*
 * Cell basics: accessors, cell(), getUrl(), getToken(), localbox(), the dc
 * alias and _p.util.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        t.ok(dc === _p, "dc is _p");
        var cell = _p.as("client").cell();
        var url = cell.getUrl();
        t.ok(/^https?:\/\/.*\/c\/$/.test(url), "default cell URL ends with /c/: " + url);
        t.eq(cell.name, "c", "cell name");
        t.eq(_p.as("client").cell("c").getUrl(), url, "cell by name");
        t.eq(_p.as("client").cell(url).getUrl(), url, "cell by URL");
        t.eq(_p.as("client").cell(url.substring(0, url.length - 1)).getUrl(), url, "cell by URL without slash");

        var tok = cell.getToken();
        t.eq(typeof tok.access_token, "string", "access_token is a string");
        t.ok(tok.access_token.length > 0, "client token forwarded");
        t.eq(request.headers["authorization"], "Bearer " + tok.access_token, "the caller's token");
        t.eq(tok.token_type, "Bearer", "token_type");
        t.eq(typeof tok.expires_in, "string", "expires_in is a string, as in Personium");

        var box = _p.localbox();
        t.eq(box.name, "box1", "localbox name");
        t.eq(box.getPath(), url + "box1", "localbox path");
        t.eq(_p.as("client").cell().box("box1").getPath(), url + "box1", "box by name");

        var q = _p.util.queryParse("a=1&b=x%20y&c=%E3%81%82");
        t.eq(q.a, "1", "queryParse a");
        t.eq(q.b, "x y", "queryParse b");
        t.eq(q.c, "\u3042", "queryParse c");
        t.eq(JSON.stringify(_p.util.queryParse("")), "{}", "queryParse of empty");
        t.eq(_p.util.decodeURI("a+b%2Fc"), "a b/c", "decodeURI");
        t.eq(_p.util.escape4xss("<a href='x'>&</a>"), "&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;", "escape4xss");

        var r = new JSGIResponse();
        r.setResponseData({a: 1});
        t.eq(r.body[0], "{\"a\":1}", "JSGIResponse body");
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
