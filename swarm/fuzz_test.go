package swarm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// fuzzTrie builds a set of chunks from fuzz input, as a hostile store
// could hold them, and returns the root reference and a getter.
//
// Input: byte 0 selects encryption (bit 0); then up to 8 chunk records
// of flags(1) span(8, little-endian) length(2, little-endian) body. A
// leaf's payload is its body. An intermediate chunk's payload holds, for
// each body byte b, the reference of a later chunk chosen by b, so the
// fuzzer can shape tries of any span, depth and width; every chunk is
// stored under its true address, so only the trie's shape is wrong.
func fuzzTrie(in []byte) (Reference, GetFunc, bool) {
	if len(in) < 1 {
		return nil, nil, false
	}
	enc := in[0]&1 == 1
	in = in[1:]
	type rec struct {
		inner bool
		span  uint64
		body  []byte
	}
	var recs []rec
	for len(recs) < 8 && len(in) >= 11 {
		r := rec{inner: in[0]&1 == 1, span: binary.LittleEndian.Uint64(in[1:9])}
		l := int(binary.LittleEndian.Uint16(in[9:11])) % (ChunkSize + 1)
		in = in[11:]
		l = min(l, len(in))
		r.body, in = in[:l], in[l:]
		recs = append(recs, r)
	}
	if len(recs) == 0 {
		return nil, nil, false
	}
	refSize := HashSize
	if enc {
		refSize = EncRefSize
	}
	store := map[[HashSize]byte][]byte{}
	refs := make([][]byte, len(recs))
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		payload := r.body
		if r.inner && i < len(recs)-1 {
			payload = nil
			for _, b := range r.body {
				if len(payload)+refSize > ChunkSize {
					break
				}
				payload = append(payload, refs[i+1+int(b)%(len(recs)-i-1)]...)
			}
		}
		if enc {
			key := [KeySize]byte{byte(i), 7}
			chunk, addr, _ := EncryptChunk(r.span, payload, key, make([]byte, ChunkSize-len(payload)))
			store[addr] = chunk
			refs[i] = append(addr[:], key[:]...)
		} else {
			addr := ChunkAddress(r.span, payload)
			chunk := binary.LittleEndian.AppendUint64(nil, r.span)
			store[addr] = append(chunk, payload...)
			refs[i] = addr[:]
		}
	}
	get := func(a [HashSize]byte) ([]byte, error) {
		c, ok := store[a]
		if !ok {
			return nil, errors.New("missing")
		}
		return c, nil
	}
	return Reference(refs[0]), get, true
}

// encodeFuzz writes chunk records in fuzzTrie's input format.
func encodeFuzz(enc bool, recs ...[]any) []byte {
	out := []byte{0}
	if enc {
		out[0] = 1
	}
	for _, r := range recs {
		flags, span, body := r[0].(byte), r[1].(uint64), r[2].([]byte)
		out = append(out, flags)
		out = binary.LittleEndian.AppendUint64(out, span)
		out = binary.LittleEndian.AppendUint16(out, uint16(len(body)))
		out = append(out, body...)
	}
	return out
}

func FuzzReader(f *testing.F) {
	for _, enc := range []bool{false, true} {
		// well-formed: two leaves under one root
		f.Add(encodeFuzz(enc, []any{byte(1), uint64(4097), []byte{0, 1}},
			[]any{byte(0), uint64(4096), seq(4096)}, []any{byte(0), uint64(1), []byte{9}}), uint32(4000), uint16(200))
		// root claims far more than its children hold
		f.Add(encodeFuzz(enc, []any{byte(1), uint64(1 << 40), []byte{0, 0, 0}},
			[]any{byte(0), uint64(4096), seq(4096)}), uint32(0), uint16(5000))
		// a leaf whose span disagrees with its payload
		f.Add(encodeFuzz(enc, []any{byte(0), uint64(100), seq(10)}), uint32(0), uint16(100))
		// deep chain of intermediate chunks
		f.Add(encodeFuzz(enc, []any{byte(1), uint64(4096*128 + 1), []byte{0, 1}},
			[]any{byte(1), uint64(4096 * 128), bytes.Repeat([]byte{0}, 128)},
			[]any{byte(0), uint64(4096), seq(4096)}, []any{byte(0), uint64(1), []byte{1}}), uint32(4096*127), uint16(9000))
	}
	f.Fuzz(func(t *testing.T, in []byte, off uint32, n uint16) {
		ref, get, ok := fuzzTrie(in)
		if !ok {
			return
		}
		rd, err := NewReader(ref, get)
		if err != nil {
			return
		}
		size := rd.Size()
		if size < 0 {
			t.Fatalf("negative size %d", size)
		}
		p := make([]byte, n)
		k, err := rd.ReadAt(p, int64(off))
		if k < 0 || k > len(p) {
			t.Fatalf("ReadAt returned %d for %d bytes", k, len(p))
		}
		if err == nil && k != len(p) {
			t.Fatalf("short ReadAt without error")
		}
		if err == nil || err == io.EOF {
			// the same bytes through Seek and Read
			if _, err := rd.Seek(int64(off), io.SeekStart); err != nil {
				t.Fatal(err)
			}
			q := make([]byte, k)
			m, err := io.ReadFull(rd, q)
			if err == nil && !bytes.Equal(q[:m], p[:k]) {
				t.Fatalf("ReadAt and Read disagree at %d", off)
			}
		}
		// a bounded sequential read never panics
		rd.Seek(0, io.SeekStart)
		io.CopyN(io.Discard, rd, 1<<20)
	})
}
