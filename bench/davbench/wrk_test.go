package main

import (
	"strings"
	"testing"
	"time"
)

// wrkReport is the output of wrk 4.1.0 with --latency, as run by runWrk.
const wrkReport = `Running 1s test @ http://127.0.0.1:18777/a.txt
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.21ms    2.08ms  20.78ms   90.32%
    Req/Sec    13.93k     1.86k   18.01k    63.64%
  Latency Distribution
     50%  431.00us
     75%    1.37ms
     90%    3.20ms
     99%   10.66ms
  30486 requests in 1.10s, 6.28MB read
Requests/sec:  27700.12
Transfer/sec:      5.71MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkReport)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{requests: 30486, rps: 27700.12, p50: 431 * time.Microsecond, p99: 10660 * time.Microsecond}
	if r != want {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
}

func TestParseWrkRejects(t *testing.T) {
	for name, out := range map[string]string{
		"non-2xx":    strings.Replace(wrkReport, "Requests/sec:", "  Non-2xx or 3xx responses: 3\nRequests/sec:", 1),
		"no p99":     strings.Replace(wrkReport, "99%", "98%", 1),
		"no rate":    strings.Replace(wrkReport, "Requests/sec:", "Requests:", 1),
		"bad unit":   strings.Replace(wrkReport, "431.00us", "431.00xs", 1),
		"connection": "unable to connect to 127.0.0.1:1 Connection refused\n",
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: parseWrk succeeded", name)
		}
	}
}

func TestWrkCommand(t *testing.T) {
	got := wrkCommand(10*time.Second, "Bearer x", "http://h/f")
	want := "wrk -t2 -c16 -d10s --latency -H 'Authorization: Bearer x' http://h/f"
	if got != want {
		t.Errorf("wrkCommand = %q, want %q", got, want)
	}
}
