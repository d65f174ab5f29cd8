package auth

import (
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/personium-go/personium/internal/perr"
)

// TokenType is the kind of a cell-local token; its prefix is what
// Personium puts in front of the opaque part (reference §4.3).
type TokenType int

// Local token types.
const (
	ResidentAccess    TokenType = iota + 1 // AR~ account of the issuing cell
	VisitorAccess                          // AV~ visitor from another cell
	ResidentRefresh                        // RR~
	VisitorRefresh                         // RV~
	UnitLocalUnitUser                      // AU~ owner representative acting as unit user
	PasswordChange                         // AP~ only good for __mypassword
	GrantCode                              // GC~ authorization code
)

var prefixes = map[TokenType]string{
	ResidentAccess: "AR~", VisitorAccess: "AV~", ResidentRefresh: "RR~", VisitorRefresh: "RV~",
	UnitLocalUnitUser: "AU~", PasswordChange: "AP~", GrantCode: "GC~",
}

// Prefix is the token prefix of t, e.g. "AR~".
func (t TokenType) Prefix() string { return prefixes[t] }

// IsRefresh reports whether t is a refresh token type.
func (t TokenType) IsRefresh() bool { return t == ResidentRefresh || t == VisitorRefresh }

// LocalToken is what a cell-local token carries. Its content is sealed:
// clients see only the prefix and an opaque string.
type LocalToken struct {
	Type     TokenType `json:"-"`
	ID       string    `json:"j,omitempty"` // random; makes every token unique (grant codes are single-use by ID)
	Issuer   string    `json:"i"`           // URL of the issuing cell
	Subject  string    `json:"s"`           // "{cell URL}#{account}" (visitors: their own subject URL)
	Schema   string    `json:"c,omitempty"` // app schema (client_id), "#c" suffix for confidential clients
	Scope    []string  `json:"o,omitempty"`
	Roles    []string  `json:"r,omitempty"` // visitor tokens: role instance URLs granted in the issuer cell
	Target   string    `json:"t,omitempty"` // grant codes: redirect/target information
	Issued   int64     `json:"a"`           // Unix ms
	Expires  int64     `json:"e"`           // Unix ms
	AuthTime int64     `json:"u,omitempty"` // when the account last proved its password (Unix ms)
}

// Expired reports whether the token has expired at now.
func (t *LocalToken) Expired(now time.Time) bool { return now.UnixMilli() >= t.Expires }

// Sealer seals and opens local tokens with an AEAD (XChaCha20-Poly1305)
// keyed by the unit's token key. A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// TokenKeySize is the size of the token key in bytes.
const TokenKeySize = chacha20poly1305.KeySize

// maxTokenBytes bounds the length of a token string we try to open.
const maxTokenBytes = 16 << 10

// NewSealer returns a Sealer for a TokenKeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("auth: token key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns the token string: its prefix followed by the base64url
// encoding of nonce and ciphertext. The prefix is authenticated too, so a
// token cannot change type.
func (s *Sealer) Seal(t *LocalToken, rand io.Reader) (string, error) {
	prefix := t.Type.Prefix()
	if prefix == "" {
		return "", fmt.Errorf("auth: unknown token type %d", t.Type)
	}
	plain, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return "", fmt.Errorf("auth: nonce: %w", err)
	}
	sealed := s.aead.Seal(nonce, nonce, plain, []byte(prefix))
	return prefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// errTokenParse is what every undecodable token gives: nothing about why.
var errTokenParse = perr.New("PR401-AU-0006")

// Open verifies and decodes a local token. Any token that was not sealed
// by this Sealer, or was changed in any byte, is PR401-AU-0006. Expiry is
// not checked here (see LocalToken.Expired).
func (s *Sealer) Open(token string) (*LocalToken, error) {
	if len(token) < 4 || len(token) > maxTokenBytes {
		return nil, errTokenParse
	}
	prefix := token[:3]
	var typ TokenType
	for t, p := range prefixes {
		if p == prefix {
			typ = t
		}
	}
	if typ == 0 {
		return nil, errTokenParse
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token[3:])
	if err != nil || len(raw) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, errTokenParse
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(prefix))
	if err != nil {
		return nil, errTokenParse
	}
	var t LocalToken
	if err := json.Unmarshal(plain, &t); err != nil {
		return nil, errTokenParse
	}
	t.Type = typ
	return &t, nil
}

// IsLocalToken reports whether s has a local-token prefix.
func IsLocalToken(s string) bool {
	if len(s) < 3 {
		return false
	}
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// LoadOrCreateTokenKey reads the unit's token key from <dir>/token-key, or
// creates it from rand (mode 0600). Every process serving the unit must
// share this file.
func LoadOrCreateTokenKey(dir string, rand io.Reader) ([]byte, error) {
	path := filepath.Join(dir, "token-key")
	b, err := os.ReadFile(path)
	if err == nil {
		key, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(key) != TokenKeySize {
			return nil, fmt.Errorf("auth: %s is not a %d-byte base64 key", path, TokenKeySize)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, TokenKeySize)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return LoadOrCreateTokenKey(dir, rand)
		}
		return nil, err
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return key, werr
}
