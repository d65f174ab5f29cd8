// Command unitbench measures a personium unit over HTTP, as a client:
//
//   - cold start: from exec of `personium serve` to the first answer of GET {unit};
//   - idle RSS of the server process after start-up (Linux /proc, anonymous memory);
//   - Role creates per second over keep-alive connections;
//   - a filtered, ordered list over N roles in one set: p50 and p99 latency.
//
// It builds nothing: pass the server binary with -bin (it starts it on a
// free loopback port with a fresh data folder) and stops it at the end.
//
//	go build -o /tmp/personium ./cmd/personium
//	go run ./bench/unitbench -bin /tmp/personium -n 100000
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
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "", "path of the personium binary (required)")
	n := flag.Int("n", 100000, "number of roles to create")
	workers := flag.Int("c", 8, "concurrent keep-alive connections for creates")
	queries := flag.Int("q", 400, "number of list queries to time")
	entities := flag.Int("entities", 0, "number of OData user-data entities to create and query (0: skip)")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "unitbench: -bin is required")
		os.Exit(2)
	}
	if err := run(*bin, *n, *workers, *queries, *entities); err != nil {
		fmt.Fprintln(os.Stderr, "unitbench:", err)
		os.Exit(1)
	}
}

// percentiles runs f n times and returns the p50 and p99 latencies.
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

func run(bin string, n, workers, queries, entities int) error {
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
	cmd := exec.Command(bin, "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--data", filepath.Join(data, "d"), "--master-token", token, "--log-level", "warn")
	if extra := os.Getenv("UNITBENCH_SERVE_ARGS"); extra != "" {
		cmd.Args = append(cmd.Args, strings.Fields(extra)...)
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers + 2}, Timeout: 30 * time.Second}
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
	basep50, basep99, err := percentiles(queries, func(int) error { return get("") })
	if err != nil {
		return err
	}
	fmt.Printf("baseline GET {unit} latency: p50 %v, p99 %v\n", basep50.Round(time.Microsecond), basep99.Round(time.Microsecond))

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
	p50, p99, err = percentiles(queries, func(i int) error {
		q := url.Values{"$filter": {fmt.Sprintf("Name eq 'role%07d'", (i*7919)%n)}, "$orderby": {"Name"}}
		return get("bench/__ctl/Role?" + q.Encode())
	})
	if err != nil {
		return err
	}
	fmt.Printf("equality-filtered list over %d roles ($filter=Name eq …&$orderby=Name), %d queries: p50 %v (%.1f x baseline p50), p99 %v\n",
		n, queries, p50.Round(10*time.Microsecond), float64(p50)/float64(basep50), p99.Round(10*time.Microsecond))
	if err := benchAuth(do, unit, workers, queries); err != nil {
		return err
	}
	if entities > 0 {
		if err := benchUserData(do, entities, workers, queries, basep50, cmd.Process.Pid); err != nil {
			return err
		}
	}
	fmt.Printf("RSS (anonymous) after the run: %.1f MB\n", float64(rssKiB(cmd.Process.Pid))/1024)
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

// benchUserData measures OData user data (reference §7): entity creates
// per second by single POST, and p50/p99 of an equality filter on a
// declared property, an $orderby with $top=25 and a q= search over the
// entities created.
func benchUserData(do doer, n, workers, queries int, basep50 time.Duration, pid int) error {
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
	} {
		if st, b, err := do(step.method, step.path, step.body); err != nil || st != step.want {
			return fmt.Errorf("%s %s: %d %s %v", step.method, step.path, st, b, err)
		}
	}
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett"}
	el, failed := fanOut(workers, n, 1, func(i int) error {
		body := fmt.Sprintf(`{"value":%d,"note":"%s %s reading %d"}`, i, words[i%10], words[(i/10)%10], i)
		if st, b, err := do("POST", "bench/__/od/Reading", []byte(body)); err != nil || st != 201 {
			return fmt.Errorf("create %d: %d %s %v", i, st, b, err)
		}
		return nil
	})
	fmt.Printf("OData entity creates: %d in %v over %d keep-alive connections = %.0f creates/s (failed %d)\n",
		n, el.Round(time.Millisecond), workers, float64(n)/el.Seconds(), failed)

	// The same number again through $batch: changesets of 500 creates.
	const perBatch = 500
	el, bfailed := fanOut(workers, n, perBatch, func(first int) error {
		var b bytes.Buffer
		b.WriteString("--batch_b\r\nContent-Type: multipart/mixed; boundary=changeset_b\r\n\r\n")
		for i := first; i < min(first+perBatch, n); i++ {
			fmt.Fprintf(&b, "--changeset_b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"+
				"POST Reading HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"value\":%d,\"note\":\"batch %s\"}\r\n", n+i, words[i%10])
		}
		b.WriteString("--changeset_b--\r\n\r\n--batch_b--\r\n")
		st, body, err := do("POST", "bench/__/od/$batch", b.Bytes())
		if err != nil || st != 202 || bytes.Contains(body, []byte("HTTP/1.1 4")) {
			return fmt.Errorf("$batch from %d: %d %v", first, st, err)
		}
		return nil
	})
	fmt.Printf("OData entity creates by $batch (changesets of %d): %d in %v = %.0f entities/s (failed batches %d)\n",
		perBatch, n, el.Round(time.Millisecond), float64(n)/el.Seconds(), bfailed)
	n *= 2
	for _, q := range []struct{ name, path func(i int) string }{
		{func(int) string { return "$filter=value eq …" }, func(i int) string {
			return "bench/__/od/Reading?$filter=value+eq+" + strconv.Itoa((i*7919)%n)
		}},
		{func(int) string { return "$orderby=value desc&$top=25" }, func(int) string {
			return "bench/__/od/Reading?$orderby=value+desc&$top=25"
		}},
		{func(int) string { return "q=<two words>&$top=25" }, func(i int) string {
			return "bench/__/od/Reading?q=" + words[i%10] + "+" + words[(i/3)%10] + "&$top=25"
		}},
		{func(int) string { return "q=<a rare number>" }, func(i int) string {
			return "bench/__/od/Reading?q=reading+" + strconv.Itoa(100000+(i*7919)%900000)
		}},
	} {
		p50, p99, err := percentiles(queries, func(i int) error {
			if st, b, err := do("GET", q.path(i), nil); err != nil || st != 200 {
				return fmt.Errorf("GET %s: %d %s %v", q.path(i), st, b, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Printf("OData %s over %d entities, %d queries: p50 %v (%.1f x baseline p50), p99 %v\n", q.name(0), n, queries,
			p50.Round(time.Microsecond), float64(p50)/float64(basep50), p99.Round(time.Microsecond))
	}
	// Everything, page by page ($top=1000, $skip up to Personium's
	// 100,000): the server's memory must stay flat.
	before := rssKiB(pid)
	var peak int64
	pages := 0
	t2 := time.Now()
	for skip := 0; skip < min(n, 100000); skip += 1000 {
		if st, b, err := do("GET", "bench/__/od/Reading?$orderby=value&$top=1000&$skip="+strconv.Itoa(skip), nil); err != nil || st != 200 {
			return fmt.Errorf("page at %d: %d %.200s %v", skip, st, b, err)
		}
		pages++
		peak = max(peak, rssKiB(pid))
	}
	fmt.Printf("OData listing %d pages of 1000 in %v: server RSS (anonymous) %.1f MB before, peak %.1f MB\n",
		pages, time.Since(t2).Round(time.Millisecond), float64(before)/1024, float64(peak)/1024)
	return nil
}
