package odata

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/personium-go/personium/internal/perr"
)

// MaxBodyBytes bounds the JSON body of one entity write.
const MaxBodyBytes = 1 << 20

// MaxStringBytes bounds one Edm.String value (reference §7.1).
const MaxStringBytes = 51200

var dateRE = regexp.MustCompile(`^/Date\((-?[0-9]{1,15})\)/$`)

// readBody reads at most MaxBodyBytes; more is PR400-OD-0001-class.
func readBody(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBodyBytes+1))
	if err != nil {
		return nil, perr.New("PR400-OD-0001").WithCause(err)
	}
	if len(data) > MaxBodyBytes {
		return nil, perr.New("PR413-MC-0001")
	}
	return data, nil
}

// decodeObject parses a JSON object, keeping numbers exact.
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, perr.New("PR400-OD-0001").WithCause(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, perr.New("PR400-OD-0001")
	}
	return m, nil
}

// decodeEntity turns a request body into property values of type t:
// declared properties are type-checked and converted, dynamic ones are
// accepted for open types only, reserved "__" members are dropped (except
// __id for types with ids). Missing properties are absent from the result.
// DecodeEntity checks a JSON entity body against t as a create does and
// returns its members converted (defaults are not filled in): for
// endpoints that take an entity-like body outside a Service.
func DecodeEntity(t *EntityType, data []byte) (map[string]any, error) { return decodeEntity(t, data) }

func decodeEntity(t *EntityType, data []byte) (map[string]any, error) {
	return decodeEntityMode(t, data, false)
}

// decodeEntityMode is decodeEntity; with partial (MERGE), members a
// complex value leaves out are not filled in or required: the merge
// keeps their current values.
func decodeEntityMode(t *EntityType, data []byte, partial bool) (map[string]any, error) {
	raw, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(raw))
	for name, v := range raw {
		if name == MemberID && t.HasID {
			s, ok := v.(string)
			if !ok || len(s) == 0 || len(s) > 400 {
				return nil, perr.New("PR400-OD-0006", MemberID)
			}
			out[name] = s
			continue
		}
		if isReserved(name) {
			// __published, __updated, __metadata and hidden members are
			// the server's (Personium's words).
			return nil, perr.New("PR400-OD-0007", name+" is management information name. Cannot request.")
		}
		p := t.Prop(name)
		if p == nil {
			if !t.Open {
				return nil, perr.New("PR400-OD-0007", "unknown property "+name+" for "+t.Name)
			}
			if !dynamicNameRE.MatchString(name) { // Personium PATTERN_USERDATA_KEY
				return nil, perr.New("PR400-OD-0006", name)
			}
			cv, err := convertDynamic(name, v)
			if err != nil {
				return nil, err
			}
			out[name] = cv
			continue
		}
		cv, err := convertValueMode(p, v, partial)
		if err != nil {
			return nil, err
		}
		out[name] = cv
	}
	return out, nil
}

// convertValue checks v (as decoded with UseNumber) against p's type.
func convertValue(p *Property, v any) (any, error) { return convertValueMode(p, v, false) }

func convertValueMode(p *Property, v any, partial bool) (any, error) {
	if p.List && v != nil {
		items, ok := v.([]any)
		if !ok {
			return nil, perr.New("PR400-OD-0006", p.Name)
		}
		elem := *p
		elem.List, elem.Nullable = false, true
		out := make([]any, len(items))
		for i, item := range items {
			cv, err := convertValueMode(&elem, item, false) // list items are whole
			if err != nil {
				return nil, err
			}
			out[i] = cv
		}
		return out, nil
	}
	if p.Complex != nil && v != nil {
		return convertComplex(p, v, partial)
	}
	return convertSimple(p, v)
}

// convertComplex checks a value of a complex type: an object whose
// members are the type's (unknown ones are PR400-OD-0007; missing ones
// take their defaults, and non-nullable ones are required).
func convertComplex(p *Property, v any, partial bool) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, perr.New("PR400-OD-0006", p.Name)
	}
	out := make(map[string]any, len(p.Complex))
	for name, mv := range obj {
		m := p.complexMember(name)
		if m == nil {
			return nil, perr.New("PR400-OD-0007", "unknown property "+name+" for "+p.Type)
		}
		cv, err := convertValueMode(m, mv, partial)
		if err != nil {
			return nil, err
		}
		out[name] = cv
	}
	if partial {
		return out, nil
	}
	if err := fillMembers(p, out); err != nil {
		return nil, err
	}
	return out, nil
}

// fillMembers gives the members of complex value out that it lacks their
// defaults (nil if none), refusing a missing required one.
func fillMembers(p *Property, out map[string]any) error {
	for _, m := range p.Complex {
		if _, ok := out[m.Name]; ok {
			continue
		}
		switch {
		case m.DefaultFunc != nil:
			out[m.Name] = m.DefaultFunc()
		case m.Default != nil:
			out[m.Name] = m.Default
		case !m.Nullable:
			return perr.New("PR400-OD-0009", m.Name)
		default:
			out[m.Name] = nil
		}
	}
	return nil
}

// mergeComplex merges v, a complex value of p as a MERGE body gave it
// (decoded partially: only the members it names), into old, member by
// member and recursively, as Personium's ODataUtils.getMergeFields does
// (apiref 369): members left out keep their values; lists are replaced
// whole. Where there is nothing to merge into, v must be whole: the
// missing members get their defaults, required ones are required.
func mergeComplex(p *Property, old, v any) (any, error) {
	nm, ok := v.(map[string]any)
	if !ok {
		return v, nil // null
	}
	om, _ := old.(map[string]any)
	out := make(map[string]any, len(p.Complex))
	for k, x := range om {
		out[k] = x
	}
	for k, x := range nm {
		sub := p.complexMember(k)
		if sub != nil && sub.Complex != nil && !sub.List {
			merged, err := mergeComplex(sub, om[k], x)
			if err != nil {
				return nil, err
			}
			x = merged
		}
		out[k] = x
	}
	if om == nil {
		if err := fillMembers(p, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// complexMember is the member called name of complex property p.
func (p *Property) complexMember(name string) *Property {
	for _, c := range p.Complex {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// convertSimple checks a value of a simple type.
func convertSimple(p *Property, v any) (any, error) {
	bad := perr.New("PR400-OD-0006", p.Name)
	if v == nil {
		if !p.Nullable {
			return nil, bad
		}
		return nil, nil
	}
	var out any
	switch p.Type {
	case EdmString:
		s, ok := v.(string)
		max := p.MaxLength
		if max == 0 {
			max = MaxStringBytes
		}
		if !ok || len(s) > max {
			return nil, bad
		}
		out = s
	case EdmBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, bad
		}
		out = b
	case EdmInt32:
		n, ok := v.(json.Number)
		if !ok {
			return nil, bad
		}
		i, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil {
			return nil, bad
		}
		out = i
	case EdmDouble, EdmSingle:
		n, ok := v.(json.Number)
		if str, isStr := v.(string); isStr {
			// A number in a string is taken, with Java's d/f suffix
			// ("1234567890.12345d"), as Personium's
			// UserData*DoublePropertyTest expects.
			str = strings.TrimRight(strings.TrimSpace(str), "dDfF")
			if _, err := strconv.ParseFloat(str, 64); err == nil && str != "" && !strings.ContainsAny(str, "xXnN_") {
				n, ok = json.Number(str), true
			}
		}
		if !ok {
			return nil, bad
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, bad
		}
		out = f
	case EdmDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, bad
		}
		if s == "SYSUTCDATETIME()" { // the server's time now (apiref 364)
			out = time.Now().UnixMilli()
			break
		}
		m := dateRE.FindStringSubmatch(s)
		if m == nil {
			return nil, bad
		}
		ms, _ := strconv.ParseInt(m[1], 10, 64)
		out = ms
	default:
		return nil, bad
	}
	if p.Validate != nil {
		if err := p.Validate(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// dynamicNameRE is what a dynamic property's name may be (Personium
// Common.PATTERN_USERDATA_KEY): it becomes a Property of the schema.
var dynamicNameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9-_]{0,127}$`)

// convertDynamic accepts scalar dynamic property values.
func convertDynamic(name string, v any) (any, error) {
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case string:
		if len(x) > MaxStringBytes {
			return nil, perr.New("PR400-OD-0006", name)
		}
		return x, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, perr.New("PR400-OD-0006", name)
		}
		return f, nil
	}
	return nil, perr.New("PR400-OD-0006", name)
}

// fromStored converts a body member read back from the store (decoded
// with UseNumber) to the value type the schema says.
func fromStored(p *Property, v any) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if p != nil && (p.Type == EdmDouble || p.Type == EdmSingle) {
		f, _ := n.Float64()
		return f
	}
	if i, err := n.Int64(); err == nil {
		return i
	}
	f, _ := n.Float64()
	return f
}
