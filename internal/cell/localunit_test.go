package cell

import "testing"

func TestResolveLocalUnit(t *testing.T) {
	for in, want := range map[string]string{
		"personium-localunit:/c2/":        "https://u.example/c2/",
		"personium-localunit:c2:/":        "https://u.example/c2/",
		"personium-localunit:c2:/box/col": "https://u.example/c2/box/col",
		"personium-localunit:/c2/a:b":     "https://u.example/c2/a:b",
		"https://other.example/c/":        "https://other.example/c/",
	} {
		if got := ResolveLocalUnit("https://u.example/", in); got != want {
			t.Errorf("ResolveLocalUnit(%q) = %q, want %q", in, got, want)
		}
	}
}
