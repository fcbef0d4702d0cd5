package runtime

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/convert"
	"github.com/gguftool/gguftool/gguf"
)

// FuzzLoadHParams sets one integer hyperparameter of a converted fixture
// to an arbitrary value: Load must refuse it or the model must evaluate a
// few tokens, never panic.
func FuzzLoadHParams(f *testing.F) {
	families := []string{"gpt-oss", "phimoe", "deepseek-moe", "deepseek-v2-lite"}
	keys := []string{"block_count", "embedding_length", "feed_forward_length", "expert_feed_forward_length",
		"attention.head_count", "attention.head_count_kv", "attention.key_length", "attention.value_length",
		"expert_count", "expert_used_count", "expert_shared_count", "leading_dense_block_count",
		"rope.dimension_count", "attention.sliding_window", "attention.kv_lora_rank", "attention.q_lora_rank",
		"context_length", "rope.scaling.original_context_length", "expert_gating_func", "expert_group_count"}
	// Converted once for the whole run: files opened inside a fuzz call
	// would be closed (unmapped) at its end.
	files := map[string]*gguf.File{}
	for _, fam := range families {
		p, err := convert.NewPlan(fixtureDir(fam), convert.Options{OutType: "q8_0"})
		if err != nil {
			f.Fatal(err)
		}
		path := filepath.Join(f.TempDir(), fam+".gguf")
		out, err := os.Create(path)
		if err == nil {
			err = p.Write(context.Background(), out, 0, nil)
			out.Close()
		}
		p.Close()
		if err != nil {
			f.Fatal(err)
		}
		g, err := gguf.Open(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { g.Close() })
		files[fam] = g
	}
	for _, fam := range []uint8{0, 1, 2, 3} {
		for k := range keys {
			f.Add(fam, uint8(k), uint32(0))
			f.Add(fam, uint8(k), uint32(1))
			f.Add(fam, uint8(k), uint32(3))
			f.Add(fam, uint8(k), uint32(1000))
		}
	}
	f.Fuzz(func(t *testing.T, fam, key uint8, v uint32) {
		family := families[int(fam)%len(families)]
		src := files[family]
		arch, _ := src.Metadata.String(gguf.KeyArchitecture)
		g := *src
		g.Metadata = src.Metadata.Clone()
		g.Metadata.Set(arch+"."+keys[int(key)%len(keys)], gguf.Uint32(v))
		m, err := Load(&g, Options{})
		if err != nil {
			return
		}
		s := m.NewSession(8)
		if _, err := s.Eval([]int32{1, 2, 3}, false); err != nil {
			return
		}
		s.Eval([]int32{4}, false)
	})
}
