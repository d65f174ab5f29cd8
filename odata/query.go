package odata

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/personium-go/personium/internal/perr"
)

// Limits bounds the system query options of a request. A zero field
// means the value in DefaultLimits.
type Limits struct {
	DefaultTop       int // $top when absent
	MaxTop           int // largest $top
	MaxSkip          int // largest $skip
	MaxTopWithExpand int // largest $top when $expand is given
	MaxExpandList    int // navigation properties in $expand on a list
	MaxExpandSingle  int // navigation properties in $expand on one entity
}

// DefaultLimits are Personium's defaults (reference §12,
// personium-unit-config-default.properties: io.personium.core.odata.query.*).
var DefaultLimits = Limits{
	DefaultTop:       25,
	MaxTop:           10000,
	MaxSkip:          100000,
	MaxTopWithExpand: 100,
	MaxExpandList:    2,
	MaxExpandSingle:  10,
}

// MaxQBytes bounds the full-text search option q (Common.MAX_Q_VALUE_LENGTH).
const MaxQBytes = 255

func (l Limits) orDefaults() Limits {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.DefaultTop, DefaultLimits.DefaultTop)
	def(&l.MaxTop, DefaultLimits.MaxTop)
	def(&l.MaxSkip, DefaultLimits.MaxSkip)
	def(&l.MaxTopWithExpand, DefaultLimits.MaxTopWithExpand)
	def(&l.MaxExpandList, DefaultLimits.MaxExpandList)
	def(&l.MaxExpandSingle, DefaultLimits.MaxExpandSingle)
	return l
}

// OrderItem is one $orderby key.
type OrderItem struct {
	Property string
	Desc     bool
}

// QueryOptions are the parsed system query options of a request.
type QueryOptions struct {
	Filter      FilterExpr  // $filter; nil if absent
	OrderBy     []OrderItem // $orderby; nil if absent
	Top         int         // $top, or the default
	Skip        int         // $skip; 0 if absent
	Select      []string    // $select; nil means all properties ("*" or absent)
	Expand      []string    // $expand navigation property names; nil if absent
	InlineCount bool        // $inlinecount=allpages
	Q           string      // full-text search words; "" if absent
	Format      string      // $format: "json" (the default) or "atom"
}

// ParseQueryOptions parses the system query options in v (reference
// §7.3). For a single entity (single=true) only $select, $expand and
// $format apply, as in Personium; the others are ignored. The checks, in
// Personium's order, and their codes:
//
//	$top, $skip    not an int: PR400-OD-0036; out of 0..MaxTop/MaxSkip: PR400-OD-0029
//	$filter        see ParseFilter (PR400-OD-0003/0043/0044)
//	$select        PR400-OD-0017 (empty or not a list of names; "*" alone means all)
//	$expand        PR400-OD-0026 (not a list of "_Name"s); too many: PR400-OD-0039
//	$inlinecount   allpages or none, else PR400-OD-0013
//	$orderby       see ParseOrderBy (PR400-OD-0015)
//	q              1..255 bytes, else PR400-OD-0029
//	$top           over MaxTopWithExpand when $expand is given: PR400-OD-0029
//	$format        json or atom, else PR400-OD-0005
//
// Only the first value of a repeated option counts.
func ParseQueryOptions(v url.Values, lim Limits, single bool) (*QueryOptions, error) {
	lim = lim.orDefaults()
	o := &QueryOptions{Top: lim.DefaultTop, Format: "json"}
	if single {
		if err := o.parseSelectExpand(v, lim.MaxExpandSingle); err != nil {
			return nil, err
		}
		return o, o.parseFormat(v)
	}
	top, hasTop, err := parseBoundedInt(v, "$top", lim.MaxTop)
	if err != nil {
		return nil, err
	}
	if hasTop {
		o.Top = top
	}
	if o.Skip, _, err = parseBoundedInt(v, "$skip", lim.MaxSkip); err != nil {
		return nil, err
	}
	if s, ok := firstValue(v, "$filter"); ok {
		if o.Filter, err = ParseFilter(s); err != nil {
			return nil, err
		}
	}
	if err := o.parseSelectExpand(v, lim.MaxExpandList); err != nil {
		return nil, err
	}
	if s, ok := firstValue(v, "$inlinecount"); ok {
		switch s {
		case "allpages":
			o.InlineCount = true
		case "none":
		default:
			return nil, perr.New(codeInlineCount, s)
		}
	}
	if s, ok := firstValue(v, "$orderby"); ok {
		if o.OrderBy, err = ParseOrderBy(s); err != nil {
			return nil, err
		}
	}
	if s, ok := firstValue(v, "q"); ok {
		if len(s) < 1 || len(s) > MaxQBytes {
			return nil, perr.New(codeQueryInvalid, "q", s)
		}
		o.Q = s
	}
	if hasTop && o.Expand != nil && top > lim.MaxTopWithExpand {
		return nil, perr.New(codeQueryInvalid, "$top", strconv.Itoa(top))
	}
	return o, o.parseFormat(v)
}

func firstValue(v url.Values, name string) (string, bool) {
	vs, ok := v[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// parseBoundedInt parses option name as a 32-bit integer in 0..max.
func parseBoundedInt(v url.Values, name string, max int) (n int, present bool, err error) {
	s, ok := firstValue(v, name)
	if !ok {
		return 0, false, nil
	}
	i, convErr := strconv.ParseInt(s, 10, 32)
	if convErr != nil {
		return 0, true, perr.New(codeQueryParseParam, name).WithCause(convErr)
	}
	if i < 0 || i > int64(max) {
		return 0, true, perr.New(codeQueryInvalid, name, strconv.FormatInt(i, 10))
	}
	return int(i), true, nil
}

func (o *QueryOptions) parseSelectExpand(v url.Values, maxExpand int) error {
	if s, ok := firstValue(v, "$select"); ok {
		if strings.TrimSpace(s) != "*" {
			names, err := parseSelectList(s)
			if err != nil {
				return perr.New(codeSelectParse).WithCause(err)
			}
			o.Select = names
		}
	}
	if s, ok := firstValue(v, "$expand"); ok && strings.TrimSpace(s) != "" {
		names, err := parseNameList(s)
		if err != nil {
			return perr.New(codeExpandParse).WithCause(err)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "_") {
				return perr.New(codeExpandParse).WithCause(&syntaxError{0, "not a navigation property: " + strconv.Quote(n)})
			}
		}
		if len(names) > maxExpand {
			return perr.New(codeExpandTooMany)
		}
		o.Expand = names
	}
	return nil
}

func (o *QueryOptions) parseFormat(v url.Values) error {
	s, ok := firstValue(v, "$format")
	if !ok {
		return nil
	}
	switch s {
	case "json", "atom":
		o.Format = s
		return nil
	}
	return perr.New(codeFormatInvalid, s)
}

// parseNameList parses Name[,Name…] (whitespace allowed around names).
// selectItemRE is one $select item: a property, *, or a property (or *)
// of an expanded navigation property: _Pet/name (beyond Personium, whose
// issue 247 asks for it).
var selectItemRE = regexp.MustCompile(`^(\*|[A-Za-z0-9_.\-]+(/(\*|[A-Za-z0-9_.\-]+))?)$`)

// parseSelectList parses a $select value: comma-separated items.
func parseSelectList(s string) ([]string, error) {
	var names []string
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if !selectItemRE.MatchString(item) {
			return nil, &syntaxError{i, "bad $select item " + strconv.Quote(item)}
		}
		if slash := strings.IndexByte(item, '/'); slash >= 0 && !strings.HasPrefix(item, "_") {
			return nil, &syntaxError{i, "not a navigation property: " + strconv.Quote(item[:slash])}
		}
		if item == "*" && strings.Contains(s, ",") {
			return nil, &syntaxError{i, "* with other properties"}
		}
		names = append(names, item)
	}
	return names, nil
}

func parseNameList(s string) ([]string, error) {
	toks, err := lexQuery(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, &syntaxError{0, "empty list"}
	}
	var names []string
	for i, t := range toks {
		if i%2 == 1 {
			if t.kind != tokComma || i == len(toks)-1 {
				return nil, &syntaxError{t.pos, "expected , between names"}
			}
			continue
		}
		if t.kind != tokWord {
			return nil, &syntaxError{t.pos, "expected a name"}
		}
		names = append(names, t.text)
	}
	return names, nil
}

// ParseOrderBy parses a $orderby value: Property [asc|desc], … (asc the
// default). Anything else, including an empty value, is PR400-OD-0015.
func ParseOrderBy(s string) ([]OrderItem, error) {
	fail := func(err error) ([]OrderItem, error) {
		return nil, perr.New(codeOrderByParse).WithCause(err)
	}
	toks, err := lexQuery(s)
	if err != nil {
		return fail(err)
	}
	if len(toks) == 0 {
		return fail(&syntaxError{0, "empty $orderby"})
	}
	var items []OrderItem
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.kind != tokWord {
			return fail(&syntaxError{t.pos, "expected a property name"})
		}
		it := OrderItem{Property: t.text}
		i++
		if i < len(toks) && toks[i].kind == tokWord && (toks[i].text == "asc" || toks[i].text == "desc") {
			it.Desc = toks[i].text == "desc"
			i++
		}
		items = append(items, it)
		if i < len(toks) {
			if toks[i].kind != tokComma || i == len(toks)-1 {
				return fail(&syntaxError{toks[i].pos, "expected , between $orderby items"})
			}
			i++
		}
	}
	return items, nil
}
