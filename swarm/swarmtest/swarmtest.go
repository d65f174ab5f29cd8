// Package swarmtest is the conformance suite of swarm.Store: every chunk
// store backend runs Run in its tests. It also provides MemStore, a
// chunk store in memory for tests of the layers above.
package swarmtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// Run checks that the stores open returns behave as swarm.Store
// requires. open is called once per subtest and must return an empty
// store; it registers any cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) swarm.Store) {
	t.Run("PutGet", func(t *testing.T) { testPutGet(t, open(t)) })
	t.Run("GetAbsent", func(t *testing.T) { testGetAbsent(t, open(t)) })
	t.Run("PutIdempotent", func(t *testing.T) { testPutIdempotent(t, open(t)) })
	t.Run("NoAliasing", func(t *testing.T) { testNoAliasing(t, open(t)) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("Vectors", func(t *testing.T) { testVectors(t, open(t)) })
	t.Run("UploadOpen", func(t *testing.T) { testUploadOpen(t, open) })
	t.Run("UploadStoresEveryChunk", func(t *testing.T) { testUploadStoresEveryChunk(t, open(t)) })
}

// chunkOf returns a chunk with the given span and payload, and its address.
func chunkOf(span uint64, payload []byte) ([swarm.HashSize]byte, []byte) {
	c := make([]byte, swarm.SpanSize+len(payload))
	binary.LittleEndian.PutUint64(c, span)
	copy(c[swarm.SpanSize:], payload)
	return swarm.ChunkAddress(span, payload), c
}

// randomChunk returns a leaf chunk of n payload bytes drawn from rng.
func randomChunk(rng *rand.Rand, n int) ([swarm.HashSize]byte, []byte) {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return chunkOf(uint64(n), p)
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func testPutGet(t *testing.T, st swarm.Store) {
	ctx := context.Background()
	rng := newRand(1)
	for _, n := range []int{0, 1, 31, 32, 33, 4095, 4096} {
		addr, c := randomChunk(rng, n)
		if err := st.Put(ctx, addr, c); err != nil {
			t.Fatalf("Put %d-byte chunk: %v", n, err)
		}
		got, err := st.Get(ctx, addr)
		if err != nil {
			t.Fatalf("Get %d-byte chunk: %v", n, err)
		}
		if !bytes.Equal(got, c) {
			t.Errorf("Get %d-byte chunk: got %d bytes, different from those Put", n, len(got))
		}
	}
	// an intermediate chunk: span larger than the payload
	addr, c := chunkOf(3*swarm.ChunkSize, bytes.Repeat([]byte{7}, 3*swarm.HashSize))
	if err := st.Put(ctx, addr, c); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get(ctx, addr); err != nil || !bytes.Equal(got, c) {
		t.Errorf("Get intermediate chunk: %v", err)
	}
}

func testGetAbsent(t *testing.T, st swarm.Store) {
	ctx := context.Background()
	addr, _ := chunkOf(5, []byte("nope!"))
	if _, err := st.Get(ctx, addr); !perr.Is(err, perr.NotExist) {
		t.Errorf("Get of an absent chunk: %v, want a perr NotExist error", err)
	}
	if _, err := swarm.Open(ctx, st, swarm.Reference(addr[:])); !perr.Is(err, perr.NotExist) {
		t.Errorf("swarm.Open of an absent reference: %v, want a perr NotExist error", err)
	}
}

func testPutIdempotent(t *testing.T, st swarm.Store) {
	ctx := context.Background()
	addr, c := randomChunk(newRand(2), 1000)
	for i := range 3 {
		if err := st.Put(ctx, addr, c); err != nil {
			t.Fatalf("Put #%d: %v", i+1, err)
		}
	}
	if got, err := st.Get(ctx, addr); err != nil || !bytes.Equal(got, c) {
		t.Errorf("Get after three Puts: %v", err)
	}
}

// testNoAliasing checks that the store keeps neither the slice given to
// Put nor the one Get returned.
func testNoAliasing(t *testing.T, st swarm.Store) {
	ctx := context.Background()
	addr, c := randomChunk(newRand(3), 100)
	orig := bytes.Clone(c)
	if err := st.Put(ctx, addr, c); err != nil {
		t.Fatal(err)
	}
	clear(c)
	got, err := st.Get(ctx, addr)
	if err != nil || !bytes.Equal(got, orig) {
		t.Fatalf("Get after the Put slice was overwritten: %v", err)
	}
	clear(got)
	if got, err := st.Get(ctx, addr); err != nil || !bytes.Equal(got, orig) {
		t.Errorf("Get after the previous Get's slice was overwritten: %v", err)
	}
}

func testCancelled(t *testing.T, st swarm.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	addr, c := randomChunk(newRand(4), 10)
	if err := st.Put(ctx, addr, c); err == nil {
		t.Error("Put with a cancelled context succeeded")
	}
	if _, err := swarm.Upload(ctx, st, bytes.NewReader(make([]byte, 3*swarm.ChunkSize)), swarm.Options{}); err == nil {
		t.Error("Upload with a cancelled context succeeded")
	}
	if err := st.Put(context.Background(), addr, c); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, addr); err == nil {
		t.Error("Get with a cancelled context succeeded")
	}
}

func testConcurrent(t *testing.T, st swarm.Store) {
	ctx := context.Background()
	const goroutines, perG = 8, 40
	// goroutine g puts chunks g*perG/2 … g*perG/2+perG-1: neighbours
	// share half their chunks
	n := (goroutines+1)*perG/2 + perG
	rng := newRand(5)
	addrs := make([][swarm.HashSize]byte, n)
	chunks := make([][]byte, n)
	for i := range n {
		addrs[i], chunks[i] = randomChunk(rng, 1+rng.IntN(swarm.ChunkSize))
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g * perG / 2; i < g*perG/2+perG; i++ {
				if err := st.Put(ctx, addrs[i], chunks[i]); err != nil {
					errs <- err
					return
				}
				// read back one chunk this or another goroutine put
				j := g*perG/2 + (i*7)%(i-g*perG/2+1)
				got, err := st.Get(ctx, addrs[j])
				if err != nil {
					errs <- fmt.Errorf("Get: %w", err)
					return
				}
				if !bytes.Equal(got, chunks[j]) {
					errs <- errors.New("Get returned other bytes")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range (goroutines-1)*perG/2 + perG {
		if got, err := st.Get(ctx, addrs[i]); err != nil || !bytes.Equal(got, chunks[i]) {
			t.Errorf("chunk %d after the concurrent Puts: %v", i, err)
		}
	}
}

// vectors are /bytes references Bee publishes (pkg/file/testing/vector.go
// and the "hello world" of its documentation); data byte i of the
// numbered vectors is i % 255.
var vectors = []struct {
	name string
	data func() []byte
	ref  string
}{
	{"empty", func() []byte { return nil }, "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526"},
	{"hello world", func() []byte { return []byte("hello world") }, "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f"},
	{"seq4096", func() []byte { return seq(4096) }, "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
	{"seq8192", func() []byte { return seq(8192) }, "29a5fb121ce96194ba8b7b823a1f9c6af87e1791f824940a53b5a7efe3f790d9"},
	{"seq524288", func() []byte { return seq(4096 * 128) }, "3047d841077898c26bbe6be652a2ec590a5d9bd7cd45d290ea42511b48753c09"},
	{"seq532480", func() []byte { return seq(4096 * 130) }, "59de730bf6c67a941f3b2ffa2f920acfaa1713695ad5deea12b4a121e5f23fa1"},
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 255)
	}
	return b
}

func testVectors(t *testing.T, st swarm.Store) {
	ctx := context.Background()
	for _, v := range vectors {
		data := v.data()
		ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{})
		if err != nil {
			t.Fatalf("%s: Upload: %v", v.name, err)
		}
		if ref.String() != v.ref {
			t.Errorf("%s: reference %s, want %s", v.name, ref, v.ref)
		}
		r, err := swarm.Open(ctx, st, ref)
		if err != nil {
			t.Fatalf("%s: Open: %v", v.name, err)
		}
		if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: read back %d bytes (%v), want the %d uploaded", v.name, len(got), err, len(data))
		}
	}
}

// uploadSizes cover the edges of Split's trie: empty, one partial leaf,
// one full leaf, two leaves, a full first level, one more, and several
// levels deep.
var uploadSizes = []int{0, 1, 4095, 4096, 4097, 128 * 4096, 128*4096 + 1, 5 << 20}

func testUploadOpen(t *testing.T, open func(t *testing.T) swarm.Store) {
	for _, enc := range []bool{false, true} {
		t.Run(fmt.Sprintf("enc=%v", enc), func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			rng := newRand(6)
			for _, n := range uploadSizes {
				if testing.Short() && n > 1<<20 {
					continue
				}
				data := make([]byte, n)
				for i := range data {
					data[i] = byte(rng.Uint32())
				}
				opts := swarm.Options{Encrypt: enc, Rand: rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)})}
				ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), opts)
				if err != nil {
					t.Fatalf("%d bytes: Upload: %v", n, err)
				}
				if ref.Encrypted() != enc {
					t.Fatalf("%d bytes: reference of %d bytes", n, len(ref))
				}
				checkContent(t, ctx, st, ref, data, rng)
			}
		})
	}
}

// checkContent reads ref back whole, then at random offsets with ReadAt
// and with Seek and Read, comparing with data.
func checkContent(t *testing.T, ctx context.Context, st swarm.Store, ref swarm.Reference, data []byte, rng *rand.Rand) {
	t.Helper()
	n := len(data)
	r, err := swarm.Open(ctx, st, ref)
	if err != nil {
		t.Fatalf("%d bytes: Open: %v", n, err)
	}
	if r.Size() != int64(n) {
		t.Fatalf("%d bytes: Size %d", n, r.Size())
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%d bytes: ReadAll gave %d bytes (%v), not those uploaded", n, len(got), err)
	}
	for range 24 {
		off := 0
		if n > 0 {
			off = rng.IntN(n + 1)
		}
		want := min(rng.IntN(3*swarm.ChunkSize), n+10)
		buf := make([]byte, want)
		m, err := r.ReadAt(buf, int64(off))
		end := min(off+want, n)
		switch {
		case m != end-off:
			t.Fatalf("%d bytes: ReadAt(%d bytes, %d) read %d (%v)", n, want, off, m, err)
		case !bytes.Equal(buf[:m], data[off:end]):
			t.Fatalf("%d bytes: ReadAt(%d bytes, %d): wrong bytes", n, want, off)
		case m < want && err != io.EOF:
			t.Fatalf("%d bytes: short ReadAt(%d bytes, %d) gave %v, want io.EOF", n, want, off, err)
		case m == want && err != nil && err != io.EOF:
			t.Fatalf("%d bytes: ReadAt(%d bytes, %d): %v", n, want, off, err)
		}

		back := rng.IntN(n + 1)
		pos, err := r.Seek(int64(-back), io.SeekEnd)
		if err != nil || pos != int64(n-back) {
			t.Fatalf("%d bytes: Seek(-%d, end) = %d, %v", n, back, pos, err)
		}
		rest, err := io.ReadAll(io.LimitReader(r, int64(want)))
		if err != nil || !bytes.Equal(rest, data[n-back:min(n, n-back+want)]) {
			t.Fatalf("%d bytes: Read after Seek(-%d, end): %d bytes, %v", n, back, len(rest), err)
		}
	}
	if m, err := r.ReadAt(make([]byte, 1), int64(n)); m != 0 || err != io.EOF {
		t.Errorf("%d bytes: ReadAt at the end: %d, %v; want 0, io.EOF", n, m, err)
	}
}

// recorder remembers the addresses Put through it.
type recorder struct {
	swarm.Store
	mu    sync.Mutex
	addrs map[[swarm.HashSize]byte]bool
}

func (r *recorder) Put(ctx context.Context, addr [swarm.HashSize]byte, chunk []byte) error {
	r.mu.Lock()
	r.addrs[addr] = true
	r.mu.Unlock()
	return r.Store.Put(ctx, addr, chunk)
}

// testUploadStoresEveryChunk checks that every chunk Upload stored comes
// back with bytes that hash to its address, and that Walk finds exactly
// those chunks.
func testUploadStoresEveryChunk(t *testing.T, st swarm.Store) {
	ctx := context.Background()
	for _, enc := range []bool{false, true} {
		rec := &recorder{Store: st, addrs: map[[swarm.HashSize]byte]bool{}}
		data := make([]byte, 200*swarm.ChunkSize+17)
		for i := range data {
			data[i] = byte(i * 7 / 5)
		}
		opts := swarm.Options{Encrypt: enc, Rand: rand.NewChaCha8([32]byte{9})}
		ref, err := swarm.Upload(ctx, rec, bytes.NewReader(data), opts)
		if err != nil {
			t.Fatal(err)
		}
		for addr := range rec.addrs {
			c, err := st.Get(ctx, addr)
			if err != nil {
				t.Fatalf("enc=%v: chunk %x: %v", enc, addr, err)
			}
			if err := swarm.VerifyBMT(addr, c); err != nil {
				t.Fatalf("enc=%v: %v", enc, err)
			}
		}
		walked := map[[swarm.HashSize]byte]bool{}
		get := func(addr [swarm.HashSize]byte) ([]byte, error) { return st.Get(ctx, addr) }
		if err := swarm.Walk(ref, get, nil, func(a [swarm.HashSize]byte) error { walked[a] = true; return nil }); err != nil {
			t.Fatal(err)
		}
		for a := range walked {
			if !rec.addrs[a] {
				t.Errorf("enc=%v: Walk found %x, never Put", enc, a)
			}
		}
		if len(walked) != len(rec.addrs) {
			t.Errorf("enc=%v: %d chunks Put, %d walked", enc, len(rec.addrs), len(walked))
		}
	}
}
