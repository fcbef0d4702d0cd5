package runtime

import (
	"math"

	"github.com/gguftool/gguftool/runtime/kernels"
)

// Phi-3.5-MoE constants that every released checkpoint's config.json sets
// but the GGUF does not carry (architectures.md §2.1).
const (
	phimoeRopeMscale = 1.243163121016122 // short_mscale = long_mscale
	phimoeJitterEps  = 0.01              // router_jitter_noise, the sparsemixer ε
)

// phimoe is Phi-3.5-MoE: LayerNorm with bias, biased GQA, LongRoPE with
// short/long factors, sparsemixer top-2 routing, biased lm_head.
type phimoe struct {
	m           *Model
	layers      []phimoeLayer
	outNorm     norm
	head        *Tensor
	outputB     []float32
	short, long kernels.Rope
	origCtx     int
	kw, vw      []int
}

type phimoeLayer struct {
	attnNorm, ffnNorm norm
	attn              gqa
	moe               moe
}

func loadPhiMoE(l *loader) (graph, error) {
	m := l.m
	d := m.NEmbd
	nHead, nKV := l.pos("attention.head_count"), l.pos("attention.head_count_kv")
	nExp, nUsed := l.experts()
	ff := l.u("feed_forward_length")
	eps := float32(l.fl("attention.layer_norm_rms_epsilon"))
	if l.err != nil {
		return nil, l.err
	}
	hd := d / nHead
	nRot := l.ropeDims(l.uOpt("rope.dimension_count", hd), hd)
	l.heads(nHead, nKV)
	if l.err != nil {
		return nil, l.err // before the rope tables are sized by nRot
	}
	base := l.flOpt("rope.freq_base", 10000)
	g := &phimoe{m: m, origCtx: l.uOpt("rope.scaling.original_context_length", m.ContextLength)}
	shortF := l.optVec("rope_factors_short.weight", nRot/2)
	longF := l.optVec("rope_factors_long.weight", nRot/2)
	if shortF != nil && longF != nil {
		g.short = kernels.Rope{Style: kernels.RopeNeox, Scale: phimoeRopeMscale, InvFreq: kernels.LongRopeInvFreq(base, nRot, shortF)}
		g.long = kernels.Rope{Style: kernels.RopeNeox, Scale: phimoeRopeMscale, InvFreq: kernels.LongRopeInvFreq(base, nRot, longF)}
	} else {
		g.short = kernels.Rope{Style: kernels.RopeNeox, Scale: 1, InvFreq: kernels.RopeInvFreq(base, nRot)}
		g.long = g.short
	}
	for i := 0; i < m.NLayer; i++ {
		ly := phimoeLayer{
			attnNorm: norm{kind: normLayer, w: l.vec(blk(i, "attn_norm.weight"), d), b: l.optVec(blk(i, "attn_norm.bias"), d), eps: eps},
			ffnNorm:  norm{kind: normLayer, w: l.vec(blk(i, "ffn_norm.weight"), d), b: l.optVec(blk(i, "ffn_norm.bias"), d), eps: eps},
			attn: gqa{
				q:     l.tensor(blk(i, "attn_q.weight"), d, nHead*hd),
				k:     l.tensor(blk(i, "attn_k.weight"), d, nKV*hd),
				v:     l.tensor(blk(i, "attn_v.weight"), d, nKV*hd),
				o:     l.tensor(blk(i, "attn_output.weight"), nHead*hd, d),
				qb:    l.optVec(blk(i, "attn_q.bias"), nHead*hd),
				kb:    l.optVec(blk(i, "attn_k.bias"), nKV*hd),
				vb:    l.optVec(blk(i, "attn_v.bias"), nKV*hd),
				ob:    l.optVec(blk(i, "attn_output.bias"), d),
				nHead: nHead, nKV: nKV, headDim: hd,
				scale: float32(1 / math.Sqrt(float64(hd))),
			},
			moe: moe{
				layer:   i,
				gateInp: l.tensor(blk(i, "ffn_gate_inp.weight"), d, nExp),
				gate:    l.tensor(blk(i, "ffn_gate_exps.weight"), d, ff, nExp),
				up:      l.tensor(blk(i, "ffn_up_exps.weight"), d, ff, nExp),
				down:    l.tensor(blk(i, "ffn_down_exps.weight"), ff, d, nExp),
				nExpert: nExp, nUsed: nUsed, nFF: ff,
				route: routeSparseMixer(phimoeJitterEps),
				act:   kernels.SwiGLU,
			},
		}
		if nUsed != 2 {
			l.fail("phimoe: sparsemixer routing is defined for 2 experts per token, expert_used_count is %d", nUsed)
		}
		g.layers = append(g.layers, ly)
		g.kw = append(g.kw, nKV*hd)
		g.vw = append(g.vw, nKV*hd)
	}
	g.outNorm = norm{kind: normLayer, w: l.vec("output_norm.weight", d), b: l.optVec("output_norm.bias", d), eps: eps}
	g.head = outputHead(l, d)
	g.outputB = l.optVec("output.bias", m.NVocab)
	return g, l.err
}

// routeSparseMixer is Phi-3.5-MoE's inference-time sparsemixer (top-2): each
// pick gets the softmax weight of its logit among the experts within 2ε
// (relative) of it; weights are not renormalized. Computed in float32 like
// transformers so that the threshold test decides identically.
func routeSparseMixer(eps float32) router {
	return func(s []float32, ids []int, w []float32) {
		pick := func(exclude int) (int, float32) {
			best := -1
			for j, v := range s {
				if j != exclude && (best < 0 || v > s[best]) {
					best = j
				}
			}
			m := s[best]
			var sum float64
			for j, v := range s {
				if j == exclude {
					continue
				}
				factor := max(float32(math.Abs(float64(v))), m)
				if (m-v)/factor > 2*eps {
					continue
				}
				sum += math.Exp(float64(v - m))
			}
			return best, float32(1 / sum) // exp(m − m) / Σ
		}
		e1, w1 := pick(-1)
		e2, w2 := pick(e1)
		ids[0], w[0], ids[1], w[1] = e1, w1, e2, w2
	}
}

func (g *phimoe) kvWidths() ([]int, []int) { return g.kw, g.vw }

func (g *phimoe) forward(e *exec, s *Session, tokens []int32, pos0 int) []float32 {
	n, d := len(tokens), g.m.NEmbd
	// LongRoPE: short factors while the sequence fits the original context;
	// cached keys keep the rotation they were stored with.
	rope := &g.short
	if pos0+n > g.origCtx {
		rope = &g.long
	}
	h := make([]float32, n*d)
	x := make([]float32, n*d)
	e.embed(h, tokens)
	if e.err != nil {
		return h
	}
	for i := range g.layers {
		ly := &g.layers[i]
		ly.attnNorm.apply(x, h, n)
		kernels.Add(h, ly.attn.run(e, &s.kv[i], x, n, pos0, rope))
		ly.ffnNorm.apply(x, h, n)
		kernels.Add(h, ly.moe.run(e, x, n))
	}
	return h
}

func (g *phimoe) output(e *exec, logits, h []float32, n int) {
	x := make([]float32, len(h))
	g.outNorm.apply(x, h, n)
	e.mm(logits, g.head, x, n)
	addBias(logits, g.outputB, n)
}
