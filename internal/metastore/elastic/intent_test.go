package elastic

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// TestCrashRecovery: a process that dies in the middle of a batch leaves
// an intent; recovery (any process's janitor, after intentAge) puts back
// every document the batch changed, whether all of its writes landed or
// only some, and leaves alone documents changed since.
func TestCrashRecovery(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, failpoint string
		wide            bool // a document Elasticsearch refuses: only some writes land
	}{
		{"all written", "after-docs", false},
		{"some written", "before-undo", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t)
			doc := func(id, key, body string) metastore.Doc {
				return metastore.Doc{ID: id, Kind: "T", Cell: "c", Key: key, Body: []byte(body)}
			}
			if _, err := s.Apply(ctx,
				metastore.Op{Type: metastore.Create, Doc: doc("a", "a", `{"v":"a1"}`)},
				metastore.Op{Type: metastore.Create, Doc: doc("b", "b", `{"v":"b1"}`)},
				metastore.Op{Type: metastore.Create, Doc: doc("keep", "keep", `{"v":"k1"}`)}); err != nil {
				t.Fatal(err)
			}
			ops := []metastore.Op{
				{Type: metastore.Update, Doc: doc("a", "a-renamed", `{"v":"a2"}`)},
				{Type: metastore.Delete, Doc: metastore.Doc{ID: "b"}},
				{Type: metastore.Create, Doc: doc("c", "c", `{"v":"c1"}`)},
				{Type: metastore.Update, Doc: doc("keep", "keep", `{"v":"k2"}`)},
			}
			if tc.wide {
				var b strings.Builder
				b.WriteString(`{"m0":0`)
				for i := 1; i < 21_000; i++ {
					b.WriteString(`,"m` + strings.Repeat("x", i%3) + strconv.Itoa(i) + `":1`)
				}
				b.WriteString("}")
				ops = append(ops, metastore.Op{Type: metastore.Create, Doc: doc("wide", "wide", b.String())})
			}
			s.failpoint = tc.failpoint
			if _, err := s.Apply(ctx, ops...); err == nil {
				t.Fatal("the batch succeeded past its failpoint")
			}
			s.failpoint = ""
			// Another process changes one of the batch's documents
			// before recovery: that change stays.
			if _, err := s.Apply(ctx, metastore.Op{Type: metastore.Update, Doc: doc("keep", "keep", `{"v":"k3"}`)}); err != nil {
				t.Fatal(err)
			}
			n, err := s.recoverIntents(ctx, 0)
			if err != nil || n != 1 {
				t.Fatalf("recoverIntents = %d, %v; want 1", n, err)
			}
			for id, want := range map[string]string{"a": `{"v":"a1"}`, "b": `{"v":"b1"}`, "keep": `{"v":"k3"}`} {
				d, err := s.Get(ctx, id)
				if err != nil || string(d.Body) != want {
					t.Errorf("%s after recovery: %v %v, want %s", id, d, err, want)
				}
			}
			for _, id := range []string{"c", "wide"} {
				if _, err := s.Get(ctx, id); !perr.Is(err, perr.NotExist) {
					t.Errorf("%s after recovery: %v, want NotExist", id, err)
				}
			}
			if d, err := s.GetKey(ctx, "T", "c", "", "a"); err != nil || d.ID != "a" {
				t.Errorf("GetKey a after recovery: %v %v", d, err)
			}
			res, err := s.Query(ctx, &metastore.Query{Kind: "T", Cell: "c", Limit: -1, Count: true})
			if err != nil || res.Count != 3 {
				t.Errorf("documents after recovery: %v %v, want 3", res, err)
			}
			if n, err := s.recoverIntents(ctx, 0); err != nil || n != 0 {
				t.Errorf("second recovery = %d, %v; want nothing left", n, err)
			}
		})
	}
}
