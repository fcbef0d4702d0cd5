package gpu

import (
	"fmt"
	"math"

	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// Phi-3.5-MoE constants every released config.json sets but the GGUF does
// not carry (architectures.md §2.1; the CPU runtime's phimoe.go uses the same).
const (
	phimoeRopeMscale = 1.243163121016122 // short_mscale = long_mscale
	phimoeJitterEps  = 0.01              // router_jitter_noise, the sparsemixer ε
)

// NewPhiMoE prepares Phi-3.5-MoE model m (loaded by runtime.Load with no
// placement) on backend b, as NewGPTOSS does. Phi-3.5-MoE: LayerNorm with
// bias, biased GQA, NEOX LongRoPE (short factors while the sequence fits
// the original context, long beyond), sparsemixer top-2 routing, SwiGLU
// experts, biased output head.
func NewPhiMoE(m *runtime.Model, b *Backend, o Options) (*Executor, error) {
	if m.Arch != "phimoe" {
		return nil, fmt.Errorf("%s: the phimoe executor runs phimoe, not %s", m.File.Path(), m.Arch)
	}
	l := &binder{m: m}
	g := &Executor{b: b, m: m, o: o, nLayer: m.NLayer, d: m.NEmbd, nVocab: m.NVocab, hostData: map[*runtime.Tensor][]byte{}}
	g.nHead, g.nKV = l.int("attention.head_count", -1), l.int("attention.head_count_kv", -1)
	g.nExp, g.nUsed = l.int("expert_count", -1), l.int("expert_used_count", -1)
	g.ff = l.int("feed_forward_length", -1)
	if l.err != nil {
		return nil, l.err
	}
	if g.nUsed != 2 {
		return nil, fmt.Errorf("%s: phimoe: sparsemixer routing is defined for 2 experts per token, expert_used_count is %d", m.File.Path(), g.nUsed)
	}
	g.hd = g.d / max(g.nHead, 1)
	nRot := l.int("rope.dimension_count", g.hd)
	g.eps = float32(l.float("attention.layer_norm_rms_epsilon", 1e-5))
	base := l.float("rope.freq_base", 10000)
	g.router = cputwin.RouterParams{NExp: g.nExp, K: g.nUsed, Mode: cputwin.SparseMixer, Scale: 1, Eps: phimoeJitterEps}
	g.glu = cputwin.SwiGLU
	freq, mscale := kernels.RopeInvFreq(base, nRot), float32(1)
	if l.has("rope_factors_short.weight") && l.has("rope_factors_long.weight") {
		short, long := l.floats("rope_factors_short.weight", false), l.floats("rope_factors_long.weight", false)
		if len(short) < nRot/2 || len(long) < nRot/2 {
			return nil, fmt.Errorf("%s: rope_factors_short/long.weight hold %d/%d factors, expected %d", m.File.Path(), len(short), len(long), nRot/2)
		}
		freq, mscale = kernels.LongRopeInvFreq(base, nRot, short), phimoeRopeMscale
		g.longFreq = kernels.LongRopeInvFreq(base, nRot, long)
		g.longFrom = l.int("rope.scaling.original_context_length", m.ContextLength)
	}
	for i := 0; i < g.nLayer; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		ly := layer{
			attnNorm: normSpec{w: l.floats(p+"attn_norm.weight", false), b: l.floats(p+"attn_norm.bias", true), layer: true},
			ffnNorm:  normSpec{w: l.floats(p+"ffn_norm.weight", false), b: l.floats(p+"ffn_norm.bias", true), layer: true},
			attn:     l.gqa(p),
			moe:      l.moe(p),
		}
		a := &ly.attn
		a.NHead, a.NKV, a.HeadDim, a.Scale = g.nHead, g.nKV, g.hd, float32(1/math.Sqrt(float64(g.hd)))
		a.NeoX, a.NRot, a.InvFreq, a.MScale = true, nRot, freq, mscale
		g.layers = append(g.layers, ly)
	}
	g.outNorm = normSpec{w: l.floats("output_norm.weight", false), b: l.floats("output_norm.bias", true), layer: true}
	g.head = l.head()
	g.headB = l.floats("output.bias", true)
	if l.err != nil {
		return nil, l.err
	}
	if err := g.upload(); err != nil {
		return nil, err
	}
	return g, nil
}
