package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/metastore"
)

// Benchmarks. Run with
//
//	go test -run '^$' -bench . -benchtime 3s ./internal/metastore/sqlite/
//
// Targets: ≥ 5,000 single-document creates per second; a filtered and
// ordered page of 25 over 100,000 documents well under 20 ms (p50).

func personBody(i int, name string) []byte {
	return fmt.Appendf(nil, `{"Name":%q,"City":"city%02d","Age":%d,"Email":"person%d@example.org",`+
		`"Active":%t,"Note":"Lorem ipsum dolor sit amet, consectetur adipiscing elit %d"}`,
		name, i%20, 18+i%70, i, i%3 != 0, i)
}

// BenchmarkCreate measures single-document Apply(Create), one writer.
func BenchmarkCreate(b *testing.B) {
	s := newStore(b)
	defer s.Close()
	if err := s.EnsureIndex(context.Background(), "Person", "Name", "City"); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("p%08d", i)
		if _, err := s.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{
			ID: id, Kind: "Person", Cell: "c", Parent: "set", Key: id, Body: personBody(i, id)}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// BenchmarkCreateParallel measures single-document creates from many
// goroutines (they queue for the one writer connection).
func BenchmarkCreateParallel(b *testing.B) {
	s := newStore(b)
	defer s.Close()
	ctx := context.Background()
	var n atomic.Int64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			id := fmt.Sprintf("p%08d", i)
			if _, err := s.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{
				ID: id, Kind: "Person", Cell: "c", Parent: "set", Key: id, Body: personBody(i, id)}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// load creates n Person documents in one cell and parent, with Name
// ("name000000"…, in random order) and City indexed.
func load(b *testing.B, n int) *Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := s.EnsureIndex(ctx, "Person", "Name", "City", metastore.FieldText); err != nil {
		b.Fatal(err)
	}
	perm := rand.New(rand.NewPCG(1, 2)).Perm(n)
	start := time.Now()
	const batch = 1000
	for i := 0; i < n; i += batch {
		var ops []metastore.Op
		for j := i; j < min(i+batch, n); j++ {
			id := fmt.Sprintf("p%08d", j)
			ops = append(ops, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{
				ID: id, Kind: "Person", Cell: "c", Parent: "set", Key: id,
				Body: personBody(j, fmt.Sprintf("name%06d", perm[j])), Published: int64(j), Updated: int64(j)}})
		}
		if _, err := s.Apply(ctx, ops...); err != nil {
			b.Fatal(err)
		}
	}
	for { // the full-text index brought up to date, as the indexer would
		if n, err := s.indexText(ctx); err != nil {
			b.Fatal(err)
		} else if n == 0 {
			break
		}
	}
	b.Logf("loaded %d documents in %v (batches of %d)", n, time.Since(start).Round(time.Millisecond), batch)
	return s
}

// BenchmarkQuery100k measures queries over 100,000 documents of one kind
// in one cell, reporting the median and 99th percentile latency.
func BenchmarkQuery100k(b *testing.B) {
	s := load(b, 100_000)
	defer s.Close()
	byName := []metastore.Order{{Field: "Name"}}
	for _, bc := range []struct {
		name  string
		q     metastore.Query
		wantN int
	}{
		{"eq+orderSameField+limit25", metastore.Query{Filter: metastore.Cmp{Field: "City", Op: metastore.Eq, Value: "city07"},
			Order: []metastore.Order{{Field: "City"}}, Limit: 25}, 25},
		{"prefix+orderSameField+limit25", metastore.Query{Filter: metastore.Prefix{Field: "Name", Value: "name01"},
			Order: byName, Limit: 25}, 25},
		{"prefix+orderDesc+limit25", metastore.Query{Filter: metastore.Prefix{Field: "Name", Value: "name01"},
			Order: []metastore.Order{{Field: "Name", Desc: true}}, Limit: 25}, 25},
		{"eq+count+limit25", metastore.Query{Filter: metastore.Cmp{Field: "City", Op: metastore.Eq, Value: "city07"},
			Order: []metastore.Order{{Field: "City"}}, Limit: 25, Count: true}, 25},
		{"eq+orderOtherField+limit25", metastore.Query{Filter: metastore.Cmp{Field: "City", Op: metastore.Eq, Value: "city07"},
			Order: byName, Limit: 25}, 25},
		{"orderOnly+skip1000+limit25", metastore.Query{Order: byName, Skip: 1000, Limit: 25}, 25},
		{"defaultOrder+limit25", metastore.Query{Limit: 25}, 25},
		{"count", metastore.Query{Count: true}, 0},
		{"countEq", metastore.Query{Filter: metastore.Cmp{Field: "City", Op: metastore.Eq, Value: "city07"}, Count: true}, 0},
		{"unindexedEq+limit25", metastore.Query{Filter: metastore.Cmp{Field: "Age", Op: metastore.Eq, Value: int64(30)}, Limit: 25}, 25},
		{"text+limit25", metastore.Query{Text: "person4242@", Limit: 25}, 1},
		{"textCommon+limit25", metastore.Query{Text: "lorem elit", Limit: 25}, 25},
		{"textNone", metastore.Query{Text: "ipsum 1234567", Limit: 25}, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q := bc.q
			q.Kind, q.Cell, q.Parent = "Person", "c", "set"
			ctx := context.Background()
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				res, err := s.Query(ctx, &q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Docs) != bc.wantN {
					b.Fatalf("%d documents, want %d", len(res.Docs), bc.wantN)
				}
				if q.Count && res.Count == 0 {
					b.Fatal("count 0")
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
