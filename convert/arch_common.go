package convert

import (
	"fmt"

	"github.com/gguftool/gguftool/gguf"
)

// baseParams writes the keys of llama.cpp's TextModel.set_gguf_parameters
// (shared by gpt-oss, deepseek and deepseek2), general.file_type last.
func baseParams(m *model) error {
	c := m.cfg
	n, err := c.reqInt("n_layers", "num_hidden_layers", "n_layer", "num_layers")
	if err != nil {
		return err
	}
	if err := m.setU32("block_count", n); err != nil {
		return err
	}
	for _, it := range []struct {
		key   string
		alias []string
	}{
		{"context_length", []string{"max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length", "model_max_length"}},
		{"embedding_length", []string{"hidden_size", "n_embd", "dim"}},
		{"feed_forward_length", []string{"prefix_dense_intermediate_size", "dense_intermediate_size", "intermediate_size", "n_inner", "hidden_dim"}},
		{"attention.head_count", []string{"num_attention_heads", "n_head", "n_heads"}},
		{"attention.head_count_kv", []string{"num_key_value_heads", "n_kv_heads"}},
	} {
		v, ok, err := c.optInt(it.alias...)
		if err != nil {
			return err
		}
		if ok {
			if err := m.setU32(it.key, v); err != nil {
				return err
			}
		}
	}
	rope := c.rope()
	if rt, _ := rope["rope_type"].(string); rt != "" {
		factor, hasFactor := asFloat(rope["factor"])
		switch {
		case rt == "linear" && hasFactor:
			m.md.Set(m.key("rope.scaling.type"), gguf.String("linear"))
			m.setF32("rope.scaling.factor", factor)
		case rt == "yarn" && hasFactor:
			m.md.Set(m.key("rope.scaling.type"), gguf.String("yarn"))
			m.setF32("rope.scaling.factor", factor)
			orig, ok := asInt(rope["original_max_position_embeddings"])
			if !ok {
				return fmt.Errorf("%s: yarn rope scaling needs original_max_position_embeddings", c.path)
			}
			if err := m.setU32("rope.scaling.original_context_length", orig); err != nil {
				return err
			}
			if v, ok := asFloat(rope["extrapolation_factor"]); ok {
				m.setF32("rope.scaling.yarn_ext_factor", v)
			}
			attn, ok := asFloat(rope["attention_factor"])
			if !ok {
				attn, ok = asFloat(rope["attn_factor"])
			}
			if ok {
				m.setF32("rope.scaling.yarn_attn_factor", attn)
			}
			if v, ok := asFloat(rope["beta_fast"]); ok {
				m.setF32("rope.scaling.yarn_beta_fast", v)
			}
			if v, ok := asFloat(rope["beta_slow"]); ok {
				m.setF32("rope.scaling.yarn_beta_slow", v)
			}
		case rt == "su" || rt == "longrope":
			m.md.Set(m.key("rope.scaling.type"), gguf.String("longrope"))
		}
	}
	if v, ok := asFloat(rope["rope_theta"]); ok {
		m.setF32("rope.freq_base", v)
	}
	if v, ok, err := c.optFloat("rms_norm_eps", "norm_eps"); err != nil {
		return err
	} else if ok {
		m.setF32("attention.layer_norm_rms_epsilon", v)
	}
	if v, ok, err := c.optFloat("layer_norm_eps", "layer_norm_epsilon", "norm_epsilon"); err != nil {
		return err
	} else if ok {
		m.setF32("attention.layer_norm_epsilon", v)
	}
	for _, it := range []struct {
		key   string
		alias []string
	}{
		{"expert_count", []string{"num_local_experts", "num_experts", "n_routed_experts"}},
		{"expert_used_count", []string{"num_experts_per_tok", "num_experts_per_token", "top_k_experts"}},
		{"expert_group_count", []string{"n_group"}},
		{"expert_group_used_count", []string{"topk_group"}},
	} {
		v, ok, err := c.optInt(it.alias...)
		if err != nil {
			return err
		}
		if ok {
			if err := m.setU32(it.key, v); err != nil {
				return err
			}
		}
	}
	if k, v, ok := c.find("score_function", "scoring_func", "score_func", "moe_router_activation", "moe_router_activation_func"); ok && v != nil {
		s, _ := v.(string)
		var g uint32
		switch s {
		case "softmax":
			g = 1
		case "sigmoid":
			g = 2
		case "sqrtsoftplus":
			g = 4
		default:
			return c.errf(k, "= %v is not a supported expert gating function (softmax, sigmoid, sqrtsoftplus)", v)
		}
		m.md.Set(m.key("expert_gating_func"), gguf.Uint32(g))
	}
	if hd, ok, err := c.optInt("head_dim"); err != nil {
		return err
	} else if ok {
		if err := m.setU32("attention.key_length", hd); err != nil {
			return err
		}
		if err := m.setU32("attention.value_length", hd); err != nil {
			return err
		}
	}
	m.setFileType()
	return nil
}

// dims reads the integer hparams a tensor map needs, with a clear error
// for a missing one.
func (m *model) dims(keys ...[]string) ([]int64, error) {
	out := make([]int64, len(keys))
	for i, alias := range keys {
		v, err := m.cfg.reqInt(alias...)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// plain plans a tensor read as is, after checking its shape.
func plain(name string, t *Tensor, shape ...int64) (*PlannedTensor, error) {
	if shape != nil {
		if err := expectShape(t, shape...); err != nil {
			return nil, err
		}
	}
	return newTensor(name, t.Shape, plainRows(t), t.Name)
}

// weightOrBias splits "x.weight"/"x.bias".
func weightOrBias(rest string) (string, string, bool) {
	base, suf, ok := trimSuffixAny(rest, ".weight", ".bias")
	return base, suf, ok
}

// permutedQK plans a q/k projection with llama.cpp's permute: rows of each
// head reordered from HF's rotate-half layout to adjacent pairs. Output
// row h*d + 2i + t comes from input row h*d + t*d/2 + i.
func permutedQK(name string, t *Tensor, nHead int64) (*PlannedTensor, error) {
	src := plainRows(t)
	rows := int64(src.rows())
	if nHead <= 0 || rows%nHead != 0 || (rows/nHead)%2 != 0 {
		return nil, fmt.Errorf("tensor %s: %d rows cannot be split into %d heads of even size", t.Name, rows, nHead)
	}
	d := rows / nHead
	cols := int64(src.cols())
	src.base = func(r int) int64 {
		h, rem := int64(r)/d, int64(r)%d
		i, par := rem/2, rem%2
		return (h*d + par*(d/2) + i) * cols
	}
	return newTensor(name, t.Shape, src, t.Name)
}

func boolValue(b bool) gguf.Value { return gguf.Bool(b) }
