package auth

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"
)

func TestIDTokenRoundTrip(t *testing.T) {
	k, err := LoadOrCreateUnitKey(t.TempDir(), "http://127.0.0.1:9/", rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	tok, err := k.SignIDToken(&IDToken{Issuer: "http://u/c/", Subject: "http://u/c/#me", Audience: "http://u/app/",
		IssuedAt: now, Expires: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := VerifyIDToken(tok, &k.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "http://u/c/#me" || claims["aud"] != "http://u/app/" || claims["exp"] != float64(now.Unix()+3600) {
		t.Errorf("claims %v", claims)
	}
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + strings.Replace(parts[1], "a", "b", 1) + "." + parts[2]
	if forged != tok {
		if _, err := VerifyIDToken(forged, &k.Key.PublicKey); err == nil {
			t.Error("forged claims verified")
		}
	}
	other, _ := LoadOrCreateUnitKey(t.TempDir(), "http://127.0.0.1:9/", rand.Reader, time.Now())
	if _, err := VerifyIDToken(tok, &other.Key.PublicKey); err == nil {
		t.Error("verified with another key")
	}
}
