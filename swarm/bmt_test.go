package swarm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// refBMT is a direct transcription of the definition: zero-pad to 4096
// bytes, hash pairs level by level, then keccak(span ‖ root).
func refBMT(span uint64, payload []byte) [32]byte {
	level := make([]byte, ChunkSize)
	copy(level, payload)
	k := newKeccak()
	for len(level) > HashSize {
		next := make([]byte, len(level)/2)
		for i := 0; i < len(level); i += 2 * HashSize {
			k.Reset()
			k.Write(level[i : i+2*HashSize])
			k.Read(next[i/2 : i/2+HashSize])
		}
		level = next
	}
	var sp [8]byte
	binary.LittleEndian.PutUint64(sp[:], span)
	var out [32]byte
	k.Reset()
	k.Write(sp[:])
	k.Write(level)
	k.Read(out[:])
	return out
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestChunkAddressVectors(t *testing.T) {
	for _, v := range []struct {
		name    string
		span    uint64
		payload []byte
		want    string
	}{
		// swarm.md §2; Bee's POST /chunks of span 11 + "hello world".
		{"hello world", 11, []byte("hello world"), "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f"},
		// Bee pkg/cac TestNewCAC.
		{"greaterthanspan", 15, []byte("greaterthanspan"), "27913f1bdb6e8e52cbd5a5fd4ab577c857287edf6969b41efe926b51de0f4f23"},
		// Bee pkg/cac TestNewWithDataSpan: the first 8 bytes are the span.
		{"data span", binary.LittleEndian.Uint64([]byte("greatert")), []byte("hanspan"), "95022e6af5c6d6a564ee55a67f8455a3e18c511b5697c932d9e44f07f2fb8c53"},
		// Bee pkg/file/testing/vector.go: single-chunk files are one leaf.
		{"empty", 0, nil, "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526"},
		{"seq31", 31, seq(31), "ece86edb20669cc60d142789d464d57bdf5e33cb789d443f608cbd81cfa5697d"},
		{"seq4096", 4096, seq(4096), "c10090961e7682a10890c334d759a28426647141213abda93b096b892824d2ef"},
	} {
		got := ChunkAddress(v.span, v.payload)
		if hex.EncodeToString(got[:]) != v.want {
			t.Errorf("%s: got %x want %s", v.name, got, v.want)
		}
	}
}

func TestHasherMatchesDefinition(t *testing.T) {
	h := NewHasher()
	r := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 31, 32, 33, 63, 64, 65, 96, 127, 128, 129, 2047, 2048, 2049, 4064, 4095, 4096}
	for range 40 {
		lengths = append(lengths, r.IntN(ChunkSize+1))
	}
	for _, n := range lengths {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		span := r.Uint64()
		// reuse the hasher after a longer payload: stale buffer bytes
		// must not leak into a shorter one
		h.Sum(0, bytes.Repeat([]byte{0xff}, ChunkSize))
		if got, want := h.Sum(span, p), refBMT(span, p); got != want {
			t.Fatalf("len %d: got %x want %x", n, got, want)
		}
	}
}

func TestHasherNoAlloc(t *testing.T) {
	h := NewHasher()
	p := seq(ChunkSize)
	if n := testing.AllocsPerRun(10, func() { h.Sum(4096, p) }); n != 0 {
		t.Errorf("Sum allocates %v times", n)
	}
}

// seq is Bee's test data: byte i is i % 255.
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % 255)
	}
	return b
}

func BenchmarkChunkAddress(b *testing.B) {
	h := NewHasher()
	p := seq(ChunkSize)
	b.SetBytes(ChunkSize)
	for b.Loop() {
		h.Sum(ChunkSize, p)
	}
}
