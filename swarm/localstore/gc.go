package localstore

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// clockSlack is subtracted from upload start times in the cutoff: file
// times come from the kernel's coarse clock (or a file system with
// seconds granularity) and may lag time.Now by that much.
const clockSlack = 2 * time.Second

// Stats describe one Collect. Bytes count chunk data (span ‖ payload),
// not the file header or the file system's overhead.
type Stats struct {
	Roots        int   // live references walked
	MissingRoots int   // live references skipped by Options.OnMissing
	KeptChunks   int64 // chunk files left in place
	KeptBytes    int64
	FreedChunks  int64 // chunk files deleted
	FreedBytes   int64
	TempFiles    int // leftover temporary files deleted
}

// BeginUpload announces an upload: until done is called, Collect
// deletes no chunk file written or refreshed since BeginUpload, even if
// no live reference reaches it yet. The WebDAV layer calls it before
// swarm.Upload and calls done after Sync and the commit of the reference
// to metadata (or after giving up). done may be called more than once.
func (s *Store) BeginUpload() (done func()) {
	s.mu.Lock()
	id := s.nextID
	s.nextID++
	s.uploads[id] = time.Now()
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.uploads, id)
			s.mu.Unlock()
		})
	}
}

// liveKey is the key of addr in the marked set: its first 8 bytes. Two
// chunks sharing them can only keep a garbage chunk alive, never lose a
// live one, and the set stays at a few bytes per chunk.
func liveKey(addr *[swarm.HashSize]byte) uint64 { return binary.LittleEndian.Uint64(addr[:8]) }

// markLive adds addr to the marked set if a Collect is running.
func (s *Store) markLive(addr *[swarm.HashSize]byte) {
	s.mu.Lock()
	if s.live != nil {
		s.live[liveKey(addr)] = struct{}{}
	}
	s.mu.Unlock()
}

func (s *Store) isLive(addr *[swarm.HashSize]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
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
// are safe only if their chunks were Put during the Collect or under
// BeginUpload. yield may be called from several goroutines at once.
//
// Every chunk reachable from a root is marked, and so is every chunk Put
// while Collect runs. Then every unmarked chunk file whose modification
// time is before the cutoff is deleted, where
//
//	cutoff = min(start − Options.Grace, start of the oldest upload in progress − 2 s)
//
// (start is when Collect was called; uploads are those between
// BeginUpload and done; the 2 s absorb the coarseness of file times). Put
// refreshes the modification time of a chunk that already exists, so an
// upload that reuses a garbage chunk keeps it. Leftover temporary files
// of a crashed process older than the cutoff are deleted too.
//
// If marking fails (a root or intermediate chunk of a root is missing or
// damaged, a reference is malformed, roots or yield fails, ctx is done)
// nothing is deleted and the error is returned; only a root whose root
// chunk does not exist is handed to Options.OnMissing, which may skip it.
// (Marking reads the intermediate chunks to find the leaves; it does not
// read the leaves.) If the sweep fails half-way, the chunks deleted so far were
// garbage and the Stats count them. Only one Collect runs at a time per
// Store: another gives a perr Conflict error.
func (s *Store) Collect(ctx context.Context, roots func(yield func(swarm.Reference) error) error) (Stats, error) {
	if !s.collecting.TryLock() {
		return Stats{}, perr.Errorf(perr.Conflict, "localstore: a collection is already running")
	}
	defer s.collecting.Unlock()

	s.mu.Lock()
	start := time.Now()
	cutoff := start.Add(-s.opts.Grace)
	for _, t := range s.uploads {
		if c := t.Add(-clockSlack); c.Before(cutoff) {
			cutoff = c
		}
	}
	s.live = map[uint64]struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.live = nil
		s.mu.Unlock()
	}()

	var st Stats
	if err := s.mark(ctx, roots, &st); err != nil {
		return st, err
	}
	err := s.sweep(ctx, cutoff, &st)
	return st, err
}

// mark walks every root, adding the chunks it reaches to s.live.
func (s *Store) mark(ctx context.Context, roots func(yield func(swarm.Reference) error) error, st *Stats) error {
	verify := swarm.TrustChunks // Get checks the checksum
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

// rootMissing reports whether the root chunk file of ref does not exist.
func (s *Store) rootMissing(ref swarm.Reference) bool {
	if len(ref) < swarm.HashSize {
		return false
	}
	_, err := os.Lstat(s.path(ref.Address()))
	return errors.Is(err, fs.ErrNotExist)
}

// parseName returns the address a chunk file name in subdirectory b
// stands for.
func parseName(name string, b byte) (addr [swarm.HashSize]byte, ok bool) {
	if len(name) != 2*swarm.HashSize {
		return addr, false
	}
	if _, err := hex.Decode(addr[:], []byte(name)); err != nil || addr[0] != b || hex.EncodeToString(addr[:]) != name {
		return addr, false
	}
	return addr, true
}

// chunkBytes is the chunk data held in a file of the given size.
func chunkBytes(fi fs.FileInfo) int64 { return max(fi.Size()-headerSize, 0) }

// sweep deletes the unmarked chunk files older than cutoff.
func (s *Store) sweep(ctx context.Context, cutoff time.Time, st *Stats) error {
	for b := range 256 {
		if err := ctx.Err(); err != nil {
			return err
		}
		sub := filepath.Join(s.dir, subdir(byte(b)))
		ents, err := os.ReadDir(sub)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return perr.Errorf(perr.Internal, "localstore: Collect: %w", err)
		}
		for _, e := range ents {
			name := e.Name()
			full := filepath.Join(sub, name)
			if strings.HasPrefix(name, tempPrefix) {
				removed, err := s.removeIfOld(byte(b), full, cutoff, nil)
				if err != nil {
					return err
				}
				if removed != nil {
					st.TempFiles++
				}
				continue
			}
			addr, ok := parseName(name, byte(b))
			if !ok || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return perr.Errorf(perr.Internal, "localstore: Collect: %w", err)
			}
			if !s.isLive(&addr) && fi.ModTime().Before(cutoff) {
				// a candidate: decide again under the stripe lock, so that
				// no Put of this chunk is under way
				removed, err := s.removeIfOld(byte(b), full, cutoff, &addr)
				if err != nil {
					return err
				}
				if removed != nil {
					st.FreedChunks++
					st.FreedBytes += chunkBytes(removed)
					continue
				}
			}
			st.KeptChunks++
			st.KeptBytes += chunkBytes(fi)
		}
	}
	return nil
}

// removeIfOld deletes the file full in subdirectory b if it is older
// than cutoff and (for a chunk, addr != nil) not marked, holding the
// stripe lock so that no Put for that subdirectory is under way. It
// returns the deleted file's info, or nil if the file stays or is gone.
func (s *Store) removeIfOld(b byte, full string, cutoff time.Time, addr *[swarm.HashSize]byte) (fs.FileInfo, error) {
	st := &s.stripes[b]
	st.Lock()
	defer st.Unlock()
	if addr != nil && s.isLive(addr) {
		return nil, nil
	}
	fi, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, perr.Errorf(perr.Internal, "localstore: Collect: %w", err)
	}
	if !fi.Mode().IsRegular() || !fi.ModTime().Before(cutoff) {
		return nil, nil
	}
	if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, perr.Errorf(perr.Internal, "localstore: Collect: %w", err)
	}
	return fi, nil
}

// Usage returns the number of chunks stored and their bytes (span ‖
// payload). It reads every subdirectory and the size of every chunk
// file, so it is for reports and tests, not for every request.
func (s *Store) Usage() (chunks int64, bytes int64, err error) {
	for b := range 256 {
		sub := filepath.Join(s.dir, subdir(byte(b)))
		ents, err := os.ReadDir(sub)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, 0, perr.Errorf(perr.Internal, "localstore: Usage: %w", err)
		}
		for _, e := range ents {
			if _, ok := parseName(e.Name(), byte(b)); !ok || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return 0, 0, perr.Errorf(perr.Internal, "localstore: Usage: %w", err)
			}
			chunks++
			bytes += chunkBytes(fi)
		}
	}
	return chunks, bytes, nil
}
