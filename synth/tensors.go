package synth

import (
	"fmt"

	"github.com/gguftool/gguftool/gguf"
)

// tensor is one tensor before its type is chosen.
type tensor struct {
	name   string
	dims   []uint64
	raw    gguf.Type // pre-quantized source type (gpt-oss MXFP4 experts), else 0 with hasRaw false
	hasRaw bool
}

func t(name string, dims ...int) tensor {
	d := make([]uint64, len(dims))
	for i, x := range dims {
		d[i] = uint64(x)
	}
	return tensor{name: name, dims: d}
}

func blk(l int, name string, dims ...int) tensor {
	return t(fmt.Sprintf("blk.%d.%s", l, name), dims...)
}

// tensors lists the model's tensors in the order llama.cpp's converter
// writes a one-shard checkpoint (conversion.md §1.3): sorted source names,
// so layers in string order and, inside a layer, HF names in code-point order.
func (p Preset) tensors() ([]tensor, error) {
	switch p.Arch {
	case "gpt-oss":
		return p.gptossTensors(), nil
	case "phimoe":
		return p.phimoeTensors(), nil
	case "deepseek", "deepseek2":
		return p.deepseekTensors(), nil
	}
	return nil, fmt.Errorf("preset %s: unsupported architecture %q", p.Name, p.Arch)
}

func (p Preset) gptossTensors() []tensor {
	d, f, e, v := p.Embd, p.ExpertFF, p.Experts, p.Vocab
	q, kv := p.Heads*p.HeadDim, p.HeadsKV*p.HeadDim
	var ts []tensor
	// The MXFP4 experts are emitted first, from generate_extra_tensors:
	// per layer down (down_proj_scales sorts before gate_up_proj_scales),
	// then gate and up.
	for _, l := range p.layerOrder() {
		for _, x := range []tensor{
			blk(l, "ffn_down_exps.weight", f, d, e),
			blk(l, "ffn_gate_exps.weight", d, f, e),
			blk(l, "ffn_up_exps.weight", d, f, e),
		} {
			x.raw, x.hasRaw = gguf.TypeMXFP4, true
			ts = append(ts, x)
		}
	}
	ts = append(ts, t("output.weight", d, v), t("token_embd.weight", d, v))
	for _, l := range p.layerOrder() {
		ts = append(ts,
			blk(l, "attn_norm.weight", d),
			blk(l, "ffn_down_exps.bias", d, e),
			blk(l, "ffn_gate_exps.bias", f, e),
			blk(l, "ffn_up_exps.bias", f, e),
			blk(l, "ffn_gate_inp.bias", e),
			blk(l, "ffn_gate_inp.weight", d, e),
			blk(l, "post_attention_norm.weight", d),
			blk(l, "attn_k.bias", kv),
			blk(l, "attn_k.weight", d, kv),
			blk(l, "attn_output.bias", d),
			blk(l, "attn_output.weight", q, d),
			blk(l, "attn_q.bias", q),
			blk(l, "attn_q.weight", d, q),
			blk(l, "attn_sinks.weight", p.Heads),
			blk(l, "attn_v.bias", kv),
			blk(l, "attn_v.weight", d, kv),
		)
	}
	return append(ts, t("output_norm.weight", d))
}

func (p Preset) phimoeTensors() []tensor {
	d, f, e, v := p.Embd, p.ExpertFF, p.Experts, p.Vocab
	q, kv := p.Heads*p.HeadDim, p.HeadsKV*p.HeadDim
	ts := []tensor{
		t("rope_factors_long.weight", p.RopeDim/2),
		t("rope_factors_short.weight", p.RopeDim/2),
		t("output.bias", v),
		t("output.weight", d, v),
		t("token_embd.weight", d, v),
	}
	for _, l := range p.layerOrder() {
		ts = append(ts,
			blk(l, "ffn_gate_exps.weight", d, f, e), // w1
			blk(l, "ffn_down_exps.weight", f, d, e), // w2
			blk(l, "ffn_up_exps.weight", d, f, e),   // w3
			blk(l, "ffn_gate_inp.weight", d, e),
			blk(l, "attn_norm.bias", d),
			blk(l, "attn_norm.weight", d),
			blk(l, "ffn_norm.bias", d),
			blk(l, "ffn_norm.weight", d),
			blk(l, "attn_k.bias", kv),
			blk(l, "attn_k.weight", d, kv),
			blk(l, "attn_output.bias", d),
			blk(l, "attn_output.weight", q, d),
			blk(l, "attn_q.bias", q),
			blk(l, "attn_q.weight", d, q),
			blk(l, "attn_v.bias", kv),
			blk(l, "attn_v.weight", d, kv),
		)
	}
	return append(ts, t("output_norm.bias", d), t("output_norm.weight", d))
}

func (p Preset) deepseekTensors() []tensor {
	d, f, e, v := p.Embd, p.ExpertFF, p.Experts, p.Vocab
	ts := []tensor{t("output.weight", d, v), t("token_embd.weight", d, v)}
	for _, l := range p.layerOrder() {
		ts = append(ts, blk(l, "attn_norm.weight", d))
		if l < p.LeadingDense {
			ts = append(ts,
				blk(l, "ffn_down.weight", p.FF, d),
				blk(l, "ffn_gate.weight", d, p.FF),
				blk(l, "ffn_up.weight", d, p.FF))
		} else {
			sh := f * p.Shared
			ts = append(ts,
				blk(l, "ffn_down_exps.weight", f, d, e),
				blk(l, "ffn_gate_exps.weight", d, f, e),
				blk(l, "ffn_up_exps.weight", d, f, e),
				blk(l, "ffn_gate_inp.weight", d, e))
			if sh > 0 {
				ts = append(ts,
					blk(l, "ffn_down_shexp.weight", sh, d),
					blk(l, "ffn_gate_shexp.weight", d, sh),
					blk(l, "ffn_up_shexp.weight", d, sh))
			}
		}
		ts = append(ts, blk(l, "ffn_norm.weight", d))
		if p.Arch == "deepseek2" {
			ts = append(ts,
				blk(l, "attn_kv_a_norm.weight", p.KVLoraRank),
				blk(l, "attn_kv_a_mqa.weight", d, p.KVLoraRank+p.QKRope),
				blk(l, "attn_k_b.weight", p.QKNope, p.KVLoraRank, p.Heads),
				blk(l, "attn_v_b.weight", p.KVLoraRank, p.VHead, p.Heads),
				blk(l, "attn_output.weight", p.Heads*p.VHead, d),
				blk(l, "attn_q.weight", d, p.Heads*(p.QKNope+p.QKRope)))
		} else {
			hd := p.HeadDim
			ts = append(ts,
				blk(l, "attn_k.weight", d, p.HeadsKV*hd),
				blk(l, "attn_output.weight", p.Heads*hd, d),
				blk(l, "attn_q.weight", d, p.Heads*hd),
				blk(l, "attn_v.weight", d, p.HeadsKV*hd))
		}
	}
	return append(ts, t("output_norm.weight", d))
}
