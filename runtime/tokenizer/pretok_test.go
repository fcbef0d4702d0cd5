package tokenizer

import (
	"slices"
	"testing"
)

// TestPreTokenizersAgainstRegex compares the hand-written scanners with the
// real regexes run by Python's regex module on random strings over an
// alphabet that hits every class boundary (testdata/gen_pretok_expected.py).
func TestPreTokenizersAgainstRegex(t *testing.T) {
	var exp struct {
		Texts  []string              `json:"texts"`
		Splits map[string][][]string `json:"splits"`
	}
	if !readJSON(t, "testdata/pretok_expected.json", &exp) {
		t.Fatal("testdata/pretok_expected.json missing")
	}
	for name, splits := range exp.Splits {
		p, err := newPreTokenizer(name)
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		for i, text := range exp.Texts {
			rs, off := runes(text)
			got := p.split(text, rs, off)
			if !slices.Equal(got, splits[i]) {
				bad++
				if bad <= 5 {
					t.Errorf("%s %q:\n got %q\nwant %q", name, text, got, splits[i])
				}
			}
		}
		t.Logf("%s: %d/%d texts split as the regex does", name, len(exp.Texts)-bad, len(exp.Texts))
	}
}
