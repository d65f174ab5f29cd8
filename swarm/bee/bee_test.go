package bee

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
	"github.com/personium-go/personium/swarm/swarmtest"
)

// The Bee-mode tests need a Bee node (`bee dev`, which .ci/run starts):
// PERSONIUM_TEST_BEE_URL and PERSONIUM_TEST_BEE_BATCH (a usable postage
// batch). Without them they are skipped.
func beeNode(t *testing.T) (url, batch string) {
	url, batch = os.Getenv("PERSONIUM_TEST_BEE_URL"), os.Getenv("PERSONIUM_TEST_BEE_BATCH")
	if url == "" || batch == "" {
		t.Skip("no Bee node: set PERSONIUM_TEST_BEE_URL and PERSONIUM_TEST_BEE_BATCH (.ci/run starts bee dev)")
	}
	return url, batch
}

// TestConformance: the Bee store passes the swarm.Store suite against a
// real node. (The node is shared by the subtests: chunks one stored are
// there for the next, which the suite allows.)
func TestConformance(t *testing.T) {
	url, batch := beeNode(t)
	swarmtest.Run(t, func(t *testing.T) swarm.Store {
		s, err := New(url, batch, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestStamp: the preflight sees the batch usable, an unknown batch not.
func TestStamp(t *testing.T) {
	url, batch := beeNode(t)
	s, _ := New(url, batch, Options{})
	st, err := s.Stamp(context.Background())
	if err != nil || !st.Usable || st.Depth < 17 || st.Capacity() < 1<<17 {
		t.Fatalf("stamp %+v: %v", st, err)
	}
	other, _ := New(url, strings.Repeat("ab", 32), Options{})
	if _, err := other.Stamp(context.Background()); perr.CodeOf(err) != "PR503-SW-0002" {
		t.Errorf("unknown batch: %v", err)
	}
	addr := swarm.ChunkAddress(5, []byte("hello"))
	chunk := append([]byte{5, 0, 0, 0, 0, 0, 0, 0}, "hello"...)
	if err := other.Put(context.Background(), addr, chunk); perr.CodeOf(err) != "PR503-SW-0002" {
		t.Errorf("Put with an unknown batch: %v", err)
	}
}

// fakeBee answers as a misbehaving node would.
func fakeBee(t *testing.T, h http.HandlerFunc) *Store {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s, err := New(srv.URL, strings.Repeat("0a", 32), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMisbehavingNode: a wrong reference, a full batch, garbage and a
// node that is down are clear errors, never a stored file that cannot
// be read back.
func TestMisbehavingNode(t *testing.T) {
	ctx := context.Background()
	addr := swarm.ChunkAddress(5, []byte("hello"))
	chunk := append([]byte{5, 0, 0, 0, 0, 0, 0, 0}, "hello"...)
	tags := func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/tags" {
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"uid":7}`))
			return true
		}
		return false
	}
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		code string
	}{
		{"wrong reference", func(w http.ResponseWriter, r *http.Request) {
			if !tags(w, r) {
				w.WriteHeader(http.StatusCreated)
				w.Write([]byte(`{"reference":"` + strings.Repeat("00", 32) + `"}`))
			}
		}, "PR502-SW-0001"},
		{"batch full", func(w http.ResponseWriter, r *http.Request) {
			if !tags(w, r) {
				http.Error(w, `{"code":402,"message":"batch is overissued"}`, http.StatusPaymentRequired)
			}
		}, "PR507-SW-0001"},
		{"batch not usable", func(w http.ResponseWriter, r *http.Request) {
			if !tags(w, r) {
				http.Error(w, `{"code":422,"message":"batch not usable yet or does not exist"}`, http.StatusUnprocessableEntity)
			}
		}, "PR503-SW-0002"},
		{"garbage", func(w http.ResponseWriter, r *http.Request) {
			if !tags(w, r) {
				w.WriteHeader(http.StatusCreated)
				w.Write([]byte(`<html>`))
			}
		}, "PR502-SW-0002"},
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, "PR503-SW-0001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := fakeBee(t, tc.h).Put(ctx, addr, chunk); perr.CodeOf(err) != tc.code {
				t.Errorf("Put: %v, want %s", err, tc.code)
			}
		})
	}
	// Garbage on reads: Get passes it on as it is, swarm.Open refuses it.
	s := fakeBee(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/chunks/") {
			w.Write(append([]byte{5, 0, 0, 0, 0, 0, 0, 0}, "HELLO"...))
		}
	})
	if _, err := swarm.Open(ctx, s, swarm.Reference(addr[:])); err == nil {
		t.Error("swarm.Open accepted a chunk that does not hash to its address")
	}
	// Absent chunk: NotExist.
	s = fakeBee(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	if _, err := s.Get(ctx, addr); !perr.Is(err, perr.NotExist) {
		t.Errorf("absent chunk: %v", err)
	}
	// Down: unreachable.
	down := fakeBee(t, func(http.ResponseWriter, *http.Request) {})
	down.url = "http://127.0.0.1:1"
	if _, err := down.Get(ctx, addr); perr.CodeOf(err) != "PR503-SW-0001" {
		t.Errorf("node down: %v", err)
	}
	if _, err := New("ftp://x", hex.EncodeToString(make([]byte, 32)), Options{}); err == nil {
		t.Error("a non-HTTP node URL was accepted")
	}
	if _, err := New("http://x", "abc", Options{}); err == nil {
		t.Error("a malformed batch was accepted")
	}
}

// TestFallback: chunks the primary node cannot give (it is down, slow,
// answers garbage or does not have them) are read from the fallbacks in
// order, and Stats says who served; an absent chunk is NotExist only
// when every node said so.
func TestFallback(t *testing.T) {
	ctx := context.Background()
	addr := swarm.ChunkAddress(5, []byte("hello"))
	chunk := append([]byte{5, 0, 0, 0, 0, 0, 0, 0}, "hello"...)
	has := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunks/"+hex.EncodeToString(addr[:]) {
			w.Write(chunk)
			return
		}
		http.NotFound(w, r)
	}))
	defer has.Close()
	lacks := httptest.NewServer(http.HandlerFunc(http.NotFound))
	defer lacks.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	batch := strings.Repeat("0a", 32)
	for _, tc := range []struct {
		name    string
		primary string
		fb      []string
		served  []int64
	}{
		{"primary down", "http://127.0.0.1:1", []string{has.URL}, []int64{0, 1}},
		{"primary lacks it", lacks.URL, []string{lacks.URL, has.URL}, []int64{0, 0, 1}},
		{"primary slow", slow.URL, []string{has.URL}, []int64{0, 1}},
		{"primary has it", has.URL, []string{lacks.URL}, []int64{1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.primary, batch, Options{Fallbacks: tc.fb, ReadTimeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r, err := swarm.Open(ctx, s, swarm.Reference(addr[:]))
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 5)
			if _, err := io.ReadFull(r, b); err != nil || string(b) != "hello" {
				t.Fatalf("read %q: %v", b, err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("took %v", el)
			}
			for i, src := range s.Stats() {
				if src.Served != tc.served[i] {
					t.Errorf("source %d (%s) served %d, want %d", i, src.URL, src.Served, tc.served[i])
				}
			}
		})
	}
	other := swarm.ChunkAddress(3, []byte("abc"))
	s, _ := New(lacks.URL, batch, Options{Fallbacks: []string{has.URL}})
	if _, err := s.Get(ctx, other); !perr.Is(err, perr.NotExist) {
		t.Errorf("absent everywhere: %v", err)
	}
	s, _ = New(lacks.URL, batch, Options{Fallbacks: []string{"http://127.0.0.1:1"}})
	if _, err := s.Get(ctx, other); perr.Is(err, perr.NotExist) || err == nil {
		t.Errorf("absent on the primary, a fallback down: %v, want unavailable", err)
	}
}

// TestFallbackNode: a file stored on the node reads back, byte for byte,
// through a store whose primary node is down and whose fallback is the
// node.
func TestFallbackNode(t *testing.T) {
	url, batch := beeNode(t)
	ctx := context.Background()
	up, _ := New(url, batch, Options{})
	data := make([]byte, 3*swarm.ChunkSize+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	ref, err := swarm.Upload(ctx, up, strings.NewReader(string(data)), swarm.Options{Encrypt: true, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	down, _ := New("http://127.0.0.1:1", batch, Options{Fallbacks: []string{url}})
	r, err := swarm.Open(ctx, down, ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || string(got) != string(data) {
		t.Fatalf("read %d bytes: %v", len(got), err)
	}
	if st := down.Stats(); st[0].Served != 0 || st[1].Served == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestRetrievable: the stewardship answer, and a node error.
func TestRetrievable(t *testing.T) {
	ref := swarm.Reference(make([]byte, 32))
	s := fakeBee(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stewardship/"+ref.String() {
			w.Write([]byte(`{"isRetrievable":true}`))
			return
		}
		http.Error(w, "no", http.StatusInternalServerError)
	})
	if ok, err := s.Retrievable(context.Background(), ref); !ok || err != nil {
		t.Errorf("retrievable: %v %v", ok, err)
	}
	other := swarm.Reference(bytes32(1))
	if _, err := s.Retrievable(context.Background(), other); perr.CodeOf(err) != "PR503-SW-0001" {
		t.Errorf("node error: %v", err)
	}
}

func bytes32(b byte) []byte {
	out := make([]byte, 32)
	out[0] = b
	return out
}

// TestBytes: POST /bytes gives the reference we compute; GET /bytes with
// a Range reads a slice; and the node reads content this server split
// and encrypted itself (stored through /chunks) from its 64-byte
// reference — Bee can read our encrypted chunks.
func TestBytes(t *testing.T) {
	url, batch := beeNode(t)
	ctx := context.Background()
	s, _ := New(url, batch, Options{})
	data := make([]byte, 2*swarm.ChunkSize*128+12345) // three levels
	for i := range data {
		data[i] = byte(i % 251)
	}
	ref, err := s.UploadBytes(ctx, strings.NewReader(string(data)), false)
	if err != nil {
		t.Fatal(err)
	}
	body, err := s.Bytes(ctx, ref, 5000, 10000)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil || string(got) != string(data[5000:15000]) {
		t.Fatalf("range read: %d bytes, %v", len(got), err)
	}
	eref, err := s.UploadBytes(ctx, strings.NewReader("secret"), true)
	if err != nil || !eref.Encrypted() {
		t.Fatalf("encrypted upload: %v %v", eref, err)
	}
	ours, err := swarm.Upload(ctx, s, strings.NewReader(string(data)), swarm.Options{Encrypt: true, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	body, err = s.Bytes(ctx, ours, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(body)
	body.Close()
	if err != nil || string(got) != string(data) {
		t.Fatalf("Bee reading our encrypted content: %d bytes, %v", len(got), err)
	}
	if _, err := s.Bytes(ctx, swarm.Reference(bytes32(9)), 0, -1); !perr.Is(err, perr.NotExist) {
		t.Errorf("absent content: %v", err)
	}
}

// TestStampUsed: a batch's use is its fullest bucket against the bucket
// size, and a full batch fails the preflight.
func TestStampUsed(t *testing.T) {
	for _, tc := range []struct {
		st   Stamp
		used float64
	}{
		{Stamp{Depth: 17, BucketDepth: 0, Utilization: 65536}, 0.5},
		{Stamp{Depth: 20, BucketDepth: 16, Utilization: 16}, 1},
		{Stamp{Depth: 20, BucketDepth: 16, Utilization: 4}, 0.25},
	} {
		if got := tc.st.Used(); got != tc.used {
			t.Errorf("%+v: used %v, want %v", tc.st, got, tc.used)
		}
	}
	full := fakeBee(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"batchID":"x","usable":true,"depth":20,"bucketDepth":16,"utilization":16,"batchTTL":99999}`))
	})
	if _, err := full.Stamp(context.Background()); perr.CodeOf(err) != "PR507-SW-0001" {
		t.Errorf("full batch: %v", err)
	}
}
