package elastic

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// freezer stands between the store and the cluster; while frozen it
// holds requests back and forwards them when thawed, as a cluster that
// stalls and then catches up does (a client timeout does not cancel a
// request the cluster has received).
type freezer struct {
	mu      sync.Mutex
	frozen  chan struct{} // closed on thaw; nil when not frozen
	target  *url.URL
	proxy   *httputil.ReverseProxy
	late    sync.WaitGroup // held-back requests still being delivered
	arrived int            // held-back requests the cluster answered
	lag     time.Duration  // how long after the thaw they arrive
}

func (f *freezer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	wait := f.frozen
	if wait != nil {
		f.late.Add(1)
	}
	f.mu.Unlock()
	if wait == nil {
		f.proxy.ServeHTTP(w, r)
		return
	}
	defer f.late.Done()
	body, _ := io.ReadAll(r.Body)
	<-wait
	time.Sleep(f.lag)
	// The client gave up long ago; the request reaches the cluster anyway.
	u := *f.target
	u.Path, u.RawQuery = r.URL.Path, r.URL.RawQuery
	req, _ := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		f.mu.Lock()
		f.arrived++
		f.mu.Unlock()
	}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	f.frozen = make(chan struct{})
	f.mu.Unlock()
}

func (f *freezer) thaw() {
	f.mu.Lock()
	close(f.frozen)
	f.frozen = nil
	f.mu.Unlock()
}

// TestStallAndRecover: while the cluster stalls, writes fail with
// PR503-SV-0006 within the timeout; when it catches up and writes the
// claims of the failed batch, the janitor frees them, so the same name
// can be created again within seconds (not after claimLease), and
// nothing of the failed batch is visible. The held-back requests arrive
// well after the janitor's first sweeps following the thaw, which must
// not give up on a claim just because it has not arrived yet.
func TestStallAndRecover(t *testing.T) {
	s := newTestStore(t) // makes the indices, and drops them at the end
	target, _ := url.Parse(testURL(t))
	f := &freezer{target: target, proxy: httputil.NewSingleHostReverseProxy(target), lag: 3 * time.Second}
	srv := httptest.NewServer(f)
	defer srv.Close()
	prefix := s.docs[:len(s.docs)-len("-docs")]
	ps, err := Open(context.Background(), Config{URLs: []string{srv.URL}, Prefix: prefix, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	ctx := context.Background()
	doc := func(id string) metastore.Op {
		return metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: id, Kind: "Cell", Key: "alice", Body: []byte(`{}`)}}
	}

	f.freeze()
	start := time.Now()
	_, err = ps.Apply(ctx, doc("first"))
	if !perr.Is(err, perr.Unavailable) || perr.CodeOf(err) != "PR503-SV-0006" {
		t.Fatalf("Apply while stalled: %v, want PR503-SV-0006", err)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Apply while stalled took %v", d)
	}
	if _, err := ps.Get(ctx, "x"); !perr.Is(err, perr.Unavailable) {
		t.Errorf("Get while stalled: %v, want Unavailable", err)
	}
	f.thaw()
	f.late.Wait()
	if f.arrived == 0 {
		t.Fatal("no held-back request reached the cluster")
	}
	// The stalled batch's claims reached the cluster: the name is taken
	// by a claim without a document, until the janitor frees it.
	if _, err := ps.Apply(ctx, doc("second")); !perr.Is(err, perr.Exist) {
		t.Fatalf("create right after the stall: %v, want Exist (the stalled claim)", err)
	}
	deadline := time.Now().Add(20 * time.Second) // claimLease is 2 minutes
	for {
		_, err = ps.Apply(ctx, doc("second"))
		if err == nil {
			break
		}
		if !perr.Is(err, perr.Exist) || time.Now().After(deadline) {
			t.Fatalf("create after the stall: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := ps.Get(ctx, "first"); !perr.Is(err, perr.NotExist) {
		t.Errorf("document of the failed batch: %v, want NotExist", err)
	}
	if d, err := s.GetKey(ctx, "Cell", "", "", "alice"); err != nil || d.ID != "second" {
		t.Errorf("GetKey through the other store: %+v, %v; want second", d, err)
	}
	// The ID of the failed batch is free too.
	if _, err := ps.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: "first", Kind: "Cell",
		Key: "bob", Body: []byte(`{}`)}}); err != nil {
		t.Errorf("re-using the failed batch's ID: %v", err)
	}
}
