// Package localstore is the embedded default content store: Swarm chunks
// kept on local disk in append-only pack files, with garbage collection
// of the chunks no live reference reaches any more.
//
// # Layout
//
// A store is a directory holding LOCK (locked with flock(2) where
// available, so that one process at a time uses the store: the protection
// of uploads in progress lives in memory) and packs/, which holds the
// finalized packs, named <id>.pack with id eight hex digits, and the
// packs being written, named .tmp-<id>.pack. Other files are left alone.
//
// # Pack format
//
// All integers are little-endian. A pack is
//
//	header   8 bytes: "psPack01"
//	records  one per chunk, back to back:
//	           address   32 bytes
//	           length     4 bytes: of the chunk (8 to 4104)
//	           CRC-32C    4 bytes: Castagnoli, of address ‖ chunk
//	           chunk     span (8 bytes) ‖ payload
//	footer   one entry per record, in record order:
//	           address   32 bytes
//	           offset     8 bytes: of the record in the pack
//	           length     4 bytes: of the chunk
//	trailer  24 bytes:
//	           offset     8 bytes: of the footer (= end of the records)
//	           count      4 bytes: footer entries
//	           CRC-32C    4 bytes: of the footer entries ‖ the 12 bytes above
//	           magic      8 bytes: "psIndex1"
//
// Open reads the footer of every pack into an in-memory index (address →
// pack, offset, length: a 32-byte key and a 12-byte value; 60–100 bytes
// per chunk with the map's overhead, depending on how full its tables
// are). A pack whose trailer, footer checksum or entries do not
// add up is reported to Options.OnBadPack and ignored: its file stays
// for someone to look at, and its chunks are absent. Get reads one record
// with pread(2) through a bounded cache of open packs and checks the
// record's address, length and CRC-32C, so a flipped bit, a truncated pack
// or a record of another chunk is reported as an error wrapping
// swarm.ErrCorrupt instead of wrong bytes (up to CRC-32C's 2⁻³² chance of
// missing random damage; Options.VerifyBMT adds a cryptographic check).
//
// # Writes
//
// An upload session (BeginUpload) appends the chunks it Puts to one pack
// under its temporary name, through a 1 MiB buffer; concurrent Puts of a
// session take turns. Sync finalizes it: writes the footer and trailer,
// flushes the file to stable storage (fdatasync(2)), renames it to its
// final name, flushes the directory, and only then publishes its chunks
// in the index. Until then they are not readable. A chunk the index
// already holds is not written again (nor is one the session wrote
// already): the session only records that it uses it. A Put without a
// session writes, flushes and renames a one-chunk pack before returning,
// an fdatasync per chunk: a slow path for tests and occasional writers,
// whose directory entries become durable at the next Sync.
//
// # Crash guarantees
//
// A pack is renamed to its final name only after its footer is on stable
// storage, so a crash leaves every visible pack complete and, at worst,
// temporary packs, which Open deletes. Chunks whose session had not been
// synced are lost, as they were never readable; a synced session's
// chunks survive. A crash during a compaction may leave both the old pack
// and its replacement: the index takes each chunk from the newest pack,
// and the next collection deletes the other copy. A pack deleted just
// before a crash may come back, its chunks as garbage.
//
// # Garbage collection
//
// Collect marks every chunk reachable from the live references the caller
// enumerates, then sweeps the packs: a pack without live chunks is
// deleted, a pack whose live records fill less than half of it is
// compacted (its live chunks copied into a new pack, the index switched
// over, the old pack deleted), and the dead chunks of the other packs are
// dropped from the index (their bytes stay on disk until their pack is
// compacted or deleted; a restart brings them back into the index until
// the next collection). A pack written or deduplicated from by an upload
// session open when the collection started or since, or finalized after
// it started, is never touched. See Collect for the rules.
package localstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// DefaultGrace is a sensible Options.Grace for a server whose writers do
// not all use BeginUpload: an hour.
const DefaultGrace = time.Hour

// Options configure a Store. The zero value is valid.
type Options struct {
	// VerifyBMT makes Get recompute every chunk's BMT address besides
	// checking its CRC-32C: a cryptographic check, at a fraction of the
	// read speed. The store is SelfVerifying either way.
	VerifyBMT bool
	// Grace protects packs finalized, or deduplicated from by a Put
	// without a session, less than this long before a Collect started,
	// for writers that do not announce themselves with BeginUpload. Zero
	// means no such protection.
	Grace time.Duration
	// OnMissing decides what Collect does with a live reference whose
	// root chunk does not exist: return nil to skip that reference
	// (typically after logging it; its chunks are then collected like
	// any garbage) or an error to abort the collection. nil aborts,
	// returning the NotExist error: a reference that cannot be read
	// blocks collection until someone looks at it. A missing or damaged
	// chunk below the root always aborts. OnMissing is called from the
	// goroutine that called yield.
	OnMissing func(ref swarm.Reference, err error) error
	// OnBadPack, if set, is called by Open for every pack file it does
	// not trust (a truncated file, a damaged footer) and ignores. The
	// file is left in place.
	OnBadPack func(name string, err error)
}

// Store is a chunk store in one directory. It is safe for concurrent
// use. It implements swarm.Store and swarm.SelfVerifying.
type Store struct {
	dir     string
	packDir string
	opts    Options
	lock    *os.File // dir/LOCK, held for the Store's life
	now     func() time.Time

	// mu guards what follows. Get and the deduplicating Put hold it
	// shared; publishing a pack and Collect's decisions hold it
	// exclusively.
	mu       sync.RWMutex
	index    map[[swarm.HashSize]byte]loc
	packs    map[uint32]*pack
	sessions map[*session]struct{}
	// gcSessions are the sessions open when the running Collect started
	gcSessions []*session
	temps      map[uint32]struct{} // packs being written
	chunks     int64               // in the index
	bytes      int64               // their span ‖ payload bytes
	seq        uint64              // packs published so far
	nextID     uint32

	// liveMu guards live, the chunks marked by the running Collect (nil
	// if none), keyed by their first 8 address bytes: two chunks sharing
	// them can only keep a garbage chunk alive, never lose a live one.
	liveMu sync.Mutex
	live   map[uint64]struct{}

	collecting sync.Mutex // held by the running Collect
	handles    handles
	dirty      atomic.Bool // packs renamed since the directory was last flushed

	hookBeforeSwap func() // for tests: called by a compaction before it switches packs
}

// pack is what the Store knows about a finalized pack.
type pack struct {
	size   int64  // of the file
	chunks int    // index entries that point into it
	seq    uint64 // publication order; 0 for packs found at Open
	// at is when the pack was finalized (its modification time for packs
	// found at Open) or, if later, when a Put without a session last
	// deduplicated from it; Unix nanoseconds.
	at atomic.Int64
}

var (
	_ swarm.Store         = (*Store)(nil)
	_ swarm.SelfVerifying = (*Store)(nil)
)

// Open opens the store in dir, creating the directory if needed, and
// reads the footer of every pack (deleting temporary packs a crash left).
// The directory is locked against other processes (and other Stores)
// until Close; a directory in use gives a perr Conflict error.
func Open(dir string, opts Options) (*Store, error) {
	packDir := filepath.Join(dir, packsDir)
	if err := os.MkdirAll(packDir, 0o700); err != nil {
		return nil, perr.Errorf(perr.Internal, "localstore: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, perr.Errorf(perr.Internal, "localstore: %w", err)
	}
	if err := lockFile(lf); err != nil {
		lf.Close()
		return nil, perr.Errorf(perr.Conflict, "localstore: %s is in use: %w", dir, err)
	}
	s := &Store{dir: dir, packDir: packDir, opts: opts, lock: lf, now: time.Now,
		packs: map[uint32]*pack{}, sessions: map[*session]struct{}{}, temps: map[uint32]struct{}{},
		handles: handles{m: map[uint32]*os.File{}}}
	if err := s.load(); err != nil {
		lf.Close()
		return nil, perr.Errorf(perr.Internal, "localstore: %w", err)
	}
	return s, nil
}

// load reads the packs in s.packDir into the index.
func (s *Store) load() error {
	ents, err := os.ReadDir(s.packDir)
	if err != nil {
		return err
	}
	type found struct {
		id      uint32
		size    int64
		mtime   time.Time
		entries []byte
	}
	var good []found
	total := 0
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, tempPrefix) {
			if err := os.Remove(filepath.Join(s.packDir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		id, ok := parsePackName(name)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if id == math.MaxUint32 {
			s.nextID = id // no ids left
		} else {
			s.nextID = max(s.nextID, id+1)
		}
		entries, fi, err := readPack(filepath.Join(s.packDir, name))
		if errors.Is(err, swarm.ErrCorrupt) {
			if s.opts.OnBadPack != nil {
				s.opts.OnBadPack(filepath.Join(s.packDir, name), err)
			}
			continue
		}
		if err != nil {
			return err
		}
		good = append(good, found{id, fi.Size(), fi.ModTime(), entries})
		total += len(entries) / entrySize
	}
	s.index = make(map[[swarm.HashSize]byte]loc, total)
	// newest first: after a crash during a compaction the replacement
	// wins over the pack it replaced
	slices.SortFunc(good, func(a, b found) int { return cmp.Compare(b.id, a.id) })
	for _, g := range good {
		p := &pack{size: g.size}
		p.at.Store(g.mtime.UnixNano())
		s.packs[g.id] = p
		for i := range len(g.entries) / entrySize {
			e := footerEntry(g.entries, i)
			if _, dup := s.index[e.addr]; !dup {
				s.addIndex(e.addr, makeLoc(g.id, e.off, e.n), p)
			}
		}
	}
	return nil
}

// readPack opens a pack and reads its footer.
func readPack(name string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	entries, err := readFooter(f, fi.Size())
	if errors.Is(err, io.EOF) {
		err = badPack("truncated")
	}
	return entries, fi, err
}

// addIndex adds addr at l (in pack p) to the index; s.mu is held.
func (s *Store) addIndex(addr [swarm.HashSize]byte, l loc, p *pack) {
	s.index[addr] = l
	p.chunks++
	s.chunks++
	s.bytes += int64(l.size())
}

// dropIndex removes addr, at l, from the index; s.mu is held.
func (s *Store) dropIndex(addr [swarm.HashSize]byte, l loc) {
	delete(s.index, addr)
	if p := s.packs[l.pack]; p != nil {
		p.chunks--
	}
	s.chunks--
	s.bytes -= int64(l.size())
}

// Close releases the directory. Upload sessions still open are
// abandoned (their temporary packs are deleted at the next Open). The
// Store must not be used afterwards.
func (s *Store) Close() error {
	s.closeHandles()
	return s.lock.Close()
}

// SelfVerifying reports true: every Get checks a checksum (and with
// Options.VerifyBMT the address too), so readers need not re-hash.
func (s *Store) SelfVerifying() bool { return true }

func notExist(addr *[swarm.HashSize]byte) error {
	return perr.Errorf(perr.NotExist, "localstore: no chunk %x", addr[:])
}

func corrupt(addr *[swarm.HashSize]byte, why string) error {
	return fmt.Errorf("%w: localstore: chunk %x: %s", swarm.ErrCorrupt, addr[:], why)
}

// newID allocates the id of a new pack and registers it as being
// written, which protects its temporary file from Collect.
func (s *Store) newID() (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nextID == math.MaxUint32 {
		return 0, perr.Errorf(perr.Internal, "localstore: pack ids exhausted")
	}
	id := s.nextID
	s.nextID++
	s.temps[id] = struct{}{}
	return id, nil
}

// Get returns the chunk stored under addr after checking its record (and
// its BMT address with Options.VerifyBMT). Chunks of an upload session
// are found once the session is synced.
func (s *Store) Get(ctx context.Context, addr [swarm.HashSize]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	l, ok := s.index[addr]
	s.mu.RUnlock()
	for try := 0; ; try++ {
		if !ok {
			return nil, notExist(&addr)
		}
		chunk, err := s.read(l, &addr)
		if err == nil && s.opts.VerifyBMT {
			err = swarm.VerifyBMT(addr, chunk)
		}
		if err == nil {
			return chunk, nil
		}
		// Collect may have deleted or compacted the pack since the
		// lookup, or evicted its handle: look again
		s.mu.RLock()
		l2, ok2 := s.index[addr]
		s.mu.RUnlock()
		if try < 8 && (!ok2 || !l2.same(l) || errors.Is(err, os.ErrClosed)) {
			l, ok = l2, ok2
			continue
		}
		if errors.Is(err, fs.ErrNotExist) {
			err = corrupt(&addr, fmt.Sprintf("pack %s is missing", packName(l.pack)))
		}
		if errors.Is(err, swarm.ErrCorrupt) {
			s.setDamaged(&addr, l)
		}
		return nil, err
	}
}

// read reads and checks the record at l.
func (s *Store) read(l loc, addr *[swarm.HashSize]byte) ([]byte, error) {
	f, owned, err := s.handle(l.pack)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err // Get looks at the index again
	}
	if err != nil {
		return nil, perr.Errorf(perr.Internal, "localstore: %w", err)
	}
	rec := make([]byte, l.recBytes())
	_, err = f.ReadAt(rec, l.offset())
	if owned {
		f.Close()
	}
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, corrupt(addr, fmt.Sprintf("pack %s is truncated", packName(l.pack)))
	case errors.Is(err, os.ErrClosed):
		return nil, err
	case err != nil:
		return nil, perr.Errorf(perr.Internal, "localstore: %w", err)
	}
	return checkRecord(rec, addr)
}

// setDamaged flags the index entry of addr, if it is still l, as found
// damaged, so that a later Put writes the chunk again.
func (s *Store) setDamaged(addr *[swarm.HashSize]byte, l loc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.index[*addr]; ok && cur.same(l) {
		cur.n |= damagedBit
		s.index[*addr] = cur
	}
}

// markLive adds addr to the marked set if a Collect is running.
func (s *Store) markLive(addr *[swarm.HashSize]byte) {
	s.liveMu.Lock()
	if s.live != nil {
		s.live[liveKey(addr)] = struct{}{}
	}
	s.liveMu.Unlock()
}

// Put stores chunk under addr. It does not check that addr is the
// chunk's address (see swarm.Store).
//
// If the index holds an intact copy already, Put writes nothing: it
// records that the chunk is used (by the session in ctx, or for
// Options.Grace without one), which keeps it from a concurrent Collect.
// A chunk found damaged by an earlier Get is written again.
//
// If ctx carries an upload session (BeginUpload), the chunk is appended
// to the session's pack and becomes readable at the session's Sync; Puts
// of one session may run concurrently. Without a session, Put writes and
// finalizes a pack of its own, and the chunk is readable when Put
// returns.
func (s *Store) Put(ctx context.Context, addr [swarm.HashSize]byte, chunk []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(chunk) < swarm.SpanSize || len(chunk) > maxChunk {
		return perr.Errorf(perr.Invalid, "localstore: chunk of %d bytes", len(chunk))
	}
	x := s.session(ctx)
	if s.dedup(&addr, x) {
		return nil
	}
	if x != nil {
		return x.put(&addr, chunk)
	}
	return s.putAlone(&addr, chunk)
}

// dedup reports whether the index holds an intact copy of addr, and if
// so records that the session x (or, if nil, a Put without a session)
// uses it.
func (s *Store) dedup(addr *[swarm.HashSize]byte, x *session) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.index[*addr]
	if !ok || l.damaged() {
		return false
	}
	if x != nil {
		x.use(l.pack)
	} else if p := s.packs[l.pack]; p != nil {
		p.at.Store(s.now().UnixNano())
	}
	s.markLive(addr)
	return true
}

// putAlone writes and finalizes a pack holding one chunk.
func (s *Store) putAlone(addr *[swarm.HashSize]byte, chunk []byte) error {
	id, err := s.newID()
	if err != nil {
		return err
	}
	defer s.doneWriting(id)
	w, err := createPack(s.packDir, id, false)
	if err == nil {
		if err = w.add(addr, chunk, checksum(addr, chunk)); err == nil {
			if err = w.finish(); err == nil {
				err = w.commit()
			}
		}
		if err != nil {
			w.abandon()
		}
	}
	if err != nil {
		return perr.Errorf(perr.Internal, "localstore: writing chunk %x: %w", addr[:], err)
	}
	s.dirty.Store(true)
	s.publish(w, nil)
	return nil
}

// doneWriting unregisters pack id as being written.
func (s *Store) doneWriting(id uint32) {
	s.mu.Lock()
	delete(s.temps, id)
	s.mu.Unlock()
}

// publish adds the entries of the finalized, committed pack w to the
// index. An address the index holds already (intact) keeps its copy, which
// session x, if not nil, then uses. A pack of a Put without a session
// whose chunk turned out to be there already is deleted.
func (s *Store) publish(w *packWriter, x *session) {
	s.mu.Lock()
	p := &pack{size: w.size}
	p.at.Store(s.now().UnixNano())
	s.seq++
	p.seq = s.seq
	s.packs[w.id] = p
	for i := range w.count() {
		e := footerEntry(w.footer, i)
		if old, ok := s.index[e.addr]; ok {
			if !old.damaged() { // written meanwhile by another writer
				if x != nil {
					x.use(old.pack)
				} else if op := s.packs[old.pack]; op != nil {
					op.at.Store(p.at.Load())
				}
				s.markLive(&e.addr)
				continue
			}
			s.dropIndex(e.addr, old)
		}
		s.addIndex(e.addr, makeLoc(w.id, e.off, e.n), p)
	}
	if x != nil {
		x.use(w.id)
	}
	unused := x == nil && p.chunks == 0
	if unused {
		delete(s.packs, w.id)
	}
	s.mu.Unlock()
	if unused {
		os.Remove(filepath.Join(s.packDir, packName(w.id)))
	}
}

// syncDir flushes the packs directory if a pack was renamed since it was
// last flushed.
func (s *Store) syncDir() error {
	if !s.dirty.Swap(false) {
		return nil
	}
	if err := syncDir(s.packDir); err != nil {
		s.dirty.Store(true)
		return perr.Errorf(perr.Internal, "localstore: sync: %w", err)
	}
	return nil
}

// Usage returns the number of chunks in the index and their bytes (span
// ‖ payload): what Get can return, including garbage not yet collected,
// excluding chunks of sessions not yet synced and the record headers,
// footers and dropped records awaiting compaction that PackUsage
// includes. err is always nil.
func (s *Store) Usage() (chunks int64, bytes int64, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.chunks, s.bytes, nil
}

// PackUsage returns the number of finalized packs in the index and the
// bytes of their files.
func (s *Store) PackUsage() (packs int, bytes int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.packs {
		bytes += p.size
	}
	return len(s.packs), bytes
}
