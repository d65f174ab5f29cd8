package localstore

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/personium-go/personium/swarm"
)

// Pack file format constants (see the package comment).
const (
	packMagic    = "psPack01"             // first 8 bytes of a pack
	trailerMagic = "psIndex1"             // last 8 bytes of a finalized pack
	headerSize   = 8                      // len(packMagic)
	recHeader    = swarm.HashSize + 4 + 4 // addr ‖ length ‖ CRC-32C
	entrySize    = swarm.HashSize + 8 + 4 // addr ‖ offset ‖ length
	trailerSize  = 8 + 4 + 4 + 8          // offset ‖ count ‖ CRC-32C ‖ trailerMagic
	maxChunk     = swarm.SpanSize + swarm.ChunkSize
	maxOffset    = 1<<48 - 1 // the largest record offset an index entry holds
	packExt      = ".pack"
	tempPrefix   = ".tmp-"
	packsDir     = "packs"
	lockName     = "LOCK"
	writeBufSize = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is the CRC-32C of addr ‖ chunk, as a record stores it.
func checksum(addr *[swarm.HashSize]byte, chunk []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, addr[:]), castagnoli, chunk)
}

// packName is the file name of the finalized pack id.
func packName(id uint32) string { return fmt.Sprintf("%08x%s", id, packExt) }

// tempName is the file name of pack id while it is written.
func tempName(id uint32) string { return fmt.Sprintf("%s%08x%s", tempPrefix, id, packExt) }

// parsePackName returns the id a finalized pack's file name stands for.
func parsePackName(name string) (uint32, bool) {
	hexID, ok := strings.CutSuffix(name, packExt)
	if !ok || len(hexID) != 8 {
		return 0, false
	}
	id, err := strconv.ParseUint(hexID, 16, 32)
	if err != nil || packName(uint32(id)) != name {
		return 0, false
	}
	return uint32(id), true
}

// loc is where a chunk is: its pack, the offset of its record and the
// chunk's length. It is the value of the in-memory index, kept to 12
// bytes (with the 32-byte key and the map's overhead, about 50–70 bytes
// per chunk).
type loc struct {
	pack uint32
	lo   uint32 // record offset, low 32 bits
	hi   uint16 // record offset, high 16 bits
	n    uint16 // chunk length; damagedBit set once a read found it damaged
}

const damagedBit = 1 << 15

func makeLoc(pack uint32, off int64, n int) loc {
	return loc{pack: pack, lo: uint32(off), hi: uint16(off >> 32), n: uint16(n)}
}

func (l loc) offset() int64 { return int64(l.hi)<<32 | int64(l.lo) }

// size is the chunk's length.
func (l loc) size() int { return int(l.n &^ damagedBit) }

// recBytes is the length of the chunk's record.
func (l loc) recBytes() int64 { return int64(recHeader + l.size()) }

func (l loc) damaged() bool { return l.n&damagedBit != 0 }

// same reports whether l and m name the same record.
func (l loc) same(m loc) bool { return l.pack == m.pack && l.lo == m.lo && l.hi == m.hi }

// entry is one decoded footer entry.
type entry struct {
	addr [swarm.HashSize]byte
	off  int64
	n    int
}

// footerEntry decodes entry i of the footer entries b.
func footerEntry(b []byte, i int) entry {
	e := b[i*entrySize : (i+1)*entrySize]
	return entry{
		addr: [swarm.HashSize]byte(e[:swarm.HashSize]),
		off:  int64(binary.LittleEndian.Uint64(e[swarm.HashSize:])),
		n:    int(binary.LittleEndian.Uint32(e[swarm.HashSize+8:])),
	}
}

// badPack returns an error, wrapping swarm.ErrCorrupt, saying why a pack
// cannot be trusted.
func badPack(format string, args ...any) error {
	return fmt.Errorf("%w: localstore: bad pack: "+format, append([]any{swarm.ErrCorrupt}, args...)...)
}

// readFooter reads and checks the footer of the pack f of size bytes and
// returns its entries (entrySize bytes each). Every entry is checked to
// name a record within the pack, the records following each other from
// the header to the footer; the records themselves are checked when read.
func readFooter(f io.ReaderAt, size int64) ([]byte, error) {
	if size < int64(headerSize+trailerSize) {
		return nil, badPack("%d bytes", size)
	}
	var hdr [headerSize]byte
	var tr [trailerSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return nil, err
	}
	if _, err := f.ReadAt(tr[:], size-trailerSize); err != nil {
		return nil, err
	}
	if string(hdr[:]) != packMagic {
		return nil, badPack("bad header magic")
	}
	if string(tr[16:]) != trailerMagic {
		return nil, badPack("no footer (bad trailer magic)")
	}
	footerOff := int64(binary.LittleEndian.Uint64(tr[0:]))
	count := int64(binary.LittleEndian.Uint32(tr[8:]))
	if footerOff < int64(headerSize) || footerOff > size || (size-trailerSize-footerOff) != count*entrySize {
		return nil, badPack("footer at %d with %d entries in %d bytes", footerOff, count, size)
	}
	entries := make([]byte, count*entrySize)
	if _, err := f.ReadAt(entries, footerOff); err != nil {
		return nil, err
	}
	sum := crc32.Update(crc32.Checksum(entries, castagnoli), castagnoli, tr[:12])
	if sum != binary.LittleEndian.Uint32(tr[12:]) {
		return nil, badPack("footer checksum mismatch")
	}
	next := int64(headerSize)
	for i := range int(count) {
		e := footerEntry(entries, i)
		if e.off != next || e.n < swarm.SpanSize || e.n > maxChunk {
			return nil, badPack("footer entry %d: record at %d of %d bytes, want one at %d", i, e.off, e.n, next)
		}
		next += int64(recHeader + e.n)
	}
	if next != footerOff {
		return nil, badPack("records end at %d, footer at %d", next, footerOff)
	}
	return entries, nil
}

// checkRecord checks a record read from a pack (recHeader + the chunk
// length the index gives) and returns its chunk, a sub-slice of rec.
func checkRecord(rec []byte, addr *[swarm.HashSize]byte) ([]byte, error) {
	chunk := rec[recHeader:]
	switch {
	case !bytes.Equal(rec[:swarm.HashSize], addr[:]):
		return nil, corrupt(addr, "record holds another address")
	case int(binary.LittleEndian.Uint32(rec[swarm.HashSize:])) != len(chunk):
		return nil, corrupt(addr, "record length mismatch")
	case binary.LittleEndian.Uint32(rec[swarm.HashSize+4:]) != checksum(addr, chunk):
		return nil, corrupt(addr, "checksum mismatch")
	}
	return chunk, nil
}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufSize) }}

// packWriter writes one pack, under its temporary name, from the first
// record to the trailer. It is not safe for concurrent use.
type packWriter struct {
	id     uint32
	dir    string
	f      *os.File
	bw     *bufio.Writer
	size   int64             // bytes written so far, header included
	footer []byte            // the entries, entrySize bytes each
	seen   map[uint64]uint32 // first 8 address bytes → entry number; nil: no dedup
}

// createPack creates the temporary file of pack id in dir and writes its
// header. dedup makes has report the chunks already added.
func createPack(dir string, id uint32, dedup bool) (*packWriter, error) {
	f, err := os.OpenFile(filepath.Join(dir, tempName(id)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	w := &packWriter{id: id, dir: dir, f: f, bw: writerPool.Get().(*bufio.Writer)}
	w.bw.Reset(f)
	if dedup {
		w.seen = map[uint64]uint32{}
	}
	if _, err := w.bw.WriteString(packMagic); err != nil {
		w.abandon()
		return nil, err
	}
	w.size = int64(headerSize)
	return w, nil
}

// has reports whether a chunk under addr was added already (only when
// the writer dedups).
func (w *packWriter) has(addr *[swarm.HashSize]byte) bool {
	i, ok := w.seen[binary.LittleEndian.Uint64(addr[:8])]
	return ok && bytes.Equal(w.footer[int(i)*entrySize:int(i)*entrySize+swarm.HashSize], addr[:])
}

// add appends a record; sum is checksum(addr, chunk).
func (w *packWriter) add(addr *[swarm.HashSize]byte, chunk []byte, sum uint32) error {
	if w.size > maxOffset {
		return errors.New("pack too large")
	}
	var h [recHeader]byte
	copy(h[:], addr[:])
	binary.LittleEndian.PutUint32(h[swarm.HashSize:], uint32(len(chunk)))
	binary.LittleEndian.PutUint32(h[swarm.HashSize+4:], sum)
	if _, err := w.bw.Write(h[:]); err != nil {
		return err
	}
	if _, err := w.bw.Write(chunk); err != nil {
		return err
	}
	n := len(w.footer) / entrySize
	w.footer = append(w.footer, addr[:]...)
	w.footer = binary.LittleEndian.AppendUint64(w.footer, uint64(w.size))
	w.footer = binary.LittleEndian.AppendUint32(w.footer, uint32(len(chunk)))
	if w.seen != nil {
		w.seen[binary.LittleEndian.Uint64(addr[:8])] = uint32(n)
	}
	w.size += int64(recHeader + len(chunk))
	return nil
}

// count is the number of records added.
func (w *packWriter) count() int { return len(w.footer) / entrySize }

// finish writes the footer and trailer, flushes the file to stable
// storage and closes it. The pack still has its temporary name.
func (w *packWriter) finish() error {
	if w.count() > 1<<32-1 {
		return errors.New("too many chunks for one pack")
	}
	var tr [trailerSize]byte
	binary.LittleEndian.PutUint64(tr[0:], uint64(w.size))
	binary.LittleEndian.PutUint32(tr[8:], uint32(w.count()))
	sum := crc32.Update(crc32.Checksum(w.footer, castagnoli), castagnoli, tr[:12])
	binary.LittleEndian.PutUint32(tr[12:], sum)
	copy(tr[16:], trailerMagic)
	_, err := w.bw.Write(w.footer)
	if err == nil {
		_, err = w.bw.Write(tr[:])
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = syncData(w.f)
	}
	w.release()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.size += int64(len(w.footer) + trailerSize)
	return err
}

// release returns the write buffer to the pool.
func (w *packWriter) release() {
	if w.bw != nil {
		w.bw.Reset(nil)
		writerPool.Put(w.bw)
		w.bw = nil
	}
}

// commit renames the finished pack to its final name.
func (w *packWriter) commit() error {
	return os.Rename(filepath.Join(w.dir, tempName(w.id)), filepath.Join(w.dir, packName(w.id)))
}

// abandon closes and removes the temporary file, unless finish closed
// it already (then only the file is removed).
func (w *packWriter) abandon() {
	if w.bw != nil {
		w.release()
		w.f.Close()
	}
	os.Remove(filepath.Join(w.dir, tempName(w.id)))
}
