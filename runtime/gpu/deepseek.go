package gpu

import (
	"fmt"
	"math"

	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// NewDeepSeek prepares DeepSeek-MoE (v1) model m (loaded by runtime.Load
// with no placement) on backend b, as NewGPTOSS does. DeepSeek v1: RMSNorm,
// Llama attention without biases and adjacent-pair rope (the converter
// permuted Q/K), dense SwiGLU FFNs in the first leading_dense_block_count
// layers, then softmax-then-top-k routing (renormalized only with
// expert_weights_norm, scaled by expert_weights_scale) and shared experts
// added after the routed ones.
func NewDeepSeek(m *runtime.Model, b *Backend, o Options) (*Executor, error) {
	if m.Arch != "deepseek" {
		return nil, fmt.Errorf("%s: the deepseek executor runs deepseek, not %s", m.File.Path(), m.Arch)
	}
	l := &binder{m: m}
	g := &Executor{b: b, m: m, o: o, nLayer: m.NLayer, d: m.NEmbd, nVocab: m.NVocab, hostData: map[*runtime.Tensor][]byte{}}
	g.nHead = l.int("attention.head_count", -1)
	g.nKV = l.int("attention.head_count_kv", g.nHead)
	g.nExp, g.nUsed = l.int("expert_count", -1), l.int("expert_used_count", -1)
	g.ff = l.int("expert_feed_forward_length", -1)
	nDense := l.int("leading_dense_block_count", 0)
	nShared := l.int("expert_shared_count", 0)
	if l.err != nil {
		return nil, l.err
	}
	g.hd = g.d / max(g.nHead, 1)
	nRot := l.int("rope.dimension_count", g.hd)
	g.eps = float32(l.float("attention.layer_norm_rms_epsilon", 1e-6))
	g.deepseekRouter(l)
	freq := kernels.RopeInvFreq(l.float("rope.freq_base", 10000), nRot)
	for i := 0; i < g.nLayer; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ly := layer{
			attnNorm: normSpec{w: l.floats(p+"attn_norm.weight", false)},
			ffnNorm:  normSpec{w: l.floats(p+"ffn_norm.weight", false)},
			attn:     l.gqa(p),
		}
		a := &ly.attn
		a.NHead, a.NKV, a.HeadDim, a.Scale = g.nHead, g.nKV, g.hd, float32(1/math.Sqrt(float64(g.hd)))
		a.NRot, a.InvFreq, a.MScale = nRot, freq, 1
		g.deepseekFFN(l, &ly, i, nDense, nShared)
		g.layers = append(g.layers, ly)
	}
	g.outNorm = normSpec{w: l.floats("output_norm.weight", false)}
	g.head = l.head()
	if l.err != nil {
		return nil, l.err
	}
	if err := g.upload(); err != nil {
		return nil, err
	}
	return g, nil
}

// deepseekRouter sets DeepSeek's routing (v1 and v2): softmax over the
// experts, top-k, renormalized only with expert_weights_norm, scaled by
// expert_weights_scale; SwiGLU experts.
func (g *Executor) deepseekRouter(l *binder) {
	normW := false
	if v, err := l.m.File.Metadata.Bool(l.m.Arch + ".expert_weights_norm"); err == nil {
		normW = v
	}
	scale := l.float("expert_weights_scale", 1)
	g.router = cputwin.RouterParams{NExp: g.nExp, K: g.nUsed, Mode: cputwin.SoftmaxTopK, Norm: normW, Scale: float32(scale)}
	g.glu = cputwin.SwiGLU
}

// deepseekFFN binds layer i's feed-forward (v1 and v2): a dense SwiGLU FFN
// below leading_dense_block_count, else routed experts plus nShared shared
// experts.
func (g *Executor) deepseekFFN(l *binder, ly *layer, i, nDense, nShared int) {
	p := fmt.Sprintf("blk.%d.", i)
	if i < nDense {
		ly.ffn = &ffnSpec{gate: l.tensor(p + "ffn_gate.weight"), up: l.tensor(p + "ffn_up.weight"), down: l.tensor(p + "ffn_down.weight")}
	} else {
		ly.moe = l.moe(p)
		if nShared > 0 {
			ly.ffn = &ffnSpec{gate: l.tensor(p + "ffn_gate_shexp.weight"), up: l.tensor(p + "ffn_up_shexp.weight"), down: l.tensor(p + "ffn_down_shexp.weight")}
		}
	}
	if ly.ffn != nil && l.err == nil {
		g.ffnWidth = max(g.ffnWidth, ly.ffn.gate.Rows())
	}
}
