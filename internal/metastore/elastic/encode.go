package elastic

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/personium-go/personium/internal/metastore"
	"github.com/personium-go/personium/internal/perr"
)

// Type classes of member values, in sort order (a null member has no entry).
const (
	classBool   = 1
	classNumber = 2
	classString = 3
	classOther  = 4 // object or array: not null, never equal to a literal
)

// field is one top-level body member as indexed (nested field f).
type field struct {
	N string   `json:"n"`
	T int      `json:"t"`
	B *bool    `json:"b,omitempty"`
	X *float64 `json:"x,omitempty"`
	S *string  `json:"s,omitempty"`
	L bool     `json:"l,omitempty"` // S is a prefix of a longer string
	H string   `json:"h,omitempty"` // hash of the whole string when L
}

// index parses body, which must be one JSON object, into the members
// queries address (f) and the lower-cased text full-text search scans (tx).
func index(body []byte) ([]field, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	bad := func(err error) error {
		return perr.Errorf(perr.Invalid, "body is not a JSON object: %v", err)
	}
	if t, err := dec.Token(); err != nil {
		return nil, nil, bad(err)
	} else if t != json.Delim('{') {
		return nil, nil, bad(fmt.Errorf("starts with %v", t))
	}
	var fs []field
	var tx []string
	at := map[string]int{} // member name → index in fs (a repeated name: the last value counts)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		name := t.(string)
		t, err = dec.Token()
		if err != nil {
			return nil, nil, bad(err)
		}
		f := field{N: name}
		var text string
		switch v := t.(type) {
		case nil:
			if i, ok := at[name]; ok { // a later null undoes an earlier value
				fs[i] = field{N: name, T: -1}
			}
			continue
		case bool:
			f.T, f.B = classBool, &v
			text = strconv.FormatBool(v)
		case json.Number:
			x, err := strconv.ParseFloat(string(v), 64)
			if err != nil || math.IsInf(x, 0) {
				return nil, nil, perr.Errorf(perr.Invalid, "member %q: number %s out of range", name, v)
			}
			f.T, f.X = classNumber, &x
			text = strings.ToLower(string(v))
		case string:
			f.T = classString
			s := v
			if len(s) > maxIndexed {
				s = truncate(s, maxIndexed)
				f.L = true
				f.H = hashString(v)
			}
			f.S = &s
			text = strings.ToLower(v)
		case json.Delim:
			if err := metastore.SkipNested(dec); err != nil {
				return nil, nil, bad(err)
			}
			f.T = classOther
		}
		if i, ok := at[name]; ok {
			fs[i] = f
		} else {
			at[name] = len(fs)
			fs = append(fs, f)
		}
		if text != "" {
			tx = appendChunks(tx, text)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, bad(errors.New("data after the object"))
	}
	out := fs[:0]
	for _, f := range fs {
		if f.T >= 0 {
			out = append(out, f)
		}
	}
	return out, tx, nil
}

// scopeLen is the length of the prefix scoped puts on text terms.
const scopeLen = 16

// scoped prefixes every text term with a digest of the document's kind,
// cell and parent, so that a full-text search within one entity set walks
// only that set's terms (a wildcard's literal prefix bounds the term
// dictionary it visits) instead of those of every document on the shard.
func scoped(kind, cell, parent string, tx []string) []string {
	p := scopePrefix(kind, cell, parent)
	out := make([]string, len(tx))
	for i, t := range tx {
		out[i] = p + t
	}
	return out
}

func scopePrefix(kind, cell, parent string) string {
	h := sha256.Sum256([]byte(kind + "\x00" + cell + "\x00" + parent))
	return hex.EncodeToString(h[:])[:scopeLen] + ":"
}

// hashString is the indexed hash of a long string (exact equality).
func hashString(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// truncate cuts s to at most n bytes at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// appendChunks adds text to tx in pieces of at most textChunk bytes that
// overlap by textOverlap bytes, so that a search word up to textOverlap
// bytes long is found wherever it is.
func appendChunks(tx []string, text string) []string {
	for {
		if len(text) <= textChunk {
			return append(tx, text)
		}
		piece := truncate(text, textChunk)
		tx = append(tx, piece)
		next := len(piece) - textOverlap
		for next > 0 && !utf8.RuneStart(text[next]) {
			next--
		}
		if next <= 0 {
			next = len(piece)
		}
		text = text[next:]
	}
}
