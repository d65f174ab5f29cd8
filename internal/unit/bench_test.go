package unit_test

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkBoxGetSmall: GET of a 4 KiB file through the whole unit
// (routing, cell lookup, token, ACLs, WebDAV), one keep-alive client.
func BenchmarkBoxGetSmall(b *testing.B) {
	t := &testing.T{}
	e := newAuthEnv(t)
	e.t = t
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "PUT", "c/__/small.bin", string(make([]byte, 4096)))
	req, _ := http.NewRequest("GET", e.url+"c/__/small.bin", nil)
	req.Header.Set("Authorization", "Bearer "+master)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatal(err, res.StatusCode)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
}
