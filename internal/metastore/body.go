package metastore

import (
	"encoding/json"
	"fmt"
)

// MaxDepth bounds the nesting of document bodies. Backends refuse deeper
// ones (SQLite's JSON functions stop at 1000 levels, which would break
// every query that reads the body).
const MaxDepth = 500

// SkipNested consumes dec's tokens up to the end of the object or array
// whose opening delimiter was just read, one level below a body's top
// level; it refuses nesting deeper than MaxDepth.
func SkipNested(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		if depth >= MaxDepth {
			return fmt.Errorf("nested deeper than %d levels", MaxDepth)
		}
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}
