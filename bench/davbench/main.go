// Command davbench measures the WebDAV file service of a personium unit
// over HTTP, as a client, against a bare golang.org/x/net/webdav server
// measured in the same run:
//
//   - PUT and GET of one large file of random bytes (-size, 64 MiB by
//     default) in MB/s (10^6 bytes per second), every GET verified
//     against the SHA-256 of the source;
//   - GET of a 4 KiB file in requests/s with wrk (-t2 -c16 -d10s
//     --latency, one Authorization header), with latency p50 and p99.
//
// Three servers are measured: personium with encrypted file bodies
// (serve --encrypt=true, the default), personium with plain bodies
// (--encrypt=false), and the baseline: a webdav.Handler over webdav.Dir
// on a temporary folder with webdav.NewMemLS, served by net/http in a
// child process (this binary re-executed with a hidden -serve-baseline
// flag), so that its CPU is neither the client's nor shared with it in
// one process. Personium is reached with the unit master token (Bearer);
// the baseline checks no credentials but gets the same header.
//
// With -bee-url and -bee-batch, personium with --store bee on that Bee
// node (encrypted and plain) is measured too, in the same run.
//
// Every measurement is repeated -r times, the servers taking turns, and
// the median is printed with its ratio to the baseline. The srv-CPU
// columns are the user+system CPU time the server process spent (from
// /proc/PID/stat): with client, wrk and servers on one machine, the
// throughput columns depend on how many cores are free, the CPU columns
// much less.
//
// It builds nothing: pass the server binary with -bin. Each personium is
// started on a free loopback port with a fresh data folder (a cell
// "bench" with the set-up of compat-tests/clients/lib.sh) and stopped by
// PID at the end. wrk (Debian package wrk) is looked up on PATH; without
// it the small-file part is skipped with a message.
//
//	go build -o /tmp/personium ./cmd/personium && go run ./bench/davbench -bin /tmp/personium
//	go run ./bench/davbench -bin /tmp/personium -r 5 -d 30s -size 256
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// smallSize is the size of the file fetched by wrk.
const smallSize = 4 << 10

// config holds the flags of a benchmark run.
type config struct {
	bin    string        // personium binary
	reps   int           // repetitions of each measurement
	size   int           // bytes of the large file
	wrkDur time.Duration // duration of one wrk run
	// beeURL and beeBatch, when set, add personium with --store bee.
	beeURL, beeBatch string
}

// hiddenFlags are internal to the baseline child and left out of -help.
var hiddenFlags = map[string]bool{"serve-baseline": true, "listen": true}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "", "`path` of the personium binary (required)")
	flag.IntVar(&c.reps, "r", 3, "repetitions of each measurement; the median is reported")
	sizeMiB := flag.Int("size", 64, "size of the large file in `MiB`")
	flag.DurationVar(&c.wrkDur, "d", 10*time.Second, "duration of each wrk run")
	flag.StringVar(&c.beeURL, "bee-url", "", "also measure personium with --store bee on this Bee node (`URL`)")
	flag.StringVar(&c.beeBatch, "bee-batch", "", "postage `batch` ID for -bee-url")
	baseDir := flag.String("serve-baseline", "", "internal: serve x/net/webdav on this `folder` and do nothing else")
	listen := flag.String("listen", "", "internal: `address` for -serve-baseline")
	flag.Usage = usage
	flag.Parse()

	if *baseDir != "" {
		if err := serveBaseline(*baseDir, *listen); err != nil {
			fmt.Fprintln(os.Stderr, "davbench baseline:", err)
			os.Exit(1)
		}
		return
	}
	if c.bin == "" || c.reps < 1 || *sizeMiB < 1 {
		usage()
		os.Exit(2)
	}
	c.size = *sizeMiB << 20
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "davbench:", err)
		stop()
		os.Exit(1)
	}
}

// usage prints the flags a user sets, without the internal ones.
func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprintln(out, "usage: davbench -bin PATH [-r N] [-size MiB] [-d DURATION]")
	flag.VisitAll(func(f *flag.Flag) {
		if hiddenFlags[f.Name] {
			return
		}
		name, use := flag.UnquoteUsage(f)
		fmt.Fprintf(out, "  -%s %s\n    \t%s", f.Name, name, use)
		if f.DefValue != "" {
			fmt.Fprintf(out, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(out)
	})
}

// run starts the three servers, measures them and prints the tables.
func run(ctx context.Context, c config) error {
	root, err := os.MkdirTemp("", "davbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)

	var targets []*target
	defer func() {
		for _, t := range targets {
			t.stop()
			if s := t.logSummary(); s != "" {
				fmt.Fprintln(os.Stderr, "davbench:", s)
			}
		}
	}()
	for _, enc := range []bool{true, false} {
		t, err := startPersonium(ctx, c.bin, filepath.Join(root, fmt.Sprintf("personium-enc-%t", enc)), enc, "", "")
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	if c.beeURL != "" {
		for _, enc := range []bool{true, false} {
			t, err := startPersonium(ctx, c.bin, filepath.Join(root, fmt.Sprintf("personium-bee-enc-%t", enc)), enc, c.beeURL, c.beeBatch)
			if err != nil {
				return err
			}
			targets = append(targets, t)
		}
	}
	base, err := startBaseline(ctx, filepath.Join(root, "baseline"))
	if err != nil {
		return err
	}
	targets = append(targets, base)

	printHeader(c)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2}}
	if err := benchBulk(ctx, client, targets, c); err != nil {
		return err
	}
	return benchSmall(ctx, client, targets, c)
}

// printHeader describes the machine and the run.
func printHeader(c config) {
	load, _ := os.ReadFile("/proc/loadavg")
	fields := strings.Fields(string(load))
	if len(fields) > 3 {
		fields = fields[:3]
	}
	fmt.Printf("davbench %s: %d CPUs (client, wrk and servers on this machine), load %s, %s\n",
		time.Now().Format("2006-01-02 15:04"), runtime.NumCPU(), strings.Join(fields, " "), runtime.Version())
	fmt.Printf("median of %d; ratios are against x/net/webdav measured in this run\n", c.reps)
}

// benchBulk times the PUT and the GET of one large file of random bytes on
// every target, c.reps times, and prints medians and ratios.
func benchBulk(ctx context.Context, client *http.Client, targets []*target, c config) error {
	src := make([]byte, c.size)
	_, _ = rand.Read(src)
	want := sha256.Sum256(src)
	type series struct{ put, get, putCPU, getCPU []float64 }
	res := make([]series, len(targets))
	for rep := range c.reps {
		for i, t := range targets {
			name := fmt.Sprintf("large-%d.bin", rep)
			cpu0, t0 := t.cpu(), time.Now()
			if err := put(ctx, client, t, name, src); err != nil {
				return err
			}
			put, cpu1 := time.Since(t0), t.cpu()
			t1 := time.Now()
			n, sum, err := get(ctx, client, t, name)
			if err != nil {
				return err
			}
			get, cpu2 := time.Since(t1), t.cpu()
			if n != int64(len(src)) || sum != want {
				return fmt.Errorf("%s: GET %s: %d bytes with a SHA-256 other than the %d bytes put", t.name, name, n, len(src))
			}
			res[i].put = append(res[i].put, float64(len(src))/put.Seconds()/1e6)
			res[i].get = append(res[i].get, float64(len(src))/get.Seconds()/1e6)
			res[i].putCPU = append(res[i].putCPU, (cpu1 - cpu0).Seconds())
			res[i].getCPU = append(res[i].getCPU, (cpu2 - cpu1).Seconds())
		}
	}
	base := res[len(res)-1]
	fmt.Printf("\nlarge file: PUT and GET of %d MiB of random bytes, GET verified by SHA-256\n", c.size>>20)
	fmt.Printf("%-24s %9s %7s %9s %9s %7s %9s\n", "server", "PUT MB/s", "x base", "srv-CPU", "GET MB/s", "x base", "srv-CPU")
	for i, t := range targets {
		r := res[i]
		fmt.Printf("%-24s %9.1f %7.2f %8.2fs %9.1f %7.2f %8.2fs\n", t.name,
			median(r.put), median(r.put)/median(base.put), median(r.putCPU),
			median(r.get), median(r.get)/median(base.get), median(r.getCPU))
	}
	return nil
}

// benchSmall puts a 4 KiB file on every target and measures GETs of it
// with wrk, c.reps runs each, the targets taking turns.
func benchSmall(ctx context.Context, client *http.Client, targets []*target, c config) error {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		fmt.Printf("\nsmall file: skipped, wrk is not on PATH (Debian package wrk)\n")
		return nil
	}
	src := make([]byte, smallSize)
	_, _ = rand.Read(src)
	want := sha256.Sum256(src)
	for _, t := range targets {
		if err := put(ctx, client, t, "small.bin", src); err != nil {
			return err
		}
		if n, sum, err := get(ctx, client, t, "small.bin"); err != nil || n != smallSize || sum != want {
			return fmt.Errorf("%s: GET small.bin: %d bytes, SHA-256 ok %t, %v", t.name, n, sum == want, err)
		}
	}
	type series struct{ rps, p50, p99, cpu []float64 }
	res := make([]series, len(targets))
	for range c.reps {
		for i, t := range targets {
			cpu0 := t.cpu()
			w, err := runWrk(ctx, wrk, c.wrkDur, t.auth, t.box+"small.bin")
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			cpu := t.cpu() - cpu0
			res[i].rps = append(res[i].rps, w.rps)
			res[i].p50 = append(res[i].p50, float64(w.p50))
			res[i].p99 = append(res[i].p99, float64(w.p99))
			res[i].cpu = append(res[i].cpu, float64(cpu/time.Microsecond)/float64(w.requests))
		}
	}
	base := res[len(res)-1]
	fmt.Printf("\nsmall file: GET of 4 KiB, %s (target: x base >= 0.5)\n", wrkCommand(c.wrkDur, "Bearer …", "{box}small.bin"))
	fmt.Printf("%-24s %9s %7s %9s %9s %12s\n", "server", "req/s", "x base", "p50", "p99", "srv-CPU/req")
	for i, t := range targets {
		r := res[i]
		fmt.Printf("%-24s %9.0f %7.2f %9v %9v %10.0fµs\n", t.name,
			median(r.rps), median(r.rps)/median(base.rps),
			roundLatency(time.Duration(median(r.p50))), roundLatency(time.Duration(median(r.p99))), median(r.cpu))
	}
	return nil
}

// put stores body as the file name in the target's box.
func put(ctx context.Context, client *http.Client, t *target, name string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, t.box+name, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", t.auth)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: PUT %s: %w", t.name, name, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("%s: PUT %s: %s %s", t.name, name, resp.Status, msg)
	}
	return nil
}

// get reads the file name of the target's box and returns its length and
// SHA-256.
func get(ctx context.Context, client *http.Client, t *target, name string) (int64, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.box+name, nil)
	if err != nil {
		return 0, sum, err
	}
	req.Header.Set("Authorization", t.auth)
	resp, err := client.Do(req)
	if err != nil {
		return 0, sum, fmt.Errorf("%s: GET %s: %w", t.name, name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return 0, sum, fmt.Errorf("%s: GET %s: %s %s", t.name, name, resp.Status, msg)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, resp.Body, make([]byte, 256<<10))
	if err != nil {
		return n, sum, fmt.Errorf("%s: GET %s: %w", t.name, name, err)
	}
	h.Sum(sum[:0])
	return n, sum, nil
}

// median returns the middle of xs (the mean of the two middle values when
// their number is even); xs must not be empty.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// roundLatency keeps three significant digits or so of a latency.
func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}
