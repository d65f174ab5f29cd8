// Package auth decides who is asking: it verifies credentials and tokens
// and turns them into a pds.Principal. This file holds password hashing;
// tokens and role resolution come with the access-control work.
package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Scrypt parameters for new password hashes. N=2^15, r=8, p=1 costs about
// 32 MiB and tens of milliseconds per hash: slow for guessing, fine for a login.
const (
	scryptN   = 1 << 15
	scryptR   = 8
	scryptP   = 1
	scryptLen = 32
	saltLen   = 16
)

// scryptSlots bounds how many scrypt computations run at once: each
// takes 32 MiB, so a burst of logins must queue rather than take the
// server's memory.
var scryptSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// scryptKey is scrypt.Key under scryptSlots.
func scryptKey(pw, salt []byte, n, r, p, keyLen int) ([]byte, error) {
	scryptSlots <- struct{}{}
	defer func() { <-scryptSlots }()
	return scrypt.Key(pw, salt, n, r, p, keyLen)
}

// passwordRE is Personium's default password policy (reference §4.5).
var passwordRE = regexp.MustCompile("^[a-zA-Z0-9-_!$*=^`{|}~.@]{6,32}$")

// ValidPassword reports whether pw satisfies the password policy.
func ValidPassword(pw string) bool { return passwordRE.MatchString(pw) }

// HashPassword returns an encoded scrypt hash of pw with a salt read from rand:
// "scrypt$N$r$p$salt$hash" (salt and hash in unpadded base64url).
func HashPassword(pw string, rand io.Reader) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	h, err := scryptKey([]byte(pw), salt, scryptN, scryptR, scryptP, scryptLen)
	if err != nil {
		return "", fmt.Errorf("auth: scrypt: %w", err)
	}
	enc := base64.RawURLEncoding
	return fmt.Sprintf("scrypt$%d$%d$%d$%s$%s", scryptN, scryptR, scryptP, enc.EncodeToString(salt), enc.EncodeToString(h)), nil
}

// VerifyPassword reports whether pw matches the encoded hash. Malformed
// hashes never match.
func VerifyPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "scrypt" {
		return false
	}
	n, err1 := strconv.Atoi(parts[1])
	r, err2 := strconv.Atoi(parts[2])
	p, err3 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || n > 1<<20 || r > 32 || p > 16 {
		return false
	}
	enc := base64.RawURLEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) != scryptLen {
		return false
	}
	got, err := scryptKey([]byte(pw), salt, n, r, p, len(want))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, want) == 1
}
