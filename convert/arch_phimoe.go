package convert

import (
	"fmt"
	"math"
	"strconv"
)

// Phi-3.5-MoE: LayerNorm with biases, biased attention and lm_head,
// LongRoPE factors stored as two tensors, experts w1/w2/w3 stacked as
// gate/down/up. Parameters follow llama.cpp's Phi3MiniModel.

func init() {
	registerArch(&architecture{
		hfName:  "PhiMoEForCausalLM",
		name:    "phimoe",
		tensors: phimoeTensors,
		params:  phimoeParams,
	})
}

type phiShapes struct {
	hidden, nHead, nKV, ff, vocab, nExpert, maxPos, origMaxPos, ropeDims int64
}

func readPhiShapes(m *model) (phiShapes, error) {
	c := m.cfg
	d, err := m.dims([]string{"hidden_size", "n_embd"}, []string{"num_attention_heads", "n_head"},
		[]string{"intermediate_size"}, []string{"vocab_size"}, []string{"num_local_experts"},
		[]string{"n_positions", "max_position_embeddings"})
	if err != nil {
		return phiShapes{}, err
	}
	s := phiShapes{hidden: d[0], nHead: d[1], ff: d[2], vocab: d[3], nExpert: d[4], maxPos: d[5], nKV: d[1]}
	if v, ok, err := c.optInt("num_key_value_heads", "n_head_kv"); err != nil {
		return s, err
	} else if ok {
		s.nKV = v
	}
	if v, ok, err := c.optInt("original_max_position_embeddings"); err != nil {
		return s, err
	} else if ok {
		s.origMaxPos = v
	} else if v, ok := asInt(c.rope()["original_max_position_embeddings"]); ok {
		s.origMaxPos = v
	} else {
		return s, fmt.Errorf("%s: missing \"original_max_position_embeddings\"", c.path)
	}
	rot := 1.0
	if v, ok, err := c.optFloat("partial_rotary_factor"); err != nil {
		return s, err
	} else if ok {
		rot = v
	}
	if s.nHead == 0 {
		return s, c.errf("num_attention_heads", "must not be 0")
	}
	s.ropeDims = int64(rot*float64(s.hidden)) / s.nHead
	return s, nil
}

// phimoeRopeFactors is Phi3MiniModel.generate_extra_tensors: the
// attention factor key and the LongRoPE factor tensors.
func phimoeRopeFactors(m *model, s phiShapes) ([]*PlannedTensor, error) {
	c := m.cfg
	rs, ok := c.get("rope_scaling").(map[string]any)
	if !ok {
		return nil, nil
	}
	scale := float64(s.maxPos) / float64(s.origMaxPos)
	rt, _ := rs["rope_type"].(string)
	if rt == "" {
		rt, _ = rs["type"].(string)
	}
	var attn float64
	switch rt {
	case "su", "longrope":
		attn = 1.0
		if scale > 1 {
			attn = math.Sqrt(1 + math.Log(scale)/math.Log(float64(s.origMaxPos)))
		}
	case "yarn":
		attn = 1.0
		if scale > 1 {
			attn = 0.1*math.Log(scale) + 1
		}
	case "":
		return nil, fmt.Errorf("%s: rope_scaling has no type", c.path)
	default:
		return nil, fmt.Errorf("%s: rope_scaling type %q is not supported (su, longrope, yarn)", c.path, rt)
	}
	m.setF32("rope.scaling.attn_factor", attn)
	long, ok1 := floatList(rs["long_factor"])
	short, ok2 := floatList(rs["short_factor"])
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: rope_scaling needs long_factor and short_factor lists", c.path)
	}
	if len(long) != len(short) || float64(len(long)) != float64(s.ropeDims)/2 {
		return nil, fmt.Errorf("%s: rope long_factor and short_factor must have %d entries each, got %d and %d", c.path, s.ropeDims/2, len(long), len(short))
	}
	var out []*PlannedTensor
	for _, f := range []struct {
		name string
		v    []float64
		key  string
	}{{"rope_factors_long.weight", long, "long_factor"}, {"rope_factors_short.weight", short, "short_factor"}} {
		data := make([]float32, len(f.v))
		for i, x := range f.v {
			data[i] = float32(x)
		}
		p, err := newTensor(f.name, []int64{int64(len(data))}, &constRows{data: data, c: len(data)}, "config.json:rope_scaling."+f.key)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func phimoeTensors(m *model) ([]*PlannedTensor, error) {
	s, err := readPhiShapes(m)
	if err != nil {
		return nil, err
	}
	var set tensorSet
	extra, err := phimoeRopeFactors(m, s)
	if err != nil {
		return nil, err
	}
	if err := set.add(extra...); err != nil {
		return nil, err
	}
	headDim := s.hidden / s.nHead
	st := &expertStacker{
		nExpert: int(s.nExpert),
		kinds:   []string{"w1", "w2", "w3"},
		gguf:    map[string]string{"w1": "ffn_gate_exps", "w2": "ffn_down_exps", "w3": "ffn_up_exps"},
	}
	h := s.hidden
	for _, t := range m.ckpt.Order {
		if isDropped(t.Name) {
			continue
		}
		var out []*PlannedTensor
		var p *PlannedTensor
		switch t.Name {
		case "model.embed_tokens.weight":
			p, err = plain("token_embd.weight", t, s.vocab, h)
		case "lm_head.weight":
			p, err = plain("output.weight", t, s.vocab, h)
		case "lm_head.bias":
			p, err = plain("output.bias", t, s.vocab)
		case "model.norm.weight":
			p, err = plain("output_norm.weight", t, h)
		case "model.norm.bias":
			p, err = plain("output_norm.bias", t, h)
		default:
			layer, rest, ok := splitLayer(t.Name)
			if !ok {
				return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture phimoe", t.Name)
			}
			if mm := expertName.FindStringSubmatch(rest); mm != nil && mm[1] == "block_sparse_moe" {
				e, _ := strconv.Atoi(mm[2])
				want := []int64{s.ff, h}
				if mm[3] == "w2" {
					want = []int64{h, s.ff}
				}
				if err := expectShape(t, want...); err != nil {
					return nil, err
				}
				if out, err = st.add(layer, mm[1], e, mm[3], t); err != nil {
					return nil, err
				}
				break
			}
			p, err = phimoeLayerTensor(t, layer, rest, s, headDim)
		}
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
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

func phimoeLayerTensor(t *Tensor, layer int, rest string, s phiShapes, headDim int64) (*PlannedTensor, error) {
	blk := "blk." + strconv.Itoa(layer) + "."
	base, suf, ok := weightOrBias(rest)
	if !ok {
		return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture phimoe", t.Name)
	}
	h, q, kv := s.hidden, s.nHead*headDim, s.nKV*headDim
	isBias := suf == ".bias"
	shape := func(rows, cols int64) []int64 {
		if isBias {
			return []int64{rows}
		}
		return []int64{rows, cols}
	}
	var name string
	var want []int64
	switch base {
	case "input_layernorm":
		name, want = "attn_norm", []int64{h}
	case "post_attention_layernorm":
		name, want = "ffn_norm", []int64{h}
	case "self_attn.q_proj":
		name, want = "attn_q", shape(q, h)
	case "self_attn.k_proj":
		name, want = "attn_k", shape(kv, h)
	case "self_attn.v_proj":
		name, want = "attn_v", shape(kv, h)
	case "self_attn.o_proj":
		name, want = "attn_output", shape(h, q)
	case "block_sparse_moe.gate":
		if isBias {
			return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture phimoe", t.Name)
		}
		name, want = "ffn_gate_inp", []int64{s.nExpert, h}
	default:
		return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture phimoe", t.Name)
	}
	return plain(blk+name+suf, t, want...)
}

func phimoeParams(m *model) error {
	s, err := readPhiShapes(m)
	if err != nil {
		return err
	}
	c := m.cfg
	nLayer, err := c.reqInt("num_hidden_layers", "n_layer")
	if err != nil {
		return err
	}
	eps, ok, err := c.optFloat("rms_norm_eps")
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: missing \"rms_norm_eps\"", c.path)
	}
	theta, ok := asFloat(c.rope()["rope_theta"])
	if !ok {
		return fmt.Errorf("%s: missing \"rope_theta\"", c.path)
	}
	for _, kv := range []struct {
		key string
		v   int64
	}{
		{"context_length", s.maxPos},
		{"rope.scaling.original_context_length", s.origMaxPos},
		{"embedding_length", s.hidden},
		{"feed_forward_length", s.ff},
		{"block_count", nLayer},
		{"attention.head_count", s.nHead},
		{"attention.head_count_kv", s.nKV},
	} {
		if err := m.setU32(kv.key, kv.v); err != nil {
			return err
		}
	}
	m.setF32("attention.layer_norm_rms_epsilon", eps)
	if err := m.setU32("rope.dimension_count", s.ropeDims); err != nil {
		return err
	}
	m.setF32("rope.freq_base", theta)
	m.setFileType()
	sw, _, err := c.optInt("sliding_window")
	if err != nil {
		return err
	}
	if err := m.setU32("attention.sliding_window", sw); err != nil {
		return err
	}
	used, err := c.reqInt("num_experts_per_tok")
	if err != nil {
		return err
	}
	if err := m.setU32("expert_used_count", used); err != nil {
		return err
	}
	return m.setU32("expert_count", s.nExpert)
}
