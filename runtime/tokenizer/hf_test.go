package tokenizer

import (
	"slices"
	"testing"
)

// hfExpected is HuggingFace's own output (Rust tokenizers and transformers
// on the GPU machine, testdata/gen_hf_expected.py).
type hfExpected struct {
	Versions map[string]string     `json:"versions"`
	Encode   map[string][]realCase `json:"encode"`
	Chat     []struct {
		Index    int    `json:"index"`
		Template string `json:"template"`
		Rendered *string
		Error    string
	} `json:"chat"`
}

func loadHFExpected(t *testing.T) hfExpected {
	var exp hfExpected
	if !readJSON(t, "testdata/hf_expected.json", &exp) {
		t.Skip("testdata/hf_expected.json not generated")
	}
	return exp
}

// TestAgainstHFTokenizers compares with the Rust tokenizers on the real
// vocabularies (pruned, as in TestRealTokenizersPruned) and with
// transformers on the fixtures, special-token texts included.
func TestAgainstHFTokenizers(t *testing.T) {
	exp := loadHFExpected(t)
	t.Logf("HF versions: %v", exp.Versions)
	toks := map[string]*Tokenizer{}
	for _, spec := range realSpecs {
		var p prunedVocab
		if !readJSON(t, "testdata/pruned_"+spec.name+".json", &p) {
			t.Fatalf("pruned_%s.json missing", spec.name)
		}
		tok, err := FromGGUF(p.metadata())
		if err != nil {
			t.Fatal(err)
		}
		toks[spec.name] = tok
	}
	for _, name := range fixtureNames() {
		tok, _ := loadFixture(t, name)
		toks["fixture-"+name] = tok
	}
	for name, cases := range exp.Encode {
		tok := toks[name]
		if tok == nil {
			t.Errorf("no tokenizer for %s", name)
			continue
		}
		agree := 0
		for _, c := range cases {
			got := tok.Encode(c.Text, false, true)
			if slices.Equal(got, c.IDs) {
				agree++
				continue
			}
			t.Errorf("%s %q:\n got %v\n  HF %v", name, c.Text, got, c.IDs)
		}
		t.Logf("%s: %d/%d texts agree with HuggingFace tokenizers", name, agree, len(cases))
	}
}
