package swarmtest_test

import (
	"testing"

	"github.com/personium-go/personium/swarm"
	"github.com/personium-go/personium/swarm/swarmtest"
)

func TestMemStore(t *testing.T) {
	swarmtest.Run(t, func(*testing.T) swarm.Store { return &swarmtest.MemStore{} })
}
