package convert

import (
	"path/filepath"
	"testing"
)

// TestConvertRejectsInconsistentGeometry: a config.json whose layer or
// expert counts disagree with the checkpoint used to convert "successfully"
// into a GGUF no loader accepts (block_count 0 with three layers of tensors,
// block_count 100 with three, expert_used_count 0 or above expert_count).
func TestConvertRejectsInconsistentGeometry(t *testing.T) {
	for _, tc := range []struct {
		family, key string
		value       any
		want        []string
	}{
		{"gpt-oss", "num_hidden_layers", 0, []string{"num_hidden_layers", "at least 1"}},
		{"gpt-oss", "num_hidden_layers", 100, []string{"block_count is 100", "no tensors for layer 3"}},
		{"phimoe", "num_hidden_layers", 1, []string{"blk.1.", "block_count is 1"}},
		{"deepseek-moe", "num_hidden_layers", 5, []string{"block_count is 5", "no tensors for layer"}},
		{"gpt-oss", "num_experts_per_tok", 0, []string{"gpt-oss.expert_used_count is 0"}},
		{"gpt-oss", "num_experts_per_tok", 99, []string{"gpt-oss.expert_used_count is 99", "expert_count"}},
		{"phimoe", "num_experts_per_tok", 99, []string{"phimoe.expert_used_count is 99"}},
		{"deepseek-v2-lite", "first_k_dense_replace", 100, []string{"leading_dense_block_count is 100"}},
		{"deepseek-moe", "first_k_dense_replace", 0, []string{"layer 0 has a dense FFN", "leading_dense_block_count is 0"}},
		{"deepseek-v2-lite", "first_k_dense_replace", 2, []string{"layer 1 has routed experts", "leading_dense_block_count is 2"}},
		{"gpt-oss", "num_experts_per_tok", nil, []string{`"num_experts_per_tok" is missing or null`}},
		{"deepseek-moe", "num_experts_per_tok", nil, []string{`"num_experts_per_tok" is missing or null`}},
		{"gpt-oss", "rms_norm_eps", nil, []string{`"rms_norm_eps" is missing or null`}},
		{"deepseek-moe", "rms_norm_eps", nil, []string{`"rms_norm_eps" is missing or null`}},
		{"gpt-oss", "rope_scaling", "yarn", []string{`"rope_scaling" must be an object`}},
		{"gpt-oss", "rope_scaling", map[string]any{"rope_type": "yarn", "factor": "x"}, []string{`"rope_scaling" factor must be a number`}},
	} {
		t.Run(tc.family+"/"+tc.key, func(t *testing.T) {
			dir := copyFixtureDir(t, tc.family)
			editJSON(t, filepath.Join(dir, "config.json"), func(m map[string]any) { m[tc.key] = tc.value })
			wantErr(t, planErr(t, dir), tc.want...)
		})
	}
}

// TestConvertNegativeNamesTheKeyFound: the error for a negative count names
// the key config.json actually has, not the first alias looked for.
func TestConvertNegativeNamesTheKeyFound(t *testing.T) {
	dir := copyFixtureDir(t, "gpt-oss")
	editJSON(t, filepath.Join(dir, "config.json"), func(m map[string]any) { m["num_hidden_layers"] = -1 })
	wantErr(t, planErr(t, dir), `"num_hidden_layers" must not be negative`)
}
