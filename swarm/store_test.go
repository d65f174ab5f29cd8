package swarm_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/personium-go/personium/swarm"
	"github.com/personium-go/personium/swarm/swarmtest"
)

// tamperStore flips a byte of every leaf chunk it returns and says
// whether it is self-verifying.
type tamperStore struct {
	swarmtest.MemStore
	selfVerifying bool
}

func (s *tamperStore) Get(ctx context.Context, addr [swarm.HashSize]byte) ([]byte, error) {
	c, err := s.MemStore.Get(ctx, addr)
	if err == nil && len(c) > swarm.SpanSize {
		c[len(c)-1] ^= 1
	}
	return c, err
}

func (s *tamperStore) SelfVerifying() bool { return s.selfVerifying }

func TestOpenVerifiesUnlessSelfVerifying(t *testing.T) {
	ctx := context.Background()
	data := []byte("hello world")
	for _, sv := range []bool{false, true} {
		st := &tamperStore{selfVerifying: sv}
		ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := swarm.Open(ctx, st, ref)
		if !sv {
			if !errors.Is(err, swarm.ErrCorrupt) {
				t.Errorf("tampered chunk from a store that does not verify: %v, want ErrCorrupt", err)
			}
			continue
		}
		// a self-verifying store is trusted: its Get is its word
		if err != nil {
			t.Fatalf("self-verifying store: %v", err)
		}
		if got, _ := io.ReadAll(r); bytes.Equal(got, data) {
			t.Error("self-verifying store: chunks were re-hashed")
		}
	}
}

// failStore fails every Put after the first few and counts Puts running.
type failStore struct {
	swarmtest.MemStore
	ok, running, maxRunning atomic.Int32
}

var errPut = errors.New("disk on fire")

func (s *failStore) Put(ctx context.Context, addr [swarm.HashSize]byte, chunk []byte) error {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		m := s.maxRunning.Load()
		if n <= m || s.maxRunning.CompareAndSwap(m, n) {
			break
		}
	}
	if s.ok.Add(-1) < 0 {
		return errPut
	}
	return s.MemStore.Put(ctx, addr, chunk)
}

func TestUploadPutError(t *testing.T) {
	st := &failStore{}
	st.ok.Store(10)
	_, err := swarm.Upload(context.Background(), st, bytes.NewReader(make([]byte, 300*swarm.ChunkSize)), swarm.Options{})
	if !errors.Is(err, errPut) {
		t.Fatalf("Upload: %v, want the Put error", err)
	}
	if n := st.running.Load(); n != 0 {
		t.Errorf("%d Puts still running after Upload returned", n)
	}
	if st.maxRunning.Load() < 1 {
		t.Error("no Put ran")
	}
}

type errReader struct{ n int }

func (r *errReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.ErrClosedPipe
	}
	n := min(len(p), r.n)
	r.n -= n
	return n, nil
}

func TestUploadReadError(t *testing.T) {
	st := &swarmtest.MemStore{}
	if _, err := swarm.Upload(context.Background(), st, &errReader{n: 50000}, swarm.Options{}); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Upload: %v, want the read error", err)
	}
}
