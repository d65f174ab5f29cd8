// Package swarm splits byte streams into Swarm chunks and joins them
// back, exactly as a Bee node's /bytes endpoint does, so that references
// computed here equal Bee's and chunks can be moved between our store and
// a Bee node without re-chunking.
//
// The contract:
//
//   - A chunk is an 8-byte little-endian span (the number of data bytes
//     below it) followed by at most ChunkSize payload bytes. Its address
//     is ChunkAddress(span, payload): the BMT keccak256 hash of Bee's
//     pkg/bmt.
//   - Split cuts a stream into 4096-byte leaf chunks and builds Bee's hash
//     trie over them (128 references per intermediate chunk, 64 when
//     encrypted). It calls put once per chunk, in a deterministic order
//     (children before their parent), and returns the root Reference: 32
//     bytes, or 64 bytes (address ‖ key) when encrypted. Unencrypted
//     references are deterministic and pinned by Bee's published test
//     vectors; encrypted ones depend on the random keys read from the
//     caller's rand.
//   - NewReader joins a trie back into an io.ReadSeeker and io.ReaderAt.
//     Every chunk it fetches is checked (by recomputing its address, or by
//     the caller's Verify function) and a mismatch or malformed trie is
//     reported as an error wrapping ErrCorrupt, never as wrong bytes.
//
// Memory use of Split is bounded (one partial intermediate chunk per trie
// level plus a fixed window of leaf chunks in flight) whatever the input
// size. Hashing and encryption of leaf chunks is spread over GOMAXPROCS
// goroutines; put is always called from the goroutine that called Split.
package swarm

import (
	"encoding/hex"
	"fmt"

	"github.com/personium-go/personium/internal/perr"
)

// ErrCorrupt reports a chunk whose content does not match its address,
// or a trie that cannot have been produced by Split. It is a perr error of
// kind Internal: stored content is damaged, the request is not at fault.
var ErrCorrupt = perr.Errorf(perr.Internal, "swarm: corrupt chunk or trie")

// Reference names split content: the root chunk address (32 bytes), or
// the root address followed by its decryption key (64 bytes).
type Reference []byte

// String returns the reference in lower-case hex, as Bee prints it.
func (r Reference) String() string { return hex.EncodeToString(r) }

// Encrypted reports whether r is a 64-byte encrypted reference.
func (r Reference) Encrypted() bool { return len(r) == EncRefSize }

// Address returns the root chunk address part of r.
func (r Reference) Address() (a [HashSize]byte) {
	copy(a[:], r)
	return a
}

// ParseReference parses 64 or 128 hex digits.
func ParseReference(s string) (Reference, error) {
	b, err := hex.DecodeString(s)
	if err != nil || (len(b) != HashSize && len(b) != EncRefSize) {
		return nil, perr.Errorf(perr.Invalid, "swarm: bad reference %q", s)
	}
	return Reference(b), nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

var errRefLen = perr.Errorf(perr.Invalid, "swarm: reference must be 32 or 64 bytes")
