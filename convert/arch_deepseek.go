package convert

import (
	"fmt"
	"strconv"

	"github.com/gguftool/gguftool/gguf"
)

// DeepSeek-MoE v1 (deepseek-moe-16b): llama-style attention with the Q/K
// permutation, a leading dense layer, routed experts stacked in the order
// down, gate, up, and shared experts. config.json is read raw (transformers
// has no built-in "deepseek" config).

func init() {
	registerArch(&architecture{
		hfName:  "DeepseekForCausalLM",
		name:    "deepseek",
		tensors: deepseekTensors,
		params:  deepseekParams,
	})
}

// deepseekShapes are the hparams the deepseek tensor maps check against.
type deepseekShapes struct {
	hidden, vocab, nLayer, ff, moeFF, nExpert, nShared int64
}

func readDeepseekShapes(m *model) (deepseekShapes, error) {
	d, err := m.dims(
		[]string{"hidden_size"}, []string{"vocab_size"}, []string{"num_hidden_layers"},
		[]string{"intermediate_size"}, []string{"moe_intermediate_size"}, []string{"n_routed_experts"})
	if err != nil {
		return deepseekShapes{}, err
	}
	shared, _, err := m.cfg.optInt("n_shared_experts")
	if err != nil {
		return deepseekShapes{}, err
	}
	return deepseekShapes{hidden: d[0], vocab: d[1], nLayer: d[2], ff: d[3], moeFF: d[4], nExpert: d[5], nShared: shared}, nil
}

// mapDeepseekCommon maps the tensors deepseek and deepseek2 share
// (embeddings, norms, dense and expert MLPs). It returns handled=false for
// the attention tensors, which differ.
func mapDeepseekCommon(m *model, s deepseekShapes, st *expertStacker, t *Tensor) (out []*PlannedTensor, handled bool, err error) {
	h := s.hidden
	switch t.Name {
	case "model.embed_tokens.weight":
		p, err := plain("token_embd.weight", t, s.vocab, h)
		return []*PlannedTensor{p}, true, err
	case "lm_head.weight":
		p, err := plain("output.weight", t, s.vocab, h)
		return []*PlannedTensor{p}, true, err
	case "model.norm.weight":
		p, err := plain("output_norm.weight", t, h)
		return []*PlannedTensor{p}, true, err
	}
	layer, rest, ok := splitLayer(t.Name)
	if !ok {
		return nil, false, nil
	}
	blk := func(n string) string { return "blk." + strconv.Itoa(layer) + "." + n }
	one := func(p *PlannedTensor, err error) ([]*PlannedTensor, bool, error) {
		if err != nil {
			return nil, true, err
		}
		return []*PlannedTensor{p}, true, nil
	}
	sh := s.nShared * s.moeFF
	switch rest {
	case "input_layernorm.weight":
		return one(plain(blk("attn_norm.weight"), t, h))
	case "post_attention_layernorm.weight":
		return one(plain(blk("ffn_norm.weight"), t, h))
	case "mlp.gate_proj.weight":
		return one(plain(blk("ffn_gate.weight"), t, s.ff, h))
	case "mlp.up_proj.weight":
		return one(plain(blk("ffn_up.weight"), t, s.ff, h))
	case "mlp.down_proj.weight":
		return one(plain(blk("ffn_down.weight"), t, h, s.ff))
	case "mlp.gate.weight":
		return one(plain(blk("ffn_gate_inp.weight"), t, s.nExpert, h))
	case "mlp.gate.e_score_correction_bias":
		return one(plain(blk("exp_probs_b.bias"), t, s.nExpert))
	case "mlp.shared_experts.gate_proj.weight":
		return one(plain(blk("ffn_gate_shexp.weight"), t, sh, h))
	case "mlp.shared_experts.up_proj.weight":
		return one(plain(blk("ffn_up_shexp.weight"), t, sh, h))
	case "mlp.shared_experts.down_proj.weight":
		return one(plain(blk("ffn_down_shexp.weight"), t, h, sh))
	}
	if mm := expertName.FindStringSubmatch(rest); mm != nil && mm[1] == "mlp" {
		e, _ := strconv.Atoi(mm[2])
		want := []int64{s.moeFF, h}
		if mm[3] == "down_proj" {
			want = []int64{h, s.moeFF}
		}
		if err := expectShape(t, want...); err != nil {
			return nil, true, err
		}
		ps, err := st.add(layer, mm[1], e, mm[3], t)
		return ps, true, err
	}
	return nil, false, nil
}

func newDeepseekStacker(s deepseekShapes) *expertStacker {
	return &expertStacker{
		nExpert: int(s.nExpert),
		kinds:   []string{"down_proj", "gate_proj", "up_proj"},
		gguf:    map[string]string{"down_proj": "ffn_down_exps", "gate_proj": "ffn_gate_exps", "up_proj": "ffn_up_exps"},
	}
}

// isDropped reports tensors llama.cpp's converter skips for every arch.
func isDropped(name string) bool {
	_, suf, ok := trimSuffixAny(name, ".attention.masked_bias", ".attention.bias", ".rotary_emb.inv_freq")
	return ok && suf != ""
}

func deepseekTensors(m *model) ([]*PlannedTensor, error) {
	s, err := readDeepseekShapes(m)
	if err != nil {
		return nil, err
	}
	d, err := m.dims([]string{"num_attention_heads"})
	if err != nil {
		return nil, err
	}
	nHead := d[0]
	nKV := nHead
	if v, ok, err := m.cfg.optInt("num_key_value_heads"); err != nil {
		return nil, err
	} else if ok {
		nKV = v
	}
	headDim := s.hidden / max(nHead, 1)
	if v, ok, _ := m.cfg.optInt("head_dim"); ok {
		headDim = v
	}
	st := newDeepseekStacker(s)
	var set tensorSet
	for _, t := range m.ckpt.Order {
		if isDropped(t.Name) {
			continue
		}
		out, handled, err := mapDeepseekCommon(m, s, st, t)
		if err != nil {
			return nil, err
		}
		if !handled {
			out, err = deepseekAttention(t, s.hidden, nHead, nKV, headDim)
			if err != nil {
				return nil, err
			}
		}
		if err := set.add(out...); err != nil {
			return nil, err
		}
	}
	if err := st.incomplete(); err != nil {
		return nil, err
	}
	return set.list, nil
}

func deepseekAttention(t *Tensor, hidden, nHead, nKV, headDim int64) ([]*PlannedTensor, error) {
	layer, rest, ok := splitLayer(t.Name)
	if !ok {
		return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture deepseek", t.Name)
	}
	blk := func(n string) string { return "blk." + strconv.Itoa(layer) + "." + n }
	var p *PlannedTensor
	var err error
	switch rest {
	case "self_attn.q_proj.weight":
		if err = expectShape(t, nHead*headDim, hidden); err == nil {
			p, err = permutedQK(blk("attn_q.weight"), t, nHead)
		}
	case "self_attn.k_proj.weight":
		if err = expectShape(t, nKV*headDim, hidden); err == nil {
			p, err = permutedQK(blk("attn_k.weight"), t, nKV)
		}
	case "self_attn.v_proj.weight":
		p, err = plain(blk("attn_v.weight"), t, nKV*headDim, hidden)
	case "self_attn.o_proj.weight":
		p, err = plain(blk("attn_output.weight"), t, hidden, nHead*headDim)
	default:
		return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture deepseek", t.Name)
	}
	if err != nil {
		return nil, err
	}
	return []*PlannedTensor{p}, nil
}

func deepseekParams(m *model) error {
	if err := baseParams(m); err != nil {
		return err
	}
	c := m.cfg
	d, err := m.dims([]string{"hidden_size"}, []string{"num_attention_heads"})
	if err != nil {
		return err
	}
	rot := d[0] / max(d[1], 1)
	if v, ok, _ := c.optInt("head_dim"); ok {
		rot = v
	}
	if err := m.setU32("rope.dimension_count", rot); err != nil {
		return err
	}
	m.md.Set(m.key("rope.scaling.type"), gguf.String("none"))
	for _, it := range []struct{ key, src string }{
		{"leading_dense_block_count", "first_k_dense_replace"},
		{"vocab_size", "vocab_size"},
		{"expert_feed_forward_length", "moe_intermediate_size"},
	} {
		v, err := c.reqInt(it.src)
		if err != nil {
			return err
		}
		if err := m.setU32(it.key, v); err != nil {
			return err
		}
	}
	m.setF32("expert_weights_scale", 1.0)
	if v, err := c.reqInt("n_routed_experts"); err != nil {
		return err
	} else if err := m.setU32("expert_count", v); err != nil {
		return err
	}
	v, err := c.reqInt("n_shared_experts")
	if err != nil {
		return err
	}
	return m.setU32("expert_shared_count", v)
}
