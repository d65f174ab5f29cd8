package swarm_test

import (
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"github.com/personium-go/personium/swarm"
)

func Example() {
	chunks := map[[swarm.HashSize]byte][]byte{}
	put := func(addr [swarm.HashSize]byte, chunk []byte) error {
		chunks[addr] = append([]byte(nil), chunk...) // chunk is only valid during put
		return nil
	}
	get := func(addr [swarm.HashSize]byte) ([]byte, error) { return chunks[addr], nil }

	ref, err := swarm.Split(strings.NewReader("hello world"), put, swarm.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(ref) // the reference Bee's POST /bytes returns

	enc, err := swarm.Split(strings.NewReader("hello world"), put, swarm.Options{Encrypt: true, Rand: rand.Reader})
	if err != nil {
		panic(err)
	}
	r, err := swarm.NewReader(enc, get)
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(r)
	fmt.Println(len(enc), string(b))
	// Output:
	// 92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f
	// 64 hello world
}
