package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelpExplainsEveryFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"serve", "--help"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := errOut.String()
	for _, f := range []string{"-listen", "-data", "-unit-url", "-master-token", "-metastore", "-log-level", "PERSONIUM_LISTEN", "SIGTERM"} {
		if !strings.Contains(help, f) {
			t.Errorf("serve --help does not mention %s:\n%s", f, help)
		}
	}
	out.Reset()
	if code := run([]string{"--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "personium serve") {
		t.Errorf("--help: %d %q", code, out.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errOut); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
}

func TestMasterTokenGeneratedOnceAndKept(t *testing.T) {
	dir := t.TempDir()
	tok, gen, err := masterToken("", dir)
	if err != nil || !gen || len(tok) < 32 {
		t.Fatalf("first start: %q %v %v", tok, gen, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "master-token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v", fi, err)
	}
	tok2, gen2, err := masterToken("", dir)
	if err != nil || gen2 || tok2 != tok {
		t.Errorf("second start: %q %v %v, want %q kept", tok2, gen2, err, tok)
	}
	tok3, gen3, _ := masterToken("given", dir)
	if tok3 != "given" || gen3 {
		t.Errorf("flag value not used: %q", tok3)
	}
}

func TestSwarmRef(t *testing.T) {
	f := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(f, []byte("hello world"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	if rc := run([]string{"swarm", "ref", f}, &out, &errb); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	// Bee's /bytes reference of "hello world" (swarm.md §2).
	if got := strings.TrimSpace(out.String()); got != "92672a471f4419b255d7cb0cf313474a6f5856fb347c5ece85fb706d644b630f" {
		t.Fatalf("ref %s", got)
	}
	if rc := run([]string{"swarm", "ref", filepath.Join(t.TempDir(), "absent")}, &out, &errb); rc != 1 {
		t.Fatalf("absent file: rc %d", rc)
	}
}

// TestESFlags: --es-url with an explicit sqlite store is refused, and
// the index prefix comes from --es-index-prefix only.
func TestESFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"serve", "--data", t.TempDir(), "--metastore", "sqlite", "--es-url", "http://127.0.0.1:1"}, &out, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "--es-url (PERSONIUM_ES_URL) is for --metastore elasticsearch") {
		t.Errorf("sqlite with --es-url: exit %d, %q", code, errOut.String())
	}
	_, err := metaSource{esURL: "http://127.0.0.1:1?timeout=1s&prefix=other", esPrefix: "unit1"}.open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--es-index-prefix") {
		t.Errorf("prefix= in --es-url: %v", err)
	}
}
