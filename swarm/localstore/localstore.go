// Package localstore is the embedded default content store: Swarm chunks
// kept one file per chunk in a directory on local disk, with garbage
// collection of the chunks no live reference reaches any more.
//
// # Layout
//
// The chunk with address A (64 hex digits a0a1…) is the file
// dir/a0a1/A: one level of 256 subdirectories by the address's first
// byte. Two levels (65536 directories) filled about half as fast on ext4
// in our measurements, each new chunk dirtying a directory of its own;
// one level keeps directories at a few thousand entries up to a million
// chunks (4 GiB), and hashed directories handle far more. A file is
//
//	offset 0  4 bytes  magic "psc1"
//	offset 4  4 bytes  CRC-32C (Castagnoli), little-endian, of A ‖ chunk
//	offset 8  chunk: 8-byte span ‖ payload (8 to 4104 bytes)
//
// Because the checksum covers the address too, Get detects a flipped bit,
// a truncated or over-long file and a file holding another chunk, and
// reports an error wrapping swarm.ErrCorrupt instead of returning wrong
// bytes (up to CRC-32C's 2⁻³² chance of missing random damage; set
// Options.VerifyBMT for a cryptographic check on every read).
//
// # Writes and durability
//
// Put writes a temporary file (".tmp-…") in the chunk's subdirectory and
// renames it into place, so no reader ever sees a partly written chunk
// under its final name. On Linux Put does not fsync: Sync flushes the
// whole file system once (syncfs(2)), which the caller does after the last
// Put of an upload and before committing its reference. Measured on ext4,
// that one call adds 5–25% to the time spent writing the chunks; an fsync
// per chunk made writing ten times slower. After a power failure, chunks
// Put since the last Sync may be missing or fail their checksum (never
// silently wrong): no committed reference needs them, a later Put of the
// same chunk rewrites a damaged file, and Collect removes the rest. On
// other systems every Put fsyncs its file and directory before
// returning, and Sync has nothing left to do.
//
// # Garbage collection
//
// Collect marks every chunk reachable from the live references the caller
// enumerates and deletes the unmarked chunk files older than a cutoff;
// see Collect for the rules that keep concurrent uploads safe. Only one
// process may use a directory at a time (the LOCK file is locked with
// flock(2) where available), since the protection of concurrent uploads
// lives in memory.
package localstore

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// File format constants.
const (
	magic      = "psc1"
	headerSize = 8
	maxChunk   = swarm.SpanSize + swarm.ChunkSize
	maxFile    = headerSize + maxChunk
	tempPrefix = ".tmp-"
	lockName   = "LOCK"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// DefaultGrace is a sensible Options.Grace for a server: an hour.
const DefaultGrace = time.Hour

// Options configure a Store. The zero value is valid.
type Options struct {
	// VerifyBMT makes Get recompute every chunk's BMT address besides
	// checking its CRC-32C: a cryptographic check, at about a fifth of
	// the read speed (measured: Get 66 MB/s instead of 310 MB/s). The
	// store is SelfVerifying either way.
	VerifyBMT bool
	// Grace protects unreferenced chunk files younger than this from
	// Collect, for writers that do not announce themselves with
	// BeginUpload. Zero means no such protection; DefaultGrace suits a
	// server.
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
}

// Store is a chunk store in one directory. It is safe for concurrent
// use. It implements swarm.Store and swarm.SelfVerifying.
type Store struct {
	dir  string
	opts Options
	lock *os.File // dir/LOCK, held for the Store's life
	// stripes[b] is held shared by Put for chunks whose address starts
	// with b, and exclusively by Collect while it deletes one of them.
	stripes [256]sync.RWMutex

	collecting sync.Mutex // held by the running Collect

	mu      sync.Mutex
	live    map[uint64]struct{} // marked chunks; nil unless Collect runs
	uploads map[uint64]time.Time
	nextID  uint64
}

var (
	_ swarm.Store         = (*Store)(nil)
	_ swarm.SelfVerifying = (*Store)(nil)
)

// Open opens the store in dir, creating the directory if needed. The
// directory is locked against other processes (and other Stores) until
// Close; a directory in use gives a perr Conflict error.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
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
	return &Store{dir: dir, opts: opts, lock: lf, uploads: map[uint64]time.Time{}}, nil
}

// Close releases the directory. The Store must not be used afterwards.
func (s *Store) Close() error {
	return s.lock.Close()
}

// SelfVerifying reports true: every Get checks a checksum (and with
// Options.VerifyBMT the address too), so readers need not re-hash.
func (s *Store) SelfVerifying() bool { return true }

// subdir returns the name of the subdirectory for addresses starting
// with byte b.
func subdir(b byte) string { return hex.EncodeToString([]byte{b}) }

// path returns the file name of the chunk at addr.
func (s *Store) path(addr [swarm.HashSize]byte) string {
	return filepath.Join(s.dir, subdir(addr[0]), hex.EncodeToString(addr[:]))
}

// checksum is the CRC-32C of addr ‖ chunk.
func checksum(addr *[swarm.HashSize]byte, chunk []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, addr[:]), castagnoli, chunk)
}

func notExist(addr *[swarm.HashSize]byte) error {
	return perr.Errorf(perr.NotExist, "localstore: no chunk %x", addr[:])
}

func corrupt(addr *[swarm.HashSize]byte, why string) error {
	return fmt.Errorf("%w: localstore: chunk %x: %s", swarm.ErrCorrupt, addr[:], why)
}

// Get returns the chunk stored under addr after checking its checksum
// (and its BMT address with Options.VerifyBMT).
func (s *Store) Get(ctx context.Context, addr [swarm.HashSize]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	buf := make([]byte, maxFile+1)
	chunk, err := s.read(s.path(addr), &addr, buf)
	if err != nil {
		return nil, err
	}
	if s.opts.VerifyBMT {
		if err := swarm.VerifyBMT(addr, chunk); err != nil {
			return nil, err
		}
	}
	return chunk, nil
}

// read reads and checks the chunk file name into buf (maxFile+1 bytes)
// and returns the chunk, a sub-slice of buf.
func (s *Store) read(name string, addr *[swarm.HashSize]byte, buf []byte) ([]byte, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notExist(addr)
	}
	if err != nil {
		return nil, perr.Errorf(perr.Internal, "localstore: %w", err)
	}
	n, err := io.ReadFull(f, buf)
	f.Close()
	switch {
	case err == nil:
		return nil, corrupt(addr, "file too long")
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return nil, perr.Errorf(perr.Internal, "localstore: %w", err)
	case n < headerSize+swarm.SpanSize:
		return nil, corrupt(addr, fmt.Sprintf("file of %d bytes", n))
	case string(buf[:4]) != magic:
		return nil, corrupt(addr, "bad magic")
	}
	chunk := buf[headerSize:n]
	if binary.LittleEndian.Uint32(buf[4:headerSize]) != checksum(addr, chunk) {
		return nil, corrupt(addr, "checksum mismatch")
	}
	return chunk, nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, maxFile+1); return &b }}

// Put stores chunk under addr. It does not check that addr is the
// chunk's address (see swarm.Store). If an intact file for addr exists,
// Put only sets its modification time to now, which tells a concurrent
// Collect the chunk is wanted again; a damaged one is replaced.
func (s *Store) Put(ctx context.Context, addr [swarm.HashSize]byte, chunk []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(chunk) < swarm.SpanSize || len(chunk) > maxChunk {
		return perr.Errorf(perr.Invalid, "localstore: chunk of %d bytes", len(chunk))
	}
	st := &s.stripes[addr[0]]
	st.RLock()
	defer st.RUnlock()
	s.markLive(&addr)

	name := s.path(addr)
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	_, err := s.read(name, &addr, buf)
	switch {
	case err == nil:
		if err := os.Chtimes(name, time.Time{}, time.Now()); err != nil {
			return perr.Errorf(perr.Internal, "localstore: %w", err)
		}
		return syncExisting(name)
	case !perr.Is(err, perr.NotExist) && !errors.Is(err, swarm.ErrCorrupt):
		return err
	}

	buf = buf[:headerSize+len(chunk)]
	copy(buf, magic)
	binary.LittleEndian.PutUint32(buf[4:headerSize], checksum(&addr, chunk))
	copy(buf[headerSize:], chunk)
	if err := writeAtomic(name, buf); err != nil {
		return perr.Errorf(perr.Internal, "localstore: writing chunk %x: %w", addr[:], err)
	}
	return nil
}

// writeAtomic writes data to a temporary file beside name and renames it
// to name, creating the directory if needed.
func writeAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.Mkdir(dir, 0o700); err == nil || errors.Is(err, fs.ErrExist) {
			if err = syncDir(filepath.Dir(dir)); err == nil {
				f, err = os.CreateTemp(dir, tempPrefix+"*")
			}
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(dir)
}

// Sync makes every chunk Put so far durable. On Linux it flushes the
// file system holding the store (syncfs(2)): one call per uploaded file,
// after its last Put and before its reference is committed.
func (s *Store) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := syncAll(s.lock); err != nil {
		return perr.Errorf(perr.Internal, "localstore: sync: %w", err)
	}
	return nil
}
