package swarm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// beeVectors are Bee's pkg/file/testing/vector.go: data byte i is
// i % 255, expected /bytes references as published there.
var beeVectors = []struct {
	n    int
	want string
}{
	{31, "ece86edb20669cc60d142789d464d57bdf5e33cb789d443f608cbd81cfa5697d"},
	{32, "0be77f0bb7abc9cd0abed640ee29849a3072ccfd1020019fe03658c38f087e02"},
	{33, "3463b46d4f9d5bfcbf9a23224d635e51896c1daef7d225b86679db17c5fd868e"},
	{63, "95510c2ff18276ed94be2160aed4e69c9116573b6f69faaeed1b426fea6a3db8"},
	{64, "490072cc55b8ad381335ff882ac51303cc069cbcb8d8d3f7aa152d9c617829fe"},
	{65, "541552bae05e9a63a6cb561f69edf36ffe073e441667dbf7a0e9a3864bb744ea"},
	{4096, "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
	{4096 + 31, "91699c83ed93a1f87e326a29ccd8cc775323f9e7260035a5f014c975c5f3cd28"},
	{4096 + 32, "73759673a52c1f1707cbb61337645f4fcbd209cdc53d7e2cedaaa9f44df61285"},
	{4096 + 63, "db1313a727ffc184ae52a70012fbbf7235f551b9f2d2da04bf476abe42a3cb42"},
	{4096 + 64, "ade7af36ac0c7297dc1c11fd7b46981b629c6077bce75300f85b02a6153f161b"},
	{4096 * 2, "29a5fb121ce96194ba8b7b823a1f9c6af87e1791f824940a53b5a7efe3f790d9"},
	{4096*2 + 32, "61416726988f77b874435bdd89a419edc3861111884fd60e8adf54e2f299efd6"},
	{4096 * 128, "3047d841077898c26bbe6be652a2ec590a5d9bd7cd45d290ea42511b48753c09"},
	{4096*128 + 31, "e5c76afa931e33ac94bce2e754b1bb6407d07f738f67856783d93934ca8fc576"},
	{4096*128 + 32, "485a526fc74c8a344c43a4545a5987d17af9ab401c0ef1ef63aefcc5c2c086df"},
	{4096*128 + 64, "624b2abb7aefc0978f891b2a56b665513480e5dc195b4a66cd8def074a6d2e94"},
	{4096 * 129, "b8e1804e37a064d28d161ab5f256cc482b1423d5cd0a6b30fde7b0f51ece9199"},
	{4096 * 130, "59de730bf6c67a941f3b2ffa2f920acfaa1713695ad5deea12b4a121e5f23fa1"},
	{4096 * 128 * 128, "522194562123473dcfd7a457b18ee7dee8b7db70ed3cfa2b73f348a992fdfd3b"},
	{4096*128*128 + 32, "ed0cc44c93b14fef2d91ab3a3674eeb6352a42ac2f0bbe524711824aae1e7bcc"},
}

// memStore is a map of chunks for tests.
type memStore struct {
	mu sync.Mutex
	m  map[[HashSize]byte][]byte
	n  int // puts
}

func newMemStore() *memStore { return &memStore{m: map[[HashSize]byte][]byte{}} }

func (s *memStore) put(addr [HashSize]byte, chunk []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[addr] = bytes.Clone(chunk)
	s.n++
	return nil
}

func (s *memStore) get(addr [HashSize]byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[addr]
	if !ok {
		return nil, errors.New("no such chunk")
	}
	return c, nil
}

func discard([HashSize]byte, []byte) error { return nil }

func TestSplitBeeVectors(t *testing.T) {
	for _, v := range beeVectors {
		if testing.Short() && v.n > 1<<20 {
			continue
		}
		for _, workers := range []int{1, 3} {
			ref, err := Split(bytes.NewReader(seq(v.n)), discard, Options{Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			if ref.String() != v.want {
				t.Errorf("%d bytes, %d workers: got %s want %s", v.n, workers, ref, v.want)
			}
		}
	}
}

func TestSplitSmall(t *testing.T) {
	for _, v := range []struct {
		data string
		want string
	}{
		{"", "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526"},
		{"hello world", "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f"},
	} {
		s := newMemStore()
		ref, err := Split(bytes.NewReader([]byte(v.data)), s.put, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if ref.String() != v.want || s.n != 1 {
			t.Errorf("%q: got %s (%d chunks) want %s", v.data, ref, s.n, v.want)
		}
	}
}

// TestSplitTrieShape checks sizes for which Bee publishes no reference
// (4097 B, 64·4096+1 B…) against the definition: the root of two leaves
// is the chunk of their two addresses, a lone trailing leaf is carried up.
func TestSplitTrieShape(t *testing.T) {
	data := seq(4097)
	a := ChunkAddress(4096, data[:4096])
	b := ChunkAddress(1, data[4096:])
	want := ChunkAddress(4097, append(a[:], b[:]...))
	ref, err := Split(bytes.NewReader(data), discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref, want[:]) {
		t.Errorf("4097: got %s want %x", ref, want)
	}

	// 128·4096+1: one full intermediate chunk plus a carried leaf.
	data = seq(128*4096 + 1)
	full, err := Split(bytes.NewReader(data[:128*4096]), discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	last := ChunkAddress(1, data[128*4096:])
	want = ChunkAddress(uint64(len(data)), append(bytes.Clone(full), last[:]...))
	s := newMemStore()
	ref, err = Split(bytes.NewReader(data), s.put, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref, want[:]) {
		t.Errorf("128·4096+1: got %s want %x", ref, want)
	}
	if s.n != 129+1+1 {
		t.Errorf("128·4096+1: %d chunks stored, want 131", s.n)
	}
}

// TestSplitPutOrder checks that every chunk is stored after its children
// and that stored chunks hash to their address.
func TestSplitPutOrder(t *testing.T) {
	data := seq(300 * 4096)
	seen := map[[HashSize]byte]bool{}
	put := func(addr [HashSize]byte, chunk []byte) error {
		if got := ChunkAddress(binary.LittleEndian.Uint64(chunk), chunk[SpanSize:]); got != addr {
			t.Fatalf("chunk stored under %x hashes to %x", addr, got)
		}
		if binary.LittleEndian.Uint64(chunk) > ChunkSize {
			for i := SpanSize; i < len(chunk); i += HashSize {
				if !seen[[HashSize]byte(chunk[i:i+HashSize])] {
					t.Fatalf("intermediate chunk stored before child %x", chunk[i:i+HashSize])
				}
			}
		}
		seen[addr] = true
		return nil
	}
	if _, err := Split(bytes.NewReader(data), put, Options{Workers: 2}); err != nil {
		t.Fatal(err)
	}
}

type errReader struct {
	r   io.Reader
	err error
}

func (e errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

func TestSplitErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, err := Split(errReader{bytes.NewReader(seq(50000)), boom}, discard, Options{}); !errors.Is(err, boom) {
		t.Errorf("reader error: got %v", err)
	}
	n := 0
	put := func([HashSize]byte, []byte) error {
		if n++; n == 5 {
			return boom
		}
		return nil
	}
	if _, err := Split(bytes.NewReader(seq(100000)), put, Options{}); !errors.Is(err, boom) {
		t.Errorf("put error: got %v", err)
	}
	if _, err := Split(bytes.NewReader(nil), discard, Options{Encrypt: true}); err == nil {
		t.Error("Encrypt without Rand accepted")
	}
	short := io.LimitReader(rand.NewChaCha8([32]byte{1}), 100)
	if _, err := Split(bytes.NewReader(seq(100000)), discard, Options{Encrypt: true, Rand: short}); err == nil {
		t.Error("short Rand accepted")
	}
}

// oneByteReader returns one byte per Read, to check that short reads
// do not change chunk boundaries.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func TestSplitShortReads(t *testing.T) {
	v := beeVectors[12]
	ref, err := Split(oneByteReader{bytes.NewReader(seq(v.n))}, discard, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ref.String() != v.want {
		t.Errorf("got %s want %s", ref, v.want)
	}
}

func BenchmarkSplit(b *testing.B) {
	data := make([]byte, 64<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, enc := range []bool{false, true} {
		name := "plain"
		if enc {
			name = "encrypted"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Split(bytes.NewReader(data), discard, Options{Encrypt: enc, Rand: rand.NewChaCha8([32]byte{3})}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestSplitConstantMemory: splitting 64 MiB allocates a bounded amount,
// independent of the input size.
func TestSplitConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB")
	}
	for _, enc := range []bool{false, true} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Split(io.LimitReader(zeroReader{}, 64<<20), discard, Options{Encrypt: enc, Rand: zeroReader{}})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 2<<20 {
			t.Errorf("encrypt=%v: Split of 64 MiB allocated %d bytes", enc, d)
		}
	}
}
