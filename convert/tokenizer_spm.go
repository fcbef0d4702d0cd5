package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// Scores llama.cpp gives to tokens that are not SentencePiece pieces.
const (
	spPadScore   float32 = -10000.0 // "[PAD{i}]" filler up to vocab_size
	spAddedScore float32 = -1000.0  // added tokens
)

// spmTokenizerMetadata is llama.cpp's Phi3MiniModel.set_vocab: the pieces of
// tokenizer.model, then the added tokens of added_tokens.json,
// tokenizer_config.json and tokenizer.json laid over them by id
// (conversion.md §7.2), then SpecialVocab bounded by the vocabulary size.
func spmTokenizerMetadata(dir string, opts TokenizerOptions) ([]gguf.KV, error) {
	modelPath := filepath.Join(dir, "tokenizer.model")
	if !tokIsFile(modelPath) {
		return nil, fmt.Errorf("%s: not found; %s needs the SentencePiece tokenizer.model (or tokenizer_config.json tokenizer_class GPT2Tokenizer with a tokenizer.json)", modelPath, opts.Arch)
	}
	sp, err := readSentencePieceModel(modelPath)
	if err != nil {
		return nil, err
	}
	n := opts.VocabSize
	if n == 0 {
		n = len(sp.Pieces)
	}
	if n > maxTokVocab {
		return nil, fmt.Errorf("vocab_size %d exceeds the GGUF array limit of %d", n, maxTokVocab)
	}
	if len(sp.Pieces) > n {
		return nil, fmt.Errorf("%s: %d pieces do not fit config.json vocab_size %d", modelPath, len(sp.Pieces), n)
	}

	tokens := make([]string, n)
	scores := make([]float32, n)
	types := make([]int32, n)
	for i := range tokens {
		tokens[i], scores[i], types[i] = fmt.Sprintf("[PAD%d]", i), spPadScore, tokenUnused
	}
	for i, p := range sp.Pieces {
		tokens[i], scores[i], types[i] = p.Piece, p.Score, spTokenType(p.Type)
	}
	setAdded := func(source string, id int64, text string, typ int32) error {
		if id < 0 || id >= int64(n) {
			return fmt.Errorf("%s: added token %q has id %d, outside the vocabulary 0..%d (config.json vocab_size)", source, text, id, n-1)
		}
		tokens[id], scores[id], types[id] = text, spAddedScore, typ
		return nil
	}

	// added_tokens.json {text: id}: ids beyond the vocabulary are ignored.
	addedPath := filepath.Join(dir, "added_tokens.json")
	if tokIsFile(addedPath) {
		members, err := readOrderedObject(addedPath, "")
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			id, ok := pyInt(m.value)
			if !ok {
				return nil, fmt.Errorf("%s: %q: expected an integer token id, got %s", addedPath, m.key, pyTypeName(m.value))
			}
			if id >= int64(n) {
				continue
			}
			if err := setAdded(addedPath, id, m.key, tokenUserDefined); err != nil {
				return nil, err
			}
		}
	}

	// tokenizer_config.json added_tokens_decoder {"id": {content, special}}.
	cfgPath := filepath.Join(dir, "tokenizer_config.json")
	cfg, err := readTokJSONObject(cfgPath)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		members, err := readOrderedObject(cfgPath, "added_tokens_decoder")
		if err != nil {
			return nil, err
		}
		for _, m := range members {
			id, err := strconv.ParseInt(strings.TrimSpace(m.key), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: added_tokens_decoder key %q is not a token id", cfgPath, m.key)
			}
			entry := tokObject(m.value)
			content, ok := entry["content"].(string)
			if !ok {
				return nil, fmt.Errorf("%s: added_tokens_decoder[%q]: expected an object with a string content", cfgPath, m.key)
			}
			typ := tokenUserDefined
			if pyTruthy(entry["special"]) {
				typ = tokenControl
			}
			if err := setAdded(cfgPath, id, content, typ); err != nil {
				return nil, err
			}
		}
	}

	// tokenizer.json added_tokens, applied last.
	tok, err := readTokenizerJSON(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, err
	}
	if tok != nil {
		for i, a := range tok.AddedTokens {
			id, ok := pyInt(a.idValue())
			if !ok {
				return nil, fmt.Errorf("%s: added_tokens[%d] (%q): id %q is not an integer", tok.path, i, a.Content, a.ID)
			}
			typ := tokenUserDefined
			if a.Special {
				typ = tokenControl
			}
			if err := setAdded(tok.path, id, a.Content, typ); err != nil {
				return nil, err
			}
		}
	}

	pre := opts.Pre
	if pre == "" {
		pre = "default"
	}
	sv, err := loadSpecialVocab(dir, tok, cfg, false, len(tokens))
	if err != nil {
		return nil, err
	}
	var l tokKVList
	l.str("tokenizer.ggml.model", "llama")
	l.str("tokenizer.ggml.pre", pre)
	l.strings("tokenizer.ggml.tokens", tokens)
	if n > 0 {
		l.set("tokenizer.ggml.scores", gguf.Array(scores))
		l.set("tokenizer.ggml.token_type", gguf.Array(types))
	}
	if err := sv.addTo(&l); err != nil {
		return nil, err
	}
	return l.kvs, nil
}

// spTokenType maps a piece type to the GGUF token type the way llama.cpp
// does through SentencePieceProcessor's IsUnknown/IsControl/IsUnused/IsByte:
// USER_DEFINED pieces have none of those and become NORMAL.
func spTokenType(t int32) int32 {
	switch t {
	case spUnknown:
		return tokenUnknown
	case spControl:
		return tokenControl
	case spUnused:
		return tokenUnused
	case spByte:
		return tokenByte
	}
	return tokenNormal
}

// jsonMember is one member of a JSON object, in file order.
type jsonMember struct {
	key   string
	value any
}

// readOrderedObject returns the members of the JSON object in path (or of
// its top-level member named sub) in file order, as Python's dicts keep them:
// a repeated key keeps its first position and takes its last value.
func readOrderedObject(path, sub string) ([]jsonMember, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if sub != "" {
		top, err := orderedMembers(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		data = nil
		for _, m := range top {
			if m.key == sub {
				data = m.value.(json.RawMessage)
			}
		}
		if data == nil || bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
			return nil, nil
		}
	}
	members, err := orderedMembers(data)
	if err != nil {
		if sub != "" {
			return nil, fmt.Errorf("%s: %s: %w", path, sub, err)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range members {
		v, err := decodeTokJSON(members[i].value.(json.RawMessage))
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, members[i].key, err)
		}
		members[i].value = v
	}
	return members, nil
}

// orderedMembers splits a JSON object into its members, values left raw
// (json.RawMessage).
func orderedMembers(data []byte) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	t, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected a JSON object")
	}
	var out []jsonMember
	pos := map[string]int{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %w", err)
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("invalid JSON in %q: %w", key, err)
		}
		if i, ok := pos[key]; ok {
			out[i].value = raw
			continue
		}
		pos[key] = len(out)
		out = append(out, jsonMember{key, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return out, nil
}
