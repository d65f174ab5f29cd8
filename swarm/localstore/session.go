package localstore

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// sessionKey is the context key of the upload sessions of one Store.
type sessionKey struct{ s *Store }

// session is an upload session: the pack its Puts append to, and the
// packs it used, which Collect leaves alone until the session ends.
type session struct {
	s *Store

	mu    sync.Mutex  // serialises appends, Sync and end
	w     *packWriter // the pack being written; nil until a chunk is written
	err   error       // a failed write: the session cannot be synced
	ended bool

	umu  sync.Mutex
	used map[uint32]struct{} // packs it wrote or deduplicated from

	once sync.Once
}

var errEnded = perr.Errorf(perr.Invalid, "localstore: the upload session has ended")

// BeginUpload starts an upload session and returns a context carrying it
// and the function that ends it.
//
// Pass the returned context to every Put of the upload (swarm.Upload
// passes its context on) and then to Sync, which finalizes the chunks
// written so far: they become readable and durable. The session may go
// on with more Puts and another Sync. Call end once the reference is
// committed to metadata, or to give up: a pack not synced yet is deleted.
// end may be called more than once; Put and Sync with the session's
// context fail after it.
//
// Until end, Collect touches none of the packs the session wrote or
// deduplicated from, so its chunks stay whether or not a live reference
// reaches them yet.
func (s *Store) BeginUpload(ctx context.Context) (context.Context, func()) {
	x := &session{s: s, used: map[uint32]struct{}{}}
	s.mu.Lock()
	s.sessions[x] = struct{}{}
	s.mu.Unlock()
	return context.WithValue(ctx, sessionKey{s}, x), x.end
}

// session returns the upload session ctx carries, or nil.
func (s *Store) session(ctx context.Context) *session {
	x, _ := ctx.Value(sessionKey{s}).(*session)
	return x
}

// use records that the session uses pack id.
func (x *session) use(id uint32) {
	x.umu.Lock()
	x.used[id] = struct{}{}
	x.umu.Unlock()
}

// uses reports whether the session uses pack id.
func (x *session) uses(id uint32) bool {
	x.umu.Lock()
	defer x.umu.Unlock()
	_, ok := x.used[id]
	return ok
}

// put appends a chunk the index does not hold to the session's pack.
func (x *session) put(addr *[swarm.HashSize]byte, chunk []byte) error {
	sum := checksum(addr, chunk) // outside the lock
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.ended:
		return errEnded
	case x.err != nil:
		return x.err
	}
	if x.w == nil {
		id, err := x.s.newID()
		if err != nil {
			return err
		}
		w, err := createPack(x.s.packDir, id, true)
		if err != nil {
			x.s.doneWriting(id)
			return perr.Errorf(perr.Internal, "localstore: %w", err)
		}
		x.w = w
	}
	if x.w.has(addr) {
		return nil
	}
	if err := x.w.add(addr, chunk, sum); err != nil {
		x.err = perr.Errorf(perr.Internal, "localstore: writing chunk %x: %w", addr[:], err)
		x.w.abandon()
		x.s.doneWriting(x.w.id)
		x.w = nil
		return x.err
	}
	return nil
}

// Sync makes chunks durable and readable.
//
// With an upload session in ctx (BeginUpload), it finalizes the
// session's pack: writes its footer, flushes it to stable storage,
// renames it to its final name, flushes the directory and publishes its
// chunks in the index. Call it after the last Put of an upload (after
// swarm.Upload returned) and before committing the reference. It covers
// the Puts that returned before it was called (a Put running at the same
// time lands in this pack or the next). An error means the chunks written
// since the last Sync are lost, and the session fails from then on: give
// the upload up.
//
// Without a session, it makes the packs of Puts without a session
// durable, if any are not yet.
func (s *Store) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if x := s.session(ctx); x != nil {
		return x.sync()
	}
	return s.syncDir()
}

func (x *session) sync() error {
	s := x.s
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.ended:
		return errEnded
	case x.err != nil:
		return x.err
	case x.w == nil:
		// nothing written: the chunks it deduplicated may be in packs
		// of Puts without a session, not yet durable
		return s.syncDir()
	}
	w := x.w
	x.w = nil
	defer s.doneWriting(w.id)
	err := w.finish()
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		w.abandon()
		x.err = perr.Errorf(perr.Internal, "localstore: finalizing pack %s: %w", packName(w.id), err)
		return x.err
	}
	s.dirty.Store(true)
	if err := s.syncDir(); err != nil {
		os.Remove(filepath.Join(s.packDir, packName(w.id)))
		x.err = err
		return err
	}
	s.publish(w, x)
	return nil
}

// end ends the session, deleting a pack not synced yet.
func (x *session) end() {
	x.once.Do(func() {
		x.mu.Lock()
		x.ended = true
		w := x.w
		x.w = nil
		x.mu.Unlock()
		if w != nil {
			w.abandon()
			x.s.doneWriting(w.id)
		}
		x.s.mu.Lock()
		delete(x.s.sessions, x)
		x.s.mu.Unlock()
	})
}
