package runtime

import (
	"math"

	"github.com/gguftool/gguftool/runtime/kernels"
)

// gpt-oss constants fixed by the architecture, not stored in the GGUF
// (architectures.md §1.1).
const (
	gptossSwigluAlpha = 1.702
	gptossSwigluLimit = 7.0
)

// gptoss is OpenAI's gpt-oss: RMSNorm, GQA with biases and per-head sinks,
// sliding window on even layers, YaRN (untruncated) NEOX rope, and a
// top-k-then-softmax MoE with clamped SwiGLU and biased experts.
type gptoss struct {
	m       *Model
	layers  []gptossLayer
	outNorm norm
	head    *Tensor
	rope    kernels.Rope
	kw, vw  []int
}

type gptossLayer struct {
	attnNorm, postNorm norm
	attn               gqa
	moe                moe
}

func loadGPTOSS(l *loader) (graph, error) {
	m := l.m
	d := m.NEmbd
	nHead, nKV := l.pos("attention.head_count"), l.pos("attention.head_count_kv")
	hd := l.uOpt("attention.key_length", d/max(nHead, 1))
	nExp, nUsed := l.experts()
	ff := l.uOpt("expert_feed_forward_length", l.uOpt("feed_forward_length", 0))
	eps := float32(l.fl("attention.layer_norm_rms_epsilon"))
	window := l.uOpt("attention.sliding_window", 0)
	nRot := l.ropeDims(l.uOpt("rope.dimension_count", hd), hd)
	l.heads(nHead, nKV)
	if l.err != nil {
		return nil, l.err
	}
	g := &gptoss{m: m}
	base := l.flOpt("rope.freq_base", 10000)
	s := l.flOpt("rope.scaling.factor", 1)
	if l.strOpt("rope.scaling.type", "none") == "yarn" && s > 1 {
		g.rope = kernels.Rope{Style: kernels.RopeNeox, Scale: float32(kernels.YarnMscale(s, 1)),
			InvFreq: kernels.YarnInvFreq(kernels.YarnParams{
				Base: base, Dim: nRot, Factor: s,
				OrigCtx:  float64(l.uOpt("rope.scaling.original_context_length", 4096)),
				BetaFast: l.flOpt("rope.scaling.yarn_beta_fast", 32),
				BetaSlow: l.flOpt("rope.scaling.yarn_beta_slow", 1),
				Truncate: false, // gpt-oss config: "truncate": false
			})}
	} else {
		g.rope = kernels.Rope{Style: kernels.RopeNeox, Scale: 1, InvFreq: kernels.RopeInvFreq(base, nRot)}
	}
	for i := 0; i < m.NLayer; i++ {
		ly := gptossLayer{
			attnNorm: norm{kind: normRMS, w: l.vec(blk(i, "attn_norm.weight"), d), eps: eps},
			postNorm: norm{kind: normRMS, w: l.vec(blk(i, "post_attention_norm.weight"), d), eps: eps},
			attn: gqa{
				q:     l.tensor(blk(i, "attn_q.weight"), d, nHead*hd),
				k:     l.tensor(blk(i, "attn_k.weight"), d, nKV*hd),
				v:     l.tensor(blk(i, "attn_v.weight"), d, nKV*hd),
				o:     l.tensor(blk(i, "attn_output.weight"), nHead*hd, d),
				qb:    l.optVec(blk(i, "attn_q.bias"), nHead*hd),
				kb:    l.optVec(blk(i, "attn_k.bias"), nKV*hd),
				vb:    l.optVec(blk(i, "attn_v.bias"), nKV*hd),
				ob:    l.optVec(blk(i, "attn_output.bias"), d),
				sinks: l.vec(blk(i, "attn_sinks.weight"), nHead),
				nHead: nHead, nKV: nKV, headDim: hd,
				scale: float32(1 / math.Sqrt(float64(hd))),
			},
			moe: moe{
				layer:    i,
				gateInp:  l.tensor(blk(i, "ffn_gate_inp.weight"), d, nExp),
				gateInpB: l.optVec(blk(i, "ffn_gate_inp.bias"), nExp),
				gate:     l.tensor(blk(i, "ffn_gate_exps.weight"), d, ff, nExp),
				up:       l.tensor(blk(i, "ffn_up_exps.weight"), d, ff, nExp),
				down:     l.tensor(blk(i, "ffn_down_exps.weight"), ff, d, nExp),
				gateB:    l.optVec(blk(i, "ffn_gate_exps.bias"), ff, nExp),
				upB:      l.optVec(blk(i, "ffn_up_exps.bias"), ff, nExp),
				downB:    l.optVec(blk(i, "ffn_down_exps.bias"), d, nExp),
				nExpert:  nExp, nUsed: nUsed, nFF: ff,
				route: routeTopKSoftmax,
				act: func(out, gt, up []float32) {
					kernels.SwiGLUOAI(out, gt, up, gptossSwigluAlpha, gptossSwigluLimit)
				},
			},
		}
		// transformers layer_types: sliding on even layers (llama.cpp: swa pattern 2).
		if i%2 == 0 {
			ly.attn.window = window
		}
		if (ly.moe.gateB == nil) != (ly.moe.upB == nil) {
			l.fail("layer %d: ffn_gate_exps.bias and ffn_up_exps.bias must both be present or both absent", i)
		}
		g.layers = append(g.layers, ly)
		g.kw = append(g.kw, nKV*hd)
		g.vw = append(g.vw, nKV*hd)
	}
	g.outNorm = norm{kind: normRMS, w: l.vec("output_norm.weight", d), eps: eps}
	g.head = outputHead(l, d)
	return g, l.err
}

// outputHead returns output.weight, or the tied token embedding.
func outputHead(l *loader, d int) *Tensor {
	if t := l.optional("output.weight", d, l.m.NVocab); t != nil {
		return t
	}
	return l.tensor("token_embd.weight", d, l.m.NVocab)
}

func (g *gptoss) kvWidths() ([]int, []int) { return g.kw, g.vw }

func (g *gptoss) forward(e *exec, s *Session, tokens []int32, pos0 int) []float32 {
	n, d := len(tokens), g.m.NEmbd
	h := make([]float32, n*d)
	x := make([]float32, n*d)
	e.embed(h, tokens)
	if e.err != nil {
		return h
	}
	for i := range g.layers {
		ly := &g.layers[i]
		ly.attnNorm.apply(x, h, n)
		kernels.Add(h, ly.attn.run(e, &s.kv[i], x, n, pos0, &g.rope))
		ly.postNorm.apply(x, h, n)
		kernels.Add(h, ly.moe.run(e, x, n))
	}
	return h
}

func (g *gptoss) output(e *exec, logits, h []float32, n int) {
	x := make([]float32, len(h))
	g.outNorm.apply(x, h, n)
	e.mm(logits, g.head, x, n)
}
