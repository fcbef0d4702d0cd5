package convert

import (
	"path/filepath"
	"testing"
)

// TestDeepseek2DropsMTPAndTiedHead: tensors of layers at or beyond
// num_hidden_layers (multi-token prediction) are not converted, nor is
// lm_head when the embeddings are tied; everything else is unchanged.
func TestDeepseek2DropsMTPAndTiedHead(t *testing.T) {
	ref, err := NewPlan(filepath.Join(fixtureRoot, "deepseek-v2-lite"), Options{OutType: "f16", SkipTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()

	dir := copyFixtureDir(t, "deepseek-v2-lite")
	rewriteCheckpoint(t, dir, func(ts []stTensor) []stTensor {
		return append(ts,
			stTensor{"model.layers.3.eh_proj.weight", BF16, []int64{2, 2}, make([]byte, 8)},
			stTensor{"model.layers.3.self_attn.q_proj.weight", BF16, []int64{2}, make([]byte, 4)})
	})
	p, err := NewPlan(dir, Options{OutType: "f16", SkipTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if len(p.Tensors) != len(ref.Tensors) {
		t.Fatalf("MTP layer converted: %d tensors, want %d", len(p.Tensors), len(ref.Tensors))
	}

	editJSON(t, filepath.Join(dir, "config.json"), func(m map[string]any) { m["tie_word_embeddings"] = true })
	p2, err := NewPlan(dir, Options{OutType: "f16", SkipTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	for _, x := range p2.Tensors {
		if x.Name == "output.weight" {
			t.Fatal("tied lm_head converted")
		}
	}
	if len(p2.Tensors) != len(ref.Tensors)-1 {
		t.Fatalf("%d tensors, want %d", len(p2.Tensors), len(ref.Tensors)-1)
	}
}
