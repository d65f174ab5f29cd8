package localstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/personium-go/personium/swarm"
)

// benchSize is the file size of the upload and read benchmarks.
const benchSize = 64 << 20

var encModes = []bool{false, true}

// BenchmarkUpload measures swarm.Upload of a 64 MiB file into an empty
// store in an upload session, followed by the Sync that makes it durable
// and readable: what a WebDAV PUT costs below HTTP.
func BenchmarkUpload(b *testing.B) {
	bg := context.Background()
	data := randomData(1, benchSize)
	for _, enc := range encModes {
		b.Run(fmt.Sprintf("enc=%v", enc), func(b *testing.B) {
			b.SetBytes(benchSize)
			for range b.N {
				b.StopTimer()
				st := openTest(b, Options{})
				b.StartTimer()
				ctx, done := st.BeginUpload(bg)
				if _, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{Encrypt: enc, Rand: rand.Reader}); err != nil {
					b.Fatal(err)
				}
				if err := st.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				done()
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkUploadDuplicate uploads a 64 MiB file the store already
// holds: every Put finds its chunk in the index and writes nothing.
func BenchmarkUploadDuplicate(b *testing.B) {
	bg := context.Background()
	data := randomData(1, benchSize)
	st := openTest(b, Options{})
	upload(b, st, data, false)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		ctx, done := st.BeginUpload(bg)
		if _, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{}); err != nil {
			b.Fatal(err)
		}
		if err := st.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		done()
	}
}

// BenchmarkOpenCopy reads a 64 MiB file back with swarm.Open and
// io.Copy, its pack in the page cache. check=crc32c is the store's
// default (checksum only); check=bmt adds Options.VerifyBMT, the cost a
// reader re-hashing every chunk would pay.
func BenchmarkOpenCopy(b *testing.B) {
	ctx := context.Background()
	data := randomData(1, benchSize)
	for _, enc := range encModes {
		for _, vb := range []bool{false, true} {
			check := "crc32c"
			if vb {
				check = "bmt"
			}
			b.Run(fmt.Sprintf("enc=%v/check=%s", enc, check), func(b *testing.B) {
				st := openTest(b, Options{VerifyBMT: vb})
				ref := upload(b, st, data, enc)
				b.SetBytes(benchSize)
				b.ResetTimer()
				for range b.N {
					r, err := swarm.Open(ctx, st, ref)
					if err != nil {
						b.Fatal(err)
					}
					if n, err := io.Copy(io.Discard, r); err != nil || n != benchSize {
						b.Fatal(n, err)
					}
				}
			})
		}
	}
}

// BenchmarkGet measures Get of 1024 full leaf chunks, one at a time
// (page cache warm), with the checksum only and with Options.VerifyBMT.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	const n = 1024
	for _, vb := range []bool{false, true} {
		check := "crc32c"
		if vb {
			check = "bmt"
		}
		b.Run("check="+check, func(b *testing.B) {
			st := openTest(b, Options{VerifyBMT: vb})
			ref := upload(b, st, randomData(2, n*swarm.ChunkSize), false)
			addrs := chunksOf(b, st, ref)[1:] // the leaves
			b.SetBytes(int64(len(addrs)) * swarm.ChunkSize)
			b.ResetTimer()
			for range b.N {
				for _, a := range addrs {
					if _, err := st.Get(ctx, a); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkOpen measures Open of a store of 2²⁰ chunks in 16 packs: the
// time to read the footers and build the index, and the index's heap
// (B/chunk).
func BenchmarkOpen(b *testing.B) {
	const packs, perPack = 16, 1 << 16
	bg := context.Background()
	st := openTest(b, Options{})
	chunk := make([]byte, swarm.SpanSize+32)
	var addr [swarm.HashSize]byte
	for p := range packs {
		ctx, done := st.BeginUpload(bg)
		for i := range perPack {
			binary.LittleEndian.PutUint64(addr[:], uint64(p*perPack+i)*0x9e3779b97f4a7c15)
			if err := st.Put(ctx, addr, chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		done()
	}
	st.Close()
	b.ResetTimer()
	var perChunk float64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, err := Open(st.dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if n, _, _ := s.Usage(); n != packs*perPack {
			b.Fatalf("%d chunks", n)
		}
		perChunk = float64(after.HeapAlloc-before.HeapAlloc) / (packs * perPack)
		s.Close()
	}
	b.ReportMetric(perChunk, "B/chunk")
}
