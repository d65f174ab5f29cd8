package odata

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The lexer of $filter, $orderby and key predicates: OData v2 URI
// literal syntax as Personium accepts it.

type tokKind uint8

const (
	tokEOF      tokKind = iota
	tokWord             // identifier or keyword; text holds it
	tokString           // quoted string; val holds the unquoted text
	tokNumber           // val holds an int64 or float64; suffix the type suffix
	tokDateTime         // val holds a DateTime
	tokOpen             // (
	tokClose            // )
	tokComma            // ,
	tokEquals           // = (keys only)
	tokMinus            // - not starting a number (negation)
)

type token struct {
	kind   tokKind
	pos    int
	text   string
	val    any
	suffix string
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigitByte(c byte) bool { return '0' <= c && c <= '9' }

// wordStart and wordPart classify identifier runes: a letter or '_' to
// start, then letters, digits, '_', '-' and '.' (Personium property names
// are [A-Za-z0-9][A-Za-z0-9-_]*; dots join "_Box.Name").
func wordStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func wordPart(r rune) bool {
	return r == '_' || r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// lexQuery splits s into tokens.
func lexQuery(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case isSpaceByte(c):
			i++
		case c == '(':
			toks = append(toks, token{kind: tokOpen, pos: i})
			i++
		case c == ')':
			toks = append(toks, token{kind: tokClose, pos: i})
			i++
		case c == ',':
			toks = append(toks, token{kind: tokComma, pos: i})
			i++
		case c == '=':
			toks = append(toks, token{kind: tokEquals, pos: i})
			i++
		case c == '\'':
			v, n, err := lexQuoted(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: tokString, pos: i, val: v})
			i = n
		case isDigitByte(c) || c == '-' && i+1 < len(s) && isDigitByte(s[i+1]):
			t, n, err := lexNumber(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, t)
			i = n
		case c == '-':
			toks = append(toks, token{kind: tokMinus, pos: i})
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !wordStart(r) || r == utf8.RuneError {
				return nil, &syntaxError{i, fmt.Sprintf("unexpected character %q", r)}
			}
			start := i
			i += size
			for i < len(s) {
				r, size := utf8.DecodeRuneInString(s[i:])
				if r == utf8.RuneError || !wordPart(r) {
					break
				}
				i += size
			}
			w := s[start:i]
			if strings.HasSuffix(w, ".") || strings.Contains(w, "..") {
				return nil, &syntaxError{start, "malformed name " + strconv.Quote(w)}
			}
			if i < len(s) && s[i] == '\'' {
				t, n, err := lexTypedLiteral(s, start, w, i)
				if err != nil {
					return nil, err
				}
				toks = append(toks, t)
				i = n
				continue
			}
			toks = append(toks, token{kind: tokWord, pos: start, text: w})
		}
	}
	return toks, nil
}

// lexQuoted reads the quoted string whose opening quote is s[i], where
// two quotes in a row stand for one, and returns its text and the offset
// after it.
func lexQuoted(s string, i int) (string, int, error) {
	start := i
	i++
	var b strings.Builder
	from := i
	for {
		j := strings.IndexByte(s[i:], '\'')
		if j < 0 {
			return "", 0, &syntaxError{start, "unterminated string"}
		}
		i += j
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteString(s[from : i+1])
			i += 2
			from = i
			continue
		}
		if b.Len() == 0 {
			return s[from:i], i + 1, nil
		}
		b.WriteString(s[from:i])
		return b.String(), i + 1, nil
	}
}

// lexNumber reads -?digits[.digits][(e|E)[+-]digits] with an optional
// suffix L (integers), f, m or M (no exponent).
func lexNumber(s string, i int) (token, int, error) {
	start := i
	if s[i] == '-' {
		i++
	}
	for i < len(s) && isDigitByte(s[i]) {
		i++
	}
	isFloat, hasExp := false, false
	if i+1 < len(s) && s[i] == '.' && isDigitByte(s[i+1]) {
		isFloat = true
		i++
		for i < len(s) && isDigitByte(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		k := i + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigitByte(s[k]) {
			isFloat, hasExp = true, true
			i = k
			for i < len(s) && isDigitByte(s[i]) {
				i++
			}
		}
	}
	text := s[start:i]
	suffix := ""
	if i < len(s) && !hasExp {
		switch c := s[i]; {
		case c == 'L' && !isFloat, c == 'f', c == 'm', c == 'M':
			suffix = string(c)
			i++
		}
	}
	if i < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[i:]); r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return token{}, 0, &syntaxError{start, "malformed number"}
		}
	}
	t := token{kind: tokNumber, pos: start, text: s[start:i], suffix: suffix}
	if !isFloat && (suffix == "" || suffix == "L") {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return token{}, 0, &syntaxError{start, "integer out of range"}
		}
		t.val = n
		return t, i, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return token{}, 0, &syntaxError{start, "number out of range"}
	}
	t.val = f
	return t, i, nil
}

// lexTypedLiteral reads word'…' at s[start:], the quote being at s[q].
func lexTypedLiteral(s string, start int, word string, q int) (token, int, error) {
	text, n, err := lexQuoted(s, q)
	if err != nil {
		return token{}, 0, err
	}
	var offset bool
	switch word {
	case "datetime":
	case "datetimeoffset":
		offset = true
	default:
		return token{}, 0, &syntaxError{start, "unsupported literal type " + strconv.Quote(word)}
	}
	ms, ok := parseISODateTime(text, offset)
	if !ok {
		return token{}, 0, &syntaxError{start, "malformed " + word + " literal"}
	}
	return token{kind: tokDateTime, pos: start, val: DateTime{UnixMilli: ms, Offset: offset}}, n, nil
}

// parseISODateTime parses yyyy-MM-ddTHH:mm[:ss[.f{1,9}]] as UTC (Java's
// ISO_LOCAL_DATE_TIME, strict), and, if withOffset, an optional Z or
// ±HH:MM[:SS] offset after it (ISO_DATE_TIME). The instant, truncated to
// milliseconds, must fall in the years 0000–9999 UTC.
func parseISODateTime(s string, withOffset bool) (int64, bool) {
	num := func(i, n int) (int, bool) {
		if i+n > len(s) {
			return 0, false
		}
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if !isDigitByte(c) {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	at := func(i int, c byte) bool { return i < len(s) && (s[i] == c || c == 'T' && s[i] == 't') }
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && at(4, '-') && at(7, '-') && at(10, 'T') && at(13, ':')) {
		return 0, false
	}
	i := 16
	sec, nano := 0, 0
	if at(i, ':') {
		var ok bool
		if sec, ok = num(i+1, 2); !ok {
			return 0, false
		}
		i += 3
		if at(i, '.') {
			i++
			digits := 0
			for i < len(s) && isDigitByte(s[i]) {
				if digits == 9 {
					return 0, false
				}
				nano = nano*10 + int(s[i]-'0')
				digits++
				i++
			}
			if digits == 0 {
				return 0, false
			}
			for ; digits < 9; digits++ {
				nano *= 10
			}
		}
	}
	off := 0
	if withOffset && i < len(s) {
		switch s[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			oh, ok1 := num(i+1, 2)
			om, ok2 := num(i+4, 2)
			if !ok1 || !ok2 || !at(i+3, ':') || om > 59 {
				return 0, false
			}
			os := 0
			n := i + 6
			if at(n, ':') {
				var ok bool
				if os, ok = num(n+1, 2); !ok || os > 59 {
					return 0, false
				}
				n += 3
			}
			off = oh*3600 + om*60 + os
			if off > 18*3600 {
				return 0, false
			}
			if s[i] == '-' {
				off = -off
			}
			i = n
		}
	}
	if i != len(s) || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nano, time.UTC)
	if t.Day() != d { // day beyond the month's end
		return 0, false
	}
	t = t.Add(-time.Duration(off) * time.Second)
	ms := t.UnixMilli()
	if u := time.UnixMilli(ms).UTC(); u.Year() < 0 || u.Year() > 9999 {
		return 0, false
	}
	return ms, true
}
