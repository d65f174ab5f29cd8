package swarm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
)

// Options tune Split.
type Options struct {
	// Encrypt gives every chunk its own random key and returns a 64-byte
	// reference (Bee's swarm-encrypt: true).
	Encrypt bool
	// Rand supplies keys and padding when Encrypt is set; it is read only
	// from the goroutine that called Split, in chunk order, so a
	// deterministic Rand gives deterministic chunks. Required with Encrypt
	// (pass crypto/rand.Reader in production).
	Rand io.Reader
	// Workers is the number of goroutines hashing leaf chunks;
	// 0 means runtime.GOMAXPROCS(0).
	Workers int
}

// PutFunc stores one chunk under its address. chunk is span ‖ payload
// and is only valid during the call: copy it to keep it.
type PutFunc func(addr [HashSize]byte, chunk []byte) error

// leafJob is one leaf chunk on its way through the workers.
type leafJob struct {
	chunk []byte // span ‖ payload (plain); SpanSize+ChunkSize capacity
	n     int    // payload length
	key   [KeySize]byte
	pad   []byte // ChunkSize bytes; the first ChunkSize-n are used
	enc   []byte // encrypted chunk, SpanSize+ChunkSize bytes
	addr  [HashSize]byte
	done  chan struct{}
}

// Split reads r to its end, cuts it into chunks, builds Bee's hash trie
// over them, calls put for every chunk (leaves in order, each
// intermediate chunk after its children) and returns the root reference.
// An empty r gives one empty chunk, as Bee does. The first error from r,
// Rand or put stops Split and is returned.
func Split(r io.Reader, put PutFunc, opts Options) (Reference, error) {
	if opts.Encrypt && opts.Rand == nil {
		return nil, errors.New("swarm: Split: Encrypt needs Rand")
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	window := 4 * workers
	t := newTrie(opts, put)

	work := make(chan *leafJob, window)
	defer close(work)
	for range workers {
		go func() {
			h := NewHasher()
			for j := range work {
				if opts.Encrypt {
					j.addr = h.encryptChunk(j.enc, uint64(j.n), j.chunk[SpanSize:SpanSize+j.n], &j.key, j.pad[:ChunkSize-j.n])
				} else {
					j.addr = h.Sum(uint64(j.n), j.chunk[SpanSize:SpanSize+j.n])
				}
				j.done <- struct{}{}
			}
		}()
	}

	free := make([]*leafJob, 0, window)
	for range window {
		j := &leafJob{chunk: make([]byte, SpanSize+ChunkSize), done: make(chan struct{}, 1)}
		if opts.Encrypt {
			j.pad = make([]byte, ChunkSize)
			j.enc = make([]byte, SpanSize+ChunkSize)
		}
		free = append(free, j)
	}
	var queue []*leafJob // in flight, in order
	var err error
	emit := func() error {
		j := queue[0]
		queue = queue[1:]
		<-j.done
		free = append(free, j)
		chunk := j.chunk[:SpanSize+j.n]
		if opts.Encrypt {
			chunk = j.enc
		}
		return t.addLeaf(j.addr, j.key, uint64(j.n), chunk)
	}
	// drain waits for every job in flight, so no worker touches a buffer
	// after Split returns.
	drain := func() {
		for _, j := range queue {
			<-j.done
		}
		queue = nil
	}

	for first := true; ; first = false {
		if len(free) == 0 {
			if err = emit(); err != nil {
				drain()
				return nil, err
			}
		}
		j := free[len(free)-1]
		n, rerr := io.ReadFull(r, j.chunk[SpanSize:SpanSize+ChunkSize])
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			drain()
			return nil, rerr
		}
		if n == 0 && !first {
			break
		}
		free = free[:len(free)-1]
		j.n = n
		binary.LittleEndian.PutUint64(j.chunk[:SpanSize], uint64(n))
		if opts.Encrypt {
			if _, err = io.ReadFull(opts.Rand, j.key[:]); err == nil {
				_, err = io.ReadFull(opts.Rand, j.pad[:ChunkSize-n])
			}
			if err != nil {
				drain()
				return nil, fmt.Errorf("swarm: Split: reading randomness: %w", err)
			}
		}
		queue = append(queue, j)
		work <- j
		if n < ChunkSize {
			break
		}
	}
	for len(queue) > 0 {
		if err = emit(); err != nil {
			drain()
			return nil, err
		}
	}
	return t.sum()
}

// trie holds, per level, the references of one intermediate chunk under
// construction: at most one partial chunk per level is kept.
type trie struct {
	opts    Options
	put     PutFunc
	h       *Hasher
	refSize int
	branch  int
	levels  []*trieLevel
	plain   []byte // span ‖ payload of an intermediate chunk
	enc     []byte
	pad     []byte
}

type trieLevel struct {
	refs []byte // concatenated references
	span uint64 // sum of the children's spans
}

func newTrie(opts Options, put PutFunc) *trie {
	t := &trie{opts: opts, put: put, h: NewHasher(), refSize: HashSize, plain: make([]byte, SpanSize+ChunkSize)}
	if opts.Encrypt {
		t.refSize = EncRefSize
		t.enc = make([]byte, SpanSize+ChunkSize)
		t.pad = make([]byte, ChunkSize)
	}
	t.branch = ChunkSize / t.refSize
	return t
}

func (t *trie) level(i int) *trieLevel {
	for len(t.levels) <= i {
		t.levels = append(t.levels, &trieLevel{refs: make([]byte, 0, ChunkSize)})
	}
	return t.levels[i]
}

// addLeaf stores a leaf chunk and adds its reference to level 0.
func (t *trie) addLeaf(addr [HashSize]byte, key [KeySize]byte, span uint64, chunk []byte) error {
	if err := t.put(addr, chunk); err != nil {
		return err
	}
	return t.addRef(0, addr, key, span)
}

func (t *trie) addRef(i int, addr [HashSize]byte, key [KeySize]byte, span uint64) error {
	l := t.level(i)
	l.refs = append(l.refs, addr[:]...)
	if t.opts.Encrypt {
		l.refs = append(l.refs, key[:]...)
	}
	l.span += span
	if len(l.refs) == ChunkSize {
		return t.wrap(i)
	}
	return nil
}

// wrap turns the references of level i into an intermediate chunk, stores
// it and adds its reference to level i+1.
func (t *trie) wrap(i int) error {
	l := t.levels[i]
	span, payload := l.span, l.refs
	binary.LittleEndian.PutUint64(t.plain[:SpanSize], span)
	n := copy(t.plain[SpanSize:], payload)
	l.refs, l.span = l.refs[:0], 0
	var addr [HashSize]byte
	var key [KeySize]byte
	chunk := t.plain[:SpanSize+n]
	if t.opts.Encrypt {
		if _, err := io.ReadFull(t.opts.Rand, key[:]); err != nil {
			return fmt.Errorf("swarm: Split: reading randomness: %w", err)
		}
		if _, err := io.ReadFull(t.opts.Rand, t.pad[:ChunkSize-n]); err != nil {
			return fmt.Errorf("swarm: Split: reading randomness: %w", err)
		}
		addr = t.h.encryptChunk(t.enc, span, t.plain[SpanSize:SpanSize+n], &key, t.pad[:ChunkSize-n])
		chunk = t.enc
	} else {
		addr = t.h.Sum(span, chunk[SpanSize:])
	}
	if err := t.put(addr, chunk); err != nil {
		return err
	}
	return t.addRef(i+1, addr, key, span)
}

// sum finishes the trie as Bee's hashtrie writer does: from the bottom
// up, a level holding one reference carries it up unchanged; a level
// holding more is wrapped into a chunk. The single reference left on top
// is the root.
func (t *trie) sum() (Reference, error) {
	for i := 0; i < len(t.levels); i++ {
		l := t.levels[i]
		refs := len(l.refs) / t.refSize
		switch {
		case refs == 0:
			continue
		case refs == 1 && i == len(t.levels)-1:
			return Reference(append([]byte(nil), l.refs...)), nil
		case refs == 1:
			var addr [HashSize]byte
			var key [KeySize]byte
			copy(addr[:], l.refs)
			copy(key[:], l.refs[HashSize:])
			span := l.span
			l.refs, l.span = l.refs[:0], 0
			if err := t.addRef(i+1, addr, key, span); err != nil {
				return nil, err
			}
		default:
			if err := t.wrap(i); err != nil {
				return nil, err
			}
		}
	}
	return nil, errors.New("swarm: Split: empty trie")
}
