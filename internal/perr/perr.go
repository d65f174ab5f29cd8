// Package perr is the one error type of personium-go.
//
// An *E carries a Kind (what went wrong, for code that branches on it), a
// Personium message code such as "PR404-OD-0002" (what the client sees), the
// operation and path, message parameters and a cause. The HTTP status is
// derived from the code: "PR404-…" answers 404. Write renders the body in
// Personium's JSON (or XML) shape:
//
//	{"code":"PR404-OD-0002","message":{"lang":"en","value":"No such entity."}}
//
// Backends translate their own errors into Kinds at their boundary (a
// missing row becomes NotExist); protocol layers attach codes.
package perr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind classifies errors. The list is append-only.
type Kind uint8

// Kinds of error.
const (
	Other              Kind = iota // unclassified
	Invalid                        // malformed request or value
	NotExist                       // no such item
	Exist                          // item already exists
	Permission                     // authenticated but not allowed
	Unauthenticated                // no or bad credentials
	Conflict                       // state conflict (links remain, busy…)
	PreconditionFailed             // If-Match / version mismatch, required header missing
	Locked                         // resource locked
	TooLarge                       // body, URL or collection over a limit
	NotSupported                   // method or feature not supported
	Unavailable                    // backend down or overloaded
	Internal                       // bug or unexpected backend failure
)

var kindNames = [...]string{"other", "invalid", "not exist", "exist", "permission", "unauthenticated",
	"conflict", "precondition failed", "locked", "too large", "not supported", "unavailable", "internal"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// E is the error type. Any field may be zero.
type E struct {
	Kind   Kind
	Code   string // Personium message code, e.g. "PR400-OD-0006"
	Op     string // operation, e.g. "metastore.Apply"
	Path   string // resource path or entity key
	Params []any  // values for the {0}, {1}… placeholders of the message
	Err    error  // cause
}

// New returns an error for a Personium code; its Kind follows from the
// code's status. Params fill the message placeholders.
func New(code string, params ...any) *E {
	return &E{Kind: kindForStatus(statusOfCode(code)), Code: code, Params: params}
}

// Errorf returns an error of the given kind without a Personium code.
func Errorf(kind Kind, format string, args ...any) *E {
	return &E{Kind: kind, Err: fmt.Errorf(format, args...)}
}

// WithCause returns a copy of e with Err set to cause.
func (e *E) WithCause(cause error) *E {
	c := *e
	c.Err = cause
	return &c
}

// WithOp returns a copy of e with Op set.
func (e *E) WithOp(op string) *E {
	c := *e
	c.Op = op
	return &c
}

func (e *E) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(" ")
		b.WriteString(e.Message())
	} else {
		b.WriteString(e.Kind.String())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *E) Unwrap() error { return e.Err }

// Status is the HTTP status of the error: the one in its code, else one
// derived from its Kind.
func (e *E) Status() int {
	if s := statusOfCode(e.Code); s != 0 {
		return s
	}
	return statusForKind(e.Kind)
}

// Message is the English message of the code with its parameters filled in.
func (e *E) Message() string {
	return Message(e.Code, e.Params...)
}

// Message formats the English text of a code with params; unknown codes
// give a generic text.
func Message(code string, params ...any) string {
	tmpl, ok := messages[code]
	if !ok {
		if code == "" {
			return "Unknown error."
		}
		tmpl = "Error " + code + "."
	}
	if len(params) == 0 || !strings.Contains(tmpl, "{") {
		return tmpl
	}
	for i, p := range params {
		tmpl = strings.ReplaceAll(tmpl, "{"+strconv.Itoa(i)+"}", fmt.Sprint(p))
	}
	return tmpl
}

// KindOf returns the Kind of the first *E in err's chain, Other if none.
func KindOf(err error) Kind {
	var e *E
	if errors.As(err, &e) {
		if e.Kind == Other && e.Err != nil {
			return KindOf(e.Err)
		}
		return e.Kind
	}
	return Other
}

// Is reports whether err's Kind is k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// CodeOf returns the Personium code of the outermost *E in err's chain that has one.
func CodeOf(err error) string {
	for err != nil {
		var e *E
		if !errors.As(err, &e) {
			return ""
		}
		if e.Code != "" {
			return e.Code
		}
		err = e.Err
	}
	return ""
}

// statusOfCode reads the status out of "PR404-OD-0002"; 0 if not a code.
func statusOfCode(code string) int {
	if len(code) < 5 || !strings.HasPrefix(code, "PR") {
		return 0
	}
	n, err := strconv.Atoi(code[2:5])
	if err != nil || n < 100 || n > 599 {
		return 0
	}
	return n
}

func kindForStatus(s int) Kind {
	switch s {
	case 400, 416:
		return Invalid
	case 401:
		return Unauthenticated
	case 403:
		return Permission
	case 404:
		return NotExist
	case 405, 501:
		return NotSupported
	case 409:
		return Conflict
	case 412:
		return PreconditionFailed
	case 413, 414:
		return TooLarge
	case 423:
		return Locked
	case 503:
		return Unavailable
	case 500:
		return Internal
	}
	return Other
}

func statusForKind(k Kind) int {
	switch k {
	case Invalid:
		return 400
	case Unauthenticated:
		return 401
	case Permission:
		return 403
	case NotExist:
		return 404
	case NotSupported:
		return 405
	case Exist, Conflict:
		return 409
	case PreconditionFailed:
		return 412
	case TooLarge:
		return 413
	case Locked:
		return 423
	case Unavailable:
		return 503
	}
	return 500
}

// Public returns the error as the client should see it: err itself if it
// carries a code; otherwise a generic error with a code chosen by Kind, so
// that internal details never reach the client.
func Public(err error) *E {
	var e *E
	if errors.As(err, &e) {
		if c := CodeOf(err); c != "" {
			if e.Code == c {
				return e
			}
			return &E{Kind: e.Kind, Code: c}
		}
	}
	switch KindOf(err) {
	case NotExist:
		return New("PR404-MC-0001")
	case Exist:
		return New("PR409-OD-0003")
	case Permission:
		return New("PR403-AU-0002")
	case Unauthenticated:
		return New("PR401-AU-0001")
	case PreconditionFailed:
		return New("PR412-OD-0002")
	case Invalid:
		return New("PR400-OD-0002")
	case TooLarge:
		return New("PR413-MC-0001")
	case Unavailable:
		return New("PR503-SV-0001")
	case Conflict:
		return New("PR409-MC-0001")
	case NotSupported:
		return New("PR405-MC-0001")
	}
	return New("PR500-SV-9999")
}
