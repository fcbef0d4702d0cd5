package tokenizer

import (
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestFromGGUFErrors: bad metadata gives an error naming the key.
func TestFromGGUFErrors(t *testing.T) {
	base := func() *gguf.Metadata { return fixtureMetadata(t, "gpt-oss").Clone() }
	spm := func() *gguf.Metadata { return fixtureMetadata(t, "phimoe").Clone() }
	cases := []struct {
		name string
		md   func() *gguf.Metadata
		want string
	}{
		{"no model", func() *gguf.Metadata { m := base(); m.Delete("tokenizer.ggml.model"); return m }, "tokenizer.ggml.model"},
		{"bert", func() *gguf.Metadata { m := base(); m.Set("tokenizer.ggml.model", gguf.String("bert")); return m }, `"bert" is not supported`},
		{"model not a string", func() *gguf.Metadata { m := base(); m.Set("tokenizer.ggml.model", gguf.Uint32(1)); return m }, "tokenizer.ggml.model"},
		{"no tokens", func() *gguf.Metadata { m := base(); m.Delete("tokenizer.ggml.tokens"); return m }, "tokenizer.ggml.tokens"},
		{"empty tokens", func() *gguf.Metadata {
			m := base()
			m.Set("tokenizer.ggml.tokens", gguf.Array([]string{}))
			m.Delete("tokenizer.ggml.token_type")
			return m
		}, "empty"},
		{"short types", func() *gguf.Metadata {
			m := base()
			m.Set("tokenizer.ggml.token_type", gguf.Array([]int32{1, 1}))
			return m
		}, "token_type has 2 entries"},
		{"unknown pre", func() *gguf.Metadata { m := base(); m.Set("tokenizer.ggml.pre", gguf.String("tekken")); return m }, `"tekken" is not supported`},
		{"bos out of range", func() *gguf.Metadata {
			m := base()
			m.Set("tokenizer.ggml.bos_token_id", gguf.Uint32(1<<20))
			return m
		}, "bos_token_id = 1048576 is outside"},
		{"no merges", func() *gguf.Metadata { m := base(); m.Delete("tokenizer.ggml.merges"); return m }, "tokenizer.ggml.merges"},
		{"bad merge", func() *gguf.Metadata {
			m := base()
			m.Set("tokenizer.ggml.merges", gguf.Array([]string{"abc"}))
			return m
		}, `merges[0] = "abc"`},
		{"add_bos not bool", func() *gguf.Metadata {
			m := base()
			m.Set("tokenizer.ggml.add_bos_token", gguf.String("yes"))
			return m
		}, "add_bos_token"},
		{"spm without scores", func() *gguf.Metadata { m := spm(); m.Delete("tokenizer.ggml.scores"); return m }, "tokenizer.ggml.scores is required"},
		{"spm short scores", func() *gguf.Metadata {
			m := spm()
			m.Set("tokenizer.ggml.scores", gguf.Array([]float32{0}))
			return m
		}, "scores has 1 entries"},
	}
	for _, c := range cases {
		_, err := FromGGUF(c.md())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestNoChatTemplate(t *testing.T) {
	md := fixtureMetadata(t, "gpt-oss").Clone()
	md.Delete("tokenizer.chat_template")
	tok, err := FromGGUF(md)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.RenderChat([]Message{{Role: "user", Content: "x"}}, true); err == nil || !strings.Contains(err.Error(), "no chat template") {
		t.Errorf("RenderChat without a template: %v", err)
	}
	md.Set("tokenizer.chat_template", gguf.String("{% include 'x' %}"))
	tok, _ = FromGGUF(md)
	if _, err := tok.RenderChat(nil, true); err == nil || !strings.Contains(err.Error(), "include") {
		t.Errorf("unsupported template: %v", err)
	}
}
