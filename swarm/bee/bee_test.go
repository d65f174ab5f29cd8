package bee

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

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
		s, err := New(url, batch, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestStamp: the preflight sees the batch usable, an unknown batch not.
func TestStamp(t *testing.T) {
	url, batch := beeNode(t)
	s, _ := New(url, batch, nil)
	st, err := s.Stamp(context.Background())
	if err != nil || !st.Usable || st.Depth < 17 || st.Capacity() < 1<<17 {
		t.Fatalf("stamp %+v: %v", st, err)
	}
	other, _ := New(url, strings.Repeat("ab", 32), nil)
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
	s, err := New(srv.URL, strings.Repeat("0a", 32), nil)
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
	if _, err := New("ftp://x", hex.EncodeToString(make([]byte, 32)), nil); err == nil {
		t.Error("a non-HTTP node URL was accepted")
	}
	if _, err := New("http://x", "abc", nil); err == nil {
		t.Error("a malformed batch was accepted")
	}
}
