package convert

import (
	"fmt"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// checkGeometry refuses a config.json whose counts disagree with the
// checkpoint's tensors. llama.cpp's loader rejects such a GGUF (missing or
// unexpected blk.N tensors, n_expert_used outside [1, n_expert]), so writing
// it would only move the error to the user's next tool.
func checkGeometry(m *model, tensors []*PlannedTensor) error {
	c := m.cfg
	bc, err := m.md.Int(m.key("block_count"))
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	if bc < 1 {
		k, _, _ := c.find("n_layers", "num_hidden_layers", "n_layer", "num_layers")
		return fmt.Errorf("%s: %q is %d (%s), expected at least 1 layer", c.path, k, bc, m.key("block_count"))
	}
	seen := make([]bool, bc)
	for _, t := range tensors {
		l := gguf.LayerOf(t.Name)
		if l < 0 {
			continue
		}
		if int64(l) >= bc {
			return fmt.Errorf("%s: the checkpoint has tensor %s (from %v) but %s is %d (config.json's layer count)", c.path, t.Name, t.Sources, m.key("block_count"), bc)
		}
		seen[l] = true
	}
	for l, ok := range seen {
		if !ok {
			return fmt.Errorf("%s: %s is %d (config.json's layer count) but the checkpoint has no tensors for layer %d", c.path, m.key("block_count"), bc, l)
		}
	}
	if dense, err := m.md.Int(m.key("leading_dense_block_count")); err == nil {
		if dense > bc {
			return fmt.Errorf("%s: %s is %d, more than the %d layers (first_k_dense_replace?)", c.path, m.key("leading_dense_block_count"), dense, bc)
		}
		// The loaders expect a router in exactly the layers from the
		// leading_dense_block_count on.
		routed := make([]bool, bc)
		for _, t := range tensors {
			if l := gguf.LayerOf(t.Name); l >= 0 && strings.HasSuffix(t.Name, ".ffn_gate_inp.weight") {
				routed[l] = true
			}
		}
		for l, r := range routed {
			if r != (int64(l) >= dense) {
				kind := "a dense FFN"
				if r {
					kind = "routed experts"
				}
				return fmt.Errorf("%s: layer %d has %s, but %s is %d (first_k_dense_replace)", c.path, l, kind, m.key("leading_dense_block_count"), dense)
			}
		}
	}
	// Every architecture gguftool converts normalizes with RMSNorm; llama.cpp
	// loads none of them without the epsilon.
	if !m.md.Has(m.key("attention.layer_norm_rms_epsilon")) {
		return fmt.Errorf("%s: \"rms_norm_eps\" is missing or null; %s needs it", c.path, m.key("attention.layer_norm_rms_epsilon"))
	}
	// A rope_scaling that is not an object, or whose factor is not a number,
	// would silently convert as unscaled rope: a model that is wrong past
	// its original context.
	for _, key := range []string{"rope_scaling", "rope_parameters"} {
		v := c.get(key)
		if v == nil {
			continue
		}
		rs, ok := v.(map[string]any)
		if !ok {
			return c.errf(key, "must be an object, got %v", v)
		}
		if f, ok := rs["factor"]; ok && f != nil {
			if _, ok := asFloat(f); !ok {
				return c.errf(key, "factor must be a number, got %v", f)
			}
		}
	}
	if !m.md.Has(m.key("expert_used_count")) {
		if m.md.Has(m.key("expert_count")) {
			// llama.cpp refuses a MoE model without n_expert_used.
			return fmt.Errorf("%s: \"num_experts_per_tok\" is missing or null; a MoE model needs %s", c.path, m.key("expert_used_count"))
		}
		return nil
	}
	used, err := m.md.Int(m.key("expert_used_count"))
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	nExp, err := m.md.Int(m.key("expert_count"))
	if err != nil {
		return fmt.Errorf("%s: %w", c.path, err)
	}
	if used < 1 || used > nExp {
		return fmt.Errorf("%s: %s is %d, expected 1 to %s (%d)", c.path, m.key("expert_used_count"), used, m.key("expert_count"), nExp)
	}
	return nil
}
