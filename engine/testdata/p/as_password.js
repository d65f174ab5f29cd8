/*
 * Accessors with credentials: as({cellUrl, userId, password}), tokens for another cell (p_target), as({cellUrl, accessToken}) (saml2-bearer), as({cellUrl, refreshToken}), unit ctl.
 */
function(request) {
    var t = require("testCommon").checker();

    try {
        var url = _p.as("client").cell().getUrl();
        var owner = _p.as("client").asCellOwner();
        var other = owner.unit.ctl.cell.create({Name: "c-other"});
        t.eq(other.name, "c-other", "cell created through the unit");
        t.eq(owner.unit.ctl.cell.retrieve("c-other").getUrl(), other.getUrl(), "cell retrieved");

        var me = _p.as({cellUrl: url, userId: "engine", password: "engine-pass"});
        var tok = me.cell().getToken();
        t.eq(tok.token_type, "Bearer", "password grant");
        t.eq(tok.access_token.indexOf("AR~"), 0, "a resident token");
        t.eq(tok.refresh_token.indexOf("RR~"), 0, "a refresh token");
        t.eq(me.cell().box("box1").getPath(), url + "box1", "box through the password accessor");

        var trans = me.cell(other.getUrl()).getToken();
        t.eq(trans.access_token.indexOf("~") < 0, true, "a transcell token for the other cell");
        var visitor = _p.as({cellUrl: other.getUrl(), accessToken: trans.access_token}).cell().getToken();
        t.eq(visitor.access_token.indexOf("AV~"), 0, "saml2-bearer gives a visitor token");

        var refreshed = _p.as({cellUrl: url, refreshToken: tok.refresh_token}).cell().getToken();
        t.eq(refreshed.access_token.indexOf("AR~"), 0, "refresh_token grant");

        owner.unit.ctl.cell.recursiveDelete("c-other");
        t.fails(404, "the other cell is gone", function () { owner.unit.ctl.cell.retrieve("c-other"); });
    } catch (e) {
        t.unexpected(e);
    }
    return t.response();
}
