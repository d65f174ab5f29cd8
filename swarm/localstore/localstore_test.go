package localstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
	"github.com/personium-go/personium/swarm/swarmtest"
)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopen closes st and opens its directory again.
func reopen(t testing.TB, st *Store, opts Options) *Store {
	t.Helper()
	st.Close()
	s, err := Open(st.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sessionStore runs every Put in one upload session and syncs it before
// every Get, so that the conformance suite (which reads right after
// writing) runs against the session path.
type sessionStore struct {
	st  *Store
	ctx context.Context // carries the session
}

func (w *sessionStore) Put(ctx context.Context, addr [swarm.HashSize]byte, chunk []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.st.Put(w.ctx, addr, chunk)
}

func (w *sessionStore) Get(ctx context.Context, addr [swarm.HashSize]byte) ([]byte, error) {
	if err := w.st.Sync(w.ctx); err != nil {
		return nil, err
	}
	return w.st.Get(ctx, addr)
}

func (w *sessionStore) SelfVerifying() bool { return true }

func TestConformance(t *testing.T) {
	for _, vb := range []bool{false, true} {
		t.Run(fmt.Sprintf("session=no/verifyBMT=%v", vb), func(t *testing.T) {
			swarmtest.Run(t, func(t *testing.T) swarm.Store { return openTest(t, Options{VerifyBMT: vb}) })
		})
		t.Run(fmt.Sprintf("session=yes/verifyBMT=%v", vb), func(t *testing.T) {
			swarmtest.Run(t, func(t *testing.T) swarm.Store {
				st := openTest(t, Options{VerifyBMT: vb})
				ctx, done := st.BeginUpload(context.Background())
				t.Cleanup(done)
				return &sessionStore{st: st, ctx: ctx}
			})
		})
	}
}

func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	rng.Read(b)
	return b
}

// uploadIn uploads data in the session ctx carries and syncs it.
func uploadIn(t testing.TB, ctx context.Context, st *Store, data []byte, enc bool) swarm.Reference {
	t.Helper()
	opts := swarm.Options{Encrypt: enc, Rand: rand.NewChaCha8([32]byte{byte(len(data)), 1})}
	ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	return ref
}

// upload uploads data in a session of its own, as the WebDAV layer does.
func upload(t testing.TB, st *Store, data []byte, enc bool) swarm.Reference {
	t.Helper()
	ctx, done := st.BeginUpload(context.Background())
	defer done()
	return uploadIn(t, ctx, st, data, enc)
}

// chunksOf returns the addresses of ref's chunks, root first.
func chunksOf(t testing.TB, st *Store, ref swarm.Reference) [][swarm.HashSize]byte {
	t.Helper()
	var out [][swarm.HashSize]byte
	get := func(a [swarm.HashSize]byte) ([]byte, error) { return st.Get(context.Background(), a) }
	if err := swarm.Walk(ref, get, nil, func(a [swarm.HashSize]byte) error { out = append(out, a); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// readAll reads ref through swarm.Open.
func readAll(st *Store, ref swarm.Reference) ([]byte, error) {
	r, err := swarm.Open(context.Background(), st, ref)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// packFiles returns the names of the finalized packs on disk.
func packFiles(t testing.TB, st *Store) []string {
	t.Helper()
	return listPacks(t, st, func(name string) bool { _, ok := parsePackName(name); return ok })
}

// tempFiles returns the names of the temporary packs on disk.
func tempFiles(t testing.TB, st *Store) []string {
	t.Helper()
	return listPacks(t, st, func(name string) bool { return strings.HasPrefix(name, tempPrefix) })
}

func listPacks(t testing.TB, st *Store, keep func(string) bool) []string {
	ents, err := os.ReadDir(st.packDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if keep(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

// where returns the index entry of addr and its pack's file name.
func where(t testing.TB, st *Store, addr [swarm.HashSize]byte) (loc, string) {
	t.Helper()
	st.mu.RLock()
	defer st.mu.RUnlock()
	l, ok := st.index[addr]
	if !ok {
		t.Fatalf("chunk %x not in the index", addr[:4])
	}
	return l, filepath.Join(st.packDir, packName(l.pack))
}

// overwrite writes b at off in file name.
func overwrite(t testing.TB, name string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestPackLayout(t *testing.T) {
	st := openTest(t, Options{})
	ref := upload(t, st, []byte("hello world"), false)
	packs := packFiles(t, st)
	if len(packs) != 1 {
		t.Fatalf("packs %v, want one", packs)
	}
	b, err := os.ReadFile(filepath.Join(st.packDir, packs[0]))
	if err != nil {
		t.Fatal(err)
	}
	addr := ref.Address()
	chunk := append(binary.LittleEndian.AppendUint64(nil, 11), "hello world"...)
	want := []byte(packMagic)
	want = append(want, addr[:]...)
	want = binary.LittleEndian.AppendUint32(want, uint32(len(chunk)))
	want = binary.LittleEndian.AppendUint32(want, checksum(&addr, chunk))
	want = append(want, chunk...)
	footerOff := len(want)
	want = append(want, addr[:]...)
	want = binary.LittleEndian.AppendUint64(want, headerSize)
	want = binary.LittleEndian.AppendUint32(want, uint32(len(chunk)))
	want = binary.LittleEndian.AppendUint64(want, uint64(footerOff))
	want = binary.LittleEndian.AppendUint32(want, 1)
	if !bytes.Equal(b[:len(want)], want) || len(b) != len(want)+4+len(trailerMagic) ||
		string(b[len(b)-len(trailerMagic):]) != trailerMagic {
		t.Errorf("pack file\n%q\nwant\n%q + CRC + %q", b, want, trailerMagic)
	}
	if err := st.Put(context.Background(), ref.Address(), make([]byte, 3)); !perr.Is(err, perr.Invalid) {
		t.Errorf("Put of a 3-byte chunk: %v, want Invalid", err)
	}
}

// TestSessionLifecycle: a session's chunks are readable after Sync, not
// before; ending a session without Sync leaves nothing behind; Sync may
// be called again for more chunks.
func TestSessionLifecycle(t *testing.T) {
	bg := context.Background()
	st := openTest(t, Options{})
	data := randomData(3, 10*swarm.ChunkSize)

	ctx, done := st.BeginUpload(bg)
	ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(bg, ref.Address()); !perr.Is(err, perr.NotExist) {
		t.Errorf("Get before Sync: %v, want NotExist", err)
	}
	if tf := tempFiles(t, st); len(tf) != 1 {
		t.Errorf("temporary packs during the upload: %v", tf)
	}
	done()
	done()
	if tf, pf := tempFiles(t, st), packFiles(t, st); len(tf)+len(pf) != 0 {
		t.Errorf("an abandoned session left %v %v", tf, pf)
	}
	if err := st.Put(ctx, ref.Address(), make([]byte, 8)); !perr.Is(err, perr.Invalid) {
		t.Errorf("Put after the session ended: %v, want Invalid", err)
	}
	if err := st.Sync(ctx); !perr.Is(err, perr.Invalid) {
		t.Errorf("Sync after the session ended: %v, want Invalid", err)
	}
	if n, _ := usage(t, st); n != 0 {
		t.Errorf("Usage %d chunks after an abandoned upload", n)
	}

	ctx, done = st.BeginUpload(bg)
	defer done()
	ref1 := uploadIn(t, ctx, st, data, false)
	mustRead(t, st, ref1, data)
	data2 := randomData(4, 3*swarm.ChunkSize)
	ref2 := uploadIn(t, ctx, st, data2, false)
	mustRead(t, st, ref2, data2)
	if pf := packFiles(t, st); len(pf) != 2 {
		t.Errorf("packs after two Syncs: %v", pf)
	}
	if err := st.Sync(ctx); err != nil { // nothing new
		t.Fatal(err)
	}
	if pf := packFiles(t, st); len(pf) != 2 {
		t.Errorf("packs after an empty Sync: %v", pf)
	}
}

// TestDedup: content the store holds is not written again, and repeated
// chunks within one upload are written once.
func TestDedup(t *testing.T) {
	st := openTest(t, Options{})
	data := randomData(5, 50*swarm.ChunkSize)
	upload(t, st, data, false)
	_, b0 := st.PackUsage()
	ref := upload(t, st, data, false)
	if n, b1 := st.PackUsage(); n != 1 || b1 != b0 {
		t.Errorf("second upload of the same content: %d packs, %d → %d bytes", n, b0, b1)
	}
	mustRead(t, st, ref, data)

	zeros := make([]byte, 300*swarm.ChunkSize)
	zref := upload(t, st, zeros, false)
	mustRead(t, st, zref, zeros)
	if _, b2 := st.PackUsage(); b2-b0 > 4*(recHeader+maxChunk+entrySize)+headerSize+trailerSize {
		t.Errorf("a file of zeros (4 distinct chunks) took %d bytes", b2-b0)
	}
	// and without a session
	ctx := context.Background()
	if _, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{}); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.PackUsage(); n != 2 {
		t.Errorf("%d packs after a duplicate upload without a session, want 2", n)
	}
}

func TestReopen(t *testing.T) {
	st := openTest(t, Options{})
	a, b := randomData(6, 130*swarm.ChunkSize+5), randomData(7, 7)
	refA, refB := upload(t, st, a, true), upload(t, st, b, false)
	if err := st.Put(context.Background(), swarm.ChunkAddress(3, []byte("abc")), append(binary.LittleEndian.AppendUint64(nil, 3), "abc"...)); err != nil {
		t.Fatal(err)
	}
	n0, b0 := usage(t, st)
	st = reopen(t, st, Options{OnBadPack: func(name string, err error) { t.Errorf("bad pack %s: %v", name, err) }})
	if n1, b1 := usage(t, st); n1 != n0 || b1 != b0 {
		t.Errorf("Usage %d chunks %d bytes, after reopening %d %d", n0, b0, n1, b1)
	}
	mustRead(t, st, refA, a)
	mustRead(t, st, refB, b)
	// new packs do not reuse ids
	refC := upload(t, st, randomData(8, 100), false)
	if pf := packFiles(t, st); len(pf) != 4 {
		t.Errorf("packs %v, want 4", pf)
	}
	mustRead(t, st, refC, randomData(8, 100))
}

// recDamage is a way to break a chunk's record (rec, read from the pack);
// other is another record.
type recDamage struct {
	name string
	fn   func(rec, other []byte) []byte
}

var recDamages = []recDamage{
	{"flip-address", func(b, _ []byte) []byte { b[0] ^= 1; return b }},
	{"flip-length", func(b, _ []byte) []byte { b[swarm.HashSize] ^= 1; return b }},
	{"flip-checksum", func(b, _ []byte) []byte { b[swarm.HashSize+5] ^= 1; return b }},
	{"flip-span", func(b, _ []byte) []byte { b[recHeader] ^= 1; return b }},
	{"flip-last-payload-bit", func(b, _ []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
	{"zeroed", func(b, _ []byte) []byte { return make([]byte, len(b)) }},
	{"other-record", func(b, other []byte) []byte { copy(b, other); return b }},
}

func TestCorruptionDetected(t *testing.T) {
	ctx := context.Background()
	data := randomData(1, 3*swarm.ChunkSize+100) // root + 4 leaves
	for _, d := range recDamages {
		for _, target := range []string{"root", "leaf"} {
			t.Run(d.name+"/"+target, func(t *testing.T) {
				st := openTest(t, Options{})
				ref := upload(t, st, data, false)
				addrs := chunksOf(t, st, ref)
				victim, other := addrs[0], addrs[2]
				if target == "leaf" {
					victim, other = addrs[2], addrs[3]
				}
				orig, err := st.Get(ctx, victim)
				if err != nil {
					t.Fatal(err)
				}
				l, name := where(t, st, victim)
				lo, _ := where(t, st, other)
				b, _ := os.ReadFile(name)
				rec := bytes.Clone(b[l.offset() : l.offset()+l.recBytes()])
				orec := b[lo.offset() : lo.offset()+lo.recBytes()]
				overwrite(t, name, l.offset(), d.fn(rec, orec))

				if c, err := st.Get(ctx, victim); !errors.Is(err, swarm.ErrCorrupt) || !perr.Is(err, perr.Internal) {
					t.Errorf("Get: %d bytes, %v; want an error wrapping ErrCorrupt", len(c), err)
				}
				got, err := readAll(st, ref)
				if !errors.Is(err, swarm.ErrCorrupt) {
					t.Errorf("read through swarm.Open: %v, want ErrCorrupt", err)
				}
				if !bytes.HasPrefix(data, got) {
					t.Errorf("read through swarm.Open returned wrong bytes")
				}
				if target == "leaf" {
					r, err := swarm.Open(ctx, st, ref)
					if err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, 10)
					if _, err := r.ReadAt(buf, swarm.ChunkSize+5); !errors.Is(err, swarm.ErrCorrupt) {
						t.Errorf("ReadAt in the damaged leaf: %v", err)
					}
					if _, err := r.ReadAt(buf, 2*swarm.ChunkSize+5); err != nil {
						t.Errorf("ReadAt in an intact leaf: %v", err)
					}
				}

				// putting the chunk again repairs it, in a session or not
				if target == "leaf" {
					upload(t, st, data, false)
				} else if err := st.Put(ctx, victim, orig); err != nil {
					t.Fatal(err)
				}
				if got, err := readAll(st, ref); err != nil || !bytes.Equal(got, data) {
					t.Errorf("after a repairing Put: %v", err)
				}
			})
		}
	}
}

// TestTruncatedPack: a pack cut short gives ErrCorrupt for the chunks it
// lost; reopened, the pack is reported and ignored.
func TestTruncatedPack(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	keep := randomData(2, 5*swarm.ChunkSize)
	refKeep := upload(t, st, keep, false)
	ref := upload(t, st, randomData(3, 20*swarm.ChunkSize), false)
	addrs := chunksOf(t, st, ref)
	l, name := where(t, st, addrs[len(addrs)-1]) // the last leaf
	if err := os.Truncate(name, l.offset()+recHeader/2); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, addrs[len(addrs)-1]); !errors.Is(err, swarm.ErrCorrupt) {
		t.Errorf("Get of a chunk past the end: %v, want ErrCorrupt", err)
	}
	if _, err := readAll(st, ref); !errors.Is(err, swarm.ErrCorrupt) {
		t.Errorf("read through swarm.Open: %v, want ErrCorrupt", err)
	}

	var bad []string
	st = reopen(t, st, Options{OnBadPack: func(name string, err error) {
		if !errors.Is(err, swarm.ErrCorrupt) {
			t.Errorf("OnBadPack(%s, %v): want ErrCorrupt", name, err)
		}
		bad = append(bad, name)
	}})
	if len(bad) != 1 || bad[0] != name {
		t.Errorf("bad packs %v, want %s", bad, name)
	}
	if _, err := st.Get(ctx, addrs[0]); !perr.Is(err, perr.NotExist) {
		t.Errorf("Get from an ignored pack: %v, want NotExist", err)
	}
	mustRead(t, st, refKeep, keep)
	if _, err := os.Stat(name); err != nil {
		t.Errorf("the bad pack was not left in place: %v", err)
	}
}

// TestDamagedFooter: a pack whose footer or trailer is damaged is
// reported and ignored at Open; the others are used.
func TestDamagedFooter(t *testing.T) {
	for _, spot := range []struct {
		name string
		off  func(size int64) int64
	}{
		{"entry", func(size int64) int64 { return size - trailerSize - entrySize + 3 }},
		{"entry-offset", func(size int64) int64 { return size - trailerSize - entrySize + swarm.HashSize }},
		{"footer-offset", func(size int64) int64 { return size - trailerSize + 1 }},
		{"count", func(size int64) int64 { return size - trailerSize + 8 }},
		{"checksum", func(size int64) int64 { return size - trailerSize + 12 }},
		{"magic", func(size int64) int64 { return size - 1 }},
		{"header", func(int64) int64 { return 0 }},
	} {
		t.Run(spot.name, func(t *testing.T) {
			st := openTest(t, Options{})
			keep := randomData(2, 5*swarm.ChunkSize)
			refKeep := upload(t, st, keep, false)
			ref := upload(t, st, randomData(3, 5*swarm.ChunkSize), false)
			_, name := where(t, st, ref.Address())
			fi, _ := os.Stat(name)
			b, _ := os.ReadFile(name)
			off := spot.off(fi.Size())
			overwrite(t, name, off, []byte{b[off] ^ 4})

			var bad []string
			st = reopen(t, st, Options{OnBadPack: func(name string, err error) { bad = append(bad, name) }})
			if len(bad) != 1 || bad[0] != name {
				t.Errorf("bad packs %v, want %s", bad, name)
			}
			if _, err := st.Get(context.Background(), ref.Address()); !perr.Is(err, perr.NotExist) {
				t.Errorf("Get from an ignored pack: %v, want NotExist", err)
			}
			mustRead(t, st, refKeep, keep)
			// the bad pack's id is not reused
			upload(t, st, randomData(4, 10), false)
			if pf := packFiles(t, st); len(pf) != 3 {
				t.Errorf("packs %v, want 3", pf)
			}
		})
	}
}

// TestVerifyBMT forges a record whose checksum matches bytes that are not
// the chunk: only Options.VerifyBMT catches it.
func TestVerifyBMT(t *testing.T) {
	ctx := context.Background()
	for _, vb := range []bool{false, true} {
		st := openTest(t, Options{VerifyBMT: vb})
		ref := upload(t, st, []byte("hello world"), false)
		addr := ref.Address()
		forged := []byte("\x0b\x00\x00\x00\x00\x00\x00\x00hello wOrld")
		l, name := where(t, st, addr)
		overwrite(t, name, l.offset()+swarm.HashSize+4, binary.LittleEndian.AppendUint32(nil, checksum(&addr, forged)))
		overwrite(t, name, l.offset()+recHeader, forged)
		_, err := st.Get(ctx, addr)
		if vb && !errors.Is(err, swarm.ErrCorrupt) {
			t.Errorf("VerifyBMT: Get of a forged chunk: %v, want ErrCorrupt", err)
		}
		if !vb && err != nil {
			t.Errorf("checksum only: Get of a forged chunk: %v (a checksum cannot catch forgery)", err)
		}
	}
}

// TestOpenRemovesTempPacks: the temporary pack of a session a crash
// interrupted is deleted at Open, and its chunks are absent.
func TestOpenRemovesTempPacks(t *testing.T) {
	st := openTest(t, Options{})
	done := randomData(1, 4*swarm.ChunkSize)
	refDone := upload(t, st, done, false)
	ctx, _ := st.BeginUpload(context.Background()) // never ended: the crash
	ref, err := swarm.Upload(ctx, st, bytes.NewReader(randomData(2, 9*swarm.ChunkSize)), swarm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tf := tempFiles(t, st); len(tf) != 1 {
		t.Fatalf("temporary packs %v", tf)
	}
	st = reopen(t, st, Options{})
	if tf := tempFiles(t, st); len(tf) != 0 {
		t.Errorf("temporary packs left after Open: %v", tf)
	}
	if _, err := st.Get(context.Background(), ref.Address()); !perr.Is(err, perr.NotExist) {
		t.Errorf("chunk of an interrupted session: %v, want NotExist", err)
	}
	mustRead(t, st, refDone, done)
}

// TestOpenPrefersNewestCopy: after a crash during a compaction both the
// old pack and its replacement exist; the index takes the replacement.
func TestOpenPrefersNewestCopy(t *testing.T) {
	st := openTest(t, Options{})
	data := randomData(9, 6*swarm.ChunkSize)
	ref := upload(t, st, data, false)
	old := packFiles(t, st)[0]
	b, err := os.ReadFile(filepath.Join(st.packDir, old))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.WriteFile(filepath.Join(st.packDir, packName(7)), b, 0o600); err != nil {
		t.Fatal(err)
	}
	st = reopen(t, st, Options{})
	if n, _ := usage(t, st); n != 7 {
		t.Errorf("Usage %d chunks, want 7 (duplicates counted once)", n)
	}
	l, _ := where(t, st, ref.Address())
	if l.pack != 7 {
		t.Errorf("index takes pack %d, want the newest, 7", l.pack)
	}
	stats, err := st.Collect(context.Background(), rootsOf(ref))
	if err != nil || stats.PacksDeleted != 1 || stats.FreedChunks != 0 {
		t.Errorf("Collect: %+v %v, want the shadowed pack deleted", stats, err)
	}
	if pf := packFiles(t, st); !slices.Equal(pf, []string{packName(7)}) {
		t.Errorf("packs %v", pf)
	}
	mustRead(t, st, ref, data)
}

// TestReadersNeverSeePartialChunks races Gets against Puts of the same
// chunks: a Get finds nothing or the whole chunk, never part of it.
func TestReadersNeverSeePartialChunks(t *testing.T) {
	bg := context.Background()
	st := openTest(t, Options{})
	const n = 300
	addrs := make([][swarm.HashSize]byte, n)
	chunks := make([][]byte, n)
	for i := range n {
		p := randomData(uint64(i+10), swarm.ChunkSize)
		addrs[i] = swarm.ChunkAddress(swarm.ChunkSize, p)
		chunks[i] = binary.LittleEndian.AppendUint64(nil, swarm.ChunkSize)
		chunks[i] = append(chunks[i], p...)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	stop := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := bg
			if w == 1 { // one writer in sessions, syncing every 16 chunks
				var done func()
				ctx, done = st.BeginUpload(bg)
				defer done()
			}
			for i := range n {
				if err := st.Put(ctx, addrs[(i+w*n/2)%n], chunks[(i+w*n/2)%n]); err != nil {
					errs <- err
					return
				}
				if i%16 == 15 || i == n-1 {
					if err := st.Sync(ctx); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	var rg sync.WaitGroup
	for r := range 2 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for k := r; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				i := k * 7 % n
				c, err := st.Get(bg, addrs[i])
				if err != nil && !perr.Is(err, perr.NotExist) {
					errs <- fmt.Errorf("Get during Put: %w", err)
					return
				}
				if err == nil && !bytes.Equal(c, chunks[i]) {
					errs <- errors.New("Get during Put returned other bytes")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range n {
		if c, err := st.Get(bg, addrs[i]); err != nil || !bytes.Equal(c, chunks[i]) {
			t.Fatalf("chunk %d after the Puts: %v", i, err)
		}
	}
}

func TestOpenLocksDirectory(t *testing.T) {
	if !flockAvailable {
		t.Skip("no flock(2) on this system")
	}
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st2, err := Open(dir, Options{}); !perr.Is(err, perr.Conflict) {
		if st2 != nil {
			st2.Close()
		}
		t.Errorf("second Open of a directory in use: %v, want Conflict", err)
	}
	st.Close()
	st3, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	st3.Close()
}

func TestSync(t *testing.T) {
	st := openTest(t, Options{})
	bg := context.Background()
	if _, err := swarm.Upload(bg, st, strings.NewReader("x"), swarm.Options{}); err != nil {
		t.Fatal(err)
	}
	if !st.dirty.Load() {
		t.Error("a Put without a session left nothing for Sync")
	}
	if err := st.Sync(bg); err != nil || st.dirty.Load() {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if err := st.Sync(ctx); err == nil {
		t.Error("Sync with a cancelled context succeeded")
	}
	sctx, done := st.BeginUpload(ctx)
	defer done()
	if err := st.Sync(sctx); err == nil {
		t.Error("Sync of a session with a cancelled context succeeded")
	}
}
