/*
 * personium.js: the engine API of server-side scripts, the global _p (alias
 * dc), written for personium-go. It follows the names, argument orders,
 * return shapes and exceptions of Personium's engine library (personium-dao.js
 * over personium-client-java), so that existing service scripts run
 * unchanged; every call is an HTTP request to this unit, made in-process
 * through the native object the server passes in (__pgo).
 *
 * Not supported yet: box installation (Cell.installBox, installBoxFromURL),
 * event logs (Cell.currentLog, Cell.archiveLog), Java interop (pjvm beyond
 * getBaseUrl/getCellName/getBoxName/getBoxSchema, dcjvm,
 * Packages.*, Java streams: getStream returns the body as a string),
 * extensions (_p.extension is empty), schema-authenticated accessors
 * (_p.as({..., schemaUrl, schemaUserId, schemaPassword}) throws),
 * $batch, serviceSubject tokens for cells other than the script's own,
 * hosts other than this unit, and _p.setThreadable (a no-op).
 *
 * Beyond Personium: setProp/getProp really PROPPATCH/PROPFIND (Personium's
 * are no-ops); ctl managers also have update/merge; ServiceCollection also has
 * configure/put/del (as in the Java client); Accessor.getAccessToken().
 */
(function (native) {
    var G = Function("return this")();
    var NS_DAV = "DAV:";
    var NS_P = "urn:x-personium:xmlns";
    var env = native.env || {};
    var unitUrl = withSlash(env.unitUrl || "");
    var versionHeader = null;
    var serverVersion = "";

    var _p = {};
    _p.extension = {};

    // ------------------------------------------------------------------
    // Exceptions

    /**
     * _p.PersoniumException(message[, code]): code is the HTTP status (a
     * number, 0 when there is none), message the response body. With one
     * argument the message may carry the status as "409,{...}" (optionally
     * after a Java class prefix), as Personium's DAO messages do.
     */
    function PersoniumException(msg, code) {
        if (!(this instanceof PersoniumException)) {
            return new PersoniumException(msg, code);
        }
        msg = (msg === undefined || msg === null) ? "" : String(msg);
        this.name = "_p.PersoniumException";
        if (code !== undefined && code !== null && !isNaN(parseInt(code, 10))) {
            this.code = parseInt(code, 10);
            this.message = msg;
        } else {
            var m = /^[A-Za-z_$][\w.$]*(?:Exception|Error): ([\s\S]*)$/.exec(msg);
            if (m) {
                msg = m[1];
            }
            var c = /^(\d{1,3}),([\s\S]*)$/.exec(msg);
            if (c) {
                this.code = parseInt(c[1], 10);
                this.message = c[2];
            } else {
                this.code = 0;
                this.message = msg;
            }
        }
        try {
            this.stack = (new Error(this.message)).stack;
        } catch (ignore) {}
    }
    PersoniumException.prototype = Object.create(Error.prototype);
    PersoniumException.prototype.constructor = PersoniumException;
    PersoniumException.prototype.toString = function () {
        return this.name + ": " + this.code + "," + this.message;
    };
    _p.PersoniumException = PersoniumException;

    function toPE(e) {
        if (e instanceof PersoniumException) {
            return e;
        }
        if (e && typeof e === "object" && e.message !== undefined) {
            return new PersoniumException(e.message);
        }
        return new PersoniumException(String(e));
    }

    function invalid() {
        return new PersoniumException("Parameter Invalid", 0);
    }

    // Wraps every function on proto so that any failure leaves as a
    // PersoniumException, as every method of personium-dao.js does.
    function guard(proto) {
        Object.keys(proto).forEach(function (k) {
            var f = proto[k];
            if (typeof f !== "function" || f.__guarded) {
                return;
            }
            var g = function () {
                try {
                    return f.apply(this, arguments);
                } catch (e) {
                    throw toPE(e);
                }
            };
            g.__guarded = true;
            proto[k] = g;
        });
    }

    // ------------------------------------------------------------------
    // Small helpers

    function withSlash(u) {
        u = String(u);
        return u.charAt(u.length - 1) === "/" ? u : u + "/";
    }

    function noSlash(u) {
        u = String(u);
        while (u.length > 1 && u.charAt(u.length - 1) === "/") {
            u = u.substring(0, u.length - 1);
        }
        return u;
    }

    function isUrl(s) {
        return typeof s === "string" && /^https?:\/\//i.test(s);
    }

    // append(url, name) joins like the Java client's UrlUtils.append.
    function append(url, name) {
        url = String(url);
        return (url.charAt(url.length - 1) === "/" ? url : url + "/") + name;
    }

    // Percent-encodes each segment of a relative path, keeping the slashes.
    function encPath(p) {
        return String(p).split("/").map(function (seg) {
            try {
                seg = decodeURIComponent(seg);
            } catch (ignore) {}
            return encodeURIComponent(seg);
        }).join("/");
    }

    function xmlEsc(s) {
        return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;")
            .replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
    }

    function form(params) {
        var out = [];
        Object.keys(params).forEach(function (k) {
            if (params[k] !== undefined && params[k] !== null) {
                out.push(encodeURIComponent(k) + "=" + encodeURIComponent(String(params[k])));
            }
        });
        return out.join("&");
    }

    function str(v) {
        return v === undefined ? "undefined" : v + "";
    }

    function listOf(arr) {
        // Java's List, as Rhino showed it: indexable, with size() and get(i).
        Object.defineProperty(arr, "size", {value: function () { return arr.length; }});
        Object.defineProperty(arr, "get", {value: function (i) { return arr[i]; }});
        return arr;
    }

    // cellUrlOf turns a cell name or URL into the cell's URL.
    function cellUrlOf(c) {
        if (c === undefined || c === null || c === "") {
            return withSlash(env.cellUrl);
        }
        c = String(c);
        if (isUrl(c)) {
            return withSlash(c);
        }
        var m = /^personium-localunit:\/?(.*)$/.exec(c);
        if (m) {
            return withSlash(unitUrl + m[1]);
        }
        return unitUrl + encodeURIComponent(c) + "/";
    }

    function cellNameOf(url) {
        var u = noSlash(url);
        if (u.indexOf(unitUrl) === 0) {
            u = u.substring(unitUrl.length);
        }
        var parts = u.split("/");
        var n = parts[parts.length - 1];
        try {
            return decodeURIComponent(n);
        } catch (e) {
            return n;
        }
    }

    // ------------------------------------------------------------------
    // HTTP

    /**
     * Response wraps one HTTP response the way scripts used
     * io.personium.client.http.PersoniumResponse.
     */
    function Response(res) {
        this.status = res.status;
        this.headers = res.headers || {};
        this.body = res.body === undefined || res.body === null ? "" : String(res.body);
    }
    Response.prototype.getStatusCode = function () {
        return this.status;
    };
    Response.prototype.getHeader = function (k) {
        var v = this.headers[String(k).toLowerCase()];
        return v === undefined ? "" : v;
    };
    Response.prototype.getHeaderList = function () {
        var h = this.headers;
        return Object.keys(h).map(function (k) { return {name: k, value: h[k]}; });
    };
    Response.prototype.bodyAsString = function () {
        return this.body;
    };
    Response.prototype.bodyAsJson = function () {
        return JSON.parse(this.body);
    };

    /**
     * http sends one request. ctx carries the Authorization value (auth);
     * opts: headers, body, raw (do not throw for statuses >= 400).
     */
    function http(ctx, method, url, opts) {
        opts = opts || {};
        var h = {};
        if (ctx && ctx.auth) {
            h["Authorization"] = ctx.auth;
        }
        if (versionHeader !== null) {
            h["X-Personium-Version"] = versionHeader;
        }
        var extra = opts.headers || {};
        Object.keys(extra).forEach(function (k) {
            if (extra[k] !== undefined && extra[k] !== null) {
                h[k] = String(extra[k]);
            }
        });
        var res;
        try {
            res = native.request(method, url, h, opts.body === undefined || opts.body === null ? undefined : String(opts.body));
        } catch (e) {
            throw new PersoniumException(e && e.message !== undefined ? e.message : String(e), 0);
        }
        var r = new Response(res);
        if (r.headers["x-personium-version"]) {
            serverVersion = r.headers["x-personium-version"];
        }
        if (!opts.raw && r.status >= 400) {
            throw new PersoniumException(r.body, r.status);
        }
        return r;
    }

    function jsonOf(r) {
        if (!r.body) {
            return {};
        }
        try {
            return JSON.parse(r.body);
        } catch (e) {
            throw new PersoniumException("parse exception: " + e.message, r.status);
        }
    }

    function resultsOf(r) {
        var j = jsonOf(r);
        return j && j.d ? j.d.results : j;
    }

    var JSON_HEADERS = {"Accept": "application/json"};

    function jsonBody(extraHeaders) {
        var h = {"Content-Type": "application/json", "Accept": "application/json"};
        if (extraHeaders) {
            Object.keys(extraHeaders).forEach(function (k) { h[k] = extraHeaders[k]; });
        }
        return h;
    }

    function ifMatch(headers, etag) {
        headers = headers || {};
        headers["If-Match"] = etag ? String(etag) : "*";
        return headers;
    }

    // ------------------------------------------------------------------
    // A small XML reader for WebDAV answers (multistatus, ACL): elements
    // with resolved namespaces, attributes and text.

    function Elem(ns, local, attrs, parent) {
        this.ns = ns;
        this.local = local;
        this.attrs = attrs;
        this.children = [];
        this.parent = parent;
    }
    Elem.prototype.text = function () {
        var s = "";
        this.children.forEach(function (c) {
            s += typeof c === "string" ? c : c.text();
        });
        return s;
    };
    Elem.prototype.elems = function () {
        return this.children.filter(function (c) { return typeof c !== "string"; });
    };
    Elem.prototype.all = function (ns, local, out) {
        out = out || [];
        this.elems().forEach(function (c) {
            if (c.local === local && (ns === null || c.ns === ns)) {
                out.push(c);
            }
            c.all(ns, local, out);
        });
        return out;
    };
    Elem.prototype.first = function (ns, local) {
        var a = this.all(ns, local);
        return a.length ? a[0] : null;
    };
    Elem.prototype.child = function (ns, local) {
        var e = this.elems();
        for (var i = 0; i < e.length; i++) {
            if (e[i].local === local && (ns === null || e[i].ns === ns)) {
                return e[i];
            }
        }
        return null;
    };
    Elem.prototype.attr = function (ns, local) {
        for (var i = 0; i < this.attrs.length; i++) {
            var a = this.attrs[i];
            if (a.local === local && (ns === null || a.ns === ns)) {
                return a.value;
            }
        }
        return null;
    };

    function unescapeXml(s) {
        return s.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, function (all, e) {
            switch (e) {
            case "lt": return "<";
            case "gt": return ">";
            case "amp": return "&";
            case "quot": return "\"";
            case "apos": return "'";
            }
            var n = e.charAt(1) === "x" ? parseInt(e.substring(2), 16) : parseInt(e.substring(1), 10);
            return String.fromCodePoint ? String.fromCodePoint(n) : String.fromCharCode(n);
        });
    }

    function parseXml(src) {
        src = String(src);
        var pos = 0;
        var root = null;
        var cur = null;
        var scopes = [{xml: "http://www.w3.org/XML/1998/namespace"}];
        function lookup(prefix) {
            for (var i = scopes.length - 1; i >= 0; i--) {
                if (Object.prototype.hasOwnProperty.call(scopes[i], prefix)) {
                    return scopes[i][prefix];
                }
            }
            return prefix === "" ? "" : null;
        }
        function split(q) {
            var i = q.indexOf(":");
            return i < 0 ? ["", q] : [q.substring(0, i), q.substring(i + 1)];
        }
        var attrRe = /([^\s=\/>]+)\s*=\s*("([^"]*)"|'([^']*)')/g;
        while (pos < src.length) {
            var lt = src.indexOf("<", pos);
            if (lt < 0) {
                lt = src.length;
            }
            if (lt > pos && cur) {
                cur.children.push(unescapeXml(src.substring(pos, lt)));
            }
            if (lt >= src.length) {
                break;
            }
            if (src.substr(lt, 4) === "<!--") {
                var ce = src.indexOf("-->", lt);
                pos = ce < 0 ? src.length : ce + 3;
                continue;
            }
            if (src.substr(lt, 9) === "<![CDATA[") {
                var cd = src.indexOf("]]>", lt);
                if (cd < 0) {
                    cd = src.length;
                }
                if (cur) {
                    cur.children.push(src.substring(lt + 9, cd));
                }
                pos = cd + 3;
                continue;
            }
            if (src.charAt(lt + 1) === "?" || src.charAt(lt + 1) === "!") {
                var pe = src.indexOf(">", lt);
                pos = pe < 0 ? src.length : pe + 1;
                continue;
            }
            var gt = src.indexOf(">", lt);
            if (gt < 0) {
                throw new Error("malformed XML");
            }
            // find the real end of the tag (a '>' inside a quoted value)
            var tag = src.substring(lt + 1, gt);
            while ((tag.split("\"").length - 1) % 2 === 1 || (tag.split("'").length - 1) % 2 === 1) {
                var ng = src.indexOf(">", gt + 1);
                if (ng < 0) {
                    break;
                }
                gt = ng;
                tag = src.substring(lt + 1, gt);
            }
            pos = gt + 1;
            if (tag.charAt(0) === "/") {
                scopes.pop();
                cur = cur ? cur.parent : null;
                continue;
            }
            var selfClose = tag.charAt(tag.length - 1) === "/";
            if (selfClose) {
                tag = tag.substring(0, tag.length - 1);
            }
            var nm = /^[^\s\/>]+/.exec(tag)[0];
            var rest = tag.substring(nm.length);
            var scope = {};
            var raw = [];
            var m;
            attrRe.lastIndex = 0;
            while ((m = attrRe.exec(rest)) !== null) {
                var an = m[1];
                var av = unescapeXml(m[3] !== undefined ? m[3] : m[4]);
                if (an === "xmlns") {
                    scope[""] = av;
                } else if (an.indexOf("xmlns:") === 0) {
                    scope[an.substring(6)] = av;
                } else {
                    raw.push([an, av]);
                }
            }
            scopes.push(scope);
            var qn = split(nm);
            var attrs = raw.map(function (p) {
                var q = split(p[0]);
                return {ns: q[0] === "" ? "" : lookup(q[0]), local: q[1], value: p[1]};
            });
            var el = new Elem(lookup(qn[0]), qn[1], attrs, cur);
            if (cur) {
                cur.children.push(el);
            } else if (!root) {
                root = el;
            }
            if (selfClose) {
                scopes.pop();
            } else {
                cur = el;
            }
        }
        if (!root) {
            throw new Error("no XML document");
        }
        return root;
    }

    function hrefPath(h) {
        var p = String(h).replace(/^[a-z][a-z0-9+.\-]*:\/\/[^\/]*/i, "");
        try {
            p = decodeURI(p);
        } catch (ignore) {}
        return noSlash(p);
    }

    // ------------------------------------------------------------------
    // Accessors

    function Accessor(kind, opts) {
        this.kind = kind;
        this.opts = opts || {};
        this.authCellUrl = cellUrlOf(this.opts.cellUrl);
        this.tokens = {}; // target cell URL -> token JSON
        if (kind === "client") {
            this.clientAuth = native.clientAuthorization || "";
        } else if (kind === "subject") {
            this.subjectToken = String(native.subjectToken());
        }
    }

    // certify returns the token answer ({access_token, ...}) for use on cell
    // cellUrl, getting one from the token endpoint when this accessor needs it.
    Accessor.prototype.certify = function (cellUrl) {
        var o = this.opts;
        switch (this.kind) {
        case "client":
            var t = /^Bearer\s+(.*)$/i.exec(this.clientAuth);
            return {access_token: t ? t[1] : this.clientAuth, expires_in: 0, refresh_token: "",
                refresh_token_expires_in: 0, token_type: t ? "Bearer" : ""};
        case "subject":
            return {access_token: this.subjectToken, expires_in: 3600, refresh_token: "",
                refresh_token_expires_in: 0, token_type: "Bearer"};
        case "token":
            return {access_token: o.accessToken, expires_in: 0, refresh_token: "",
                refresh_token_expires_in: 0, token_type: "Bearer"};
        }
        var target = cellUrl && cellUrl !== this.authCellUrl ? cellUrl : null;
        var key = target || "";
        if (this.tokens[key]) {
            return this.tokens[key];
        }
        var p;
        if (this.kind === "password") {
            p = {grant_type: "password", username: o.userId, password: o.password};
        } else if (this.kind === "transcell") {
            p = {grant_type: "urn:ietf:params:oauth:grant-type:saml2-bearer", assertion: o.accessToken};
        } else {
            p = {grant_type: "refresh_token", refresh_token: o.refreshToken};
        }
        if (target) {
            p.p_target = target;
        }
        if (this.owner) {
            p.cell_owner = "true";
        }
        var r = http(null, "POST", this.authCellUrl + "__token", {
            headers: {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            body: form(p)
        });
        var j = jsonOf(r);
        this.tokens[key] = j;
        if (!target && j.refresh_token && this.kind !== "password") {
            // keep the newest refresh token for the next grant
            if (this.kind === "refresh") {
                o.refreshToken = j.refresh_token;
            }
        }
        return j;
    };

    // ctx makes the request context (token and Authorization value) for cellUrl.
    Accessor.prototype.ctx = function (cellUrl) {
        var tok = this.certify(cellUrl);
        var auth;
        if (this.kind === "client") {
            auth = this.clientAuth;
        } else {
            auth = tok.access_token ? "Bearer " + tok.access_token : "";
        }
        return {accessor: this, cellUrl: cellUrl, token: tok, auth: auth};
    };

    /** The access token this accessor uses on its own cell. */
    Accessor.prototype.getAccessToken = function () {
        return str(this.certify(this.authCellUrl).access_token);
    };

    function PAccessor(core) {
        this.core = core;
    }
    _p.Accessor = PAccessor;

    PAccessor.prototype.cell = function (url) {
        var cu = typeof url === "string" ? cellUrlOf(url) : this.core.authCellUrl;
        return new Cell(this.core.ctx(cu), cu);
    };

    PAccessor.prototype.getAccessToken = function () {
        return this.core.getAccessToken();
    };

    PAccessor.prototype.asCellOwner = function () {
        var c = Object.create(this.core);
        c.owner = true;
        c.tokens = {};
        return new OwnerAccessor(c);
    };

    PAccessor.prototype.unit = function (url) {
        var u = withSlash(typeof url === "string" ? url : unitUrl);
        return new UnitManager(this.core.ctx(this.core.authCellUrl), u);
    };

    PAccessor.prototype.changePassword = function (newPassword) {
        var ctx = this.core.ctx(this.core.authCellUrl);
        http(ctx, "PUT", this.core.authCellUrl + "__mypassword", {
            headers: {"X-Personium-Credential": newPassword}
        });
        if (this.core.kind === "password") {
            this.core.opts.password = newPassword;
            this.core.tokens = {};
        }
    };
    guard(PAccessor.prototype);

    function OwnerAccessor(core) {
        PAccessor.call(this, core);
        this.unit = new UnitManager(core.ctx(core.authCellUrl), unitUrl);
    }
    OwnerAccessor.prototype = Object.create(PAccessor.prototype);
    OwnerAccessor.prototype.constructor = OwnerAccessor;
    _p.OwnerAccessor = OwnerAccessor;

    _p.as = function (param) {
        try {
            if (typeof param === "string") {
                if (param === "serviceSubject") {
                    return new PAccessor(new Accessor("subject"));
                } else if (param === "client") {
                    return new PAccessor(new Accessor("client"));
                }
            } else if (param && typeof param === "object") {
                var s = function (k) { return typeof param[k] === "string"; };
                if (s("schemaUrl") || s("schemaUserId") || s("schemaPassword")) {
                    throw new PersoniumException("Schema authentication is not supported", 0);
                }
                if (s("cellUrl") && s("userId") && s("password")) {
                    return new PAccessor(new Accessor("password", param));
                } else if (s("cellUrl") && s("accessToken")) {
                    return new PAccessor(new Accessor("transcell", param));
                } else if (s("cellUrl") && s("refreshToken")) {
                    return new PAccessor(new Accessor("refresh", param));
                } else if (s("accessToken")) {
                    return new PAccessor(new Accessor("token", param));
                }
            }
            throw new PersoniumException("Parameter Invalid");
        } catch (e) {
            throw toPE(e);
        }
    };

    _p.localbox = function () {
        try {
            return _p.as("client").cell().box();
        } catch (e) {
            throw toPE(e);
        }
    };

    _p.setPersoniumVersion = function (v) {
        versionHeader = v === undefined || v === null ? null : String(v);
    };
    _p.getServerVersion = function () {
        return serverVersion;
    };
    _p.setThreadable = function () {};

    // ------------------------------------------------------------------
    // OData helpers shared by the managers

    // lit is an OData string literal, percent-encoded for a URL path.
    function lit(v) {
        if (v === null || v === undefined) {
            return "null";
        }
        return "'" + encodeURIComponent(String(v).replace(/'/g, "''")) + "'";
    }

    // keyOf builds a key predicate "('v')" or "(A='v',B='w')" from a string
    // or an object holding the fields; null and absent fields are left out.
    function keyOf(key, fields) {
        if (key === null || key === undefined) {
            throw invalid();
        }
        if (typeof key !== "object") {
            return "(" + lit(key) + ")";
        }
        var parts = [];
        fields.forEach(function (f) {
            var v = key[f];
            if (v !== undefined && v !== null && v !== "") {
                parts.push(f + "=" + lit(v));
            }
        });
        if (parts.length === 0) {
            throw invalid();
        }
        if (parts.length === 1 && parts[0].indexOf(fields[0] + "=") === 0) {
            return "(" + lit(key[fields[0]]) + ")";
        }
        return "(" + parts.join(",") + ")";
    }

    /**
     * ODataBase: CRUD on one entity set at url (…/__ctl/Account,
     * …/$metadata/EntityType, {od}/Set). keyFields names the key properties.
     */
    function OData() {}
    OData.prototype.init = function (ctx, url, keyFields) {
        this.ctx = ctx;
        this.url = url;
        this.keyFields = keyFields || ["Name"];
    };
    OData.prototype.internalCreate = function (json, headers) {
        return resultsOf(http(this.ctx, "POST", this.url, {headers: jsonBody(headers), body: JSON.stringify(json || {})}));
    };
    OData.prototype.internalRetrieve = function (key) {
        return resultsOf(http(this.ctx, "GET", this.url + keyOf(key, this.keyFields), {headers: JSON_HEADERS}));
    };
    OData.prototype.internalUpdate = function (key, json, etag, headers) {
        http(this.ctx, "PUT", this.url + keyOf(key, this.keyFields), {
            headers: ifMatch(jsonBody(headers), etag), body: JSON.stringify(json || {})
        });
    };
    OData.prototype.internalMerge = function (key, json, etag) {
        http(this.ctx, "MERGE", this.url + keyOf(key, this.keyFields), {
            headers: ifMatch(jsonBody(), etag), body: JSON.stringify(json || {})
        });
    };
    /** del(id[, etag]): deletes one entity (etag "*" when omitted). */
    OData.prototype.del = function (key, etag) {
        http(this.ctx, "DELETE", this.url + keyOf(key, this.keyFields), {headers: ifMatch({}, etag)});
    };
    /** update(id, json[, etag]): PUT (an extension for ctl managers). */
    OData.prototype.update = function (key, json, etag) {
        this.internalUpdate(key, json, etag);
    };
    /** merge(id, json[, etag]): MERGE (an extension for ctl managers). */
    OData.prototype.merge = function (key, json, etag) {
        this.internalMerge(key, json, etag);
    };
    OData.prototype.query = function () {
        return new Query(this.ctx, this.url);
    };
    guard(OData.prototype);
    _p.OData = OData;

    // ------------------------------------------------------------------
    // Query

    function Query(ctx, url) {
        this.ctx = ctx;
        this.url = url;
        this.q_ = {};
    }
    Query.prototype.filter = function (v) { this.q_.filter = v; return this; };
    Query.prototype.select = function (v) { this.q_.select = v; return this; };
    Query.prototype.top = function (v) { this.q_.top = v; return this; };
    Query.prototype.skip = function (v) { this.q_.skip = v; return this; };
    Query.prototype.expand = function (v) { this.q_.expand = v; return this; };
    Query.prototype.orderby = function (v) { this.q_.orderby = v; return this; };
    Query.prototype.inlinecount = function (v) { this.q_.inlinecount = v; return this; };
    Query.prototype.q = function (v) { this.q_.q = v; return this; };
    Query.prototype.makeQueryString = function () {
        var q = this.q_;
        var a = [];
        var e = encodeURIComponent;
        if (q.top !== undefined && q.top !== null && Number(q.top) > 0) {
            a.push("$top=" + Number(q.top));
        }
        if (q.skip !== undefined && q.skip !== null && Number(q.skip) > 0) {
            a.push("$skip=" + Number(q.skip));
        }
        if (q.filter !== undefined && q.filter !== null) {
            a.push("$filter=" + e(q.filter));
        }
        if (q.select !== undefined && q.select !== null) {
            a.push("$select=" + String(q.select).split(",").map(function (s) { return e(s); }).join(","));
        }
        if (q.expand !== undefined && q.expand !== null) {
            a.push("$expand=" + e(q.expand));
        }
        if (q.inlinecount !== undefined && q.inlinecount !== null) {
            a.push("$inlinecount=" + e(q.inlinecount));
        }
        if (q.orderby !== undefined && q.orderby !== null) {
            a.push("$orderby=" + e(q.orderby));
        }
        if (q.q !== undefined && q.q !== null) {
            a.push("q=" + e(q.q));
        }
        return a.join("&");
    };
    /** run(): the parsed answer, {"d":{"results":...}}. */
    Query.prototype.run = function () {
        var qs = this.makeQueryString();
        return jsonOf(http(this.ctx, "GET", this.url + (qs ? "?" + qs : ""), {headers: JSON_HEADERS}));
    };
    guard(Query.prototype);
    _p.Query = Query;

    // ------------------------------------------------------------------
    // ACL

    var P_PRIVS = {};
    ["root", "auth", "auth-read", "message", "message-read", "event", "event-read", "log", "log-read",
        "social", "social-read", "box", "box-read", "box-install", "box-export", "box-import", "acl", "acl-read",
        "propfind", "rule", "rule-read", "sign", "exec", "stream-send", "stream-receive"].forEach(function (p) {
        P_PRIVS[p] = true;
    });

    function AclManager(ctx, url) {
        this.ctx = ctx;
        this.url = url;
    }

    // roleRef reads an ACE's role: a _p.Role, {Name, "_Box.Name"}, a name,
    // a role URL, or _ALL/_AUTHENTICATED/_UNAUTHENTICATED.
    function roleRef(r) {
        if (r === null || r === undefined || r === "") {
            return null;
        }
        if (typeof r === "string") {
            var special = {"_ALL": "all", "all": "all", "_AUTHENTICATED": "authenticated",
                "_UNAUTHENTICATED": "unauthenticated"};
            if (special[r]) {
                return {special: special[r]};
            }
            if (isUrl(r) || r.indexOf("/") >= 0) {
                return {href: r};
            }
            return {name: r, box: null};
        }
        if (r instanceof Role) {
            return {name: r.name, box: r._box};
        }
        if (typeof r === "object") {
            var n = r.Name !== undefined ? r.Name : r.name;
            var b = r["_Box.Name"] !== undefined ? r["_Box.Name"] : (r._box !== undefined ? r._box : r.boxName);
            if (b === "null" || b === "") {
                b = null;
            }
            return {name: String(n), box: b === undefined ? null : b};
        }
        throw invalid();
    }

    AclManager.prototype.set = function (param) {
        if (!param || typeof param !== "object") {
            throw invalid();
        }
        var aces = param.ace || [];
        var refs = [];
        var baseBox;
        for (var i = 0; i < aces.length; i++) {
            var a = aces[i];
            if (a === null || a === undefined) {
                continue;
            }
            var ref = roleRef(a.role);
            if (ref && ref.name !== undefined && baseBox === undefined) {
                baseBox = ref.box;
            }
            refs.push({ref: ref, privs: a.privilege instanceof Array ? a.privilege : []});
        }
        var cell = this.ctx.cellUrl;
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>" +
            "<D:acl xmlns:D=\"DAV:\" xmlns:p=\"urn:x-personium:xmlns\"";
        if (baseBox !== undefined) {
            xml += " xml:base=\"" + xmlEsc(cell + "__role/" + (baseBox === null ? "__" : encodeURIComponent(baseBox)) + "/") + "\"";
        }
        var rsa = param.requireSchemaAuthz;
        if (rsa !== null && rsa !== undefined && String(rsa).trim() !== "") {
            xml += " p:requireSchemaAuthz=\"" + xmlEsc(rsa) + "\"";
        }
        xml += ">";
        refs.forEach(function (e) {
            xml += "<D:ace><D:principal>";
            var r = e.ref;
            if (r === null) {
                xml += "<D:href></D:href>";
            } else if (r.special) {
                xml += "<D:" + r.special + "/>";
            } else if (r.href) {
                xml += "<D:href>" + xmlEsc(r.href) + "</D:href>";
            } else {
                var href = encodeURIComponent(r.name);
                if (r.box !== baseBox) {
                    href = "../" + (r.box === null ? "__" : encodeURIComponent(r.box)) + "/" + href;
                }
                xml += "<D:href>" + xmlEsc(href) + "</D:href>";
            }
            xml += "</D:principal><D:grant>";
            e.privs.forEach(function (p) {
                if (p === null || p === undefined) {
                    return;
                }
                p = String(p);
                xml += "<D:privilege>" + (P_PRIVS[p] ? "<p:" + p + "/>" : "<D:" + p + "/>") + "</D:privilege>";
            });
            xml += "</D:grant></D:ace>";
        });
        xml += "</D:acl>";
        http(this.ctx, "ACL", this.url, {headers: {"Content-Type": "application/xml"}, body: xml});
    };

    /** get(): {base, requireSchemaAuthz, ace:[{role, privilege:[...]}]}. */
    AclManager.prototype.get = function () {
        var r = http(this.ctx, "PROPFIND", this.url, {
            headers: {"Depth": "0", "Content-Type": "application/xml"},
            body: "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>"
        });
        var doc = parseXml(r.body);
        var acl = doc.first(NS_DAV, "acl");
        var out = {base: "", requireSchemaAuthz: "", ace: []};
        if (!acl) {
            return out;
        }
        var base = acl.attr("http://www.w3.org/XML/1998/namespace", "base") || "";
        out.base = base;
        out.requireSchemaAuthz = acl.attr(NS_P, "requireSchemaAuthz") || "";
        acl.all(NS_DAV, "ace").forEach(function (ace) {
            if (ace.first(NS_DAV, "inherited")) {
                return;
            }
            var pr = ace.first(NS_DAV, "principal");
            var role = "";
            if (pr) {
                var href = pr.first(NS_DAV, "href");
                if (href) {
                    role = href.text().trim();
                    if (base && role.indexOf(base) === 0) {
                        role = role.substring(base.length);
                    }
                    try {
                        role = decodeURIComponent(role);
                    } catch (ignore) {}
                } else if (pr.first(NS_DAV, "all")) {
                    role = "_ALL";
                } else if (pr.first(NS_DAV, "authenticated")) {
                    role = "_AUTHENTICATED";
                } else if (pr.first(NS_DAV, "unauthenticated")) {
                    role = "_UNAUTHENTICATED";
                } else {
                    throw new PersoniumException("Parameter Invalid");
                }
            }
            var privs = [];
            ace.all(NS_DAV, "privilege").forEach(function (p) {
                var e = p.elems();
                if (e.length) {
                    privs.push(e[0].local);
                }
            });
            out.ace.push({role: role, privilege: privs});
        });
        return out;
    };
    guard(AclManager.prototype);
    _p.AclManager = AclManager;

    // ------------------------------------------------------------------
    // WebDAV

    function Webdav() {}

    function initDav(o, ctx, path) {
        o.ctx = ctx;
        o.path = path;
        o.acl = new AclManager(ctx, path);
    }

    var MKCOL_BODY = function (extra) {
        return "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:mkcol xmlns:D=\"DAV:\" xmlns:p=\"urn:x-personium:xmlns\">" +
            "<D:set><D:prop><D:resourcetype><D:collection/>" + extra +
            "</D:resourcetype></D:prop></D:set></D:mkcol>";
    };

    Webdav.prototype.mkcolAs = function (name, extra) {
        http(this.ctx, "MKCOL", append(this.path, encPath(name)), {
            headers: {"Content-Type": "application/xml"}, body: MKCOL_BODY(extra)
        });
    };
    Webdav.prototype.mkCol = function (name) { this.mkcolAs(name, ""); };
    Webdav.prototype.mkOData = function (name) { this.mkcolAs(name, "<p:odata/>"); };
    Webdav.prototype.mkService = function (name) { this.mkcolAs(name, "<p:service/>"); };

    Webdav.prototype.resourceList = function (folders) {
        var r = http(this.ctx, "PROPFIND", this.path, {
            headers: {"Depth": "1", "Content-Type": "application/xml"},
            body: "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>"
        });
        var doc = parseXml(r.body);
        var self = hrefPath(this.path);
        var resps = doc.all(NS_DAV, "response");
        var selfSeen = false;
        var files = [];
        var cols = [];
        resps.forEach(function (resp, i) {
            var h = resp.first(NS_DAV, "href");
            var href = h ? h.text().trim() : "";
            if (!selfSeen && hrefPath(href) === self) {
                selfSeen = true;
                return;
            }
            var rt = resp.first(NS_DAV, "resourcetype");
            if (rt && rt.first(NS_DAV, "collection")) {
                cols.push(href);
            } else {
                files.push(href);
            }
        });
        if (!selfSeen && resps.length) {
            // as the Java client: the first answer is the collection itself
            var first = resps[0].first(NS_DAV, "href");
            var fh = first ? first.text().trim() : "";
            var fi = cols.indexOf(fh);
            if (fi >= 0) {
                cols.splice(fi, 1);
            } else if ((fi = files.indexOf(fh)) >= 0) {
                files.splice(fi, 1);
            }
        }
        return listOf(folders ? cols : files);
    };
    /** getFileList(): the hrefs of the files in this collection. */
    Webdav.prototype.getFileList = function () { return this.resourceList(false); };
    /** getColList(): the hrefs of the subcollections. */
    Webdav.prototype.getColList = function () { return this.resourceList(true); };

    // propName reads "name" (Personium namespace), "prefix:name" with p/D, or
    // "{namespace}name".
    function propName(key) {
        key = String(key);
        var m = /^\{([^}]*)\}(.+)$/.exec(key);
        if (m) {
            return {ns: m[1], local: m[2]};
        }
        var i = key.indexOf(":");
        if (i > 0) {
            var pre = key.substring(0, i);
            var ns = pre === "D" ? NS_DAV : NS_P;
            return {ns: ns, local: key.substring(i + 1)};
        }
        return {ns: NS_P, local: key};
    }

    /** setProp(key, value): PROPPATCH of one dead property (text). */
    Webdav.prototype.setProp = function (key, value) {
        var n = propName(key);
        var body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propertyupdate xmlns:D=\"DAV:\">" +
            "<D:set><D:prop><Z:" + n.local + " xmlns:Z=\"" + xmlEsc(n.ns) + "\">" +
            xmlEsc(value === undefined || value === null ? "" : value) + "</Z:" + n.local + ">" +
            "</D:prop></D:set></D:propertyupdate>";
        http(this.ctx, "PROPPATCH", this.path, {headers: {"Content-Type": "application/xml"}, body: body});
    };

    /** getProp(key): the text of a property, "" when absent. */
    Webdav.prototype.getProp = function (key) {
        var n = propName(key);
        var r = http(this.ctx, "PROPFIND", this.path, {
            headers: {"Depth": "0", "Content-Type": "application/xml"},
            body: "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>"
        });
        var doc = parseXml(r.body);
        var resp = doc.first(NS_DAV, "response");
        var scope = resp || doc;
        var stats = scope.all(NS_DAV, "propstat");
        for (var i = 0; i < stats.length; i++) {
            var st = stats[i].child(NS_DAV, "status");
            if (st && !/\s2\d\d\s/.test(" " + st.text() + " ")) {
                continue;
            }
            var prop = stats[i].child(NS_DAV, "prop");
            var el = prop ? prop.child(n.ns, n.local) : null;
            if (el) {
                return el.text();
            }
        }
        return "";
    };

    Webdav.prototype.col = function (name) {
        return new DavCollection(this.ctx, append(this.path, encPath(name)));
    };
    Webdav.prototype.odata = function (name) {
        return new ODataCollection(this.ctx, append(this.path, encPath(name)));
    };
    Webdav.prototype.service = function (name) {
        return new ServiceCollection(this.ctx, append(this.path, encPath(name)));
    };
    /** getPath(): the collection's URL (no trailing slash). */
    Webdav.prototype.getPath = function () {
        return this.path + "";
    };
    Webdav.prototype.makeUrlString = function () {
        return this.path + "";
    };
    /** getString(path[, charset]): the body of a file as a string. */
    Webdav.prototype.getString = function (path, charset) {
        var url = (path === undefined || path === null || path === "") ? this.path : append(this.path, encPath(path));
        return http(this.ctx, "GET", url, {headers: {"Accept": "text/plain"}}).body;
    };
    /** getStream(path): without Java streams, the body as a string. */
    Webdav.prototype.getStream = function (path) {
        return http(this.ctx, "GET", append(this.path, encPath(path)), {headers: {"Accept": "application/octet-stream"}}).body;
    };
    /**
     * put(path, contentType, data[, etag]) or put({path, contentType, data,
     * charset, etag}): writes a file (etag "*": create or overwrite).
     */
    Webdav.prototype.put = function (param, contentType, data, etag) {
        var path;
        if (typeof param === "string") {
            path = param;
        } else if (param && typeof param === "object" && param.path && param.contentType &&
                (param.data !== undefined || param.stream !== undefined)) {
            path = param.path;
            contentType = param.contentType;
            data = param.data !== undefined ? param.data : param.stream;
            etag = param.etag;
        } else {
            throw new PersoniumException("Parameter Invalid");
        }
        var h = {"Content-Type": contentType || "application/octet-stream"};
        if (etag && etag !== "*") {
            h["If-Match"] = String(etag);
        }
        http(this.ctx, "PUT", append(this.path, encPath(path)), {
            headers: h, body: data === undefined || data === null ? "" : String(data)
        });
    };
    /** del(path[, etag]): deletes a file or an empty collection. */
    Webdav.prototype.del = function (path, etag) {
        var h = {};
        if (etag && etag !== "*") {
            h["If-Match"] = String(etag);
        }
        http(this.ctx, "DELETE", append(this.path, encPath(path)), {headers: h});
    };
    guard(Webdav.prototype);
    _p.Webdav = Webdav;

    function DavCollection(ctx, path) {
        initDav(this, ctx, path);
        var segs = noSlash(path).split("/");
        this.name = "";
        this._name = decodeURIComponent(segs[segs.length - 1]);
    }
    DavCollection.prototype = Object.create(Webdav.prototype);
    DavCollection.prototype.constructor = DavCollection;
    _p.DavCollection = DavCollection;

    // ------------------------------------------------------------------
    // Box

    function Box(ctx, name, schema) {
        initDav(this, ctx, append(ctx.cellUrl, encodeURIComponent(name)));
        this.name = str(name);
        this.schema = str(schema);
        this.ctl = new BoxCtl(ctx, name);
    }
    Box.prototype = Object.create(Webdav.prototype);
    Box.prototype.constructor = Box;
    /** getMetaData(): GET {box} as JSON (the box's metadata). */
    Box.prototype.getMetaData = function () {
        return jsonOf(http(this.ctx, "GET", withSlash(this.path), {headers: JSON_HEADERS}));
    };
    guard(Box.prototype);
    _p.Box = Box;

    function BoxCtl(ctx, boxName) {
        this.role = new RoleManager(ctx, boxName);
    }
    _p.BoxCtl = BoxCtl;

    function boxOf(ctx, json) {
        return new Box(ctx, json.Name, json.Schema);
    }

    // ------------------------------------------------------------------
    // Cell

    function Cell(ctx, url) {
        this.ctx = ctx;
        this.url = url;
        this.name = cellNameOf(url);
        this.ctl = new CellCtl(ctx);
        this.event = new EventManager(ctx);
        this.acl = new AclManager(ctx, url);
    }
    Cell.prototype.box = function (name) {
        if (name) {
            name = String(name);
            if (isUrl(name)) {
                return new Box(this.ctx, this.findBox(name), name);
            }
            return new Box(this.ctx, name, "");
        }
        if (withSlash(this.url) === withSlash(env.cellUrl)) {
            return new Box(this.ctx, env.boxName, env.boxSchema || "");
        }
        if (env.boxSchema) {
            return new Box(this.ctx, this.findBox(env.boxSchema), env.boxSchema);
        }
        throw new PersoniumException("Cannot specify the box.");
    };
    // findBox asks {cell}__box which box has the schema.
    Cell.prototype.findBox = function (schema) {
        var r = http(this.ctx, "GET", this.url + "__box?schema=" + encodeURIComponent(schema), {headers: JSON_HEADERS});
        var loc = r.getHeader("location");
        if (!loc) {
            var j = jsonOf(r);
            loc = j && j.Url ? j.Url : "";
        }
        var segs = noSlash(loc).split("/");
        return decodeURIComponent(segs[segs.length - 1]);
    };
    Cell.prototype.getUrl = function () {
        return this.url + "";
    };
    /** getToken(): {access_token, expires_in, refresh_token, refresh_token_expires_in, token_type}, all strings. */
    Cell.prototype.getToken = function () {
        var t = this.ctx.token || {};
        return {
            access_token: str(t.access_token),
            expires_in: str(t.expires_in),
            refresh_token: str(t.refresh_token),
            refresh_token_expires_in: str(t.refresh_token_expires_in),
            token_type: str(t.token_type)
        };
    };
    Cell.prototype.setOwnerRepresentativeAccounts = function (user) {
        var users = user instanceof Array ? user : [user];
        var v = users.map(function (u) { return "<p:account>" + xmlEsc(u) + "</p:account>"; }).join("");
        var body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:p=\"urn:x-personium:xmlns\">" +
            "<D:set><D:prop><p:ownerRepresentativeAccounts>" + v + "</p:ownerRepresentativeAccounts></D:prop></D:set></D:propertyupdate>";
        http(this.ctx, "PROPPATCH", this.url, {headers: {"Content-Type": "application/xml"}, body: body});
    };
    guard(Cell.prototype);
    _p.Cell = Cell;

    function CellCtl(ctx) {
        this.box = new BoxManager(ctx);
        this.account = new AccountManager(ctx);
        this.relation = new RelationManager(ctx);
        this.role = new RoleManager(ctx);
        this.extRole = new ExtRoleManager(ctx);
        this.extCell = new ExtCellManager(ctx);
    }
    _p.CellCtl = CellCtl;

    function ctlUrl(ctx, set) {
        return ctx.cellUrl + "__ctl/" + set;
    }

    // ------------------------------------------------------------------
    // Links between control objects ($links)

    function LinkManager(ctx, owner) {
        this.ctx = ctx;
        this.owner = owner; // an entity wrapper with _url()
    }
    function linkTarget(t) {
        if (!t || typeof t._url !== "function" || !t._class) {
            throw new PersoniumException("Parameter Invalid");
        }
        return t;
    }
    /** link(obj): POST {entity}/$links/_{Class} {"uri": obj's URL}. */
    LinkManager.prototype.link = function (target) {
        var t = linkTarget(target);
        http(this.ctx, "POST", this.owner._url() + "/$links/_" + t._class, {
            headers: jsonBody(), body: JSON.stringify({uri: t._url()})
        });
    };
    /** unLink(obj): DELETE {entity}/$links/_{Class}({key}). */
    LinkManager.prototype.unLink = function (target) {
        var t = linkTarget(target);
        http(this.ctx, "DELETE", this.owner._url() + "/$links/_" + t._class + t._key());
    };
    /** query(): the linked entities' URIs (…/$links/_{Class}). */
    guard(LinkManager.prototype);
    _p.LinkManager = LinkManager;
    _p.MetadataLinkManager = LinkManager;

    // ------------------------------------------------------------------
    // Control objects

    function Account(ctx, json) {
        this._ctx = ctx;
        this._json = json;
        this.name = str(json.Name);
        this.role = new LinkManager(ctx, this);
    }
    Account.prototype._class = "Account";
    Account.prototype._key = function () { return keyOf(this._json.Name); };
    Account.prototype._url = function () { return ctlUrl(this._ctx, "Account") + this._key(); };
    _p.Account = Account;

    function roleKeyOf(j) {
        return keyOf({"Name": j.Name, "_Box.Name": j["_Box.Name"]}, ["Name", "_Box.Name"]);
    }

    function Role(ctx, json) {
        this._ctx = ctx;
        this._json = json;
        this._box = json["_Box.Name"] === undefined ? null : json["_Box.Name"];
        this.name = str(json.Name);
        this.boxName = str(this._box);
        this.id = "";
        this.account = new LinkManager(ctx, this);
        this.relation = new LinkManager(ctx, this);
        this.extCell = new LinkManager(ctx, this);
        this.extRole = new LinkManager(ctx, this);
    }
    Role.prototype._class = "Role";
    Role.prototype._key = function () { return roleKeyOf(this._json); };
    Role.prototype._url = function () { return ctlUrl(this._ctx, "Role") + this._key(); };
    /** getResourceBaseUrl(): {cell}__role/{box or __}/. */
    Role.prototype.getResourceBaseUrl = function () {
        return this._ctx.cellUrl + "__role/" + (this._box === null ? "__" : encodeURIComponent(this._box)) + "/";
    };
    _p.Role = Role;

    function Relation(ctx, json) {
        this._ctx = ctx;
        this._json = json;
        this.name = str(json.Name);
        this.boxName = str(json["_Box.Name"] === undefined ? null : json["_Box.Name"]);
        this.id = "";
        this.role = new LinkManager(ctx, this);
        this.extCell = new LinkManager(ctx, this);
    }
    Relation.prototype._class = "Relation";
    Relation.prototype._key = function () { return roleKeyOf(this._json); };
    Relation.prototype._url = function () { return ctlUrl(this._ctx, "Relation") + this._key(); };
    _p.Relation = Relation;

    function ExtCell(ctx, json) {
        this._ctx = ctx;
        this._json = json;
        this.name = "";
        this.id = "";
        this.url = str(json.Url);
        this.role = new LinkManager(ctx, this);
        this.relation = new LinkManager(ctx, this);
    }
    ExtCell.prototype._class = "ExtCell";
    ExtCell.prototype._key = function () { return keyOf(this._json.Url); };
    ExtCell.prototype._url = function () { return ctlUrl(this._ctx, "ExtCell") + this._key(); };
    _p.ExtCell = ExtCell;

    var EXTROLE_KEYS = ["ExtRole", "_Relation.Name", "_Relation._Box.Name"];
    function ExtRole(ctx, json) {
        this._ctx = ctx;
        this._json = json;
        this.name = str(json.ExtRole);
        this.relationName = str(json["_Relation.Name"] === undefined ? null : json["_Relation.Name"]);
        this.relationBoxName = str(json["_Relation._Box.Name"] === undefined ? null : json["_Relation._Box.Name"]);
        this.id = "";
        this.role = new LinkManager(ctx, this);
    }
    ExtRole.prototype._class = "ExtRole";
    ExtRole.prototype._key = function () { return keyOf(this._json, EXTROLE_KEYS); };
    ExtRole.prototype._url = function () { return ctlUrl(this._ctx, "ExtRole") + this._key(); };
    _p.ExtRole = ExtRole;

    // Box entities can be link targets too (Role/$links/_Box).
    Box.prototype._class = "Box";
    Box.prototype._key = function () { return keyOf(this.name); };
    Box.prototype._url = function () { return ctlUrl(this.ctx, "Box") + this._key(); };

    // ------------------------------------------------------------------
    // Managers of control objects

    function BoxManager(ctx) {
        this.init(ctx, ctlUrl(ctx, "Box"), ["Name"]);
    }
    BoxManager.prototype = Object.create(OData.prototype);
    BoxManager.prototype.create = function (json) {
        return boxOf(this.ctx, this.internalCreate(json));
    };
    BoxManager.prototype.retrieve = function (name) {
        return boxOf(this.ctx, this.internalRetrieve(name));
    };
    /** recursiveDelete(name): DELETE {box} with X-Personium-Recursive: true. */
    BoxManager.prototype.recursiveDelete = function (name) {
        http(this.ctx, "DELETE", append(this.ctx.cellUrl, encodeURIComponent(name)), {
            headers: {"X-Personium-Recursive": "true"}
        });
    };
    guard(BoxManager.prototype);
    _p.BoxManager = BoxManager;

    function AccountManager(ctx) {
        this.init(ctx, ctlUrl(ctx, "Account"), ["Name"]);
    }
    AccountManager.prototype = Object.create(OData.prototype);
    /** create(json, password): X-Personium-Credential carries the password. */
    AccountManager.prototype.create = function (json, pass) {
        var h = {};
        if (pass !== undefined && pass !== null) {
            h["X-Personium-Credential"] = String(pass);
        }
        return new Account(this.ctx, this.internalCreate(json, h));
    };
    AccountManager.prototype.retrieve = function (name) {
        return new Account(this.ctx, this.internalRetrieve(name));
    };
    /** changePassword(name, password): PUT Account('name') {"Name": name}. */
    AccountManager.prototype.changePassword = function (name, pass) {
        var cur = this.internalRetrieve(name);
        var body = {"Name": name};
        ["Type", "Cell", "IPAddressRange", "Status"].forEach(function (k) {
            if (cur && cur[k] !== undefined && cur[k] !== null) {
                body[k] = cur[k];
            }
        });
        this.internalUpdate(name, body, "*", {"X-Personium-Credential": String(pass)});
    };
    guard(AccountManager.prototype);
    _p.AccountManager = AccountManager;

    // Role and Relation keys: {"Name", "_Box.Name"} or a name.
    function nameBoxKey(param, boxName) {
        if (typeof param === "string") {
            return {"Name": param, "_Box.Name": boxName};
        }
        if (!param || typeof param !== "object") {
            throw invalid();
        }
        var b = param["_Box.Name"];
        return {"Name": param.Name !== undefined ? param.Name : param.name,
            "_Box.Name": b === undefined ? boxName : b};
    }

    function RoleManager(ctx, boxName) {
        this.init(ctx, ctlUrl(ctx, "Role"), ["Name", "_Box.Name"]);
        this.boxName = boxName === undefined ? null : boxName;
    }
    RoleManager.prototype = Object.create(OData.prototype);
    RoleManager.prototype.create = function (json) {
        var body = {};
        Object.keys(json || {}).forEach(function (k) { body[k] = json[k]; });
        if (this.boxName !== null && body["_Box.Name"] === undefined) {
            body["_Box.Name"] = this.boxName;
        }
        return new Role(this.ctx, this.internalCreate(body));
    };
    RoleManager.prototype.retrieve = function (param) {
        return new Role(this.ctx, this.internalRetrieve(nameBoxKey(param, this.boxName)));
    };
    RoleManager.prototype.del = function (param, etag) {
        OData.prototype.del.call(this, nameBoxKey(param, this.boxName), etag);
    };
    RoleManager.prototype.update = function (param, json, etag) {
        this.internalUpdate(nameBoxKey(param, this.boxName), json, etag);
    };
    RoleManager.prototype.merge = function (param, json, etag) {
        this.internalMerge(nameBoxKey(param, this.boxName), json, etag);
    };
    RoleManager.prototype.query = function () {
        if (this.boxName !== null) {
            return new Query(this.ctx, ctlUrl(this.ctx, "Box") + keyOf(this.boxName) + "/_Role");
        }
        return new Query(this.ctx, this.url);
    };
    guard(RoleManager.prototype);
    _p.RoleManager = RoleManager;

    function RelationManager(ctx) {
        this.init(ctx, ctlUrl(ctx, "Relation"), ["Name", "_Box.Name"]);
    }
    RelationManager.prototype = Object.create(OData.prototype);
    RelationManager.prototype.create = function (json) {
        return new Relation(this.ctx, this.internalCreate(json));
    };
    RelationManager.prototype.retrieve = function (param) {
        return new Relation(this.ctx, this.internalRetrieve(nameBoxKey(param, null)));
    };
    RelationManager.prototype.del = function (param, etag) {
        OData.prototype.del.call(this, nameBoxKey(param, null), etag);
    };
    RelationManager.prototype.update = function (param, json, etag) {
        this.internalUpdate(nameBoxKey(param, null), json, etag);
    };
    RelationManager.prototype.merge = function (param, json, etag) {
        this.internalMerge(nameBoxKey(param, null), json, etag);
    };
    guard(RelationManager.prototype);
    _p.RelationManager = RelationManager;

    function ExtCellManager(ctx) {
        this.init(ctx, ctlUrl(ctx, "ExtCell"), ["Url"]);
    }
    ExtCellManager.prototype = Object.create(OData.prototype);
    ExtCellManager.prototype.create = function (json) {
        return new ExtCell(this.ctx, this.internalCreate(json));
    };
    ExtCellManager.prototype.retrieve = function (url) {
        return new ExtCell(this.ctx, this.internalRetrieve(url));
    };
    guard(ExtCellManager.prototype);
    _p.ExtCellManager = ExtCellManager;

    function extRoleKey(param) {
        if (typeof param === "string") {
            return {"ExtRole": param};
        }
        if (!param || typeof param !== "object") {
            throw invalid();
        }
        return param;
    }

    function ExtRoleManager(ctx) {
        this.init(ctx, ctlUrl(ctx, "ExtRole"), EXTROLE_KEYS);
    }
    ExtRoleManager.prototype = Object.create(OData.prototype);
    ExtRoleManager.prototype.create = function (json) {
        return new ExtRole(this.ctx, this.internalCreate(json));
    };
    ExtRoleManager.prototype.retrieve = function (param) {
        return new ExtRole(this.ctx, this.internalRetrieve(extRoleKey(param)));
    };
    ExtRoleManager.prototype.del = function (param, etag) {
        OData.prototype.del.call(this, extRoleKey(param), etag);
    };
    guard(ExtRoleManager.prototype);
    _p.ExtRoleManager = ExtRoleManager;

    // ------------------------------------------------------------------
    // Events

    function EventManager(ctx) {
        this.ctx = ctx;
    }
    /** post({Type, Object, Info}[, requestKey]): POST {cell}__event. */
    EventManager.prototype.post = function (json, requestKey) {
        var h = jsonBody();
        if (requestKey !== null && requestKey !== undefined) {
            h["X-Personium-RequestKey"] = String(requestKey);
        }
        return http(this.ctx, "POST", this.ctx.cellUrl + "__event", {headers: h, body: JSON.stringify(json || {})});
    };
    guard(EventManager.prototype);
    _p.EventManager = EventManager;

    // ------------------------------------------------------------------
    // Unit

    function UnitManager(ctx, url) {
        this.ctx = ctx;
        this.url = url;
        this.ctl = {cell: new CellManager(ctx, url)};
    }
    UnitManager.prototype.cell = function (name) {
        var cu = typeof name === "string" ? cellUrlOf(name) : this.ctx.cellUrl;
        return new Cell(this.ctx.accessor.ctx(cu), cu);
    };
    UnitManager.prototype.getToken = function () {
        var t = this.ctx.token || {};
        return {access_token: str(t.access_token), expires_in: str(t.expires_in),
            refresh_token: str(t.refresh_token), refresh_token_expires_in: str(t.refresh_token_expires_in),
            token_type: str(t.token_type)};
    };
    guard(UnitManager.prototype);
    _p.UnitManager = UnitManager;

    function CellManager(ctx, url) {
        this.init(ctx, url + "__ctl/Cell", ["Name"]);
        this.unitUrl = url;
    }
    CellManager.prototype = Object.create(OData.prototype);
    CellManager.prototype.cellOf = function (json) {
        var cu = this.unitUrl + encodeURIComponent(json.Name) + "/";
        var c = new Cell(this.ctx.accessor.ctx(cu), cu);
        c.name = str(json.Name);
        return c;
    };
    CellManager.prototype.create = function (json) {
        return this.cellOf(this.internalCreate(json));
    };
    CellManager.prototype.retrieve = function (name) {
        return this.cellOf(this.internalRetrieve(name));
    };
    /** recursiveDelete(name): DELETE {cell} with X-Personium-Recursive: true. */
    CellManager.prototype.recursiveDelete = function (name) {
        http(this.ctx, "DELETE", this.unitUrl + encodeURIComponent(name), {headers: {"X-Personium-Recursive": "true"}});
    };
    guard(CellManager.prototype);
    _p.CellManager = CellManager;

    // ------------------------------------------------------------------
    // OData collections

    function ODataCollection(ctx, path) {
        this.ctx = ctx;
        this.path = path;
        this.name = "";
        this.schema = new ODataCollectionCtl(ctx, path + "/$metadata/");
    }
    ODataCollection.prototype.entitySet = function (name) {
        if (!name) {
            throw invalid();
        }
        return new EntitySet(this.ctx, this.path, String(name), null, null);
    };
    ODataCollection.prototype.getPath = function () {
        return this.path + "";
    };
    guard(ODataCollection.prototype);
    _p.ODataCollection = ODataCollection;

    function EntitySet(ctx, odPath, name, key, nav) {
        this.ctx = ctx;
        this.odPath = odPath;
        this.name = name;
        this.key_ = key;
        this.nav_ = nav;
        this.init(ctx, this.setUrl(), ["__id"]);
    }
    EntitySet.prototype = Object.create(OData.prototype);
    EntitySet.prototype.setUrl = function () {
        var u = append(this.odPath, encodeURIComponent(this.name));
        if (this.key_ !== null && this.key_ !== undefined && this.key_ !== "") {
            u += keyOf(this.key_);
            if (this.nav_) {
                var np = String(this.nav_);
                u += "/" + (np.charAt(0) === "_" ? np : "_" + np);
            }
        }
        return u;
    };
    /** create(json): the created entity (d.results), with __id. */
    EntitySet.prototype.create = function (json) {
        return this.internalCreate(json);
    };
    EntitySet.prototype.retrieve = function (id) {
        return this.internalRetrieve(id);
    };
    EntitySet.prototype.update = function (id, json, etag) {
        this.internalUpdate(id, json, etag);
    };
    EntitySet.prototype.merge = function (id, json, etag) {
        this.internalMerge(id, json, etag);
    };
    EntitySet.prototype.key = function (id) {
        return new EntitySet(this.ctx, this.odPath, this.name, id, this.nav_);
    };
    EntitySet.prototype.nav = function (navProp) {
        return new EntitySet(this.ctx, this.odPath, this.name, this.key_, navProp);
    };
    guard(EntitySet.prototype);
    _p.EntitySet = EntitySet;

    function ODataCollectionCtl(ctx, meta) {
        this.entityType = new SchemaManager(ctx, meta + "EntityType", ["Name"], entityTypeOf);
        this.associationEnd = new SchemaManager(ctx, meta + "AssociationEnd", ["Name", "_EntityType.Name"], associationEndOf);
        this.complexType = new SchemaManager(ctx, meta + "ComplexType", ["Name"], complexTypeOf);
        this.property = new SchemaManager(ctx, meta + "Property", ["Name", "_EntityType.Name"], propertyOf);
        this.complexTypeProperty = new SchemaManager(ctx, meta + "ComplexTypeProperty", ["Name", "_ComplexType.Name"], complexTypePropertyOf);
    }
    _p.ODataCollectionCtl = ODataCollectionCtl;

    function SchemaManager(ctx, url, keys, wrap) {
        this.init(ctx, url, keys);
        this.wrap = wrap;
    }
    SchemaManager.prototype = Object.create(OData.prototype);
    SchemaManager.prototype.create = function (json) {
        return this.wrap(this.ctx, this.url, this.internalCreate(json));
    };
    SchemaManager.prototype.retrieve = function (key) {
        return this.wrap(this.ctx, this.url, this.internalRetrieve(key));
    };
    guard(SchemaManager.prototype);

    function SchemaObject(ctx, setUrl, json, keys, cls) {
        this._ctx = ctx;
        this._json = json;
        this._setUrl = setUrl;
        this._keys = keys;
        this._class = cls;
        this.name = str(json.Name);
    }
    SchemaObject.prototype._key = function () { return keyOf(this._json, this._keys); };
    SchemaObject.prototype._url = function () { return this._setUrl + this._key(); };

    function entityTypeOf(ctx, url, j) {
        return new SchemaObject(ctx, url, j, ["Name"], "EntityType");
    }
    function complexTypeOf(ctx, url, j) {
        return new SchemaObject(ctx, url, j, ["Name"], "ComplexType");
    }
    function associationEndOf(ctx, url, j) {
        var o = new SchemaObject(ctx, url, j, ["Name", "_EntityType.Name"], "AssociationEnd");
        o.entityTypeName = str(j["_EntityType.Name"]);
        o.multiplicity = str(j.Multiplicity);
        o.associationEnd = new LinkManager(ctx, o);
        return o;
    }
    function defaultOf(j) {
        return j.Type === "Edm.String" ? str(j.DefaultValue) : (j.DefaultValue === undefined ? null : j.DefaultValue);
    }
    function propertyOf(ctx, url, j) {
        var o = new SchemaObject(ctx, url, j, ["Name", "_EntityType.Name"], "Property");
        o.entityTypeName = str(j["_EntityType.Name"]);
        o.type = str(j.Type);
        o.nullable = j.Nullable;
        o.defaultValue = defaultOf(j);
        o.collectionKind = str(j.CollectionKind);
        o.isKey = j.IsKey;
        o.uniqueKey = str(j.UniqueKey);
        return o;
    }
    function complexTypePropertyOf(ctx, url, j) {
        var o = new SchemaObject(ctx, url, j, ["Name", "_ComplexType.Name"], "ComplexTypeProperty");
        o.complexTypeName = str(j["_ComplexType.Name"]);
        o.type = str(j.Type);
        o.nullable = j.Nullable;
        o.defaultValue = defaultOf(j);
        o.collectionKind = str(j.CollectionKind);
        return o;
    }

    // ------------------------------------------------------------------
    // Service collections

    function ServiceCollection(ctx, path) {
        this.ctx = ctx;
        this.path = path;
        this.name = "";
    }
    /**
     * call(name, body, contentType): POST {svc}/{name}; or
     * call(method, name, body, contentType). Answers a response object
     * (getStatusCode(), getHeader(k), bodyAsString(), bodyAsJson()) and,
     * as Personium's, does not throw for error statuses.
     */
    ServiceCollection.prototype.call = function (a, b, c, d) {
        var method = "POST";
        var name = a;
        var body = b;
        var ct = c;
        if (arguments.length >= 4 && /^(GET|POST|PUT|DELETE)$/i.test(String(a))) {
            method = String(a).toUpperCase();
            name = b;
            body = c;
            ct = d;
        }
        var h = {};
        if (ct) {
            h["Content-Type"] = String(ct);
        }
        return http(this.ctx, method, append(this.path, encPath(name)), {
            headers: h, body: body === undefined || body === null || body === "" ? undefined : String(body), raw: true
        });
    };
    /**
     * configure(name, src[, subject]) or configure([{name, src}], subject):
     * PROPPATCH the routes (p:service) of this collection.
     */
    ServiceCollection.prototype.configure = function (routes, src, subject) {
        if (typeof routes === "string") {
            routes = [{name: routes, src: src}];
        } else {
            subject = src;
        }
        var x = "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propertyupdate xmlns:D=\"DAV:\" xmlns:p=\"urn:x-personium:xmlns\">" +
            "<D:set><D:prop><p:service language=\"JavaScript\"" +
            (subject ? " subject=\"" + xmlEsc(subject) + "\"" : "") + ">";
        (routes || []).forEach(function (r) {
            var n = r.name !== undefined ? r.name : r.getName();
            var s = r.src !== undefined ? r.src : r.getSrc();
            x += "<p:path name=\"" + xmlEsc(n) + "\" src=\"" + xmlEsc(s) + "\"/>";
        });
        x += "</p:service></D:prop></D:set></D:propertyupdate>";
        http(this.ctx, "PROPPATCH", this.path, {headers: {"Content-Type": "application/xml"}, body: x});
    };
    /** put(file, contentType, data[, etag]): writes __src/{file}. */
    ServiceCollection.prototype.put = function (file, contentType, data, etag) {
        var h = {"Content-Type": contentType || "text/javascript"};
        if (etag && etag !== "*") {
            h["If-Match"] = String(etag);
        }
        http(this.ctx, "PUT", append(this.path, "__src/" + encPath(file)), {headers: h, body: String(data)});
    };
    /** del(file): deletes __src/{file}. */
    ServiceCollection.prototype.del = function (file) {
        http(this.ctx, "DELETE", append(this.path, "__src/" + encPath(file)));
    };
    ServiceCollection.prototype.getPath = function () {
        return this.path + "";
    };
    guard(ServiceCollection.prototype);
    _p.ServiceCollection = ServiceCollection;

    // ------------------------------------------------------------------
    // Utilities

    _p.util = {};
    _p.util.obj2javaJson = function (obj) {
        return JSON.parse(JSON.stringify(obj));
    };
    _p.util.escape4xss = function esc(obj) {
        if (typeof obj === "string") {
            return obj.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
                .replace(/"/g, "&quot;").replace(/'/g, "&apos;");
        }
        if (obj instanceof Array) {
            return obj.map(esc);
        }
        if (obj && typeof obj === "object") {
            var r = {};
            Object.keys(obj).forEach(function (k) { r[k] = esc(obj[k]); });
            return r;
        }
        return obj;
    };
    _p.util.decodeURI = function (s, charset) {
        s = String(s === undefined || s === null ? "" : s).replace(/\+/g, " ");
        try {
            return decodeURIComponent(s);
        } catch (e) {
            return s.replace(/%([0-9a-fA-F]{2})/g, function (all, h) {
                return String.fromCharCode(parseInt(h, 16));
            });
        }
    };
    _p.util.queryParse = function (qs, charset) {
        if (qs === undefined || qs === null || qs === "") {
            return {};
        }
        if (typeof native.queryParse === "function") {
            return native.queryParse(String(qs));
        }
        var out = {};
        String(qs).split("&").forEach(function (p) {
            if (!p) {
                return;
            }
            var i = p.indexOf("=");
            var k = _p.util.decodeURI(i < 0 ? p : p.substring(0, i));
            var v = i < 0 ? "" : _p.util.decodeURI(p.substring(i + 1));
            if (Object.prototype.hasOwnProperty.call(out, k)) {
                if (!(out[k] instanceof Array)) {
                    out[k] = [out[k]];
                }
                out[k].push(v);
            } else {
                out[k] = v;
            }
        });
        return out;
    };
    _p.util.require = function (path) {
        if (typeof G.require !== "function") {
            throw new PersoniumException("require is not available", 0);
        }
        return G.require(path);
    };

    // jsgi-lib.js's response helper, for scripts that use it.
    if (typeof G.JSGIResponse === "undefined") {
        var JSGIResponse = function () {};
        JSGIResponse.prototype = {
            status: 200,
            headers: {"Content-Type": "application/json;charset=utf-8"},
            setResponseData: function (data) {
                if (data === null) {
                    this.body = [];
                } else if (this.headers["Content-Type"].indexOf("application/json", 0) !== -1) {
                    this.body = [JSON.stringify(data)];
                } else {
                    this.body = [data];
                }
            },
            body: []
        };
        G.JSGIResponse = JSGIResponse;
    }

    // Of Personium's Java bridge pjvm, the getters of where the script
    // runs, which apps call (pjvm.getBaseUrl() and the like); nothing of
    // its Java objects.
    G.pjvm = {
        getBaseUrl: function () { return unitUrl; },
        getCellName: function () { return env.cellName || ""; },
        getBoxName: function () { return env.boxName || ""; },
        getBoxSchema: function () { return env.boxSchema || ""; }
    };

    G._p = _p;
    G.dc = _p;
})(__pgo);
