package auth

import (
	"crypto/rand"
	"strings"
	"testing"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword("secret-123", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "secret-123") {
		t.Fatalf("hash contains the password: %s", h)
	}
	if !VerifyPassword(h, "secret-123") {
		t.Error("right password refused")
	}
	if VerifyPassword(h, "secret-124") {
		t.Error("wrong password accepted")
	}
	h2, _ := HashPassword("secret-123", rand.Reader)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not used")
	}
	for _, bad := range []string{"", "scrypt$1$1$1$$", "plain", h[:len(h)-4], "scrypt$99999999$8$1$AAAA$AAAA"} {
		if VerifyPassword(bad, "secret-123") {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	for pw, ok := range map[string]bool{"abc123": true, "short": false, strings.Repeat("a", 32): true,
		strings.Repeat("a", 33): false, "has space": false, "p@ss.w0rd!": true, "日本語パスワード": false} {
		if ValidPassword(pw) != ok {
			t.Errorf("ValidPassword(%q) = %v, want %v", pw, !ok, ok)
		}
	}
}

// BenchmarkVerifyPassword is the cost of one password check with the
// production scrypt parameters (N=2^15, r=8, p=1): the floor of a
// password grant.
func BenchmarkVerifyPassword(b *testing.B) {
	h, err := HashPassword("secret-123", rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !VerifyPassword(h, "secret-123") {
			b.Fatal("mismatch")
		}
	}
}
