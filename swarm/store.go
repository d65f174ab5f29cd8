package swarm

import (
	"context"
	"io"
	"sync"
)

// Store keeps chunks (8-byte little-endian span ‖ payload, as Split
// produces them) by address. Implementations are safe for concurrent use
// and pass swarmtest.Run.
//
// A Store does not check that a chunk's content matches its address:
// chunks taken from outside (a Bee node, an import) must be checked with
// VerifyBMT before Put. Open checks what Get returns.
type Store interface {
	// Put stores chunk under addr. It is idempotent: storing a chunk
	// again succeeds and leaves one copy. chunk is not retained after
	// Put returns.
	Put(ctx context.Context, addr [HashSize]byte, chunk []byte) error
	// Get returns the chunk stored under addr, in a slice the caller
	// owns. An absent chunk is a perr NotExist error; stored bytes found
	// damaged give an error wrapping ErrCorrupt.
	Get(ctx context.Context, addr [HashSize]byte) ([]byte, error)
}

// SelfVerifying is implemented by stores whose Get already guarantees
// that the bytes are exactly those Put stored (a checksum checked on
// every read, say). When SelfVerifying returns true, Open skips the BMT
// re-hashing of every chunk, which costs far more than reading it.
type SelfVerifying interface {
	SelfVerifying() bool
}

// Parallel is implemented by stores whose Gets and Puts mostly wait on a
// network round trip (a Bee node): Upload keeps that many Puts, and a
// Reader from Open that many Gets, in flight, instead of the few that
// keep a local store busy.
type Parallel interface {
	Parallelism() int
}

// inFlight is how many calls to st to run at once, at least min.
func inFlight(st Store, min int) int {
	if p, ok := st.(Parallel); ok && p.Parallelism() > min {
		return p.Parallelism()
	}
	return min
}

// putsInFlight is how many Puts Upload runs at once. Chunk stores spend
// most of a Put waiting (a file system's metadata updates, a network round
// trip), so overlapping them keeps up with the hashing workers.
const putsInFlight = 4

// Upload splits r as Split does and stores every chunk in st, returning
// the root reference. Up to a few Puts run concurrently (so a parent
// chunk may be stored before its children); Upload returns only after
// every Put has finished. The first error from r, opts.Rand or st.Put
// (or ctx being done) stops the upload and is returned; chunks already
// stored stay, unreferenced, until the store collects them.
//
// Upload does not make the chunks durable: a store that buffers writes
// has its own way to flush them (localstore.Store.Sync) that the caller
// uses before committing the reference anywhere.
func Upload(ctx context.Context, st Store, r io.Reader, opts Options) (Reference, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := inFlight(st, putsInFlight)
	p := &putter{ctx: ctx, cancel: cancel, st: st, free: make(chan []byte, n)}
	for range n {
		p.free <- make([]byte, 0, SpanSize+ChunkSize)
	}
	ref, err := Split(r, p.put, opts)
	p.wg.Wait()
	if err == nil {
		err = p.firstErr()
	}
	if err != nil {
		return nil, err
	}
	return ref, nil
}

// putter runs the Puts of one Upload, as many at a time as it has buffers;
// its free list of chunk buffers is also the semaphore.
type putter struct {
	ctx    context.Context
	cancel context.CancelFunc
	st     Store
	free   chan []byte
	wg     sync.WaitGroup

	mu  sync.Mutex
	err error
}

func (p *putter) firstErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *putter) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
	p.cancel()
}

// put is Split's PutFunc: it copies chunk and stores it in the
// background, returning the error of an earlier Put if one failed.
func (p *putter) put(addr [HashSize]byte, chunk []byte) error {
	var buf []byte
	select {
	case buf = <-p.free:
	case <-p.ctx.Done():
	}
	if err := p.firstErr(); err != nil {
		return err
	}
	if err := p.ctx.Err(); err != nil {
		return err
	}
	buf = append(buf[:0], chunk...)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := p.st.Put(p.ctx, addr, buf); err != nil {
			p.fail(err)
		}
		p.free <- buf
	}()
	return nil
}

// Open returns a Reader over the content under ref in st. Every chunk is
// checked with VerifyBMT, unless st is SelfVerifying and says so, when
// the store's own check is trusted (TrustChunks). ctx governs every Get
// the Reader makes, including those of later Read and ReadAt calls: once
// it is done, reading fails.
func Open(ctx context.Context, st Store, ref Reference) (*Reader, error) {
	verify := VerifyBMT
	if sv, ok := st.(SelfVerifying); ok && sv.SelfVerifying() {
		verify = TrustChunks
	}
	get := func(addr [HashSize]byte) ([]byte, error) { return st.Get(ctx, addr) }
	r, err := NewVerifiedReader(ref, get, verify)
	if err != nil {
		return nil, err
	}
	r.workers = inFlight(st, r.workers)
	return r, nil
}
