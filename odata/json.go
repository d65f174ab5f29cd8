package odata

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The JSON "verbose" format of OData v2 as Personium writes it:
//
//	single entity: {"d":{"results":{...}}}
//	collection:    {"d":{"results":[...],"__count":"12"}}
//	entity:        {"__metadata":{"uri":..,"etag":..,"type":"NS.Type"},
//	                 <props>, "__published":"/Date(ms)/", "__updated":"/Date(ms)/",
//	                 "_Nav":{"__deferred":{"uri":..}} }
//
// Dates are "/Date(ms)/"; __count is a string.

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "null"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	return s
}

// formatDouble writes an Edm.Double or Edm.Single value as Personium's
// PersoniumJsonWriter.formatDoubleValue does: fixed-point, without a
// trailing ".0", when it fits in 15 integer and 14 fraction digits
// (2147483647, 1234567890.12345, 10); else as Java's Double.toString
// (1.0E20, 1.0E-15).
func formatDouble(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "null"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	ip, fp, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if len(ip) <= 15 && len(fp) <= 14 {
		return s
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		return s
	}
	// Java's scientific form: d.dddE±n, the mantissa with at least one
	// fraction digit and no "+" or leading zeros in the exponent.
	m, e, _ := strings.Cut(strconv.FormatFloat(f, 'E', -1, 64), "E")
	if !strings.Contains(m, ".") {
		m += ".0"
	}
	exp, _ := strconv.Atoi(e)
	return m + "E" + strconv.Itoa(exp)
}

// DateString renders Unix ms as /Date(ms)/.
func DateString(ms int64) string { return "/Date(" + itoa(ms) + ")/" }

// entityWriter renders entities of one service.
type entityWriter struct {
	base      string // service root URL, ending in "/"
	namespace string
}

// selection says which properties to render; nil renders all.
type selection map[string]bool

func (s selection) has(name string) bool { return s == nil || s["*"] || s[name] }

// sub returns the selection of the entities expanded through nav: the
// items "nav/p" of s; nil (everything) when there is none, or "nav/*".
func (s selection) sub(nav string) selection {
	var out selection
	for n := range s {
		p, ok := strings.CutPrefix(n, nav+"/")
		if !ok {
			continue
		}
		if p == "*" {
			return nil
		}
		if out == nil {
			out = selection{}
		}
		out[p] = true
	}
	return out
}

func writeString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

// writeValue renders a property value of EDM type typ.
func writeValue(b *bytes.Buffer, typ string, v any) {
	if v == nil {
		b.WriteString("null")
		return
	}
	if typ == EdmDateTime {
		switch x := v.(type) {
		case int64:
			writeString(b, DateString(x))
			return
		case float64:
			writeString(b, DateString(int64(x)))
			return
		}
	}
	switch x := v.(type) {
	case float64:
		if typ == EdmInt32 || (typ == "" && x == math.Trunc(x) && math.Abs(x) < 1<<53) {
			b.WriteString(strconv.FormatInt(int64(x), 10))
			return
		}
		b.WriteString(formatDouble(x))
		return
	}
	enc, err := json.Marshal(v)
	if err != nil {
		b.WriteString("null")
		return
	}
	b.Write(enc)
}

// entityURI is the canonical URI of e.
func (w *entityWriter) entityURI(e *Entity) string {
	return w.base + e.Type.Name + e.KeyString()
}

// writeEntity renders one entity object. expanded holds the related
// entities of expanded navigation properties (a slice for to-many, one
// entity or nil for to-one).
func (w *entityWriter) writeEntity(b *bytes.Buffer, e *Entity, sel selection, expanded map[string][]*Entity) {
	uri := w.entityURI(e)
	b.WriteString(`{"__metadata":{"uri":`)
	writeString(b, uri)
	b.WriteString(`,"etag":`)
	writeString(b, e.ETag())
	b.WriteString(`,"type":`)
	writeString(b, w.namespace+"."+e.Type.Name)
	b.WriteByte('}')
	if e.Type.HasID {
		b.WriteString(`,"__id":`)
		writeString(b, asString(e.Props[MemberID]))
	}
	for _, p := range e.Type.Props {
		if p.Name == MemberID || !sel.has(p.Name) {
			continue
		}
		b.WriteByte(',')
		writeString(b, p.Name)
		b.WriteByte(':')
		writeValue(b, p.Type, e.Props[p.Name])
	}
	if e.Type.Open {
		for _, name := range sortedKeys(e.Props) {
			if e.Type.Prop(name) != nil || isReserved(name) || !sel.has(name) {
				continue
			}
			b.WriteByte(',')
			writeString(b, name)
			b.WriteByte(':')
			writeValue(b, "", e.Props[name])
		}
	}
	b.WriteString(`,"__published":`)
	writeString(b, DateString(e.Published))
	b.WriteString(`,"__updated":`)
	writeString(b, DateString(e.Updated))
	for _, n := range e.Type.Nav {
		if !sel.has(n.Name) {
			if _, exp := expanded[n.Name]; !exp {
				continue
			}
		}
		b.WriteByte(',')
		writeString(b, n.Name)
		b.WriteByte(':')
		rel, exp := expanded[n.Name]
		if !exp {
			b.WriteString(`{"__deferred":{"uri":`)
			writeString(b, uri+"/"+n.Name)
			b.WriteString("}}")
			continue
		}
		sub := sel.sub(n.Name)
		if n.Many {
			b.WriteByte('[')
			for i, r := range rel {
				if i > 0 {
					b.WriteByte(',')
				}
				w.writeEntity(b, r, sub, nil)
			}
			b.WriteByte(']')
		} else if len(rel) == 0 {
			b.WriteString("null")
		} else {
			w.writeEntity(b, rel[0], sub, nil)
		}
	}
	b.WriteByte('}')
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

// isReserved reports names that are never rendered as dynamic properties:
// the reserved "__" members and hidden server-side members.
func isReserved(name string) bool {
	return len(name) >= 2 && name[0] == '_' && name[1] == '_'
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
