package localstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
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

func TestConformance(t *testing.T) {
	for _, vb := range []bool{false, true} {
		t.Run(fmt.Sprintf("verifyBMT=%v", vb), func(t *testing.T) {
			swarmtest.Run(t, func(t *testing.T) swarm.Store { return openTest(t, Options{VerifyBMT: vb}) })
		})
	}
}

func randomData(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	rng.Read(b)
	return b
}

func upload(t testing.TB, st *Store, data []byte, enc bool) swarm.Reference {
	t.Helper()
	ctx := context.Background()
	done := st.BeginUpload()
	defer done()
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

func TestFileLayout(t *testing.T) {
	st := openTest(t, Options{})
	ref := upload(t, st, []byte("hello world"), false)
	name := filepath.Join(st.dir, "92", ref.String())
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != magic || len(b) != headerSize+swarm.SpanSize+11 || string(b[headerSize+swarm.SpanSize:]) != "hello world" {
		t.Errorf("chunk file %q", b)
	}
	if err := st.Put(context.Background(), ref.Address(), make([]byte, 3)); !perr.Is(err, perr.Invalid) {
		t.Errorf("Put of a 3-byte chunk: %v, want Invalid", err)
	}
}

// damage is a way to break a chunk file; other is another chunk file.
type damage struct {
	name string
	fn   func(b, other []byte) []byte
}

var damages = []damage{
	{"flip-magic", func(b, _ []byte) []byte { b[0] ^= 0x20; return b }},
	{"flip-checksum", func(b, _ []byte) []byte { b[5] ^= 1; return b }},
	{"flip-span", func(b, _ []byte) []byte { b[headerSize] ^= 1; return b }},
	{"flip-last-payload-bit", func(b, _ []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
	{"truncate-to-zero", func(b, _ []byte) []byte { return b[:0] }},
	{"truncate-to-header", func(b, _ []byte) []byte { return b[:headerSize] }},
	{"truncate-by-one", func(b, _ []byte) []byte { return b[:len(b)-1] }},
	{"extend-by-one", func(b, _ []byte) []byte { return append(b, 0) }},
	{"extend-past-max", func(b, _ []byte) []byte { return append(b, make([]byte, maxFile)...) }},
	{"other-chunk", func(_, other []byte) []byte { return other }},
}

func TestCorruptionDetected(t *testing.T) {
	ctx := context.Background()
	data := randomData(1, 3*swarm.ChunkSize+100) // root + 4 leaves
	for _, d := range damages {
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
				b, _ := os.ReadFile(st.path(victim))
				ob, _ := os.ReadFile(st.path(other))
				if err := os.WriteFile(st.path(victim), d.fn(b, ob), 0o600); err != nil {
					t.Fatal(err)
				}

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

				// putting the chunk again repairs it
				if err := st.Put(ctx, victim, orig); err != nil {
					t.Fatal(err)
				}
				if got, err := readAll(st, ref); err != nil || !bytes.Equal(got, data) {
					t.Errorf("after a repairing Put: %v", err)
				}
			})
		}
	}
}

// TestVerifyBMT forges a file whose checksum matches bytes that are not
// the chunk: only Options.VerifyBMT catches it.
func TestVerifyBMT(t *testing.T) {
	ctx := context.Background()
	for _, vb := range []bool{false, true} {
		st := openTest(t, Options{VerifyBMT: vb})
		ref := upload(t, st, []byte("hello world"), false)
		addr := ref.Address()
		forged := []byte("\x0b\x00\x00\x00\x00\x00\x00\x00hello wOrld")
		b := make([]byte, headerSize, headerSize+len(forged))
		copy(b, magic)
		binary.LittleEndian.PutUint32(b[4:], checksum(&addr, forged))
		if err := os.WriteFile(st.path(addr), append(b, forged...), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := st.Get(ctx, addr)
		if vb && !errors.Is(err, swarm.ErrCorrupt) {
			t.Errorf("VerifyBMT: Get of a forged chunk: %v, want ErrCorrupt", err)
		}
		if !vb && err != nil {
			t.Errorf("checksum only: Get of a forged chunk: %v (a checksum cannot catch forgery)", err)
		}
	}
}

// tempFiles returns the temporary files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutLeavesNoTempFiles(t *testing.T) {
	st := openTest(t, Options{})
	upload(t, st, randomData(2, 200*swarm.ChunkSize), false)
	upload(t, st, randomData(2, 200*swarm.ChunkSize), false) // all duplicates
	if tf := tempFiles(t, st.dir); len(tf) != 0 {
		t.Errorf("temporary files left: %v", tf)
	}
}

// TestReadersNeverSeePartialChunks races Gets against Puts of the same
// chunks: a Get finds nothing or the whole chunk, never part of it.
func TestReadersNeverSeePartialChunks(t *testing.T) {
	ctx := context.Background()
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
			for i := range n {
				if err := st.Put(ctx, addrs[(i+w*n/2)%n], chunks[(i+w*n/2)%n]); err != nil {
					errs <- err
					return
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
				c, err := st.Get(ctx, addrs[i])
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
	upload(t, st, []byte("x"), false)
	if err := st.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Sync(ctx); err == nil {
		t.Error("Sync with a cancelled context succeeded")
	}
}
