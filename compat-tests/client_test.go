package compattests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var httpClient = &http.Client{
	Timeout: 60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// hdr is a set of request headers; an empty value means "do not send".
type hdr map[string]string

// auth returns headers carrying the unit master token, plus more.
func auth(kv ...string) hdr {
	h := hdr{"Authorization": "Bearer " + masterToken, "Accept": "application/json"}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// res is one HTTP exchange; its check methods report failures on t, naming
// the step and showing the response.
type res struct {
	t      *testing.T
	step   string
	method string
	url    string
	Status int
	Header http.Header
	Body   []byte
	parsed any
	jsonOK bool
}

// do sends one request. body may be nil, a string or a []byte. A transport
// error fails the test at once.
func do(t *testing.T, step, method, rawURL string, h hdr, body any) *res {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		t.Fatalf("%s: unsupported body type %T", step, body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatalf("%s: building %s %s: %v", step, method, rawURL, err)
	}
	for k, v := range h {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", step, method, rawURL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %s %s: reading body: %v", step, method, rawURL, err)
	}
	r := &res{t: t, step: step, method: method, url: rawURL, Status: resp.StatusCode, Header: resp.Header, Body: data}
	if err := json.Unmarshal(data, &r.parsed); err == nil {
		r.jsonOK = true
	}
	return r
}

// describe shows the exchange for a failure message.
func (r *res) describe() string {
	body := string(r.Body)
	if len(body) > 1500 {
		body = body[:1500] + "…(" + strconv.Itoa(len(r.Body)) + " bytes)"
	}
	return fmt.Sprintf("%s %s\n  -> %d %s\n  body: %s", r.method, r.url, r.Status,
		r.Header.Get("Content-Type"), body)
}

func (r *res) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Errorf("step %q: %s\n  %s", r.step, fmt.Sprintf(format, args...), r.describe())
}

// ok checks the status; false means later checks on r are pointless.
func (r *res) ok(status int) bool {
	r.t.Helper()
	if r.Status != status {
		r.fail("status %d, want %d", r.Status, status)
		return false
	}
	return true
}

// must is ok that stops the (sub)test on a wrong status.
func (r *res) must(status int) *res {
	r.t.Helper()
	if !r.ok(status) {
		r.t.FailNow()
	}
	return r
}

// header checks a header's exact value; want "" means absent.
func (r *res) header(name, want string) {
	r.t.Helper()
	got, present := r.Header.Get(name), len(r.Header.Values(name)) > 0
	if want == "" && present {
		r.fail("header %s = %q, want it absent", name, got)
	} else if want != "" && got != want {
		r.fail("header %s = %q, want %q", name, got, want)
	}
}

// headerMatch checks a header against a regular expression.
func (r *res) headerMatch(name, pattern string) {
	r.t.Helper()
	if got := r.Header.Get(name); !regexp.MustCompile(pattern).MatchString(got) {
		r.fail("header %s = %q, want it to match %s", name, got, pattern)
	}
}

// contentType checks the media type, ignoring parameters.
func (r *res) contentType(want string) {
	r.t.Helper()
	got := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(got, ";"); strings.TrimSpace(mt) != want {
		r.fail("Content-Type %q, want %s", got, want)
	}
}

// get returns the JSON value at a "/"-separated path ("d/results/0/Name");
// property names may contain dots ("_Box.Name").
func (r *res) get(path string) (any, bool) {
	if !r.jsonOK {
		return nil, false
	}
	return jsonAt(r.parsed, path)
}

func jsonAt(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for _, p := range strings.Split(path, "/") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// str returns the string at path, "" if missing or not a string.
func (r *res) str(path string) string {
	v, _ := r.get(path)
	s, _ := v.(string)
	return s
}

// list returns the array at path (nil if missing).
func (r *res) list(path string) []any {
	v, _ := r.get(path)
	a, _ := v.([]any)
	return a
}

// json checks the value at path; want nil means "present and null".
// Numbers compare as float64.
func (r *res) json(path string, want any) {
	r.t.Helper()
	got, ok := r.get(path)
	if !ok {
		r.fail("JSON %s missing, want %v", path, want)
		return
	}
	if n, isInt := want.(int); isInt {
		want = float64(n)
	}
	if !reflect.DeepEqual(got, want) {
		r.fail("JSON %s = %#v, want %#v", path, got, want)
	}
}

// jsonMatch checks that the string at path matches a regular expression.
func (r *res) jsonMatch(path, pattern string) {
	r.t.Helper()
	got, ok := r.get(path)
	s, isStr := got.(string)
	if !ok || !isStr || !regexp.MustCompile(pattern).MatchString(s) {
		r.fail("JSON %s = %#v, want a string matching %s", path, got, pattern)
	}
}

// absent checks that path does not exist.
func (r *res) absent(path string) {
	r.t.Helper()
	if v, ok := r.get(path); ok {
		r.fail("JSON %s = %#v, want it absent", path, v)
	}
}

// wantError checks a Personium error: the status, the JSON body
// {"code":..,"message":{"lang":"en","value":..}} and, if code is not "",
// the code. It returns the code found.
func (r *res) wantError(status int, code string) string {
	r.t.Helper()
	if !r.ok(status) {
		return ""
	}
	return r.errorShape(code)
}

// errorShape checks the body shape of an error response of any status.
func (r *res) errorShape(code string) string {
	r.t.Helper()
	obj, isObj := r.parsed.(map[string]any)
	if !r.jsonOK || !isObj {
		r.fail("error body is not a JSON object")
		return ""
	}
	got, _ := obj["code"].(string)
	msg, _ := obj["message"].(map[string]any)
	lang, _ := msg["lang"].(string)
	val, _ := msg["value"].(string)
	switch {
	case len(obj) != 2 || msg == nil || len(msg) != 2:
		r.fail(`error body must be exactly {"code":..,"message":{"lang":..,"value":..}}`)
	case !regexp.MustCompile(`^PR\d{3}-[A-Z]{2}-\d{4}$`).MatchString(got):
		r.fail("error code %q is not a Personium code", got)
	case got[2:5] != strconv.Itoa(r.Status):
		r.fail("error code %q does not carry the status %d", got, r.Status)
	case lang != "en" || val == "":
		r.fail("error message lang %q value %q, want lang en and a text", lang, val)
	case code != "" && got != code:
		r.fail("error code %q, want %q", got, code)
	}
	r.contentType("application/json")
	return got
}

// errorMessage returns message.value of an error body.
func (r *res) errorMessage() string { return r.str("message/value") }

// qs builds a query string from key/value pairs, escaping values with %20
// for spaces (as browsers and Personium clients do) and keeping keys as is.
func qs(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(kv[i+1]), "+", "%20"))
	}
	return b.String()
}

// enc URL-encodes a key value the way Personium clients do
// (java.net.URLEncoder, e.g. for ExtCell and ExtRole URLs in keys).
func enc(s string) string { return url.QueryEscape(s) }

// jsonBody marshals v for a request body.
func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
