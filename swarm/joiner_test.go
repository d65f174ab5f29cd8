package swarm

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/personium-go/personium/internal/perr"
)

func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

func splitTo(t testing.TB, data []byte, enc bool) (*memStore, Reference) {
	t.Helper()
	s := newMemStore()
	ref, err := Split(bytes.NewReader(data), s.put, Options{Encrypt: enc, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	want := HashSize
	if enc {
		want = EncRefSize
	}
	if len(ref) != want {
		t.Fatalf("reference of %d bytes", len(ref))
	}
	return s, ref
}

func modes() []struct {
	name string
	enc  bool
} {
	return []struct {
		name string
		enc  bool
	}{{"plain", false}, {"encrypted", true}}
}

func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 31, 4095, 4096, 4097, 8192, 64 * 4096, 64*4096 + 1, 65 * 4096,
		128 * 4096, 128*4096 + 1, 129 * 4096, 64*64*4096 + 1}
	r := mrand.New(mrand.NewPCG(7, 7))
	for range 6 {
		sizes = append(sizes, r.IntN(4<<20))
	}
	for _, m := range modes() {
		for i, n := range sizes {
			data := randBytes(uint64(i), n)
			s, ref := splitTo(t, data, m.enc)
			rd, err := NewReader(ref, s.get)
			if err != nil {
				t.Fatalf("%s %d: %v", m.name, n, err)
			}
			if rd.Size() != int64(n) {
				t.Fatalf("%s %d: Size %d", m.name, n, rd.Size())
			}
			got, err := io.ReadAll(rd)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s %d: ReadAll: %v, equal %v", m.name, n, err, bytes.Equal(got, data))
			}
			if n <= 3*4096 { // iotest reads byte by byte
				rd, _ = NewReader(ref, s.get)
				if err := iotest.TestReader(rd, data); err != nil {
					t.Fatalf("%s %d: %v", m.name, n, err)
				}
			}
		}
	}
}

// TestEncryptedDeterministicRand checks that Rand is the only source of
// randomness, and that different keys give different references.
func TestEncryptedDeterministicRand(t *testing.T) {
	data := seq(300000)
	split := func(seed byte) Reference {
		ref, err := Split(bytes.NewReader(data), discard, Options{Encrypt: true, Rand: mrand.NewChaCha8([32]byte{seed}), Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	a, b, c := split(1), split(1), split(2)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("same seed %s / %s, other seed %s", a, b, c)
	}
}

func TestReadAtBoundaries(t *testing.T) {
	for _, m := range modes() {
		n := 129*4096 + 100
		data := randBytes(99, n)
		s, ref := splitTo(t, data, m.enc)
		rd, err := NewReader(ref, s.get)
		if err != nil {
			t.Fatal(err)
		}
		offs := []int{0, 1, 4095, 4096, 4097, 8191, 8192, 64*4096 - 1, 64 * 4096, 128*4096 - 1, 128 * 4096, 128*4096 + 1, n - 1}
		lens := []int{0, 1, 2, 4096, 4097, 9000, 64 * 4096, 300000}
		for _, off := range offs {
			for _, l := range lens {
				p := make([]byte, l)
				got, err := rd.ReadAt(p, int64(off))
				want := min(l, n-off)
				if got != want || !bytes.Equal(p[:got], data[off:off+want]) {
					t.Fatalf("%s ReadAt(%d, %d) = %d, %v", m.name, l, off, got, err)
				}
				if (want < l) != (err == io.EOF) || (err != nil && err != io.EOF) {
					t.Fatalf("%s ReadAt(%d, %d): err %v", m.name, l, off, err)
				}
				if _, err := rd.Seek(int64(off), io.SeekStart); err != nil {
					t.Fatal(err)
				}
				q := make([]byte, l)
				k, err := io.ReadFull(rd, q)
				if k != want || !bytes.Equal(q[:k], data[off:off+want]) {
					t.Fatalf("%s Seek(%d)+Read(%d) = %d, %v", m.name, off, l, k, err)
				}
			}
		}
		if k, err := rd.ReadAt(make([]byte, 1), int64(n)); k != 0 || err != io.EOF {
			t.Errorf("ReadAt at end: %d %v", k, err)
		}
		if _, err := rd.ReadAt(make([]byte, 1), -1); err == nil {
			t.Error("negative ReadAt accepted")
		}
		if p, err := rd.Seek(-10, io.SeekEnd); err != nil || p != int64(n-10) {
			t.Errorf("Seek end: %d %v", p, err)
		}
		if _, err := rd.Seek(-1, io.SeekStart); err == nil {
			t.Error("negative Seek accepted")
		}
	}
}

func TestCorruptChunk(t *testing.T) {
	for _, m := range modes() {
		data := randBytes(5, 200*4096+7)
		s, ref := splitTo(t, data, m.enc)
		// flip one byte of every chunk in turn: reading must fail loudly
		// at the chunk, never return wrong bytes
		tried := 0
		for addr, c := range s.m {
			if tried++; tried > 20 {
				break
			}
			bad := bytes.Clone(c)
			bad[len(bad)-1] ^= 1
			get := func(a [HashSize]byte) ([]byte, error) {
				if a == addr {
					return bad, nil
				}
				return s.get(a)
			}
			rd, err := NewReader(ref, get)
			if err == nil {
				_, err = io.ReadAll(rd)
			}
			if !errors.Is(err, ErrCorrupt) || !perr.Is(err, perr.Internal) {
				t.Fatalf("%s: corrupt chunk: %v", m.name, err)
			}
		}
		// a missing chunk reports the store's error
		missing := errors.New("gone")
		rd, err := NewReader(ref, func(a [HashSize]byte) ([]byte, error) {
			if a != ref.Address() {
				return nil, missing
			}
			return s.get(a)
		})
		if err == nil {
			_, err = io.ReadAll(rd)
		}
		if !errors.Is(err, missing) {
			t.Errorf("%s: missing chunk: %v", m.name, err)
		}
	}
}

// TestTrustChunksStillChecksShape: with verification off, a chunk whose
// span disagrees with its parent is still refused.
func TestTrustChunksStillChecksShape(t *testing.T) {
	data := seq(3 * 4096)
	s, ref := splitTo(t, data, false)
	first := ChunkAddress(4096, data[:4096])
	get := func(a [HashSize]byte) ([]byte, error) {
		c, err := s.get(a)
		if a == first {
			c = bytes.Clone(c)
			binary.LittleEndian.PutUint64(c, 100)
		}
		return c, err
	}
	rd, err := NewVerifiedReader(ref, get, TrustChunks)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rd); !errors.Is(err, ErrCorrupt) {
		t.Errorf("got %v", err)
	}
}

func TestBadReference(t *testing.T) {
	if _, err := NewReader(Reference{1, 2, 3}, newMemStore().get); err == nil {
		t.Error("3-byte reference accepted")
	}
	if _, err := ParseReference("zz"); !perr.Is(err, perr.Invalid) {
		t.Errorf("ParseReference: %v", err)
	}
	r, err := ParseReference(beeVectors[0].want)
	if err != nil || r.String() != beeVectors[0].want || r.Encrypted() {
		t.Errorf("ParseReference: %v %v", r, err)
	}
}

// TestKeystreamVector checks the keystream against Bee's
// pkg/encryption TestEncryptDataLengthEqualsPadding: key 8abf…6e49, 4096
// zero bytes, counter 0. Segments 0, 1 and 127 are compared.
func TestKeystreamVector(t *testing.T) {
	key := [KeySize]byte(mustHex(t, "8abf1502f557f15026716030fb6384792583daf39608a3cd02ff2f47e9bc6e49"))
	out := make([]byte, ChunkSize)
	NewHasher().xorSegments(out, make([]byte, ChunkSize), &key)
	want0 := mustHex(t, "352187af3a843decc63ceca6cb01ea39dbcf77caf0a8f705f5c30d557044ceec9392b94a79376f1e5c10cd0c0f2a98e5353bf22b3ea4fdac6677ee553dec192e")
	want127 := mustHex(t, "719f67da7bcc2fce073c01e87c62ea3cdbcd589cfc41281f2f4c757c742d6d1e")
	if !bytes.Equal(out[:64], want0) || !bytes.Equal(out[ChunkSize-32:], want127) {
		t.Errorf("keystream: %x … %x", out[:64], out[ChunkSize-32:])
	}
}

func TestEncryptDecryptChunk(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 33, 4095, 4096} {
		payload := randBytes(uint64(n), n)
		key := [KeySize]byte(randBytes(1000+uint64(n), KeySize))
		pad := randBytes(2000, ChunkSize-n)
		chunk, addr, err := EncryptChunk(uint64(n), payload, key, pad)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunk) != SpanSize+ChunkSize || VerifyBMT(addr, chunk) != nil {
			t.Fatalf("%d: bad encrypted chunk", n)
		}
		if !bytes.Equal(chunk[SpanSize+n:], pad) {
			t.Fatalf("%d: padding not taken from pad", n)
		}
		span, got, err := DecryptChunk(chunk, key)
		if err != nil || span != uint64(n) || !bytes.Equal(got, payload) {
			t.Fatalf("%d: decrypt: %d %v", n, span, err)
		}
	}
	if _, _, err := EncryptChunk(1, nil, [KeySize]byte{}, nil); err == nil {
		t.Error("wrong padding length accepted")
	}
}

func BenchmarkReader(b *testing.B) {
	data := randBytes(1, 64<<20)
	for _, m := range modes() {
		s, ref := splitTo(b, data, m.enc)
		for _, v := range []struct {
			name   string
			verify VerifyFunc
		}{{"bmt", VerifyBMT}, {"trusted", TrustChunks}} {
			b.Run(m.name+"/"+v.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					rd, err := NewVerifiedReader(ref, s.get, v.verify)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, rd); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestConcurrentReadAt: ReadAt is safe for concurrent use (run with -race).
func TestConcurrentReadAt(t *testing.T) {
	data := randBytes(11, 300*4096+5)
	s, ref := splitTo(t, data, false)
	rd, err := NewReader(ref, s.get)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 20 {
				off := (g*7919 + i*104729) % len(data)
				p := make([]byte, 20000)
				n, err := rd.ReadAt(p, int64(off))
				if (err != nil && err != io.EOF) || !bytes.Equal(p[:n], data[off:off+n]) {
					errs <- errors.New("concurrent ReadAt returned wrong bytes")
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestWalk(t *testing.T) {
	for _, m := range modes() {
		for _, n := range []int{0, 4096, 4097, 64*4096 + 1, 129*4096 + 3, 64*64*4096 + 4096} {
			data := randBytes(uint64(n)+3, n)
			s, ref := splitTo(t, data, m.enc)
			seen := map[[HashSize]byte]int{}
			err := Walk(ref, s.get, nil, func(a [HashSize]byte) error {
				seen[a]++
				return nil
			})
			if err != nil {
				t.Fatalf("%s %d: %v", m.name, n, err)
			}
			if len(seen) != len(s.m) {
				t.Errorf("%s %d: walked %d chunks, stored %d", m.name, n, len(seen), len(s.m))
			}
			for a, k := range seen {
				if _, ok := s.m[a]; !ok || k != 1 {
					t.Errorf("%s %d: walked %x %d times, stored %v", m.name, n, a, k, ok)
				}
			}
		}
	}
	stop := errors.New("stop")
	s, ref := splitTo(t, seq(10000), false)
	if err := Walk(ref, s.get, nil, func([HashSize]byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("fn error: %v", err)
	}
}
