package convert

import (
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

func TestChooseType(t *testing.T) {
	for _, c := range []struct {
		name  string
		nDims int
		ne0   uint64
		out   gguf.Type
		want  gguf.Type
	}{
		{"blk.0.attn_q.weight", 2, 4096, gguf.TypeQ8_0, gguf.TypeQ8_0},
		{"blk.0.attn_q.weight", 2, 4100, gguf.TypeQ8_0, gguf.TypeF16}, // not whole Q8_0 blocks
		{"blk.0.attn_q.weight", 2, 4100, gguf.TypeBF16, gguf.TypeBF16},
		{"blk.0.attn_q.bias", 1, 4096, gguf.TypeBF16, gguf.TypeF32},
		{"blk.0.ffn_gate_exps.bias", 2, 256, gguf.TypeF16, gguf.TypeF32},
		{"blk.0.attn_kv_a_norm.weight", 1, 512, gguf.TypeF16, gguf.TypeF32},
		{"blk.0.ffn_gate_inp.weight", 2, 2048, gguf.TypeQ8_0, gguf.TypeF32},
		{"blk.0.ffn_gate_exps.weight", 3, 2048, gguf.TypeF16, gguf.TypeF16},
		{"blk.0.attn_k_b.weight", 3, 128, gguf.TypeQ8_0, gguf.TypeQ8_0},
		{"token_embd.weight", 2, 2880, gguf.TypeF32, gguf.TypeF32},
	} {
		if got := chooseType(c.name, c.nDims, c.ne0, c.out); got != c.want {
			t.Errorf("%s (%d-D, ne0 %d) as %s: %s, want %s", c.name, c.nDims, c.ne0, c.out, got, c.want)
		}
	}
}

// TestAutoOutType: auto picks bf16 for the (bf16) fixtures, so it writes
// exactly llama.cpp's bf16 file.
func TestAutoOutType(t *testing.T) {
	for _, fam := range fixtureFamilies {
		d := loadFixtureDump(t, fixtureRoot+"/"+fam+"/llama.cpp/bf16.gguf.json")
		g := convertFixture(t, fam, "auto", false)
		for _, s := range compareFileWithDump(g, d, false) {
			t.Errorf("%s: %s", fam, s)
		}
	}
}
