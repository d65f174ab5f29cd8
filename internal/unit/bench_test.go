package unit_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
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

// BenchmarkBatchCreate: $batch changesets of 500 entity creates into a
// declared entity type, through the whole unit; reports entities/s.
func BenchmarkBatchCreate(b *testing.B) {
	e := readingsUnit()
	const per = 500
	n := 0
	start := time.Now()
	for b.Loop() {
		var body strings.Builder
		body.WriteString("--batch_b\r\nContent-Type: multipart/mixed; boundary=changeset_b\r\n\r\n")
		for i := 0; i < per; i++ {
			fmt.Fprintf(&body, "--changeset_b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"+
				"POST Reading HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"value\":%d,\"note\":\"batch note %d\"}\r\n", n, n)
			n++
		}
		body.WriteString("--changeset_b--\r\n\r\n--batch_b--\r\n")
		r := e.do("POST", "c/__/od/$batch", body.String(), "Content-Type", "multipart/mixed; boundary=batch_b")
		if r.status != 202 || strings.Contains(string(r.body), "HTTP/1.1 4") {
			b.Fatalf("%d %.300s", r.status, r.body)
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entities/s")
}

// BenchmarkEntityCreate: single POSTs of an entity into a declared
// entity type, through the whole unit, one keep-alive client.
func BenchmarkEntityCreate(b *testing.B) {
	e := readingsUnit()
	n := 0
	start := time.Now()
	for b.Loop() {
		r := e.do("POST", "c/__/od/Reading", fmt.Sprintf(`{"value":%d,"note":"single note %d"}`, n, n))
		if r.status != 201 {
			b.Fatalf("%d %s", r.status, r.body)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "creates/s")
}

// readingsUnit is a unit with cell c whose OData collection c/__/od
// declares the entity type Reading (value Edm.Int32, note Edm.String).
func readingsUnit() *authEnv {
	t := &testing.T{}
	e := newAuthEnv(t)
	e.t = t
	e.must(201, "POST", "__ctl/Cell", `{"Name":"c"}`)
	e.must(201, "MKCOL", "c/__/od", odataMkcol, "Content-Type", "application/xml")
	e.must(201, "POST", "c/__/od/$metadata/EntityType", `{"Name":"Reading"}`)
	e.must(201, "POST", "c/__/od/$metadata/Property", `{"Name":"value","_EntityType.Name":"Reading","Type":"Edm.Int32"}`)
	e.must(201, "POST", "c/__/od/$metadata/Property", `{"Name":"note","_EntityType.Name":"Reading","Type":"Edm.String"}`)
	return e
}
