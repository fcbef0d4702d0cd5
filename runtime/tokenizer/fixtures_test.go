package tokenizer

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"testing"
)

// fixtureDir is the checked-in copy of ../shared/fixtures.
const fixtureDir = "../../testdata/fixtures"

var fixtureOpts = map[string]hfOptions{
	"gpt-oss":          {pre: "gpt-4o"},
	"deepseek-moe":     {pre: "deepseek-llm", spaceInSep: true},
	"deepseek-v2-lite": {pre: "deepseek-v3"},
	"phimoe":           {pre: "default"},
}

func fixtureNames() []string {
	var names []string
	for k := range fixtureOpts {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

type fixtureRef struct {
	PromptText      string             `json:"prompt_text"`
	PromptIDs       []int32            `json:"prompt_ids"`
	TokenizerChecks map[string][]int32 `json:"tokenizer_checks"`
	SPChecks        map[string][]int32 `json:"sentencepiece_checks"`
}

func loadFixture(t testing.TB, name string) (*Tokenizer, fixtureRef) {
	t.Helper()
	dir := filepath.Join(fixtureDir, name)
	md := fixtureMetadata(t, name)
	tok, err := FromGGUF(md)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var ref fixtureRef
	if !readJSON(t, filepath.Join(dir, "reference.json"), &ref) {
		t.Fatalf("%s: no reference.json", dir)
	}
	return tok, ref
}

// TestHFMetadataMatchesLlamaCpp checks the test helper that stands in for
// the converter: its tokenizer.* keys must hash like llama.cpp's.
func TestHFMetadataMatchesLlamaCpp(t *testing.T) {
	for _, name := range fixtureNames() {
		md := hfMetadata(t, filepath.Join(fixtureDir, name), fixtureOpts[name])
		for _, d := range checkAgainstDump(t, md, filepath.Join(fixtureDir, name, "llama.cpp", "f32.gguf.json")) {
			t.Errorf("%s: %s", name, d)
		}
	}
}

// TestFixtureTokenizerChecks compares with the ids HuggingFace tokenizers
// (and SentencePiece, for phimoe) gave for the fixtures' check texts.
func TestFixtureTokenizerChecks(t *testing.T) {
	total, agree := 0, 0
	for _, name := range fixtureNames() {
		tok, ref := loadFixture(t, name)
		checks := map[string]map[string][]int32{"tokenizer_checks": ref.TokenizerChecks, "sentencepiece_checks": ref.SPChecks}
		for kind, m := range checks {
			for text, want := range m {
				total++
				got := tok.Encode(text, false, false)
				if slices.Equal(got, want) {
					agree++
				} else {
					t.Errorf("%s %s %q:\n got %v\nwant %v", name, kind, text, got, want)
				}
				if dec := tok.Decode(got); dec != text {
					t.Errorf("%s: Decode(Encode(%q)) = %q", name, text, dec)
				}
			}
		}
		// prompt_ids is the encoding cut to the 24 positions of the
		// reference logits.
		total++
		got := tok.Encode(ref.PromptText, true, false)
		if len(got) >= len(ref.PromptIDs) && slices.Equal(got[:len(ref.PromptIDs)], ref.PromptIDs) {
			agree++
		} else {
			t.Errorf("%s prompt %q:\n got %v\nwant %v", name, ref.PromptText, got, ref.PromptIDs)
		}
	}
	t.Logf("fixtures: %d/%d encodings agree", agree, total)
}

func ExampleTokenizer_Encode() {
	md := fixtureMetadata(nil, "gpt-oss")
	tok, _ := FromGGUF(md)
	ids := tok.Encode("<|start|>user<|message|>Hi", false, true)
	fmt.Println(len(ids) > 0, tok.TokenPiece(ids[0]))
	// Output: true <|start|>
}

// TestFixtureChatTemplates renders each fixture's template through the
// tokenizer (special token texts come from the vocabulary) and checks the
// tokens: the rendered prompt must parse its special tokens.
func TestFixtureChatTemplates(t *testing.T) {
	want := map[string]string{
		"gpt-oss":          "<|start|>system<|message|>Be brief.<|end|><|start|>user<|message|>Hi there<|end|><|start|>assistant",
		"deepseek-moe":     "<｜begin of sentence｜>Be brief.\n\nUser: Hi there\n\nAssistant:",
		"deepseek-v2-lite": "<｜begin▁of▁sentence｜>Be brief.\n\nUser: Hi there\n\nAssistant:",
		"phimoe":           "<|system|>\nBe brief.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\n",
	}
	msgs := []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi there"}}
	for _, name := range fixtureNames() {
		tok, _ := loadFixture(t, name)
		got, err := tok.RenderChat(msgs, true)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got != want[name] {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want[name])
		}
		ids := tok.Encode(got, true, true)
		if !slices.ContainsFunc(ids, tok.IsControl) {
			t.Errorf("%s: no control token in %v", name, ids)
		}
	}
}

func TestEndOfGeneration(t *testing.T) {
	want := map[string]map[int32]bool{
		// gpt-oss: <|return|> (eos) and <|call|> stop, <|end|> does not.
		"gpt-oss":      {1002: true, 1012: true, 1007: false, 1006: false, 999: true, 36: false},
		"deepseek-moe": {999: true, 998: false},
		// phimoe: <|endoftext|> (eos), <|end|>, </s>.
		"phimoe": {1000: true, 1007: true, 2: true, 1: false, 1010: false},
	}
	for name, ids := range want {
		tok, _ := loadFixture(t, name)
		for id, eog := range ids {
			if tok.IsEOG(id) != eog {
				t.Errorf("%s: IsEOG(%d %q) = %v, want %v", name, id, tok.TokenText(id), !eog, eog)
			}
		}
	}
}

func ExampleTokenizer_RenderChat() {
	tok, _ := FromGGUF(fixtureMetadata(nil, "phimoe"))
	prompt, _ := tok.RenderChat([]Message{{Role: "user", Content: "Hi"}}, true)
	fmt.Printf("%q\n", prompt)
	ids := tok.Encode(prompt, false, true)
	fmt.Println(tok.TokenText(ids[0]), tok.TokenText(ids[len(ids)-1]))
	// Output:
	// "<|user|>\nHi<|end|>\n<|assistant|>\n"
	// <|user|> <|assistant|>
}
