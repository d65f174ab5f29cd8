package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/metastore"
)

// durabilityChildEnv switches the test binary into the writer child of
// TestDurability; its value is the database path.
const durabilityChildEnv = "PERSONIUM_SQLITE_DURABILITY_CHILD"

// TestDurability kills a writing process with SIGKILL and checks that
// every write it acknowledged survived and the database is intact.
//
// The test re-executes its own binary as the child, which creates
// documents in a loop (single creates and batches of three) and prints
// "ack <id>" only after Apply returned. The parent reads a few hundred
// acknowledgements, kills the child mid-stream, reads whatever else the
// child had acknowledged before dying, then reopens the database.
func TestDurability(t *testing.T) {
	if path := os.Getenv(durabilityChildEnv); path != "" {
		durabilityChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "meta.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), durabilityChildEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(stdout)
	read := func(limit int) {
		for len(acked) < limit && sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
				acked = append(acked, id)
			}
		}
	}
	read(400)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	read(1 << 30) // what the child acknowledged before it died
	werr := cmd.Wait()
	if len(acked) < 400 {
		t.Fatalf("child acknowledged only %d writes (exit: %v)\n%s", len(acked), werr, stderr.String())
	}
	if werr == nil {
		t.Fatalf("child exited normally; it should have been killed")
	}

	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	for _, id := range acked {
		d, err := s.Get(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged document %s lost: %v", id, err)
		}
		if d.Version != 1 || d.Key != id {
			t.Errorf("document %s: %+v", id, d)
		}
	}
	var check string
	if err := s.w.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	res, err := s.Query(ctx, &metastore.Query{Kind: "T", Cell: "c", Count: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count < int64(len(acked)) {
		t.Errorf("Count %d < %d acknowledged documents", res.Count, len(acked))
	}
	// Batches are atomic across the kill: the documents of a batch are
	// all there or none is.
	for i := int64(0); ; i++ {
		n := 0
		for j := range 3 {
			if _, err := s.Get(ctx, fmt.Sprintf("b%06d-%d", i, j)); err == nil {
				n++
			}
		}
		if n == 0 {
			break
		}
		if n != 3 {
			t.Errorf("batch %d: %d of 3 documents present", i, n)
		}
	}
	// Still writable.
	if _, err := s.Apply(ctx, metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: "after", Kind: "T", Cell: "c", Key: "after"}}); err != nil {
		t.Errorf("write after reopen: %v", err)
	}
	t.Logf("%d acknowledged writes survived SIGKILL; %d documents in all", len(acked), res.Count)
}

// durabilityChild writes until killed (or for at most a minute).
func durabilityChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	mk := func(id string) metastore.Op {
		return metastore.Op{Type: metastore.Create, Doc: metastore.Doc{ID: id, Kind: "T", Cell: "c", Key: id,
			Body: []byte(fmt.Sprintf(`{"id":%q,"pad":"%s"}`, id, strings.Repeat("x", 200)))}}
	}
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		var ops []metastore.Op
		if i%2 == 0 {
			ops = []metastore.Op{mk(fmt.Sprintf("s%06d", i/2))}
		} else {
			for j := range 3 {
				ops = append(ops, mk(fmt.Sprintf("b%06d-%d", i/2, j)))
			}
		}
		if _, err := s.Apply(ctx, ops...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		var b strings.Builder
		for _, op := range ops {
			b.WriteString("ack " + op.Doc.ID + "\n")
		}
		os.Stdout.WriteString(b.String()) // unbuffered: one write(2)
	}
	os.Exit(3)
}
