package odata

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/personium-go/personium/internal/perr"
)

// $batch (reference §7.4; Personium rs/odata/BatchBodyParser.java,
// ODataBatchResource.java; apiref 368 "Entity collective operation").
//
// A $batch body is a multipart/mixed document. Each part is either a query
// operation (Content-Type: application/http, holding one GET request) or a
// changeset (Content-Type: multipart/mixed with its own boundary, holding
// application/http parts with POST, PUT, MERGE or DELETE requests).
// ParseBatch checks the whole body before anything runs, so a malformed
// batch is refused whole and changes nothing.

// Limits of one $batch request.
const (
	// MaxBatchOps bounds the operations in one batch, changeset members
	// counted one by one (io.personium.core.odata.batch.bulkRequestMaxSize).
	MaxBatchOps = 1000
	// MaxBatchBytes bounds the whole request body. Personium has no
	// explicit bound; this one allows ten maximal entity bodies.
	MaxBatchBytes = 10 * MaxBodyBytes
)

// Batch is a parsed $batch request body.
type Batch struct {
	// Boundary is the batch boundary from the request's Content-Type.
	// Personium frames the response with the same boundary.
	Boundary string
	Parts    []BatchPart
}

// BatchPart is one part of a batch: exactly one of Single and Changeset
// is set.
type BatchPart struct {
	// Single is a query operation: a GET outside any changeset.
	Single *BatchRequest
	// Changeset holds the writes of a changeset, in order; never empty.
	Changeset []BatchRequest
	// Boundary is the changeset's boundary as the request wrote it; ""
	// for Single parts. Personium answers a changeset with the same one.
	Boundary string
}

// BatchRequest is one operation of a batch.
type BatchRequest struct {
	Method string // GET, POST, PUT, MERGE or DELETE
	// Path is the request target as written in the request line: relative
	// to the service root, still percent-encoded, query included.
	Path string
	// Header holds the operation's own headers (canonical keys, values
	// trimmed); never nil. Their Content-Length is not trusted: the body
	// runs to the next boundary, as in Personium.
	Header http.Header
	Body   []byte // nil when empty
	// ContentID is the Content-ID of the MIME part (or, failing that, of
	// the request headers); "" if none.
	ContentID string
}

// Ops is the number of operations in the batch, changeset members counted
// one by one.
func (b *Batch) Ops() int {
	n := 0
	for _, p := range b.Parts {
		if p.Single != nil {
			n++
		}
		n += len(p.Changeset)
	}
	return n
}

// batchMethods are the methods an operation may use, and whether each
// belongs in a changeset. Personium itself accepts GET, POST, PUT and
// DELETE (BatchBodyParser.getMethod); MERGE is accepted here because the
// entity handler serves it.
var batchMethods = map[string]bool{
	http.MethodGet:    false,
	http.MethodPost:   true,
	http.MethodPut:    true,
	"MERGE":           true,
	http.MethodDelete: true,
}

// identityEncodings are the Content-Transfer-Encodings of an
// application/http part that leave the bytes as they are. The header may
// be omitted, as Personium does not look at it.
var identityEncodings = map[string]bool{"binary": true, "8bit": true, "7bit": true}

// ParseBatch parses the body of POST {service root}$batch, whose request
// Content-Type is contentType. It reads at most MaxBatchBytes.
//
// Framing follows RFC 2046 with Personium's restrictions: the body starts
// with the first delimiter line (no preamble) and nothing but white space
// follows the close delimiter; lines end in CRLF or LF; the line break
// before a delimiter belongs to the delimiter. Part and request headers
// end at a blank line or at the end of the part. Changesets nest one level.
// A request line is "METHOD path [HTTP/1.1]": Personium's documentation
// (apiref 368) and test suite omit the version on GET lines. Content-Length
// headers inside the batch are not trusted (Personium's own tests send
// wrong ones).
//
// Checks on paths, as in Personium: the path parses as a resource below
// the service root (Set, Set(key), Set(key)/_Nav, Set(key)/$links/_Nav,
// Set(key)/$links/_Nav(key)); paths with a navigation segment carry no
// query; POST on Set(key) and PUT, MERGE or DELETE on Set are refused.
// Explicit $top values of all GETs together may not exceed
// DefaultLimits.MaxTop.
//
// Errors (all refuse the whole batch):
//
//	PR415-OD-0001  contentType is not multipart/mixed
//	PR400-OD-0023  no or bad boundary; body not framed by it; read error
//	PR413-MC-0001  body over MaxBatchBytes, or one operation's body over MaxBodyBytes
//	PR400-OD-0021  [Content-Type] part without Content-Type, of another type, or
//	               an empty batch or changeset; [name] bad header line or value
//	PR400-OD-0022  changeset inside a changeset
//	PR400-OD-0035  [method] method not allowed, GET in a changeset or a write outside one
//	PR400-OD-0034  [request line] bad request line or path
//	PR400-OD-0037  total of $top over the limit
//	PR400-OD-0030  [count] more than MaxBatchOps operations
func ParseBatch(contentType string, body io.Reader) (*Batch, error) {
	if strings.TrimSpace(contentType) == "" {
		return nil, perr.New("PR400-OD-0023")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, perr.New("PR400-OD-0023").WithCause(err)
	}
	if mt != "multipart/mixed" {
		return nil, perr.New("PR415-OD-0001", mt)
	}
	boundary := params["boundary"]
	if !validBoundary(boundary) {
		return nil, perr.New("PR400-OD-0023")
	}
	data, err := io.ReadAll(io.LimitReader(body, MaxBatchBytes+1))
	if err != nil {
		return nil, perr.New("PR400-OD-0023").WithCause(err)
	}
	if len(data) > MaxBatchBytes {
		return nil, perr.New("PR413-MC-0001")
	}
	contents, err := splitMultipart(data, boundary)
	if err != nil {
		return nil, err
	}
	p := &batchParser{}
	b := &Batch{Boundary: boundary}
	for _, c := range contents {
		part, err := p.part(c)
		if err != nil {
			return nil, err
		}
		if p.ops <= MaxBatchOps {
			b.Parts = append(b.Parts, part)
		}
	}
	if p.ops > MaxBatchOps {
		return nil, perr.New("PR400-OD-0030", groupThousands(p.ops))
	}
	return b, nil
}

// batchParser holds the counts that span the whole batch.
type batchParser struct {
	ops    int // operations seen
	topSum int // explicit $top values of GETs, summed
}

// part parses one top-level part. Once the operation limit is passed, the
// rest is still checked (Personium reports format errors first) but no
// longer kept.
func (p *batchParser) part(content []byte) (BatchPart, error) {
	hdr, body, err := parseMIMEPart(content)
	if err != nil {
		return BatchPart{}, err
	}
	mt, params, err := partType(hdr)
	if err != nil {
		return BatchPart{}, err
	}
	switch mt {
	case "application/http":
		req, err := p.request(hdr, body, false)
		if err != nil {
			return BatchPart{}, err
		}
		return BatchPart{Single: req}, nil
	case "multipart/mixed":
		cs := params["boundary"]
		if !validBoundary(cs) {
			return BatchPart{}, perr.New("PR400-OD-0021", "Content-Type")
		}
		contents, err := splitMultipart(body, cs)
		if err != nil {
			return BatchPart{}, err
		}
		part := BatchPart{Boundary: cs}
		for _, c := range contents {
			hdr, body, err := parseMIMEPart(c)
			if err != nil {
				return BatchPart{}, err
			}
			mt, _, err := partType(hdr)
			if err != nil {
				return BatchPart{}, err
			}
			switch mt {
			case "application/http":
			case "multipart/mixed":
				return BatchPart{}, perr.New("PR400-OD-0022")
			default:
				return BatchPart{}, perr.New("PR400-OD-0021", "Content-Type")
			}
			req, err := p.request(hdr, body, true)
			if err != nil {
				return BatchPart{}, err
			}
			if p.ops <= MaxBatchOps {
				part.Changeset = append(part.Changeset, *req)
			}
		}
		return part, nil
	}
	return BatchPart{}, perr.New("PR400-OD-0021", "Content-Type")
}

// partType returns the media type of a MIME part; a missing, repeated or
// unparsable Content-Type is PR400-OD-0021.
func partType(hdr http.Header) (string, map[string]string, error) {
	v := hdr.Values("Content-Type")
	if len(v) != 1 {
		return "", nil, perr.New("PR400-OD-0021", "Content-Type")
	}
	mt, params, err := mime.ParseMediaType(v[0])
	if err != nil {
		return "", nil, perr.New("PR400-OD-0021", "Content-Type").WithCause(err)
	}
	return mt, params, nil
}

// request parses the application/http part with MIME headers hdr and
// content msg: request line, headers, blank line, body.
func (p *batchParser) request(hdr http.Header, msg []byte, inChangeset bool) (*BatchRequest, error) {
	if cte := hdr.Values("Content-Transfer-Encoding"); len(cte) > 1 ||
		len(cte) == 1 && !identityEncodings[strings.ToLower(cte[0])] {
		return nil, perr.New("PR400-OD-0021", "Content-Transfer-Encoding")
	}
	line, next := nextLine(msg, 0)
	reqLine := string(line)
	fields := strings.Fields(reqLine)
	method := ""
	if len(fields) > 0 {
		method = fields[0]
	}
	write, ok := batchMethods[method]
	if !ok || write != inChangeset {
		return nil, perr.New("PR400-OD-0035", clip(method))
	}
	if len(fields) < 2 || len(fields) > 3 || len(fields) == 3 && fields[2] != "HTTP/1.1" && fields[2] != "HTTP/1.0" {
		return nil, perr.New("PR400-OD-0034", clip(reqLine))
	}
	target := fields[1]
	if err := checkTarget(method, target); err != nil {
		return nil, perr.New("PR400-OD-0034", clip(reqLine)).WithCause(err)
	}
	if method == http.MethodGet {
		if err := p.addTop(target); err != nil {
			return nil, err
		}
	}
	rh, body, err := parseMIMEPart(msg[next:])
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBodyBytes {
		return nil, perr.New("PR413-MC-0001")
	}
	p.ops++
	req := &BatchRequest{Method: method, Path: target, Header: rh, ContentID: hdr.Get("Content-Id")}
	if req.ContentID == "" {
		req.ContentID = rh.Get("Content-Id")
	}
	if len(body) > 0 {
		req.Body = body
	}
	return req, nil
}

// checkTarget applies Personium's path rules to a request target. The
// error it returns is only a cause; the caller reports PR400-OD-0034.
func checkTarget(method, target string) error {
	path, query, _ := strings.Cut(target, "?")
	dec, err := url.PathUnescape(path)
	if err != nil {
		return err
	}
	res, err := parseResource(dec)
	if err != nil {
		return err
	}
	switch {
	case res.set == "":
		return perr.Errorf(perr.Invalid, "no entity set in %q", path)
	case res.prop != "":
		return perr.Errorf(perr.Invalid, "property path %q", path)
	case res.nav != "":
		if query != "" {
			return perr.Errorf(perr.Invalid, "query on a navigation path")
		}
		return nil
	case method == http.MethodPost && res.hasKey:
		return perr.Errorf(perr.Invalid, "POST to an entity")
	case method != http.MethodPost && method != http.MethodGet && !res.hasKey:
		return perr.Errorf(perr.Invalid, "%s on an entity set", method)
	}
	return nil
}

// addTop adds the $top of a GET's query to the batch's total, which may
// not pass DefaultLimits.MaxTop (PR400-OD-0037), as in Personium. Values
// that do not parse are left for the operation itself to refuse.
func (p *batchParser) addTop(target string) error {
	_, query, ok := strings.Cut(target, "?")
	if !ok {
		return nil
	}
	q, _ := url.ParseQuery(query)
	if n, err := strconv.Atoi(q.Get("$top")); err == nil && n >= 0 {
		p.topSum += n
		if p.topSum > DefaultLimits.MaxTop {
			return perr.New("PR400-OD-0037")
		}
	}
	return nil
}

// parseMIMEPart splits content into its header lines, up to a blank line
// or the end, and the body after the blank line (nil if none). Header
// lines are "Name: value"; a line that is not, or a value with control
// characters, is PR400-OD-0021.
func parseMIMEPart(content []byte) (http.Header, []byte, error) {
	h := http.Header{}
	i := 0
	for i < len(content) {
		line, next := nextLine(content, i)
		i = next
		if len(line) == 0 {
			return h, content[i:], nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !isHTTPToken(name) {
			return nil, nil, perr.New("PR400-OD-0021", clip(string(line)))
		}
		value = bytes.Trim(value, " \t")
		if !validHeaderValue(value) {
			return nil, nil, perr.New("PR400-OD-0021", clip(string(name)))
		}
		h.Add(string(name), string(value))
	}
	return h, nil, nil
}

// splitMultipart returns the contents of the body parts of a multipart
// body with the given boundary. The body must start with a delimiter line
// and end with the close delimiter line, optionally followed by white
// space; otherwise PR400-OD-0023.
func splitMultipart(data []byte, boundary string) ([][]byte, error) {
	dash := "--" + boundary
	line, start := nextLine(data, 0)
	if delimiterKind(line, dash) != delimPart {
		return nil, perr.New("PR400-OD-0023")
	}
	var parts [][]byte
	for i := start; i < len(data); {
		line, next := nextLine(data, i)
		kind := delimiterKind(line, dash)
		if kind == delimNone {
			i = next
			continue
		}
		// The line break before the delimiter belongs to it.
		end := i
		if end > start {
			end--
			if end > start && data[end-1] == '\r' {
				end--
			}
		}
		parts = append(parts, data[start:end])
		if kind == delimClose {
			if len(bytes.Trim(data[next:], " \t\r\n")) != 0 {
				return nil, perr.New("PR400-OD-0023")
			}
			return parts, nil
		}
		start, i = next, next
	}
	return nil, perr.New("PR400-OD-0023")
}

const (
	delimNone  = iota
	delimPart  // "--boundary"
	delimClose // "--boundary--"
)

// delimiterKind tells whether line (without its line break) is a
// delimiter line for dash ("--" + boundary), allowing trailing spaces and
// tabs (RFC 2046 transport padding).
func delimiterKind(line []byte, dash string) int {
	rest, ok := bytes.CutPrefix(line, []byte(dash))
	if !ok {
		return delimNone
	}
	isClose := false
	if r, ok := bytes.CutPrefix(rest, []byte("--")); ok {
		rest, isClose = r, true
	}
	if len(bytes.TrimRight(rest, " \t")) != 0 {
		return delimNone
	}
	if isClose {
		return delimClose
	}
	return delimPart
}

// nextLine returns the line of data starting at i without its line break
// ("\n" or "\r\n") and the index after the line break.
func nextLine(data []byte, i int) ([]byte, int) {
	j := bytes.IndexByte(data[i:], '\n')
	if j < 0 {
		return data[i:], len(data)
	}
	line := data[i : i+j]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, i + j + 1
}

// validBoundary checks RFC 2046 boundary syntax: 1 to 70 characters from
// bchars, not ending in a space.
func validBoundary(b string) bool {
	if len(b) == 0 || len(b) > 70 || b[len(b)-1] == ' ' {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("'()+_,-./:=? ", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isHTTPToken reports whether s is an RFC 7230 token (a header name).
func isHTTPToken[T string | []byte](s T) bool {
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue refuses control characters other than tab.
func validHeaderValue[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// clip bounds a message parameter taken from the request.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// groupThousands formats n as Personium's messages do (Java MessageFormat):
// 1001 is "1,001".
func groupThousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// BatchResponseItem is the answer to one operation of a batch.
type BatchResponseItem struct {
	Status int         // HTTP status, 100..999
	Header http.Header // may be nil
	Body   []byte
}

// BatchResponsePart answers one BatchPart: exactly one of Single (for a
// query operation) and Changeset (one item per operation, in order) is set.
type BatchResponsePart struct {
	Changeset []BatchResponseItem
	Single    *BatchResponseItem
	// Boundary is the changeset boundary to frame Changeset with, normally
	// the request's (BatchPart.Boundary), which Personium reuses. When it
	// is empty, invalid, a prefix of the batch boundary (or the other way
	// round) or found in a body, WriteBatchResponse derives another,
	// "changeset_" and a hash of the items, without randomness.
	Boundary string
}

// WriteBatchResponse writes the body of the answer to a $batch request.
// boundary is the batch boundary: Personium reuses the request's
// (Batch.Boundary), and so should the caller, answering 202 Accepted with
// Content-Type mime.FormatMediaType("multipart/mixed", {"boundary": boundary})
// and DataServiceVersion: 2.0. (Personium's Java client only recognises
// boundaries starting "batch_" and "changeset_", which it generates itself.)
//
// Each item is framed as in ODataBatchResource.java: Content-Type
// application/http and Content-Transfer-Encoding binary (Personium omits the
// latter for query operations), a blank line, "HTTP/1.1 <status> <text>",
// the headers sorted by name, a blank line and the body; a changeset is a
// nested multipart/mixed part with its own boundary. Lines end in LF, as
// Personium writes them; RFC 2046 readers such as mime/multipart accept
// that. The body of an item is exactly Body: the line break that follows
// it belongs to the next delimiter.
//
// Nothing is written if the arguments are unusable (bad boundary, a part
// with neither or both of Single and Changeset, a bad status or header, a
// body containing "--"+boundary at the start of a line): the error is an
// Internal *perr.E.
func WriteBatchResponse(w io.Writer, boundary string, parts []BatchResponsePart) error {
	if !validBoundary(boundary) {
		return perr.Errorf(perr.Internal, "odata: invalid batch boundary %q", boundary)
	}
	cs := make([]string, len(parts))
	for i, p := range parts {
		items := p.Changeset
		switch {
		case p.Single != nil && len(p.Changeset) == 0:
			items = []BatchResponseItem{*p.Single}
		case p.Single == nil && len(p.Changeset) > 0:
			cs[i] = changesetBoundary(p.Boundary, boundary, items)
			if cs[i] == "" {
				return perr.Errorf(perr.Internal, "odata: no usable boundary for changeset %d", i)
			}
		default:
			return perr.Errorf(perr.Internal, "odata: batch response part %d needs one of Single and Changeset", i)
		}
		for _, it := range items {
			if err := checkResponseItem(it); err != nil {
				return err
			}
			if hasDelimiter(it.Body, boundary) {
				return perr.Errorf(perr.Internal, "odata: a body of part %d contains the batch boundary", i)
			}
		}
	}
	var b bytes.Buffer
	for i, p := range parts {
		b.WriteString("--" + boundary + "\n")
		if p.Single != nil {
			writeResponseItem(&b, *p.Single)
		} else {
			b.WriteString("Content-Type: " + mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": cs[i]}) + "\n\n")
			for _, it := range p.Changeset {
				b.WriteString("--" + cs[i] + "\n")
				writeResponseItem(&b, it)
				b.WriteString("\n")
			}
			b.WriteString("--" + cs[i] + "--")
		}
		b.WriteString("\n")
		if b.Len() >= 64<<10 {
			if _, err := w.Write(b.Bytes()); err != nil {
				return perr.Errorf(perr.Other, "odata: writing batch response: %w", err)
			}
			b.Reset()
		}
	}
	b.WriteString("--" + boundary + "--")
	if _, err := w.Write(b.Bytes()); err != nil {
		return perr.Errorf(perr.Other, "odata: writing batch response: %w", err)
	}
	return nil
}

// writeResponseItem writes one application/http part, without the line
// break that ends it.
func writeResponseItem(b *bytes.Buffer, it BatchResponseItem) {
	b.WriteString("Content-Type: application/http\nContent-Transfer-Encoding: binary\n\n")
	b.WriteString("HTTP/1.1 " + strconv.Itoa(it.Status) + " " + http.StatusText(it.Status) + "\n")
	for _, k := range slices.Sorted(maps.Keys(it.Header)) {
		for _, v := range it.Header[k] {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.Write(it.Body)
}

// checkResponseItem refuses what would break the framing.
func checkResponseItem(it BatchResponseItem) error {
	if it.Status < 100 || it.Status > 999 {
		return perr.Errorf(perr.Internal, "odata: batch response status %d", it.Status)
	}
	for k, vs := range it.Header {
		if !isHTTPToken(k) {
			return perr.Errorf(perr.Internal, "odata: batch response header name %q", k)
		}
		for _, v := range vs {
			if !validHeaderValue(v) {
				return perr.Errorf(perr.Internal, "odata: batch response header %s value %q", k, v)
			}
		}
	}
	return nil
}

// changesetBoundary returns preferred if it can frame items inside a
// batch framed by outer, else a derived boundary, else "".
func changesetBoundary(preferred, outer string, items []BatchResponseItem) string {
	usable := func(cs string) bool {
		if !validBoundary(cs) || strings.HasPrefix(cs, outer) || strings.HasPrefix(outer, cs) {
			return false
		}
		for _, it := range items {
			if hasDelimiter(it.Body, cs) {
				return false
			}
		}
		return true
	}
	if preferred != "" && usable(preferred) {
		return preferred
	}
	h := sha256.New()
	io.WriteString(h, outer)
	for _, it := range items {
		h.Write(it.Body)
	}
	sum := h.Sum(nil)
	// A body would have to contain the hash of itself to defeat this.
	for n := 0; n < 4; n++ {
		cs := "changeset_" + hex.EncodeToString(sum[n*8:n*8+8])
		if usable(cs) {
			return cs
		}
	}
	return ""
}

// hasDelimiter reports whether body has a line starting with "--"+boundary.
func hasDelimiter(body []byte, boundary string) bool {
	dash := "--" + boundary
	return bytes.HasPrefix(body, []byte(dash)) || bytes.Contains(body, []byte("\n"+dash))
}
