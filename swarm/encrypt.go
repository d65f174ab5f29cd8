package swarm

import (
	"encoding/binary"
	"fmt"
)

// Chunk encryption as Bee's pkg/encryption does it. Every chunk gets its
// own random 32-byte key. Segment i (32 bytes) of the payload is XORed
// with keccak256(keccak256(key ‖ uint32le(i))); the payload is then padded
// to ChunkSize with random bytes. The 8-byte span is XORed with the
// keystream segment of counter ChunkSize/EncRefSize = 64. The chunk
// address is the BMT hash of the encrypted span and the full encrypted
// payload, and the reference is address ‖ key.

// spanCounter is Bee's initial counter for the span:
// swarm.ChunkSize / encryption.KeyLength (pkg/encryption
// NewSpanEncryption). (It was ChunkSize/EncRefSize, 64, before: chunk
// addresses still matched Bee's, but Bee could not decrypt the spans.)
const spanCounter = ChunkSize / KeySize

// keystream computes the keystream segment of counter ctr into h.ks.
func (h *Hasher) keystream(key *[KeySize]byte, ctr uint32) {
	copy(h.ctr[:], key[:])
	binary.LittleEndian.PutUint32(h.ctr[KeySize:], ctr)
	h.k.Reset()
	h.k.Write(h.ctr[:])
	h.k.Read(h.ks[:])
	h.k.Reset()
	h.k.Write(h.ks[:])
	h.k.Read(h.ks[:])
}

// xorSegments XORs src into dst segment by segment with the keystream
// starting at counter 0. len(dst) >= len(src).
func (h *Hasher) xorSegments(dst, src []byte, key *[KeySize]byte) {
	for i := 0; i < len(src); i += segmentSize {
		h.keystream(key, uint32(i/segmentSize))
		end := min(i+segmentSize, len(src))
		for j := i; j < end; j++ {
			dst[j] = src[j] ^ h.ks[j-i]
		}
	}
}

// encryptChunk encrypts the chunk of the given span and payload into out
// (SpanSize+ChunkSize bytes): payload bytes are XORed, the rest of out's
// payload is filled from pad (len ChunkSize-len(payload)). It returns the
// encrypted chunk's address.
func (h *Hasher) encryptChunk(out []byte, span uint64, payload []byte, key *[KeySize]byte, pad []byte) [HashSize]byte {
	h.keystream(key, spanCounter)
	binary.LittleEndian.PutUint64(out[:SpanSize], span)
	for i := range SpanSize {
		out[i] ^= h.ks[i]
	}
	data := out[SpanSize : SpanSize+ChunkSize]
	h.xorSegments(data, payload, key)
	copy(data[len(payload):], pad)
	return h.Sum(binary.LittleEndian.Uint64(out[:SpanSize]), data)
}

// EncryptChunk encrypts one chunk (span and payload of at most ChunkSize
// bytes) with key, padding the payload from rand, and returns the
// encrypted chunk (span ‖ 4096-byte payload) and its address. Bee's
// pipeline does the same for every chunk of an encrypted upload.
func EncryptChunk(span uint64, payload []byte, key [KeySize]byte, pad []byte) (chunk []byte, addr [HashSize]byte, err error) {
	if len(payload) > ChunkSize || len(pad) != ChunkSize-len(payload) {
		return nil, addr, fmt.Errorf("swarm: EncryptChunk: payload %d bytes, padding %d", len(payload), len(pad))
	}
	h := hasherPool.Get().(*Hasher)
	defer hasherPool.Put(h)
	chunk = make([]byte, SpanSize+ChunkSize)
	addr = h.encryptChunk(chunk, span, payload, &key, pad)
	return chunk, addr, nil
}

// DecryptChunk decrypts an encrypted chunk (span ‖ payload) with key and
// returns the span and the payload without its padding. The payload
// length follows from the span as in Bee's decrypting store: the data
// size for a leaf, 64 bytes per child for an intermediate chunk.
func DecryptChunk(chunk []byte, key [KeySize]byte) (span uint64, payload []byte, err error) {
	h := hasherPool.Get().(*Hasher)
	defer hasherPool.Put(h)
	payload = make([]byte, ChunkSize)
	span, n, err := h.decryptChunk(payload, chunk, &key)
	return span, payload[:n], err
}

// decryptChunk decrypts chunk into dst (ChunkSize bytes) and returns the
// plain span and payload length.
func (h *Hasher) decryptChunk(dst, chunk []byte, key *[KeySize]byte) (uint64, int, error) {
	if len(chunk) != SpanSize+ChunkSize {
		return 0, 0, corrupt("encrypted chunk of %d bytes", len(chunk))
	}
	h.keystream(key, spanCounter)
	var sp [SpanSize]byte
	for i := range SpanSize {
		sp[i] = chunk[i] ^ h.ks[i]
	}
	span := binary.LittleEndian.Uint64(sp[:])
	n := payloadSize(span, EncRefSize)
	h.xorSegments(dst, chunk[SpanSize:SpanSize+n], key)
	return span, n, nil
}

// payloadSize is the payload length of a chunk of the given span in a
// trie whose references are refSize bytes: the span itself for a leaf,
// else refSize per child, the children being the largest full subtries.
func payloadSize(span uint64, refSize int) int {
	for span > ChunkSize {
		n := span / ChunkSize
		if span%ChunkSize != 0 {
			n++
		}
		span = n * uint64(refSize)
	}
	return int(span)
}
