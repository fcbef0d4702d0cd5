package planner

import (
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// FuzzPlanHParams sets one hyperparameter of a preset's header to any
// value and plans it under both memory models: an error or a plan, never a
// panic (divisions by head counts, per-layer arrays, expert counts).
func FuzzPlanHParams(f *testing.F) {
	presets := []string{"tiny-gpt-oss", "tiny-phimoe", "tiny-deepseek-moe", "tiny-deepseek-v2-lite"}
	keys := []string{"block_count", "embedding_length", "feed_forward_length", "expert_feed_forward_length",
		"attention.head_count", "attention.head_count_kv", "attention.key_length", "attention.value_length",
		"expert_count", "expert_used_count", "expert_shared_count", "leading_dense_block_count",
		"rope.dimension_count", "attention.sliding_window", "attention.kv_lora_rank", "context_length"}
	models := make([]*Model, len(presets))
	for i, p := range presets {
		models[i] = synthModel(f, p, "", 0)
	}
	for p := range presets {
		for k := range keys {
			for _, v := range []uint32{0, 1, 3, 1 << 20} {
				f.Add(uint8(p), uint8(k), v, false, uint16(64))
			}
		}
	}
	f.Fuzz(func(t *testing.T, preset, key uint8, v uint32, gguftool bool, vramMiB uint16) {
		src := models[int(preset)%len(models)]
		arch, _ := src.Metadata.String(gguf.KeyArchitecture)
		m := *src
		m.Metadata = src.Metadata.Clone()
		m.Metadata.Set(arch+"."+keys[int(key)%len(keys)], gguf.Uint32(v))
		o := Options{VRAM: int64(vramMiB) << 20, PerExpert: vramMiB%2 == 1, Reserve: 0}
		if gguftool {
			o.Runtime = RuntimeGguftool
		}
		Plan(&m, o)
	})
}
