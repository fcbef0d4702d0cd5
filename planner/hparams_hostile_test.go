package planner

import (
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestReadHParamsRejectsAbsurdValues: counts no model can have used to give
// a plan (a KV cache of 0 bytes with head_count_kv 0, a MoE layer routing
// to more experts than it has). ReadHParams names the key instead.
func TestReadHParamsRejectsAbsurdValues(t *testing.T) {
	for _, tc := range []struct {
		preset, key string
		value       uint32
	}{
		{"tiny-gpt-oss", "gpt-oss.attention.head_count_kv", 0},
		{"tiny-gpt-oss", "gpt-oss.embedding_length", 0},
		{"tiny-gpt-oss", "gpt-oss.attention.key_length", 0},
		{"tiny-gpt-oss", "gpt-oss.expert_used_count", 100},
		{"tiny-gpt-oss", "gpt-oss.expert_used_count", 0},
		{"tiny-phimoe", "phimoe.attention.head_count_kv", 0},
		{"tiny-deepseek-moe", "deepseek.expert_used_count", 1000},
		{"tiny-gpt-oss", "gpt-oss.block_count", 1}, // tensors of layers 1 and 2 beyond it
		{"tiny-deepseek-v2-lite", "deepseek2.block_count", 2},
	} {
		t.Run(tc.key, func(t *testing.T) {
			m := synthModel(t, tc.preset, "", 0)
			md := m.Metadata.Clone()
			md.Set(tc.key, gguf.Uint32(tc.value))
			m.Metadata = md
			_, err := m.ReadHParams()
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("%s = %d: error %v, want one naming the key", tc.key, tc.value, err)
			}
		})
	}
}
