package auth

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// IDToken holds the claims of an OpenID Connect ID token a cell issues
// (reference §4.4: response_type=id_token with scope=openid, and the code
// flow with scope openid).
type IDToken struct {
	Issuer   string // the cell URL
	Subject  string // {cell URL}#{account}
	Audience string // the client_id (app cell URL)
	IssuedAt time.Time
	Expires  time.Time
}

// SignIDToken returns the ID token as a JWS compact serialization signed
// with RS256 by the unit key; the key ID is the one __certs publishes.
func (k *UnitKey) SignIDToken(t *IDToken) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": k.KeyID})
	claims, _ := json.Marshal(map[string]any{"iss": t.Issuer, "sub": t.Subject, "aud": t.Audience,
		"iat": t.IssuedAt.Unix(), "exp": t.Expires.Unix()})
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, k.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// VerifyIDToken checks an ID token's RS256 signature against pub and
// returns its claims (for tests and for clients of this unit).
func VerifyIDToken(token string, pub *rsa.PublicKey) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("auth: not a JWS compact serialization")
	}
	enc := base64.RawURLEncoding
	var header struct{ Alg string }
	hb, err := enc.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &header) != nil || header.Alg != "RS256" {
		return nil, errors.New("auth: bad JWS header")
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, err
	}
	cb, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(cb, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}
