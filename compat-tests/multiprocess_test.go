package compattests

// Two `personium serve` processes on one Elasticsearch (DESIGN.md §3,
// "Scale-out"): what one process writes, the other sees at once, and
// conditional writes, unique keys, WebDAV locks and the account lock
// count hold across both.
//
// The scenarios test metadata only: cells, boxes and control objects,
// OData schemas and user data, WebDAV collections, their PROPPATCH
// properties, ACLs and locks. File bodies (WebDAV PUT content) live in
// each process's own content store (<data>/chunks); only with --store bee
// could a body written through A be read through B, so no scenario reads
// a body through the other process.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// mpPair is two processes sharing one Elasticsearch index prefix, the
// unit's keys and its master token. Both have the unit URL of A, as
// processes behind a load balancer have the balancer's.
type mpPair struct {
	unit   string    // the public unit URL of both (A's), with trailing slash
	base   [2]string // where processes A and B listen, with trailing slash
	token  string
	prefix string
	srv    [2]*server
}

// Process indices into mpPair.base.
const (
	mpA = 0
	mpB = 1
)

// mpProc names the processes in step names.
var mpProc = [2]string{"A", "B"}

// auth is the master-token header set of the pair, plus more.
func (p *mpPair) auth(kv ...string) hdr {
	h := hdr{"Authorization": "Bearer " + p.token, "Accept": "application/json"}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// cell is the URL of a cell as served by process i.
func (p *mpPair) cell(i int, name string) string { return p.base[i] + name + "/" }

// ctl is the URL of a cell control object path as served by process i.
func (p *mpPair) ctl(i int, cell, path string) string { return p.cell(i, cell) + "__ctl/" + path }

// unitCtl is the URL of a unit control object path as served by process i.
func (p *mpPair) unitCtl(i int, path string) string { return p.base[i] + "__ctl/" + path }

// newCell creates a uniquely named cell through process i and deletes it
// at the end (through A).
func (p *mpPair) newCell(t *testing.T, i int, prefix string) string {
	t.Helper()
	name := uniqueName(prefix)
	do(t, "create cell "+name+" through "+mpProc[i], "POST", p.unitCtl(i, "Cell"), p.auth(), jsonBody(map[string]any{"Name": name})).must(201)
	t.Cleanup(func() {
		r := do(t, "clean up cell "+name, "DELETE", p.cell(mpA, name), p.auth("X-Personium-Recursive", "true"), nil)
		if r.Status != 204 && r.Status != 404 {
			t.Logf("cleanup: could not delete cell %s: %s", name, r.describe())
		}
	})
	return name
}

// odataCol creates a box "box" and in it an OData service collection
// "od" through process i; it returns the collection's path below the
// unit, "{cell}/box/od/", to be prefixed with either base.
func (p *mpPair) odataCol(t *testing.T, i int, cell string) string {
	t.Helper()
	create(t, "create box through "+mpProc[i], p.ctl(i, cell, "Box"), map[string]any{"Name": "box"}, p.auth())
	mkcol := `<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`
	do(t, "MKCOL OData collection through "+mpProc[i], "MKCOL", p.cell(i, cell)+"box/od", p.auth("Content-Type", "application/xml"), mkcol).must(201)
	return cell + "/box/od/"
}

// startESPair starts processes A and B on esURL with a fresh index
// prefix and stops them, removes their folders and deletes the prefix's
// indices when t ends. extra are server flags for both.
func startESPair(t *testing.T, esURL string, extra ...string) *mpPair {
	t.Helper()
	p := &mpPair{prefix: "mp-" + randomHex(4), token: "mp-" + randomHex(16)}
	t.Cleanup(func() { deleteESIndices(t, esURL, p.prefix) })
	bin := mpBinary(t)
	var addr [2]string
	for i := range addr {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr[i] = fmt.Sprintf("127.0.0.1:%d", port)
		p.base[i] = "http://" + addr[i] + "/"
	}
	p.unit = p.base[mpA]
	flags := append([]string{"--metastore", "elasticsearch", "--es-url", esURL, "--es-index-prefix", p.prefix,
		"--unit-url", p.unit, "--master-token", p.token}, extra...)
	for i := range p.srv {
		dir := t.TempDir()
		data := filepath.Join(dir, "data")
		if i == mpB {
			// B must sign and open tokens as A does: the unit's token
			// key, signing key and certificate (auth.LoadOrCreateTokenKey,
			// auth.LoadOrCreateUnitKey), and the master token, which both
			// also get on the command line.
			copyUnitKeys(t, filepath.Join(p.srv[mpA].dir, "data"), data)
		}
		s, err := startServerProcess(bin, dir, addr[i], flags)
		if err != nil {
			t.Fatalf("starting process %s: %v", mpProc[i], err)
		}
		p.srv[i] = s
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("last lines of the log of process %s:\n%s", mpProc[i], s.logTail(30))
			}
			if err := s.stop(); err != nil {
				t.Errorf("stopping process %s: %v", mpProc[i], err)
			}
		})
	}
	return p
}

// mpBinary returns the personium binary: the one TestMain built, or a
// fresh build when the suite tests a unit at PERSONIUM_TEST_URL.
func mpBinary(t *testing.T) string {
	t.Helper()
	if ownServer && dataDir != "" {
		bin := filepath.Join(filepath.Dir(dataDir), "personium")
		if _, err := os.Stat(bin); err == nil {
			return bin
		}
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "personium")
	build := exec.Command("go", "build", "-o", bin, "./cmd/personium")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/personium: %v\n%s", err, out)
	}
	return bin
}

// startServerProcess starts bin serve on addr with its data folder in
// dir (which it does not remove) and waits until it answers.
func startServerProcess(bin, dir, addr string, flags []string) (*server, error) {
	s := &server{dir: dir, unit: "http://" + addr + "/", exited: make(chan error, 1), logPath: filepath.Join(dir, "server.log")}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, append([]string{"serve", "--listen", addr, "--data", filepath.Join(dir, "data")}, flags...)...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Env = withoutPersoniumEnv(os.Environ())
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() {
		s.exited <- s.cmd.Wait()
		logFile.Close()
	}()
	if err := s.waitReady(20 * time.Second); err != nil {
		tail := s.logTail(30)
		s.stop()
		return nil, fmt.Errorf("%v\nserver log:\n%s", err, tail)
	}
	return s, nil
}

// copyUnitKeys copies the unit's key files from one data folder to a new one.
func copyUnitKeys(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"token-key", "unit-key.pem", "unit-cert.pem", "master-token"} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if os.IsNotExist(err) && name == "master-token" {
			continue // only written when the token is generated
		}
		if err != nil {
			t.Fatalf("process A's %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// deleteESIndices deletes {prefix}-docs, -claims and -intents (Elasticsearch
// refuses wildcard deletes). esURL may be a comma-separated list with
// ?options, as --es-url takes it.
func deleteESIndices(t *testing.T, esURL, prefix string) {
	first, _, _ := strings.Cut(esURL, ",")
	first, _, _ = strings.Cut(first, "?")
	first = strings.TrimSuffix(first, "/")
	for _, idx := range []string{prefix + "-docs", prefix + "-claims", prefix + "-intents"} {
		req, err := http.NewRequest("DELETE", first+"/"+idx, nil)
		if err != nil {
			t.Errorf("deleting index %s: %v", idx, err)
			continue
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Errorf("deleting index %s: %v", idx, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 && resp.StatusCode != 404 {
			t.Errorf("deleting index %s: %d %s", idx, resp.StatusCode, body)
		}
	}
}

// mpReq is one request of a race.
type mpReq struct {
	step, method, url string
	h                 hdr
	body              string
}

// mpRace sends all requests at the same moment, each from its own
// goroutine with its request already built, and returns the answers in
// order. A transport error fails the test.
func mpRace(t *testing.T, reqs ...mpReq) []*res {
	t.Helper()
	out := make([]*res, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i, q := range reqs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			var rd io.Reader
			if q.body != "" {
				rd = strings.NewReader(q.body)
			}
			req, err := http.NewRequest(q.method, q.url, rd)
			ready.Done()
			if err != nil {
				errs[i] = err
				return
			}
			for k, v := range q.h {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			if q.body != "" && req.Header.Get("Content-Type") == "" {
				req.Header.Set("Content-Type", "application/json")
			}
			<-start
			resp, err := httpClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err != nil {
				errs[i] = err
				return
			}
			r := &res{step: q.step, method: q.method, url: q.url, Status: resp.StatusCode, Header: resp.Header, Body: data}
			if json.Unmarshal(data, &r.parsed) == nil {
				r.jsonOK = true
			}
			out[i] = r
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %s %s: %v", reqs[i].step, reqs[i].method, reqs[i].url, err)
		}
		out[i].t = t
	}
	return out
}

// mpOneWinner checks that exactly one of two raced answers has status win
// and the other status lose with Personium error code loseCode; it
// returns the index of the winner, or -1 after reporting a failure.
func mpOneWinner(t *testing.T, round string, rs []*res, win, lose int, loseCode string) int {
	t.Helper()
	switch {
	case rs[0].Status == win && rs[1].Status == lose:
		rs[1].wantError(lose, loseCode)
		return 0
	case rs[1].Status == win && rs[0].Status == lose:
		rs[0].wantError(lose, loseCode)
		return 1
	}
	t.Errorf("%s: want one %d and one %d, got A %d and B %d\n  A: %s\n  B: %s", round, win, lose,
		rs[0].Status, rs[1].Status, rs[0].describe(), rs[1].describe())
	return -1
}

// TestMultiProcess starts two servers on one Elasticsearch and runs the
// scenarios of "several `personium serve` behind a load balancer" through
// them: a write through one is visible through the other at once, and
// conditional writes race correctly.
func TestMultiProcess(t *testing.T) {
	esURL := os.Getenv("PERSONIUM_TEST_ES_URL")
	if esURL == "" {
		t.Skip("PERSONIUM_TEST_ES_URL is not set: the two-process scenarios need an Elasticsearch node (e.g. http://127.0.0.1:9200) both servers share")
	}
	start := time.Now()
	p := startESPair(t, esURL, "--account-lock-count", "3")
	t.Logf("two processes on %s with index prefix %s, started in %v: A %s, B %s",
		esURL, p.prefix, time.Since(start).Round(time.Millisecond), p.base[mpA], p.base[mpB])

	t.Run("CellsAndControlObjects", func(t *testing.T) { mpControlObjects(t, p) })
	t.Run("UserData", func(t *testing.T) { mpUserData(t, p) })
	t.Run("WebDAV", func(t *testing.T) { mpWebDAV(t, p) })
	t.Run("TokenFromAUsedOnB", func(t *testing.T) { mpTokens(t, p) })
	t.Run("IfMatchRace", func(t *testing.T) { mpIfMatchRace(t, p) })
	t.Run("CreateRace", func(t *testing.T) { mpCreateRace(t, p) })
	t.Run("CellDeleted", func(t *testing.T) { mpCellDeleted(t, p) })
	t.Run("SchemaChange", func(t *testing.T) { mpSchemaChange(t, p) })
	t.Run("DavLock", func(t *testing.T) { mpDavLock(t, p) })
	t.Run("AccountLockout", func(t *testing.T) { mpAccountLockout(t, p) })
	t.Run("OtherKeysRefused", func(t *testing.T) { mpOtherKeys(t, p, esURL) })
}

// mpOtherKeys: a third process on the pair's index prefix with a data
// folder of its own (its own token key and unit key) or another master
// token would seal and sign tokens the pair refuses: it must refuse to
// start, saying what to copy, rather than serve the unit.
func mpOtherKeys(t *testing.T, p *mpPair, esURL string) {
	bin := mpBinary(t)
	for _, c := range []struct {
		name, want string
		copyKeys   bool
		token      string
	}{
		{"own keys", "copy token-key, unit-key.pem and unit-cert.pem", false, p.token},
		{"another master token", "another master token", true, "other-" + randomHex(8)},
	} {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		data := filepath.Join(dir, "data")
		if c.copyKeys {
			copyUnitKeys(t, filepath.Join(p.srv[mpA].dir, "data"), data)
		}
		cmd := exec.Command(bin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data", data,
			"--metastore", "elasticsearch", "--es-url", esURL, "--es-index-prefix", p.prefix,
			"--unit-url", p.unit, "--master-token", c.token)
		cmd.Env = withoutPersoniumEnv(os.Environ())
		done := make(chan struct{})
		var out []byte
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("%s: the process did not exit within 30 s; output:\n%s", c.name, out)
			continue
		}
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: exit %v, want a refusal saying %q; output:\n%s", c.name, err, c.want, out)
		}
	}
	// The pair still serves.
	for i := range p.base {
		do(t, "GET the unit through "+mpProc[i], "GET", p.unitCtl(i, "Cell"), p.auth(), nil).must(200)
	}
}

// mpControlObjects: cells, boxes, accounts, roles and $links written
// through one process are read, listed and filtered through the other
// with no delay.
func mpControlObjects(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mpctl")
	r := do(t, "GET the cell through B", "GET", p.unitCtl(mpB, "Cell('"+c+"')"), p.auth(), nil)
	if r.ok(200) {
		r.json("d/results/Name", c)
	}
	r = do(t, "$filter cells through B", "GET", p.unitCtl(mpB, "Cell")+qs("$filter", "Name eq '"+c+"'", "$inlinecount", "allpages"), p.auth(), nil)
	if r.ok(200) {
		r.json("d/__count", "1")
		r.json("d/results/0/Name", c)
	}

	r = create(t, "create box through B", p.ctl(mpB, c, "Box"), map[string]any{"Name": "b1", "Schema": "https://app.example/"}, p.auth())
	// B answers with the unit URL (A's, as a load balancer's would be).
	r.header("Location", p.ctl(mpA, c, "Box('b1')"))
	r = do(t, "GET the box through A", "GET", p.ctl(mpA, c, "Box('b1')"), p.auth(), nil)
	if r.ok(200) {
		r.json("d/results/Schema", "https://app.example/")
	}
	r = do(t, "PROPFIND the box through A", "PROPFIND", p.cell(mpA, c)+"b1", p.auth("Depth", "0"), nil)
	r.ok(207)

	for i, acc := range []string{"alice", "bob", "carol"} {
		create(t, "create account "+acc+" through "+mpProc[i%2], p.ctl(i%2, c, "Account"), map[string]any{"Name": acc}, p.auth("X-Personium-Credential", "password1"))
	}
	for i := range p.base {
		r = do(t, "list accounts through "+mpProc[i], "GET", p.ctl(i, c, "Account")+qs("$orderby", "Name"), p.auth(), nil)
		if r.ok(200) {
			if got := names(r, "Name"); strings.Join(got, ",") != "alice,bob,carol" {
				r.fail("accounts %v, want alice,bob,carol", got)
			}
		}
		r = do(t, "$filter accounts through "+mpProc[i], "GET", p.ctl(i, c, "Account")+qs("$filter", "startswith(Name,'b')"), p.auth(), nil)
		if r.ok(200) {
			if got := names(r, "Name"); strings.Join(got, ",") != "bob" {
				r.fail("accounts %v, want bob", got)
			}
		}
	}

	create(t, "create role through A", p.ctl(mpA, c, "Role"), map[string]any{"Name": "r1", "_Box.Name": "b1"}, p.auth())
	role := p.ctl(mpA, c, "Role(Name='r1',_Box.Name='b1')")
	do(t, "GET the role through B", "GET", p.ctl(mpB, c, "Role(Name='r1',_Box.Name='b1')"), p.auth(), nil).ok(200)
	do(t, "link account and role through B", "POST", p.ctl(mpB, c, "Account('bob')/$links/_Role"), p.auth(),
		jsonBody(map[string]string{"uri": role})).must(204)
	r = do(t, "list the links through A", "GET", p.ctl(mpA, c, "Role(Name='r1',_Box.Name='b1')/$links/_Account"), p.auth(), nil)
	if r.ok(200) && strings.Join(linkURIs(r), ",") != p.ctl(mpA, c, "Account('bob')") {
		r.fail("links %v, want Account('bob')", linkURIs(r))
	}
	do(t, "duplicate link through A", "POST", p.ctl(mpA, c, "Account('bob')/$links/_Role"), p.auth(),
		jsonBody(map[string]string{"uri": role})).wantError(409, "PR409-OD-0002")
	do(t, "delete the box through B while the role is in it", "DELETE", p.ctl(mpB, c, "Box('b1')"), p.auth(), nil).wantError(409, "")

	do(t, "delete account carol through A", "DELETE", p.ctl(mpA, c, "Account('carol')"), p.auth(), nil).must(204)
	do(t, "carol gone through B", "GET", p.ctl(mpB, c, "Account('carol')"), p.auth(), nil).wantError(404, "PR404-OD-0002")
	r = do(t, "renamed through B", "PUT", p.ctl(mpB, c, "Account('alice')"), p.auth("If-Match", "*"), `{"Name":"alice2"}`)
	r.must(204)
	do(t, "old name gone through A", "GET", p.ctl(mpA, c, "Account('alice')"), p.auth(), nil).wantError(404, "PR404-OD-0002")
	do(t, "new name there through A", "GET", p.ctl(mpA, c, "Account('alice2')"), p.auth(), nil).ok(200)
}

// mpUserData: an OData schema and entities written through one process
// are read, $filtered and counted through the other at once.
func mpUserData(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpB, "mpod")
	od := p.odataCol(t, mpB, c)
	at := func(i int, path string) string { return p.base[i] + od + path }

	create(t, "EntityType through A", at(mpA, "$metadata/EntityType"), map[string]any{"Name": "City"}, p.auth())
	create(t, "Property through A", at(mpA, "$metadata/Property"), map[string]any{"Name": "pop", "_EntityType.Name": "City", "Type": "Edm.Int32"}, p.auth())
	r := do(t, "EntityTypes through B", "GET", at(mpB, "$metadata/EntityType"), p.auth(), nil)
	if r.ok(200) && strings.Join(names(r, "Name"), ",") != "City" {
		r.fail("EntityTypes %v, want City", names(r, "Name"))
	}
	r = do(t, "$metadata through B", "GET", at(mpB, "$metadata"), p.auth("Accept", ""), nil)
	if r.ok(200) && !strings.Contains(string(r.Body), `<Property Name="pop" Type="Edm.Int32"`) {
		r.fail("EDMX lacks the Property pop")
	}

	cities := []struct {
		id  string
		pop int
	}{{"Tokyo", 37}, {"Osaka", 19}, {"Nagoya", 9}, {"Sapporo", 2}, {"Kyoto", 1}, {"Fukuoka", 5}}
	for i, x := range cities {
		w := i % 2 // alternate the process that writes
		create(t, "create "+x.id+" through "+mpProc[w], at(w, "City"), map[string]any{"__id": x.id, "pop": x.pop, "tag": "t" + x.id}, p.auth())
		// Read back at once through the other process.
		r := do(t, "GET "+x.id+" through "+mpProc[1-w], "GET", at(1-w, "City('"+x.id+"')"), p.auth(), nil)
		if r.ok(200) {
			r.json("d/results/pop", x.pop)
		}
	}
	list := func(i int, step, query string, want ...string) *res {
		t.Helper()
		r := do(t, step+" through "+mpProc[i], "GET", at(i, "City")+query, p.auth(), nil)
		if r.ok(200) {
			if got := names(r, "__id"); strings.Join(got, ",") != strings.Join(want, ",") {
				r.fail("got %v, want %v", got, want)
			}
		}
		return r
	}
	for i := range p.base {
		list(i, "$filter on the declared Int32", qs("$filter", "pop ge 5", "$orderby", "pop desc"), "Tokyo", "Osaka", "Nagoya", "Fukuoka")
		list(i, "$filter on a dynamic property", qs("$filter", "tag eq 'tKyoto' or tag eq 'tOsaka'", "$orderby", "__id"), "Kyoto", "Osaka")
		r := list(i, "$inlinecount", qs("$filter", "pop lt 10", "$orderby", "pop", "$top", "1", "$inlinecount", "allpages"), "Kyoto")
		r.json("d/__count", "4")
	}

	do(t, "MERGE through B", "MERGE", at(mpB, "City('Kyoto')"), p.auth(), `{"pop":40}`).must(204)
	list(mpA, "$filter after the MERGE", qs("$filter", "pop ge 38"), "Kyoto")
	do(t, "duplicate __id through A", "POST", at(mpA, "City"), p.auth(), `{"__id":"Tokyo"}`).wantError(409, "PR409-OD-0003")
	do(t, "DELETE through A", "DELETE", at(mpA, "City('Sapporo')"), p.auth(), nil).must(204)
	do(t, "GET deleted through B", "GET", at(mpB, "City('Sapporo')"), p.auth(), nil).wantError(404, "PR404-OD-0002")
	list(mpB, "list after the DELETE", qs("$filter", "pop lt 5", "$orderby", "pop"))
}

// mpWebDAV: collections, PROPPATCH properties and ACLs written through
// one process show through the other at once (PROPFIND, and the ACL's
// effect on an anonymous request).
func mpWebDAV(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mpdav")
	create(t, "create box through A", p.ctl(mpA, c, "Box"), map[string]any{"Name": "box"}, p.auth())
	box := func(i int) string { return p.cell(i, c) + "box/" }

	do(t, "MKCOL through A", "MKCOL", box(mpA)+"col", p.auth(), nil).must(201)
	do(t, "MKCOL inside through B", "MKCOL", box(mpB)+"col/sub", p.auth(), nil).must(201)
	do(t, "MKCOL again through B", "MKCOL", box(mpB)+"col", p.auth(), nil).wantError(405, "PR405-DV-0001")
	r := do(t, "PROPFIND Depth 1 through A", "PROPFIND", box(mpA)+"col", p.auth("Depth", "1"), nil)
	if r.ok(207) && !strings.Contains(string(r.Body), "<href>"+box(mpA)+"col/sub</href>") {
		r.fail("the multistatus lacks col/sub/")
	}

	patch := `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:mp"><D:set><D:prop><Z:note>written through B</Z:note></D:prop></D:set></D:propertyupdate>`
	do(t, "PROPPATCH through B", "PROPPATCH", box(mpB)+"col/sub", p.auth(), patch).must(207)
	r = do(t, "PROPFIND the property through A", "PROPFIND", box(mpA)+"col/sub", p.auth("Depth", "0"), nil)
	if r.ok(207) && !strings.Contains(string(r.Body), "written through B") {
		r.fail("the dead property is missing")
	}
	remove := `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:mp"><D:remove><D:prop><Z:note/></D:prop></D:remove></D:propertyupdate>`
	do(t, "PROPPATCH remove through A", "PROPPATCH", box(mpA)+"col/sub", p.auth(), remove).must(207)
	r = do(t, "PROPFIND the property through B", "PROPFIND", box(mpB)+"col/sub", p.auth("Depth", "0"), nil)
	if r.ok(207) && strings.Contains(string(r.Body), "written through B") {
		r.fail("the removed property is still there")
	}

	do(t, "anonymous PROPFIND through B before the ACL", "PROPFIND", box(mpB)+"col", hdr{"Depth": "0"}, nil).wantError(401, "")
	acl := `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`
	do(t, "ACL through A", "ACL", box(mpA)+"col", p.auth("Content-Type", "application/xml"), acl).must(200)
	r = do(t, "PROPFIND the ACL through B", "PROPFIND", box(mpB)+"col", p.auth("Depth", "0"), nil)
	if r.ok(207) && !strings.Contains(string(r.Body), "<D:all/>") {
		r.fail("the ACL is missing")
	}
	do(t, "anonymous PROPFIND through B under the ACL", "PROPFIND", box(mpB)+"col", hdr{"Depth": "0"}, nil).ok(207)
	do(t, "anonymous GET of the inheriting sub-collection through B", "GET", box(mpB)+"col/sub", hdr{}, nil).ok(200)
	do(t, "anonymous MKCOL through B", "MKCOL", box(mpB)+"col/x", hdr{}, nil).wantError(401, "")
	do(t, "empty ACL through B", "ACL", box(mpB)+"col", p.auth("Content-Type", "application/xml"),
		`<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"/>`).must(200)
	do(t, "anonymous PROPFIND through A after the ACL was emptied", "PROPFIND", box(mpA)+"col", hdr{"Depth": "0"}, nil).wantError(401, "")

	do(t, "MOVE through B", "MOVE", box(mpB)+"col/sub", p.auth("Destination", box(mpA)+"moved"), nil).must(201)
	do(t, "PROPFIND the old path through A", "PROPFIND", box(mpA)+"col/sub", p.auth("Depth", "0"), nil).wantError(404, "")
	do(t, "PROPFIND the new path through A", "PROPFIND", box(mpA)+"moved", p.auth("Depth", "0"), nil).ok(207)
	do(t, "DELETE through A", "DELETE", box(mpA)+"moved", p.auth(), nil).must(204)
	do(t, "PROPFIND deleted through B", "PROPFIND", box(mpB)+"moved", p.auth("Depth", "0"), nil).wantError(404, "")
}

// mpTokens: a token one process issues works on the other (same token
// key and signing key): access token, refresh token, and a role granted
// through A that B's ACL check sees.
func mpTokens(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mptok")
	create(t, "create box through A", p.ctl(mpA, c, "Box"), map[string]any{"Name": "box"}, p.auth())
	create(t, "create account through A", p.ctl(mpA, c, "Account"), map[string]any{"Name": "me"}, p.auth("X-Personium-Credential", "password1"))
	create(t, "create role through A", p.ctl(mpA, c, "Role"), map[string]any{"Name": "reader"}, p.auth())
	do(t, "link account and role through A", "POST", p.ctl(mpA, c, "Account('me')/$links/_Role"), p.auth(),
		jsonBody(map[string]string{"uri": p.ctl(mpA, c, "Role(Name='reader',_Box.Name=null)")})).must(204)
	do(t, "MKCOL through A", "MKCOL", p.cell(mpA, c)+"box/col", p.auth(), nil).must(201)

	r := form(t, "password grant through A", p.cell(mpA, c)+"__token", url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}}, nil)
	r.must(200)
	access, refresh := r.str("access_token"), r.str("refresh_token")

	do(t, "the token on B before the ACL", "PROPFIND", p.cell(mpB, c)+"box/col", mpWith(bearer(access), "Depth", "0"), nil).wantError(403, "PR403-AU-0002")
	acl := `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xml:base="` + p.cell(mpA, c) + `__role/__/">` +
		`<D:ace><D:principal><D:href>reader</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>`
	do(t, "ACL for the role through A", "ACL", p.cell(mpA, c)+"box/col", p.auth("Content-Type", "application/xml"), acl).must(200)
	do(t, "the token from A on B", "PROPFIND", p.cell(mpB, c)+"box/col", mpWith(bearer(access), "Depth", "0"), nil).ok(207)
	do(t, "the token from A on B, writing", "MKCOL", p.cell(mpB, c)+"box/col/x", bearer(access), nil).wantError(403, "PR403-AU-0002")

	r = form(t, "refresh grant through B with A's refresh token", p.cell(mpB, c)+"__token",
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, nil)
	if r.ok(200) {
		do(t, "B's refreshed token on A", "PROPFIND", p.cell(mpA, c)+"box/col", mpWith(bearer(r.str("access_token")), "Depth", "0"), nil).ok(207)
	}

	// A role taken away through B: the next token A issues lacks it.
	do(t, "unlink the role through B", "DELETE", p.ctl(mpB, c, "Account('me')/$links/_Role(Name='reader',_Box.Name=null)"), p.auth(), nil).must(204)
	r = form(t, "password grant through A after the unlink", p.cell(mpA, c)+"__token", url.Values{"grant_type": {"password"}, "username": {"me"}, "password": {"password1"}}, nil)
	if r.ok(200) {
		do(t, "the new token on B", "PROPFIND", p.cell(mpB, c)+"box/col", mpWith(bearer(r.str("access_token")), "Depth", "0"), nil).wantError(403, "PR403-AU-0002")
	}

	do(t, "garbage token on B", "PROPFIND", p.cell(mpB, c)+"box/col", mpWith(bearer("AR~garbage"), "Depth", "0"), nil).wantError(401, "")
}

// mpWith adds headers to h and returns it.
func mpWith(h hdr, kv ...string) hdr {
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// mpIfMatchRace: two updates carrying the same ETag, one through A and one
// through B at the same moment: exactly one wins (2xx), the other gets
// 412 PR412-OD-0002, and the stored entity is the winner's, many rounds.
func mpIfMatchRace(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mprace")
	od := p.odataCol(t, mpA, c)
	at := func(i int, path string) string { return p.base[i] + od + path }
	create(t, "EntityType", at(mpA, "$metadata/EntityType"), map[string]any{"Name": "Item"}, p.auth())
	r := create(t, "entity", at(mpA, "Item"), map[string]any{"__id": "k", "v": "init"}, p.auth())
	etag := r.Header.Get("ETag")

	const rounds = 20
	wins := [2]int{}
	for round := 1; round <= rounds && !t.Failed(); round++ {
		name := fmt.Sprintf("round %d", round)
		var reqs []mpReq
		for i := range p.base {
			reqs = append(reqs, mpReq{step: name + ": PUT through " + mpProc[i], method: "PUT", url: at(i, "Item('k')"),
				h: p.auth("If-Match", etag), body: jsonBody(map[string]any{"v": fmt.Sprintf("%s-%d", mpProc[i], round)})})
		}
		rs := mpRace(t, reqs...)
		w := mpOneWinner(t, name, rs, 204, 412, "PR412-OD-0002")
		if w < 0 {
			break
		}
		wins[w]++
		want := fmt.Sprintf("%s-%d", mpProc[w], round)
		for i := range p.base {
			r := do(t, name+": GET through "+mpProc[i], "GET", at(i, "Item('k')"), p.auth(), nil)
			if !r.ok(200) {
				continue
			}
			r.json("d/results/v", want)
			if e := rs[w].Header.Get("ETag"); e != "" {
				r.header("ETag", e)
			}
			etag = r.Header.Get("ETag")
		}
	}
	t.Logf("user data PUT: %d rounds, A won %d, B won %d", rounds, wins[0], wins[1])

	// The same for a control object: MERGE of an Account through A and B.
	create(t, "account", p.ctl(mpA, c, "Account"), map[string]any{"Name": "acc"}, p.auth("X-Personium-Credential", "password1"))
	r = do(t, "GET account", "GET", p.ctl(mpB, c, "Account('acc')"), p.auth(), nil)
	r.must(200)
	etag = r.Header.Get("ETag")
	const ctlRounds = 10
	wins = [2]int{}
	for round := 1; round <= ctlRounds && !t.Failed(); round++ {
		name := fmt.Sprintf("account round %d", round)
		var reqs []mpReq
		for i := range p.base {
			reqs = append(reqs, mpReq{step: name + ": MERGE through " + mpProc[i], method: "MERGE", url: p.ctl(i, c, "Account('acc')"),
				h: p.auth("If-Match", etag), body: jsonBody(map[string]any{"IPAddressRange": fmt.Sprintf("192.0.2.%d", 10*i+round%10)})})
		}
		rs := mpRace(t, reqs...)
		w := mpOneWinner(t, name, rs, 204, 412, "PR412-OD-0002")
		if w < 0 {
			break
		}
		wins[w]++
		want := fmt.Sprintf("192.0.2.%d", 10*w+round%10)
		for i := range p.base {
			r := do(t, name+": GET through "+mpProc[i], "GET", p.ctl(i, c, "Account('acc')"), p.auth(), nil)
			if r.ok(200) {
				r.json("d/results/IPAddressRange", want)
				etag = r.Header.Get("ETag")
			}
		}
	}
	t.Logf("Account MERGE: %d rounds, A won %d, B won %d", ctlRounds, wins[0], wins[1])

	// And for a WebDAV file: PUT with If-Match through A and B. The file
	// bodies live in each process's own content store here, so only the
	// outcome and the ETags are compared.
	create(t, "box for the file", p.ctl(mpA, c, "Box"), map[string]any{"Name": "files"}, p.auth())
	file := c + "/files/f.txt"
	r = do(t, "PUT the file", "PUT", p.base[mpA]+file, p.auth("Content-Type", "text/plain"), "v0")
	r.must(201)
	etag = r.Header.Get("ETag")
	wins = [2]int{}
	for round := 1; round <= ctlRounds && !t.Failed(); round++ {
		name := fmt.Sprintf("file round %d", round)
		var reqs []mpReq
		for i := range p.base {
			reqs = append(reqs, mpReq{step: name + ": PUT through " + mpProc[i], method: "PUT", url: p.base[i] + file,
				h: p.auth("If-Match", etag, "Content-Type", "text/plain"), body: fmt.Sprintf("%s-%d", mpProc[i], round)})
		}
		rs := mpRace(t, reqs...)
		w := mpOneWinner(t, name, rs, 204, 412, "PR412-DV-0001")
		if w < 0 {
			break
		}
		wins[w]++
		etag = rs[w].Header.Get("ETag")
		r := do(t, name+": PROPFIND through the loser", "PROPFIND", p.base[1-w]+file, p.auth("Depth", "0"), nil)
		if r.ok(207) && !strings.Contains(string(r.Body), strings.Trim(etag, `"W/`)) {
			r.fail("the loser does not show the winner's ETag %s", etag)
		}
	}
	t.Logf("WebDAV PUT: %d rounds, A won %d, B won %d", ctlRounds, wins[0], wins[1])
}

// mpCreateRace: the same key created through A and B at the same moment:
// one 201 and one conflict, and exactly one such thing exists afterwards.
func mpCreateRace(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mpdup")
	od := p.odataCol(t, mpA, c)
	at := func(i int, path string) string { return p.base[i] + od + path }
	create(t, "EntityType", at(mpA, "$metadata/EntityType"), map[string]any{"Name": "Item"}, p.auth())

	pair := func(step, method string, url func(i int) string, h hdr, body func(i int) string) []*res {
		var reqs []mpReq
		for i := range p.base {
			reqs = append(reqs, mpReq{step: step + " through " + mpProc[i], method: method, url: url(i), h: h, body: body(i)})
		}
		return mpRace(t, reqs...)
	}

	t.Run("UserDataKey", func(t *testing.T) {
		for round := 1; round <= 10; round++ {
			id := fmt.Sprintf("k%d", round)
			rs := pair("POST "+id, "POST", func(i int) string { return at(i, "Item") }, p.auth(),
				func(i int) string { return jsonBody(map[string]any{"__id": id, "by": mpProc[i]}) })
			w := mpOneWinner(t, "POST "+id, rs, 201, 409, "PR409-OD-0003")
			if w < 0 {
				continue
			}
			r := do(t, "GET "+id+" through "+mpProc[1-w], "GET", at(1-w, "Item('"+id+"')"), p.auth(), nil)
			if r.ok(200) {
				r.json("d/results/by", mpProc[w])
			}
		}
		r := do(t, "count", "GET", at(mpB, "Item")+qs("$inlinecount", "allpages", "$top", "0"), p.auth(), nil)
		if r.ok(200) {
			r.json("d/__count", "10")
		}
	})
	t.Run("EntityType", func(t *testing.T) {
		for round := 1; round <= 3; round++ {
			name := fmt.Sprintf("T%d", round)
			rs := pair("POST EntityType "+name, "POST", func(i int) string { return at(i, "$metadata/EntityType") }, p.auth(),
				func(int) string { return jsonBody(map[string]any{"Name": name}) })
			mpOneWinner(t, "EntityType "+name, rs, 201, 409, "PR409-OD-0003")
		}
	})
	t.Run("Account", func(t *testing.T) {
		for round := 1; round <= 5; round++ {
			name := fmt.Sprintf("acc%d", round)
			rs := pair("POST Account "+name, "POST", func(i int) string { return p.ctl(i, c, "Account") }, p.auth("X-Personium-Credential", "password1"),
				func(int) string { return jsonBody(map[string]any{"Name": name}) })
			mpOneWinner(t, "Account "+name, rs, 201, 409, "PR409-OD-0003")
		}
		r := do(t, "count", "GET", p.ctl(mpA, c, "Account")+qs("$inlinecount", "allpages"), p.auth(), nil)
		if r.ok(200) {
			r.json("d/__count", "5")
		}
	})
	t.Run("Cell", func(t *testing.T) {
		for round := 1; round <= 3; round++ {
			name := uniqueName("mpsame")
			t.Cleanup(func() {
				do(t, "clean up cell "+name, "DELETE", p.cell(mpA, name), p.auth("X-Personium-Recursive", "true"), nil)
			})
			rs := pair("POST Cell "+name, "POST", func(i int) string { return p.unitCtl(i, "Cell") }, p.auth(),
				func(int) string { return jsonBody(map[string]any{"Name": name}) })
			mpOneWinner(t, "Cell "+name, rs, 201, 409, "PR409-OD-0003")
			r := do(t, "count", "GET", p.unitCtl(mpB, "Cell")+qs("$filter", "Name eq '"+name+"'", "$inlinecount", "allpages"), p.auth(), nil)
			if r.ok(200) {
				r.json("d/__count", "1")
			}
		}
	})
	t.Run("MKCOL", func(t *testing.T) {
		for round := 1; round <= 5; round++ {
			path := fmt.Sprintf("%s/box/col%d", c, round)
			rs := pair("MKCOL "+path, "MKCOL", func(i int) string { return p.base[i] + path }, p.auth(), func(int) string { return "" })
			mpOneWinner(t, "MKCOL "+path, rs, 201, 405, "PR405-DV-0001")
		}
		r := do(t, "PROPFIND the box", "PROPFIND", p.cell(mpB, c)+"box", p.auth("Depth", "1"), nil)
		if r.ok(207) {
			for round := 1; round <= 5; round++ {
				href := fmt.Sprintf("<href>%sbox/col%d</href>", p.cell(mpA, c), round)
				if n := strings.Count(string(r.Body), href); n != 1 {
					r.fail("%s appears %d times", href, n)
				}
			}
		}
	})
}

// mpCellDeleted: a cell deleted through A is gone through B at once (no
// per-process cell cache on a shared store), and a cell re-created
// under the same name is the new one through B at once.
func mpCellDeleted(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mpdel")
	create(t, "create box through A", p.ctl(mpA, c, "Box"), map[string]any{"Name": "old"}, p.auth())
	r := do(t, "GET the cell through B", "GET", p.unitCtl(mpB, "Cell('"+c+"')"), p.auth(), nil)
	r.must(200)
	oldETag := r.Header.Get("ETag")
	// Warm B: it has just served this cell.
	do(t, "GET the box through B", "GET", p.ctl(mpB, c, "Box('old')"), p.auth(), nil).must(200)
	do(t, "PROPFIND the cell through B", "PROPFIND", p.cell(mpB, c), p.auth("Depth", "0"), nil).must(207)

	do(t, "DELETE the cell through A", "DELETE", p.cell(mpA, c), p.auth("X-Personium-Recursive", "true"), nil).must(204)
	do(t, "GET the cell through B", "GET", p.unitCtl(mpB, "Cell('"+c+"')"), p.auth(), nil).wantError(404, "PR404-OD-0002")
	do(t, "GET the box through B", "GET", p.ctl(mpB, c, "Box('old')"), p.auth(), nil).wantError(404, "")
	do(t, "PROPFIND the cell through B", "PROPFIND", p.cell(mpB, c), p.auth("Depth", "0"), nil).wantError(404, "")
	do(t, "create an account in the deleted cell through B", "POST", p.ctl(mpB, c, "Account"), p.auth(), `{"Name":"ghost"}`).wantError(404, "")

	do(t, "re-create the cell through A", "POST", p.unitCtl(mpA, "Cell"), p.auth(), jsonBody(map[string]any{"Name": c})).must(201)
	r = do(t, "GET the new cell through B", "GET", p.unitCtl(mpB, "Cell('"+c+"')"), p.auth(), nil)
	if r.ok(200) && r.Header.Get("ETag") == oldETag {
		t.Logf("the re-created cell has the old cell's ETag %s", oldETag)
	}
	do(t, "the old box is not in the new cell (through B)", "GET", p.ctl(mpB, c, "Box('old')"), p.auth(), nil).wantError(404, "PR404-OD-0002")
	create(t, "create an account in the new cell through B", p.ctl(mpB, c, "Account"), map[string]any{"Name": "fresh"}, p.auth())
	r = do(t, "list accounts of the new cell through A", "GET", p.ctl(mpA, c, "Account"), p.auth(), nil)
	if r.ok(200) && strings.Join(names(r, "Name"), ",") != "fresh" {
		r.fail("accounts %v, want fresh", names(r, "Name"))
	}
	// The new cell must hold B's write: delete it through A and see nothing left behind.
	do(t, "DELETE the new cell through A", "DELETE", p.cell(mpA, c), p.auth("X-Personium-Recursive", "true"), nil).must(204)
	do(t, "GET the new cell through B", "GET", p.unitCtl(mpB, "Cell('"+c+"')"), p.auth(), nil).wantError(404, "PR404-OD-0002")
}

// mpSchemaChange: a schema change through A (a new EntityType, a new
// typed Property) becomes usable through B, which has the old schema
// cached. On a shared store each process trusts a cached user schema
// for at most 2 s (unit.Config.SchemaCacheTTL), so this polls B for up
// to 5 s and logs how long it took.
func mpSchemaChange(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mpsch")
	od := p.odataCol(t, mpA, c)
	at := func(i int, path string) string { return p.base[i] + od + path }
	create(t, "EntityType Old through A", at(mpA, "$metadata/EntityType"), map[string]any{"Name": "Old"}, p.auth())
	// B loads (and caches) the schema.
	create(t, "an Old entity through B", at(mpB, "Old"), map[string]any{"__id": "o1", "n": "1"}, p.auth())
	do(t, "a type B has not seen yet", "POST", at(mpB, "New"), p.auth(), `{"__id":"x"}`).wantError(404, "")

	poll := func(step string, check func() bool) {
		t.Helper()
		start := time.Now()
		for !check() {
			if time.Since(start) > 5*time.Second {
				t.Errorf("%s: not usable through B 5 s after the change through A", step)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("%s: usable through B after %v", step, time.Since(start).Round(10*time.Millisecond))
	}

	create(t, "EntityType New through A", at(mpA, "$metadata/EntityType"), map[string]any{"Name": "New"}, p.auth())
	poll("EntityType New", func() bool {
		r := do(t, "list New through B", "GET", at(mpB, "New"), p.auth(), nil)
		return r.Status == 200
	})
	create(t, "a New entity through B", at(mpB, "New"), map[string]any{"__id": "n1"}, p.auth())
	do(t, "the New entity through A", "GET", at(mpA, "New('n1')"), p.auth(), nil).ok(200)

	// A typed Property on Old: B must start to refuse a string for it
	// and to compare it as a number.
	create(t, "Property Old.num Edm.Int32 through A", at(mpA, "$metadata/Property"),
		map[string]any{"Name": "num", "_EntityType.Name": "Old", "Type": "Edm.Int32", "Nullable": true}, p.auth())
	poll("Property Old.num", func() bool {
		r := do(t, "$filter num with a string through B", "GET", at(mpB, "Old")+qs("$filter", "num eq 'x'"), p.auth(), nil)
		return r.Status == 400
	})
	do(t, "a string for num through B", "POST", at(mpB, "Old"), p.auth(), `{"__id":"o2","num":"many"}`).wantError(400, "PR400-OD-0006")
	create(t, "a number for num through B", at(mpB, "Old"), map[string]any{"__id": "o3", "num": 7}, p.auth())
	r := do(t, "$filter num through A", "GET", at(mpA, "Old")+qs("$filter", "num gt 5"), p.auth(), nil)
	if r.ok(200) && strings.Join(names(r, "__id"), ",") != "o3" {
		r.fail("got %v, want o3", names(r, "__id"))
	}

	// And a removal: EntityType New deleted through A (after its entity).
	do(t, "DELETE the New entity through A", "DELETE", at(mpA, "New('n1')"), p.auth(), nil).must(204)
	do(t, "DELETE EntityType New through A", "DELETE", at(mpA, "$metadata/EntityType('New')"), p.auth(), nil).must(204)
	poll("removal of EntityType New", func() bool {
		r := do(t, "list New through B", "GET", at(mpB, "New"), p.auth(), nil)
		return r.Status == 404
	})
}

// mpDavLock: a WebDAV lock taken through one process binds the other: a
// conflicting LOCK and an unlocked write are 423 there, the lock token
// works there, and two LOCKs raced through A and B grant exactly one.
func mpDavLock(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mplock")
	create(t, "create box through A", p.ctl(mpA, c, "Box"), map[string]any{"Name": "box"}, p.auth())
	box := func(i int) string { return p.cell(i, c) + "box/" }
	do(t, "MKCOL through A", "MKCOL", box(mpA)+"col", p.auth(), nil).must(201)

	lockinfo := func(owner string) string {
		return `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>` +
			`<D:locktype><D:write/></D:locktype><D:owner><D:href>` + owner + `</D:href></D:owner></D:lockinfo>`
	}
	lockH := p.auth("Content-Type", "application/xml", "Timeout", "Second-120", "Depth", "infinity")
	r := do(t, "LOCK through A", "LOCK", box(mpA)+"col", lockH, lockinfo("A"))
	r.must(200)
	token := strings.Trim(r.Header.Get("Lock-Token"), "<>")
	if token == "" {
		r.fail("no Lock-Token")
		return
	}
	do(t, "conflicting LOCK through B", "LOCK", box(mpB)+"col", lockH, lockinfo("B")).wantError(423, "PR423-DV-0001")
	do(t, "LOCK of a member through B", "LOCK", box(mpB)+"col/member", lockH, lockinfo("B")).wantError(423, "PR423-DV-0001")
	do(t, "the refused LOCK created nothing", "PROPFIND", box(mpA)+"col/member", p.auth("Depth", "0"), nil).wantError(404, "")
	patch := `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:mp"><D:set><D:prop><Z:p>x</Z:p></D:prop></D:set></D:propertyupdate>`
	do(t, "PROPPATCH without the token through B", "PROPPATCH", box(mpB)+"col", p.auth(), patch).wantError(423, "PR423-DV-0001")
	do(t, "MKCOL inside without the token through B", "MKCOL", box(mpB)+"col/sub", p.auth(), nil).wantError(423, "PR423-DV-0001")
	r = do(t, "PROPFIND lockdiscovery through B", "PROPFIND", box(mpB)+"col", p.auth("Depth", "0"), nil)
	if r.ok(207) && !strings.Contains(string(r.Body), token) {
		r.fail("lockdiscovery lacks the lock token %s", token)
	}
	do(t, "MKCOL inside with the token through B", "MKCOL", box(mpB)+"col/sub", p.auth("If", "(<"+token+">)"), nil).must(201)
	do(t, "UNLOCK through B", "UNLOCK", box(mpB)+"col", p.auth("Lock-Token", "<"+token+">"), nil).must(204)
	r = do(t, "LOCK through B after the UNLOCK", "LOCK", box(mpB)+"col", lockH, lockinfo("B"))
	r.must(200)
	tokenB := strings.Trim(r.Header.Get("Lock-Token"), "<>")
	do(t, "conflicting LOCK through A", "LOCK", box(mpA)+"col", lockH, lockinfo("A")).wantError(423, "PR423-DV-0001")
	do(t, "PROPPATCH with B's token through A", "PROPPATCH", box(mpA)+"col", p.auth("If", "(<"+tokenB+">)"), patch).must(207)
	do(t, "UNLOCK through A", "UNLOCK", box(mpA)+"col", p.auth("Lock-Token", "<"+tokenB+">"), nil).must(204)
	do(t, "PROPPATCH without a token through B after the UNLOCK", "PROPPATCH", box(mpB)+"col", p.auth(), patch).must(207)

	// Two LOCKs of the same collection at the same moment, through A
	// and B: exactly one is granted.
	wins := [2]int{}
	const rounds = 10
	for round := 1; round <= rounds; round++ {
		col := fmt.Sprintf("race%d", round)
		do(t, "MKCOL "+col, "MKCOL", box(mpA)+col, p.auth(), nil).must(201)
		var reqs []mpReq
		for i := range p.base {
			reqs = append(reqs, mpReq{step: "LOCK " + col + " through " + mpProc[i], method: "LOCK", url: box(i) + col, h: lockH, body: lockinfo(mpProc[i])})
		}
		rs := mpRace(t, reqs...)
		if w := mpOneWinner(t, "LOCK "+col, rs, 200, 423, "PR423-DV-0001"); w >= 0 {
			wins[w]++
		}
	}
	t.Logf("raced LOCKs: %d rounds, A won %d, B won %d", rounds, wins[0], wins[1])
}

// mpAccountLockout: with --account-lock-count 3 on both, failed password
// attempts through A and B add up: three failures spread over the two
// processes lock the account against the right password on either.
func mpAccountLockout(t *testing.T, p *mpPair) {
	c := p.newCell(t, mpA, "mplck")
	for _, acc := range []string{"seq", "par", "other"} {
		create(t, "account "+acc, p.ctl(mpA, c, "Account"), map[string]any{"Name": acc}, p.auth("X-Personium-Credential", "password1"))
	}
	grant := func(i int, user, pw string) *res {
		return form(t, "password grant for "+user+" through "+mpProc[i], p.cell(i, c)+"__token",
			url.Values{"grant_type": {"password"}, "username": {user}, "password": {pw}}, nil)
	}
	// A failure also locks the account for 1 s (validAuthnInterval);
	// wait that out between attempts so that each is a plain failure.
	pause := func() { time.Sleep(1100 * time.Millisecond) }
	wrongSeq := func(i int) *res { return grant(i, "seq", "wrong-password") }

	grant(mpB, "seq", "password1").must(200)
	grant(mpB, "par", "password1").must(200)

	// seq: failures through A, B, A one after the other. Counted per
	// process, A would have 2 and B 1, under the lock count 3.
	// par: two failures at the same moment through A and B, then one
	// through A.
	wrongSeq(mpA).oauthError(400, "invalid_grant", "PR400-AN-0017")
	rs := mpRace(t,
		mpReq{step: "par wrong through A", method: "POST", url: p.cell(mpA, c) + "__token", h: hdr{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
			body: url.Values{"grant_type": {"password"}, "username": {"par"}, "password": {"wrong-password"}}.Encode()},
		mpReq{step: "par wrong through B", method: "POST", url: p.cell(mpB, c) + "__token", h: hdr{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
			body: url.Values{"grant_type": {"password"}, "username": {"par"}, "password": {"wrong-password"}}.Encode()})
	for _, r := range rs {
		r.oauthError(400, "invalid_grant", "PR400-AN-0017")
	}
	pause()
	wrongSeq(mpB).oauthError(400, "invalid_grant", "PR400-AN-0017")
	grant(mpA, "par", "wrong-password").oauthError(400, "invalid_grant", "PR400-AN-0017")
	pause()
	wrongSeq(mpA).oauthError(400, "invalid_grant", "PR400-AN-0017")
	pause()

	grant(mpB, "seq", "password1").oauthError(400, "invalid_grant", "PR400-AN-0017")
	grant(mpB, "par", "password1").oauthError(400, "invalid_grant", "PR400-AN-0017")
	pause()
	grant(mpA, "seq", "password1").oauthError(400, "invalid_grant", "PR400-AN-0017")
	grant(mpA, "par", "password1").oauthError(400, "invalid_grant", "PR400-AN-0017")
	grant(mpB, "other", "password1").must(200)
}
