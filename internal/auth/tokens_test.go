package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/personium-go/personium/internal/perr"
)

func testSealer(t testing.TB) *Sealer {
	t.Helper()
	key := bytes.Repeat([]byte{7}, TokenKeySize)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLocalTokenRoundTrip(t *testing.T) {
	s := testSealer(t)
	in := &LocalToken{Type: ResidentAccess, Issuer: "http://u/c/", Subject: "http://u/c/#me", Schema: "http://u/app/",
		Scope: []string{"root"}, Issued: 1, Expires: 2}
	tok, err := s.Seal(in, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "AR~") || strings.Contains(tok, "c/#me") {
		t.Fatalf("token %s", tok)
	}
	out, err := s.Open(tok)
	if err != nil {
		t.Fatal(err)
	}
	if out.Type != ResidentAccess || out.Subject != in.Subject || out.Schema != in.Schema || out.Expires != 2 {
		t.Errorf("opened %+v", out)
	}
	if !out.Expired(time.UnixMilli(2)) || out.Expired(time.UnixMilli(1)) {
		t.Error("expiry")
	}
	tok2, _ := s.Seal(in, rand.Reader)
	if tok2 == tok {
		t.Error("two seals of one token are equal")
	}
}

func TestLocalTokenTamperingRefused(t *testing.T) {
	s := testSealer(t)
	tok, _ := s.Seal(&LocalToken{Type: ResidentRefresh, Issuer: "http://u/c/", Subject: "x", Expires: 99}, rand.Reader)
	// Every flipped byte of the token, prefix included, is refused.
	for i := 0; i < len(tok); i++ {
		b := []byte(tok)
		b[i] ^= 0x01
		if _, err := s.Open(string(b)); err == nil {
			t.Fatalf("flipping byte %d accepted: %s", i, b)
		} else if perr.CodeOf(err) != "PR401-AU-0006" {
			t.Fatalf("code %s", perr.CodeOf(err))
		}
	}
	// A refresh token cannot be relabelled as an access token.
	if _, err := s.Open("AR~" + tok[3:]); err == nil {
		t.Error("relabelled token accepted")
	}
	// Another unit's key does not open it.
	other, _ := NewSealer(bytes.Repeat([]byte{8}, TokenKeySize))
	if _, err := other.Open(tok); err == nil {
		t.Error("foreign key opened the token")
	}
	for _, bad := range []string{"", "AR~", "AR~!!", "XX~abcd", "AR~" + base64.RawURLEncoding.EncodeToString(make([]byte, 10)),
		"AR~" + strings.Repeat("A", maxTokenBytes)} {
		if _, err := s.Open(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestTokenKeyPersisted(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateTokenKey(dir, rand.Reader)
	if err != nil || len(k1) != TokenKeySize {
		t.Fatal(k1, err)
	}
	k2, err := LoadOrCreateTokenKey(dir, rand.Reader)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Error("key not kept")
	}
}

func FuzzOpenLocalToken(f *testing.F) {
	s := testSealer(f)
	// A fixed nonce: fuzz workers re-run this set-up and must get the same token.
	tok, _ := s.Seal(&LocalToken{Type: VisitorAccess, Issuer: "http://u/c/", Roles: []string{"r"}, Expires: 9},
		bytes.NewReader(make([]byte, 64)))
	for _, seed := range []string{tok, "AR~", "RR~AAAA", "GC~" + tok[3:], "Bearer x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := s.Open(in)
		if err == nil && in != tok {
			t.Fatalf("forged token accepted: %q → %+v", in, got)
		}
	})
}

func BenchmarkOpenLocalToken(b *testing.B) {
	s := testSealer(b)
	tok, _ := s.Seal(&LocalToken{Type: ResidentAccess, Issuer: "http://u/c/", Subject: "http://u/c/#me",
		Scope: []string{"root"}, Issued: 1, Expires: 2}, rand.Reader)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Open(tok); err != nil {
			b.Fatal(err)
		}
	}
}
