package compattests

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestCtlQuery: OData query options on cell control sets.
func TestCtlQuery(t *testing.T) {
	requireUnit(t)
	c := newCell(t, "query")
	create(t, "create box b1", ctl(c, "Box"), map[string]any{"Name": "b1", "Schema": "https://app.example.org/q/"}, nil)
	create(t, "create box b2", ctl(c, "Box"), map[string]any{"Name": "b2"}, nil)
	for _, r := range []map[string]any{
		{"Name": "alpha"}, {"Name": "beta"}, {"Name": "gamma", "_Box.Name": "b1"}, {"Name": "delta", "_Box.Name": "b1"},
		{"Name": "alpha", "_Box.Name": "b2"},
	} {
		create(t, fmt.Sprintf("create role %v", r), ctl(c, "Role"), r, nil)
	}
	list := func(t *testing.T, step string, kv ...string) *res {
		r := do(t, step, "GET", ctl(c, "Role")+qs(kv...), auth(), nil)
		r.must(200)
		return r
	}
	sorted := func(r *res, prop string) []string {
		n := names(r, prop)
		sort.Strings(n)
		return n
	}
	same := func(r *res, got, want []string) {
		r.t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			r.fail("got %v, want %v", got, want)
		}
	}

	t.Run("filter and orderby", func(t *testing.T) {
		r := list(t, "$filter Name", "$filter", "Name eq 'alpha'")
		same(r, sorted(r, "_Box.Name"), []string{"", "b2"})
		r = list(t, "$filter startswith, $orderby desc", "$filter", "startswith(Name,'a') or startswith(Name,'b')", "$orderby", "Name desc")
		same(r, names(r, "Name"), []string{"beta", "alpha", "alpha"})
		r = list(t, "$filter ne + $top + $inlinecount", "$filter", "Name ne 'beta'", "$orderby", "Name", "$top", "2", "$inlinecount", "allpages")
		same(r, names(r, "Name"), []string{"alpha", "alpha"})
		r.json("d/__count", "4")
	})
	// _Box.Name in $filter/$select fails in Personium with an OData parse
	// error (personium-core issue #55, open; maintainers call that behaviour
	// incorrect). The brief for this server asks for it to work.
	t.Run("filter by _Box.Name", func(t *testing.T) {
		r := list(t, "$filter _Box.Name", "$filter", "_Box.Name eq 'b1'")
		same(r, sorted(r, "Name"), []string{"delta", "gamma"})
		r = list(t, "$filter _Box.Name and Name", "$filter", "_Box.Name eq 'b2' and Name eq 'alpha'")
		same(r, names(r, "Name"), []string{"alpha"})
	})
	t.Run("select", func(t *testing.T) {
		r := list(t, "$select=Name", "$select", "Name", "$filter", "Name eq 'beta'")
		if e := results(r); len(e) == 1 {
			if _, ok := jsonAt(e[0], "Name"); !ok {
				r.fail("$select=Name dropped Name")
			}
			if _, ok := jsonAt(e[0], "_Box.Name"); ok {
				r.fail("$select=Name kept _Box.Name")
			}
			if _, ok := jsonAt(e[0], "__metadata/uri"); !ok {
				r.fail("$select dropped __metadata")
			}
		} else {
			r.fail("%d results, want 1", len(e))
		}
		r = list(t, "$select=_Box.Name", "$select", "_Box.Name", "$filter", "Name eq 'gamma'")
		if e := results(r); len(e) == 1 {
			if v, _ := jsonAt(e[0], "_Box.Name"); v != "b1" {
				r.fail("_Box.Name = %v, want b1", v)
			}
		}
		b := do(t, "$select on Box", "GET", ctl(c, "Box('b1')")+qs("$select", "Name"), auth(), nil)
		if b.ok(200) {
			b.json("d/results/Name", "b1")
			b.absent("d/results/Schema")
		}
		do(t, "empty $select", "GET", ctl(c, "Role")+"?$select=", auth(), nil).wantError(400, "PR400-OD-0017")
	})
	t.Run("bad options", func(t *testing.T) {
		for _, q := range []struct{ k, v, code string }{
			{"$top", "abc", "PR400-OD-0036"}, {"$top", "-1", "PR400-OD-0029"}, {"$top", "10001", "PR400-OD-0029"},
			{"$skip", "abc", "PR400-OD-0036"}, {"$filter", "Name eq", "PR400-OD-0003"},
			{"$orderby", "Name up", "PR400-OD-0015"}, {"$inlinecount", "some", "PR400-OD-0013"},
		} {
			do(t, q.k+"="+q.v, "GET", ctl(c, "Role")+qs(q.k, q.v), auth(), nil).wantError(400, q.code)
		}
	})
}

// TestRequestErrors: malformed requests on cell control objects answer
// Personium error bodies with the codes of the jersey tests, and create
// nothing.
func TestRequestErrors(t *testing.T) {
	requireUnit(t)
	c := newCell(t, "err")
	do(t, "malformed JSON", "POST", ctl(c, "Role"), auth(), `{"Name": "r1",`).wantError(400, "PR400-OD-0001")
	do(t, "JSON array body", "POST", ctl(c, "Role"), auth(), `["r1"]`).wantError(400, "PR400-OD-0001")
	do(t, "empty body", "POST", ctl(c, "Box"), auth(), "").wantError(400, "PR400-OD-0001")
	// PersoniumJsonFormatParser: a property outside the (closed) control
	// entity type is PR400-OD-0007 (ODataCommon.cellErrorInvalidField).
	do(t, "unknown property", "POST", ctl(c, "Role"), auth(), `{"Name":"r1","Color":"red"}`).wantError(400, "PR400-OD-0007")
	// AbstractODataResource: __published/__updated/__metadata in a body are refused.
	for i, p := range []string{"__published", "__updated", "__metadata"} {
		do(t, "body with "+p, "POST", ctl(c, "Role"), auth(),
			jsonBody(map[string]any{"Name": fmt.Sprintf("r%d", i), p: "/Date(0)/"})).wantError(400, "")
	}
	do(t, "required Name missing", "POST", ctl(c, "Role"), auth(), `{}`).wantError(400, "")
	// BoxCrudTest / DeleteTest: unquoted or broken keys are PR400-OD-0004.
	for _, key := range []string{"Box(Name=)", "Role(Name='r1',_Box.Name=)"} {
		r := do(t, "bad key "+key, "GET", ctl(c, key), auth(), nil)
		if r.Status == 404 {
			r.fail("a malformed key must be a 400 error, not 404")
		} else {
			r.wantError(400, "")
		}
	}
	do(t, "unquoted numeric key", "GET", ctl(c, "Box(123)"), auth(), nil).wantError(400, "PR400-OD-0004")
	r := do(t, "nothing was created", "GET", ctl(c, "Role")+qs("$inlinecount", "allpages"), auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "0")
	}

	t.Run("oversized body", func(t *testing.T) {
		c := newCell(t, "big")
		name := strings.Repeat("n", 4<<20)
		status, body, err := rawPost(ctl(c, "Role"), `{"Name":"`+name+`"}`)
		switch {
		case err != nil:
			t.Errorf("step %q: no HTTP answer to a 4 MiB body: %v", "POST 4 MiB role", err)
		case status < 400 || status > 499:
			t.Errorf("step %q: status %d, want a 4xx error\n  body: %.500s", "POST 4 MiB role", status, body)
		}
		l := do(t, "server alive and nothing created", "GET", ctl(c, "Role")+qs("$inlinecount", "allpages"), auth(), nil)
		if l.ok(200) {
			l.json("d/__count", "0")
		}
	})
}

// rawPost sends a POST over its own connection and reads the answer while
// the body is still being written, so that a server refusing a large body
// early is seen answering rather than as a broken pipe.
func rawPost(rawURL, body string) (int, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, "", err
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	go func() {
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nAccept: application/json\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", u.RequestURI(), u.Host, masterToken, len(body))
		for off := 0; off < len(body); off += 64 << 10 {
			end := min(off+64<<10, len(body))
			if _, err := conn.Write([]byte(body[off:end])); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b := make([]byte, 2048)
	n, _ := resp.Body.Read(b)
	return resp.StatusCode, string(b[:n]), nil
}
