package localstore

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// Stats describe one Collect. Chunk bytes are span ‖ payload; DiskFreed
// counts pack file bytes.
type Stats struct {
	Roots          int   // live references walked
	MissingRoots   int   // live references skipped by Options.OnMissing
	KeptChunks     int64 // chunks in the index after the collection
	KeptBytes      int64
	FreedChunks    int64 // garbage chunks dropped from the index
	FreedBytes     int64
	PacksDeleted   int   // packs without live chunks, deleted
	PacksCompacted int   // packs less than half live, rewritten
	DiskFreed      int64 // bytes of pack files given back to the file system
	TempFiles      int   // temporary packs no writer owned, deleted
}

// liveKey is the key of addr in the marked set.
func liveKey(addr *[swarm.HashSize]byte) uint64 { return binary.LittleEndian.Uint64(addr[:8]) }

// isLive reports whether addr is marked; s.liveMu is held.
func (s *Store) isLive(addr *[swarm.HashSize]byte) bool {
	_, ok := s.live[liveKey(addr)]
	return ok
}

// Collect deletes the chunks no live reference reaches, mark and sweep.
//
// roots must call yield once for every live reference (32 or 64 bytes;
// encrypted references are walked with their keys) and return the first
// error yield returns. Everything live at any moment during the call must
// be enumerated, so roots should read a consistent snapshot of the
// metadata taken after Collect was called; references committed later
// are safe only if their chunks were Put during the Collect or in an
// upload session (BeginUpload) still open when the Collect started or
// begun since. yield may be called from several goroutines at once.
//
// Every chunk reachable from a root is marked, and so is every chunk a
// Put finds already stored (deduplicates) while Collect runs. Then the
// packs are swept, except those
//
//   - finalized after Collect was called (by a session's Sync, a Put
//     without a session, or this Collect),
//   - written or deduplicated from by an upload session open when
//     Collect was called or since,
//   - finalized, or deduplicated from by a Put without a session, less
//     than Options.Grace before Collect was called.
//
// A swept pack without a marked chunk is deleted; one whose marked
// chunks' records fill less than half of its file is compacted: they are
// copied into a new pack, made durable, the index switches to it and the
// old pack is deleted (a compaction aborts, keeping the old pack, if a Put
// deduplicates one of its unmarked chunks meanwhile). The unmarked
// chunks of the other swept packs are dropped from the index, their bytes
// staying on disk until their pack is compacted. Temporary packs no
// writer owns (a failed write's) are deleted too.
//
// If marking fails (a root or intermediate chunk of a root is missing or
// damaged, a reference is malformed, roots or yield fails, ctx is done)
// nothing is deleted and the error is returned; only a root whose root
// chunk does not exist is handed to Options.OnMissing, which may skip it.
// (Marking reads the intermediate chunks to find the leaves; it does not
// read the leaves.) If the sweep fails, what it deleted was garbage and
// the Stats count it; a compaction that finds a damaged live chunk keeps
// its pack and the error, wrapping swarm.ErrCorrupt, is returned after
// the other packs are swept. Only one Collect runs at a time per Store:
// another gives a perr Conflict error.
func (s *Store) Collect(ctx context.Context, roots func(yield func(swarm.Reference) error) error) (Stats, error) {
	if !s.collecting.TryLock() {
		return Stats{}, perr.Errorf(perr.Conflict, "localstore: a collection is already running")
	}
	defer s.collecting.Unlock()

	s.mu.Lock()
	startSeq := s.seq
	cutoff := s.now().Add(-s.opts.Grace).UnixNano()
	// a session open now keeps its packs until the sweep is over, even if
	// it ends sooner: it may have deduplicated chunks before the Collect
	// started (so they are not marked) and commit its reference after
	// roots read the metadata
	for x := range s.sessions {
		s.gcSessions = append(s.gcSessions, x)
	}
	s.liveMu.Lock()
	s.live = map[uint64]struct{}{}
	s.liveMu.Unlock()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.gcSessions = nil
		s.mu.Unlock()
		s.liveMu.Lock()
		s.live = nil
		s.liveMu.Unlock()
	}()

	var st Stats
	err := s.mark(ctx, roots, &st)
	if err == nil {
		err = s.sweep(ctx, startSeq, cutoff, &st)
	}
	st.KeptChunks, st.KeptBytes, _ = s.Usage()
	return st, err
}

// mark walks every root, adding the chunks it reaches to s.live.
func (s *Store) mark(ctx context.Context, roots func(yield func(swarm.Reference) error) error, st *Stats) error {
	verify := swarm.TrustChunks // Get checks the records
	get := func(addr [swarm.HashSize]byte) ([]byte, error) { return s.Get(ctx, addr) }
	markFn := func(addr [swarm.HashSize]byte) error {
		s.markLive(&addr)
		return nil
	}
	var (
		mu     sync.Mutex
		failed error
	)
	fail := func(err error) error {
		mu.Lock()
		defer mu.Unlock()
		if failed == nil {
			failed = err
		}
		return failed
	}
	yield := func(ref swarm.Reference) error {
		mu.Lock()
		err := failed
		mu.Unlock()
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		err = swarm.Walk(ref, get, verify, markFn)
		if err != nil && perr.Is(err, perr.NotExist) && s.opts.OnMissing != nil && s.rootMissing(ref) {
			if err = s.opts.OnMissing(ref, err); err == nil {
				mu.Lock()
				st.MissingRoots++
				mu.Unlock()
				return nil
			}
		}
		if err != nil {
			return fail(fmt.Errorf("localstore: Collect: root %s: %w", ref, err))
		}
		mu.Lock()
		st.Roots++
		mu.Unlock()
		return nil
	}
	err := roots(yield)
	if ferr := fail(nil); ferr != nil { // yield failed, even if roots swallowed it
		return ferr
	}
	if err != nil {
		return fmt.Errorf("localstore: Collect: enumerating roots: %w", err)
	}
	return ctx.Err()
}

// rootMissing reports whether the index lacks the root chunk of ref.
func (s *Store) rootMissing(ref swarm.Reference) bool {
	if len(ref) < swarm.HashSize {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.index[ref.Address()]
	return !ok
}

// inUse returns the packs the upload sessions open now or when the
// running Collect started use; s.mu is held.
func (s *Store) inUse() map[uint32]bool {
	used := map[uint32]bool{}
	add := func(x *session) {
		x.umu.Lock()
		for id := range x.used {
			used[id] = true
		}
		x.umu.Unlock()
	}
	for x := range s.sessions {
		add(x)
	}
	for _, x := range s.gcSessions {
		add(x)
	}
	return used
}

// plan is what the sweep decided for one pack.
type plan struct {
	live    int   // marked chunks
	liveRec int64 // their records' bytes
	del     bool
	compact bool
}

// sweep deletes, compacts or trims the packs finalized up to startSeq
// and before cutoff that no open session uses.
func (s *Store) sweep(ctx context.Context, startSeq uint64, cutoff int64, st *Stats) error {
	if err := s.removeTemps(st); err != nil {
		return err
	}
	// decide, and drop garbage from the index, in one critical section:
	// no Put is deduplicating meanwhile
	s.mu.Lock()
	s.liveMu.Lock()
	used := s.inUse()
	plans := map[uint32]*plan{}
	for id, p := range s.packs {
		if p.seq <= startSeq && p.at.Load() < cutoff && !used[id] {
			plans[id] = &plan{}
		}
	}
	var dels, compacts []uint32
	sizes := map[uint32]int64{}
	if len(plans) > 0 {
		for addr, l := range s.index {
			if pl := plans[l.pack]; pl != nil && s.isLive(&addr) {
				pl.live++
				pl.liveRec += l.recBytes()
			}
		}
		for id, pl := range plans {
			switch {
			case pl.live == 0:
				pl.del = true
				dels = append(dels, id)
			case 2*pl.liveRec < s.packs[id].size:
				pl.compact = true
				compacts = append(compacts, id)
			}
		}
		for addr, l := range s.index {
			if pl := plans[l.pack]; pl != nil && !pl.compact && (pl.del || !s.isLive(&addr)) {
				s.dropIndex(addr, l)
				st.FreedChunks++
				st.FreedBytes += int64(l.size())
			}
		}
		for _, id := range dels {
			sizes[id] = s.packs[id].size
			delete(s.packs, id)
		}
	}
	s.liveMu.Unlock()
	s.mu.Unlock()

	var errs []error
	for _, id := range dels {
		s.evict(id)
		if err := os.Remove(filepath.Join(s.packDir, packName(id))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// out of the index all the same; back after a restart, as garbage
			errs = append(errs, perr.Errorf(perr.Internal, "localstore: Collect: %w", err))
			continue
		}
		st.PacksDeleted++
		st.DiskFreed += sizes[id]
	}
	slices.Sort(compacts)
	for _, id := range compacts {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := s.compact(ctx, id, st); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeTemps deletes the temporary packs no writer owns.
func (s *Store) removeTemps(st *Stats) error {
	ents, err := os.ReadDir(s.packDir)
	if err != nil {
		return perr.Errorf(perr.Internal, "localstore: Collect: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, tempPrefix)
		if !ok {
			continue
		}
		if id, ok := parsePackName(rest); ok {
			s.mu.RLock()
			_, busy := s.temps[id]
			s.mu.RUnlock()
			if busy {
				continue
			}
		}
		// a temporary pack seen in the directory was registered before
		// it was created; unregistered now, its writer has finished
		if err := os.Remove(filepath.Join(s.packDir, name)); err == nil {
			st.TempFiles++
		} else if !errors.Is(err, fs.ErrNotExist) {
			return perr.Errorf(perr.Internal, "localstore: Collect: %w", err)
		}
	}
	return nil
}

// compact copies the marked chunks of pack id into a new pack and
// replaces it.
func (s *Store) compact(ctx context.Context, id uint32, st *Stats) error {
	s.mu.RLock()
	p := s.packs[id]
	s.mu.RUnlock()
	if p == nil {
		return nil
	}
	f, err := os.Open(filepath.Join(s.packDir, packName(id)))
	if err != nil {
		return perr.Errorf(perr.Internal, "localstore: Collect: compacting: %w", err)
	}
	defer f.Close()
	entries, err := readFooter(f, p.size)
	if err != nil {
		return fmt.Errorf("localstore: Collect: compacting %s: %w", packName(id), err)
	}
	nid, err := s.newID()
	if err != nil {
		return err
	}
	defer s.doneWriting(nid)
	w, err := createPack(s.packDir, nid, true)
	if err != nil {
		return perr.Errorf(perr.Internal, "localstore: Collect: compacting: %w", err)
	}
	if err := s.copyLive(ctx, f, id, entries, w); err != nil {
		w.abandon()
		return err
	}
	err = w.finish()
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		w.abandon()
		return perr.Errorf(perr.Internal, "localstore: Collect: compacting: %w", err)
	}
	newName := filepath.Join(s.packDir, packName(nid))
	s.dirty.Store(true)
	if err := s.syncDir(); err != nil {
		os.Remove(newName)
		return err
	}

	if s.hookBeforeSwap != nil {
		s.hookBeforeSwap()
	}
	s.mu.Lock()
	s.liveMu.Lock()
	abort := s.inUse()[id]
	for i := range len(entries) / entrySize {
		if abort {
			break
		}
		e := footerEntry(entries, i)
		l, ok := s.index[e.addr]
		// a chunk of the pack not copied but deduplicated since
		abort = ok && l.pack == id && s.isLive(&e.addr) && !w.has(&e.addr)
	}
	if !abort {
		np := &pack{size: w.size}
		np.at.Store(s.now().UnixNano())
		s.seq++
		np.seq = s.seq
		s.packs[nid] = np
		for i := range w.count() {
			e := footerEntry(w.footer, i)
			if l, ok := s.index[e.addr]; ok && l.pack == id {
				s.dropIndex(e.addr, l)
				s.addIndex(e.addr, makeLoc(nid, e.off, e.n), np)
			}
		}
		for i := range len(entries) / entrySize {
			e := footerEntry(entries, i)
			if l, ok := s.index[e.addr]; ok && l.pack == id {
				s.dropIndex(e.addr, l)
				st.FreedChunks++
				st.FreedBytes += int64(l.size())
			}
		}
		delete(s.packs, id)
	}
	s.liveMu.Unlock()
	s.mu.Unlock()

	if abort {
		os.Remove(newName)
		return nil
	}
	s.evict(id)
	if err := os.Remove(filepath.Join(s.packDir, packName(id))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return perr.Errorf(perr.Internal, "localstore: Collect: %w", err)
	}
	st.PacksCompacted++
	st.DiskFreed += p.size - w.size
	return nil
}

// copyLive appends to w the chunks of pack id (open as f, with footer
// entries) that are in the index and marked, reading the pack in order.
func (s *Store) copyLive(ctx context.Context, f *os.File, id uint32, entries []byte, w *packWriter) error {
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<62), writeBufSize)
	pos := int64(0)
	rec := make([]byte, recHeader+maxChunk)
	for i := range len(entries) / entrySize {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := footerEntry(entries, i)
		s.mu.RLock()
		s.liveMu.Lock()
		l, ok := s.index[e.addr]
		keep := ok && l.pack == id && l.offset() == e.off && s.isLive(&e.addr)
		s.liveMu.Unlock()
		s.mu.RUnlock()
		if !keep {
			continue
		}
		if _, err := r.Discard(int(e.off - pos)); err != nil {
			return corrupt(&e.addr, fmt.Sprintf("pack %s is truncated", packName(id)))
		}
		b := rec[:recHeader+e.n]
		if _, err := io.ReadFull(r, b); err != nil {
			return corrupt(&e.addr, fmt.Sprintf("pack %s is truncated", packName(id)))
		}
		pos = e.off + int64(len(b))
		chunk, err := checkRecord(b, &e.addr)
		if err != nil {
			s.setDamaged(&e.addr, l)
			return fmt.Errorf("localstore: Collect: compacting %s: %w", packName(id), err)
		}
		if err := w.add(&e.addr, chunk, binary.LittleEndian.Uint32(b[swarm.HashSize+4:])); err != nil {
			return perr.Errorf(perr.Internal, "localstore: Collect: compacting: %w", err)
		}
	}
	return nil
}
