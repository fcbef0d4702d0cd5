package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/gguftool/gguftool/gguf"
)

// TokenizerOptions says which converter path applies and what config.json
// contributes to the tokenizer metadata.
type TokenizerOptions struct {
	// Arch is the GGUF architecture: gpt-oss, phimoe, deepseek or deepseek2.
	Arch string
	// VocabSize is config.json's vocab_size; 0 means absent (the tokenizer's
	// own size is used, as llama.cpp does).
	VocabSize int
	// Pre overrides tokenizer.ggml.pre; "" detects it from tokenizer.json.
	Pre string
}

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	tokenNormal      int32 = 1
	tokenUnknown     int32 = 2
	tokenControl     int32 = 3
	tokenUserDefined int32 = 4
	tokenUnused      int32 = 5
	tokenByte        int32 = 6
)

// ErrUnknownPreTokenizer is wrapped by TokenizerMetadata when tokenizer.json's
// pre-tokenizer matches none that gguftool recognizes; the caller should ask
// the user to name it (convert --tokenizer-pre NAME).
var ErrUnknownPreTokenizer = errors.New("unrecognized pre-tokenizer")

// preNamePattern is what a tokenizer.ggml.pre value may look like; llama.cpp's
// names are lower-case words joined by '-', '_' or '.'.
var preNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// TokenizerMetadata reads the tokenizer files in modelDir and returns every
// tokenizer.* key that llama.cpp's convert_hf_to_gguf.py writes for the
// architecture, in its order and with its types:
//   - gpt-oss, deepseek2, deepseek: GPT-2 byte-level BPE from tokenizer.json;
//   - phimoe: SentencePiece tokenizer.model (or BPE when tokenizer_config.json
//     names GPT2Tokenizer, as Phi-4 does).
func TokenizerMetadata(modelDir string, opts TokenizerOptions) ([]gguf.KV, error) {
	if opts.Pre != "" && !preNamePattern.MatchString(opts.Pre) {
		return nil, fmt.Errorf("tokenizer pre-type %q: expected a llama.cpp pre-tokenizer name such as gpt-4o, llama-bpe, qwen2, deepseek-llm or deepseek-v3", opts.Pre)
	}
	if opts.VocabSize < 0 {
		return nil, fmt.Errorf("config.json: vocab_size %d is negative", opts.VocabSize)
	}
	switch opts.Arch {
	case "gpt-oss", "deepseek2":
		return bpeTokenizerMetadata(modelDir, opts)
	case "deepseek":
		// llama.cpp tries SentencePiece first for DeepSeek v1 (a different
		// path from Phi's); the released checkpoints ship only tokenizer.json.
		if tokIsFile(filepath.Join(modelDir, "tokenizer.model")) {
			return nil, fmt.Errorf("%s: DeepSeek-MoE with a SentencePiece tokenizer.model is not supported (llama.cpp's _set_vocab_sentencepiece path); remove it to convert tokenizer.json", filepath.Join(modelDir, "tokenizer.model"))
		}
		return bpeTokenizerMetadata(modelDir, opts)
	case "phimoe":
		cfg, err := readTokJSONObject(filepath.Join(modelDir, "tokenizer_config.json"))
		if err != nil {
			return nil, err
		}
		if cls, _ := cfg["tokenizer_class"].(string); cls == "GPT2Tokenizer" {
			return bpeTokenizerMetadata(modelDir, opts)
		}
		return spmTokenizerMetadata(modelDir, opts)
	}
	return nil, fmt.Errorf("tokenizer: unsupported architecture %q (supported: gpt-oss, phimoe, deepseek, deepseek2)", opts.Arch)
}

// tokKVList collects KVs the way gguf-py's writer does: add_string skips empty
// strings, add_array skips empty lists, and a repeated key keeps the position
// of its first insertion.
type tokKVList struct {
	kvs []gguf.KV
	pos map[string]int
}

func (l *tokKVList) set(key string, v gguf.Value) {
	if l.pos == nil {
		l.pos = map[string]int{}
	}
	if i, ok := l.pos[key]; ok {
		l.kvs[i].Value = v
		return
	}
	l.pos[key] = len(l.kvs)
	l.kvs = append(l.kvs, gguf.KV{Key: key, Value: v})
}

func (l *tokKVList) str(key, v string) {
	if v != "" {
		l.set(key, gguf.String(v))
	}
}

func (l *tokKVList) strings(key string, v []string) {
	if len(v) > 0 {
		l.set(key, gguf.Array(v))
	}
}

// isFile reports whether path names a regular file (Python's Path.is_file).
func tokIsFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// readJSONObject reads a JSON object file with numbers kept as json.Number.
// A missing file gives a nil map and no error.
func readTokJSONObject(path string) (map[string]any, error) {
	if !tokIsFile(path) {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := decodeTokJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected a JSON object, got %s", path, pyTypeName(v))
	}
	return m, nil
}

// decodeJSON decodes one JSON value, numbers as json.Number, and rejects
// trailing data.
func decodeTokJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: trailing data after the top-level value")
	}
	return v, nil
}
