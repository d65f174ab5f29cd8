package localstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"github.com/personium-go/personium/swarm"
)

// benchSize is the file size of the upload and read benchmarks.
const benchSize = 64 << 20

var encModes = []bool{false, true}

// BenchmarkUpload measures swarm.Upload of a 64 MiB file into an empty
// store, followed by the Sync that makes it durable.
func BenchmarkUpload(b *testing.B) {
	ctx := context.Background()
	data := randomData(1, benchSize)
	for _, enc := range encModes {
		b.Run(fmt.Sprintf("enc=%v", enc), func(b *testing.B) {
			b.SetBytes(benchSize)
			for range b.N {
				b.StopTimer()
				st := openTest(b, Options{})
				b.StartTimer()
				if _, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{Encrypt: enc, Rand: rand.Reader}); err != nil {
					b.Fatal(err)
				}
				if err := st.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				st.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkUploadDuplicate uploads a 64 MiB file the store already
// holds: every Put finds its chunk, checks it and refreshes its time.
func BenchmarkUploadDuplicate(b *testing.B) {
	ctx := context.Background()
	data := randomData(1, benchSize)
	st := openTest(b, Options{})
	if _, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		if _, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenCopy reads a 64 MiB file back with swarm.Open and
// io.Copy, its chunks in the page cache. check=crc32c is the store's
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
				ref, err := swarm.Upload(ctx, st, bytes.NewReader(data), swarm.Options{Encrypt: enc, Rand: rand.Reader})
				if err != nil {
					b.Fatal(err)
				}
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

// BenchmarkGet measures Get of 1024 full leaf chunks (page cache warm),
// with the checksum only and with Options.VerifyBMT.
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
			ref, err := swarm.Upload(ctx, st, bytes.NewReader(randomData(2, n*swarm.ChunkSize)), swarm.Options{})
			if err != nil {
				b.Fatal(err)
			}
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
