package localstore

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// rootsOf enumerates refs.
func rootsOf(refs ...swarm.Reference) func(yield func(swarm.Reference) error) error {
	return func(yield func(swarm.Reference) error) error {
		for _, r := range refs {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func usage(t testing.TB, st *Store) (int64, int64) {
	t.Helper()
	n, b, err := st.Usage()
	if err != nil {
		t.Fatal(err)
	}
	return n, b
}

func mustRead(t testing.TB, st *Store, ref swarm.Reference, want []byte) {
	t.Helper()
	got, err := readAll(st, ref)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("reading %s back: %d bytes, %v", ref, len(got), err)
	}
}

// age makes every pack look finalized d ago.
func age(st *Store, d time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, p := range st.packs {
		p.at.Store(time.Now().Add(-d).UnixNano())
	}
}

// forget drops addr from the index, as if its pack had lost it.
func forget(t testing.TB, st *Store, addr [swarm.HashSize]byte) {
	t.Helper()
	l, _ := where(t, st, addr)
	st.mu.Lock()
	st.dropIndex(addr, l)
	st.mu.Unlock()
}

// damage flips a payload byte of addr's record on disk.
func damage(t testing.TB, st *Store, addr [swarm.HashSize]byte) {
	t.Helper()
	l, name := where(t, st, addr)
	b := make([]byte, 1)
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	off := l.offset() + l.recBytes() - 1
	f.ReadAt(b, off)
	f.Close()
	overwrite(t, name, off, []byte{b[0] ^ 1})
}

// exists reports whether pack file name exists.
func exists(t testing.TB, st *Store, name string) bool {
	t.Helper()
	_, err := os.Stat(filepath.Join(st.packDir, name))
	return err == nil
}

func TestCollectFreesUnreferenced(t *testing.T) {
	ctx := context.Background()
	for _, enc := range []bool{false, true} {
		st := openTest(t, Options{})
		a := randomData(1, 130*swarm.ChunkSize+7) // intermediate chunks below the root
		b := randomData(2, 70*swarm.ChunkSize)
		refA := upload(t, st, a, enc)
		refB := upload(t, st, b, enc)
		_, packB := where(t, st, refB.Address())
		nA, nB := int64(len(chunksOf(t, st, refA))), int64(len(chunksOf(t, st, refB)))
		n0, b0 := usage(t, st)
		if n0 != nA+nB {
			t.Fatalf("enc=%v: Usage %d chunks, want %d+%d", enc, n0, nA, nB)
		}
		_, disk0 := st.PackUsage()

		stats, err := st.Collect(ctx, rootsOf(refA))
		if err != nil {
			t.Fatalf("enc=%v: Collect: %v", enc, err)
		}
		n1, b1 := usage(t, st)
		packs, disk1 := st.PackUsage()
		if stats.Roots != 1 || stats.FreedChunks != nB || stats.KeptChunks != nA || n1 != nA ||
			stats.KeptBytes != b1 || stats.KeptBytes+stats.FreedBytes != b0 ||
			stats.PacksDeleted != 1 || stats.PacksCompacted != 0 || stats.DiskFreed != disk0-disk1 || packs != 1 {
			t.Errorf("enc=%v: stats %+v, usage %d chunks %d bytes before, %d %d after", enc, stats, n0, b0, n1, b1)
		}
		if _, err := os.Stat(packB); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("enc=%v: B's pack after Collect: %v, want it deleted", enc, err)
		}
		mustRead(t, st, refA, a)
		if _, err := st.Get(ctx, refB.Address()); !perr.Is(err, perr.NotExist) {
			t.Errorf("enc=%v: B's root after Collect: %v, want NotExist", enc, err)
		}

		// nothing left to free
		if stats, err := st.Collect(ctx, rootsOf(refA)); err != nil || stats.FreedChunks != 0 || stats.PacksDeleted != 0 {
			t.Errorf("enc=%v: second Collect: %+v %v", enc, stats, err)
		}
		// and after a restart
		st = reopen(t, st, Options{})
		if stats, err := st.Collect(ctx, rootsOf(refA)); err != nil || stats.FreedChunks != 0 || stats.KeptChunks != nA {
			t.Errorf("enc=%v: Collect after reopening: %+v %v", enc, stats, err)
		}
		mustRead(t, st, refA, a)
	}
}

// TestCollectOverwrite: a file overwritten by a version sharing some of
// its chunks. The old pack keeps the shared chunks: mostly live, it is
// trimmed (its garbage dropped from the index); mostly dead, it is
// compacted.
func TestCollectOverwrite(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		shared int // leaves of 40 the new version keeps
	}{{"trim", 30}, {"compact", 10}} {
		t.Run(c.name, func(t *testing.T) {
			st := openTest(t, Options{})
			v1 := randomData(1, 40*swarm.ChunkSize)
			v2 := append(bytes.Clone(v1[:c.shared*swarm.ChunkSize]), randomData(2, (40-c.shared)*swarm.ChunkSize)...)
			ref1 := upload(t, st, v1, false)
			old := packFiles(t, st)[0]
			ref2 := upload(t, st, v2, false)
			if n, _ := usage(t, st); n != 41+int64(40-c.shared)+1 {
				t.Fatalf("Usage %d chunks: the shared leaves were not deduplicated", n)
			}
			freed := int64(40 - c.shared + 1)
			stats, err := st.Collect(ctx, rootsOf(ref2))
			if err != nil || stats.FreedChunks != freed || stats.KeptChunks != 41 || stats.PacksDeleted != 0 {
				t.Errorf("Collect: %+v %v", stats, err)
			}
			mustRead(t, st, ref2, v2)
			if _, err := st.Get(ctx, ref1.Address()); !perr.Is(err, perr.NotExist) {
				t.Errorf("old root: %v, want NotExist", err)
			}
			if c.name == "compact" {
				if stats.PacksCompacted != 1 || exists(t, st, old) || stats.DiskFreed < int64(25*swarm.ChunkSize) {
					t.Errorf("stats %+v, old pack there: %v; want it compacted", stats, exists(t, st, old))
				}
			} else if stats.PacksCompacted != 0 || !exists(t, st, old) || stats.DiskFreed != 0 {
				t.Errorf("stats %+v; want the old pack kept", stats)
			}

			// after a restart a trimmed pack's garbage is back in the
			// index until the next collection; a compacted one's is gone
			st = reopen(t, st, Options{})
			mustRead(t, st, ref2, v2)
			n, _ := usage(t, st)
			stats, err = st.Collect(ctx, rootsOf(ref2))
			if c.name == "compact" && (n != 41 || err != nil || stats.FreedChunks != 0) {
				t.Errorf("after reopening: %d chunks, Collect %+v %v", n, stats, err)
			}
			if c.name == "trim" && (n != 41+freed || err != nil || stats.FreedChunks != freed) {
				t.Errorf("after reopening: %d chunks, Collect %+v %v", n, stats, err)
			}
			mustRead(t, st, ref2, v2)
		})
	}
}

// TestCollectCompactsSessionPack: two files written in one session share
// a pack; when the bigger one dies the pack is compacted.
func TestCollectCompactsSessionPack(t *testing.T) {
	bg := context.Background()
	st := openTest(t, Options{})
	a, b := randomData(1, 10*swarm.ChunkSize), randomData(2, 50*swarm.ChunkSize)
	ctx, done := st.BeginUpload(bg)
	refA, err := swarm.Upload(ctx, st, bytes.NewReader(a), swarm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	refB := uploadIn(t, ctx, st, b, false)
	done()
	if pf := packFiles(t, st); len(pf) != 1 {
		t.Fatalf("packs %v, want one", pf)
	}
	old := packFiles(t, st)[0]
	stats, err := st.Collect(bg, rootsOf(refA))
	if err != nil || stats.PacksCompacted != 1 || stats.FreedChunks != 51 || stats.KeptChunks != 11 {
		t.Errorf("Collect: %+v %v", stats, err)
	}
	pf := packFiles(t, st)
	if len(pf) != 1 || pf[0] == old {
		t.Errorf("packs %v after compacting %s", pf, old)
	}
	mustRead(t, st, refA, a)
	if _, err := st.Get(bg, refB.Address()); !perr.Is(err, perr.NotExist) {
		t.Errorf("B's root: %v, want NotExist", err)
	}
	st = reopen(t, st, Options{})
	mustRead(t, st, refA, a)
	if n, _ := usage(t, st); n != 11 {
		t.Errorf("Usage %d chunks after reopening, want 11", n)
	}
}

// TestCompactionAbortsOnReuse: a garbage chunk of a pack being compacted
// that a Put deduplicates meanwhile keeps the old pack.
func TestCompactionAbortsOnReuse(t *testing.T) {
	bg := context.Background()
	for _, viaSession := range []bool{false, true} {
		st := openTest(t, Options{})
		a, b := randomData(1, 10*swarm.ChunkSize), randomData(2, 50*swarm.ChunkSize)
		ctx, done := st.BeginUpload(bg)
		refA, err := swarm.Upload(ctx, st, bytes.NewReader(a), swarm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		refB := uploadIn(t, ctx, st, b, false)
		done()
		leafB := chunksOf(t, st, refB)[5]
		chunk, err := st.Get(bg, leafB)
		if err != nil {
			t.Fatal(err)
		}
		var end func()
		st.hookBeforeSwap = func() {
			pctx := bg
			if viaSession {
				pctx, end = st.BeginUpload(bg)
			}
			if err := st.Put(pctx, leafB, chunk); err != nil {
				t.Error(err)
			}
		}
		stats, err := st.Collect(bg, rootsOf(refA))
		if err != nil || stats.PacksCompacted != 0 || stats.FreedChunks != 0 {
			t.Errorf("session=%v: Collect: %+v %v, want the compaction given up", viaSession, stats, err)
		}
		if got, err := st.Get(bg, leafB); err != nil || !bytes.Equal(got, chunk) {
			t.Errorf("session=%v: the reused chunk: %v", viaSession, err)
		}
		if pf := packFiles(t, st); len(pf) != 1 {
			t.Errorf("session=%v: packs %v", viaSession, pf)
		}
		st.hookBeforeSwap = nil
		if end != nil {
			end()
		}
		if stats, err := st.Collect(bg, rootsOf(refA)); err != nil || stats.PacksCompacted != 1 {
			t.Errorf("session=%v: next Collect: %+v %v", viaSession, stats, err)
		}
		mustRead(t, st, refA, a)
	}
}

func TestCollectGrace(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{Grace: time.Hour})
	ref := upload(t, st, randomData(3, 5*swarm.ChunkSize), false)
	if stats, err := st.Collect(ctx, rootsOf()); err != nil || stats.FreedChunks != 0 || stats.KeptChunks != 6 {
		t.Errorf("young garbage: %+v %v, want all kept", stats, err)
	}
	age(st, 2*time.Hour)
	// a Put without a session that reuses a chunk renews the grace
	c, err := st.Get(ctx, ref.Address())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, ref.Address(), c); err != nil {
		t.Fatal(err)
	}
	if stats, err := st.Collect(ctx, rootsOf()); err != nil || stats.FreedChunks != 0 {
		t.Errorf("reused garbage: %+v %v, want all kept", stats, err)
	}
	age(st, 2*time.Hour)
	if stats, err := st.Collect(ctx, rootsOf()); err != nil || stats.FreedChunks != 6 || stats.PacksDeleted != 1 {
		t.Errorf("old garbage: %+v %v, want all freed", stats, err)
	}
}

// TestCollectSparesSessions: an open session's packs, and the packs it
// deduplicated from, are not touched; a session's pack not synced yet
// survives too.
func TestCollectSparesSessions(t *testing.T) {
	bg := context.Background()
	t.Run("synced", func(t *testing.T) {
		st := openTest(t, Options{})
		data := randomData(4, 10*swarm.ChunkSize)
		ctx, done := st.BeginUpload(bg)
		ref := uploadIn(t, ctx, st, data, false)
		// the reference is not committed yet: no root reaches it
		if stats, err := st.Collect(bg, rootsOf()); err != nil || stats.FreedChunks != 0 {
			t.Errorf("during the upload: %+v %v, want nothing freed", stats, err)
		}
		mustRead(t, st, ref, data)
		done()
		if stats, err := st.Collect(bg, rootsOf()); err != nil || stats.FreedChunks != 11 || stats.PacksDeleted != 1 {
			t.Errorf("after the upload was abandoned: %+v %v, want its 11 chunks freed", stats, err)
		}
	})
	t.Run("not-synced", func(t *testing.T) {
		st := openTest(t, Options{})
		data := randomData(4, 10*swarm.ChunkSize)
		ctx, done := st.BeginUpload(bg)
		defer done()
		ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if stats, err := st.Collect(bg, rootsOf()); err != nil || stats.TempFiles != 0 {
			t.Errorf("%+v %v, want the session's pack kept", stats, err)
		}
		if err := st.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		mustRead(t, st, ref, data)
	})
	t.Run("deduplicated", func(t *testing.T) {
		st := openTest(t, Options{})
		data := randomData(5, 20*swarm.ChunkSize)
		upload(t, st, data, false) // garbage: nothing refers to it
		ctx, done := st.BeginUpload(bg)
		ref := uploadIn(t, ctx, st, data, false)
		if tf, pf := tempFiles(t, st), packFiles(t, st); len(tf)+len(pf) != 1 {
			t.Errorf("the second upload wrote %v %v", tf, pf)
		}
		if stats, err := st.Collect(bg, rootsOf()); err != nil || stats.FreedChunks != 0 {
			t.Errorf("%+v %v, want the reused chunks kept", stats, err)
		}
		mustRead(t, st, ref, data)
		done()
		if stats, err := st.Collect(bg, rootsOf()); err != nil || stats.FreedChunks != 21 {
			t.Errorf("after the session: %+v %v, want 21 chunks freed", stats, err)
		}
	})
}

// TestCollectSparesPutDuringMark: chunks Put while Collect marks are
// kept even without a session or grace, whether the Put found them
// stored already or wrote them.
func TestCollectSparesPutDuringMark(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	old := randomData(6, 3*swarm.ChunkSize)
	refOld := upload(t, st, old, false)
	fresh := randomData(7, 3*swarm.ChunkSize)
	var refFresh swarm.Reference
	roots := func(yield func(swarm.Reference) error) error {
		var err error
		if _, err = swarm.Upload(ctx, st, bytes.NewReader(old), swarm.Options{}); err != nil {
			return err
		}
		refFresh, err = swarm.Upload(ctx, st, bytes.NewReader(fresh), swarm.Options{})
		return err
	}
	if stats, err := st.Collect(ctx, roots); err != nil || stats.FreedChunks != 0 {
		t.Errorf("%+v %v, want the chunks Put during marking kept", stats, err)
	}
	mustRead(t, st, refOld, old)
	mustRead(t, st, refFresh, fresh)
}

// TestCollectMarkFailureDeletesNothing breaks marking in every way and
// checks that the garbage survives each time.
func TestCollectMarkFailureDeletesNothing(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("metadata store down")
	skip := func(swarm.Reference, error) error { return nil }
	cases := []struct {
		name      string
		onMissing func(swarm.Reference, error) error
		roots     func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error
		check     func(error) bool
	}{
		{"roots-error", nil, func(_ *testing.T, _ *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			return func(yield func(swarm.Reference) error) error {
				if err := yield(live); err != nil {
					return err
				}
				return boom
			}
		}, func(err error) bool { return errors.Is(err, boom) }},
		{"yield-error-swallowed", nil, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			forget(t, st, chunksOf(t, st, live)[1]) // an intermediate chunk
			return func(yield func(swarm.Reference) error) error {
				yield(live)
				return nil
			}
		}, func(err error) bool { return perr.Is(err, perr.NotExist) }},
		{"intermediate-missing-despite-OnMissing", skip, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			forget(t, st, chunksOf(t, st, live)[1])
			return rootsOf(live)
		}, func(err error) bool { return perr.Is(err, perr.NotExist) }},
		{"intermediate-corrupt", skip, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			damage(t, st, chunksOf(t, st, live)[1])
			return rootsOf(live)
		}, func(err error) bool { return errors.Is(err, swarm.ErrCorrupt) }},
		{"root-corrupt", skip, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			damage(t, st, live.Address())
			return rootsOf(live)
		}, func(err error) bool { return errors.Is(err, swarm.ErrCorrupt) }},
		{"root-missing-default", nil, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			forget(t, st, live.Address())
			return rootsOf(live)
		}, func(err error) bool { return perr.Is(err, perr.NotExist) }},
		{"root-missing-OnMissing-aborts", func(swarm.Reference, error) error { return boom }, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			forget(t, st, live.Address())
			return rootsOf(live)
		}, func(err error) bool { return errors.Is(err, boom) }},
		{"bad-reference", nil, func(_ *testing.T, _ *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			return rootsOf(live, swarm.Reference("short"))
		}, func(err error) bool { return perr.Is(err, perr.Invalid) }},
		{"context-cancelled", nil, func(_ *testing.T, _ *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			return rootsOf(live)
		}, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openTest(t, Options{OnMissing: c.onMissing})
			live := upload(t, st, randomData(7, 130*swarm.ChunkSize), false)
			garbage := upload(t, st, randomData(8, 3*swarm.ChunkSize), false)
			roots := c.roots(t, st, live)
			n0, _ := usage(t, st)
			p0, d0 := st.PackUsage()
			cctx := ctx
			if c.name == "context-cancelled" {
				var cancel context.CancelFunc
				cctx, cancel = context.WithCancel(ctx)
				cancel()
			}
			stats, err := st.Collect(cctx, roots)
			if err == nil || !c.check(err) {
				t.Errorf("Collect: %v", err)
			}
			p1, d1 := st.PackUsage()
			if n1, _ := usage(t, st); n1 != n0 || p1 != p0 || d1 != d0 || stats.FreedChunks != 0 {
				t.Errorf("chunks %d → %d, packs %d → %d (stats %+v): marking failed but chunks were deleted", n0, n1, p0, p1, stats)
			}
			mustRead(t, st, garbage, randomData(8, 3*swarm.ChunkSize))
		})
	}
}

func TestCollectOnMissingSkips(t *testing.T) {
	ctx := context.Background()
	var skipped []swarm.Reference
	st := openTest(t, Options{OnMissing: func(ref swarm.Reference, err error) error {
		if !perr.Is(err, perr.NotExist) {
			t.Errorf("OnMissing got %v", err)
		}
		skipped = append(skipped, ref)
		return nil
	}})
	a := randomData(9, 4*swarm.ChunkSize)
	refA := upload(t, st, a, true)
	refB := upload(t, st, randomData(10, 4*swarm.ChunkSize), true)
	forget(t, st, refB.Address())
	stats, err := st.Collect(ctx, rootsOf(refB, refA))
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 1 || !bytes.Equal(skipped[0], refB) || stats.MissingRoots != 1 || stats.Roots != 1 || stats.FreedChunks != 4 {
		t.Errorf("stats %+v, skipped %v", stats, skipped)
	}
	mustRead(t, st, refA, a)
}

// TestCollectEncryptedNeedsKey: an encrypted root is walked with its
// key; its 32-byte address alone does not reach the chunks.
func TestCollectEncryptedNeedsKey(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	data := randomData(11, 64*swarm.ChunkSize+1) // three levels with 64 refs per chunk
	ref := upload(t, st, data, true)
	if n := len(chunksOf(t, st, ref)); n != 65+2 {
		t.Fatalf("%d chunks, want 65 leaves, one intermediate, one root", n)
	}
	addrOnly := swarm.Reference(ref[:swarm.HashSize])
	if _, err := st.Collect(ctx, rootsOf(addrOnly)); err == nil {
		t.Error("Collect walked an encrypted root without its key")
	}
	if stats, err := st.Collect(ctx, rootsOf(ref)); err != nil || stats.FreedChunks != 0 || stats.KeptChunks != 67 {
		t.Errorf("%+v %v", stats, err)
	}
	mustRead(t, st, ref, data)
}

func TestCollectOneAtATime(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	inside := make(chan struct{})
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := st.Collect(ctx, func(func(swarm.Reference) error) error {
			close(inside)
			<-release
			return nil
		})
		first <- err
	}()
	<-inside
	if _, err := st.Collect(ctx, rootsOf()); !perr.Is(err, perr.Conflict) {
		t.Errorf("second Collect: %v, want Conflict", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// TestCollectRemovesTempPacks: a temporary pack no writer owns is
// deleted; one an open session writes is not, nor are other files.
func TestCollectRemovesTempPacks(t *testing.T) {
	bg := context.Background()
	st := openTest(t, Options{})
	ref := upload(t, st, []byte("hello world"), false)
	orphan := filepath.Join(st.packDir, tempName(4242))
	if err := os.WriteFile(orphan, []byte(packMagic+"half a rec"), 0o600); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(st.packDir, "notes.txt")
	os.WriteFile(stray, []byte("x"), 0o600)
	ctx, done := st.BeginUpload(bg)
	defer done()
	if _, err := swarm.Upload(ctx, st, bytes.NewReader(randomData(1, 5000)), swarm.Options{}); err != nil {
		t.Fatal(err)
	}
	if stats, err := st.Collect(bg, rootsOf(ref)); err != nil || stats.TempFiles != 1 || stats.KeptChunks != 1 {
		t.Errorf("%+v %v", stats, err)
	}
	if tf := tempFiles(t, st); len(tf) != 1 || tf[0] == filepath.Base(orphan) {
		t.Errorf("temporary packs left: %v, want the session's", tf)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("stray file deleted: %v", err)
	}
	if err := st.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	mustRead(t, st, ref, []byte("hello world"))
}

// TestCollectConcurrent runs collections in a loop while uploads in
// sessions write files (each one kept, one dropped, sharing a pack, so
// that packs get compacted), commit the kept ones, re-use content, and
// readers read every committed file: nothing committed may be lost, and
// nothing may read wrong. Run with -race.
func TestCollectConcurrent(t *testing.T) {
	bg := context.Background()
	st := openTest(t, Options{})
	contents := [][]byte{randomData(20, 9*swarm.ChunkSize), randomData(21, 2*swarm.ChunkSize+5),
		randomData(22, 40*swarm.ChunkSize), randomData(20, 9*swarm.ChunkSize)[:5*swarm.ChunkSize]}

	var (
		mu        sync.Mutex
		committed []swarm.Reference
		want      = map[string][]byte{}
	)
	roots := func(yield func(swarm.Reference) error) error {
		mu.Lock()
		refs := slices.Clone(committed)
		mu.Unlock()
		for _, r := range refs {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	}
	stop := make(chan struct{})
	var bgwg sync.WaitGroup
	var collections, compactions int
	bgwg.Add(1)
	go func() { // the collector
		defer bgwg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			stats, err := st.Collect(bg, roots)
			if err != nil {
				t.Error(err)
				return
			}
			collections++
			compactions += stats.PacksCompacted
		}
	}()
	for r := range 2 { // readers
		bgwg.Add(1)
		go func() {
			defer bgwg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				if len(committed) == 0 {
					mu.Unlock()
					continue
				}
				ref := committed[rng.IntN(len(committed))]
				data := want[string(ref)]
				mu.Unlock()
				if got, err := readAll(st, ref); err != nil || !bytes.Equal(got, data) {
					t.Errorf("reading a committed file: %d bytes, %v", len(got), err)
					return
				}
			}
		}()
	}

	rounds := 40
	if testing.Short() {
		rounds = 10
	}
	var wg sync.WaitGroup
	for w := range 2 { // writers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				keep := contents[(i+w)%len(contents)]
				drop := contents[(i+w+2)%len(contents)]
				enc := i%3 == 0
				ctx, done := st.BeginUpload(bg)
				opts := swarm.Options{Encrypt: enc, Rand: rand.NewChaCha8([32]byte{byte(i), byte(w)})}
				ref, err := swarm.Upload(ctx, st, bytes.NewReader(keep), opts)
				if err == nil {
					_, err = swarm.Upload(ctx, st, bytes.NewReader(drop), opts)
				}
				if err == nil {
					err = st.Sync(ctx)
				}
				if err != nil {
					done()
					t.Error(err)
					return
				}
				if got, err := readAll(st, ref); err != nil || !bytes.Equal(got, keep) {
					t.Errorf("round %d: an upload lost chunks before its commit: %v", i, err)
				}
				mu.Lock()
				committed = append(committed, ref)
				want[string(ref)] = keep
				mu.Unlock()
				done()
			}
		}()
	}
	wg.Wait()
	close(stop)
	bgwg.Wait()
	t.Logf("%d collections, %d compactions", collections, compactions)

	// a last collection leaves exactly the committed files
	stats, err := st.Collect(bg, roots)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, ref := range committed {
		mustRead(t, st, ref, want[string(ref)])
		n += int64(len(chunksOf(t, st, ref)))
	}
	if stats.KeptChunks > n {
		t.Errorf("%d chunks kept, the committed files have %d (with duplicates)", stats.KeptChunks, n)
	}
	st = reopen(t, st, Options{OnBadPack: func(name string, err error) { t.Errorf("bad pack %s: %v", name, err) }})
	for _, ref := range committed {
		mustRead(t, st, ref, want[string(ref)])
	}
}
