package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/gguftool/gguftool/gguf"
)

// maxTokVocab bounds the token arrays: llama.cpp's reader refuses arrays of more
// than 2^30 elements, and a hostile vocab_size must not make us allocate them.
const maxTokVocab = 1 << 30

// tokenizerJSON is the part of a HuggingFace tokenizer.json the converter
// reads. Loosely typed sections stay as decoded JSON (numbers as float64,
// which only the post-processor comparisons see).
type tokenizerJSON struct {
	path string

	AddedTokens   []addedToken   `json:"added_tokens"`
	Normalizer    any            `json:"normalizer"`
	PreTokenizer  any            `json:"pre_tokenizer"`
	PostProcessor any            `json:"post_processor"`
	Decoder       any            `json:"decoder"`
	Model         tokenizerModel `json:"model"`
}

type tokenizerModel struct {
	Type         string          `json:"type"`
	Vocab        json.RawMessage `json:"vocab"`
	Merges       json.RawMessage `json:"merges"`
	ByteFallback bool            `json:"byte_fallback"`
}

// addedToken is one entry of tokenizer.json's added_tokens.
type addedToken struct {
	ID         json.Number `json:"id"`
	Content    string      `json:"content"`
	Special    bool        `json:"special"`
	Normalized *bool       `json:"normalized"`
}

// idValue is atok.get('id') as SpecialVocab sees it.
func (a addedToken) idValue() any {
	if a.ID == "" {
		return nil
	}
	return a.ID
}

// normalized is the token's "normalized" flag; tokenizers defaults it to
// !special when absent.
func (a addedToken) normalized() bool {
	if a.Normalized != nil {
		return *a.Normalized
	}
	return !a.Special
}

// readTokenizerJSON parses path; a missing file gives (nil, nil).
func readTokenizerJSON(path string) (*tokenizerJSON, error) {
	if !tokIsFile(path) {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s: not valid UTF-8", path)
	}
	t := &tokenizerJSON{path: path}
	if err := json.Unmarshal(data, t); err != nil {
		return nil, fmt.Errorf("%s: invalid tokenizer.json: %w", path, err)
	}
	return t, nil
}

// mergeStrings returns model.merges as llama.cpp stores them: "a b" strings
// as they are; the pair form ["a", "b"] (transformers >= 4.45) joined by a
// space, with spaces inside a part written as U+0120 so the split stays
// unambiguous.
func (t *tokenizerJSON) mergeStrings() ([]string, error) {
	raw := bytes.TrimSpace(t.Model.Merges)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	// Fast path: the whole list in one form, decoded straight into strings.
	if raw[0] == '[' && bytes.HasPrefix(bytes.TrimLeft(raw[1:], " \t\r\n"), []byte("[")) {
		var pairs [][]string
		if err := json.Unmarshal(raw, &pairs); err == nil {
			out := make([]string, len(pairs))
			for i, p := range pairs {
				if len(p) != 2 {
					return nil, fmt.Errorf("%s: model.merges[%d]: expected a pair of strings, got %d strings", t.path, i, len(p))
				}
				out[i] = strings.ReplaceAll(p[0], " ", "\u0120") + " " + strings.ReplaceAll(p[1], " ", "\u0120")
			}
			return out, nil
		}
	} else {
		var out []string
		if err := json.Unmarshal(raw, &out); err == nil {
			return out, nil
		}
	}
	// Slow path, for a precise error: find the entry that breaks the form of
	// the first one.
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: model.merges: expected a list: %w", t.path, err)
	}
	if len(items) == 0 {
		return nil, nil
	}
	pairForm := bytes.HasPrefix(bytes.TrimSpace(items[0]), []byte("["))
	for i, it := range items {
		if !pairForm {
			var s string
			if err := json.Unmarshal(it, &s); err != nil {
				return nil, fmt.Errorf("%s: model.merges[%d]: expected a string like the first merge: %w", t.path, i, err)
			}
			continue
		}
		var pair []string
		if err := json.Unmarshal(it, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("%s: model.merges[%d]: expected a pair of strings like the first merge, got %.60s", t.path, i, it)
		}
	}
	return nil, fmt.Errorf("%s: model.merges: unknown format", t.path)
}

// bpeTokenizerMetadata is llama.cpp's _set_vocab_gpt2: a byte-level BPE
// tokenizer.json becomes tokenizer.ggml.model "gpt2" with tokens, types and
// merges, then SpecialVocab's keys.
func bpeTokenizerMetadata(dir string, opts TokenizerOptions) ([]gguf.KV, error) {
	path := filepath.Join(dir, "tokenizer.json")
	tok, err := readTokenizerJSON(path)
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, fmt.Errorf("%s: not found; the %s tokenizer is converted from a HuggingFace tokenizer.json (byte-level BPE)", path, opts.Arch)
	}
	cfg, err := readTokJSONObject(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return nil, err
	}
	tokens, types, err := bpeTokens(tok, cfg, opts)
	if err != nil {
		return nil, err
	}
	pre := opts.Pre
	if pre == "" {
		if pre, err = detectPreTokenizer(tok); err != nil {
			return nil, err
		}
	}
	sv, err := loadSpecialVocab(dir, tok, cfg, true, 0)
	if err != nil {
		return nil, err
	}
	var l tokKVList
	l.str("tokenizer.ggml.model", "gpt2")
	l.str("tokenizer.ggml.pre", pre)
	l.strings("tokenizer.ggml.tokens", tokens)
	if len(types) > 0 {
		l.set("tokenizer.ggml.token_type", gguf.Array(types))
	}
	if err := sv.addTo(&l); err != nil {
		return nil, err
	}
	return l.kvs, nil
}

// bpeTokens lists the tokens by id (get_vocab_base): model vocab and added
// tokens, "[PAD{i}]" for ids without one up to vocab_size.
func bpeTokens(tok *tokenizerJSON, cfg map[string]any, opts TokenizerOptions) ([]string, []int32, error) {
	m := tok.Model
	if m.Type != "" && m.Type != "BPE" {
		return nil, nil, fmt.Errorf("%s: model type %q is not BPE; %s needs a byte-level BPE tokenizer", tok.path, m.Type, opts.Arch)
	}
	if m.ByteFallback {
		return nil, nil, fmt.Errorf("%s: a BPE model with byte_fallback is a SentencePiece-style tokenizer, not GPT-2 byte-level BPE; llama.cpp converts such tokenizers from tokenizer.model", tok.path)
	}
	var vocab map[string]int64
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil {
		return nil, nil, fmt.Errorf("%s: model.vocab: expected an object of token → integer id: %w", tok.path, err)
	}
	if len(vocab) == 0 {
		return nil, nil, fmt.Errorf("%s: model.vocab is empty", tok.path)
	}

	// Added tokens by id; they also extend tokenizer.vocab (content → id).
	addedByID := map[int64]addedToken{}
	distinct := len(vocab)
	for i, a := range tok.AddedTokens {
		id, ok := pyInt(a.idValue())
		if !ok {
			return nil, nil, fmt.Errorf("%s: added_tokens[%d] (%q): id %q is not an integer", tok.path, i, a.Content, a.ID)
		}
		if _, dup := vocab[a.Content]; !dup {
			distinct++
		}
		addedByID[id] = a
	}

	n := int64(opts.VocabSize)
	if n == 0 {
		n = int64(distinct) // llama.cpp: hparams.get("vocab_size", len(tokenizer.vocab))
	}
	if n > maxTokVocab {
		return nil, nil, fmt.Errorf("vocab_size %d exceeds the GGUF array limit of %d", n, maxTokVocab)
	}
	sizeFrom := fmt.Sprintf("config.json vocab_size %d", n)
	if opts.VocabSize == 0 {
		sizeFrom = fmt.Sprintf("no vocab_size in config.json: the tokenizer's %d distinct tokens", n)
	}
	outside := func(what string, id int64) error {
		return fmt.Errorf("%s: %s has id %d, outside 0..%d (%s)", tok.path, what, id, n-1, sizeFrom)
	}

	tokens := make([]string, n)
	have := make([]bool, n)
	for s, id := range vocab {
		if id < 0 || id >= n {
			return nil, nil, outside(fmt.Sprintf("token %q", s), id)
		}
		if have[id] && tokens[id] != s {
			return nil, nil, fmt.Errorf("%s: model.vocab gives id %d to both %q and %q", tok.path, id, tokens[id], s)
		}
		tokens[id], have[id] = s, true
	}
	for id, a := range addedByID {
		if id < 0 || id >= n {
			return nil, nil, outside(fmt.Sprintf("added token %q", a.Content), id)
		}
		// An added token wins over a model token with the same id, as the
		// HF tokenizer's id → token lookup does.
		tokens[id], have[id] = a.Content, true
	}

	// DeepSeek v1 quirk (conversion.md §7.1): llama.cpp round-trips
	// non-normalized added tokens through the HF tokenizer; for model_type
	// "deepseek" transformers resolves LlamaTokenizerFast with a decoder that
	// turns U+2581 into spaces, so those tokens are stored with spaces.
	cls, _ := cfg["tokenizer_class"].(string)
	metaspaceRoundTrip := opts.Arch == "deepseek" && cls == "LlamaTokenizerFast"

	types := make([]int32, n)
	for i := range tokens {
		if !have[i] {
			tokens[i] = fmt.Sprintf("[PAD%d]", i)
			types[i] = tokenUnused
			continue
		}
		a, added := addedByID[int64(i)]
		if !added {
			types[i] = tokenNormal
			continue
		}
		t := tokens[i]
		if !a.normalized() && metaspaceRoundTrip {
			t = strings.ReplaceAll(t, "\u2581", " ")
		}
		if a.Special || looksSpecial(t) {
			types[i] = tokenControl
		} else {
			t = strings.ReplaceAll(t, "\u2581", " ") // pre-normalize user-defined spaces
			types[i] = tokenUserDefined
		}
		tokens[i] = t
	}
	return tokens, types, nil
}

// looksSpecial is llama.cpp's does_token_look_special: added tokens some
// models forget to mark special but that act as control tokens.
func looksSpecial(t string) bool {
	switch t {
	case "<pad>", "<mask>", "<2mass>", "[@BOS@]":
		return true
	}
	return strings.HasPrefix(t, "<|") && strings.HasSuffix(t, "|>") ||
		strings.HasPrefix(t, "<｜") && strings.HasSuffix(t, "｜>") ||
		strings.HasPrefix(t, "<unused") && strings.HasSuffix(t, ">")
}
