package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const helloRef = "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f"

func TestSwarmRefFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(name, []byte("hello world"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := swarmCommand([]string{"ref", name}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if out.String() != helloRef+"\n" {
		t.Errorf("got %q, want %q", out.String(), helloRef+"\n")
	}
}

func TestSwarmRefStdin(t *testing.T) {
	name := filepath.Join(t.TempDir(), "empty")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	var out, errOut bytes.Buffer
	if code := swarmCommand([]string{"ref", "-"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	// Bee's reference of empty content
	if want := "b34ca8c22b9e982354f9c7f50b470d66db428d880c8a904d5fe4ec9713171526\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestSwarmCommandErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string // expected in stdout
		err  string // expected in stderr
	}{
		{nil, 2, "", "Usage"},
		{[]string{"frob"}, 2, "", "unknown command"},
		{[]string{"ref"}, 2, "", "want one FILE"},
		{[]string{"ref", "a", "b"}, 2, "", "want one FILE"},
		{[]string{"ref", "--bogus", "a"}, 2, "", "flag provided but not defined"},
		{[]string{"ref", filepath.Join(t.TempDir(), "absent")}, 1, "", "no such file"},
		{[]string{"ref", "--help"}, 0, "swarm ref FILE", ""},
		{[]string{"--help"}, 0, "swarm ref FILE", ""},
	} {
		var out, errOut bytes.Buffer
		code := swarmCommand(c.args, &out, &errOut)
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.err) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", c.args, code, out.String(), errOut.String())
		}
	}
}

// TestSwarmPushUsage: push needs a node and a batch.
func TestSwarmPushUsage(t *testing.T) {
	var out, errOut strings.Builder
	if code := swarmCommand([]string{"push", "--data", t.TempDir()}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--bee-batch") {
		t.Errorf("push without a node: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := swarmCommand([]string{"push", "--data", t.TempDir(), "--bee-url", "http://127.0.0.1:1", "--bee-batch", "xyz"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "64 hex") {
		t.Errorf("push with a malformed batch: %d %q", code, errOut.String())
	}
}
