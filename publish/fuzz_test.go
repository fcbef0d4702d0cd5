package publish

import (
	"os"
	"testing"
)

// FuzzParsers feeds the readers of untrusted release files (a source
// README's front matter, SHA256SUMS, the card's file table) arbitrary
// text: errors are fine, panics are not.
func FuzzParsers(f *testing.F) {
	f.Add("---\nlicense: mit\nbase_model:\n- a/b\ntags: [x, 'y']\n---\n")
	f.Add("---\nk: \"unterminated\n---\n")
	f.Add(filesBegin + "\n| `a.gguf` | Q4_K_M | 1 B | 1 | `00` |\n" + filesEnd)
	f.Add("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef  a.gguf\n")
	if card, err := os.ReadFile("testdata/card-presets-Q4_K_M.md"); err == nil {
		f.Add(string(card))
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fm, err := ParseFrontMatter(s); err == nil {
			fm.Scalar("license")
			fm.List("base_model")
		}
		parseSums([]byte(s))
		parseCardFiles(s)
		// What the card writes into its front matter reads back unchanged.
		if got, err := yamlScalar(yamlString(s)); err != nil || got != s {
			t.Errorf("yamlString(%q) = %s reads back as %q, %v", s, yamlString(s), got, err)
		}
	})
}
