package swarm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// GetFunc fetches the chunk (span ‖ payload) stored under addr. The
// returned slice is only read, and not kept after Reader returns.
type GetFunc func(addr [HashSize]byte) ([]byte, error)

// VerifyFunc checks that chunk is the content stored under addr, and
// returns an error wrapping ErrCorrupt if not.
type VerifyFunc func(addr [HashSize]byte, chunk []byte) error

// VerifyBMT recomputes the chunk's address: the full check, for chunks
// from anywhere.
func VerifyBMT(addr [HashSize]byte, chunk []byte) error {
	h := hasherPool.Get().(*Hasher)
	got, err := h.SumChunk(chunk)
	hasherPool.Put(h)
	if err != nil {
		return err
	}
	if got != addr {
		return corrupt("chunk %x hashes to %x", addr, got)
	}
	return nil
}

// TrustChunks accepts every chunk. It is for a store that checks its own
// chunks more cheaply inside its GetFunc (a checksum written beside
// them); the joiner still checks sizes and the trie's shape.
func TrustChunks([HashSize]byte, []byte) error { return nil }

// readAhead is how much a sequential Read fetches at once, in leaves;
// the leaves of one batch are fetched, checked and decrypted in parallel.
const readAhead = 64

// maxCachedNodes bounds the intermediate chunks a Reader keeps decoded.
const maxCachedNodes = 256

// A Reader reads the content under a reference. ReadAt and Size are safe
// for concurrent use; Read and Seek share an offset and are not.
// Every error about the content itself wraps ErrCorrupt; errors from get
// are returned wrapped as they are.
type Reader struct {
	get     GetFunc
	verify  VerifyFunc
	refSize int
	branch  int
	root    node
	workers int

	mu    sync.Mutex
	cache map[string]*node // by reference

	off      int64
	buf      []byte // read-ahead data, starting at bufStart
	bufStart int64
}

// node is a decoded chunk: its span and plain payload.
type node struct {
	span    uint64
	payload []byte
}

// NewReader returns a Reader over the content under ref (32 or 64
// bytes), verifying every chunk with VerifyBMT.
func NewReader(ref Reference, get GetFunc) (*Reader, error) {
	return NewVerifiedReader(ref, get, VerifyBMT)
}

// NewVerifiedReader is NewReader with the chunk check chosen by the
// caller; a nil verify means VerifyBMT.
func NewVerifiedReader(ref Reference, get GetFunc, verify VerifyFunc) (*Reader, error) {
	if len(ref) != HashSize && len(ref) != EncRefSize {
		return nil, errRefLen
	}
	if verify == nil {
		verify = VerifyBMT
	}
	r := &Reader{get: get, verify: verify, refSize: len(ref), branch: ChunkSize / len(ref),
		workers: runtime.GOMAXPROCS(0), cache: map[string]*node{}}
	h := hasherPool.Get().(*Hasher)
	defer hasherPool.Put(h)
	root, err := r.fetch(h, ref, nil, math.MaxInt64, true)
	if err != nil {
		return nil, err
	}
	r.root = root
	return r, nil
}

// Size returns the length of the content.
func (r *Reader) Size() int64 { return int64(r.root.span) }

// fetch gets, verifies and decodes the chunk under ref (a 32- or 64-byte
// reference). dst, if long enough, receives the payload. wantSpan is the
// span the parent implies, or with anySpan the upper bound for the root.
func (r *Reader) fetch(h *Hasher, ref []byte, dst []byte, wantSpan uint64, anySpan bool) (node, error) {
	addr := [HashSize]byte(ref[:HashSize])
	chunk, err := r.get(addr)
	if err != nil {
		return node{}, fmt.Errorf("swarm: chunk %x: %w", addr, err)
	}
	if len(chunk) < SpanSize || len(chunk) > SpanSize+ChunkSize {
		return node{}, corrupt("chunk %x has %d bytes", addr, len(chunk))
	}
	if err := r.verify(addr, chunk); err != nil {
		return node{}, err
	}
	if cap(dst) < ChunkSize {
		dst = make([]byte, ChunkSize)
	}
	dst = dst[:ChunkSize]
	var span uint64
	var n int
	if r.refSize == EncRefSize {
		span, n, err = h.decryptChunk(dst, chunk, (*[KeySize]byte)(ref[HashSize:EncRefSize]))
		if err != nil {
			return node{}, err
		}
	} else {
		span = binary.LittleEndian.Uint64(chunk)
		n = copy(dst, chunk[SpanSize:])
	}
	switch {
	case anySpan && span > wantSpan, !anySpan && span != wantSpan:
		return node{}, corrupt("chunk %x has span %d, want %d", addr, span, wantSpan)
	case r.refSize == HashSize && n != payloadSize(span, r.refSize):
		return node{}, corrupt("chunk %x has %d payload bytes for span %d", addr, n, span)
	}
	return node{span: span, payload: dst[:n]}, nil
}

// childSize is the span of every child of an intermediate chunk of the
// given span but the last: the largest full subtrie with c < span ≤ c·branch.
func (r *Reader) childSize(span uint64) uint64 {
	c := uint64(ChunkSize)
	for c <= math.MaxUint64/uint64(r.branch) && span > c*uint64(r.branch) {
		c *= uint64(r.branch)
	}
	return c
}

// leaf is a leaf chunk to read: its reference, the offset of its first
// byte in the content and its span.
type leaf struct {
	ref   []byte
	start int64
	span  uint64
}

// node returns the decoded intermediate chunk under ref, from the cache
// if it is there.
func (r *Reader) node(h *Hasher, ref []byte, span uint64) (*node, error) {
	r.mu.Lock()
	n, ok := r.cache[string(ref)]
	r.mu.Unlock()
	if ok && n.span == span {
		return n, nil
	}
	nd, err := r.fetch(h, ref, nil, span, false)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.cache) >= maxCachedNodes {
		clear(r.cache)
	}
	r.cache[string(ref)] = &nd
	r.mu.Unlock()
	return &nd, nil
}

// leaves appends the leaves of the subtrie nd (starting at content offset
// start) that overlap [off, end).
func (r *Reader) leaves(h *Hasher, nd *node, start, off, end int64, out []leaf) ([]leaf, error) {
	c := r.childSize(nd.span)
	k := len(nd.payload) / r.refSize
	for i := range k {
		span := c
		if i == k-1 {
			span = nd.span - uint64(k-1)*c
		}
		cs := start + int64(i)*int64(c)
		if cs >= end {
			break
		}
		if cs+int64(span) <= off {
			continue
		}
		ref := nd.payload[i*r.refSize : (i+1)*r.refSize]
		if span <= ChunkSize {
			out = append(out, leaf{ref: ref, start: cs, span: span})
			continue
		}
		child, err := r.node(h, ref, span)
		if err != nil {
			return nil, err
		}
		if out, err = r.leaves(h, child, cs, off, end, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadAt reads len(p) bytes from offset off, as io.ReaderAt. The leaf
// chunks are fetched and checked in parallel.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("swarm: ReadAt: negative offset")
	}
	size := r.Size()
	if off >= size {
		return 0, io.EOF
	}
	end := off + int64(len(p))
	if end > size || end < off {
		end = size
	}
	h := hasherPool.Get().(*Hasher)
	defer hasherPool.Put(h)
	if r.root.span <= ChunkSize {
		return r.finish(copy(p, r.root.payload[off:end]), p)
	}
	ls, err := r.leaves(h, &r.root, 0, off, end, nil)
	if err != nil {
		return 0, err
	}
	if err := r.readLeaves(ls, p, off, end); err != nil {
		return 0, err
	}
	return r.finish(int(end-off), p)
}

func (r *Reader) finish(n int, p []byte) (int, error) {
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readLeaves fetches ls concurrently and copies their bytes within
// [off, end) into p (which starts at off).
func (r *Reader) readLeaves(ls []leaf, p []byte, off, end int64) error {
	var (
		next   atomic.Int64 // index of the next leaf to take
		failed atomic.Bool
		mu     sync.Mutex
		first  error
		wg     sync.WaitGroup
	)
	work := func() {
		h := hasherPool.Get().(*Hasher)
		defer hasherPool.Put(h)
		buf := make([]byte, ChunkSize)
		for !failed.Load() {
			i := next.Add(1) - 1
			if i >= int64(len(ls)) {
				return
			}
			if err := r.copyLeaf(h, buf, ls[i], p, off, end); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				failed.Store(true)
			}
		}
	}
	// the calling goroutine is one of the workers
	for range min(r.workers, len(ls)) - 1 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
	return first
}

// copyLeaf fetches leaf l and copies its bytes within [off, end) into p.
func (r *Reader) copyLeaf(h *Hasher, buf []byte, l leaf, p []byte, off, end int64) error {
	nd, err := r.fetch(h, l.ref, buf, l.span, false)
	if err != nil {
		return err
	}
	from := max(off, l.start)
	to := min(end, l.start+int64(l.span))
	copy(p[from-off:to-off], nd.payload[from-l.start:to-l.start])
	return nil
}

// Read reads from the current offset, as io.Reader. Sequential reads
// fetch readAhead leaves at a time.
func (r *Reader) Read(p []byte) (int, error) {
	size := r.Size()
	if r.off >= size {
		return 0, io.EOF
	}
	if r.off < r.bufStart || r.off >= r.bufStart+int64(len(r.buf)) {
		start := r.off - r.off%ChunkSize
		n := min(int64(readAhead*ChunkSize), size-start)
		if cap(r.buf) < int(n) {
			r.buf = make([]byte, n) // a small file gets a small buffer
		}
		r.buf = r.buf[:n]
		if _, err := r.ReadAt(r.buf, start); err != nil && err != io.EOF {
			r.buf = r.buf[:0]
			return 0, err
		}
		r.bufStart = start
	}
	n := copy(p, r.buf[r.off-r.bufStart:])
	r.off += int64(n)
	return n, nil
}

// Seek sets the offset for the next Read, as io.Seeker.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.Size()
	default:
		return 0, errors.New("swarm: Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("swarm: Seek: negative position")
	}
	r.off = offset
	return offset, nil
}

var (
	_ io.ReadSeeker = (*Reader)(nil)
	_ io.ReaderAt   = (*Reader)(nil)
)

// Walk calls fn with the address of every chunk of the content under
// ref: the root first, then depth-first in content order, each
// intermediate chunk before its children. Intermediate chunks are
// fetched and checked with verify (nil means VerifyBMT); leaves are not
// fetched. A store uses it to find the chunks a reference keeps alive
// or to copy content to a Bee node. An error from fn stops the walk and
// is returned.
func Walk(ref Reference, get GetFunc, verify VerifyFunc, fn func(addr [HashSize]byte) error) error {
	r, err := NewVerifiedReader(ref, get, verify)
	if err != nil {
		return err
	}
	if err := fn(ref.Address()); err != nil {
		return err
	}
	if r.root.span <= ChunkSize {
		return nil
	}
	h := hasherPool.Get().(*Hasher)
	defer hasherPool.Put(h)
	return r.walk(h, &r.root, fn)
}

func (r *Reader) walk(h *Hasher, nd *node, fn func(addr [HashSize]byte) error) error {
	c := r.childSize(nd.span)
	k := len(nd.payload) / r.refSize
	for i := range k {
		span := c
		if i == k-1 {
			span = nd.span - uint64(k-1)*c
		}
		ref := nd.payload[i*r.refSize : (i+1)*r.refSize]
		if err := fn([HashSize]byte(ref[:HashSize])); err != nil {
			return err
		}
		if span <= ChunkSize {
			continue
		}
		child, err := r.fetch(h, ref, nil, span, false)
		if err != nil {
			return err
		}
		if err := r.walk(h, &child, fn); err != nil {
			return err
		}
	}
	return nil
}
