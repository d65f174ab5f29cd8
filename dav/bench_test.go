package dav_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkGetSmall: GET of a 4 KiB file through the handler (httptest
// server, one keep-alive client), in-memory content store.
func BenchmarkGetSmall(b *testing.B) {
	e := newEnv(&testing.T{}, false)
	e.t = &testing.T{}
	r := e.do("PUT", "small.bin", strings.NewReader(strings.Repeat("x", 4096)))
	if r.status != http.StatusCreated {
		b.Fatalf("PUT: %d", r.status)
	}
	url := e.url + "small.bin"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
