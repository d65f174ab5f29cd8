package swarmtest

import (
	"bytes"
	"context"
	"sync"

	"github.com/personium-go/personium/internal/perr"
	"github.com/personium-go/personium/swarm"
)

// MemStore is a swarm.Store in memory, for tests. It is not
// SelfVerifying, so swarm.Open checks every chunk it returns. The zero
// value is an empty store.
type MemStore struct {
	mu     sync.Mutex
	chunks map[[swarm.HashSize]byte][]byte
}

var _ swarm.Store = (*MemStore)(nil)

// Put stores a copy of chunk.
func (m *MemStore) Put(ctx context.Context, addr [swarm.HashSize]byte, chunk []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.chunks == nil {
		m.chunks = map[[swarm.HashSize]byte][]byte{}
	}
	if _, ok := m.chunks[addr]; !ok {
		m.chunks[addr] = bytes.Clone(chunk)
	}
	return nil
}

// Get returns a copy of the chunk under addr.
func (m *MemStore) Get(ctx context.Context, addr [swarm.HashSize]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.chunks[addr]
	if !ok {
		return nil, perr.Errorf(perr.NotExist, "swarmtest: no chunk %x", addr[:])
	}
	return bytes.Clone(c), nil
}

// Len returns the number of chunks stored.
func (m *MemStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.chunks)
}
