package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/personium-go/personium/internal/perr"
)

// canon describes XML content as encoding/xml sees it, namespaces
// resolved and declarations left out, so that two serializations of the
// same content compare equal.
func canon(inner []byte) (string, error) {
	d := xml.NewDecoder(io.MultiReader(strings.NewReader("<v>"), bytes.NewReader(inner), strings.NewReader("</v>")))
	var c canonWriter
	depth := 0
	for {
		t, err := d.Token()
		if err == io.EOF {
			return c.String(), nil
		}
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if depth++; depth > 1 {
				c.tag(startCanon(t))
			}
		case xml.EndElement:
			if depth--; depth > 0 {
				c.tag("</>")
			}
		case xml.CharData:
			c.text.Write(t)
		}
	}
}

// canonWriter joins adjacent character data (text, CDATA sections and
// references split it into several tokens).
type canonWriter struct {
	b, text strings.Builder
}

func (c *canonWriter) flush() {
	if c.text.Len() > 0 {
		fmt.Fprintf(&c.b, "%q", c.text.String())
		c.text.Reset()
	}
}

func (c *canonWriter) tag(s string) { c.flush(); c.b.WriteString(s) }

func (c *canonWriter) String() string { c.flush(); return c.b.String() }

func startCanon(t xml.StartElement) string {
	return fmt.Sprintf("<{%s}%s%s>", t.Name.Space, t.Name.Local, attrCanon(t.Attr))
}

func attrCanon(as []xml.Attr) string {
	var parts []string
	for _, a := range as {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if a.Name.Space == "xml" {
			a.Name.Space = nsXML
		}
		parts = append(parts, fmt.Sprintf(" {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value))
	}
	sort.Strings(parts)
	return strings.Join(parts, "")
}

// wantCode checks that err is a *perr.E with the code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *perr.E
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want *perr.E %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code %s (%v), want %s", e.Code, err, code)
	}
}

// wellFormed parses a whole document with encoding/xml.
func wellFormed(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// msProp is a property as found in a written multistatus.
type msProp struct {
	name  xml.Name
	attrs string
	value string // canonical, as canon gives
}

// readMultistatus collects the properties of every propstat of a
// multistatus with encoding/xml, and checks its shape.
func readMultistatus(data []byte) ([]msProp, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var out []msProp
	var path []xml.Name
	var cur *msProp
	var val canonWriter
	for {
		t, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			path = append(path, t.Name)
			switch {
			case len(path) == 1 && t.Name != davName("multistatus"):
				return nil, fmt.Errorf("root %v", t.Name)
			case len(path) == 5 && path[3] == davName("prop"):
				cur = &msProp{name: t.Name, attrs: attrCanon(t.Attr)}
				val = canonWriter{}
			case len(path) > 5 && cur != nil:
				val.tag(startCanon(t))
			}
		case xml.EndElement:
			if len(path) == 5 && cur != nil {
				cur.value = val.String()
				out = append(out, *cur)
				cur = nil
			} else if len(path) > 5 && cur != nil {
				val.tag("</>")
			}
			path = path[:len(path)-1]
		case xml.CharData:
			if len(path) >= 5 && cur != nil {
				val.text.Write(t)
			}
		}
	}
}
