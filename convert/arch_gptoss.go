package convert

import (
	"fmt"
	"strconv"
	"strings"
)

// GPT-OSS: experts are released in MXFP4 (blocks + E8M0 scales, gate and
// up interleaved by row) and copied into ggml's MXFP4 blocks without
// re-quantizing; a dense BF16/F32 checkpoint (transformers'
// save_pretrained) stores gate_up_proj [E, H, 2I] and down_proj [E, I, H],
// which are transposed and de-interleaved and written in the outtype.

func init() {
	registerArch(&architecture{
		hfName:  "GptOssForCausalLM",
		name:    "gpt-oss",
		tensors: gptossTensors,
		params:  gptossParams,
	})
}

type gptossShapes struct {
	hidden, ff, nHead, nKV, headDim, vocab, nExpert int64
}

func readGptossShapes(m *model) (gptossShapes, error) {
	d, err := m.dims([]string{"hidden_size"}, []string{"intermediate_size"}, []string{"num_attention_heads"},
		[]string{"num_key_value_heads"}, []string{"head_dim"}, []string{"vocab_size"},
		[]string{"num_local_experts", "num_experts"})
	if err != nil {
		return gptossShapes{}, err
	}
	return gptossShapes{hidden: d[0], ff: d[1], nHead: d[2], nKV: d[3], headDim: d[4], vocab: d[5], nExpert: d[6]}, nil
}

// mxfp4Expert plans one repacked MXFP4 expert tensor. rows is the number
// of output rows per expert, srcRows the source's, and pick maps an output
// row of an expert to its source row (de-interleaving gate/up).
func mxfp4Expert(name string, blocks, scales *Tensor, E, srcRows, rows, in int64, pick func(j int64) int64) (*PlannedTensor, error) {
	if in%32 != 0 {
		return nil, fmt.Errorf("tensor %s: row length %d is not a multiple of 32", blocks.Name, in)
	}
	g := in / 32
	if err := expectShape(blocks, E, srcRows, g, 16); err != nil {
		return nil, err
	}
	if err := expectShape(scales, E, srcRows, g); err != nil {
		return nil, err
	}
	if blocks.DType != U8 || scales.DType != U8 {
		return nil, fmt.Errorf("MXFP4 tensors %s (%s) and %s (%s) must be U8", blocks.Name, blocks.DType, scales.Name, scales.DType)
	}
	src := &mxfp4Rows{blocks: blocks, scales: scales, n: int(E * rows), groups: int(g),
		srcRow: func(r int) int {
			e, j := int64(r)/rows, int64(r)%rows
			return int(e*srcRows + pick(j))
		}}
	return &PlannedTensor{Name: name, Type: 39 /* MXFP4 */, Dims: []uint64{uint64(in), uint64(rows), uint64(E)},
		Sources: []string{blocks.Name, scales.Name}, raw: src}, nil
}

func gptossTensors(m *model) ([]*PlannedTensor, error) {
	s, err := readGptossShapes(m)
	if err != nil {
		return nil, err
	}
	var set tensorSet
	h, E, I := s.hidden, s.nExpert, s.ff
	// generate_extra_tensors: the MXFP4 experts come first, in iteration
	// order of their *_scales tensors.
	for _, t := range m.ckpt.Order {
		layer, rest, ok := splitLayer(t.Name)
		if !ok {
			continue
		}
		blk := "blk." + strconv.Itoa(layer) + "."
		var ps []*PlannedTensor
		switch rest {
		case "mlp.experts.down_proj_scales":
			b, err := m.tensor(strings.TrimSuffix(t.Name, "_scales") + "_blocks")
			if err != nil {
				return nil, err
			}
			p, err := mxfp4Expert(blk+"ffn_down_exps.weight", b, t, E, h, h, I, func(j int64) int64 { return j })
			if err != nil {
				return nil, err
			}
			ps = append(ps, p)
		case "mlp.experts.gate_up_proj_scales":
			b, err := m.tensor(strings.TrimSuffix(t.Name, "_scales") + "_blocks")
			if err != nil {
				return nil, err
			}
			for i, n := range []string{"ffn_gate_exps.weight", "ffn_up_exps.weight"} {
				par := int64(i)
				p, err := mxfp4Expert(blk+n, b, t, E, 2*I, I, h, func(j int64) int64 { return 2*j + par })
				if err != nil {
					return nil, err
				}
				ps = append(ps, p)
			}
		}
		if err := set.add(ps...); err != nil {
			return nil, err
		}
	}
	for _, t := range m.ckpt.Order {
		if isDropped(t.Name) {
			continue
		}
		out, err := gptossTensor(m, s, t)
		if err != nil {
			return nil, err
		}
		if err := set.add(out...); err != nil {
			return nil, err
		}
	}
	return set.list, nil
}

func gptossTensor(m *model, s gptossShapes, t *Tensor) ([]*PlannedTensor, error) {
	h, E, I := s.hidden, s.nExpert, s.ff
	one := func(p *PlannedTensor, err error) ([]*PlannedTensor, error) {
		if err != nil {
			return nil, err
		}
		return []*PlannedTensor{p}, nil
	}
	switch t.Name {
	case "model.embed_tokens.weight":
		return one(plain("token_embd.weight", t, s.vocab, h))
	case "lm_head.weight":
		return one(plain("output.weight", t, s.vocab, h))
	case "model.norm.weight":
		return one(plain("output_norm.weight", t, h))
	}
	layer, rest, ok := splitLayer(t.Name)
	if !ok {
		return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture gpt-oss", t.Name)
	}
	blk := "blk." + strconv.Itoa(layer) + "."
	q, kv := s.nHead*s.headDim, s.nKV*s.headDim
	switch rest {
	case "mlp.experts.down_proj_blocks", "mlp.experts.down_proj_scales",
		"mlp.experts.gate_up_proj_blocks", "mlp.experts.gate_up_proj_scales":
		return nil, nil // written by the MXFP4 pass
	case "input_layernorm.weight":
		return one(plain(blk+"attn_norm.weight", t, h))
	case "post_attention_layernorm.weight":
		return one(plain(blk+"post_attention_norm.weight", t, h))
	case "self_attn.sinks":
		return one(plain(blk+"attn_sinks.weight", t, s.nHead))
	case "mlp.router.weight":
		return one(plain(blk+"ffn_gate_inp.weight", t, E, h))
	case "mlp.router.bias":
		return one(plain(blk+"ffn_gate_inp.bias", t, E))
	case "mlp.experts.down_proj_bias":
		return one(plain(blk+"ffn_down_exps.bias", t, E, h))
	case "mlp.experts.gate_up_proj_bias":
		if err := expectShape(t, E, 2*I); err != nil {
			return nil, err
		}
		var out []*PlannedTensor
		for i, n := range []string{"ffn_gate_exps.bias", "ffn_up_exps.bias"} {
			par := int64(i)
			src := &mappedRows{t: t, nrows: int(E), ncols: int(I), stride: 2,
				base: func(r int) int64 { return int64(r)*2*I + par }}
			p, err := newTensor(blk+n, []int64{E, I}, src, t.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	case "mlp.experts.gate_up_proj":
		// Dense layout [E, H, 2I]: transpose to [E, 2I, H], rows 0::2 are
		// gate, 1::2 up.
		if err := expectShape(t, E, h, 2*I); err != nil {
			return nil, err
		}
		var out []*PlannedTensor
		for i, n := range []string{"ffn_gate_exps.weight", "ffn_up_exps.weight"} {
			par := int64(i)
			src := &mappedRows{t: t, nrows: int(E * I), ncols: int(h), stride: 2 * I,
				base: func(r int) int64 {
					e, j := int64(r)/I, int64(r)%I
					return e*h*2*I + 2*j + par
				}}
			p, err := newTensor(blk+n, []int64{E, I, h}, src, t.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
		return out, nil
	case "mlp.experts.down_proj":
		// Dense layout [E, I, H]: transpose to [E, H, I].
		if err := expectShape(t, E, I, h); err != nil {
			return nil, err
		}
		src := &mappedRows{t: t, nrows: int(E * h), ncols: int(I), stride: h,
			base: func(r int) int64 {
				e, j := int64(r)/h, int64(r)%h
				return e*I*h + j
			}}
		return one(newTensor(blk+"ffn_down_exps.weight", []int64{E, h, I}, src, t.Name))
	}
	base, suf, ok := weightOrBias(rest)
	if ok {
		isBias := suf == ".bias"
		shape := func(rows, cols int64) []int64 {
			if isBias {
				return []int64{rows}
			}
			return []int64{rows, cols}
		}
		switch base {
		case "self_attn.q_proj":
			return one(plain(blk+"attn_q"+suf, t, shape(q, h)...))
		case "self_attn.k_proj":
			return one(plain(blk+"attn_k"+suf, t, shape(kv, h)...))
		case "self_attn.v_proj":
			return one(plain(blk+"attn_v"+suf, t, shape(kv, h)...))
		case "self_attn.o_proj":
			return one(plain(blk+"attn_output"+suf, t, shape(h, q)...))
		}
	}
	return nil, fmt.Errorf("tensor %s: no GGUF name for it in architecture gpt-oss", t.Name)
}

func gptossParams(m *model) error {
	if err := baseParams(m); err != nil {
		return err
	}
	sw, err := m.cfg.reqInt("sliding_window")
	if err != nil {
		return err
	}
	if err := m.setU32("attention.sliding_window", sw); err != nil {
		return err
	}
	ff, err := m.cfg.reqInt("intermediate_size")
	if err != nil {
		return err
	}
	return m.setU32("expert_feed_forward_length", ff)
}
