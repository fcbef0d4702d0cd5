package convert

import (
	"fmt"
	"strconv"
)

// DeepSeek-V2 / V2-Lite: multi-head latent attention. kv_b_proj is split
// into attn_k_b (transposed per head) and attn_v_b, which is what
// llama.cpp's MLA graph multiplies with; attn_kv_b itself is not written.
// MTP layers (index >= num_hidden_layers) are dropped.

func init() {
	registerArch(&architecture{
		hfName:  "DeepseekV2ForCausalLM",
		name:    "deepseek2",
		tensors: deepseek2Tensors,
		params:  deepseek2Params,
	})
}

type mlaShapes struct {
	nHead, nKV, qLora, kvLora, nope, rope, vHead int64
}

func readMLAShapes(m *model) (mlaShapes, error) {
	d, err := m.dims([]string{"num_attention_heads"}, []string{"qk_nope_head_dim"}, []string{"qk_rope_head_dim"}, []string{"v_head_dim"})
	if err != nil {
		return mlaShapes{}, err
	}
	s := mlaShapes{nHead: d[0], nope: d[1], rope: d[2], vHead: d[3], kvLora: 512, nKV: d[0]}
	if v, ok, err := m.cfg.optInt("kv_lora_rank"); err != nil {
		return s, err
	} else if ok {
		s.kvLora = v
	}
	if v, ok, err := m.cfg.optInt("q_lora_rank"); err != nil {
		return s, err
	} else if ok {
		s.qLora = v
	}
	if v, ok, err := m.cfg.optInt("num_key_value_heads"); err != nil {
		return s, err
	} else if ok {
		s.nKV = v
	}
	return s, nil
}

func deepseek2Tensors(m *model) ([]*PlannedTensor, error) {
	s, err := readDeepseekShapes(m)
	if err != nil {
		return nil, err
	}
	a, err := readMLAShapes(m)
	if err != nil {
		return nil, err
	}
	tied, _ := m.cfg.optBool("tie_word_embeddings")
	st := newDeepseekStacker(s)
	var set tensorSet
	for _, t := range m.ckpt.Order {
		if isDropped(t.Name) {
			continue
		}
		if layer, _, ok := splitLayer(t.Name); ok && int64(layer) >= s.nLayer {
			continue // multi-token-prediction layers
		}
		if tied && t.Name == "lm_head.weight" {
			continue
		}
		out, handled, err := mapDeepseekCommon(m, s, st, t)
		if err != nil {
			return nil, err
		}
		if !handled {
			out, err = mlaAttention(t, s.hidden, a)
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

func mlaAttention(t *Tensor, hidden int64, a mlaShapes) ([]*PlannedTensor, error) {
	layer, rest, ok := splitLayer(t.Name)
	if !ok {
		return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture deepseek2", t.Name)
	}
	blk := func(n string) string { return "blk." + strconv.Itoa(layer) + "." + n }
	qk := a.nope + a.rope
	one := func(p *PlannedTensor, err error) ([]*PlannedTensor, error) {
		if err != nil {
			return nil, err
		}
		return []*PlannedTensor{p}, nil
	}
	switch rest {
	case "self_attn.q_proj.weight":
		return one(plain(blk("attn_q.weight"), t, a.nHead*qk, hidden))
	case "self_attn.q_a_proj.weight":
		return one(plain(blk("attn_q_a.weight"), t, a.qLora, hidden))
	case "self_attn.q_a_layernorm.weight":
		return one(plain(blk("attn_q_a_norm.weight"), t, a.qLora))
	case "self_attn.q_b_proj.weight":
		return one(plain(blk("attn_q_b.weight"), t, a.nHead*qk, a.qLora))
	case "self_attn.kv_a_proj_with_mqa.weight":
		return one(plain(blk("attn_kv_a_mqa.weight"), t, a.kvLora+a.rope, hidden))
	case "self_attn.kv_a_layernorm.weight":
		return one(plain(blk("attn_kv_a_norm.weight"), t, a.kvLora))
	case "self_attn.o_proj.weight":
		return one(plain(blk("attn_output.weight"), t, hidden, a.nHead*a.vHead))
	case "self_attn.kv_b_proj.weight":
		return splitKVB(t, blk, a)
	}
	return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture deepseek2", t.Name)
}

// splitKVB splits kv_b_proj [n_kv·(nope+v), kv_lora] (per head: nope rows
// of K, then v rows of V) into attn_k_b [n_kv, kv_lora, nope] (each head's
// K block transposed) and attn_v_b [n_kv, v, kv_lora].
func splitKVB(t *Tensor, blk func(string) string, a mlaShapes) ([]*PlannedTensor, error) {
	per := a.nope + a.vHead
	if err := expectShape(t, a.nKV*per, a.kvLora); err != nil {
		return nil, err
	}
	rank := a.kvLora
	k := &mappedRows{t: t, nrows: int(a.nKV * rank), ncols: int(a.nope), stride: rank,
		base: func(r int) int64 {
			h, c := int64(r)/rank, int64(r)%rank
			return h*per*rank + c
		}}
	v := &mappedRows{t: t, nrows: int(a.nKV * a.vHead), ncols: int(rank), stride: 1,
		base: func(r int) int64 {
			h, j := int64(r)/a.vHead, int64(r)%a.vHead
			return (h*per + a.nope + j) * rank
		}}
	kb, err := newTensor(blk("attn_k_b.weight"), []int64{a.nKV, rank, a.nope}, k, t.Name)
	if err != nil {
		return nil, err
	}
	vb, err := newTensor(blk("attn_v_b.weight"), []int64{a.nKV, a.vHead, rank}, v, t.Name)
	if err != nil {
		return nil, err
	}
	return []*PlannedTensor{kb, vb}, nil
}

func deepseek2Params(m *model) error {
	a, err := readMLAShapes(m)
	if err != nil {
		return err
	}
	// llama.cpp stores MLA as multi-query attention over the compressed KV,
	// and transformers' normalized config exposes head_dim = qk_rope_head_dim,
	// which puts key_length/value_length before general.file_type.
	cfg := *m.cfg
	cfg.m = map[string]any{}
	for k, v := range m.cfg.m {
		cfg.m[k] = v
	}
	cfg.m["num_key_value_heads"] = int64(1)
	if _, ok := cfg.m["head_dim"]; !ok {
		cfg.m["head_dim"] = a.rope
	}
	if !cfg.has("rms_norm_eps") {
		cfg.m["rms_norm_eps"] = 1e-6
	}
	orig := m.cfg
	m.cfg = &cfg
	defer func() { m.cfg = orig }()
	if err := baseParams(m); err != nil {
		return err
	}
	c := m.cfg
	for _, it := range []struct{ key, src string }{
		{"leading_dense_block_count", "first_k_dense_replace"},
		{"vocab_size", "vocab_size"},
	} {
		v, err := c.reqInt(it.src)
		if err != nil {
			return err
		}
		if err := m.setU32(it.key, v); err != nil {
			return err
		}
	}
	if c.has("q_lora_rank") {
		if err := m.setU32("attention.q_lora_rank", a.qLora); err != nil {
			return err
		}
	}
	for _, kv := range []struct {
		key string
		v   int64
	}{
		{"attention.kv_lora_rank", a.kvLora},
		{"attention.key_length", a.kvLora + a.rope},
		{"attention.value_length", a.kvLora},
		{"attention.key_length_mla", a.nope + a.rope},
		{"attention.value_length_mla", a.vHead},
	} {
		if err := m.setU32(kv.key, kv.v); err != nil {
			return err
		}
	}
	v, err := c.reqInt("moe_intermediate_size")
	if err != nil {
		return err
	}
	if err := m.setU32("expert_feed_forward_length", v); err != nil {
		return err
	}
	if v, err = c.reqInt("n_routed_experts"); err != nil {
		return err
	}
	if err := m.setU32("expert_count", v); err != nil {
		return err
	}
	shared, _, err := c.optInt("n_shared_experts")
	if err != nil {
		return err
	}
	if err := m.setU32("expert_shared_count", shared); err != nil {
		return err
	}
	if f, ok, err := c.optFloat("routed_scaling_factor"); err != nil {
		return err
	} else if ok {
		m.setF32("expert_weights_scale", f)
	}
	if b, _ := c.optBool("norm_topk_prob"); b {
		m.md.Set(m.key("expert_weights_norm"), boolValue(true))
	}
	if err := m.setU32("rope.dimension_count", a.rope); err != nil {
		return err
	}
	rope := c.rope()
	if rt, _ := rope["rope_type"].(string); rt == "yarn" {
		if ms, ok := asFloat(rope["mscale_all_dim"]); ok {
			m.setF32("rope.scaling.yarn_log_multiplier", 0.1*ms)
		}
	}
	return nil
}
