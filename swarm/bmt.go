package swarm

import (
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"sync"

	"golang.org/x/crypto/sha3"
)

// Sizes of the Swarm content-addressed chunk format.
const (
	ChunkSize   = 4096 // maximum payload of one chunk
	SpanSize    = 8    // little-endian uint64 span before the payload
	HashSize    = 32   // keccak256 output; an unencrypted reference
	KeySize     = 32   // per-chunk encryption key
	EncRefSize  = HashSize + KeySize
	segmentSize = 32
	segments    = ChunkSize / segmentSize // 128 BMT leaves
	bmtDepth    = 7                       // log2(segments)
)

// keccak is the legacy Keccak-256 sponge. Reading the digest with Read
// instead of Sum avoids copying the state.
type keccak interface {
	hash.Hash
	io.Reader
}

func newKeccak() keccak { return sha3.NewLegacyKeccak256().(keccak) }

// zeroHashes[l] is the BMT node at level l (0 = a 32-byte segment) over
// all-zero data: the value of every subtree lying wholly in the padding.
var zeroHashes = func() (z [bmtDepth + 1][HashSize]byte) {
	k := newKeccak()
	for l := 1; l <= bmtDepth; l++ {
		k.Reset()
		k.Write(z[l-1][:])
		k.Write(z[l-1][:])
		k.Read(z[l][:])
	}
	return z
}()

// A Hasher computes chunk addresses. It holds its own buffers and
// Keccak state, so repeated use does not allocate. A Hasher is not safe
// for concurrent use; the zero value is not usable, call NewHasher.
type Hasher struct {
	k   keccak
	buf [ChunkSize]byte
	fin [SpanSize + HashSize]byte // span ‖ root, then the address
	ctr [KeySize + 4]byte         // key ‖ counter, for the keystream
	ks  [HashSize]byte            // one keystream segment
}

// NewHasher returns a Hasher.
func NewHasher() *Hasher { return &Hasher{k: newKeccak()} }

func (h *Hasher) keccak2(dst, a, b []byte) {
	h.k.Reset()
	h.k.Write(a)
	h.k.Write(b)
	h.k.Read(dst[:HashSize])
}

// Sum returns the address of the chunk with the given span and payload:
// keccak256(span ‖ BMT root), where the BMT is the binary Keccak-256
// Merkle tree over the payload zero-padded to 128 segments of 32 bytes
// (Bee's pkg/bmt). It panics if len(payload) > ChunkSize.
func (h *Hasher) Sum(span uint64, payload []byte) [HashSize]byte {
	n := len(payload)
	if n > ChunkSize {
		panic(fmt.Sprintf("swarm: chunk payload of %d bytes", n))
	}
	copy(h.buf[:], payload)
	// live is the number of nodes at the current level that cover at
	// least one payload byte; the rest equal zeroHashes[level].
	live := (n + segmentSize - 1) / segmentSize
	if live%2 == 1 {
		clear(h.buf[n : live*segmentSize+segmentSize])
	} else {
		clear(h.buf[n : live*segmentSize])
	}
	width := segments
	for l := 1; l <= bmtDepth; l++ {
		width /= 2
		pairs := (live + 1) / 2
		for j := range pairs {
			h.keccak2(h.buf[j*HashSize:], h.buf[2*j*HashSize:(2*j+1)*HashSize], h.buf[(2*j+1)*HashSize:(2*j+2)*HashSize])
		}
		live = pairs
		if live < width && live%2 == 1 {
			// the right sibling of the last live node is a zero subtree
			copy(h.buf[live*HashSize:], zeroHashes[l][:])
		}
	}
	binary.LittleEndian.PutUint64(h.fin[:SpanSize], span)
	if live == 0 {
		copy(h.fin[SpanSize:], zeroHashes[bmtDepth][:])
	} else {
		copy(h.fin[SpanSize:], h.buf[:HashSize])
	}
	h.k.Reset()
	h.k.Write(h.fin[:])
	h.k.Read(h.fin[:HashSize])
	return [HashSize]byte(h.fin[:HashSize])
}

// SumChunk returns the address of a chunk given as span ‖ payload.
func (h *Hasher) SumChunk(chunk []byte) ([HashSize]byte, error) {
	if len(chunk) < SpanSize || len(chunk) > SpanSize+ChunkSize {
		return [HashSize]byte{}, fmt.Errorf("%w: chunk of %d bytes", ErrCorrupt, len(chunk))
	}
	return h.Sum(binary.LittleEndian.Uint64(chunk), chunk[SpanSize:]), nil
}

var hasherPool = sync.Pool{New: func() any { return NewHasher() }}

// ChunkAddress returns the Swarm address (BMT hash) of the chunk with the
// given span and payload; see Hasher.Sum. It is safe for concurrent use.
func ChunkAddress(span uint64, payload []byte) [HashSize]byte {
	h := hasherPool.Get().(*Hasher)
	a := h.Sum(span, payload)
	hasherPool.Put(h)
	return a
}
