package elastic

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/metastore/metastoretest"
	"github.com/personium-go/personium/internal/perr"
)

// testURL is the cluster the tests use: PERSONIUM_TEST_ES_URL (.ci/es.sh
// starts one); without it these tests skip.
func testURL(t testing.TB) string {
	u := os.Getenv("PERSONIUM_TEST_ES_URL")
	if u == "" {
		t.Skip("PERSONIUM_TEST_ES_URL not set: no Elasticsearch to test against (.ci/es.sh starts one)")
	}
	return u
}

var testStores atomic.Int64

// newTestStore opens a store with indices of its own, dropped when the
// test ends.
func newTestStore(t testing.TB) *Store {
	u := testURL(t)
	prefix := fmt.Sprintf("test-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6, testStores.Add(1))
	s, err := Open(context.Background(), Config{URLs: []string{u}, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the suite's Close: with a client of its own
		admin, err := Open(context.Background(), Config{URLs: []string{u}, Prefix: prefix})
		if err == nil {
			err = admin.DropIndices(context.Background())
			admin.Close()
		}
		if err != nil {
			t.Errorf("drop indices: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	testURL(t)
	metastoretest.Run(t, func(t *testing.T) metastore.Store { return newTestStore(t) })
}

// createOne creates document d<i> of kind T in cell c, alone.
func createOne(b *testing.B, s *Store, i int64) {
	id := fmt.Sprintf("d%d", i)
	if _, err := s.Apply(context.Background(), metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: id,
		Kind: "T", Cell: "c", Key: id, Body: []byte(`{"a":1,"b":"x"}`)}}); err != nil {
		b.Fatal(err)
	}
}

// loadDocs creates n documents d000000… of kind T in cell c, 2,000 a
// batch, with the bodies body gives.
func loadDocs(b *testing.B, s *Store, n int, body func(i int) string) {
	var ops []metastore.Op
	for i := range n {
		id := fmt.Sprintf("d%06d", i)
		ops = append(ops, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: id, Kind: "T", Cell: "c", Key: id,
			Body: []byte(body(i))}})
		if len(ops) == 2000 || i == n-1 {
			if _, err := s.Apply(context.Background(), ops...); err != nil {
				b.Fatal(err)
			}
			ops = nil
		}
	}
}

func BenchmarkCreateOne(b *testing.B) {
	s := newTestStore(b)
	for i := int64(0); b.Loop(); i++ {
		createOne(b, s, i)
	}
}

func BenchmarkCreateParallel(b *testing.B) {
	s := newTestStore(b)
	var n atomic.Int64
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			createOne(b, s, n.Add(1))
		}
	})
}

// BenchmarkDeepSkip: one page of 1,000 after skipping 90,000 of 100,000
// matches (search_after through the skipped ones).
func BenchmarkDeepSkip(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	loadDocs(b, s, 100_000, func(i int) string { return fmt.Sprintf(`{"n":%d,"s":"some text %d"}`, i%1000, i) })
	q := &metastore.Query{Kind: "T", Cell: "c", Skip: 90_000, Limit: 1000, Order: []metastore.Order{{Field: "n"}}}
	for b.Loop() {
		res, err := s.Query(ctx, q)
		if err != nil || len(res.Docs) != 1000 {
			b.Fatal(err, len(res.Docs))
		}
	}
}

func TestParseDSN(t *testing.T) {
	cfg, err := ParseDSN("http://a:9200, https://u:p@b:9201/?prefix=unit1&timeout=5s&wait=0s")
	if err != nil || len(cfg.URLs) != 2 || cfg.Prefix != "unit1" || cfg.Timeout != 5*time.Second || cfg.StartWait != 0 {
		t.Errorf("ParseDSN = %+v, %v", cfg, err)
	}
	if cfg, _ := ParseDSN("http://a:9200"); cfg.StartWait != time.Minute {
		t.Errorf("default wait %v", cfg.StartWait)
	}
	for _, bad := range []string{"", "ftp://a", "http://a?timeout=0s", "http://a?wait=x", "http://a?nope=1", "a:9200"} {
		if _, err := ParseDSN(bad); err == nil {
			t.Errorf("ParseDSN(%q) accepted", bad)
		}
	}
}

// TestOpenWaits: Open waits for a cluster that answers 503 while it
// starts, and gives up at once with StartWait 0.
func TestOpenWaits(t *testing.T) {
	target := testURL(t)
	var calls atomic.Int64
	up := time.Now().Add(1500 * time.Millisecond)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if time.Now().Before(up) {
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		u, _ := url.Parse(target)
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	defer srv.Close()
	prefix := fmt.Sprintf("test-wait-%d", time.Now().UnixNano()%1e9)
	if _, err := Open(context.Background(), Config{URLs: []string{srv.URL}, Prefix: prefix}); !perr.Is(err, perr.Unavailable) {
		t.Fatalf("Open without StartWait while starting: %v, want Unavailable", err)
	}
	s, err := Open(context.Background(), Config{URLs: []string{srv.URL}, Prefix: prefix, StartWait: 20 * time.Second})
	if err != nil {
		t.Fatalf("Open with StartWait: %v", err)
	}
	defer s.Close()
	defer s.DropIndices(context.Background())
	if calls.Load() < 3 {
		t.Errorf("%d requests: the cluster was not waited for", calls.Load())
	}
}

// BenchmarkOrderBy: the first 25 of 100,000 matches ordered by a body
// member, and (the baseline) by the key column.
func BenchmarkOrderBy(b *testing.B) {
	s := newTestStore(b)
	ctx := context.Background()
	loadDocs(b, s, 100_000, func(i int) string {
		return fmt.Sprintf(`{"n":%d,"s":"some text %d","t":true}`, (i*7919)%100_000, i)
	})
	for _, f := range []string{"n", metastore.FieldKey} {
		b.Run(f, func(b *testing.B) {
			q := &metastore.Query{Kind: "T", Cell: "c", Limit: 25, Order: []metastore.Order{{Field: f, Desc: true}}}
			for b.Loop() {
				if res, err := s.Query(ctx, q); err != nil || len(res.Docs) != 25 {
					b.Fatal(err)
				}
			}
		})
	}
}
