package localstore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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

func usage(t *testing.T, st *Store) (int64, int64) {
	t.Helper()
	n, b, err := st.Usage()
	if err != nil {
		t.Fatal(err)
	}
	return n, b
}

// age sets the modification time of every chunk of ref to d ago.
func age(t *testing.T, st *Store, ref swarm.Reference, d time.Duration) {
	t.Helper()
	for _, a := range chunksOf(t, st, ref) {
		if err := os.Chtimes(st.path(a), time.Time{}, time.Now().Add(-d)); err != nil {
			t.Fatal(err)
		}
	}
}

func mustRead(t *testing.T, st *Store, ref swarm.Reference, want []byte) {
	t.Helper()
	got, err := readAll(st, ref)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("reading %s back: %d bytes, %v", ref, len(got), err)
	}
}

func TestCollectFreesUnreferenced(t *testing.T) {
	ctx := context.Background()
	for _, enc := range []bool{false, true} {
		st := openTest(t, Options{})
		a := randomData(1, 130*swarm.ChunkSize+7) // intermediate chunks below the root
		b := randomData(2, 70*swarm.ChunkSize)
		refA, refB := upload(t, st, a, enc), upload(t, st, b, enc)
		nA, nB := int64(len(chunksOf(t, st, refA))), int64(len(chunksOf(t, st, refB)))
		n0, b0 := usage(t, st)
		if n0 != nA+nB {
			t.Fatalf("enc=%v: Usage %d chunks, want %d+%d", enc, n0, nA, nB)
		}

		stats, err := st.Collect(ctx, rootsOf(refA))
		if err != nil {
			t.Fatalf("enc=%v: Collect: %v", enc, err)
		}
		n1, b1 := usage(t, st)
		if stats.Roots != 1 || stats.FreedChunks != nB || stats.KeptChunks != nA || n1 != nA ||
			stats.KeptBytes != b1 || stats.KeptBytes+stats.FreedBytes != b0 {
			t.Errorf("enc=%v: stats %+v, usage %d chunks %d bytes before, %d %d after", enc, stats, n0, b0, n1, b1)
		}
		if b1 >= b0 {
			t.Errorf("enc=%v: usage did not drop: %d → %d bytes", enc, b0, b1)
		}
		mustRead(t, st, refA, a)
		if _, err := st.Get(ctx, refB.Address()); !perr.Is(err, perr.NotExist) {
			t.Errorf("enc=%v: B's root after Collect: %v, want NotExist", enc, err)
		}

		// nothing left to free
		if stats, err := st.Collect(ctx, rootsOf(refA)); err != nil || stats.FreedChunks != 0 {
			t.Errorf("enc=%v: second Collect: %+v %v", enc, stats, err)
		}
	}
}

func TestCollectGrace(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{Grace: time.Hour})
	ref := upload(t, st, randomData(3, 5*swarm.ChunkSize), false)
	if stats, err := st.Collect(ctx, rootsOf()); err != nil || stats.FreedChunks != 0 || stats.KeptChunks != 6 {
		t.Errorf("young garbage: %+v %v, want all kept", stats, err)
	}
	age(t, st, ref, 2*time.Hour)
	if stats, err := st.Collect(ctx, rootsOf()); err != nil || stats.FreedChunks != 6 {
		t.Errorf("old garbage: %+v %v, want all freed", stats, err)
	}
}

func TestCollectSparesUploadInProgress(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	data := randomData(4, 10*swarm.ChunkSize)
	done := st.BeginUpload()
	ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// the reference is not committed yet: no root reaches it
	if stats, err := st.Collect(ctx, rootsOf()); err != nil || stats.FreedChunks != 0 {
		t.Errorf("during the upload: %+v %v, want nothing freed", stats, err)
	}
	mustRead(t, st, ref, data)
	done()
	done() // idempotent
	if stats, err := st.Collect(ctx, rootsOf()); err != nil || stats.FreedChunks != 11 {
		t.Errorf("after the upload was abandoned: %+v %v, want its 11 chunks freed", stats, err)
	}
}

// TestCollectSparesReusedGarbage: an upload that Puts chunks an old,
// unreferenced file also had keeps them, because Put refreshes their
// modification time.
func TestCollectSparesReusedGarbage(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{Grace: time.Hour})
	data := randomData(5, 20*swarm.ChunkSize)
	old := upload(t, st, data, false)
	age(t, st, old, 3*time.Hour)

	done := st.BeginUpload()
	defer done()
	ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if stats, err := st.Collect(ctx, rootsOf()); err != nil || stats.FreedChunks != 0 {
		t.Errorf("%+v %v, want the reused chunks kept", stats, err)
	}
	mustRead(t, st, ref, data)
}

// TestCollectSparesPutDuringMark: chunks Put while Collect marks are
// kept even without BeginUpload or grace, and even when their files'
// times are before the collection started (file times come from a
// coarse kernel clock that may lag time.Now; here they are set back by
// an hour to make that certain).
func TestCollectSparesPutDuringMark(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	data := randomData(6, 3*swarm.ChunkSize)
	ref := upload(t, st, data, false)
	chunks := map[[swarm.HashSize]byte][]byte{}
	for _, a := range chunksOf(t, st, ref) {
		c, err := st.Get(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		chunks[a] = c
	}
	// half the chunks exist when Collect starts, half are new
	i := 0
	for a := range chunks {
		if i++; i%2 == 0 {
			os.Remove(st.path(a))
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	roots := func(yield func(swarm.Reference) error) error {
		for a, c := range chunks {
			if err := st.Put(ctx, a, c); err != nil {
				return err
			}
			if err := os.Chtimes(st.path(a), time.Time{}, hourAgo); err != nil {
				return err
			}
		}
		return nil
	}
	if stats, err := st.Collect(ctx, roots); err != nil || stats.FreedChunks != 0 {
		t.Errorf("%+v %v, want the chunks Put during marking kept", stats, err)
	}
	mustRead(t, st, ref, data)
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
			os.Remove(st.path(chunksOf(t, st, live)[1])) // an intermediate chunk
			return func(yield func(swarm.Reference) error) error {
				yield(live)
				return nil
			}
		}, func(err error) bool { return perr.Is(err, perr.NotExist) }},
		{"intermediate-missing-despite-OnMissing", skip, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			os.Remove(st.path(chunksOf(t, st, live)[1]))
			return rootsOf(live)
		}, func(err error) bool { return perr.Is(err, perr.NotExist) }},
		{"intermediate-corrupt", skip, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			os.WriteFile(st.path(chunksOf(t, st, live)[1]), []byte("psc1garbage!"), 0o600)
			return rootsOf(live)
		}, func(err error) bool { return errors.Is(err, swarm.ErrCorrupt) }},
		{"root-corrupt", skip, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			os.WriteFile(st.path(live.Address()), nil, 0o600)
			return rootsOf(live)
		}, func(err error) bool { return errors.Is(err, swarm.ErrCorrupt) }},
		{"root-missing-default", nil, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			os.Remove(st.path(live.Address()))
			return rootsOf(live)
		}, func(err error) bool { return perr.Is(err, perr.NotExist) }},
		{"root-missing-OnMissing-aborts", func(swarm.Reference, error) error { return boom }, func(t *testing.T, st *Store, live swarm.Reference) func(func(swarm.Reference) error) error {
			os.Remove(st.path(live.Address()))
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
			if n1, _ := usage(t, st); n1 != n0 || stats.FreedChunks != 0 {
				t.Errorf("chunks %d → %d (stats %+v): marking failed but chunks were deleted", n0, n1, stats)
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
	os.Remove(st.path(refB.Address()))
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

func TestCollectRemovesOldTempFiles(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{Grace: time.Hour})
	ref := upload(t, st, []byte("hello world"), false)
	sub := filepath.Join(st.dir, "92")
	tmp := filepath.Join(sub, tempPrefix+"12345")
	if err := os.WriteFile(tmp, []byte("psc1half a chu"), 0o600); err != nil {
		t.Fatal(err)
	}
	// a stray file with a chunk-like name elsewhere is not ours to delete
	stray := filepath.Join(sub, "notes.txt")
	os.WriteFile(stray, []byte("x"), 0o600)
	if n, _ := usage(t, st); n != 1 {
		t.Errorf("Usage counts %d chunks, want 1", n)
	}
	if stats, err := st.Collect(ctx, rootsOf(ref)); err != nil || stats.TempFiles != 0 {
		t.Errorf("young temp file: %+v %v", stats, err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(tmp, old, old)
	os.Chtimes(stray, old, old)
	if stats, err := st.Collect(ctx, rootsOf(ref)); err != nil || stats.TempFiles != 1 || stats.KeptChunks != 1 {
		t.Errorf("old temp file: %+v %v", stats, err)
	}
	if tf := tempFiles(t, st.dir); len(tf) != 0 {
		t.Errorf("left: %v", tf)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Errorf("stray file deleted: %v", err)
	}
	mustRead(t, st, ref, []byte("hello world"))
}

// TestCollectConcurrentWithUploads runs collections in a loop, with no
// roots and no grace, while uploads under BeginUpload keep re-using
// chunks that each collection sees as garbage: every upload must read
// back whole until its done is called.
func TestCollectConcurrentWithUploads(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, Options{})
	contents := [][]byte{randomData(20, 9*swarm.ChunkSize), randomData(21, 2*swarm.ChunkSize+5), randomData(20, 9*swarm.ChunkSize)[:5*swarm.ChunkSize]}
	stop := make(chan struct{})
	collected := make(chan int)
	go func() {
		n := 0
		defer func() { collected <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := st.Collect(ctx, rootsOf()); err != nil {
				t.Error(err)
				return
			}
			n++
		}
	}()
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	for i := range rounds {
		data := contents[i%len(contents)]
		done := st.BeginUpload()
		ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{})
		if err == nil {
			err = st.Sync(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(st, ref)
		done()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("round %d: upload lost chunks to a concurrent Collect: %v", i, err)
		}
	}
	close(stop)
	if n := <-collected; n < 2 {
		t.Logf("only %d collections ran", n)
	}
}
