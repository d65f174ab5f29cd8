package odata

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/personium-go/personium/internal/perr"
)

// Boundaries in the style of Personium's clients ("batch_" and
// "changeset_" followed by a random-looking string).
const (
	tbB  = "batch_7f3kQ2vLw9"
	tbCS = "changeset_Xq81Zr0pLm-4"
	tbCT = "multipart/mixed; boundary=" + tbB
)

// crlf turns LF line ends into CRLF.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// Personium-style parts, written with LF; the tests run them with CRLF too.
const (
	// A query operation as Personium's documentation writes it: no HTTP
	// version and no blank line before the next delimiter.
	tbGetList = "--" + tbB + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding:binary\n" +
		"\n" +
		"GET Supplier?$top=5&$filter=Name+eq+'x'\n" +
		"Accept: application/json\n"
	tbGetOne = "--" + tbB + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding: binary\n" +
		"\n" +
		"GET Supplier('s1') HTTP/1.1\n" +
		"Host:\n" +
		"\n"
	// A changeset with every write, Content-Lengths that do not match the
	// bodies (Personium's tests send such), a Content-ID and $links.
	tbChangeset = "--" + tbB + "\n" +
		"Content-Type: multipart/mixed; boundary=" + tbCS + "\n" +
		"Content-Length: 995\n" +
		"\n" +
		"--" + tbCS + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding: binary\n" +
		"Content-ID: 1\n" +
		"\n" +
		"POST Supplier HTTP/1.1\n" +
		"Content-Type: application/json\n" +
		"Content-Length: 38\n" +
		"\n" +
		`{"__id":"s2","Name":"n"}` + "\n" +
		"\n" +
		"--" + tbCS + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding: binary\n" +
		"\n" +
		"PUT Supplier('s2') HTTP/1.1\n" +
		"If-Match: *\n" +
		"\n" +
		`{"Name":"m"}` + "\n" +
		"--" + tbCS + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding: binary\n" +
		"\n" +
		"MERGE Supplier('s2') HTTP/1.1\n" +
		"\n" +
		`{"Extra":1}` + "\n" +
		"--" + tbCS + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding: binary\n" +
		"\n" +
		"POST Supplier('s2')/_Product HTTP/1.1\n" +
		"\n" +
		`{"__id":"p1"}` + "\n" +
		"--" + tbCS + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding: binary\n" +
		"\n" +
		"POST Supplier('s2')/$links/_Product HTTP/1.1\n" +
		"\n" +
		`{"uri":"https://c.example/box/col/Product('p2')"}` + "\n" +
		"--" + tbCS + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding: binary\n" +
		"\n" +
		"DELETE Supplier('s2')/$links/_Product('p2') HTTP/1.1\n" +
		"\n" +
		"--" + tbCS + "\n" +
		"Content-Type: application/http\n" +
		"Content-Transfer-Encoding: binary\n" +
		"\n" +
		"DELETE Supplier('a%20b') HTTP/1.1\n" +
		"If-Match: W/\"1-2\"\n" +
		"--" + tbCS + "--\n" +
		"\n"
	tbEnd = "--" + tbB + "--"
)

// tbPersoniumBatch is a batch of all three kinds of part.
const tbPersoniumBatch = tbGetList + tbChangeset + tbGetOne + tbEnd + "\n"

func tbReq(method, path string, h http.Header, body string) BatchRequest {
	if h == nil {
		h = http.Header{}
	}
	r := BatchRequest{Method: method, Path: path, Header: h}
	if body != "" {
		r.Body = []byte(body)
	}
	return r
}

func tbWant() *Batch {
	get1 := tbReq("GET", "Supplier?$top=5&$filter=Name+eq+'x'", http.Header{"Accept": {"application/json"}}, "")
	get2 := tbReq("GET", "Supplier('s1')", http.Header{"Host": {""}}, "")
	post := tbReq("POST", "Supplier", http.Header{"Content-Type": {"application/json"}, "Content-Length": {"38"}},
		`{"__id":"s2","Name":"n"}`+"\n")
	post.ContentID = "1"
	return &Batch{Boundary: tbB, Parts: []BatchPart{
		{Single: &get1},
		{Boundary: tbCS, Changeset: []BatchRequest{
			post,
			tbReq("PUT", "Supplier('s2')", http.Header{"If-Match": {"*"}}, `{"Name":"m"}`),
			tbReq("MERGE", "Supplier('s2')", nil, `{"Extra":1}`),
			tbReq("POST", "Supplier('s2')/_Product", nil, `{"__id":"p1"}`),
			tbReq("POST", "Supplier('s2')/$links/_Product", nil, `{"uri":"https://c.example/box/col/Product('p2')"}`),
			tbReq("DELETE", "Supplier('s2')/$links/_Product('p2')", nil, ""),
			tbReq("DELETE", "Supplier('a%20b')", http.Header{"If-Match": {`W/"1-2"`}}, ""),
		}},
		{Single: &get2},
	}}
}

// tbCRLFBodies turns the LF line ends of the bodies in b into CRLF.
func tbCRLFBodies(b *Batch) {
	fix := func(r *BatchRequest) {
		if r.Body != nil {
			r.Body = []byte(crlf(string(r.Body)))
		}
	}
	for i := range b.Parts {
		if b.Parts[i].Single != nil {
			fix(b.Parts[i].Single)
		}
		for j := range b.Parts[i].Changeset {
			fix(&b.Parts[i].Changeset[j])
		}
	}
}

func TestParseBatch(t *testing.T) {
	tests := []struct {
		name string
		ct   string
		body string
		want func() *Batch
	}{
		{"personium", tbCT, tbPersoniumBatch, tbWant},
		{"no epilogue, quoted boundary, padding", `multipart/mixed; boundary="` + tbB + `"`,
			strings.Replace(tbPersoniumBatch, "--"+tbB+"\n", "--"+tbB+" \t\n", 1) + " \n\n", tbWant},
		{"get only", tbCT, tbGetOne + tbEnd, func() *Batch {
			r := tbReq("GET", "Supplier('s1')", http.Header{"Host": {""}}, "")
			return &Batch{Boundary: tbB, Parts: []BatchPart{{Single: &r}}}
		}},
		{"boundary with specials", `multipart/mixed; boundary="a'()+_,-./:=? z"`,
			"--a'()+_,-./:=? z\nContent-Type: application/http\n\nGET S HTTP/1.1\n--a'()+_,-./:=? z--", func() *Batch {
				r := tbReq("GET", "S", nil, "")
				return &Batch{Boundary: "a'()+_,-./:=? z", Parts: []BatchPart{{Single: &r}}}
			}},
		{"boundary is a prefix of the changeset's", "multipart/mixed; boundary=b",
			"--b\nContent-Type: multipart/mixed; boundary=b1\n\n--b1\nContent-Type: application/http\n\n" +
				"DELETE S(1) HTTP/1.1\nContent-ID: 7\n\n--b1--\n--b--", func() *Batch {
				r := tbReq("DELETE", "S(1)", http.Header{"Content-Id": {"7"}}, "")
				r.ContentID = "7"
				return &Batch{Boundary: "b", Parts: []BatchPart{{Boundary: "b1", Changeset: []BatchRequest{r}}}}
			}},
		{"delimiter-like lines in a body", "multipart/mixed; boundary=b",
			"--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-Type: application/http\n\n" +
				"POST S HTTP/1.1\n\n--bx\n--c x\n\n--c--\n--b--", func() *Batch {
				r := tbReq("POST", "S", nil, "--bx\n--c x\n")
				return &Batch{Boundary: "b", Parts: []BatchPart{{Boundary: "c", Changeset: []BatchRequest{r}}}}
			}},
	}
	for _, tt := range tests {
		for _, mode := range []string{"lf", "crlf"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				body, want := tt.body, tt.want()
				if mode == "crlf" {
					body = crlf(body)
					tbCRLFBodies(want)
				}
				got, err := ParseBatch(tt.ct, strings.NewReader(body))
				if err != nil {
					t.Fatalf("ParseBatch: %v", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got  %s\nwant %s", tbDump(got), tbDump(want))
				}
			})
		}
	}
}

// tbDump renders a batch for failure messages.
func tbDump(b *Batch) string {
	var s strings.Builder
	s.WriteString("boundary=" + b.Boundary)
	for _, p := range b.Parts {
		reqs := p.Changeset
		if p.Single != nil {
			reqs = []BatchRequest{*p.Single}
		} else {
			s.WriteString("\n changeset " + p.Boundary)
		}
		for _, r := range reqs {
			s.WriteString("\n  " + strconv.Quote(r.Method+" "+r.Path) + " id=" + r.ContentID)
			for _, k := range slices.Sorted(maps.Keys(r.Header)) {
				s.WriteString(" " + k + "=" + strconv.Quote(strings.Join(r.Header[k], ",")))
			}
			s.WriteString(" body=" + strconv.Quote(string(r.Body)))
		}
	}
	return s.String()
}

// tbGet is a query operation for path.
func tbGet(path string) string {
	return "--" + tbB + "\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nGET " + path + " HTTP/1.1\n\n"
}

// tbCS1 is a changeset of one operation given as its request line and
// the rest of its message.
func tbCS1(reqLine, rest string) string {
	return "--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS + "\n\n" +
		"--" + tbCS + "\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\n" +
		reqLine + "\n" + rest + "\n--" + tbCS + "--\n"
}

// tbOps is a batch of n GETs and m DELETEs in one changeset.
func tbOps(n, m int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(tbGet("S('" + strconv.Itoa(i) + "')"))
	}
	if m > 0 {
		b.WriteString("--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS + "\n\n")
		for i := 0; i < m; i++ {
			b.WriteString("--" + tbCS + "\nContent-Type: application/http\n\nDELETE S('" + strconv.Itoa(i) + "') HTTP/1.1\n\n")
		}
		b.WriteString("--" + tbCS + "--\n")
	}
	b.WriteString(tbEnd)
	return b.String()
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestParseBatchErrors(t *testing.T) {
	valid := tbGet("S") + tbEnd
	big := strings.Repeat("x", MaxBodyBytes+1)
	tests := []struct {
		name string
		ct   string
		body string
		code string
		msg  string // expected message, if checked
	}{
		// Content-Type of the request.
		{"no content type", "", valid, "PR400-OD-0023", ""},
		{"json", "application/json", valid, "PR415-OD-0001", "Unsupported media type:[application/json]."},
		{"no boundary", "multipart/mixed", valid, "PR400-OD-0023", ""},
		{"empty boundary", `multipart/mixed; boundary=""`, valid, "PR400-OD-0023", ""},
		{"long boundary", "multipart/mixed; boundary=" + strings.Repeat("b", 71), valid, "PR400-OD-0023", ""},
		{"boundary ends in space", `multipart/mixed; boundary="b "`, valid, "PR400-OD-0023", ""},
		{"boundary with @", `multipart/mixed; boundary="b@x"`, valid, "PR400-OD-0023", ""},
		{"bad media type", "multipart/mixed; boundary", valid, "PR400-OD-0023", ""},
		// Framing.
		{"wrong boundary", "multipart/mixed; boundary=" + tbCS, valid, "PR400-OD-0023", "$batch body parse error."},
		{"preamble", tbCT, "preamble\n" + valid, "PR400-OD-0023", ""},
		{"blank line first", tbCT, "\n" + valid, "PR400-OD-0023", ""},
		{"no close delimiter", tbCT, tbGet("S"), "PR400-OD-0023", ""},
		{"only a delimiter", tbCT, "--" + tbB + "\n", "PR400-OD-0023", ""},
		{"empty body", tbCT, "", "PR400-OD-0023", ""},
		{"close delimiter first", tbCT, tbEnd, "PR400-OD-0023", ""},
		{"text after close", tbCT, valid + "\nepilogue", "PR400-OD-0023", ""},
		{"part after close", tbCT, valid + "\n" + tbGet("S") + tbEnd, "PR400-OD-0023", ""},
		{"changeset not closed", tbCT, "--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS +
			"\n\n--" + tbCS + "\nContent-Type: application/http\n\nDELETE S(1) HTTP/1.1\n" + tbEnd, "PR400-OD-0023", ""},
		{"changeset preamble", tbCT, "--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS +
			"\n\nx\n--" + tbCS + "\nContent-Type: application/http\n\nDELETE S(1)\n--" + tbCS + "--\n" + tbEnd, "PR400-OD-0023", ""},
		{"read error", tbCT, "", "PR400-OD-0023", ""}, // body replaced below
		// Parts.
		{"empty batch", tbCT, "--" + tbB + "\n" + tbEnd, "PR400-OD-0021",
			"$batch body format is invalid. Request header format is invalid [Content-Type]."},
		{"part without content type", tbCT, "--" + tbB + "\n\nGET S HTTP/1.1\n" + tbEnd, "PR400-OD-0021", ""},
		{"part of type text/html", tbCT, "--" + tbB + "\nContent-Type: text/html;\n\nGET S HTTP/1.1\n" + tbEnd,
			"PR400-OD-0021", "$batch body format is invalid. Request header format is invalid [Content-Type]."},
		{"two content types", tbCT, "--" + tbB + "\nContent-Type: application/http\nContent-Type: application/http\n\nGET S\n" + tbEnd,
			"PR400-OD-0021", ""},
		{"unparsable content type", tbCT, "--" + tbB + "\nContent-Type: /\n\nGET S\n" + tbEnd, "PR400-OD-0021", ""},
		{"changeset without boundary", tbCT, "--" + tbB + "\nContent-Type: multipart/mixed;\n\n--" + tbCS + "\n" + tbEnd,
			"PR400-OD-0021", "$batch body format is invalid. Request header format is invalid [Content-Type]."},
		{"changeset with bad boundary", tbCT, "--" + tbB + "\nContent-Type: multipart/mixed; boundary=\"a b \"\n\n" + tbEnd,
			"PR400-OD-0021", ""},
		{"empty changeset", tbCT, "--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS + "\n\n--" + tbCS +
			"\n--" + tbCS + "--\n" + tbEnd, "PR400-OD-0021", ""},
		{"changeset member without content type", tbCT, "--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS +
			"\n\n--" + tbCS + "\n\nPOST S HTTP/1.1\n\n{}\n--" + tbCS + "--\n" + tbEnd, "PR400-OD-0021", ""},
		{"changeset member of type text/plain", tbCT, "--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS +
			"\n\n--" + tbCS + "\nContent-Type: text/plain\n\nDELETE S(1)\n--" + tbCS + "--\n" + tbEnd, "PR400-OD-0021", ""},
		{"nested changeset", tbCT, "--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS + "\n\n--" + tbCS +
			"\nContent-Type: multipart/mixed; boundary=inner\n\n--inner\nContent-Type: application/http\n\nPOST S HTTP/1.1\n\n{}\n--inner--\n--" +
			tbCS + "--\n" + tbEnd, "PR400-OD-0022", "$batch body format is invalid. Changeset should not have other changeset."},
		{"base64", tbCT, "--" + tbB + "\nContent-Type: application/http\nContent-Transfer-Encoding: base64\n\nR0VUIFM=\n" + tbEnd,
			"PR400-OD-0021", "$batch body format is invalid. Request header format is invalid [Content-Transfer-Encoding]."},
		{"header without colon", tbCT, "--" + tbB + "\nContent-Type: application/http\nbinary\n\nGET S\n" + tbEnd,
			"PR400-OD-0021", "$batch body format is invalid. Request header format is invalid [binary]."},
		{"folded header", tbCT, "--" + tbB + "\nContent-Type: application/http\n\tx\n\nGET S\n" + tbEnd, "PR400-OD-0021", ""},
		{"header name with space", tbCT, tbGet("S") + "--" + tbB + "\nContent-Type: application/http\n\nGET S\nIf Match: *\n" + tbEnd,
			"PR400-OD-0021", ""},
		{"control character in value", tbCT, tbCS1("DELETE S(1) HTTP/1.1", "If-Match: a\x00b\n") + tbEnd, "PR400-OD-0021",
			"$batch body format is invalid. Request header format is invalid [If-Match]."},
		// Methods.
		{"unknown method", tbCT, tbCS1("POT S HTTP/1.1", "\n{}") + tbEnd, "PR400-OD-0035",
			"$batch body format is invalid. Request Method not allowed [POT]."},
		{"lower-case method", tbCT, tbGet("S") + "--" + tbB + "\nContent-Type: application/http\n\nget S\n" + tbEnd, "PR400-OD-0035", ""},
		{"PATCH", tbCT, tbCS1("PATCH S(1) HTTP/1.1", "\n{}") + tbEnd, "PR400-OD-0035", ""},
		{"no request line", tbCT, "--" + tbB + "\nContent-Type: application/http\n\n" + tbEnd, "PR400-OD-0035", ""},
		{"GET in a changeset", tbCT, tbCS1("GET S HTTP/1.1", "") + tbEnd, "PR400-OD-0035",
			"$batch body format is invalid. Request Method not allowed [GET]."},
		{"POST outside a changeset", tbCT, "--" + tbB + "\nContent-Type: application/http\n\nPOST S HTTP/1.1\n\n{}\n" + tbEnd,
			"PR400-OD-0035", "$batch body format is invalid. Request Method not allowed [POST]."},
		{"DELETE outside a changeset", tbCT, "--" + tbB + "\nContent-Type: application/http\n\nDELETE S(1)\n" + tbEnd, "PR400-OD-0035", ""},
		// Request lines and paths.
		{"no path", tbCT, "--" + tbB + "\nContent-Type: application/http\n\nGET\n" + tbEnd, "PR400-OD-0034", ""},
		{"HTTP/2", tbCT, "--" + tbB + "\nContent-Type: application/http\n\nGET S HTTP/2\n" + tbEnd, "PR400-OD-0034", ""},
		{"extra words", tbCT, tbGet("S x") + tbEnd, "PR400-OD-0034", ""},
		{"POST to an entity", tbCT, tbCS1("POST Sales('srcKey') HTTP/1.1", "\n{}") + tbEnd, "PR400-OD-0034",
			"$batch body format is invalid. Request path format is invalid [POST Sales('srcKey') HTTP/1.1]."},
		{"PUT on a set", tbCT, tbCS1("PUT Sales HTTP/1.1", "\n{}") + tbEnd, "PR400-OD-0034",
			"$batch body format is invalid. Request path format is invalid [PUT Sales HTTP/1.1]."},
		{"MERGE on a set", tbCT, tbCS1("MERGE Sales HTTP/1.1", "\n{}") + tbEnd, "PR400-OD-0034", ""},
		{"DELETE on a set", tbCT, tbCS1("DELETE Sales HTTP/1.1", "") + tbEnd, "PR400-OD-0034", ""},
		{"query on a navigation property", tbCT, tbGet("Sales('a')/_SalesDetail?$top=1") + tbEnd, "PR400-OD-0034", ""},
		{"query on $links", tbCT, tbGet("Sales('a')/$links/_SalesDetail?$top=1") + tbEnd, "PR400-OD-0034", ""},
		{"property path", tbCT, tbGet("Sales('a')/Name") + tbEnd, "PR400-OD-0034", ""},
		{"two navigation segments", tbCT, tbCS1("POST Sales('a')/_X/_Y HTTP/1.1", "\n{}") + tbEnd, "PR400-OD-0034", ""},
		{"unclosed key", tbCT, tbGet("Sales('a") + tbEnd, "PR400-OD-0034", ""},
		{"bad escape", tbCT, tbGet("Sales%zz") + tbEnd, "PR400-OD-0034", ""},
		{"absolute path", tbCT, tbGet("/Sales") + tbEnd, "PR400-OD-0034", ""},
		{"absolute URL", tbCT, tbGet("https://c.example/box/col/Sales") + tbEnd, "PR400-OD-0034", ""},
		{"service document", tbCT, tbGet("?x=1") + tbEnd, "PR400-OD-0034", ""},
		{"metadata", tbCT, tbGet("$metadata") + tbEnd, "PR400-OD-0034", ""},
		// Limits.
		{"total $top", tbCT, tbGet("S?$top=5000") + tbGet("T?%24top=5001") + tbEnd, "PR400-OD-0037",
			"Total of the specified value of $top exceeds the limit."},
		{"1001 operations", tbCT, tbOps(1, 1000), "PR400-OD-0030",
			"$batch body format is invalid. Too many requests. [1,001]"},
		{"12345 operations", tbCT, tbOps(12345, 0), "PR400-OD-0030",
			"$batch body format is invalid. Too many requests. [12,345]"},
		{"format error after the limit", tbCT, strings.TrimSuffix(tbOps(1001, 0), tbEnd) + tbGet("S(") + tbEnd,
			"PR400-OD-0034", ""},
		{"operation body too large", tbCT, tbCS1("POST S HTTP/1.1", "\n"+big) + tbEnd, "PR413-MC-0001", ""},
		{"batch too large", tbCT, tbCS1("POST S HTTP/1.1", "\n"+strings.Repeat("y", MaxBatchBytes)) + tbEnd, "PR413-MC-0001", ""},
	}
	for _, tt := range tests {
		for _, mode := range []string{"lf", "crlf"} {
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tt.body)
				switch {
				case tt.name == "read error" && mode == "lf":
					r = io.MultiReader(strings.NewReader(valid[:10]), errReader{})
				case tt.name == "read error":
					t.Skip()
				case mode == "crlf":
					r = strings.NewReader(crlf(tt.body))
				}
				b, err := ParseBatch(tt.ct, r)
				if err == nil {
					t.Fatalf("no error; got %s", tbDump(b))
				}
				var e *perr.E
				if !errors.As(err, &e) || perr.CodeOf(err) != tt.code {
					t.Fatalf("error %v, want code %s", err, tt.code)
				}
				if tt.msg != "" && e.Message() != tt.msg {
					t.Errorf("message %q, want %q", e.Message(), tt.msg)
				}
				if want := statusOf(tt.code); e.Status() != want {
					t.Errorf("status %d, want %d", e.Status(), want)
				}
			})
		}
	}
}

func statusOf(code string) int {
	n, _ := strconv.Atoi(code[2:5])
	return n
}

func TestParseBatchLimits(t *testing.T) {
	b, err := ParseBatch(tbCT, strings.NewReader(tbOps(400, 600)))
	if err != nil {
		t.Fatal(err)
	}
	if b.Ops() != MaxBatchOps || len(b.Parts) != 401 || len(b.Parts[400].Changeset) != 600 {
		t.Errorf("ops %d, parts %d", b.Ops(), len(b.Parts))
	}
	body := strings.Repeat("z", MaxBodyBytes)
	b, err = ParseBatch(tbCT, strings.NewReader("--"+tbB+"\nContent-Type: multipart/mixed; boundary="+tbCS+"\n\n--"+tbCS+
		"\nContent-Type: application/http\n\nPOST S HTTP/1.1\n\n"+body+"\n--"+tbCS+"--\n"+tbEnd))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Parts[0].Changeset[0].Body; string(got) != body {
		t.Errorf("body of %d bytes, want %d", len(got), len(body))
	}
	b, err = ParseBatch(tbCT, strings.NewReader(tbGet("S?$top=5000")+tbGet("T?$top=5000")+tbGet("U?$top=x")+tbEnd))
	if err != nil || b.Ops() != 3 {
		t.Errorf("$top 10000 in all: %v", err)
	}
}

// tbResponse reads a batch response back with mime/multipart and
// net/http, as a client would.
func tbResponse(t testing.TB, body []byte, boundary string) (parts []BatchResponsePart) {
	t.Helper()
	item := func(p *multipart.Part) BatchResponseItem {
		if ct := p.Header.Get("Content-Type"); ct != "application/http" {
			t.Fatalf("item Content-Type %q", ct)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "binary" {
			t.Fatalf("item Content-Transfer-Encoding %q", cte)
		}
		msg, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(msg)), nil)
		if err != nil {
			t.Fatalf("%v in %q", err, msg)
		}
		data, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) == 0 {
			data = nil
		}
		if len(res.Header) == 0 {
			res.Header = nil
		}
		return BatchResponseItem{Status: res.StatusCode, Header: res.Header, Body: data}
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatalf("outer part: %v", err)
		}
		mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		if mt == "application/http" {
			it := item(p)
			parts = append(parts, BatchResponsePart{Single: &it})
			continue
		}
		if mt != "multipart/mixed" {
			t.Fatalf("part type %q", mt)
		}
		cs := BatchResponsePart{Boundary: params["boundary"]}
		inner := multipart.NewReader(p, cs.Boundary)
		for {
			ip, err := inner.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("changeset part: %v", err)
			}
			cs.Changeset = append(cs.Changeset, item(ip))
		}
		parts = append(parts, cs)
	}
}

func TestWriteBatchResponseRoundTrip(t *testing.T) {
	ok := BatchResponseItem{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "Dataserviceversion": {"2.0"}},
		Body: []byte(`{"d":{"results":[]}}`)}
	created := BatchResponseItem{Status: 201, Header: http.Header{"Location": {"https://c.example/b/col/S('x')"}, "Etag": {`W/"1-2"`}},
		Body: []byte("{\"d\":{\"results\":{\"__id\":\"x\"}}}\n\n--batch_other\n-- " + tbB)}
	noContent := BatchResponseItem{Status: 204, Header: http.Header{"Dataserviceversion": {"2.0"}}}
	bad := BatchResponseItem{Status: 400, Header: http.Header{"Content-Type": {"application/json"}},
		Body: []byte(`{"code":"PR400-OD-0006","message":{"lang":"en","value":"x"}}` + "\r")}
	odd := BatchResponseItem{Status: 599, Body: []byte("\n")}
	parts := []BatchResponsePart{
		{Single: &ok},
		{Boundary: tbCS, Changeset: []BatchResponseItem{created, noContent, bad}},
		{Single: &odd},
		{Boundary: "changeset_2", Changeset: []BatchResponseItem{noContent}},
	}
	var buf bytes.Buffer
	if err := WriteBatchResponse(&buf, tbB, parts); err != nil {
		t.Fatal(err)
	}
	got := tbResponse(t, buf.Bytes(), tbB)
	if !reflect.DeepEqual(got, parts) {
		t.Errorf("round trip:\n%s", buf.String())
		for i := range got {
			t.Logf("part %d: got %+v want %+v", i, got[i], parts[i])
		}
	}
}

func TestWriteBatchResponseFraming(t *testing.T) {
	ok := BatchResponseItem{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "Dataserviceversion": {"2.0"}},
		Body: []byte(`{}`)}
	parts := []BatchResponsePart{
		{Single: &ok},
		{Boundary: "cs", Changeset: []BatchResponseItem{{Status: 204}, {Status: 400, Body: []byte("e")}}},
	}
	var buf bytes.Buffer
	if err := WriteBatchResponse(&buf, "b", parts); err != nil {
		t.Fatal(err)
	}
	want := "--b\n" +
		"Content-Type: application/http\nContent-Transfer-Encoding: binary\n\n" +
		"HTTP/1.1 200 OK\nContent-Type: application/json\nDataserviceversion: 2.0\n\n{}\n" +
		"--b\n" +
		"Content-Type: multipart/mixed; boundary=cs\n\n" +
		"--cs\n" +
		"Content-Type: application/http\nContent-Transfer-Encoding: binary\n\n" +
		"HTTP/1.1 204 No Content\n\n\n" +
		"--cs\n" +
		"Content-Type: application/http\nContent-Transfer-Encoding: binary\n\n" +
		"HTTP/1.1 400 Bad Request\n\ne\n" +
		"--cs--\n" +
		"--b--"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteBatchResponseBoundaries(t *testing.T) {
	item := BatchResponseItem{Status: 204}
	write := func(boundary string, parts ...BatchResponsePart) (string, []BatchResponsePart) {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteBatchResponse(&buf, boundary, parts); err != nil {
			t.Fatal(err)
		}
		return buf.String(), tbResponse(t, buf.Bytes(), boundary)
	}
	// The request's changeset boundary is kept; unusable ones are replaced
	// by a derived "changeset_…" boundary, the same every time.
	for _, tt := range []struct {
		name, preferred string
		body            string
		keep            bool
	}{
		{"request's", "changeset_abc", "", true},
		{"empty", "", "", false},
		{"invalid", "cs@", "", false},
		{"prefix of the batch boundary", "batch", "", false},
		{"extends the batch boundary", tbB + "--", "", false},
		{"in a body", "cs", "x\n--cs--\n", false},
	} {
		it := item
		if tt.body != "" {
			it = BatchResponseItem{Status: 200, Body: []byte(tt.body)}
		}
		text, got := write(tbB, BatchResponsePart{Boundary: tt.preferred, Changeset: []BatchResponseItem{it, it}})
		cs := got[0].Boundary
		if tt.keep != (cs == tt.preferred) || !strings.HasPrefix(cs, "changeset_") && !tt.keep {
			t.Errorf("%s: changeset boundary %q", tt.name, cs)
		}
		again, _ := write(tbB, BatchResponsePart{Boundary: tt.preferred, Changeset: []BatchResponseItem{it, it}})
		if again != text {
			t.Errorf("%s: not deterministic", tt.name)
		}
		if len(got[0].Changeset) != 2 || string(got[0].Changeset[0].Body) != tt.body {
			t.Errorf("%s: read back %+v", tt.name, got)
		}
	}
}

func TestWriteBatchResponseErrors(t *testing.T) {
	item := BatchResponseItem{Status: 200}
	tests := []struct {
		name     string
		boundary string
		parts    []BatchResponsePart
	}{
		{"empty boundary", "", []BatchResponsePart{{Single: &item}}},
		{"bad boundary", "b\n", []BatchResponsePart{{Single: &item}}},
		{"neither", "b", []BatchResponsePart{{}}},
		{"both", "b", []BatchResponsePart{{Single: &item, Changeset: []BatchResponseItem{item}}}},
		{"status 0", "b", []BatchResponsePart{{Single: &BatchResponseItem{}}}},
		{"status 1000", "b", []BatchResponsePart{{Changeset: []BatchResponseItem{{Status: 1000}}}}},
		{"header name", "b", []BatchResponsePart{{Single: &BatchResponseItem{Status: 200, Header: http.Header{"A B": {"x"}}}}}},
		{"header value", "b", []BatchResponsePart{{Single: &BatchResponseItem{Status: 200, Header: http.Header{"A": {"x\r\nB: y"}}}}}},
		{"boundary in a body", "b", []BatchResponsePart{{Single: &BatchResponseItem{Status: 200, Body: []byte("x\n--b--")}}}},
		{"body starts with boundary", "b", []BatchResponsePart{{Changeset: []BatchResponseItem{{Status: 200, Body: []byte("--bx")}}}}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		err := WriteBatchResponse(&buf, tt.boundary, tt.parts)
		if !perr.Is(err, perr.Internal) {
			t.Errorf("%s: %v, want an Internal error", tt.name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %q", tt.name, buf.String())
		}
	}
	err := WriteBatchResponse(failWriter{}, "b", []BatchResponsePart{{Single: &item}})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write error: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestBatchEndToEnd parses a Personium batch and answers it with the
// request's boundaries, as ODataBatchResource does.
func TestBatchEndToEnd(t *testing.T) {
	b, err := ParseBatch(tbCT, strings.NewReader(crlf(tbPersoniumBatch)))
	if err != nil {
		t.Fatal(err)
	}
	var parts []BatchResponsePart
	for _, p := range b.Parts {
		if p.Single != nil {
			parts = append(parts, BatchResponsePart{Single: &BatchResponseItem{Status: 200, Body: []byte(p.Single.Path)}})
			continue
		}
		rp := BatchResponsePart{Boundary: p.Boundary}
		for _, r := range p.Changeset {
			rp.Changeset = append(rp.Changeset, BatchResponseItem{Status: 201, Body: []byte(r.Method + " " + r.Path)})
		}
		parts = append(parts, rp)
	}
	var buf bytes.Buffer
	if err := WriteBatchResponse(&buf, b.Boundary, parts); err != nil {
		t.Fatal(err)
	}
	got := tbResponse(t, buf.Bytes(), tbB)
	if len(got) != 3 || got[1].Boundary != tbCS || len(got[1].Changeset) != 7 ||
		string(got[1].Changeset[6].Body) != "DELETE Supplier('a%20b')" || string(got[2].Single.Body) != "Supplier('s1')" {
		t.Errorf("response:\n%s", buf.String())
	}
}

func TestGroupThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1001: "1,001", 1234567: "1,234,567"} {
		if got := groupThousands(n); got != want {
			t.Errorf("groupThousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseBatchClipsParameters(t *testing.T) {
	line := "GET S('" + strings.Repeat("é", 200) + "') x HTTP/1.1"
	_, err := ParseBatch(tbCT, strings.NewReader("--"+tbB+"\nContent-Type: application/http\n\n"+line+"\n"+tbEnd))
	var e *perr.E
	if !errors.As(err, &e) || e.Code != "PR400-OD-0034" {
		t.Fatalf("%v", err)
	}
	p := e.Params[0].(string)
	if len(p) > 260 || !strings.HasSuffix(p, "...") || !strings.HasPrefix(line, strings.TrimSuffix(p, "...")) || !utf8.ValidString(p) {
		t.Errorf("parameter %q", p)
	}
}

func TestWriteBatchResponseLarge(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	var parts []BatchResponsePart
	for i := 0; i < 5; i++ {
		parts = append(parts, BatchResponsePart{Single: &BatchResponseItem{Status: 200, Body: body}},
			BatchResponsePart{Boundary: "cs" + strconv.Itoa(i), Changeset: []BatchResponseItem{{Status: 201, Body: body}}})
	}
	var buf bytes.Buffer
	if err := WriteBatchResponse(&buf, "b", parts); err != nil {
		t.Fatal(err)
	}
	if got := tbResponse(t, buf.Bytes(), "b"); !reflect.DeepEqual(got, parts) {
		t.Errorf("%d parts read back", len(got))
	}
}
