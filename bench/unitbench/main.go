// Command unitbench measures a personium unit over HTTP, as a client:
//
//   - cold start: from exec of `personium serve` to the first answer of GET {unit};
//   - idle RSS of the server process after start-up (Linux /proc, anonymous memory);
//   - Role creates per second over keep-alive connections;
//   - a filtered, ordered list over N roles in one set: p50 and p99 latency;
//   - password grants, and a request with an account token against the master token;
//   - with -entities N, OData user data: single creates per second on a
//     sample of -single, the rest of the N created through $batch
//     (entities per second), an equality-filtered and an ordered list over
//     the N, and q= full-text search over a separate set of -text-entities.
//
// It builds nothing: pass the server binary with -bin (it starts it on a
// free loopback port with a fresh data folder) and stops it at the end.
// -serve-flags passes more flags to `personium serve`, e.g. another
// metadata store, so that one binary is measured on either backend
// (bench/metastores.sh runs both and compares them).
//
//	go build -o /tmp/personium ./cmd/personium
//	go run ./bench/unitbench -bin /tmp/personium -n 100000
//	go run ./bench/unitbench -bin /tmp/personium -n 2000 -entities 1000000 -text-entities 100000 \
//	    -serve-flags "--metastore elasticsearch --es-url http://127.0.0.1:9200 --es-index-prefix bench1"
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxBatchOps is the server's bound on the operations of one $batch
// (odata.MaxBatchOps, Personium's bulkRequestMaxSize).
const maxBatchOps = 1000

type options struct {
	bin        string
	serveFlags []string
	n          int // roles
	workers    int
	queries    int
	results    string
	userData   userDataOptions
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "path of the personium binary (required)")
	serveFlags := flag.String("serve-flags", "", "more flags for `personium serve`, separated by spaces, e.g. \"--metastore elasticsearch --es-url http://127.0.0.1:9200 --es-index-prefix bench\" (also taken from $UNITBENCH_SERVE_ARGS)")
	flag.IntVar(&o.n, "n", 100000, "number of roles to create")
	flag.IntVar(&o.workers, "c", 8, "concurrent keep-alive connections for creates")
	flag.IntVar(&o.queries, "q", 400, "number of list queries to time")
	flag.IntVar(&o.userData.entities, "entities", 0, "number of OData user-data entities to create and query (0: skip the user-data part)")
	flag.IntVar(&o.userData.single, "single", 2000, "of the -entities, how many are created by single POSTs, timed; the rest are created through $batch")
	flag.IntVar(&o.userData.text, "text-entities", 100000, "number of entities of a separate entity type that q= full-text search runs over (with -entities)")
	flag.IntVar(&o.userData.perBatch, "batch", 500, fmt.Sprintf("creates per $batch changeset (the server accepts at most %d)", maxBatchOps))
	flag.StringVar(&o.results, "results", "", "also write every number as key<TAB>value<TAB>unit lines to this `file`")
	flag.Parse()
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "unitbench: -bin is required")
		os.Exit(2)
	}
	if o.userData.perBatch < 1 || o.userData.perBatch > maxBatchOps {
		fmt.Fprintf(os.Stderr, "unitbench: -batch must be between 1 and %d\n", maxBatchOps)
		os.Exit(2)
	}
	if o.userData.text > 1419857 {
		fmt.Fprintln(os.Stderr, "unitbench: -text-entities is at most 1419857")
		os.Exit(2)
	}
	o.serveFlags = append(strings.Fields(*serveFlags), strings.Fields(os.Getenv("UNITBENCH_SERVE_ARGS"))...)
	err := run(&o)
	if o.results != "" {
		if werr := writeResults(o.results); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "unitbench:", err)
		os.Exit(1)
	}
}

// fanOut calls fn(i) for i = 0, step, 2·step, … below n, spread over
// workers goroutines, and returns the time it took and how many calls
// failed (the first few failures are printed).
func fanOut(workers, n, step int, fn func(i int) error) (time.Duration, int64) {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(int64(step)) - int64(step)
				if i >= int64(n) {
					return
				}
				if err := fn(int(i)); err != nil && failed.Add(1) <= 5 {
					fmt.Fprintln(os.Stderr, err)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(t0), failed.Load()
}

// percentiles runs f n times and returns the p50 and p99 latencies.
func percentiles(n int, f func(i int) error) (p50, p99 time.Duration, err error) {
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		t := time.Now()
		if err := f(i); err != nil {
			return 0, 0, err
		}
		lat = append(lat, time.Since(t))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[len(lat)/2], lat[len(lat)*99/100], nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		// RssAnon: the process's own memory, without the pages of the
		// database file SQLite maps (shared with the page cache).
		if strings.HasPrefix(line, "RssAnon:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return -1
}

func run(o *options) error {
	n, workers, queries := o.n, o.workers, o.queries
	data, err := os.MkdirTemp("", "unitbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	port, err := freePort()
	if err != nil {
		return err
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	token := hex.EncodeToString(tok)
	unit := fmt.Sprintf("http://127.0.0.1:%d/", port)

	start := time.Now()
	cmd := exec.Command(o.bin, append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--data", filepath.Join(data, "d"), "--master-token", token, "--log-level", "warn"}, o.serveFlags...)...)
	if len(o.serveFlags) > 0 {
		fmt.Printf("personium serve %s\n", strings.Join(o.serveFlags, " "))
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers + 2}, Timeout: 2 * time.Minute}
	var cold time.Duration
	for {
		resp, err := client.Get(unit)
		if err == nil {
			resp.Body.Close()
			cold = time.Since(start)
			break
		}
		if time.Since(start) > 20*time.Second {
			return fmt.Errorf("server did not answer within 20 s: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	idle := rssKiB(cmd.Process.Pid)
	fmt.Printf("cold start to first answer: %v\n", cold.Round(time.Millisecond))
	fmt.Printf("idle RSS (anonymous): %.1f MB\n", float64(idle)/1024)
	record("cold_start_ms", ms(cold), "ms")
	record("idle_rss_mb", float64(idle)/1024, "MB")

	masterHeader = "Bearer " + token
	do := func(method, path string, body []byte) (int, []byte, error) {
		req, _ := http.NewRequest(method, unit+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		if strings.HasSuffix(path, "$batch") {
			req.Header.Set("Content-Type", "multipart/mixed; boundary=batch_b")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	if st, b, err := do("POST", "__ctl/Cell", []byte(`{"Name":"bench"}`)); err != nil || st != 201 {
		return fmt.Errorf("create cell: %d %s %v", st, b, err)
	}

	// Baseline, same run, same connections: GET {unit}, which touches no store.
	get := func(path string) error {
		if st, b, err := do("GET", path, nil); err != nil || st != 200 {
			return fmt.Errorf("GET %s: %d %s %v", path, st, b, err)
		}
		return nil
	}
	baseN := max(n, 20000)
	bel, bfailed := fanOut(workers, baseN, 1, func(int) error { return get("") })
	baseRate := float64(baseN) / bel.Seconds()
	fmt.Printf("baseline GET {unit}: %.0f req/s over %d keep-alive connections (failed %d)\n", baseRate, workers, bfailed)
	record("baseline_get_per_s", baseRate, "/s")
	basep50, basep99, err := percentiles(queries, func(int) error { return get("") })
	if err != nil {
		return err
	}
	fmt.Printf("baseline GET {unit} latency: p50 %v, p99 %v\n", basep50.Round(time.Microsecond), basep99.Round(time.Microsecond))
	record("baseline_get_p50_ms", ms(basep50), "ms")
	record("baseline_get_p99_ms", ms(basep99), "ms")

	el, failed := fanOut(workers, n, 1, func(i int) error {
		body := fmt.Sprintf(`{"Name":"role%07d"}`, i)
		if st, b, err := do("POST", "bench/__ctl/Role", []byte(body)); err != nil || st != 201 {
			return fmt.Errorf("create %d: %d %s %v", i, st, b, err)
		}
		return nil
	})
	rate := float64(n) / el.Seconds()
	fmt.Printf("Role creates: %d in %v over %d keep-alive connections = %.0f creates/s = %.2f x baseline (failed %d)\n",
		n, el.Round(time.Millisecond), workers, rate, rate/baseRate, failed)
	record("role_creates_per_s", rate, "/s")
	if failed > 0 {
		return fmt.Errorf("%d creates failed", failed)
	}

	p50, p99, err := percentiles(queries, func(i int) error {
		prefix := fmt.Sprintf("role%03d", (i*37)%(n/10000+1))
		q := url.Values{"$filter": {"startswith(Name,'" + prefix + "')"}, "$orderby": {"Name desc"}, "$top": {"25"}, "$inlinecount": {"allpages"}}
		return get("bench/__ctl/Role?" + q.Encode())
	})
	if err != nil {
		return err
	}
	fmt.Printf("filtered+ordered list over %d roles ($filter=startswith(Name,…)&$orderby=Name desc&$top=25&$inlinecount=allpages), %d queries: p50 %v (%.1f x baseline p50), p99 %v\n",
		n, queries, p50.Round(10*time.Microsecond), float64(p50)/float64(basep50), p99.Round(10*time.Microsecond))
	record("role_list_p50_ms", ms(p50), "ms")
	record("role_list_p99_ms", ms(p99), "ms")
	p50, p99, err = percentiles(queries, func(i int) error {
		q := url.Values{"$filter": {fmt.Sprintf("Name eq 'role%07d'", (i*7919)%n)}, "$orderby": {"Name"}}
		return get("bench/__ctl/Role?" + q.Encode())
	})
	if err != nil {
		return err
	}
	fmt.Printf("equality-filtered list over %d roles ($filter=Name eq …&$orderby=Name), %d queries: p50 %v (%.1f x baseline p50), p99 %v\n",
		n, queries, p50.Round(10*time.Microsecond), float64(p50)/float64(basep50), p99.Round(10*time.Microsecond))
	record("role_eq_p50_ms", ms(p50), "ms")
	record("role_eq_p99_ms", ms(p99), "ms")
	if err := benchAuth(do, unit, workers, queries); err != nil {
		return err
	}
	if o.userData.entities > 0 {
		ud := o.userData
		ud.workers, ud.queries, ud.basep50, ud.pid = workers, queries, basep50, cmd.Process.Pid
		if err := benchUserData(do, ud); err != nil {
			return err
		}
	}
	rss := float64(rssKiB(cmd.Process.Pid)) / 1024
	fmt.Printf("RSS (anonymous) after the run: %.1f MB\n", rss)
	record("rss_end_mb", rss, "MB")
	return nil
}

type doer func(method, path string, body []byte) (int, []byte, error)

// benchAuth measures password grants per second and the cost of a
// token-authenticated request (token opened, account and roles looked
// up, cell ACL checked) against the same request with the master token.
func benchAuth(do doer, unit string, workers, queries int) error {
	steps := []struct{ method, path, body string }{
		{"POST", "bench/__ctl/Account", `{"Name":"reader"}`},
		{"POST", "bench/__ctl/Role", `{"Name":"readers"}`},
		{"POST", "bench/__ctl/Role('readers')/$links/_Account", `{"uri":"` + unit + `bench/__ctl/Account('reader')"}`},
		{"ACL", "bench", `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>readers</D:href></D:principal><D:grant><D:privilege><p:auth-read/></D:privilege></D:grant></D:ace></D:acl>`},
	}
	for _, st := range steps {
		if code, b, err := do(st.method, st.path, []byte(st.body)); err != nil || code >= 300 {
			return fmt.Errorf("%s %s: %d %s %v", st.method, st.path, code, b, err)
		}
	}
	if code, b, err := setPassword(unit); err != nil || code != 204 {
		return fmt.Errorf("set password: %d %s %v", code, b, err)
	}
	grants := 4 * workers
	var wg sync.WaitGroup
	var failed atomic.Int64
	var token atomic.Value
	t0 := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < grants/workers; i++ {
				resp, err := http.PostForm(unit+"bench/__token", url.Values{"grant_type": {"password"}, "username": {"reader"}, "password": {"password1"}})
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
					if resp != nil {
						resp.Body.Close()
					}
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if i := bytes.Index(b, []byte(`"access_token":"`)); i >= 0 {
					rest := b[i+len(`"access_token":"`):]
					token.Store(string(rest[:bytes.IndexByte(rest, '"')]))
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	fmt.Printf("password grants: %d in %v over %d connections = %.1f grants/s (scrypt N=2^15 r=8 p=1; failed %d)\n",
		grants, el.Round(time.Millisecond), workers, float64(grants)/el.Seconds(), failed.Load())
	record("password_grants_per_s", float64(grants)/el.Seconds(), "/s")
	tok, _ := token.Load().(string)
	if tok == "" {
		return fmt.Errorf("no access token")
	}
	client := &http.Client{}
	timeIt := func(auth string) (time.Duration, error) {
		p50, _, err := percentiles(queries, func(int) error {
			req, _ := http.NewRequest("GET", unit+"bench/__ctl/Account?$top=1", nil)
			req.Header.Set("Authorization", auth)
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("GET with %q: %d", auth[:10], resp.StatusCode)
			}
			return nil
		})
		return p50, err
	}
	masterP50, err := timeIt(masterHeader)
	if err != nil {
		return err
	}
	tokenP50, err := timeIt("Bearer " + tok)
	if err != nil {
		return err
	}
	fmt.Printf("GET __ctl/Account?$top=1: p50 %v with the master token, %v with an account token (%.2f x; the difference is token, account, roles and ACL)\n",
		masterP50.Round(time.Microsecond), tokenP50.Round(time.Microsecond), float64(tokenP50)/float64(masterP50))
	record("account_get_master_p50_ms", ms(masterP50), "ms")
	record("account_get_token_p50_ms", ms(tokenP50), "ms")
	return nil
}

// masterHeader is set by run.
var masterHeader string

// setPassword gives the benchmark account its password (a header do cannot set).
func setPassword(unit string) (int, []byte, error) {
	req, _ := http.NewRequest("MERGE", unit+"bench/__ctl/Account('reader')", strings.NewReader(`{}`))
	req.Header.Set("Authorization", masterHeader)
	req.Header.Set("X-Personium-Credential", "password1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// userDataOptions sizes benchUserData.
type userDataOptions struct {
	entities int // Reading entities in all: the filtered and ordered lists run over them
	single   int // of which the first ones are created by single POSTs (timed), the rest by $batch
	text     int // Memo entities, the set q= searches
	perBatch int // creates per $batch changeset (odata.MaxBatchOps: at most 1000)
	workers  int
	queries  int
	basep50  time.Duration
	pid      int
}

// words make the Memo texts searched by q=. Every trigram of each has a
// vowel, and rareWord's have none, so that neither shares a trigram with
// the other or with the Reading notes ("sensor <n>"): SQLite keeps one
// full-text index for all entity types, and q over the Memo set should
// not be measured over the candidates of the Reading set.
var words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"}

// rareWord is a word of five consonants (none of "sensor") that only
// Memo i holds: i in base 17, for i below 17^5 = 1,419,857.
func rareWord(i int) string {
	const letters = "bcdfghjklmpqtvwxz"
	b := make([]byte, 5)
	for k := 4; k >= 0; k-- {
		b[k] = letters[i%len(letters)]
		i /= len(letters)
	}
	return string(b)
}

// benchUserData measures OData user data (reference §7). Reading
// entities: single POSTs per second on a sample (o.single; on
// Elasticsearch every write waits for a refresh, so a million of them
// would take hours), the rest created through $batch changesets and
// measured in entities per second; then p50/p99 of an equality filter on
// a declared property and of an $orderby with $top=25 over all of them.
// Memo entities, a set of o.text in their own entity type, are loaded
// through $batch and searched with q=. Last, a listing page by page,
// watching the server's memory.
func benchUserData(do doer, o userDataOptions) error {
	mkcol := []byte(`<D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>`)
	for _, step := range []struct {
		method, path string
		body         []byte
		want         int
	}{
		{"MKCOL", "bench/__/od", mkcol, 201},
		{"POST", "bench/__/od/$metadata/EntityType", []byte(`{"Name":"Reading"}`), 201},
		{"POST", "bench/__/od/$metadata/Property", []byte(`{"Name":"value","_EntityType.Name":"Reading","Type":"Edm.Int32"}`), 201},
		{"POST", "bench/__/od/$metadata/Property", []byte(`{"Name":"note","_EntityType.Name":"Reading","Type":"Edm.String"}`), 201},
		{"POST", "bench/__/od/$metadata/EntityType", []byte(`{"Name":"Memo"}`), 201},
		{"POST", "bench/__/od/$metadata/Property", []byte(`{"Name":"n","_EntityType.Name":"Memo","Type":"Edm.Int32"}`), 201},
		{"POST", "bench/__/od/$metadata/Property", []byte(`{"Name":"text","_EntityType.Name":"Memo","Type":"Edm.String"}`), 201},
	} {
		if st, b, err := do(step.method, step.path, step.body); err != nil || st != step.want {
			return fmt.Errorf("%s %s: %d %s %v", step.method, step.path, st, b, err)
		}
	}
	n := o.entities
	reading := func(i int) string { return fmt.Sprintf(`{"value":%d,"note":"sensor %d"}`, i, i) }
	memo := func(i int) string {
		return fmt.Sprintf(`{"n":%d,"text":"%s %s %s"}`, i, words[i%10], words[(i/10)%10], rareWord(i))
	}

	single := min(o.single, n)
	if single > 0 {
		el, failed := fanOut(o.workers, single, 1, func(i int) error {
			if st, b, err := do("POST", "bench/__/od/Reading", []byte(reading(i))); err != nil || st != 201 {
				return fmt.Errorf("create %d: %d %s %v", i, st, b, err)
			}
			return nil
		})
		rate := float64(single) / el.Seconds()
		fmt.Printf("OData entity creates: %d in %v over %d keep-alive connections = %.0f creates/s (failed %d)\n",
			single, el.Round(time.Millisecond), o.workers, rate, failed)
		record("od_single_creates_per_s", rate, "/s")
		if failed > 0 {
			return fmt.Errorf("%d entity creates failed", failed)
		}
	}
	if n > single {
		el, failed := loadBatch(do, "Reading", single, n, o.perBatch, o.workers, reading)
		rate := float64(n-single) / el.Seconds()
		fmt.Printf("OData entity creates by $batch (changesets of %d) over %d connections: %d in %v = %.0f entities/s (failed batches %d)\n",
			o.perBatch, o.workers, n-single, el.Round(time.Millisecond), rate, failed)
		record("od_batch_entities_per_s", rate, "/s")
		if failed > 0 {
			return fmt.Errorf("%d $batch requests failed", failed)
		}
	}
	if o.text > 0 {
		el, failed := loadBatch(do, "Memo", 0, o.text, o.perBatch, o.workers, memo)
		rate := float64(o.text) / el.Seconds()
		fmt.Printf("OData Memo creates by $batch (changesets of %d) over %d connections, the set q= searches: %d in %v = %.0f entities/s (failed batches %d)\n",
			o.perBatch, o.workers, o.text, el.Round(time.Millisecond), rate, failed)
		record("od_text_batch_entities_per_s", rate, "/s")
		if failed > 0 {
			return fmt.Errorf("%d $batch requests failed", failed)
		}
	}
	for _, c := range []struct {
		set  string
		want int
	}{{"Reading", n}, {"Memo", o.text}} {
		got, err := countOf(do, c.set, "")
		if err != nil {
			return err
		}
		if got != c.want {
			return fmt.Errorf("%s holds %d entities, want %d", c.set, got, c.want)
		}
	}
	// The searches find what they should (a fast q that finds nothing
	// measures nothing): a rare word one Memo, two words about 1 in 100.
	if o.text > 0 {
		i := o.text / 2
		if got, err := countOf(do, "Memo", "&q="+rareWord(i)); err != nil || got != 1 {
			return fmt.Errorf("q=%s found %d Memos, want 1 (%v)", rareWord(i), got, err)
		}
		want := 0
		for k := 0; k < o.text; k++ {
			if k%10 == 0 && (k/10)%10 == 1 || k%10 == 1 && (k/10)%10 == 0 {
				want++
			}
		}
		if got, err := countOf(do, "Memo", "&q="+words[0]+"+"+words[1]); err != nil || got != want {
			return fmt.Errorf("q=%s+%s found %d Memos, want %d (%v)", words[0], words[1], got, want, err)
		}
	}

	type query struct {
		key, name string
		over      int
		path      func(i int) string
	}
	queries := []query{
		{"od_filter_eq", "$filter=value eq …", n, func(i int) string {
			return "bench/__/od/Reading?$filter=value+eq+" + strconv.Itoa((i*7919)%n)
		}},
		{"od_orderby_top25", "$orderby=value desc&$top=25", n, func(int) string {
			return "bench/__/od/Reading?$orderby=value+desc&$top=25"
		}},
	}
	if o.text > 0 {
		queries = append(queries,
			query{"od_q_two_words", "q=<two words>&$top=25", o.text, func(i int) string {
				return "bench/__/od/Memo?q=" + words[i%10] + "+" + words[(i/3)%10] + "&$top=25"
			}},
			query{"od_q_rare", "q=<a rare word>", o.text, func(i int) string {
				return "bench/__/od/Memo?q=" + rareWord((i*7919)%o.text)
			}})
	}
	for _, q := range queries {
		if q.over == 0 {
			continue
		}
		p50, p99, err := percentiles(o.queries, func(i int) error {
			if st, b, err := do("GET", q.path(i), nil); err != nil || st != 200 {
				return fmt.Errorf("GET %s: %d %.300s %v", q.path(i), st, b, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		set := "Reading"
		if strings.HasPrefix(q.key, "od_q_") {
			set = "Memo"
		}
		fmt.Printf("OData %s over %d %s entities, %d queries: p50 %v (%.1f x baseline p50), p99 %v\n", q.name, q.over, set, o.queries,
			p50.Round(time.Microsecond), float64(p50)/float64(o.basep50), p99.Round(time.Microsecond))
		record(q.key+"_p50_ms", ms(p50), "ms")
		record(q.key+"_p99_ms", ms(p99), "ms")
	}
	// Everything, page by page ($top=1000, $skip up to Personium's
	// 100,000): the server's memory must stay flat.
	before := rssKiB(o.pid)
	var peak int64
	pages := 0
	t2 := time.Now()
	for skip := 0; skip < min(n, 100000); skip += 1000 {
		if st, b, err := do("GET", "bench/__/od/Reading?$orderby=value&$top=1000&$skip="+strconv.Itoa(skip), nil); err != nil || st != 200 {
			return fmt.Errorf("page at %d: %d %.200s %v", skip, st, b, err)
		}
		pages++
		peak = max(peak, rssKiB(o.pid))
	}
	el := time.Since(t2)
	fmt.Printf("OData listing %d pages of 1000 in %v: server RSS (anonymous) %.1f MB before, peak %.1f MB\n",
		pages, el.Round(time.Millisecond), float64(before)/1024, float64(peak)/1024)
	record("od_listing_s", el.Seconds(), "s")
	record("od_listing_peak_rss_mb", float64(peak)/1024, "MB")
	return nil
}

// loadBatch creates entities from..to-1 of set through $batch, one
// changeset of per creates a request, over workers connections; body(i)
// is entity i. It returns the time taken and the number of failed
// requests (a changeset is applied whole or not at all).
func loadBatch(do doer, set string, from, to, per, workers int, body func(i int) string) (time.Duration, int64) {
	return fanOut(workers, to-from, per, func(k int) error {
		first, last := from+k, min(from+k+per, to)
		var b bytes.Buffer
		b.WriteString("--batch_b\r\nContent-Type: multipart/mixed; boundary=changeset_b\r\n\r\n")
		for i := first; i < last; i++ {
			fmt.Fprintf(&b, "--changeset_b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"+
				"POST %s HTTP/1.1\r\nContent-Type: application/json\r\n\r\n%s\r\n", set, body(i))
		}
		b.WriteString("--changeset_b--\r\n\r\n--batch_b--\r\n")
		st, resp, err := do("POST", "bench/__/od/$batch", b.Bytes())
		if err != nil || st != 202 || bytes.Count(resp, []byte("HTTP/1.1 201")) != last-first {
			return fmt.Errorf("$batch of %s %d..%d: %d %.300s %v", set, first, last-1, st, resp, err)
		}
		return nil
	})
}

var countRE = regexp.MustCompile(`"__count"\s*:\s*"?(\d+)`)

// countOf returns the number of entities of set that the query options
// more select.
func countOf(do doer, set, more string) (int, error) {
	st, b, err := do("GET", "bench/__/od/"+set+"?$top=0&$inlinecount=allpages"+more, nil)
	if err != nil || st != 200 {
		return 0, fmt.Errorf("count %s: %d %.300s %v", set, st, b, err)
	}
	m := countRE.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("count %s: no __count in %.300s", set, b)
	}
	return strconv.Atoi(string(m[1]))
}

// A metric is one number of the run, written to -results as
// "key<TAB>value<TAB>unit" lines for scripts (bench/metastores.sh).
type metric struct {
	key   string
	value float64
	unit  string
}

var metrics []metric

func record(key string, value float64, unit string) {
	metrics = append(metrics, metric{key, value, unit})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func writeResults(path string) error {
	var b bytes.Buffer
	for _, m := range metrics {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", m.key, strconv.FormatFloat(m.value, 'f', -1, 64), m.unit)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
