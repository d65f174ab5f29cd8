package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/personium-go/personium/dav"
	"github.com/personium-go/personium/dav/lock"
	"github.com/personium-go/personium/internal/cell"
	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/swarm"
	"github.com/personium-go/personium/swarm/bee"
	"github.com/personium-go/personium/swarm/localstore"
)

// content is the content store of a running unit and, for the local
// store, its garbage collector.
type content struct {
	store    *localstore.Store // --store local
	bee      *bee.Store        // --store bee
	meta     metastore.Store
	log      *slog.Logger
	interval time.Duration
	dirty    atomic.Bool
	stop     chan struct{}
	stopped  chan struct{}
}

// openContent opens the content store named by --store.
func openContent(ctx context.Context, c *serveConfig, meta metastore.Store, log *slog.Logger) (*content, error) {
	switch c.store {
	case "local":
	case "bee":
		return openBee(ctx, c, meta, log)
	default:
		return nil, fmt.Errorf("unknown --store %q (have: local, bee)", c.store)
	}
	st, err := localstore.Open(filepath.Join(c.data, "chunks"), localstore.Options{
		// Every writer is this process's WebDAV handler, which announces
		// its uploads (BeginUpload), and the store is locked to one
		// process: no grace period is needed.
		Grace: 0,
		// A file whose root chunk is gone cannot be read anyway; it must
		// not stop every other file's garbage from being collected.
		OnMissing: func(ref swarm.Reference, err error) error {
			log.Error("content garbage collection: a file's content is missing", "ref", ref.String(), "err", err)
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("content store: %w", err)
	}
	return &content{store: st, meta: meta, log: log, interval: c.gcInterval,
		stop: make(chan struct{}), stopped: make(chan struct{})}, nil
}

// openBee opens a Bee node's store (--bee-url, --bee-batch) and checks
// the batch before the unit serves: a wrong or unusable batch is an
// error at start, not at the first upload.
func openBee(ctx context.Context, c *serveConfig, meta metastore.Store, log *slog.Logger) (*content, error) {
	if c.beeURL == "" || c.beeBatch == "" {
		return nil, fmt.Errorf("--store bee needs --bee-url and --bee-batch")
	}
	st, err := bee.New(c.beeURL, c.beeBatch, bee.Options{Fallbacks: c.beeFallbacks, Log: log})
	if err != nil {
		return nil, err
	}
	stamp, err := st.Stamp(ctx)
	if err != nil {
		return nil, fmt.Errorf("postage batch %s on %s: %w", c.beeBatch, c.beeURL, err)
	}
	log.Info("bee store", "url", c.beeURL, "batch", c.beeBatch, "depth", stamp.Depth,
		"used", fmt.Sprintf("%.1f%%", 100*stamp.Used()), "ttl", stamp.Lifetime().Round(time.Hour))
	if stamp.Used() > 0.9 {
		log.Warn("the postage batch is over 90% used: uploads fail once it is full; buy or dilute a batch", "batch", c.beeBatch)
	}
	if ttl := stamp.Lifetime(); ttl < 7*24*time.Hour {
		log.Warn("the postage batch expires soon: the network may drop the chunks it stamped; top it up", "batch", c.beeBatch, "ttl", ttl)
	}
	return &content{bee: st, meta: meta, log: log, stop: make(chan struct{}), stopped: make(chan struct{})}, nil
}

// davHandler returns the WebDAV handler over this store.
func (ct *content) davHandler(ctx context.Context, encrypt bool, cells *cell.Manager) (*dav.Handler, error) {
	locks := &lock.Manager{Store: ct.meta}
	if err := locks.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	if err := dav.EnsureIndexes(ctx, ct.meta); err != nil {
		return nil, err
	}
	if ct.bee != nil {
		// Swarm keeps what was stamped until the batch expires: nothing
		// to collect, no upload sessions to announce.
		return dav.New(dav.Config{Meta: ct.meta, Content: ct.bee, Encrypt: encrypt, Locks: locks,
			NewID: cells.NewID, Log: ct.log}), nil
	}
	return dav.New(dav.Config{
		Meta:     ct.meta,
		Content:  ct.store,
		Encrypt:  encrypt,
		Locks:    locks,
		Uploads:  ct.store.BeginUpload,
		Sync:     ct.store.Sync,
		Released: func() { ct.dirty.Store(true) },
		NewID:    cells.NewID,
		Log:      ct.log,
	}), nil
}

// roots lists every content reference the metadata store holds.
func (ct *content) roots(ctx context.Context) func(yield func(swarm.Reference) error) error {
	return func(yield func(swarm.Reference) error) error {
		res, err := ct.meta.Query(ctx, &metastore.Query{Kind: cell.KindCell, Limit: -1})
		if err != nil {
			return err
		}
		for _, d := range res.Docs {
			err := dav.References(ctx, ct.meta, d.ID, func(s string) error {
				ref, err := swarm.ParseReference(s)
				if err != nil {
					return err
				}
				return yield(ref)
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
}

// collect runs one garbage collection.
func (ct *content) collect(ctx context.Context) {
	start := time.Now()
	st, err := ct.store.Collect(ctx, ct.roots(ctx))
	if err != nil {
		ct.log.Error("content garbage collection failed; nothing was deleted", "err", err)
		ct.dirty.Store(true)
		return
	}
	ct.log.Info("content garbage collection", "freed_chunks", st.FreedChunks, "freed_bytes", st.FreedBytes,
		"kept_chunks", st.KeptChunks, "duration", time.Since(start).Round(time.Millisecond))
}

// run collects garbage every interval, when files were deleted or
// overwritten since the last collection, until close.
func (ct *content) run() {
	defer close(ct.stopped)
	if ct.interval <= 0 || ct.store == nil {
		<-ct.stop
		return
	}
	t := time.NewTicker(ct.interval)
	defer t.Stop()
	for {
		select {
		case <-ct.stop:
			return
		case <-t.C:
			if ct.dirty.Swap(false) {
				ct.collect(context.Background())
			}
		}
	}
}

func (ct *content) close() {
	close(ct.stop)
	<-ct.stopped
}
