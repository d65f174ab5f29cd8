package localstore

import (
	"os"
	"path/filepath"
	"sync"
)

// maxOpenPacks bounds the pack files Get keeps open.
const maxOpenPacks = 128

// handles caches open pack files for Get. A handle may be closed (evicted)
// while another goroutine reads through it: os.File makes that safe, the
// read either completes or fails with os.ErrClosed, and Get retries.
type handles struct {
	mu sync.Mutex
	m  map[uint32]*os.File
}

// handle returns an open file for pack id. If owned, the caller must close
// it: the pack was deleted from the store while it was being opened and
// the handle is not cached.
func (s *Store) handle(id uint32) (f *os.File, owned bool, err error) {
	h := &s.handles
	h.mu.Lock()
	f = h.m[id]
	h.mu.Unlock()
	if f != nil {
		return f, false, nil
	}
	f, err = os.Open(filepath.Join(s.packDir, packName(id)))
	if err != nil {
		return nil, false, err
	}
	// cache it only if the pack is still in the store; Collect removes a
	// pack from s.packs (holding s.mu) before it evicts its handle, so a
	// handle cached here is either evicted by Collect or belongs to a
	// pack that is still there
	var victim *os.File
	defer func() {
		if victim != nil {
			victim.Close() // outside the locks: it may wait for a read
		}
	}()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, ok := s.packs[id]; !ok {
		return f, true, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if g := h.m[id]; g != nil {
		victim = f
		return g, false, nil
	}
	if len(h.m) >= maxOpenPacks {
		for k, g := range h.m { // an arbitrary victim
			victim = g
			delete(h.m, k)
			break
		}
	}
	h.m[id] = f
	return f, false, nil
}

// evict closes the cached handle of pack id, if any.
func (s *Store) evict(id uint32) {
	h := &s.handles
	h.mu.Lock()
	f := h.m[id]
	delete(h.m, id)
	h.mu.Unlock()
	if f != nil {
		f.Close()
	}
}

// closeHandles closes every cached handle.
func (s *Store) closeHandles() {
	h := &s.handles
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, f := range h.m {
		f.Close()
		delete(h.m, k)
	}
}
