package runtime

import (
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestLoadErrors damages a converted fixture in memory and checks that Load
// refuses it with an error naming the key or tensor, never a panic.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		family string
		damage func(f *gguf.File)
		want   string
	}{
		{"unknown architecture", "deepseek-moe", func(f *gguf.File) { f.Metadata.Set("general.architecture", gguf.String("llama")) }, `architecture "llama" is not supported`},
		{"missing key", "gpt-oss", func(f *gguf.File) { f.Metadata.Delete("gpt-oss.expert_used_count") }, "gpt-oss.expert_used_count"},
		{"key of wrong type", "phimoe", func(f *gguf.File) { f.Metadata.Set("phimoe.attention.head_count", gguf.String("four")) }, "phimoe.attention.head_count"},
		{"missing tensor", "deepseek-v2-lite", func(f *gguf.File) { rename(f, "blk.1.attn_kv_a_mqa.weight", "blk.1.other.weight") }, "blk.1.attn_kv_a_mqa.weight is missing"},
		{"wrong shape", "deepseek-moe", func(f *gguf.File) { f.Metadata.Set("deepseek.expert_feed_forward_length", gguf.Uint32(128)) }, "blk.1.ffn_gate_exps.weight has ne"},
		{"unsupported gating", "deepseek-v2-lite", func(f *gguf.File) { f.Metadata.Set("deepseek2.expert_gating_func", gguf.Uint32(2)) }, "expert_gating_func 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := convertFixture(t, tc.family, "q8_0")
			tc.damage(f)
			_, err := Load(f, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func rename(f *gguf.File, from, to string) {
	for i := range f.Tensors {
		if f.Tensors[i].Name == from {
			f.Tensors[i].Name = to
		}
	}
}

// TestEvalErrors checks the errors of a session: bad token ids, a full
// context, an empty batch.
func TestEvalErrors(t *testing.T) {
	m, err := Load(convertFixture(t, "gpt-oss", "q8_0"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := m.NewSession(4)
	if _, err := s.Eval([]int32{1, int32(m.NVocab)}, false); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("token id = vocab: %v", err)
	}
	if _, err := s.Eval([]int32{-1}, false); err == nil {
		t.Error("negative token id accepted")
	}
	if _, err := s.Eval(nil, false); err == nil {
		t.Error("empty batch accepted")
	}
	if _, err := s.Eval([]int32{1, 2, 3, 4, 5}, false); err == nil || !strings.Contains(err.Error(), "context full") {
		t.Errorf("5 tokens in a context of 4: %v", err)
	}
	if _, err := s.Eval([]int32{1, 2, 3, 4}, false); err != nil {
		t.Errorf("4 tokens in a context of 4: %v", err)
	}
}
