package odata

import (
	"bytes"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/perr"
)

// batchCodes are the codes ParseBatch may answer with.
var batchCodes = map[string]bool{
	"PR415-OD-0001": true, "PR400-OD-0023": true, "PR413-MC-0001": true, "PR400-OD-0021": true,
	"PR400-OD-0022": true, "PR400-OD-0035": true, "PR400-OD-0034": true, "PR400-OD-0037": true,
	"PR400-OD-0030": true,
}

// FuzzParseBatch checks that ParseBatch never panics, refuses only with
// its documented codes, and that what it accepts respects the limits,
// writes back (formatBatch) to the same batch, and can be answered with
// WriteBatchResponse using the request's boundaries.
func FuzzParseBatch(f *testing.F) {
	seeds := []string{
		tbPersoniumBatch,
		tbGetOne + tbEnd,
		tbOps(3, 3),
		tbCS1("POST Sales('a')/$links/_X HTTP/1.1", "\n{\"uri\":\"Y('b')\"}") + tbEnd,
		tbCS1("MERGE S(Name='a',B=null)", "If-Match: *\nContent-ID: 4\n\n{}") + tbGet("S?$top=3") + tbEnd,
		tbGet("Sales('a')/_B") + tbGet("Sales('a')/$links/_B") + tbEnd,
		"--" + tbB + "\nContent-Type: multipart/mixed; boundary=" + tbCS + "\n\n--" + tbCS +
			"\nContent-Type: multipart/mixed; boundary=i\n\n--i\n--i--\n--" + tbCS + "--\n" + tbEnd,
		"--" + tbB + "\n" + tbEnd,
	}
	for _, s := range seeds {
		f.Add(tbCT, s)
		f.Add(tbCT, crlf(s))
	}
	f.Add(`multipart/mixed; boundary="a b"`, "--a b\nContent-Type: application/http\n\nGET S\n--a b--")
	f.Fuzz(func(t *testing.T, ct, body string) {
		b, err := ParseBatch(ct, strings.NewReader(body))
		if err != nil {
			if _, ok := err.(*perr.E); !ok || !batchCodes[perr.CodeOf(err)] {
				t.Fatalf("error %#v", err)
			}
			return
		}
		checkBatchLimits(t, b)
		text := formatBatch(b)
		again, err := ParseBatch(mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": b.Boundary}),
			strings.NewReader(text))
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Fatalf("written back as\n%q\n%v\ngot  %s\nwant %s", text, err, tbDump(again), tbDump(b))
		}
		checkEcho(t, b)
	})
}

// checkBatchLimits checks what every accepted batch must satisfy.
func checkBatchLimits(t *testing.T, b *Batch) {
	t.Helper()
	if !validBoundary(b.Boundary) || len(b.Parts) == 0 || b.Ops() > MaxBatchOps {
		t.Fatalf("boundary %q, %d parts, %d operations", b.Boundary, len(b.Parts), b.Ops())
	}
	check := func(r BatchRequest, inChangeset bool) {
		write, ok := batchMethods[r.Method]
		if !ok || write != inChangeset {
			t.Fatalf("method %q (in changeset: %v)", r.Method, inChangeset)
		}
		if r.Path == "" || strings.ContainsAny(r.Path, " \t\r\n") || r.Header == nil ||
			len(r.Body) > MaxBodyBytes || r.Body != nil && len(r.Body) == 0 {
			t.Fatalf("request %+v", r)
		}
		for k, vs := range r.Header {
			if !isHTTPToken(k) || http.CanonicalHeaderKey(k) != k {
				t.Fatalf("header name %q", k)
			}
			for _, v := range vs {
				if !validHeaderValue(v) || v != strings.Trim(v, " \t") {
					t.Fatalf("header value %q", v)
				}
			}
		}
	}
	for _, p := range b.Parts {
		switch {
		case p.Single != nil && p.Changeset == nil && p.Boundary == "":
			check(*p.Single, false)
		case p.Single == nil && len(p.Changeset) > 0 && validBoundary(p.Boundary):
			for _, r := range p.Changeset {
				check(r, true)
			}
		default:
			t.Fatalf("part %+v", p)
		}
	}
}

// formatBatch writes b as a $batch body with CRLF line ends.
func formatBatch(b *Batch) string {
	var s strings.Builder
	req := func(r BatchRequest) {
		s.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n")
		if r.ContentID != "" {
			s.WriteString("Content-ID: " + r.ContentID + "\r\n")
		}
		s.WriteString("\r\n" + r.Method + " " + r.Path + " HTTP/1.1\r\n")
		for _, k := range slices.Sorted(maps.Keys(r.Header)) {
			for _, v := range r.Header[k] {
				s.WriteString(k + ": " + v + "\r\n")
			}
		}
		s.WriteString("\r\n")
		s.Write(r.Body)
	}
	for _, p := range b.Parts {
		s.WriteString("--" + b.Boundary + "\r\n")
		if p.Single != nil {
			req(*p.Single)
		} else {
			s.WriteString("Content-Type: " + mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": p.Boundary}) + "\r\n\r\n")
			for _, r := range p.Changeset {
				s.WriteString("--" + p.Boundary + "\r\n")
				req(r)
				s.WriteString("\r\n")
			}
			s.WriteString("--" + p.Boundary + "--")
		}
		s.WriteString("\r\n")
	}
	s.WriteString("--" + b.Boundary + "--")
	return s.String()
}

// checkEcho answers b with its own request bodies and reads the answer
// back. WriteBatchResponse may refuse only a body with a line starting
// with the batch boundary.
func checkEcho(t *testing.T, b *Batch) {
	t.Helper()
	var parts []BatchResponsePart
	clash := false
	item := func(r BatchRequest, status int) BatchResponseItem {
		clash = clash || hasDelimiter(r.Body, b.Boundary)
		return BatchResponseItem{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: r.Body}
	}
	for _, p := range b.Parts {
		if p.Single != nil {
			it := item(*p.Single, 200)
			parts = append(parts, BatchResponsePart{Single: &it})
			continue
		}
		rp := BatchResponsePart{Boundary: p.Boundary}
		for _, r := range p.Changeset {
			rp.Changeset = append(rp.Changeset, item(r, 201))
		}
		parts = append(parts, rp)
	}
	var buf bytes.Buffer
	err := WriteBatchResponse(&buf, b.Boundary, parts)
	if clash {
		if !perr.Is(err, perr.Internal) {
			t.Fatalf("body with the boundary: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got := tbResponse(t, buf.Bytes(), b.Boundary)
	if len(got) != len(parts) {
		t.Fatalf("%d parts read back, want %d", len(got), len(parts))
	}
	for i, p := range parts {
		if p.Single != nil {
			if got[i].Single == nil || !bytes.Equal(got[i].Single.Body, p.Single.Body) {
				t.Fatalf("part %d read back as %+v", i, got[i])
			}
			continue
		}
		if len(got[i].Changeset) != len(p.Changeset) {
			t.Fatalf("changeset %d read back with %d items", i, len(got[i].Changeset))
		}
		for j := range p.Changeset {
			if !bytes.Equal(got[i].Changeset[j].Body, p.Changeset[j].Body) {
				t.Fatalf("changeset %d item %d read back as %q", i, j, got[i].Changeset[j].Body)
			}
		}
	}
}
