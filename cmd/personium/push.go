package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/swarm"
	"github.com/personium-go/personium/swarm/bee"
	"github.com/personium-go/personium/swarm/localstore"
)

const pushUsage = `Usage:
  personium swarm push --data DIR --bee-url URL --bee-batch ID [--cell NAME] [--verify=false]

'swarm push' copies the file contents of a unit (or of one cell) from the
embedded store in DIR/chunks to a Bee node, chunk by chunk: chunks keep
their addresses, so every reference in the metadata stays valid and the
unit can then run with --store bee. Each chunk is stamped with the
postage batch ID, and the node must answer the address this server
computed. Files already pushed to the same batch (listed in
DIR/swarm-push-<batch>.log) are skipped, so an interrupted push resumes.
Afterwards every file is read back from the node alone, each chunk
hash-checked (--verify=false skips that). The server must be stopped:
the embedded store is locked to one process.
`

// swarmPush runs 'personium swarm push'.
func swarmPush(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("swarm push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, pushUsage) }
	data := fs.String("data", envDefault("DATA", "./data"), "data folder of the unit")
	beeURL := fs.String("bee-url", envDefault("BEE_URL", ""), "API URL of the Bee node")
	batch := fs.String("bee-batch", envDefault("BEE_BATCH", ""), "postage batch ID")
	cellName := fs.String("cell", "", "push only this cell's files")
	verify := fs.Bool("verify", true, "read every file back from the node afterwards")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *beeURL == "" || *batch == "" {
		fmt.Fprint(stderr, pushUsage)
		return 2
	}
	if err := push(context.Background(), *data, *beeURL, *batch, *cellName, *verify, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "\npersonium swarm push: %v\n", err)
		return 1
	}
	return 0
}

func push(ctx context.Context, data, beeURL, batch, cellName string, verify bool, stdout, stderr io.Writer) error {
	meta, err := metastore.Open(ctx, "sqlite", filepath.Join(data, "metadata.db"))
	if err != nil {
		return err
	}
	defer meta.Close()
	local, err := localstore.Open(filepath.Join(data, "chunks"), localstore.Options{})
	if err != nil {
		return fmt.Errorf("%w (is the server still running?)", err)
	}
	defer local.Close()
	node, err := bee.New(beeURL, batch, bee.Options{})
	if err != nil {
		return err
	}
	stamp, err := node.Stamp(ctx)
	if err != nil {
		return err
	}

	refs, err := unitReferences(ctx, meta, cellName)
	if err != nil {
		return err
	}
	logName := filepath.Join(data, "swarm-push-"+strings.ToLower(batch)+".log")
	done, err := readPushLog(logName)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(logName, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()

	fmt.Fprintf(stdout, "pushing %d files to %s (batch %s…, depth %d, %d of %d chunks used)\n",
		len(refs), beeURL, batch[:8], stamp.Depth, stamp.Utilization, stamp.Capacity())
	get := func(addr [swarm.HashSize]byte) ([]byte, error) { return local.Get(ctx, addr) }
	bar := newProgress(stderr, len(refs))
	start := time.Now()
	var chunks, bytes int64
	for i, ref := range refs {
		if done[ref.String()] {
			bar.update(i+1, chunks, bytes)
			continue
		}
		n, size, err := pushFile(ctx, local, node, ref, get)
		chunks += n
		bytes += size
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(logf, ref.String()); err != nil {
			return err
		}
		if err := logf.Sync(); err != nil {
			return err
		}
		bar.update(i+1, chunks, bytes)
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "\npushed %d chunks (%.1f MB) in %v = %.1f MB/s\n", chunks, float64(bytes)/1e6,
		el.Round(time.Millisecond), float64(bytes)/1e6/max(el.Seconds(), 1e-9))
	if !verify {
		return nil
	}
	bar = newProgress(stderr, len(refs))
	var read int64
	for i, ref := range refs {
		r, err := swarm.Open(ctx, node, ref)
		if err != nil {
			return fmt.Errorf("verify: file %s: %w", ref, err)
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			return fmt.Errorf("verify: file %s: %w", ref, err)
		}
		read += n
		bar.update(i+1, 0, read)
	}
	fmt.Fprintf(stdout, "\nverified: all %d files read back from %s (%.1f MB)\n", len(refs), beeURL, float64(read)/1e6)
	return nil
}

// pushWorkers is how many chunks a push keeps in flight to the node.
const pushWorkers = 16

// pushFile copies the chunks of the file under ref from local to node,
// pushWorkers at a time, and returns how many chunks and bytes it sent.
func pushFile(ctx context.Context, local *localstore.Store, node *bee.Store, ref swarm.Reference, get swarm.GetFunc) (int64, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addrs := make(chan [swarm.HashSize]byte)
	var chunks, bytes atomic.Int64
	var once sync.Once
	var first error
	fail := func(err error) {
		once.Do(func() { first = err; cancel() })
	}
	var wg sync.WaitGroup
	for range pushWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for addr := range addrs {
				c, err := local.Get(ctx, addr)
				if err == nil {
					err = node.Put(ctx, addr, c)
				}
				if err != nil {
					fail(fmt.Errorf("file %s: chunk %x: %w", ref, addr[:], err))
					continue
				}
				chunks.Add(1)
				bytes.Add(int64(len(c)))
			}
		}()
	}
	err := swarm.Walk(ref, get, nil, func(addr [swarm.HashSize]byte) error {
		select {
		case addrs <- addr:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(addrs)
	wg.Wait()
	if first != nil {
		return chunks.Load(), bytes.Load(), first
	}
	return chunks.Load(), bytes.Load(), err
}

// unitReferences lists the content references of every file of the unit
// (or of the cell named cellName), without duplicates.
func unitReferences(ctx context.Context, meta metastore.Store, cellName string) ([]swarm.Reference, error) {
	var cellIDs []string
	if cellName != "" {
		c, err := cell.NewManager(meta).Get(ctx, cellName)
		if err != nil {
			return nil, fmt.Errorf("cell %q: %w", cellName, err)
		}
		cellIDs = []string{c.ID}
	} else {
		res, err := meta.Query(ctx, &metastore.Query{Kind: cell.KindCell, Limit: -1})
		if err != nil {
			return nil, err
		}
		for _, d := range res.Docs {
			cellIDs = append(cellIDs, d.ID)
		}
	}
	seen := map[string]bool{}
	var refs []swarm.Reference
	for _, id := range cellIDs {
		err := dav.References(ctx, meta, id, func(s string) error {
			if seen[s] {
				return nil
			}
			seen[s] = true
			ref, err := swarm.ParseReference(s)
			if err != nil {
				return err
			}
			refs = append(refs, ref)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// readPushLog reads the references an earlier push finished.
func readPushLog(name string) (map[string]bool, error) {
	done := map[string]bool{}
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			done[line] = true
		}
	}
	return done, sc.Err()
}

// progress draws a one-line progress bar on a terminal (or any writer).
type progress struct {
	w     io.Writer
	total int
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) update(done int, chunks, bytes int64) {
	now := time.Now()
	if done < p.total && now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	filled := width
	if p.total > 0 {
		filled = width * done / p.total
	}
	rate := float64(bytes) / 1e6 / max(now.Sub(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d files  %.1f MB  %.1f MB/s", strings.Repeat("=", filled),
		strings.Repeat(" ", width-filled), done, p.total, float64(bytes)/1e6, rate)
	if chunks > 0 {
		fmt.Fprintf(p.w, "  %d chunks", chunks)
	}
}
