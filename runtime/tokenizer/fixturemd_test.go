package tokenizer

import (
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/convert"
	"github.com/gguftool/gguftool/gguf"
)

var fixtureArch = map[string]string{"gpt-oss": "gpt-oss", "deepseek-moe": "deepseek", "deepseek-v2-lite": "deepseek2", "phimoe": "phimoe"}

// fixtureMetadata returns the tokenizer.* keys the converter writes for a
// fixture (convert.TokenizerMetadata; a test-only dependency).
func fixtureMetadata(t testing.TB, name string) *gguf.Metadata {
	if t == nil {
		t = &testing.T{}
	}
	dir := filepath.Join(fixtureDir, name)
	var cfg struct {
		VocabSize int `json:"vocab_size"`
	}
	readJSON(t, filepath.Join(dir, "config.json"), &cfg)
	kvs, err := convert.TokenizerMetadata(dir, convert.TokenizerOptions{Arch: fixtureArch[name], VocabSize: cfg.VocabSize})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	md := gguf.NewMetadata()
	for _, kv := range kvs {
		md.Set(kv.Key, kv.Value)
	}
	return md
}

// TestConverterMetadataMatchesLlamaCpp: the metadata these tests run on is
// llama.cpp's (the converter's own tests check more).
func TestConverterMetadataMatchesLlamaCpp(t *testing.T) {
	for _, name := range fixtureNames() {
		md := fixtureMetadata(t, name)
		for _, d := range checkAgainstDump(t, md, filepath.Join(fixtureDir, name, "llama.cpp", "f32.gguf.json")) {
			t.Errorf("%s: %s", name, d)
		}
	}
}
