package elastic

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzIndex: any input is either refused or indexed consistently with
// encoding/json's reading of it: one entry per non-null top-level member,
// strings cut at character boundaries, text chunks within bounds.
func FuzzIndex(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x","c":true,"d":null,"e":{"x":[1]}}`, `{"a":1,"a":null}`,
		`{"a":"` + strings.Repeat("é", 3000) + `"}`, `[1]`, `{"a":1e400}`, `{"a":`, `{"a":1} x`, `{"":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fs, tx, err := index(body)
		var m map[string]any
		if json.Unmarshal(body, &m) != nil || m == nil {
			if err == nil {
				t.Fatalf("accepted %q, which is not a JSON object", body)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "out of range") || strings.Contains(err.Error(), "nested deeper") {
				return
			}
			t.Fatalf("refused the JSON object %q: %v", body, err)
		}
		nonNull := 0
		for _, v := range m {
			if v != nil {
				nonNull++
			}
		}
		if len(fs) != nonNull {
			t.Fatalf("%q: %d entries for %d non-null members", body, len(fs), nonNull)
		}
		for _, f := range fs {
			v, ok := m[f.N]
			if !ok || v == nil {
				t.Fatalf("%q: entry for member %q, which is null or absent", body, f.N)
			}
			if f.S != nil && (len(*f.S) > maxIndexed || !strings.HasPrefix(v.(string), *f.S) || !utf8.ValidString(*f.S) && utf8.ValidString(v.(string))) {
				t.Fatalf("%q: member %q indexed as %q", body, f.N, *f.S)
			}
		}
		for _, c := range tx {
			if len(c) > textChunk {
				t.Fatalf("text chunk of %d bytes", len(c))
			}
		}
	})
}
