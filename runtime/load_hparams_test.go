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
		{"gpt-oss", "gpt-oss.block_count", 1}, // layers 1 and 2 would be ignored
		{"deepseek-moe", "deepseek.block_count", 2},
		{"gpt-oss", "gpt-oss.block_count", 4294967295},        // used to loop over 4 billion layers
		{"phimoe", "phimoe.rope.dimension_count", 4294967295}, // used to size rope tables by it
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

// TestLoadScalarTensor: GGUF allows a tensor with n_dims = 0 (a scalar,
// ne = [1 1 1 1]); an extra one in a model used to panic with index out of
// range while binding tensors. It is bound as a 1×1 matrix and ignored.
func TestLoadScalarTensor(t *testing.T) {
	f := convertFixture(t, "gpt-oss", "q8_0")
	info := f.Tensors[len(f.Tensors)-1] // any F32 vector: its first 4 bytes serve as the scalar
	for i := range f.Tensors {
		if f.Tensors[i].Type == gguf.TypeF32 {
			info = f.Tensors[i]
			break
		}
	}
	info.Name, info.Dims = "blk.0.extra_scalar", []uint64{}
	f.Tensors = append(f.Tensors, info)
	if _, err := Load(f, Options{}); err != nil {
		t.Fatalf("a model with an extra scalar tensor: %v", err)
	}
}
