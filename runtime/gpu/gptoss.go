package gpu

import (
	"fmt"
	"math"

	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime"
)

// NewGPTOSS prepares gpt-oss model m (loaded by runtime.Load with no
// placement) on backend b: uploads the attention weights, router, norms,
// output head and biases, and either the experts or nothing of them (see
// Options). gpt-oss: RMSNorm, GQA with biases and per-head sinks, a
// sliding window on even layers, YaRN NEOX rope, top-k-then-softmax
// routing, clamped SwiGLU with biased experts.
func NewGPTOSS(m *runtime.Model, b *Backend, o Options) (*Executor, error) {
	if m.Arch != "gpt-oss" {
		return nil, fmt.Errorf("%s: the gpt-oss executor runs gpt-oss, not %s", m.File.Path(), m.Arch)
	}
	l := &binder{m: m}
	g := &Executor{b: b, m: m, o: o, nLayer: m.NLayer, d: m.NEmbd, nVocab: m.NVocab, hostData: map[*runtime.Tensor][]byte{}}
	g.nHead, g.nKV = l.int("attention.head_count", -1), l.int("attention.head_count_kv", -1)
	g.hd = l.int("attention.key_length", g.d/max(g.nHead, 1))
	g.nExp, g.nUsed = l.int("expert_count", -1), l.int("expert_used_count", -1)
	g.ff = l.int("expert_feed_forward_length", -1)
	window := l.int("attention.sliding_window", 0)
	nRot := l.int("rope.dimension_count", g.hd)
	origCtx := l.int("rope.scaling.original_context_length", 4096)
	if l.err != nil {
		return nil, l.err
	}
	eps := l.float("attention.layer_norm_rms_epsilon", 1e-5)
	base := l.float("rope.freq_base", 10000)
	factor := l.float("rope.scaling.factor", 1)
	betaFast := l.float("rope.scaling.yarn_beta_fast", 32)
	betaSlow := l.float("rope.scaling.yarn_beta_slow", 1)
	g.eps = float32(eps)
	g.router = cputwin.RouterParams{NExp: g.nExp, K: g.nUsed, Mode: cputwin.TopKSoftmax, Scale: 1}
	g.glu, g.gluAlpha, g.gluLimit = cputwin.SwiGLUOAI, 1.702, 7
	freq, mscale := cputwin.RopeFreqs(nRot, base), float32(1)
	if factor > 1 {
		// gpt-oss: YaRN without floor/ceil, m = 0.1·ln s + 1 (architectures.md §1.2).
		freq = cputwin.YaRNFreqs(nRot, base, factor, origCtx, betaFast, betaSlow, false)
		mscale = float32(0.1*math.Log(factor) + 1)
	}
	for i := 0; i < g.nLayer; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ly := layer{
			attnNorm: normSpec{w: l.floats(p+"attn_norm.weight", false)},
			ffnNorm:  normSpec{w: l.floats(p+"post_attention_norm.weight", false)},
			attn:     l.gqa(p),
			moe:      l.moe(p),
		}
		a := &ly.attn
		a.Sinks = l.floats(p+"attn_sinks.weight", false)
		a.NHead, a.NKV, a.HeadDim, a.Scale = g.nHead, g.nKV, g.hd, float32(1/math.Sqrt(float64(g.hd)))
		a.NeoX, a.NRot, a.InvFreq, a.MScale = true, nRot, freq, mscale
		if i%2 == 0 { // sliding window on even layers
			a.Window = window
		}
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
