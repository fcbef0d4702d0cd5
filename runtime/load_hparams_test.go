package runtime

import (
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestLoadRejectsAbsurdHyperparameters sets hyperparameters to values no
// model has (zero layers or heads, more experts per token than experts, a
// rope wider than a head) and checks that Load names the key instead of
// panicking later in a forward pass (these used to divide by zero or slice
// past a buffer).
func TestLoadRejectsAbsurdHyperparameters(t *testing.T) {
	for _, tc := range []struct {
		family, key string
		value       uint32
	}{
		{"gpt-oss", "gpt-oss.block_count", 0},
		{"gpt-oss", "gpt-oss.embedding_length", 0},
		{"gpt-oss", "gpt-oss.expert_used_count", 0},
		{"gpt-oss", "gpt-oss.expert_used_count", 100},
		{"gpt-oss", "gpt-oss.expert_count", 0},
		{"phimoe", "phimoe.attention.head_count", 0},
		{"phimoe", "phimoe.block_count", 0},
		{"phimoe", "phimoe.attention.head_count_kv", 3},
		{"deepseek-moe", "deepseek.attention.head_count", 0},
		{"deepseek-moe", "deepseek.expert_used_count", 100},
		{"deepseek-moe", "deepseek.rope.dimension_count", 1000},
		{"deepseek-v2-lite", "deepseek2.expert_used_count", 100},
		{"deepseek-v2-lite", "deepseek2.expert_used_count", 0},
		{"deepseek-v2-lite", "deepseek2.attention.head_count", 0},
	} {
		t.Run(tc.key, func(t *testing.T) {
			f := convertFixture(t, tc.family, "q8_0")
			f.Metadata.Set(tc.key, gguf.Uint32(tc.value))
			m, err := Load(f, Options{})
			if err == nil {
				// Load accepted it: a forward pass must then fail cleanly, not panic.
				_, err = m.NewSession(8).Eval([]int32{1, 2}, false)
				t.Fatalf("%s = %d accepted by Load (eval: %v)", tc.key, tc.value, err)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("error %q does not name %s", err, tc.key)
			}
		})
	}
}
