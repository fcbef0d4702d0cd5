package convert

import "github.com/gguftool/gguftool/gguf"

// The tokenizer.* keys come last in llama.cpp's files (set_vocab runs after
// the model's parameters); TokenizerMetadata (tokenizer.go) produces them.
func init() {
	tokenizerKVs = func(dir, arch string, vocabSize int, pre string) ([]gguf.KV, error) {
		return TokenizerMetadata(dir, TokenizerOptions{Arch: arch, VocabSize: vocabSize, Pre: pre})
	}
}
