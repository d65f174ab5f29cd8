package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrk's load: threads and open connections.
const (
	wrkThreads     = 2
	wrkConnections = 16
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	requests int64         // completed requests
	rps      float64       // requests per second
	p50, p99 time.Duration // latency percentiles
}

// wrkArgs returns the arguments of a wrk run of duration d against url,
// sending the Authorization header auth.
func wrkArgs(d time.Duration, auth, url string) []string {
	secs := max(1, int(d.Round(time.Second)/time.Second)) // wrk counts whole seconds
	return []string{
		"-t" + strconv.Itoa(wrkThreads), "-c" + strconv.Itoa(wrkConnections), "-d" + strconv.Itoa(secs) + "s",
		"--latency", "-H", "Authorization: " + auth, url,
	}
}

// wrkCommand renders the wrk command line as a shell would take it.
func wrkCommand(d time.Duration, auth, url string) string {
	args := wrkArgs(d, auth, url)
	args[len(args)-2] = "'" + args[len(args)-2] + "'"
	return "wrk " + strings.Join(args, " ")
}

// runWrk runs the wrk binary at path against url and parses its report.
// Any response outside 2xx and 3xx is an error; socket errors are
// printed to stderr.
func runWrk(ctx context.Context, path string, d time.Duration, auth, url string) (wrkResult, error) {
	out, err := exec.CommandContext(ctx, path, wrkArgs(d, auth, url)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	r, err := parseWrk(string(out))
	if err != nil {
		return r, fmt.Errorf("wrk: %w in:\n%s", err, out)
	}
	return r, nil
}

// parseWrk reads the report of `wrk --latency`: the line "N requests in
// …", "Requests/sec: X" and the 50% and 99% lines of the latency
// distribution. It fails when a line "Non-2xx or 3xx responses" is
// present or a value is missing.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var seen int
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("request count %q", f[0])
			}
			r.requests = n
			seen |= 1
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("requests/sec %q", f[1])
			}
			r.rps = v
			seen |= 2
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			// wrk prints us, ms, s, m and h, all units time.ParseDuration takes.
			d, err := time.ParseDuration(f[1])
			if err != nil {
				return r, fmt.Errorf("latency %q", f[1])
			}
			if f[0] == "50%" {
				r.p50 = d
				seen |= 4
			} else {
				r.p99 = d
				seen |= 8
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			return r, fmt.Errorf("%s", line)
		case strings.HasPrefix(line, "Socket errors:"):
			fmt.Fprintln(os.Stderr, "davbench: wrk:", line)
		}
	}
	if seen != 15 {
		return r, fmt.Errorf("incomplete report")
	}
	return r, nil
}
