package unit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/unit"
)

// TestEngineScripts runs the self-checking scripts of engine/testdata/p,
// each exercising one area of the engine API _p in the style of
// personium-engine's own test scripts: every script answers 200 "OK"
// when all its checks pass. Each runs in a fresh unit with cell c, box
// box1, service collection box1/svc (route test → test.js, subject
// engine), account engine/engine-pass whose role engineRole has all on
// box1 and root on the cell, account user001/pass001 with no roles, and
// exec for everyone; the caller is the unit master. The files of
// engine/testdata/p/lib are uploaded beside each script, for require().
func TestEngineScripts(t *testing.T) {
	files, err := filepath.Glob("../../engine/testdata/p/*.js")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no scripts in engine/testdata/p")
	}
	// Files every script may require(), as personium-engine's tests
	// share testCommon.js.
	libs, err := filepath.Glob("../../engine/testdata/p/lib/*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(f), ".js"), func(t *testing.T) {
			// Password hashing costs ~120 ms a time: scripts that make
			// accounts need more than the 500 ms of the other tests.
			e := newAuthEnvConfig(t, nil, func(c *unit.Config) { c.EngineTimeout = 20 * time.Second })
			e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
			e.must(201, "POST", "c/__ctl/Box", `{"Name":"box1"}`)
			e.must(201, "MKCOL", "c/box1/svc", serviceMkcol, "Content-Type", "application/xml")
			e.must(201, "POST", "c/__ctl/Role", `{"Name":"engineRole"}`)
			e.must(201, "POST", "c/__ctl/Account", `{"Name":"engine"}`, "X-Personium-Credential", "engine-pass")
			e.must(201, "POST", "c/__ctl/Account", `{"Name":"user001"}`, "X-Personium-Credential", "pass001")
			e.must(204, "POST", "c/__ctl/Account('engine')/$links/_Role", `{"uri":"`+e.url+`c/__ctl/Role(Name='engineRole',_Box.Name=null)"}`)
			aces := func(priv string) string {
				return `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="` + e.url + `c/__role/__/">` +
					`<D:ace><D:principal><D:href>engineRole</D:href></D:principal><D:grant><D:privilege>` + priv +
					`</D:privilege></D:grant></D:ace></D:acl>`
			}
			e.must(200, "ACL", "c", aces("<p:root/>"))
			e.must(200, "ACL", "c/box1", aces("<D:all/>"))
			e.must(200, "ACL", "c/box1/svc", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal>`+
				`<D:grant><D:privilege><p:exec/></D:privilege></D:grant></D:ace></D:acl>`)
			e.must(207, "PROPPATCH", "c/box1/svc", `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop>
				<p:service language="JavaScript" subject="engine"><p:path name="test" src="test.js"/></p:service>
				</D:prop></D:set></D:propertyupdate>`)
			for _, l := range libs {
				lib, err := os.ReadFile(l)
				if err != nil {
					t.Fatal(err)
				}
				e.must(201, "PUT", "c/box1/svc/__src/"+filepath.Base(l), string(lib), "Content-Type", "text/javascript")
			}
			e.must(201, "PUT", "c/box1/svc/__src/test.js", string(src), "Content-Type", "text/javascript")
			r := e.do("GET", "c/box1/svc/test", "")
			if r.status != 200 || string(r.body) != "OK" {
				t.Errorf("%s: %d %s", filepath.Base(f), r.status, r.body)
			}
		})
	}
}
