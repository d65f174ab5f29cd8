package perr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMessagesTable(t *testing.T) {
	if len(messages) < 300 {
		t.Fatalf("messages.txt has %d codes, want every Personium code (>300)", len(messages))
	}
	for code, text := range messages {
		if strings.TrimSpace(text) == "" {
			t.Errorf("%s: empty text", code)
		}
		if strings.Contains(text, "''") {
			t.Errorf("%s: MessageFormat quote left in %q", code, text)
		}
		if strings.HasPrefix(code, "PR") && statusOfCode(code) == 0 {
			t.Errorf("%s: no status in code", code)
		}
	}
	for code, want := range map[string]string{
		"PR400-OD-0001": "JSON parse error.",
		"PR404-OD-0002": "No such entity.",
		"PR409-OD-0001": "This entity has related data.",
		"PR412-OD-0002": "ETag does not match.",
		"PR400-AN-0004": "Client secret is expired and invalid.",
		"PR400-OD-0045": "An unknown property with name '{0}' was found.",
	} {
		if got := messages[code]; got != want {
			t.Errorf("messages[%s] = %q, want %q", code, got, want)
		}
	}
}

func TestStatusFromCode(t *testing.T) {
	cases := []struct {
		err  *E
		want int
	}{
		{New("PR400-OD-0001"), 400},
		{New("PR401-AU-0001"), 401},
		{New("PR404-OD-0002"), 404},
		{New("PR409-OD-0002"), 409},
		{New("PR412-MC-0001", "X-Personium-Recursive"), 412},
		{New("PR503-SV-0001"), 503},
		{&E{Kind: NotExist}, 404},
		{&E{Kind: Exist}, 409},
		{&E{Kind: TooLarge}, 413},
		{&E{Kind: Other}, 500},
		{&E{Kind: NotExist, Code: "PR400-OD-0004"}, 400}, // the code wins
	}
	for _, c := range cases {
		if got := c.err.Status(); got != c.want {
			t.Errorf("Status(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestKindFromCode(t *testing.T) {
	cases := map[string]Kind{
		"PR400-OD-0001": Invalid,
		"PR401-AU-0002": Unauthenticated,
		"PR403-AU-0002": Permission,
		"PR404-DV-0001": NotExist,
		"PR405-MC-0001": NotSupported,
		"PR409-OD-0003": Conflict,
		"PR412-OD-0002": PreconditionFailed,
		"PR416-DV-0001": Invalid,
		"PR500-SV-0001": Internal,
		"PR503-SV-0001": Unavailable,
		"not-a-code":    Other,
	}
	for code, want := range cases {
		if got := New(code).Kind; got != want {
			t.Errorf("New(%q).Kind = %v, want %v", code, got, want)
		}
	}
	wrapped := fmt.Errorf("outer: %w", New("PR404-OD-0002"))
	if !Is(wrapped, NotExist) || CodeOf(wrapped) != "PR404-OD-0002" {
		t.Errorf("wrapped: kind %v code %q", KindOf(wrapped), CodeOf(wrapped))
	}
	if Is(nil, Other) {
		t.Error("Is(nil, Other) = true")
	}
}

func TestPlaceholders(t *testing.T) {
	if got := Message("PR412-MC-0001", "X-Personium-Recursive"); got != "Precondition failed [Header: X-Personium-Recursive]." {
		t.Errorf("one param: %q", got)
	}
	if got := Message("PR400-OD-0041", "If-Match", "x"); got != "Request header If-Match value is invalid [x]." {
		t.Errorf("two params: %q", got)
	}
	if got := Message("PR400-OD-0045", "Foo"); got != "An unknown property with name 'Foo' was found." {
		t.Errorf("quoted param: %q", got)
	}
	if got := Message("PR999-XX-0001"); got != "Error PR999-XX-0001." {
		t.Errorf("unknown code: %q", got)
	}
	if got := Message(""); got != "Unknown error." {
		t.Errorf("empty code: %q", got)
	}
}

func TestWriteJSON(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/cell/__ctl/Role('x')", nil)
	w.Header().Set("ETag", `W/"1-1"`)
	Write(w, r, New("PR404-OD-0002").WithOp("get"))
	if w.Code != 404 {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if w.Header().Get("ETag") != "" {
		t.Error("ETag kept on an error response")
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	msg, _ := got["message"].(map[string]any)
	if got["code"] != "PR404-OD-0002" || msg["lang"] != "en" || msg["value"] != "No such entity." || len(got) != 2 || len(msg) != 2 {
		t.Errorf("body %s", w.Body.String())
	}
}

func TestWriteXML(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Accept", "application/xml")
	Write(w, r, New("PR400-OD-0006", "<Name>"))
	body := w.Body.String()
	if w.Code != 400 || !strings.Contains(body, "<code>PR400-OD-0006</code>") || !strings.Contains(body, "field [&lt;Name&gt;]") {
		t.Errorf("status %d body %s", w.Code, body)
	}
}

func TestPublicHidesCauses(t *testing.T) {
	secret := errors.New("sqlite: disk I/O error at /var/secret/path")
	cases := []struct {
		err      error
		wantCode string
	}{
		{&E{Kind: Internal, Op: "metastore.Apply", Err: secret}, "PR500-SV-9999"},
		{&E{Kind: NotExist, Path: "/secret", Err: secret}, "PR404-MC-0001"},
		{Errorf(Unavailable, "backend %v", secret), "PR503-SV-0001"},
		{fmt.Errorf("plain: %w", secret), "PR500-SV-9999"},
	}
	for _, c := range cases {
		p := Public(c.err)
		if p.Code != c.wantCode {
			t.Errorf("Public(%v).Code = %q, want %q", c.err, p.Code, c.wantCode)
		}
		if p.Err != nil || p.Op != "" || p.Path != "" {
			t.Errorf("Public(%v) keeps details: %#v", c.err, p)
		}
		w := httptest.NewRecorder()
		Write(w, httptest.NewRequest("GET", "/", nil), c.err)
		if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "sqlite") {
			t.Errorf("cause leaked: %s", w.Body.String())
		}
	}
	// An error that carries a code is passed through, even when wrapped.
	coded := fmt.Errorf("ctx: %w", New("PR409-OD-0002").WithCause(secret))
	if p := Public(coded); p.Code != "PR409-OD-0002" || p.Status() != 409 {
		t.Errorf("Public(coded) = %v", p)
	}
}
