package perr

import (
	_ "embed"
	"strings"
)

// messages.txt holds the English message text of every Personium code,
// one "CODE<TAB>text" per line; {0}, {1}… are placeholders. It is data,
// not code (house style 16).
//
//go:embed messages.txt
var messagesTxt string

var messages = parseMessages(messagesTxt)

func parseMessages(s string) map[string]string {
	m := make(map[string]string)
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		code, text, ok := strings.Cut(line, "\t")
		if ok {
			m[code] = text
		}
	}
	return m
}
